//! Configuration is validated when it is built, and never prints a
//! password.

use std::time::Duration;

use twofa_smtp::SmtpConfigError;

use super::*;

#[test]
fn senders_are_validated() {
    let sender = SmtpSender::new("Example Portal", "No-Reply@Portal.Example.COM").unwrap();
    assert_eq!(sender.name(), "Example Portal");
    assert_eq!(sender.address(), "No-Reply@portal.example.com");
    assert_eq!(sender.domain(), "portal.example.com");
    let name_error = Some(SmtpConfigError::SenderName {
        max: twofa_smtp::MAX_SENDER_NAME_LEN,
    });
    assert_eq!(SmtpSender::new("", "a@example.com").err(), name_error);
    assert_eq!(SmtpSender::new("   ", "a@example.com").err(), name_error);
    assert_eq!(
        SmtpSender::new("Bad\r\nBcc: x", "a@example.com").err(),
        name_error
    );
    assert_eq!(
        SmtpSender::new(&"x".repeat(65), "a@example.com").err(),
        name_error
    );
    assert!(SmtpSender::new(&"x".repeat(64), "a@example.com").is_ok());
    for address in ["", "no-at-sign", "a@b", "a b@example.com", "a@example.com>"] {
        assert_eq!(
            SmtpSender::new("Portal", address).err(),
            Some(SmtpConfigError::SenderAddress),
            "{address}"
        );
    }
}

#[test]
fn servers_ports_and_options_are_validated() {
    assert_eq!(
        SmtpConfig::new("smtp example.com", Tls::StartTls, sender()).err(),
        Some(SmtpConfigError::Host)
    );
    assert_eq!(
        SmtpConfig::new("", Tls::StartTls, sender()).err(),
        Some(SmtpConfigError::Host)
    );
    let config = SmtpConfig::new("SMTP.Example.com", Tls::StartTls, sender()).unwrap();
    assert_eq!(config.host(), "smtp.example.com");
    assert_eq!(config.port(), 587);
    assert_eq!(config.timeout(), twofa_smtp::DEFAULT_TIMEOUT);
    assert_eq!(config.message_id_domain(), "portal.example.com");
    assert_eq!(
        SmtpConfig::new("smtp.example.com", Tls::Implicit, sender())
            .unwrap()
            .port(),
        465
    );
    assert_eq!(
        SmtpConfig::new("127.0.0.1", Tls::None, sender())
            .unwrap()
            .port(),
        25
    );
    assert_eq!(
        SmtpConfig::new("[::1]", Tls::None, sender())
            .unwrap()
            .host(),
        "::1"
    );
    assert_eq!(
        config.clone().with_port(0).err(),
        Some(SmtpConfigError::Port)
    );
    assert_eq!(config.clone().with_port(2525).unwrap().port(), 2525);
    assert_eq!(
        config.clone().with_timeout(Duration::ZERO).err(),
        Some(SmtpConfigError::Timeout)
    );
    assert_eq!(
        config.clone().with_pool(0, Duration::from_secs(1)).err(),
        Some(SmtpConfigError::PoolSize)
    );
    assert_eq!(
        config.clone().with_message_id_domain("not a domain").err(),
        Some(SmtpConfigError::MessageIdDomain)
    );
    assert_eq!(
        config.clone().with_hello_name("-bad-").err(),
        Some(SmtpConfigError::HelloName)
    );
    assert!(config.with_hello_name("portal.example.com").is_ok());
}

#[test]
fn plain_text_smtp_takes_no_password_and_no_authority() {
    let plain = SmtpConfig::new("127.0.0.1", Tls::None, sender()).unwrap();
    assert_eq!(
        plain
            .clone()
            .with_credentials(SmtpCredentials::new("portal", "s3cret").unwrap())
            .err(),
        Some(SmtpConfigError::RequiresTls {
            setting: "credentials"
        })
    );
    assert_eq!(
        plain.with_root_certificate(pki().ca_pem.as_bytes()).err(),
        Some(SmtpConfigError::RequiresTls {
            setting: "root certificate"
        })
    );
}

#[test]
fn credentials_are_validated_and_never_printed() {
    assert_eq!(
        SmtpCredentials::new("", "s3cret").err(),
        Some(SmtpConfigError::Credentials)
    );
    assert_eq!(
        SmtpCredentials::new("portal", "s3\0cret").err(),
        Some(SmtpConfigError::Credentials)
    );
    let credentials = SmtpCredentials::new("portal@example.com", "s3cret").unwrap();
    assert_eq!(format!("{credentials:?}"), "SmtpCredentials([REDACTED])");
    assert_eq!(credentials.expose_user(), "portal@example.com");
    assert_eq!(credentials.expose_secret(), "s3cret");

    let config = SmtpConfig::new("smtp.example.com", Tls::StartTls, sender())
        .unwrap()
        .with_credentials(credentials)
        .unwrap();
    let printed = format!("{config:?}");
    assert!(!printed.contains("s3cret"), "{printed}");
    assert!(!printed.contains("portal@example.com"), "{printed}");
    let printed = format!("{:?}", SmtpMailer::new(config).unwrap());
    assert!(!printed.contains("s3cret"), "{printed}");
    assert!(printed.contains("smtp.example.com:587"), "{printed}");
}

#[test]
fn root_certificates_must_be_pem_certificates() {
    let config = SmtpConfig::new("smtp.example.com", Tls::StartTls, sender()).unwrap();
    for bad in [
        &b""[..],
        b"not a certificate",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        pki().leaf_key_pem.as_bytes(),
    ] {
        assert_eq!(
            config.clone().with_root_certificate(bad).err(),
            Some(SmtpConfigError::RootCertificate)
        );
    }
    assert!(
        config
            .with_root_certificate(pki().ca_pem.as_bytes())
            .is_ok()
    );
}

#[test]
fn urls_set_the_server_the_tls_mode_and_the_credentials() {
    let read = |url: &str| SmtpConfig::from_url(url, sender());
    let config = read("smtps://portal:s3cret@smtp.example.com").unwrap();
    assert_eq!(
        (config.host(), config.port(), config.tls()),
        ("smtp.example.com", 465, Tls::Implicit)
    );
    assert!(!format!("{config:?}").contains("s3cret"));
    let config = read("smtp://smtp.example.com").unwrap();
    assert_eq!((config.port(), config.tls()), (587, Tls::StartTls));
    let config = read("smtp://smtp.example.com:2587?tls=required").unwrap();
    assert_eq!((config.port(), config.tls()), (2587, Tls::StartTls));
    let config = read("smtp://127.0.0.1?tls=none").unwrap();
    assert_eq!((config.port(), config.tls()), (25, Tls::None));
    let config = read("smtp://[::1]:2525?tls=none").unwrap();
    assert_eq!((config.host(), config.port()), ("::1", 2525));
    // Percent-encoded user and password.
    assert!(read("smtps://portal%40example.com:p%3Ass%2Fw0rd@smtp.example.com").is_ok());

    let cases = [
        ("not a url", SmtpConfigError::UrlSyntax),
        ("http://smtp.example.com", SmtpConfigError::UrlScheme),
        (
            "smtp://smtp.example.com?tls=opportunistic",
            SmtpConfigError::UrlTls,
        ),
        ("smtps://smtp.example.com?tls=none", SmtpConfigError::UrlTls),
        (
            "smtp://smtp.example.com/portal",
            SmtpConfigError::UrlUnsupported,
        ),
        (
            "smtp://smtp.example.com?pool=5",
            SmtpConfigError::UrlUnsupported,
        ),
        (
            "smtp://smtp.example.com?tls=none&tls=none",
            SmtpConfigError::UrlUnsupported,
        ),
        ("smtp://smtp.example.com#x", SmtpConfigError::UrlUnsupported),
        (
            "smtp://portal@smtp.example.com",
            SmtpConfigError::Credentials,
        ),
        (
            "smtp://:s3cret@smtp.example.com",
            SmtpConfigError::Credentials,
        ),
        ("smtp://smtp.example.com:0", SmtpConfigError::Port),
        (
            "smtp://portal:s3cret@127.0.0.1?tls=none",
            SmtpConfigError::RequiresTls {
                setting: "credentials",
            },
        ),
    ];
    for (url, expected) in cases {
        let error = read(url).err();
        assert_eq!(error, Some(expected), "{url}");
        assert!(!error.unwrap().to_string().contains("s3cret"));
    }
}
