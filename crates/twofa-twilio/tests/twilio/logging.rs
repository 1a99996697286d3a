//! What the crate logs: one event per attempt with the provider's code and
//! the masked number, and never a full number, a body, a code or a secret,
//! even when Twilio's answer quotes them.

use tracing::Level;
use twofa_delivery::{CarrierLookup, SmsSender, VoiceCaller};

use super::capture::{Capture, Captured};
use super::*;

#[tokio::test]
async fn events_carry_codes_and_masked_numbers_and_never_secrets() {
    let standin = standin(vec![
        // The created message echoes its body (and so the code).
        Reply::Created,
        // Twilio's 21211 message quotes the full number.
        Reply::Error {
            status: 400,
            code: 21211,
        },
        Reply::ServerError,
        Reply::Created,
        Reply::LineType(serde_json::json!({"type": "mobile", "error_code": null})),
    ])
    .await;
    let twilio = client(config(&standin));
    let sms = prepared(CodeChannel::Sms, &templates(), 40);
    let refused = prepared(CodeChannel::Sms, &templates(), 41);
    let call = prepared(CodeChannel::VoiceCall, &templates(), 42);

    let capture = Capture::start();
    twilio.send_sms(sms_of(&sms)).await.unwrap();
    twilio.send_sms(sms_of(&refused)).await.unwrap_err();
    twilio.place_call(voice_of(&call)).await.unwrap();
    twilio.line_type(&uk_mobile()).await.unwrap();
    standin.assert_requests(5);

    let events = capture.events();
    let ours: Vec<&Captured> = events
        .iter()
        .filter(|e| e.target == "twofa_twilio")
        .collect();
    let printed: Vec<String> = events.iter().map(ToString::to_string).collect();
    let mut forbidden = vec![
        UK_MOBILE.to_owned(),
        UK_MOBILE.trim_start_matches('+').to_owned(),
        "7400123456".to_owned(),
        TOKEN.to_owned(),
    ];
    for prepared in [&sms, &refused, &call] {
        let code = prepared.code().expose_secret();
        forbidden.push(code.to_owned());
        forbidden.push(
            code.chars()
                .map(String::from)
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    forbidden.push(sms_of(&sms).body.expose_secret().to_owned());
    forbidden.push("is not a valid phone number".to_owned());
    for line in &printed {
        for needle in &forbidden {
            assert!(
                !line.contains(needle.as_str()),
                "{needle:?} leaked in: {line}"
            );
        }
    }

    // One event per attempt: accepted SMS, refused SMS, failed then
    // accepted call, lookup (with its line type).
    let attempts: Vec<&&Captured> = ours
        .iter()
        .filter(|e| e.field("attempt").is_some())
        .collect();
    assert_eq!(attempts.len(), 5, "{printed:#?}");
    let masked = uk_mobile().masked();
    for event in &attempts {
        assert_eq!(event.field("to"), Some(masked.as_str()));
        assert!(event.field("latency_ms").is_some());
    }

    let accepted = attempts[0];
    assert_eq!(accepted.level, Level::DEBUG);
    assert_eq!(accepted.field("channel"), Some("sms"));
    assert_eq!(accepted.field("http_status"), Some("201"));
    assert_eq!(
        accepted.field("provider_sid"),
        Some(format!("SM{}", "5e".repeat(16)).as_str())
    );

    let refused = attempts[1];
    assert_eq!(refused.level, Level::WARN);
    assert_eq!(refused.field("provider_code"), Some("21211"));
    assert_eq!(refused.field("http_status"), Some("400"));
    assert_eq!(refused.field("retrying"), Some("false"));

    let (failed, retried) = (attempts[2], attempts[3]);
    assert_eq!(failed.level, Level::WARN);
    assert_eq!(failed.field("channel"), Some("voice"));
    assert_eq!(failed.field("provider_code"), Some("20500"));
    assert_eq!(failed.field("retrying"), Some("true"));
    assert_eq!(retried.level, Level::DEBUG);
    assert_eq!(retried.field("attempt"), Some("2"));
    assert_eq!(
        retried.field("provider_sid"),
        Some(format!("CA{}", "5e".repeat(16)).as_str())
    );

    assert_eq!(attempts[4].field("channel"), Some("lookup"));
    assert!(
        ours.iter()
            .any(|e| e.field("line_type") == Some("Ok(Mobile)")),
        "{printed:#?}"
    );
}

#[test]
fn configuration_debug_shows_no_secret() {
    let config = TwilioConfig::new(
        AccountSid::new(ACCOUNT).unwrap(),
        Credentials::AuthToken(AuthToken::new(TOKEN).unwrap()),
        TwilioSender::number(SENDER).unwrap(),
    );
    let printed = format!("{config:?}");
    assert!(!printed.contains(TOKEN), "{printed}");
    assert!(printed.contains("AuthToken([REDACTED])"));
    assert!(printed.contains(ACCOUNT), "SIDs are not secret");
    assert!(!printed.contains("5017122661"), "the sender prints masked");
}
