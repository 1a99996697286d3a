//! Public-API tests: the one id rule, the typed code's parse over arbitrary
//! input, the sets, and serde round trips.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly on unexpected input"
)]

use proptest::prelude::*;
use twofa_types::{
    AccountKind, CodeChannel, CodeChannelSet, CodeInputError, CompanyId, DeferralCap,
    EnrollmentStatus, MAX_CODE_DIGITS, MIN_CODE_DIGITS, Method, MethodSet, OneTimeCode, UserId,
};

proptest! {
    /// Whatever is typed, parsing returns a value or a typed error, and an
    /// accepted code is exactly the input's digits, 6 to 10 of them.
    #[test]
    fn parsing_never_panics_and_keeps_only_the_digits(text in "\\PC{0,80}") {
        if let Ok(code) = OneTimeCode::parse(&text) {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            prop_assert_eq!(code.expose_secret(), digits.as_str());
            prop_assert!((MIN_CODE_DIGITS..=MAX_CODE_DIGITS).contains(&code.digit_count()));
        }
    }

    /// A code displayed in groups reads the same as the plain digits.
    #[test]
    fn any_grouping_reads_as_the_plain_digits(
        digits in "[0-9]{6,10}",
        cut in 1usize..6,
        separator in prop::sample::select(vec![" ", "-"]),
    ) {
        let grouped = format!("{}{}{}", &digits[..cut], separator, &digits[cut..]);
        let grouped = OneTimeCode::parse(&grouped).unwrap();
        prop_assert_eq!(grouped.expose_secret(), digits.as_str());
    }

    /// An id is accepted exactly when it keeps the one rule, and the same
    /// text is a valid user id exactly when it is a valid company id.
    #[test]
    fn one_rule_for_every_id(text in "\\PC{0,140}") {
        let keeps_rule = !text.is_empty()
            && text.len() <= 128
            && !text.chars().any(|c| c.is_control() || (c.is_whitespace() && c != ' '))
            && !text.starts_with(' ')
            && !text.ends_with(' ');
        prop_assert_eq!(UserId::new(text.as_str()).is_ok(), keeps_rule);
        prop_assert_eq!(CompanyId::new(text.as_str()).is_ok(), keeps_rule);
    }
}

#[test]
fn a_code_too_short_for_any_method_is_refused() {
    assert_eq!(
        OneTimeCode::parse("123 45").unwrap_err(),
        CodeInputError::DigitCount {
            digits: 5,
            min: 6,
            max: 10
        }
    );
}

#[test]
fn phone_methods_name_their_channel_and_apps_have_none() {
    assert_eq!(Method::Sms.code_channel(), Some(CodeChannel::Sms));
    assert_eq!(
        Method::VoiceCall.code_channel(),
        Some(CodeChannel::VoiceCall)
    );
    assert_eq!(Method::AuthenticatorApp.code_channel(), None);
    assert_eq!(Method::PushApp.code_channel(), None);
    assert_eq!(Method::Passkey.code_channel(), None);
    assert_eq!(CodeChannelSet::all().len(), 3);
    assert_eq!(MethodSet::all().len(), Method::ALL.len());
}

#[test]
fn only_the_passkey_is_phishing_resistant() {
    let resistant: MethodSet = Method::ALL
        .into_iter()
        .filter(|m| m.is_phishing_resistant())
        .collect();
    assert_eq!(resistant, MethodSet::of(&[Method::Passkey]));
    assert_eq!(Method::Passkey.as_str(), "passkey");
    assert!(MethodSet::all().contains(Method::Passkey));
    assert_eq!(
        serde_json::to_string(&MethodSet::of(&[Method::Passkey, Method::Sms])).unwrap(),
        r#"["sms","passkey"]"#
    );
}

#[test]
fn only_an_active_method_counts_as_enrolled() {
    let since = chrono::DateTime::UNIX_EPOCH;
    assert!(
        EnrollmentStatus::Enrolled {
            methods: MethodSet::of(&[Method::Sms]),
            since
        }
        .has_active_method()
    );
    assert!(
        !EnrollmentStatus::Enrolled {
            methods: MethodSet::empty(),
            since
        }
        .has_active_method()
    );
    assert!(!EnrollmentStatus::NotEnrolled { deferrals_used: 0 }.has_active_method());
}

#[test]
fn serde_round_trips_and_validates_ids() {
    let user: UserId = serde_json::from_str("\"john smith\"").unwrap();
    assert_eq!(user.as_str(), "john smith");
    assert!(serde_json::from_str::<UserId>("\"john\\nsmith\"").is_err());
    let set = MethodSet::of(&[Method::AuthenticatorApp, Method::VoiceCall]);
    let json = serde_json::to_string(&set).unwrap();
    assert_eq!(json, r#"["authenticator_app","voice_call"]"#);
    assert_eq!(serde_json::from_str::<MethodSet>(&json).unwrap(), set);
    assert_eq!(
        serde_json::to_string(&AccountKind::EndUserClient).unwrap(),
        "\"end_user_client\""
    );
    assert_eq!(
        serde_json::to_string(&DeferralCap::AtMost(3)).unwrap(),
        r#"{"at_most":3}"#
    );
    let status = EnrollmentStatus::NotEnrolled { deferrals_used: 2 };
    let json = serde_json::to_string(&status).unwrap();
    assert_eq!(
        serde_json::from_str::<EnrollmentStatus>(&json).unwrap(),
        status
    );
}
