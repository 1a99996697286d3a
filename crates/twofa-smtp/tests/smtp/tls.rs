//! STARTTLS and implicit TLS against a certificate from a test authority,
//! and SMTP AUTH over them.

use super::*;

#[tokio::test]
async fn starttls_encrypts_before_the_message() {
    let server = SmtpServer::start(&ServerOptions::tls(ServerTls::StartTls));
    let mailer = mailer(tls_config(server.port(), Tls::StartTls));
    let (message, code) = code_email(RECIPIENT, 10);

    mailer.send_email(&message).await.unwrap();

    let received = server.only_message();
    assert!(received.tls(), "the message travelled encrypted");
    assert_eq!(received.rcpt_tos(), [RECIPIENT]);
    assert!(received.part("text/plain").contains(&code));
}

#[tokio::test]
async fn implicit_tls_encrypts_from_the_first_byte() {
    let server = SmtpServer::start(&ServerOptions::tls(ServerTls::Implicit));
    let mailer = mailer(tls_config(server.port(), Tls::Implicit));
    let (message, code) = code_email(RECIPIENT, 11);

    mailer.send_email(&message).await.unwrap();

    let received = server.only_message();
    assert!(received.tls());
    assert!(received.part("text/html").contains(&code));
}

#[tokio::test]
async fn a_certificate_from_another_authority_is_refused_before_anything_is_sent() {
    let (capture, _guard) = Capture::install();
    for (tls, server_tls) in [
        (Tls::StartTls, ServerTls::StartTls),
        (Tls::Implicit, ServerTls::Implicit),
    ] {
        let server = SmtpServer::start(&ServerOptions::tls(server_tls));
        let mailer = mailer(
            config(server.port(), tls)
                .with_root_certificate(pki().other_ca_pem.as_bytes())
                .unwrap(),
        );
        let (message, _) = code_email(RECIPIENT, 12);
        assert_eq!(
            mailer.send_email(&message).await,
            Err(SendError::Permanent(FailureCause::NotConfigured)),
            "{tls:?}"
        );
        assert!(server.messages().is_empty());
    }
    // Without the test authority, the built-in Mozilla roots do not trust
    // the test certificate either.
    let server = SmtpServer::start(&ServerOptions::tls(ServerTls::Implicit));
    let mailer = mailer(config(server.port(), Tls::Implicit));
    let (message, _) = code_email(RECIPIENT, 13);
    assert_eq!(
        mailer.send_email(&message).await,
        Err(SendError::Permanent(FailureCause::NotConfigured))
    );
    let events = capture.ours();
    assert_eq!(events.len(), 3);
    assert!(
        events
            .iter()
            .all(|event| event.field("reason") == Some("tls"))
    );
}

#[tokio::test]
async fn the_certificate_must_name_the_host_connected_to() {
    // Signed by the trusted authority, but for mail.example.org only.
    let server =
        SmtpServer::start(&ServerOptions::tls(ServerTls::Implicit).with_misnamed_certificate());
    let (message, _) = code_email(RECIPIENT, 14);
    assert_eq!(
        mailer(tls_config(server.port(), Tls::Implicit))
            .send_email(&message)
            .await,
        Err(SendError::Permanent(FailureCause::NotConfigured))
    );
    assert!(server.messages().is_empty());

    // The right certificate, reached by the other name it holds.
    let server = SmtpServer::start(&ServerOptions::tls(ServerTls::Implicit));
    let localhost = SmtpConfig::new("localhost", Tls::Implicit, sender())
        .unwrap()
        .with_port(server.port())
        .unwrap()
        .with_root_certificate(pki().ca_pem.as_bytes())
        .unwrap();
    mailer(localhost).send_email(&message).await.unwrap();
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn starttls_is_required_not_opportunistic() {
    let (capture, _guard) = Capture::install();
    // A server that does not offer STARTTLS gets nothing, not even the
    // envelope.
    let server = SmtpServer::start(&ServerOptions::plain());
    let mailer = mailer(tls_config(server.port(), Tls::StartTls));
    let (message, _) = code_email(RECIPIENT, 16);
    assert_eq!(
        mailer.send_email(&message).await,
        Err(SendError::Permanent(FailureCause::NotConfigured))
    );
    assert!(server.messages().is_empty());
    assert_eq!(
        capture.ours()[0].field("reason"),
        Some("server_capabilities")
    );
}

#[tokio::test]
async fn authentication_signs_in_with_the_credentials() {
    let server =
        SmtpServer::start(&ServerOptions::tls(ServerTls::StartTls).with_auth("portal", "s3cret"));
    let config = tls_config(server.port(), Tls::StartTls)
        .with_credentials(SmtpCredentials::new("portal", "s3cret").unwrap())
        .unwrap();
    let mailer = mailer(config);
    let (message, _) = code_email(RECIPIENT, 20);

    mailer.send_email(&message).await.unwrap();

    let received = server.only_message();
    assert_eq!(received.auth_user(), Some("portal"));
    assert!(received.tls());
}

#[tokio::test]
async fn authentication_over_implicit_tls() {
    let server =
        SmtpServer::start(&ServerOptions::tls(ServerTls::Implicit).with_auth("portal", "s3cret"));
    let url = format!("smtps://portal:s3cret@127.0.0.1:{}", server.port());
    let config = SmtpConfig::from_url(&url, sender())
        .unwrap()
        .with_root_certificate(pki().ca_pem.as_bytes())
        .unwrap();
    let (message, _) = code_email(RECIPIENT, 21);

    mailer(config).send_email(&message).await.unwrap();

    assert_eq!(server.only_message().auth_user(), Some("portal"));
}

#[tokio::test]
async fn a_wrong_password_or_none_is_a_configuration_error() {
    let (capture, _guard) = Capture::install();
    let server =
        SmtpServer::start(&ServerOptions::tls(ServerTls::StartTls).with_auth("portal", "s3cret"));

    let wrong = tls_config(server.port(), Tls::StartTls)
        .with_credentials(SmtpCredentials::new("portal", "not-the-password").unwrap())
        .unwrap();
    let (message, code) = code_email(RECIPIENT, 22);
    assert_eq!(
        mailer(wrong).send_email(&message).await,
        Err(SendError::Permanent(FailureCause::NotConfigured))
    );

    let anonymous = tls_config(server.port(), Tls::StartTls);
    assert_eq!(
        mailer(anonymous).send_email(&message).await,
        Err(SendError::Permanent(FailureCause::NotConfigured))
    );

    assert!(server.messages().is_empty());
    let events = capture.ours();
    assert_eq!(events.len(), 2);
    for (event, reply) in events.iter().zip(["535", "530"]) {
        assert_eq!(event.level, tracing::Level::WARN);
        assert_eq!(event.field("reason"), Some("auth"));
        assert_eq!(event.field("smtp_code"), Some(reply));
    }
    capture.assert_clean(&[RECIPIENT, &code, "not-the-password", "s3cret"]);
}
