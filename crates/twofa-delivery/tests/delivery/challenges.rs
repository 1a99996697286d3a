//! Issuing and checking codes: a code verifies once, expires on the exact
//! second, locks after the failed-check cap and is bound to its challenge.

use super::*;

#[test]
fn the_right_code_verifies_once_and_a_tampered_one_never() {
    let policy = ChallengePolicy::default();
    let (challenge, code) = issued(&policy, 1);
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));

    let rejected = challenge
        .check(&tampered(&code), &policy, &key(), t0())
        .unwrap_err();
    assert_eq!(
        rejected.audit_reason(),
        AuditReason::WrongCode { failed_checks: 1 }
    );
    assert_eq!(rejected.end_user_reason(), EndUserReason::IncorrectCode);

    let verified = challenge.check(&code, &policy, &key(), t0()).unwrap();
    assert_eq!(verified.user(), &user());
    assert_eq!(verified.purpose(), &Purpose::Enrollment);
    let used = verified.into_record();
    assert_eq!(
        used.status(&policy, t0()),
        ChallengeStatus::Used { used_at: t0() }
    );
    let again = used.check(&code, &policy, &key(), t0()).unwrap_err();
    assert_eq!(again.audit_reason(), AuditReason::AlreadyUsed);
    assert_eq!(again.end_user_reason(), EndUserReason::NewCodeNeeded);
}

#[test]
fn a_code_verifies_with_spaces_or_hyphens_but_not_under_another_key() {
    let policy = ChallengePolicy::default();
    let (challenge, code) = issued(&policy, 2);
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let hyphened = format!("{}-{}", &code[..3], &code[3..]);
    assert!(challenge.check(&spaced, &policy, &key(), t0()).is_ok());
    assert!(challenge.check(&hyphened, &policy, &key(), t0()).is_ok());
    let other_key = ServerKey::from_bytes(&[8u8; 32]).unwrap();
    let rejected = challenge
        .check(&code, &policy, &other_key, t0())
        .unwrap_err();
    assert!(matches!(
        rejected.audit_reason(),
        AuditReason::WrongCode { .. }
    ));
}

#[test]
fn malformed_input_is_refused_without_being_counted() {
    let policy = ChallengePolicy::default();
    let (challenge, code) = issued(&policy, 3);
    for input in ["", "12345", "1234567", "abcdef", &format!("{code}0")] {
        let rejected = challenge.check(input, &policy, &key(), t0()).unwrap_err();
        assert_eq!(rejected.audit_reason(), AuditReason::Malformed, "{input:?}");
        assert_eq!(rejected.record(), &challenge);
    }
}

#[test]
fn code_expires_at_the_exact_second_of_its_lifetime() {
    let policy = ChallengePolicy::default();
    let (challenge, code) = issued(&policy, 4);
    let expires_at = t0() + TimeDelta::minutes(10);
    assert_eq!(challenge.expires_at(), Some(expires_at));

    let before = expires_at - secs(1);
    assert_eq!(
        challenge.status(&policy, before),
        ChallengeStatus::Active { expires_at }
    );
    assert!(challenge.check(&code, &policy, &key(), before).is_ok());

    for at in [expires_at, expires_at + secs(1)] {
        assert_eq!(
            challenge.status(&policy, at),
            ChallengeStatus::Expired {
                expired_at: expires_at
            }
        );
        let rejected = challenge.check(&code, &policy, &key(), at).unwrap_err();
        assert_eq!(
            rejected.audit_reason(),
            AuditReason::Expired {
                expired_at: expires_at
            }
        );
        assert_eq!(rejected.end_user_reason(), EndUserReason::NewCodeNeeded);
        assert_eq!(
            rejected.record(),
            &challenge,
            "an expired check changes nothing"
        );
    }
}

#[test]
fn fifth_wrong_check_locks_and_the_sixth_is_not_evaluated() {
    let policy = ChallengePolicy::default();
    let (mut challenge, code) = issued(&policy, 5);
    let wrong = tampered(&code);
    for n in 1..=4 {
        let rejected = challenge.check(&wrong, &policy, &key(), t0()).unwrap_err();
        assert_eq!(
            rejected.audit_reason(),
            AuditReason::WrongCode { failed_checks: n }
        );
        assert_eq!(rejected.end_user_reason(), EndUserReason::IncorrectCode);
        challenge = rejected.into_record();
    }
    // The 5th wrong check is still evaluated and counted...
    let fifth = challenge.check(&wrong, &policy, &key(), t0()).unwrap_err();
    assert_eq!(
        fifth.audit_reason(),
        AuditReason::WrongCode { failed_checks: 5 }
    );
    assert_eq!(fifth.end_user_reason(), EndUserReason::NewCodeNeeded);
    challenge = fifth.into_record();
    assert_eq!(challenge.status(&policy, t0()), ChallengeStatus::Locked);
    // ...the 6th is refused even with the right code, and counts nothing.
    let sixth = challenge.check(&code, &policy, &key(), t0()).unwrap_err();
    assert_eq!(sixth.audit_reason(), AuditReason::TooManyFailedChecks);
    assert_eq!(sixth.record().failed_checks(), 5);
}

#[test]
fn fifth_check_with_the_right_code_still_verifies() {
    let policy = ChallengePolicy::default();
    let (mut challenge, code) = issued(&policy, 6);
    for _ in 0..4 {
        challenge = challenge
            .check(&tampered(&code), &policy, &key(), t0())
            .unwrap_err()
            .into_record();
    }
    assert!(challenge.check(&code, &policy, &key(), t0()).is_ok());
}

#[test]
fn a_code_of_one_challenge_never_verifies_another() {
    let policy = ChallengePolicy::default();
    let (a, code_a) = issued(&policy, 10);
    let (b, code_b) = issued(&policy, 11);
    assert_ne!(a.id(), b.id());
    assert_ne!(code_a, code_b, "fixed seeds, distinct codes");
    assert!(matches!(
        b.check(&code_a, &policy, &key(), t0())
            .unwrap_err()
            .audit_reason(),
        AuditReason::WrongCode { .. }
    ));
    assert!(b.check(&code_b, &policy, &key(), t0()).is_ok());
}

#[test]
fn the_stored_hash_is_bound_to_user_purpose_and_transaction() {
    let policy = ChallengePolicy::default();
    let (a, code_a) = issued(&policy, 10);
    // The same seed gives the same id and code; only the binding differs,
    // so any difference in the records is the MAC.
    let bound = |user: &str, purpose: Purpose| {
        let request = ChallengeRequest::new(
            UserId::new(user).unwrap(),
            purpose,
            Destination::Phone(uk_mobile()),
            CodeChannel::Sms,
        );
        let prepared =
            OobChallenge::issue(request, &policy, &templates(), &key(), t0(), &mut rng(10))
                .unwrap();
        assert_eq!(prepared.challenge_id(), a.id());
        assert_eq!(prepared.code().expose_secret(), code_a);
        prepared.commit()
    };
    let tx = |id: &str| Purpose::Login {
        transaction: TransactionId::new(id).unwrap(),
    };
    let login_1 = bound("user-1", tx("tx-1"));
    let login_2 = bound("user-1", tx("tx-2"));
    let other_user = bound("user-2", Purpose::Enrollment);
    let new_destination = bound("user-1", Purpose::VerifyNewDestination);
    assert_eq!(bound("user-1", Purpose::Enrollment), a, "deterministic");
    assert_ne!(login_1, login_2);
    assert_ne!(other_user, a);
    assert_ne!(new_destination, a);
}

#[cfg(feature = "serde")]
#[test]
fn a_hash_copied_into_another_record_does_not_verify_there() {
    // Someone able to write the store copies the hash of a challenge whose
    // code they know into the victim's record: the id, user and purpose in
    // the MAC make that useless.
    let policy = ChallengePolicy::default();
    let (mine, my_code) = issued(&policy, 12);
    let victim_request = ChallengeRequest::new(
        UserId::new("victim").unwrap(),
        Purpose::Login {
            transaction: TransactionId::new("tx-9").unwrap(),
        },
        Destination::Phone(uk_mobile()),
        CodeChannel::Sms,
    );
    let victim = OobChallenge::issue(
        victim_request,
        &policy,
        &templates(),
        &key(),
        t0(),
        &mut rng(13),
    )
    .unwrap()
    .commit();
    let mine_json: serde_json::Value = serde_json::to_value(&mine).unwrap();
    let mut victim_json: serde_json::Value = serde_json::to_value(&victim).unwrap();
    let my_mac = mine_json["state"]["Pending"]["code_mac"].clone();
    assert!(my_mac.is_string());
    victim_json["state"]["Pending"]["code_mac"] = my_mac;
    let forged: OobChallenge = serde_json::from_value(victim_json).unwrap();
    assert!(mine.check(&my_code, &policy, &key(), t0()).is_ok());
    let rejected = forged.check(&my_code, &policy, &key(), t0()).unwrap_err();
    assert!(matches!(
        rejected.audit_reason(),
        AuditReason::WrongCode { .. }
    ));
}

proptest! {
    // Each case draws 1000 codes; a few seeds suffice.
    #![proptest_config(ProptestConfig::with_cases(4))]

    /// Every digit position of 6-digit codes is roughly uniform: over 1000
    /// codes each digit value appears 100 times on average per position
    /// (binomial, sd ~9.5); a band of about ±6 sd fails a fair generator
    /// with negligible probability and catches any gross bias.
    #[test]
    fn code_digits_are_roughly_uniform(seed in any::<u64>()) {
        let policy = ChallengePolicy::default();
        let mut generator = rng(seed);
        let mut counts = [[0u32; 10]; 6];
        for _ in 0..1000 {
            let prepared = OobChallenge::issue(sms_request(), &policy, &templates(), &key(), t0(), &mut generator).unwrap();
            let code = prepared.code().expose_secret();
            prop_assert_eq!(code.len(), 6);
            for (position, digit) in code.bytes().enumerate() {
                prop_assert!(digit.is_ascii_digit());
                counts[position][usize::from(digit - b'0')] += 1;
            }
        }
        for position in counts {
            for count in position {
                prop_assert!((43..=157).contains(&count), "count {count}");
            }
        }
    }
}
