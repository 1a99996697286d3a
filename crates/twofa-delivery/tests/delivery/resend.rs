//! Re-sending a code: cooldown, send cap, fresh codes, the user's own
//! destinations, and failed sends that leave the challenge unchanged.

use super::*;

#[test]
fn resend_is_refused_inside_the_cooldown_and_allowed_at_its_end() {
    let policy = ChallengePolicy::default();
    let (challenge, _) = issued(&policy, 20);
    let retry_after = t0() + secs(30);
    assert_eq!(challenge.next_send_at(&policy), Some(retry_after));
    for at in [t0(), retry_after - secs(1)] {
        let error = challenge
            .resend(
                CodeChannel::Sms,
                &policy,
                &templates(),
                &key(),
                at,
                &mut rng(21),
            )
            .unwrap_err();
        assert_eq!(error, ResendError::CooldownActive { retry_after });
        assert!(
            error
                .to_string()
                .contains("retry after 2026-03-01 09:00:30")
        );
    }
    for at in [retry_after, retry_after + secs(1)] {
        assert!(
            challenge
                .resend(
                    CodeChannel::Sms,
                    &policy,
                    &templates(),
                    &key(),
                    at,
                    &mut rng(21)
                )
                .is_ok()
        );
    }
}

#[test]
fn resend_cap_counts_the_first_send() {
    let policy = ChallengePolicy::default();
    let (mut challenge, _) = issued(&policy, 30);
    let mut now = t0();
    for sends in 2..=5 {
        now += secs(30);
        challenge = challenge
            .resend(
                CodeChannel::Sms,
                &policy,
                &templates(),
                &key(),
                now,
                &mut rng(sends.into()),
            )
            .unwrap()
            .commit();
        assert_eq!(challenge.sends(), sends);
    }
    assert_eq!(challenge.next_send_at(&policy), None);
    now += TimeDelta::hours(1);
    let error = challenge
        .resend(
            CodeChannel::VoiceCall,
            &policy,
            &templates(),
            &key(),
            now,
            &mut rng(99),
        )
        .unwrap_err();
    assert_eq!(error, ResendError::SendCapReached { max_sends: 5 });
    assert_eq!(
        error.to_string(),
        "send cap of 5 reached for this challenge"
    );
}

#[test]
fn resend_issues_a_fresh_code_and_keeps_the_failed_count() {
    let policy = ChallengePolicy::default();
    let (challenge, old_code) = issued(&policy, 40);
    let challenge = challenge
        .check(&tampered(&old_code), &policy, &key(), t0())
        .unwrap_err()
        .into_record();
    let now = t0() + TimeDelta::minutes(9);
    let prepared = challenge
        .resend(
            CodeChannel::VoiceCall,
            &policy,
            &templates(),
            &key(),
            now,
            &mut rng(41),
        )
        .unwrap();
    let new_code = prepared.code().expose_secret().to_owned();
    assert_eq!(prepared.channel(), CodeChannel::VoiceCall);
    let OutboundMessage::Voice(call) = prepared.message() else {
        panic!("voice expected");
    };
    assert_eq!(call.to, uk_mobile(), "same verified destination");
    let resent = prepared.commit();
    assert_eq!(resent.failed_checks(), 1);
    assert_eq!(resent.sends(), 2);
    assert_eq!(resent.channel(), CodeChannel::VoiceCall);
    assert_eq!(resent.id(), challenge.id());
    assert_eq!(resent.expires_at(), Some(now + TimeDelta::minutes(10)));
    if new_code != old_code {
        let rejected = resent.check(&old_code, &policy, &key(), now).unwrap_err();
        assert_eq!(
            rejected.audit_reason(),
            AuditReason::WrongCode { failed_checks: 2 }
        );
    }
    assert!(resent.check(&new_code, &policy, &key(), now).is_ok());
}

#[test]
fn resend_of_an_expired_code_gives_a_new_lifetime() {
    let policy = ChallengePolicy::default();
    let (challenge, _) = issued(&policy, 42);
    let late = t0() + TimeDelta::hours(2);
    let prepared = challenge
        .resend(
            CodeChannel::Sms,
            &policy,
            &templates(),
            &key(),
            late,
            &mut rng(43),
        )
        .unwrap();
    let code = prepared.code().expose_secret().to_owned();
    let resent = prepared.commit();
    assert!(
        resent
            .check(
                &code,
                &policy,
                &key(),
                late + TimeDelta::minutes(10) - secs(1)
            )
            .is_ok()
    );
    assert!(
        resent
            .check(&code, &policy, &key(), late + TimeDelta::minutes(10))
            .is_err()
    );
}

#[test]
fn email_resend_goes_only_to_the_users_email() {
    let policy = ChallengePolicy::default();
    let (without_email, _) = issued(&policy, 50);
    let later = t0() + secs(30);
    assert_eq!(
        without_email
            .resend(
                CodeChannel::Email,
                &policy,
                &templates(),
                &key(),
                later,
                &mut rng(51)
            )
            .unwrap_err(),
        ResendError::NoDestinationForChannel {
            channel: CodeChannel::Email
        }
    );

    let email = EmailAddress::parse("jane@example.com").unwrap();
    let request = sms_request().with_fallback_email(email.clone());
    let challenge = OobChallenge::issue(request, &policy, &templates(), &key(), t0(), &mut rng(52))
        .unwrap()
        .commit();
    assert_eq!(challenge.fallback_email(), Some(&email));
    let prepared = challenge
        .resend(
            CodeChannel::Email,
            &policy,
            &templates(),
            &key(),
            later,
            &mut rng(53),
        )
        .unwrap();
    let OutboundMessage::Email(mail) = prepared.message() else {
        panic!("email expected");
    };
    assert_eq!(mail.to, email);
    assert_eq!(
        prepared.commit().destination(),
        &Destination::Phone(uk_mobile())
    );

    let email_only = ChallengeRequest::new(
        user(),
        Purpose::Enrollment,
        Destination::Email(email),
        CodeChannel::Email,
    );
    let email_challenge = OobChallenge::issue(
        email_only,
        &policy,
        &templates(),
        &key(),
        t0(),
        &mut rng(54),
    )
    .unwrap()
    .commit();
    for channel in [CodeChannel::Sms, CodeChannel::VoiceCall] {
        assert_eq!(
            email_challenge
                .resend(channel, &policy, &templates(), &key(), later, &mut rng(55))
                .unwrap_err(),
            ResendError::NoDestinationForChannel { channel }
        );
    }
}

#[test]
fn resend_is_refused_when_used_locked_or_disabled() {
    let policy = ChallengePolicy::default();
    let later = t0() + secs(30);
    let (challenge, code) = issued(&policy, 60);
    let used = challenge
        .check(&code, &policy, &key(), t0())
        .unwrap()
        .into_record();
    assert_eq!(
        used.resend(
            CodeChannel::Sms,
            &policy,
            &templates(),
            &key(),
            later,
            &mut rng(61)
        )
        .unwrap_err(),
        ResendError::AlreadyUsed
    );

    let mut locked = challenge.clone();
    for _ in 0..5 {
        locked = locked
            .check(&tampered(&code), &policy, &key(), t0())
            .unwrap_err()
            .into_record();
    }
    assert_eq!(
        locked
            .resend(
                CodeChannel::Sms,
                &policy,
                &templates(),
                &key(),
                later,
                &mut rng(62)
            )
            .unwrap_err(),
        ResendError::Locked
    );

    let no_voice = policy.with_enabled_channels(ChannelSet::all().without(Channel::VoiceCall));
    assert_eq!(
        challenge
            .resend(
                CodeChannel::VoiceCall,
                &no_voice,
                &templates(),
                &key(),
                later,
                &mut rng(63)
            )
            .unwrap_err(),
        ResendError::ChannelDisabled {
            channel: Channel::VoiceCall
        }
    );
}

#[test]
fn resend_options_map_the_portals_buttons() {
    assert_eq!(ResendOption::App.plan(), ResendPlan::ReadYourDevice);
    assert_eq!(
        ResendOption::Sms.plan(),
        ResendPlan::FreshCode(CodeChannel::Sms)
    );
    assert_eq!(
        ResendOption::Voice.plan(),
        ResendPlan::FreshCode(CodeChannel::VoiceCall)
    );
    assert_eq!(
        ResendOption::Email.plan(),
        ResendPlan::FreshCode(CodeChannel::Email)
    );
}

#[test]
fn a_failed_send_leaves_the_challenge_exactly_as_it_was() {
    let policy = ChallengePolicy::default();
    let outbox = Outbox::new();
    let (challenge, old_code) = issued(&policy, 70);
    let snapshot = challenge.clone();
    let later = t0() + secs(30);

    for failure in [
        SendError::Transient(FailureCause::ProviderUnavailable),
        SendError::Permanent(FailureCause::Unreachable),
    ] {
        outbox.fail_next(1, failure);
        let prepared = challenge
            .resend(
                CodeChannel::Sms,
                &policy,
                &templates(),
                &key(),
                later,
                &mut rng(71),
            )
            .unwrap();
        let result = send(&outbox, prepared.message());
        assert_eq!(result, Err(failure));
        drop(prepared);
        assert!(outbox.is_empty(), "a failed send is not recorded");
    }
    // The stored record is untouched: same sends, same cooldown, old code valid.
    assert_eq!(challenge, snapshot);
    assert_eq!(challenge.sends(), 1);
    assert_eq!(challenge.next_send_at(&policy), Some(t0() + secs(30)));
    assert!(challenge.check(&old_code, &policy, &key(), later).is_ok());

    // Retrying succeeds and only then counts.
    let prepared = challenge
        .resend(
            CodeChannel::Sms,
            &policy,
            &templates(),
            &key(),
            later,
            &mut rng(72),
        )
        .unwrap();
    send(&outbox, prepared.message()).unwrap();
    assert_eq!(prepared.commit().sends(), 2);
    assert_eq!(outbox.len(), 1);
}

#[test]
fn outbox_records_every_channel_and_fails_on_demand() {
    let outbox = Outbox::new();
    let sms: &dyn SmsSender = &outbox;
    let policy = ChallengePolicy::default();
    let prepared = OobChallenge::issue(
        sms_request(),
        &policy,
        &templates(),
        &key(),
        t0(),
        &mut rng(80),
    )
    .unwrap();
    let OutboundMessage::Sms(message) = prepared.message() else {
        panic!("sms expected");
    };
    outbox.fail_next(2, SendError::Transient(FailureCause::Throttled));
    assert!(block_on(sms.send_sms(message)).is_err());
    assert!(block_on(sms.send_sms(message)).is_err());
    assert!(block_on(sms.send_sms(message)).is_ok());
    assert_eq!(outbox.len(), 1);
    assert!(matches!(outbox.last(), Some(SentMessage::Sms(_))));
    assert_eq!(
        SendError::Permanent(FailureCause::Rejected).to_string(),
        "permanent send failure: provider rejected the message"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random interleavings of checks and re-sends: the failed-check count
    /// and the send count never decrease, and the code of another challenge
    /// never verifies this one.
    #[test]
    fn challenge_counters_never_decrease(ops in proptest::collection::vec(0u8..4, 1..30), seed in any::<u64>()) {
        let policy = ChallengePolicy::default();
        let mut generator = rng(seed);
        let (mut challenge, mut code) = {
            let prepared = OobChallenge::issue(sms_request(), &policy, &templates(), &key(), t0(), &mut generator).unwrap();
            let code = prepared.code().expose_secret().to_owned();
            (prepared.commit(), code)
        };
        let (other, other_code) = {
            let prepared = OobChallenge::issue(sms_request(), &policy, &templates(), &key(), t0(), &mut generator).unwrap();
            let code = prepared.code().expose_secret().to_owned();
            (prepared.commit(), code)
        };
        let mut now = t0();
        for op in ops {
            let (failed, sends) = (challenge.failed_checks(), challenge.sends());
            match op {
                0 => {
                    if let Err(rejected) = challenge.check(&tampered(&code), &policy, &key(), now) {
                        challenge = rejected.into_record();
                    }
                }
                1 => {
                    now += secs(31);
                    if let Ok(prepared) = challenge.resend(CodeChannel::VoiceCall, &policy, &templates(), &key(), now, &mut generator) {
                        code = prepared.code().expose_secret().to_owned();
                        challenge = prepared.commit();
                    }
                }
                2 => {
                    if other_code != code {
                        let result = challenge.check(&other_code, &policy, &key(), now);
                        prop_assert!(result.is_err());
                        challenge = result.unwrap_err().into_record();
                    }
                }
                _ => {
                    now += secs(31);
                    // A prepared send that is dropped changes nothing.
                    let before = challenge.clone();
                    let _dropped = challenge.resend(CodeChannel::Sms, &policy, &templates(), &key(), now, &mut generator);
                    prop_assert_eq!(&challenge, &before);
                }
            }
            prop_assert!(challenge.failed_checks() >= failed);
            prop_assert!(challenge.sends() >= sends);
            prop_assert!(challenge.failed_checks() <= policy.max_failed_checks());
            prop_assert!(challenge.sends() <= policy.max_sends());
        }
        prop_assert!(other.check(&code, &policy, &key(), t0()).is_err() || other_code == code);
    }
}
