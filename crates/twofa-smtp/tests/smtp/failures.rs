//! Failed sends: refused recipients, servers that say "later", servers that
//! never answer or are not there, guards before the server, and the
//! runtime the transport needs.

use core::future::Future;
use std::time::Duration;

use super::*;

#[tokio::test]
async fn a_refused_mailbox_is_permanent_and_the_log_does_not_quote_the_server() {
    let (capture, _guard) = Capture::install();
    let server = SmtpServer::start(&ServerOptions::plain().with_reply("nobody@example.com", 550));
    let mailer = mailer(config(server.port(), Tls::None));
    let (message, code) = code_email("nobody@example.com", 30);

    assert_eq!(
        mailer.send_email(&message).await,
        Err(SendError::Permanent(FailureCause::Unreachable))
    );
    assert!(server.messages().is_empty());

    let events = capture.ours();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.level, tracing::Level::WARN);
    assert_eq!(event.field("to"), Some("n•••@example.com"));
    assert_eq!(event.field("smtp_code"), Some("550"));
    assert_eq!(event.field("reason"), Some("reply"));
    assert_eq!(
        event.field("error"),
        Some("permanent send failure: destination unreachable on this channel")
    );
    // The server's reply quotes the address; the event does not.
    capture.assert_clean(&["nobody@", "mailbox unavailable", &code]);

    // The pool dropped the failed connection's state: the next message
    // to a good mailbox goes through.
    let (message, _) = code_email(RECIPIENT, 31);
    mailer.send_email(&message).await.unwrap();
    assert_eq!(server.only_message().rcpt_tos(), [RECIPIENT]);
}

#[tokio::test]
async fn reply_codes_decide_transient_or_permanent() {
    let cases = [
        (
            "busy@example.com",
            451,
            SendError::Transient(FailureCause::Throttled),
        ),
        (
            "greylist@example.com",
            450,
            SendError::Transient(FailureCause::Throttled),
        ),
        (
            "full@example.com",
            452,
            SendError::Transient(FailureCause::Throttled),
        ),
        (
            "closing@example.com",
            421,
            SendError::Transient(FailureCause::Throttled),
        ),
        (
            "moved@example.com",
            551,
            SendError::Permanent(FailureCause::Unreachable),
        ),
        (
            "bad-name@example.com",
            553,
            SendError::Permanent(FailureCause::Unreachable),
        ),
        (
            "too-big@example.com",
            552,
            SendError::Permanent(FailureCause::Rejected),
        ),
        (
            "policy@example.com",
            554,
            SendError::Permanent(FailureCause::Rejected),
        ),
    ];
    let mut options = ServerOptions::plain();
    for (address, code, _) in cases {
        options = options.with_reply(address, code);
    }
    let server = SmtpServer::start(&options);
    let mailer = mailer(config(server.port(), Tls::None));
    for (seed, (address, code, expected)) in (40..).zip(cases) {
        let (message, _) = code_email(address, seed);
        assert_eq!(
            mailer.send_email(&message).await,
            Err(expected),
            "{code} for {address}"
        );
    }
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_as_transient() {
    let (capture, _guard) = Capture::install();
    let silent = SilentServer::start();
    let mailer = mailer(
        config(silent.port(), Tls::None)
            .with_timeout(Duration::from_millis(300))
            .unwrap(),
    );
    let (message, code) = code_email(RECIPIENT, 50);

    assert_eq!(
        mailer.send_email(&message).await,
        Err(SendError::Transient(FailureCause::ProviderUnavailable))
    );
    // The pool of the timed-out send is dropped; the next send opens a
    // new connection and times out the same way.
    assert_eq!(
        mailer.send_email(&message).await,
        Err(SendError::Transient(FailureCause::ProviderUnavailable))
    );
    silent.wait_for_connections(2);
    assert_eq!(
        silent.connections(),
        2,
        "the timed-out connection was not reused"
    );

    let events = capture.ours();
    assert_eq!(events.len(), 2);
    for event in &events {
        assert_eq!(event.field("reason"), Some("timeout"));
        assert_eq!(event.field("smtp_code"), None);
    }
    capture.assert_clean(&[RECIPIENT, &code]);
}

#[tokio::test]
async fn a_connection_left_mid_message_is_never_used_again() {
    let server = SmtpServer::start(&ServerOptions::plain().with_stall("stuck@example.com"));
    let mailer = mailer(
        config(server.port(), Tls::None)
            .with_timeout(Duration::from_secs(2))
            .unwrap(),
    );
    let (stuck, _) = code_email("stuck@example.com", 52);
    assert_eq!(
        mailer.send_email(&stuck).await,
        Err(SendError::Transient(FailureCause::ProviderUnavailable))
    );
    // Let lettre's pool take the abandoned connection back, as it does in
    // a task of its own.
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    // That connection still waits for the server's answer to the message.
    // Handed out again, it would read that answer as the reply to the next
    // command, or wait for ever: the next send opens another.
    let (message, _) = code_email(RECIPIENT, 53);
    mailer.send_email(&message).await.unwrap();
    let received = server.only_message();
    assert_eq!(received.rcpt_tos(), [RECIPIENT]);
    assert_eq!(received.connection(), 2);
}

#[tokio::test]
async fn a_server_that_is_not_there_is_transient() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mailer = mailer(config(port, Tls::None));
    let (message, _) = code_email(RECIPIENT, 51);
    assert_eq!(
        mailer.send_email(&message).await,
        Err(SendError::Transient(FailureCause::ProviderUnavailable))
    );
}

#[tokio::test]
async fn a_subject_with_six_digits_in_a_row_is_never_sent() {
    let (capture, _guard) = Capture::install();
    let server = SmtpServer::start(&ServerOptions::plain());
    let mailer = mailer(config(server.port(), Tls::None));
    // An issuer name is the one value a subject template may bring
    // digits with.
    let digits = MessageTemplates::new(Issuer::new("Portal 123456").unwrap());
    let request = ChallengeRequest::new(
        UserId::new("user-1").unwrap(),
        Purpose::Enrollment,
        Destination::Email(EmailAddress::parse(RECIPIENT).unwrap()),
        CodeChannel::Email,
    );
    let prepared = OobChallenge::issue(
        request,
        &ChallengePolicy::default(),
        &digits,
        &ServerKey::from_bytes(&[7u8; 32]).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
        &mut StdRng::seed_from_u64(60),
    )
    .unwrap();
    let OutboundMessage::Email(message) = prepared.message() else {
        panic!("email expected");
    };

    assert_eq!(
        mailer.send_email(message).await,
        Err(SendError::Permanent(FailureCause::Rejected))
    );
    assert!(server.messages().is_empty());
    assert_eq!(capture.ours()[0].field("reason"), Some("digits_in_subject"));

    // Five digits pass.
    let five = MessageTemplates::new(Issuer::new("Portal 12345").unwrap());
    let request = ChallengeRequest::new(
        UserId::new("user-1").unwrap(),
        Purpose::Enrollment,
        Destination::Email(EmailAddress::parse(RECIPIENT).unwrap()),
        CodeChannel::Email,
    );
    let prepared = OobChallenge::issue(
        request,
        &ChallengePolicy::default(),
        &five,
        &ServerKey::from_bytes(&[7u8; 32]).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
        &mut StdRng::seed_from_u64(61),
    )
    .unwrap();
    let OutboundMessage::Email(message) = prepared.message() else {
        panic!("email expected");
    };
    mailer.send_email(message).await.unwrap();
    assert_eq!(
        server.only_message().header("subject"),
        "Your Portal 12345 verification code"
    );
}

/// Polls a future to completion on this thread, outside any Tokio runtime.
fn block_on_without_runtime<F: Future>(future: F) -> F::Output {
    let mut future = core::pin::pin!(future);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    loop {
        if let core::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn outside_a_tokio_runtime_a_send_fails_without_a_panic() {
    let mailer = mailer(config(2525, Tls::None));
    let (message, _) = code_email(RECIPIENT, 70);
    assert_eq!(
        block_on_without_runtime(mailer.send_email(&message)),
        Err(SendError::Permanent(FailureCause::NotConfigured))
    );
}

#[test]
fn a_mailer_outlives_its_runtime_without_a_panic() {
    let server = SmtpServer::start(&ServerOptions::plain());
    let mailer = mailer(config(server.port(), Tls::None));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (message, _) = code_email(RECIPIENT, 71);
    runtime.block_on(mailer.send_email(&message)).unwrap();
    assert_eq!(server.messages().len(), 1);
    drop(runtime);
    // The pool, with a connection parked in it, is dropped here, outside
    // any runtime.
    drop(mailer);
}
