//! Text messages: the request Twilio documents, its error codes, and the
//! retry rule (retried when safe, never sent twice once accepted or
//! possibly accepted).

use axum::http::Method;
use twofa_delivery::{
    Destination, EmailAddress, FailureCause, Notice, NoticeSender, SendError, SmsSender,
};
use twofa_twilio::{ApiKeySecret, ApiKeySid};

use super::*;

#[tokio::test]
async fn a_code_is_posted_to_the_messages_api_as_documented() {
    let standin = standin(vec![Reply::Created]).await;
    let twilio = client(config(&standin));
    let prepared = prepared(CodeChannel::Sms, &templates(), 1);
    let sms = sms_of(&prepared);

    assert_eq!(twilio.send_sms(sms).await, Ok(()));

    let seen = standin.assert_requests(1);
    let request = &seen[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    );
    assert_eq!(request.names(), ["To", "From", "Body", "StatusCallback"]);
    assert_eq!(request.field("To"), Some(UK_MOBILE));
    assert_eq!(request.field("From"), Some(SENDER));
    assert_eq!(request.field("Body"), Some(sms.body.expose_secret()));
    assert!(
        sms.body
            .expose_secret()
            .contains(prepared.code().expose_secret())
    );
    assert_eq!(
        request.field("StatusCallback"),
        Some(format!("{CALLBACK}?challenge={}&user={}", sms.challenge, sms.user).as_str())
    );
}

#[tokio::test]
async fn a_messaging_service_and_an_api_key_are_used_when_configured() {
    let key_sid = "SKfedcba9876543210fedcba9876543210";
    let key_secret = "k3ysecretk3ysecretk3ysecretk3ys3";
    let standin = StandIn::start(ACCOUNT, key_sid, key_secret, vec![Reply::Created]).await;
    let service = "MG00112233445566778899aabbccddeeff";
    let base = config(&standin);
    let config = TwilioConfig::new(
        AccountSid::new(ACCOUNT).unwrap(),
        Credentials::ApiKey {
            sid: ApiKeySid::new(key_sid).unwrap(),
            secret: ApiKeySecret::new(key_secret).unwrap(),
        },
        TwilioSender::messaging_service(service).unwrap(),
    )
    .with_api_base_url(&standin.base_url)
    .unwrap()
    .with_retry(*base.retry());
    let twilio = client(config);
    let prepared = prepared(CodeChannel::Sms, &templates(), 2);

    assert_eq!(twilio.send_sms(sms_of(&prepared)).await, Ok(()));

    let seen = standin.assert_requests(1);
    assert_eq!(seen[0].names(), ["To", "MessagingServiceSid", "Body"]);
    assert_eq!(seen[0].field("MessagingServiceSid"), Some(service));
    assert_eq!(seen[0].field("From"), None);
}

#[tokio::test]
async fn twilio_error_codes_become_send_errors_without_a_retry() {
    use FailureCause::*;
    for (status, code, expected) in [
        (400, 21211, SendError::Permanent(Unreachable)),
        (400, 21610, SendError::Permanent(Rejected)),
        (400, 21614, SendError::Permanent(Unreachable)),
        (401, 20003, SendError::Permanent(NotConfigured)),
    ] {
        let standin = standin(vec![Reply::Error { status, code }]).await;
        let twilio = client(config(&standin));
        let prepared = prepared(CodeChannel::Sms, &templates(), 3);
        assert_eq!(
            twilio.send_sms(sms_of(&prepared)).await,
            Err(expected),
            "{code}"
        );
        standin.assert_requests(1);
    }
}

#[tokio::test]
async fn a_throttled_request_is_retried_after_its_retry_after() {
    let standin = standin(vec![Reply::Throttled { retry_after: "0" }, Reply::Created]).await;
    let twilio = client(config(&standin));
    let prepared = prepared(CodeChannel::Sms, &templates(), 4);

    assert_eq!(twilio.send_sms(sms_of(&prepared)).await, Ok(()));

    let seen = standin.assert_requests(2);
    assert_eq!(seen[0].form, seen[1].form, "the same message, sent again");
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_reported_at_once() {
    // The configured cap is 1 s; Twilio asks for 30.
    let standin = standin(vec![Reply::Throttled { retry_after: "30" }]).await;
    let twilio = client(config(&standin));
    let prepared = prepared(CodeChannel::Sms, &templates(), 5);

    assert_eq!(
        twilio.send_sms(sms_of(&prepared)).await,
        Err(SendError::Transient(FailureCause::Throttled))
    );
    standin.assert_requests(1);
}

#[tokio::test]
async fn throttling_that_persists_stops_at_the_attempt_limit() {
    let throttled = Reply::Throttled { retry_after: "0" };
    let standin = standin(vec![throttled.clone(), throttled.clone(), throttled]).await;
    let twilio = client(config(&standin));
    let prepared = prepared(CodeChannel::Sms, &templates(), 6);

    assert_eq!(
        twilio.send_sms(sms_of(&prepared)).await,
        Err(SendError::Transient(FailureCause::Throttled))
    );
    standin.assert_requests(3);
}

#[tokio::test]
async fn a_server_error_is_retried_once_then_the_message_is_accepted() {
    let standin = standin(vec![Reply::ServerError, Reply::Created]).await;
    let twilio = client(config(&standin));
    let prepared = prepared(CodeChannel::Sms, &templates(), 7);

    assert_eq!(twilio.send_sms(sms_of(&prepared)).await, Ok(()));

    let seen = standin.assert_requests(2);
    assert_eq!(seen[0].form, seen[1].form);
}

#[tokio::test]
async fn a_message_whose_request_timed_out_is_not_sent_again() {
    let standin = standin(vec![Reply::Hang]).await;
    let timeout = Duration::from_millis(300);
    let twilio = client(config(&standin).with_timeouts(timeout, timeout).unwrap());
    let prepared = prepared(CodeChannel::Sms, &templates(), 8);

    assert_eq!(
        twilio.send_sms(sms_of(&prepared)).await,
        Err(SendError::Transient(FailureCause::ProviderUnavailable))
    );
    // Twilio may have accepted it: a second request could deliver the code
    // twice.
    standin.assert_requests(1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_and_reported_unavailable() {
    // A port nobody listens on any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let stand_in_for_config = standin(vec![]).await;
    let config = config(&stand_in_for_config)
        .with_api_base_url(&closed)
        .unwrap();
    let twilio = client(config);
    let prepared = prepared(CodeChannel::Sms, &templates(), 9);

    let capture = capture::Capture::start();
    let result = twilio.send_sms(sms_of(&prepared)).await;

    assert_eq!(
        result,
        Err(SendError::Transient(FailureCause::ProviderUnavailable))
    );
    let attempts: Vec<_> = capture
        .events()
        .into_iter()
        .filter(|event| event.target == "twofa_twilio")
        .collect();
    assert_eq!(attempts.len(), 3, "{attempts:#?}");
    for (index, event) in attempts.iter().enumerate() {
        assert_eq!(event.field("outcome"), Some("not_sent"));
        assert_eq!(
            event.field("attempt"),
            Some((index + 1).to_string().as_str())
        );
        assert_eq!(
            event.field("retrying"),
            Some(if index < 2 { "true" } else { "false" })
        );
    }
    stand_in_for_config.assert_requests(0);
}

#[tokio::test]
async fn text_notices_go_without_a_callback_and_email_notices_are_not_served() {
    let standin = standin(vec![Reply::Created]).await;
    let twilio = client(config(&standin));
    let templates = templates();

    let text = templates.render_notice(Notice::NumberChanged, &Destination::Phone(uk_mobile()));
    assert_eq!(twilio.send_notice(&text).await, Ok(()));

    let email = EmailAddress::parse("jo@example.com").unwrap();
    let mail = templates.render_notice(Notice::NumberChanged, &Destination::Email(email));
    assert_eq!(
        twilio.send_notice(&mail).await,
        Err(SendError::Permanent(FailureCause::NotConfigured))
    );

    let seen = standin.assert_requests(1);
    assert_eq!(seen[0].names(), ["To", "From", "Body"]);
    let twofa_delivery::NoticeMessage::Sms(notice) = &text else {
        panic!("text notice expected");
    };
    assert_eq!(seen[0].field("Body"), Some(notice.text.as_str()));
    assert_eq!(seen[0].field("To"), Some(UK_MOBILE));
}
