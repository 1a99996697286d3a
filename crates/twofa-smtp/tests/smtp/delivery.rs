//! What arrives at the server: envelope, headers, both parts, the code in
//! the body and nowhere else; notices; the pool; the log events.

use super::*;

#[tokio::test]
async fn a_code_email_arrives_with_its_headers_and_both_parts() {
    let (capture, _guard) = Capture::install();
    let server = SmtpServer::start(&ServerOptions::plain());
    let mailer = mailer(config(server.port(), Tls::None));
    let (message, code) = code_email(RECIPIENT, 1);

    mailer.send_email(&message).await.unwrap();

    let received = server.only_message();
    assert_eq!(received.mail_from(), "no-reply@portal.example.com");
    assert_eq!(received.rcpt_tos(), [RECIPIENT]);
    assert!(!received.tls());
    assert_eq!(
        received.header("from"),
        "Example Portal <no-reply@portal.example.com>"
    );
    assert_eq!(received.header("to"), RECIPIENT);
    assert_eq!(
        received.header("subject"),
        "Your Example Portal verification code"
    );
    assert!(!received.header("subject").contains(&code));
    let message_id = received.header("message-id");
    assert!(message_id.starts_with('<'), "{message_id}");
    assert!(message_id.ends_with("@portal.example.com>"), "{message_id}");
    let date = received.header("date");
    assert!(chrono::DateTime::parse_from_rfc2822(date).is_ok(), "{date}");
    assert_eq!(received.header("auto-submitted"), "auto-generated");
    assert_eq!(received.content_type(), "multipart/alternative");
    assert_eq!(received.part_types(), ["text/plain", "text/html"]);

    let text = received.part("text/plain");
    assert!(text.starts_with("Hello,\n"), "{text}");
    assert!(
        text.contains(&format!(
            "Your Example Portal verification code is: {code}\n"
        )),
        "{text}"
    );
    let html = received.part("text/html");
    assert!(
        html.contains(&format!(
            "<p>Your Example Portal verification code is: {code}</p>"
        )),
        "{html}"
    );
    assert!(html.contains("<p>Hello,</p>"), "{html}");
    assert!(!html.contains("http"), "no remote content: {html}");
    assert!(!html.contains("src="), "no remote content: {html}");
    // Only the two parts carry the code: no header does.
    let headers = received.raw().split("\r\n\r\n").next().unwrap();
    assert!(!headers.contains(&code), "{headers}");

    capture.assert_clean(&[RECIPIENT, "jane.doe", &code]);
}

#[tokio::test]
async fn every_message_gets_its_own_message_id_and_the_pool_reuses_the_connection() {
    let server = SmtpServer::start(&ServerOptions::plain());
    let mailer = mailer(
        config(server.port(), Tls::None)
            .with_message_id_domain("mail.portal.example.com")
            .unwrap(),
    );
    for seed in 0..3 {
        let (message, _) = code_email(RECIPIENT, seed);
        mailer.send_email(&message).await.unwrap();
        // lettre returns a connection to its pool in a task of its own:
        // let that task run before the next send.
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
    }
    let received = server.messages();
    assert_eq!(received.len(), 3);
    let ids: std::collections::BTreeSet<&str> =
        received.iter().map(|m| m.header("message-id")).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(
        ids.iter()
            .all(|id| id.ends_with("@mail.portal.example.com>"))
    );
    let connections: Vec<u64> = received.iter().map(|m| m.connection()).collect();
    assert_eq!(connections, [1, 1, 1], "one pooled connection");
}

#[tokio::test]
async fn an_email_notice_arrives_and_a_text_message_notice_is_not_served() {
    let (capture, _guard) = Capture::install();
    let server = SmtpServer::start(&ServerOptions::plain());
    let mailer = mailer(config(server.port(), Tls::None));

    let notice = email_notice(RECIPIENT, Notice::NumberChanged);
    mailer.send_notice(&notice).await.unwrap();
    let received = server.only_message();
    assert_eq!(received.rcpt_tos(), [RECIPIENT]);
    let NoticeMessage::Email(expected) = &notice else {
        panic!("email notice expected");
    };
    assert_eq!(received.header("subject"), expected.subject);
    assert_eq!(received.part("text/plain"), expected.body);
    assert!(
        received
            .part("text/html")
            .contains("To review your account, sign in at portal.example.com.")
    );
    let events = capture.ours();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].field("kind"), Some("notice"));
    assert_eq!(events[0].field("notice"), Some("NumberChanged"));

    let phone = twofa_delivery::PhoneNumber::from_e164("+447400123456").unwrap();
    let sms = templates().render_notice(Notice::NumberChanged, &Destination::Phone(phone));
    assert_eq!(
        mailer.send_notice(&sms).await,
        Err(SendError::Permanent(FailureCause::NotConfigured))
    );
    assert_eq!(server.messages().len(), 1, "nothing more was sent");
    capture.assert_clean(&[RECIPIENT, "jane.doe", "7400123456"]);
}

#[tokio::test]
async fn a_send_logs_one_event_with_the_masked_recipient_and_the_reply_code() {
    let (capture, _guard) = Capture::install();
    let server = SmtpServer::start(&ServerOptions::plain());
    let mailer = mailer(config(server.port(), Tls::None));
    let (message, code) = code_email(RECIPIENT, 2);

    mailer.send_email(&message).await.unwrap();

    let events = capture.ours();
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.level, tracing::Level::DEBUG);
    assert_eq!(event.field("channel"), Some("email"));
    assert_eq!(event.field("kind"), Some("code"));
    assert_eq!(event.field("to"), Some("j•••@example.com"));
    assert_eq!(event.field("smtp_code"), Some("250"));
    assert!(
        event
            .field("latency_ms")
            .is_some_and(|ms| ms.parse::<u64>().is_ok())
    );
    assert_eq!(event.field("notice"), None);
    capture.assert_clean(&[RECIPIENT, "jane.doe", &code, "verification code"]);
}

#[tokio::test]
async fn non_ascii_names_and_texts_arrive_intact() {
    let server = SmtpServer::start(&ServerOptions::plain());
    let config = SmtpConfig::new(
        "127.0.0.1",
        Tls::None,
        SmtpSender::new("Portail Été", "no-reply@portal.example.com").unwrap(),
    )
    .unwrap()
    .with_port(server.port())
    .unwrap();
    let templates = MessageTemplates::new(Issuer::new("Société Générale d'Exemple").unwrap());
    let notice = templates.render_notice(
        Notice::MethodAdded,
        &Destination::Email(EmailAddress::parse(RECIPIENT).unwrap()),
    );
    let NoticeMessage::Email(expected) = &notice else {
        panic!("email notice expected");
    };
    mailer(config).send_notice(&notice).await.unwrap();

    let received = server.only_message();
    assert_eq!(
        received.header("from"),
        "Portail Été <no-reply@portal.example.com>"
    );
    assert_eq!(received.header("subject"), expected.subject);
    assert!(expected.subject.contains("Société Générale d'Exemple"));
    assert_eq!(received.part("text/plain"), expected.body);
    assert!(
        received
            .part("text/html")
            .contains("Société Générale d&#39;Exemple")
    );
    // Encoded for transport: the message itself is 7-bit.
    assert!(received.raw().is_ascii());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_share_one_mailer() {
    let server = SmtpServer::start(&ServerOptions::plain());
    let mailer = std::sync::Arc::new(mailer(config(server.port(), Tls::None)));
    let mut tasks = Vec::new();
    for seed in 100..108 {
        let mailer = std::sync::Arc::clone(&mailer);
        let (message, _) = code_email(&format!("user{seed}@example.com"), seed);
        tasks.push(tokio::spawn(
            async move { mailer.send_email(&message).await },
        ));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let mut recipients: Vec<String> = server
        .messages()
        .iter()
        .map(|m| m.rcpt_tos()[0].to_owned())
        .collect();
    recipients.sort();
    let expected: Vec<String> = (100..108)
        .map(|seed| format!("user{seed}@example.com"))
        .collect();
    assert_eq!(recipients, expected);
}

#[test]
fn the_public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<SmtpMailer>();
    send_sync::<SmtpConfig>();
    send_sync::<SmtpSender>();
    send_sync::<SmtpCredentials>();
    send_sync::<twofa_smtp::SmtpConfigError>();
}
