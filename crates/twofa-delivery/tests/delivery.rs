//! Integration tests of the public API of `twofa-delivery`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions fail the test by panicking"
)]

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use twofa_delivery::*;
use twofa_types::{Channel, ChannelSet, CodeChannel, UserId};

// ---------------------------------------------------------------- helpers

/// Drives a future that needs no real waker (every adapter here is
/// in-memory and ready at once).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn key() -> ServerKey {
    ServerKey::from_bytes(&[7u8; 32]).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

fn templates() -> MessageTemplates {
    MessageTemplates::new(Issuer::new("Example Portal").unwrap())
        .with_origin_host(OriginHost::new("portal.example.com").unwrap())
}

fn gb() -> Region {
    Region::new("GB").unwrap()
}

fn uk_mobile() -> PhoneNumber {
    PhoneNumber::parse("07400 123456", gb()).unwrap()
}

/// Hands a message to the outbox's adapter for its channel, as a caller's
/// I/O layer does.
fn send(outbox: &Outbox, message: &OutboundMessage) -> Result<(), SendError> {
    block_on(async {
        match message {
            OutboundMessage::Sms(sms) => outbox.send_sms(sms).await,
            OutboundMessage::Voice(voice) => outbox.place_call(voice).await,
            OutboundMessage::Email(email) => outbox.send_email(email).await,
        }
    })
}

fn user() -> UserId {
    UserId::new("user-1").unwrap()
}

fn sms_request() -> ChallengeRequest {
    ChallengeRequest::new(
        user(),
        Purpose::Enrollment,
        Destination::Phone(uk_mobile()),
        CodeChannel::Sms,
    )
}

/// Issues and commits an SMS challenge; returns it with its plain code.
fn issued(policy: &ChallengePolicy, seed: u64) -> (OobChallenge, String) {
    let prepared = OobChallenge::issue(
        sms_request(),
        policy,
        &templates(),
        &key(),
        t0(),
        &mut rng(seed),
    )
    .unwrap();
    let code = prepared.code().expose_secret().to_owned();
    (prepared.commit(), code)
}

/// A code of the same length that differs from `code` in its last digit.
fn tampered(code: &str) -> String {
    let mut bytes = code.as_bytes().to_vec();
    let last = bytes.last_mut().unwrap();
    *last = if *last == b'9' { b'0' } else { *last + 1 };
    String::from_utf8(bytes).unwrap()
}

/// Fails when `text` holds a secret or a full destination.
fn assert_clean(text: &str, forbidden: &[&str]) {
    for needle in forbidden {
        assert!(
            !text.contains(needle),
            "printable output leaks {needle:?}: {text}"
        );
    }
}

// ---------------------------------------------------------------- phone numbers

#[test]
fn national_and_international_forms_normalise_to_the_same_e164() {
    let cases = [
        // (region, national, international, e164) — example numbers of the
        // libphonenumber metadata (PhoneNumberMetadata.xml, exampleNumber).
        ("GB", "07400 123456", "+44 7400 123456", "+447400123456"),
        ("GB", "0121 234 5678", "+44 121 234 5678", "+441212345678"),
        ("DE", "01512 3456789", "+49 1512 3456789", "+4915123456789"),
        ("DE", "030 123456", "+49 30 123456", "+4930123456"),
        ("FR", "06 12 34 56 78", "+33 6 12 34 56 78", "+33612345678"),
        ("FR", "01 23 45 67 89", "+33 1 23 45 67 89", "+33123456789"),
        ("US", "(201) 555-0123", "+1 201-555-0123", "+12015550123"),
        ("CA", "506-234-5678", "+1 506 234 5678", "+15062345678"),
    ];
    for (region, national, international, e164) in cases {
        let region = Region::new(region).unwrap();
        let a = PhoneNumber::parse(national, region).unwrap();
        let b = PhoneNumber::parse(international, region).unwrap();
        assert_eq!(a.expose_e164(), e164);
        assert_eq!(a, b);
        assert_eq!(PhoneNumber::from_e164(e164).unwrap(), a);
    }
}

#[test]
fn foreign_numbers_parse_the_same_under_any_default_region() {
    // Numbers whose national part starts with 1, the North American national
    // prefix: read with default region US they must keep that digit.
    let german_mobile = PhoneNumber::parse("01512 3456789", Region::new("DE").unwrap()).unwrap();
    let uk_landline = PhoneNumber::parse("01464 144140", gb()).unwrap();
    for region in ["US", "CA", "GB", "DE", "FR", "IN"] {
        let region = Region::new(region).unwrap();
        assert_eq!(
            PhoneNumber::parse("+49 1512 3456789", region).unwrap(),
            german_mobile
        );
        assert_eq!(
            PhoneNumber::parse("tel:+49-1512-3456789", region).unwrap(),
            german_mobile
        );
        assert_eq!(
            PhoneNumber::parse("+44 1464 144140", region).unwrap(),
            uk_landline
        );
    }
    // Dialled with the default region's international prefix.
    let us = Region::new("US").unwrap();
    assert_eq!(
        PhoneNumber::parse("011 49 1512 3456789", us).unwrap(),
        german_mobile
    );
    assert_eq!(
        PhoneNumber::parse("011 44 1464 144140", us).unwrap(),
        uk_landline
    );
    let de = Region::new("DE").unwrap();
    assert_eq!(
        PhoneNumber::parse("00 44 1464 144140", de).unwrap(),
        uk_landline
    );
    assert_eq!(
        PhoneNumber::parse("00 1 201 555 0123", de)
            .unwrap()
            .expose_e164(),
        "+12015550123"
    );
}

#[test]
fn international_form_ignores_the_default_region() {
    let from_us = PhoneNumber::parse("+44 7400 123456", Region::new("us").unwrap()).unwrap();
    assert_eq!(from_us, uk_mobile());
    assert_eq!(from_us.country_code(), 44);
}

#[test]
fn bad_phone_input_is_a_typed_error_that_does_not_echo_it() {
    let cases: [(&str, DestinationError); 7] = [
        ("", DestinationError::PhoneInputLength { max: 64 }),
        ("   ", DestinationError::PhoneInputLength { max: 64 }),
        (
            &"1".repeat(65),
            DestinationError::PhoneInputLength { max: 64 },
        ),
        ("hello", DestinationError::PhoneUnreadable),
        // A UK number one digit short of any valid range.
        (
            "07400 12345",
            DestinationError::PhoneNotValid { country_code: 44 },
        ),
        (
            "+44 7400 123456 ext. 12",
            DestinationError::PhoneHasExtension,
        ),
        ("447400123456", DestinationError::PhoneNotE164),
    ];
    for (input, expected) in cases {
        let result = if expected == DestinationError::PhoneNotE164 {
            PhoneNumber::from_e164(input)
        } else {
            PhoneNumber::parse(input, gb())
        };
        let error = result.unwrap_err();
        assert_eq!(error, expected, "input {input:?}");
        let digits: String = input.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 6 {
            assert_clean(&error.to_string(), &[&digits]);
            assert_clean(&format!("{error:?}"), &[&digits]);
        }
    }
}

#[test]
fn unknown_regions_are_refused() {
    for code in ["", "G", "GBR", "ZZ", "1A", "é"] {
        assert_eq!(Region::new(code), Err(DestinationError::UnknownRegion));
    }
    assert_eq!(Region::new("de").unwrap().code(), "DE");
}

#[test]
fn phone_numbers_print_country_code_and_last_four_digits_only() {
    let us = PhoneNumber::parse("(201) 555-0123", Region::new("US").unwrap()).unwrap();
    assert_eq!(us.to_string(), "+1 ••• ••• 0123");
    assert_eq!(format!("{us:?}"), "PhoneNumber(+1 ••• ••• 0123)");
    assert_eq!(us.masked(), "+1 ••• ••• 0123");
    let de = PhoneNumber::parse("030 123456", Region::new("DE").unwrap()).unwrap();
    assert_eq!(de.to_string(), "+49 ••• ••• 3456");
    let destination = Destination::Phone(us.clone());
    assert_eq!(destination.to_string(), "+1 ••• ••• 0123");
    assert_clean(&format!("{destination:?}"), &["2015550123", "5550123"]);
}

#[test]
fn short_national_numbers_reveal_fewer_digits() {
    // Niue (+683) fixed lines have 4 digits, its mobiles 7; Saint Helena
    // (+290) numbers have 5 (libphonenumber metadata).
    let nu = Region::new("NU").unwrap();
    let four = PhoneNumber::parse("+683 7012", nu).unwrap();
    assert_eq!(four.to_string(), "+683 ••• •••");
    let seven = PhoneNumber::parse("+683 888 4012", nu).unwrap();
    assert_eq!(seven.to_string(), "+683 ••• ••• 12");
    let five = PhoneNumber::parse("+290 22158", Region::new("SH").unwrap()).unwrap();
    assert_eq!(five.to_string(), "+290 ••• ••• 58");
}

// ---------------------------------------------------------------- email

#[test]
fn email_addresses_are_normalised_and_masked() {
    let email = EmailAddress::parse("  Jane.Doe+2fa@Example.COM ").unwrap();
    assert_eq!(email.expose_address(), "Jane.Doe+2fa@example.com");
    assert_eq!(email.domain(), "example.com");
    assert_eq!(email.to_string(), "J•••@example.com");
    assert_eq!(format!("{email:?}"), "EmailAddress(J•••@example.com)");
    let single = EmailAddress::parse("j@example.com").unwrap();
    assert_eq!(single.to_string(), "•••@example.com");
}

#[test]
fn email_validation_follows_the_documented_grammar() {
    let local64 = "a".repeat(64);
    let local65 = "a".repeat(65);
    // 64 + 1 + 189 = 254 bytes: the longest accepted address.
    let domain189 = format!(
        "{}.{}.{}.com",
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(57)
    );
    let domain190 = format!(
        "{}.{}.{}.com",
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(58)
    );
    let at_limit = format!("{local64}@{domain189}");
    let over_limit = format!("{local64}@{domain190}");
    assert_eq!(at_limit.len(), 254);
    assert_eq!(over_limit.len(), 255);

    let accepted = [
        "a@b.co".to_owned(),
        "o'brien@example.ie".to_owned(),
        "x_y-z@sub.domain-name.example".to_owned(),
        format!("{local64}@example.com"),
        at_limit,
        "u@123.example".to_owned(),
    ];
    for address in &accepted {
        assert!(EmailAddress::parse(address).is_ok(), "{address}");
    }

    let refused = [
        ("plainaddress", DestinationError::EmailAtSign),
        ("a@b@example.com", DestinationError::EmailAtSign),
        ("@example.com", DestinationError::EmailLocalPart),
        (".a@example.com", DestinationError::EmailLocalPart),
        ("a.@example.com", DestinationError::EmailLocalPart),
        ("a..b@example.com", DestinationError::EmailLocalPart),
        ("a b@example.com", DestinationError::EmailLocalPart),
        ("\"a\"@example.com", DestinationError::EmailLocalPart),
        ("jörg@example.com", DestinationError::EmailLocalPart),
        ("a@", DestinationError::EmailDomain),
        ("a@localhost", DestinationError::EmailDomain),
        ("a@-example.com", DestinationError::EmailDomain),
        ("a@example-.com", DestinationError::EmailDomain),
        ("a@example..com", DestinationError::EmailDomain),
        ("a@example.123", DestinationError::EmailDomain),
        ("a@[192.0.2.1]", DestinationError::EmailDomain),
        ("a@exa_mple.com", DestinationError::EmailDomain),
    ];
    for (address, expected) in refused {
        assert_eq!(EmailAddress::parse(address), Err(expected), "{address}");
    }
    assert_eq!(
        EmailAddress::parse(&format!("{local65}@example.com")),
        Err(DestinationError::EmailLocalPart)
    );
    assert_eq!(
        EmailAddress::parse(&over_limit),
        Err(DestinationError::EmailTooLong)
    );
    let long_label = format!("a@{}.com", "b".repeat(64));
    assert_eq!(
        EmailAddress::parse(&long_label),
        Err(DestinationError::EmailDomain)
    );
}

// ---------------------------------------------------------------- line type

#[test]
fn north_american_numbers_cannot_be_told_apart() {
    let cases = [
        ("US", "(201) 555-0123"),
        ("US", "+1 650 253 0000"),
        ("CA", "(506) 234-5678"),
        ("CA", "+1 416 234 5678"),
        ("CA", "604 555 5555"),
    ];
    for (region, number) in cases {
        let phone = PhoneNumber::parse(number, Region::new(region).unwrap()).unwrap();
        let line = classify_offline(&phone);
        assert_eq!(
            line,
            LineType::Unknown(UnknownReason::NumberingPlanCannotTell),
            "{region}"
        );
        assert!(line.recommends_app());
    }
}

#[test]
fn european_mobiles_and_landlines_are_told_apart() {
    // Example numbers of the libphonenumber metadata (mobile / fixedLine).
    let cases = [
        ("GB", "07400 123456", LineType::Mobile),
        (
            "GB",
            "0121 234 5678",
            LineType::NotMobile(NotMobileKind::FixedLine),
        ),
        (
            "GB",
            "020 7946 0000",
            LineType::NotMobile(NotMobileKind::FixedLine),
        ),
        ("DE", "01512 3456789", LineType::Mobile),
        (
            "DE",
            "030 123456",
            LineType::NotMobile(NotMobileKind::FixedLine),
        ),
        ("FR", "06 12 34 56 78", LineType::Mobile),
        (
            "FR",
            "01 23 45 67 89",
            LineType::NotMobile(NotMobileKind::FixedLine),
        ),
        (
            "GB",
            "0800 123 4567",
            LineType::NotMobile(NotMobileKind::TollFree),
        ),
        (
            "GB",
            "0901 234 5678",
            LineType::NotMobile(NotMobileKind::PremiumRate),
        ),
        (
            "GB",
            "056 1234 5678",
            LineType::NotMobile(NotMobileKind::Voip),
        ),
        (
            "FR",
            "09 12 34 56 78",
            LineType::NotMobile(NotMobileKind::Voip),
        ),
    ];
    for (region, number, expected) in cases {
        let phone = PhoneNumber::parse(number, Region::new(region).unwrap()).unwrap();
        let line = classify_offline(&phone);
        assert_eq!(line, expected, "{region} {number}");
        assert_eq!(line.recommends_app(), expected != LineType::Mobile);
    }
}

#[test]
fn a_definite_lookup_answer_wins_and_a_failure_yields_unknown() {
    let fixed = LineType::NotMobile(NotMobileKind::FixedLine);
    let plan = LineType::Unknown(UnknownReason::NumberingPlanCannotTell);
    let undecided = LineType::Unknown(UnknownReason::NoMatchingPattern);
    assert_eq!(resolve(plan, Ok(LineType::Mobile)), LineType::Mobile);
    assert_eq!(resolve(LineType::Mobile, Ok(fixed)), fixed);
    assert_eq!(resolve(LineType::Mobile, Ok(undecided)), LineType::Mobile);
    assert_eq!(resolve(plan, Ok(undecided)), plan);
    for error in [LookupError::Unavailable, LookupError::Refused] {
        assert_eq!(
            resolve(LineType::Mobile, Err(error)),
            LineType::Unknown(UnknownReason::LookupUnavailable)
        );
    }
    assert!(LineType::Unknown(UnknownReason::LookupUnavailable).recommends_app());
}

/// What a caller does with a carrier lookup: the offline answer, resolved
/// against the service's.
fn classify(number: &PhoneNumber, lookup: &dyn CarrierLookup) -> LineType {
    resolve(classify_offline(number), block_on(lookup.line_type(number)))
}

#[test]
fn carrier_lookup_adapter_is_consulted() {
    let canadian = PhoneNumber::parse("+1 506 234 5678", Region::new("CA").unwrap()).unwrap();
    let lookup = InMemoryCarrierLookup::new().with_answer(canadian.clone(), LineType::Mobile);
    assert_eq!(classify(&canadian, &lookup), LineType::Mobile);
    // Not in the table: the service cannot tell, the metadata decides.
    assert_eq!(classify(&uk_mobile(), &lookup), LineType::Mobile);
    let down = InMemoryCarrierLookup::new().with_failure(LookupError::Unavailable);
    let dyn_lookup: &dyn CarrierLookup = &down;
    assert_eq!(
        classify(&uk_mobile(), dyn_lookup),
        LineType::Unknown(UnknownReason::LookupUnavailable)
    );
}

// ---------------------------------------------------------------- issuing and checking

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

#[test]
fn code_length_is_configurable_from_six_to_ten() {
    assert!(CodeLength::new(5).is_err());
    assert!(CodeLength::new(11).is_err());
    assert_eq!(CodeLength::default().digits(), 6);
    for digits in 6..=10 {
        let policy = ChallengePolicy::default().with_code_length(CodeLength::new(digits).unwrap());
        let (challenge, code) = issued(&policy, u64::from(digits));
        assert_eq!(code.len(), usize::from(digits));
        assert!(challenge.check(&code, &policy, &key(), t0()).is_ok());
    }
}

#[test]
fn policy_defaults_are_the_portals() {
    let policy = ChallengePolicy::default();
    assert_eq!(policy.lifetime(), TimeDelta::minutes(10));
    assert_eq!(policy.max_failed_checks(), 5);
    assert_eq!(policy.resend_cooldown(), secs(30));
    assert_eq!(policy.max_sends(), 5);
    assert_eq!(policy.code_length().digits(), 6);
    assert_eq!(policy.enabled_channels(), ChannelSet::all());
    let push = PushPolicy::default();
    assert_eq!(push.lifetime(), TimeDelta::minutes(2));
    assert_eq!(push.max_prompts(), 3);
    assert_eq!(push.window(), TimeDelta::minutes(10));
}

#[test]
fn policy_values_are_validated() {
    let p = ChallengePolicy::default();
    assert!(p.with_lifetime(TimeDelta::zero()).is_err());
    assert!(p.with_lifetime(TimeDelta::days(1) + secs(1)).is_err());
    assert!(p.with_lifetime(TimeDelta::days(1)).is_ok());
    assert!(p.with_max_failed_checks(0).is_err());
    assert!(p.with_max_failed_checks(101).is_err());
    assert!(p.with_max_sends(0).is_err());
    assert!(p.with_resend_cooldown(secs(-1)).is_err());
    assert!(p.with_resend_cooldown(TimeDelta::zero()).is_ok());
    assert!(PushPolicy::default().with_rate_limit(0, secs(60)).is_err());
    assert!(PushPolicy::default().with_rate_limit(1, secs(0)).is_err());
    assert_eq!(
        ServerKey::from_bytes(&[0u8; 31]).unwrap_err(),
        ServerKeyError::Length {
            len: 31,
            min: 32,
            max: 64
        }
    );
    assert!(ServerKey::from_bytes(&[0u8; 65]).is_err());
    assert!(ServerKey::from_bytes(&[0u8; 64]).is_ok());
}

#[test]
fn time_overflow_is_an_error_not_a_panic() {
    let policy = ChallengePolicy::default();
    let result = OobChallenge::issue(
        sms_request(),
        &policy,
        &templates(),
        &key(),
        DateTime::<Utc>::MAX_UTC,
        &mut rng(1),
    );
    assert_eq!(result.unwrap_err(), IssueError::TimeOutOfRange);
}

// ---------------------------------------------------------------- channels and destinations

#[test]
fn channel_must_fit_the_destination_and_be_enabled() {
    let policy = ChallengePolicy::default();
    let email = EmailAddress::parse("jane@example.com").unwrap();
    let mismatch = ChallengeRequest::new(
        user(),
        Purpose::Enrollment,
        Destination::Email(email),
        CodeChannel::Sms,
    );
    assert_eq!(
        OobChallenge::issue(mismatch, &policy, &templates(), &key(), t0(), &mut rng(1))
            .unwrap_err(),
        IssueError::ChannelDestinationMismatch {
            channel: CodeChannel::Sms
        }
    );
    let phone_by_email = ChallengeRequest::new(
        user(),
        Purpose::Enrollment,
        Destination::Phone(uk_mobile()),
        CodeChannel::Email,
    );
    assert!(
        OobChallenge::issue(
            phone_by_email,
            &policy,
            &templates(),
            &key(),
            t0(),
            &mut rng(1)
        )
        .is_err()
    );

    let no_sms = policy.with_enabled_channels(ChannelSet::all().without(Channel::Sms));
    assert_eq!(
        OobChallenge::issue(
            sms_request(),
            &no_sms,
            &templates(),
            &key(),
            t0(),
            &mut rng(1)
        )
        .unwrap_err(),
        IssueError::ChannelDisabled {
            channel: Channel::Sms
        }
    );
}

#[test]
fn channel_sets_behave_as_sets() {
    let set: ChannelSet = [Channel::Sms, Channel::Push].into_iter().collect();
    assert!(set.contains(Channel::Sms) && set.contains(Channel::Push));
    assert!(!set.contains(Channel::VoiceCall) && !set.contains(Channel::Email));
    assert_eq!(set.without(Channel::Sms).with(Channel::Sms), set);
    assert_eq!(format!("{set:?}"), "{Sms, Push}");
    assert!(!ChannelSet::empty().contains(Channel::Email));
}

// ---------------------------------------------------------------- re-sending

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

// ---------------------------------------------------------------- send failures

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

// ---------------------------------------------------------------- messages

#[test]
fn sms_carries_issuer_code_warning_and_the_origin_bound_last_line() {
    let policy = ChallengePolicy::default();
    let prepared = OobChallenge::issue(
        sms_request(),
        &policy,
        &templates(),
        &key(),
        t0(),
        &mut rng(90),
    )
    .unwrap();
    let code = prepared.code().expose_secret().to_owned();
    let OutboundMessage::Sms(sms) = prepared.message() else {
        panic!("sms expected");
    };
    let text = sms.body.expose_secret();
    assert!(text.starts_with(&format!("Example Portal verification code: {code}\n")));
    assert!(text.contains("Do not share this code"));
    assert!(text.contains("expires in 10 minutes"));
    // WICG "Origin-bound one-time codes delivered via SMS": the last line is
    // "@" host, a space, "#" code.
    assert_eq!(
        text.lines().last(),
        Some(format!("@portal.example.com #{code}").as_str())
    );
    assert_eq!(sms.to, uk_mobile());
    assert_eq!(sms.challenge, prepared.challenge_id());

    let without_host = MessageTemplates::new(Issuer::new("Example Portal").unwrap());
    let plain = OobChallenge::issue(
        sms_request(),
        &policy,
        &without_host,
        &key(),
        t0(),
        &mut rng(90),
    )
    .unwrap();
    let OutboundMessage::Sms(sms) = plain.message() else {
        panic!("sms expected");
    };
    assert!(!sms.body.expose_secret().contains('@'));
}

#[test]
fn voice_script_reads_digits_one_by_one_twice() {
    let policy = ChallengePolicy::default();
    let request = ChallengeRequest::new(
        user(),
        Purpose::Enrollment,
        Destination::Phone(uk_mobile()),
        CodeChannel::VoiceCall,
    );
    let prepared =
        OobChallenge::issue(request, &policy, &templates(), &key(), t0(), &mut rng(91)).unwrap();
    let code = prepared.code().expose_secret().to_owned();
    let OutboundMessage::Voice(call) = prepared.message() else {
        panic!("voice expected");
    };
    let spelled: Vec<String> = code.chars().map(String::from).collect();
    let spelled = spelled.join(", ");
    let script = call.script.expose_secret();
    assert_eq!(script.matches(&spelled).count(), 2, "{spelled}");
    assert!(!script.contains(&code), "never read as one number");
    assert!(script.contains("Example Portal"));
}

#[test]
fn email_has_subject_and_plain_text_body() {
    let policy = ChallengePolicy::default()
        .with_lifetime(TimeDelta::seconds(90))
        .unwrap();
    let email = EmailAddress::parse("jane@example.com").unwrap();
    let request = ChallengeRequest::new(
        user(),
        Purpose::Enrollment,
        Destination::Email(email.clone()),
        CodeChannel::Email,
    );
    let prepared =
        OobChallenge::issue(request, &policy, &templates(), &key(), t0(), &mut rng(92)).unwrap();
    let code = prepared.code().expose_secret().to_owned();
    let OutboundMessage::Email(mail) = prepared.message() else {
        panic!("email expected");
    };
    assert_eq!(mail.to, email);
    assert_eq!(
        mail.subject.expose_secret(),
        "Your Example Portal verification code"
    );
    assert!(
        mail.body
            .expose_secret()
            .contains(&format!("verification code is: {code}"))
    );
    // 90 seconds is announced as 2 minutes: rounded up.
    assert!(mail.body.expose_secret().contains("expires in 2 minutes"));
}

#[test]
fn templates_can_be_replaced_and_are_validated() {
    let custom = templates()
        .with_sms(Template::new("{code} is your {issuer} code ({minutes} min)").unwrap())
        .unwrap()
        .with_voice(Template::new("Code: {code}.").unwrap())
        .unwrap()
        .with_email_subject(Template::new("{issuer} sign-in").unwrap())
        .unwrap()
        .with_email_body(Template::new("Use {code}.").unwrap())
        .unwrap();
    let policy = ChallengePolicy::default();
    let prepared =
        OobChallenge::issue(sms_request(), &policy, &custom, &key(), t0(), &mut rng(93)).unwrap();
    let code = prepared.code().expose_secret().to_owned();
    let OutboundMessage::Sms(sms) = prepared.message() else {
        panic!("sms expected");
    };
    assert_eq!(
        sms.body.expose_secret(),
        format!("{code} is your Example Portal code (10 min)\n\n@portal.example.com #{code}")
    );

    let no_code = Template::new("Hello from {issuer}").unwrap();
    assert_eq!(
        templates().with_sms(no_code.clone()).unwrap_err(),
        TemplateError::MissingCode
    );
    assert_eq!(
        templates().with_voice(no_code.clone()).unwrap_err(),
        TemplateError::MissingCode
    );
    assert_eq!(
        templates().with_email_body(no_code).unwrap_err(),
        TemplateError::MissingCode
    );
    assert!(
        templates()
            .with_email_subject(Template::new("a\nb").unwrap())
            .is_err()
    );
    assert_eq!(
        Template::new("{code} {pin}").unwrap_err(),
        TemplateError::UnknownPlaceholder { at: 7 }
    );
}

// ---------------------------------------------------------------- nothing printable leaks

#[test]
fn no_printable_output_contains_a_code_or_a_full_destination() {
    let policy = ChallengePolicy::default();
    let email = EmailAddress::parse("jane.doe@example.com").unwrap();
    let request = sms_request().with_fallback_email(email);
    let key = key();
    let prepared =
        OobChallenge::issue(request, &policy, &templates(), &key, t0(), &mut rng(100)).unwrap();
    let code = prepared.code().expose_secret().to_owned();
    let forbidden = [
        code.as_str(),
        "7400123456",
        "447400123456",
        "jane.doe",
        "0123456",
    ];

    assert_clean(&format!("{prepared:?}"), &forbidden);
    assert_clean(&format!("{:?}", prepared.message()), &forbidden);
    assert_clean(&format!("{:?}", prepared.code()), &forbidden);
    assert_clean(&format!("{key:?}"), &["7, 7"]);

    let outbox = Outbox::new();
    send(&outbox, prepared.message()).unwrap();
    assert_clean(&format!("{:?}", outbox.sent()), &forbidden);
    assert_clean(&format!("{outbox:?}"), &forbidden);

    let challenge = prepared.commit();
    assert_clean(&format!("{challenge:?}"), &forbidden);
    let rejected = challenge
        .check(&tampered(&code), &policy, &key, t0())
        .unwrap_err();
    assert_clean(&format!("{rejected:?}"), &forbidden);
    assert_clean(&rejected.to_string(), &forbidden);
    let challenge = rejected.into_record();

    let later = t0() + secs(30);
    let by_email = challenge
        .resend(
            CodeChannel::Email,
            &policy,
            &templates(),
            &key,
            later,
            &mut rng(101),
        )
        .unwrap();
    let email_code = by_email.code().expose_secret().to_owned();
    let mut forbidden_2 = forbidden.to_vec();
    forbidden_2.push(&email_code);
    assert_clean(&format!("{by_email:?}"), &forbidden_2);

    let verified = challenge.check(&code, &policy, &key, t0()).unwrap();
    assert_clean(&format!("{verified:?}"), &forbidden);

    let error = challenge
        .resend(
            CodeChannel::Sms,
            &policy,
            &templates(),
            &key,
            t0(),
            &mut rng(102),
        )
        .unwrap_err();
    assert_clean(&format!("{error:?} {error}"), &forbidden);
}

#[cfg(feature = "serde")]
#[test]
fn serialised_records_hold_the_mac_and_never_the_code() {
    let policy = ChallengePolicy::default();
    let (challenge, code) = issued(&policy, 110);
    let json = serde_json::to_string(&challenge).unwrap();
    assert!(!json.contains(&code), "{json}");
    assert!(
        json.contains("+447400123456"),
        "a store needs the full destination"
    );
    let back: OobChallenge = serde_json::from_str(&json).unwrap();
    assert_eq!(back, challenge);
    assert!(back.check(&code, &policy, &key(), t0()).is_ok());

    let used = challenge
        .check(&code, &policy, &key(), t0())
        .unwrap()
        .into_record();
    let json = serde_json::to_string(&used).unwrap();
    assert!(!json.contains(&code));
    assert_eq!(serde_json::from_str::<OobChallenge>(&json).unwrap(), used);

    // Malformed stored values are refused on the way in.
    let bad = json.replace("+447400123456", "447400123456");
    assert!(serde_json::from_str::<OobChallenge>(&bad).is_err());
    let bad = json.replace("+447400123456", "+44 hello");
    assert!(serde_json::from_str::<OobChallenge>(&bad).is_err());
    // A number in a range the metadata does not (or no longer) assigns still
    // loads: stored records must survive metadata updates.
    assert!(PhoneNumber::from_e164("+44740012345").is_err());
    let retired = json.replace("+447400123456", "+44740012345");
    let loaded: OobChallenge = serde_json::from_str(&retired).unwrap();
    let Destination::Phone(phone) = loaded.destination() else {
        panic!("phone expected");
    };
    assert_eq!(phone.expose_e164(), "+44740012345");
}

#[cfg(feature = "serde")]
#[test]
fn a_failed_send_leaves_the_serialised_record_byte_for_byte_equal() {
    let policy = ChallengePolicy::default();
    let (challenge, _) = issued(&policy, 111);
    let before = serde_json::to_string(&challenge).unwrap();
    let outbox = Outbox::new();
    outbox.fail_next(1, SendError::Transient(FailureCause::ProviderUnavailable));
    let prepared = challenge
        .resend(
            CodeChannel::VoiceCall,
            &policy,
            &templates(),
            &key(),
            t0() + secs(60),
            &mut rng(112),
        )
        .unwrap();
    assert!(send(&outbox, prepared.message()).is_err());
    drop(prepared);
    assert_eq!(serde_json::to_string(&challenge).unwrap(), before);
}

// ---------------------------------------------------------------- push

fn push_prepare(
    log: &PushSendLog,
    now: DateTime<Utc>,
    seed: u64,
) -> Result<PreparedPush, PushPrepareError> {
    PushRequest::prepare(
        user(),
        TransactionId::new("login-7").unwrap(),
        &Issuer::new("Example Portal").unwrap(),
        &PushPolicy::default(),
        log,
        now,
        &mut rng(seed),
    )
}

#[test]
fn push_approval_needs_the_number_shown_on_the_login_page() {
    let prepared = push_prepare(&PushSendLog::new(), t0(), 120).unwrap();
    let shown = prepared.match_number();
    assert!((10..=99).contains(&shown.value()));
    let message = prepared.message().clone();
    assert!(message.choices.contains(&shown));
    assert_ne!(message.choices[0], message.choices[1]);
    assert_ne!(message.choices[1], message.choices[2]);
    assert_ne!(message.choices[0], message.choices[2]);
    assert_eq!(message.expires_at, t0() + TimeDelta::minutes(2));
    let (request, log) = prepared.commit();
    assert_eq!(log.recent(&PushPolicy::default(), t0()), vec![t0()]);
    assert_eq!(
        request.status(t0()),
        PushStatus::Pending {
            expires_at: t0() + TimeDelta::minutes(2)
        }
    );
    assert!(request.approval(t0()).is_err());

    let approved = request
        .respond(PushResponse::Approve { number: shown }, t0() + secs(5))
        .unwrap();
    assert_eq!(
        approved.status(t0() + secs(5)),
        PushStatus::Approved { at: t0() + secs(5) }
    );
    assert_eq!(
        approved.approval(t0() + TimeDelta::hours(1)).unwrap().at,
        t0() + secs(5)
    );
    assert_eq!(
        approved
            .respond(PushResponse::Deny, t0() + secs(6))
            .unwrap_err(),
        PushError::AlreadyAnswered
    );

    let wrong = MatchNumber::new(if shown.value() == 99 {
        10
    } else {
        shown.value() + 1
    })
    .unwrap();
    let refused = request
        .respond(PushResponse::Approve { number: wrong }, t0() + secs(5))
        .unwrap();
    assert_eq!(
        refused.status(t0() + secs(5)),
        PushStatus::Denied {
            at: t0() + secs(5),
            reason: DenyReason::NumberMismatch
        }
    );
    assert!(refused.approval(t0() + secs(5)).is_err());
    // One try: the right number afterwards does not help.
    assert_eq!(
        refused
            .respond(PushResponse::Approve { number: shown }, t0() + secs(6))
            .unwrap_err(),
        PushError::AlreadyAnswered
    );

    let denied = request.respond(PushResponse::Deny, t0() + secs(5)).unwrap();
    assert_eq!(
        denied.approval(t0() + secs(5)).unwrap_err().status,
        PushStatus::Denied {
            at: t0() + secs(5),
            reason: DenyReason::UserDenied
        }
    );
}

#[test]
fn push_request_expires_at_the_exact_second() {
    let prepared = push_prepare(&PushSendLog::new(), t0(), 121).unwrap();
    let shown = prepared.match_number();
    let (request, _) = prepared.commit();
    let expires_at = t0() + TimeDelta::minutes(2);
    let approve = PushResponse::Approve { number: shown };
    assert!(request.respond(approve, expires_at - secs(1)).is_ok());
    for at in [expires_at, expires_at + secs(1)] {
        assert_eq!(
            request.respond(approve, at).unwrap_err(),
            PushError::Expired {
                expired_at: expires_at
            }
        );
        assert_eq!(
            request.status(at),
            PushStatus::Expired {
                expired_at: expires_at
            }
        );
        assert!(request.approval(at).is_err());
    }
}

#[test]
fn push_prompts_are_rate_limited_per_user() {
    let policy = PushPolicy::default();
    let mut log = PushSendLog::new();
    let times = [
        t0(),
        t0() + TimeDelta::minutes(1),
        t0() + TimeDelta::minutes(2),
    ];
    for (seed, at) in times.iter().enumerate() {
        let (_, next) = push_prepare(&log, *at, seed as u64).unwrap().commit();
        log = next;
    }
    // The 4th prompt inside the window waits until the first leaves it.
    let retry_after = t0() + TimeDelta::minutes(10);
    let error = push_prepare(&log, t0() + TimeDelta::minutes(3), 9).unwrap_err();
    assert_eq!(error, PushPrepareError::RateLimited { retry_after });
    assert!(
        error
            .to_string()
            .starts_with("too many push prompts; retry after")
    );
    assert_eq!(
        push_prepare(&log, retry_after - secs(1), 9).unwrap_err(),
        PushPrepareError::RateLimited { retry_after }
    );
    let (_, after) = push_prepare(&log, retry_after, 9).unwrap().commit();
    assert_eq!(after.recent(&policy, retry_after).len(), 3);
}

#[test]
fn a_failed_push_send_consumes_no_quota() {
    let outbox = Outbox::new();
    let log = PushSendLog::new();
    for _ in 0..5 {
        outbox.fail_next(1, SendError::Transient(FailureCause::ProviderUnavailable));
        let prepared = push_prepare(&log, t0(), 130).unwrap();
        assert!(block_on(outbox.send_push(prepared.message())).is_err());
    }
    assert_eq!(log, PushSendLog::new());
    let prepared = push_prepare(&log, t0(), 131).unwrap();
    block_on(outbox.send_push(prepared.message())).unwrap();
    assert!(matches!(outbox.last(), Some(SentMessage::Push(_))));
}

#[test]
fn push_can_be_switched_off() {
    let policy =
        PushPolicy::default().with_enabled_channels(ChannelSet::all().without(Channel::Push));
    let result = PushRequest::prepare(
        user(),
        TransactionId::new("login-8").unwrap(),
        &Issuer::new("Example Portal").unwrap(),
        &policy,
        &PushSendLog::new(),
        t0(),
        &mut rng(140),
    );
    assert_eq!(result.unwrap_err(), PushPrepareError::ChannelDisabled);
    assert!(MatchNumber::new(9).is_err());
    assert!(MatchNumber::new(100).is_err());
}

// ---------------------------------------------------------------- security notices

/// One notice of each kind, the recovery-code one with `remaining` left.
fn every_notice(remaining: usize) -> [Notice; 8] {
    [
        Notice::NumberChangeStarted,
        Notice::NumberChanged,
        Notice::MethodAdded,
        Notice::MethodRemoved,
        Notice::RecoveryCodeUsed { remaining },
        Notice::RecoveryCodesRegenerated,
        Notice::FactorSuspended,
        Notice::AdminReset,
    ]
}

fn email() -> EmailAddress {
    EmailAddress::parse("jane.doe@example.com").unwrap()
}

/// Every printable text of a notice message: the rendered texts and `Debug`.
fn notice_texts(message: &NoticeMessage) -> Vec<String> {
    let mut texts = vec![format!("{message:?}")];
    match message {
        NoticeMessage::Sms(sms) => texts.push(sms.text.clone()),
        NoticeMessage::Email(mail) => {
            texts.push(mail.subject.clone());
            texts.push(mail.body.clone());
        }
        other => panic!("unexpected channel {other:?}"),
    }
    texts
}

/// The digits of the rendered texts (not of `Debug`, which holds the
/// masked destination's last digits).
fn rendered_digits(message: &NoticeMessage) -> String {
    notice_texts(message)
        .iter()
        .skip(1)
        .flat_map(|text| text.chars().filter(char::is_ascii_digit))
        .collect()
}

#[test]
fn every_notice_renders_for_both_channels() {
    let templates = templates();
    for notice in every_notice(4) {
        let sms = templates.render_notice(notice, &Destination::Phone(uk_mobile()));
        let NoticeMessage::Sms(text) = &sms else {
            panic!("a phone gets a text message: {sms:?}");
        };
        assert_eq!(text.notice, notice);
        assert_eq!(text.to, uk_mobile());
        assert_eq!(sms.channel(), Channel::Sms);
        assert_eq!(sms.notice(), notice);
        assert!(text.text.starts_with("Example Portal: "), "{}", text.text);
        assert!(
            text.text
                .ends_with("\nTo review your account, sign in at portal.example.com."),
            "{}",
            text.text
        );

        let mail = templates.render_notice(notice, &Destination::Email(email()));
        let NoticeMessage::Email(message) = &mail else {
            panic!("a mailbox gets an email: {mail:?}");
        };
        assert_eq!(message.notice, notice);
        assert_eq!(message.to, email());
        assert_eq!(mail.channel(), Channel::Email);
        assert!(message.subject.starts_with("Example Portal: "));
        assert!(!message.subject.contains('\n'));
        assert!(message.body.contains("your Example Portal account"));
        assert!(
            message
                .body
                .ends_with("\n\nTo review your account, sign in at portal.example.com.\n"),
            "{}",
            message.body
        );
        // Each kind has its own wording.
        assert_ne!(text.text, message.body);
    }
    let subjects: std::collections::BTreeSet<String> = every_notice(1)
        .into_iter()
        .map(
            |notice| match templates.render_notice(notice, &Destination::Email(email())) {
                NoticeMessage::Email(mail) => mail.subject,
                other => panic!("{other:?}"),
            },
        )
        .collect();
    assert_eq!(subjects.len(), 8, "one subject per kind");
}

#[test]
fn notices_name_what_happened() {
    let templates = MessageTemplates::new(Issuer::new("Example Portal").unwrap());
    let sms = |notice| match templates.render_notice(notice, &Destination::Phone(uk_mobile())) {
        NoticeMessage::Sms(sms) => sms.text,
        other => panic!("{other:?}"),
    };
    assert!(sms(Notice::NumberChanged).contains("phone number was changed"));
    assert!(sms(Notice::NumberChangeStarted).contains("replace this two-factor phone number"));
    assert!(sms(Notice::MethodAdded).contains("was added"));
    assert!(sms(Notice::MethodRemoved).contains("was removed"));
    assert!(sms(Notice::RecoveryCodeUsed { remaining: 7 }).contains("Unused codes left: 7."));
    assert!(sms(Notice::RecoveryCodesRegenerated).contains("new recovery codes"));
    assert!(sms(Notice::FactorSuspended).contains("suspended"));
    assert!(sms(Notice::AdminReset).contains("administrator reset"));
    // Without an origin host there is no review line.
    assert!(!sms(Notice::NumberChanged).contains("sign in at"));
    assert!(!sms(Notice::NumberChanged).contains('\n'));
}

#[test]
fn notices_hold_no_code_number_or_address() {
    let templates = templates();
    let phone = uk_mobile();
    let national = &phone.expose_e164()[3..];
    for notice in every_notice(3) {
        for to in [
            Destination::Phone(phone.clone()),
            Destination::Email(email()),
        ] {
            let message = templates.render_notice(notice, &to);
            for text in notice_texts(&message) {
                assert_clean(
                    &text,
                    &[
                        phone.expose_e164(),
                        national,
                        "7400",
                        "jane.doe",
                        "jane.doe@",
                    ],
                );
            }
            // The only digits a notice renders are the count of codes left
            // (once in a text message, once in an email body).
            let expected = match notice {
                Notice::RecoveryCodeUsed { remaining } => remaining.to_string(),
                _ => String::new(),
            };
            assert_eq!(rendered_digits(&message), expected, "{message:?}");
        }
    }
}

#[test]
fn notice_debug_masks_the_destination() {
    let templates = templates();
    let sms = templates.render_notice(Notice::MethodAdded, &Destination::Phone(uk_mobile()));
    let debug = format!("{sms:?}");
    assert!(debug.contains("+44 ••• ••• 3456"), "{debug}");
    assert!(!debug.contains("7400123456"), "{debug}");
    assert_eq!(sms.masked_to(), "+44 ••• ••• 3456");
    let mail = templates.render_notice(Notice::MethodAdded, &Destination::Email(email()));
    let debug = format!("{mail:?}");
    assert!(debug.contains("j•••@example.com"), "{debug}");
    assert!(!debug.contains("jane.doe"), "{debug}");
    assert_eq!(mail.masked_to(), "j•••@example.com");
}

#[test]
fn notice_templates_are_validated_and_replaceable() {
    let template = |text: &str| NoticeTemplate::new(text).unwrap();
    // No code in a notice: `{code}` is not a notice placeholder.
    assert_eq!(
        NoticeTemplate::new("{issuer}: {code}").err(),
        Some(TemplateError::UnknownPlaceholder { at: 10 })
    );
    assert_eq!(
        NoticeTemplate::new("{issuer").err(),
        Some(TemplateError::UnbalancedBrace { at: 0 })
    );
    assert_eq!(
        NoticeTemplate::new("").err(),
        Some(TemplateError::Length {
            max: MAX_TEMPLATE_LEN
        })
    );
    assert_eq!(
        NoticeTemplate::new("a\u{7}b").err(),
        Some(TemplateError::ControlCharacter { at: 1 })
    );
    // `{remaining}` only where there is a count, `{host}` only in the
    // review line.
    let not_allowed = |placeholder| Some(TemplateError::PlaceholderNotAllowed { placeholder });
    assert_eq!(
        NoticeTemplates::english()
            .with_sms(NoticeKind::NumberChanged, template("{remaining} left"))
            .err(),
        not_allowed("remaining")
    );
    assert_eq!(
        NoticeTemplates::english()
            .with_email_body(NoticeKind::MethodAdded, template("see {host}"))
            .err(),
        not_allowed("host")
    );
    assert_eq!(
        NoticeTemplates::english()
            .with_review_line(template("{remaining}"))
            .err(),
        not_allowed("remaining")
    );
    assert_eq!(
        NoticeTemplates::english()
            .with_email_subject(NoticeKind::AdminReset, template("two\nlines"))
            .err(),
        Some(TemplateError::ControlCharacter { at: 3 })
    );
    assert_eq!(
        NoticeTemplates::english()
            .with_review_line(template("a\n{host}"))
            .err(),
        Some(TemplateError::ControlCharacter { at: 1 })
    );

    let notices = NoticeTemplates::english()
        .with_sms(
            NoticeKind::RecoveryCodeUsed,
            template("{issuer}: code used, {remaining} left"),
        )
        .unwrap()
        .with_email_subject(NoticeKind::RecoveryCodeUsed, template("{issuer} notice"))
        .unwrap()
        .with_email_body(NoticeKind::RecoveryCodeUsed, template("{remaining} left"))
        .unwrap()
        .with_review_line(template("Check {host} ({issuer})"))
        .unwrap();
    let templates = templates().with_notices(notices.clone());
    assert_eq!(templates.notices(), &notices);
    let notice = Notice::RecoveryCodeUsed { remaining: 2 };
    let NoticeMessage::Sms(sms) = templates.render_notice(notice, &Destination::Phone(uk_mobile()))
    else {
        panic!("expected a text message");
    };
    assert_eq!(
        sms.text,
        "Example Portal: code used, 2 left\nCheck portal.example.com (Example Portal)"
    );
    let NoticeMessage::Email(mail) = templates.render_notice(notice, &Destination::Email(email()))
    else {
        panic!("expected an email");
    };
    assert_eq!(mail.subject, "Example Portal notice");
    assert_eq!(
        mail.body,
        "2 left\n\nCheck portal.example.com (Example Portal)\n"
    );
    // The other kinds keep their English texts.
    let english = MessageTemplates::new(Issuer::new("Example Portal").unwrap())
        .with_origin_host(OriginHost::new("portal.example.com").unwrap());
    let to = Destination::Email(email());
    let NoticeMessage::Email(kept) = templates.render_notice(Notice::AdminReset, &to) else {
        panic!("expected an email");
    };
    let NoticeMessage::Email(default) = english.render_notice(Notice::AdminReset, &to) else {
        panic!("expected an email");
    };
    assert_eq!(kept.subject, default.subject);
    assert!(
        kept.body
            .ends_with("\n\nCheck portal.example.com (Example Portal)\n")
    );
    assert_ne!(kept.body, default.body);
}

#[test]
fn the_outbox_records_notices_and_fails_them_on_request() {
    let outbox = Outbox::new();
    let templates = templates();
    let message = templates.render_notice(Notice::FactorSuspended, &Destination::Email(email()));
    block_on(outbox.send_notice(&message)).unwrap();
    assert!(matches!(outbox.last(), Some(SentMessage::Notice(ref m)) if *m == message));
    assert_eq!(outbox.notices(), vec![message.clone()]);

    let failure = SendError::Transient(FailureCause::ProviderUnavailable);
    outbox.fail_next(1, failure);
    assert_eq!(block_on(outbox.send_notice(&message)), Err(failure));
    assert_eq!(outbox.len(), 1, "a failed notice is not recorded");

    // Notices sit in the same log as code messages, in order.
    let sender: &dyn NoticeSender = &outbox;
    let sms = templates.render_notice(Notice::NumberChanged, &Destination::Phone(uk_mobile()));
    block_on(sender.send_notice(&sms)).unwrap();
    assert_eq!(outbox.notices(), vec![message, sms]);
    assert_eq!(
        FailureCause::NotConfigured.to_string(),
        "no adapter configured for this message"
    );
}

#[cfg(feature = "serde")]
#[test]
fn notices_and_send_errors_round_trip_through_serde() {
    for notice in every_notice(6) {
        let json = serde_json::to_string(&notice).unwrap();
        assert_eq!(serde_json::from_str::<Notice>(&json).unwrap(), notice);
    }
    assert_eq!(
        serde_json::to_string(&Notice::RecoveryCodeUsed { remaining: 6 }).unwrap(),
        r#"{"RecoveryCodeUsed":{"remaining":6}}"#
    );
    for error in [
        SendError::Transient(FailureCause::Throttled),
        SendError::Permanent(FailureCause::NotConfigured),
    ] {
        let json = serde_json::to_string(&error).unwrap();
        assert_eq!(serde_json::from_str::<SendError>(&json).unwrap(), error);
    }
}

#[test]
fn notice_kinds_cover_every_notice() {
    let kinds: Vec<NoticeKind> = every_notice(0).iter().map(|n| n.kind()).collect();
    assert_eq!(kinds, NoticeKind::ALL);
    assert_eq!(
        Notice::RecoveryCodeUsed { remaining: 5 }.kind(),
        Notice::RecoveryCodeUsed { remaining: 0 }.kind()
    );
}

// ---------------------------------------------------------------- identifiers

#[test]
fn identifiers_are_validated() {
    // User ids follow the one rule of `twofa-types`: inner spaces are fine.
    assert!(UserId::new("").is_err());
    assert!(UserId::new("a b").is_ok());
    assert!(UserId::new(" a").is_err());
    assert!(UserId::new("a\tb").is_err());
    assert!(UserId::new("x".repeat(129)).is_err());
    assert!(UserId::new("x".repeat(128)).is_ok());
    assert!(TransactionId::new("tx\n1").is_err());
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<OobChallenge>();
    check::<PreparedSend>();
    check::<PushRequest>();
    check::<Outbox>();
    check::<ServerKey>();
    check::<MessageTemplates>();
    check::<NoticeTemplates>();
    check::<NoticeMessage>();
    check::<Box<dyn NoticeSender>>();
    check::<InMemoryCarrierLookup>();
    check::<Box<dyn SmsSender>>();
    check::<Box<dyn CarrierLookup>>();
}

// ---------------------------------------------------------------- properties

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

    /// Masked phone output never holds the whole national number.
    #[test]
    fn masked_numbers_never_show_all_digits(national in "[1-9][0-9]{6,11}", region in prop::sample::select(vec!["GB", "DE", "FR", "US", "CA", "IT", "JP"])) {
        if let Ok(phone) = PhoneNumber::parse(&national, Region::new(region).unwrap()) {
            let nsn = &phone.expose_e164()[1 + phone.country_code().to_string().len()..];
            prop_assert!(!phone.to_string().contains(nsn));
            let debug = format!("{phone:?}");
            prop_assert!(!debug.contains(nsn));
            prop_assert!(!phone.to_string().contains(&phone.expose_e164()[1..]));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the count of codes left and the number, a notice renders no
    /// digit but the count's, and never the number.
    #[test]
    fn notices_render_only_the_count(remaining in 0usize..100_000, subscriber in 100_000u32..999_999, kind in 0usize..8) {
        let phone = PhoneNumber::parse(&format!("07400 {subscriber}"), gb()).unwrap();
        let notice = every_notice(remaining)[kind];
        for to in [Destination::Phone(phone.clone()), Destination::Email(email())] {
            let message = templates().render_notice(notice, &to);
            let expected = match notice {
                Notice::RecoveryCodeUsed { remaining } => remaining.to_string(),
                _ => String::new(),
            };
            prop_assert_eq!(rendered_digits(&message), expected);
            for text in notice_texts(&message) {
                prop_assert!(!text.contains(&phone.expose_e164()[3..]));
            }
        }
    }
}
