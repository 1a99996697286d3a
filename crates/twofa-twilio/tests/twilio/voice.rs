//! Voice calls: the Calls API with inline TwiML reading the script twice.

use twofa_delivery::{FailureCause, SendError, Template, VoiceCaller};
use twofa_twilio::VoiceLanguage;

use super::*;

#[tokio::test]
async fn a_call_reads_the_spaced_digits_twice_in_the_configured_language() {
    let standin = standin(vec![Reply::Created]).await;
    let config = config(&standin).with_voice_language(VoiceLanguage::new("en-GB").unwrap());
    let twilio = client(config);
    let prepared = prepared(CodeChannel::VoiceCall, &templates(), 20);
    let call = voice_of(&prepared);

    assert_eq!(twilio.place_call(call).await, Ok(()));

    let seen = standin.assert_requests(1);
    let request = &seen[0];
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{ACCOUNT}/Calls.json")
    );
    assert_eq!(request.names(), ["To", "From", "Twiml", "StatusCallback"]);
    assert_eq!(request.field("To"), Some(UK_MOBILE));
    assert_eq!(request.field("From"), Some(SENDER));
    assert_eq!(
        request.field("StatusCallback"),
        Some(format!("{CALLBACK}?challenge={}&user={}", call.challenge, call.user).as_str())
    );
    let twiml = request.field("Twiml").unwrap();
    assert!(
        twiml.starts_with(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-GB">"#
        )
    );
    assert!(twiml.ends_with("</Say></Response>"));
    assert_eq!(twiml.matches(r#"<Say language="en-GB">"#).count(), 2);
    assert_eq!(twiml.matches(r#"<Pause length="1"/>"#).count(), 1);
    // The default script says the code twice; the call reads it twice.
    let code = prepared.code().expose_secret();
    let spaced = code
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(twiml.matches(&spaced).count(), 4, "{spaced}");
    assert!(!twiml.contains(code), "the digits are never run together");
}

#[tokio::test]
async fn markup_from_templates_is_escaped_in_the_twiml() {
    let standin = standin(vec![Reply::Created]).await;
    let twilio = client(config(&standin));
    let templates = MessageTemplates::new(Issuer::new("R&D <Ops>").unwrap())
        .with_voice(Template::new(r#"{issuer} says "it's {code}" </Say><Hangup/>"#).unwrap())
        .unwrap();
    let prepared = prepared(CodeChannel::VoiceCall, &templates, 21);

    assert_eq!(twilio.place_call(voice_of(&prepared)).await, Ok(()));

    let seen = standin.assert_requests(1);
    let twiml = seen[0].field("Twiml").unwrap();
    assert_eq!(
        twiml
            .matches("R&amp;D &lt;Ops&gt; says &quot;it&apos;s ")
            .count(),
        2,
        "{twiml}"
    );
    assert!(twiml.contains("&lt;/Say&gt;&lt;Hangup/&gt;"));
    assert!(!twiml.contains("<Hangup"));
    assert_eq!(twiml.matches("</Say>").count(), 2);
}

#[tokio::test]
async fn calls_need_a_caller_id_when_texts_go_through_a_messaging_service() {
    let standin = standin(vec![Reply::Created]).await;
    let with_service = |config: TwilioConfig| {
        TwilioConfig::new(
            AccountSid::new(ACCOUNT).unwrap(),
            Credentials::AuthToken(AuthToken::new(TOKEN).unwrap()),
            TwilioSender::messaging_service("MG00112233445566778899aabbccddeeff").unwrap(),
        )
        .with_api_base_url(&standin.base_url)
        .unwrap()
        .with_retry(*config.retry())
    };
    let prepared = prepared(CodeChannel::VoiceCall, &templates(), 22);

    let without = client(with_service(config(&standin)));
    assert_eq!(
        without.place_call(voice_of(&prepared)).await,
        Err(SendError::Permanent(FailureCause::NotConfigured))
    );

    let caller_id = PhoneNumber::from_e164("+14155552671").unwrap();
    let with = client(with_service(config(&standin)).with_voice_caller_id(caller_id));
    assert_eq!(with.place_call(voice_of(&prepared)).await, Ok(()));

    let seen = standin.assert_requests(1);
    assert_eq!(seen[0].field("From"), Some("+14155552671"));
    assert_eq!(seen[0].field("StatusCallback"), None);
}

#[tokio::test]
async fn an_invalid_number_for_a_call_is_unreachable() {
    let standin = standin(vec![Reply::Error {
        status: 400,
        code: 21217,
    }])
    .await;
    let twilio = client(config(&standin));
    let prepared = prepared(CodeChannel::VoiceCall, &templates(), 23);
    assert_eq!(
        twilio.place_call(voice_of(&prepared)).await,
        Err(SendError::Permanent(FailureCause::Unreachable))
    );
    standin.assert_requests(1);
}

#[tokio::test]
async fn a_script_too_long_for_inline_twiml_is_refused_before_any_request() {
    // Twilio refuses a `Twiml` parameter over 4000 characters; read twice,
    // a 2000-character script is over.
    let standin = standin(vec![]).await;
    let twilio = client(config(&standin));
    let long = format!("{} {{code}}", "Listen carefully. ".repeat(111));
    let templates = templates()
        .with_voice(Template::new(&long).unwrap())
        .unwrap();
    let prepared = prepared(CodeChannel::VoiceCall, &templates, 24);
    assert_eq!(
        twilio.place_call(voice_of(&prepared)).await,
        Err(SendError::Permanent(FailureCause::Rejected))
    );
    standin.assert_requests(0);
}
