//! From what went wrong to a [`SendError`]: the one place that decides
//! whether a failed send is worth retrying.

use std::error::Error as _;
use std::io;

use lettre::transport::smtp::Error as SmtpError;
use twofa_delivery::{FailureCause, SendError};

/// A send that did not happen, with what the log event says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) error: SendError,
    /// A fixed word for operators (`reply`, `timeout`, `tls`, …): never
    /// text from the server, which may quote the recipient's address.
    pub(crate) reason: &'static str,
    /// The server's reply code, when it sent one.
    pub(crate) code: Option<u16>,
}

impl Failure {
    /// A failure decided before or without the server.
    pub(crate) const fn local(error: SendError, reason: &'static str) -> Self {
        Self {
            error,
            reason,
            code: None,
        }
    }
}

/// The send took longer than the configured limit.
pub(crate) const TIMEOUT: Failure = Failure::local(
    SendError::Transient(FailureCause::ProviderUnavailable),
    "timeout",
);

/// Maps a reply code (RFC 5321 §4.2, RFC 4954 §6 for AUTH, RFC 3463 for
/// the enhanced codes servers add):
///
/// - 530, 534, 535, 538 (authentication required, mechanism too weak,
///   credentials invalid, encryption required): the adapter's
///   configuration is wrong, `Permanent(NotConfigured)`;
/// - 421, 450, 451, 452 (closing, mailbox busy or greylisted, local error,
///   insufficient storage or too many recipients): `Transient(Throttled)`;
/// - any other 4xx: `Transient(ProviderUnavailable)`;
/// - 550, 551, 553 (no such mailbox, user not local, mailbox name not
///   allowed): `Permanent(Unreachable)`;
/// - any other 5xx: `Permanent(Rejected)`.
pub(crate) fn from_reply(code: u16) -> Failure {
    let (error, reason) = match code {
        530 | 534 | 535 | 538 => (SendError::Permanent(FailureCause::NotConfigured), "auth"),
        421 | 450 | 451 | 452 => (SendError::Transient(FailureCause::Throttled), "reply"),
        400..=499 => (
            SendError::Transient(FailureCause::ProviderUnavailable),
            "reply",
        ),
        550 | 551 | 553 => (SendError::Permanent(FailureCause::Unreachable), "reply"),
        _ => (SendError::Permanent(FailureCause::Rejected), "reply"),
    };
    Failure {
        error,
        reason,
        code: Some(code),
    }
}

/// Maps an error of the transport.
///
/// Without a reply code: a timeout, a refused or reset connection, or a
/// malformed reply is transient (`ProviderUnavailable`); a TLS failure (a
/// certificate that does not verify, a handshake the server refuses) and a
/// server without STARTTLS or without a mechanism the credentials can use
/// are `Permanent(NotConfigured)`, since retrying the same settings
/// against the same server fails again.
pub(crate) fn from_transport(error: &SmtpError) -> Failure {
    if let Some(code) = error.status() {
        return from_reply(u16::from(code));
    }
    let not_configured = SendError::Permanent(FailureCause::NotConfigured);
    let unavailable = SendError::Transient(FailureCause::ProviderUnavailable);
    if error.is_timeout() {
        TIMEOUT
    } else if error.is_tls() || tls_failure(error) {
        Failure::local(not_configured, "tls")
    } else if error.is_client() {
        // lettre's client errors are the server lacking what the settings
        // require (STARTTLS, an authentication mechanism) or what the
        // message needs (SMTPUTF8).
        Failure::local(not_configured, "server_capabilities")
    } else if error.is_response() {
        Failure::local(unavailable, "protocol")
    } else {
        Failure::local(unavailable, "connection")
    }
}

/// Whether an I/O error in `error`'s chain reports invalid data: the TLS
/// layer's way of reporting a certificate or handshake failure (rustls
/// errors arrive wrapped in `io::ErrorKind::InvalidData`).
fn tls_failure(error: &SmtpError) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io_error) = cause.downcast_ref::<io::Error>() {
            return io_error.kind() == io::ErrorKind::InvalidData;
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes_map_as_documented() {
        let permanent = |cause| Some(SendError::Permanent(cause));
        let transient = |cause| Some(SendError::Transient(cause));
        let cases = [
            (535, permanent(FailureCause::NotConfigured)),
            (530, permanent(FailureCause::NotConfigured)),
            (534, permanent(FailureCause::NotConfigured)),
            (538, permanent(FailureCause::NotConfigured)),
            (421, transient(FailureCause::Throttled)),
            (450, transient(FailureCause::Throttled)),
            (451, transient(FailureCause::Throttled)),
            (452, transient(FailureCause::Throttled)),
            (454, transient(FailureCause::ProviderUnavailable)),
            (499, transient(FailureCause::ProviderUnavailable)),
            (550, permanent(FailureCause::Unreachable)),
            (551, permanent(FailureCause::Unreachable)),
            (553, permanent(FailureCause::Unreachable)),
            (552, permanent(FailureCause::Rejected)),
            (554, permanent(FailureCause::Rejected)),
            (500, permanent(FailureCause::Rejected)),
        ];
        for (code, expected) in cases {
            let failure = from_reply(code);
            assert_eq!(Some(failure.error), expected, "{code}");
            assert_eq!(failure.code, Some(code));
        }
    }
}
