//! Integration tests of `twofa-smtp` against a real SMTP server on
//! loopback (`server.py`, on Python's aiosmtpd), started by each test.
//!
//! Needs Python 3 with aiosmtpd (Debian: `apt-get install
//! python3-aiosmtpd`); without it every server test fails and says so.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    unreachable_pub,
    reason = "test helpers outside #[test] functions fail the test by panicking"
)]

mod capture;
mod config;
mod delivery;
mod failures;
mod server;
mod tls;

use chrono::{TimeZone, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use twofa_delivery::{
    ChallengePolicy, ChallengeRequest, Destination, EmailAddress, EmailMessage, EmailSender,
    FailureCause, Issuer, MessageTemplates, Notice, NoticeMessage, NoticeSender, OobChallenge,
    OriginHost, OutboundMessage, Purpose, SendError, ServerKey,
};
use twofa_smtp::{SmtpConfig, SmtpCredentials, SmtpMailer, SmtpSender, Tls};
use twofa_types::{CodeChannel, UserId};

use crate::capture::Capture;
use crate::server::{ServerOptions, ServerTls, SilentServer, SmtpServer, pki};

const RECIPIENT: &str = "jane.doe@example.com";

fn sender() -> SmtpSender {
    SmtpSender::new("Example Portal", "no-reply@portal.example.com").unwrap()
}

fn templates() -> MessageTemplates {
    MessageTemplates::new(Issuer::new("Example Portal").unwrap())
        .with_origin_host(OriginHost::new("portal.example.com").unwrap())
}

/// A code email to `to`, as the facade gets it from a challenge, with its
/// plain code.
fn code_email(to: &str, seed: u64) -> (EmailMessage, String) {
    let request = ChallengeRequest::new(
        UserId::new("user-1").unwrap(),
        Purpose::Enrollment,
        Destination::Email(EmailAddress::parse(to).unwrap()),
        CodeChannel::Email,
    );
    let prepared = OobChallenge::issue(
        request,
        &ChallengePolicy::default(),
        &templates(),
        &ServerKey::from_bytes(&[7u8; 32]).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
        &mut StdRng::seed_from_u64(seed),
    )
    .unwrap();
    let code = prepared.code().expose_secret().to_owned();
    let OutboundMessage::Email(message) = prepared.message().clone() else {
        panic!("email expected");
    };
    (message, code)
}

fn email_notice(to: &str, notice: Notice) -> NoticeMessage {
    templates().render_notice(
        notice,
        &Destination::Email(EmailAddress::parse(to).unwrap()),
    )
}

/// A configuration for a test server on 127.0.0.1.
fn config(port: u16, tls: Tls) -> SmtpConfig {
    SmtpConfig::new("127.0.0.1", tls, sender())
        .unwrap()
        .with_port(port)
        .unwrap()
        .with_hello_name("portal.example.com")
        .unwrap()
}

/// A configuration that trusts only the test authority.
fn tls_config(port: u16, tls: Tls) -> SmtpConfig {
    config(port, tls)
        .with_root_certificate(pki().ca_pem.as_bytes())
        .unwrap()
}

fn mailer(config: SmtpConfig) -> SmtpMailer {
    SmtpMailer::new(config).unwrap()
}
