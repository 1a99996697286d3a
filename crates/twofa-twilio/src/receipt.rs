//! Status callbacks: Twilio's report on a message or call, read onto the
//! provider-neutral [`DeliveryReceipt`].

use twofa_delivery::{ChallengeId, DeliveryReceipt, DeliveryStatus};
use twofa_types::CodeChannel;

/// Why a status callback could not be read.
///
/// No variant carries the callback's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The URL has no `challenge` query parameter, or more than one.
    #[error("status callback URL names no challenge")]
    MissingChallenge,
    /// The `challenge` parameter is not a challenge id.
    #[error("status callback URL names a malformed challenge id")]
    MalformedChallenge,
    /// Neither `MessageStatus` nor `CallStatus` is present, both are, or
    /// one is given twice with different values.
    #[error("status callback has no message or call status")]
    MissingStatus,
    /// The status is not one Twilio documents.
    #[error("status callback has an unknown status")]
    UnknownStatus,
    /// `ErrorCode` is present but not a number.
    #[error("status callback has a malformed error code")]
    MalformedErrorCode,
}

/// A status callback, read: the receipt to record in the challenge, the
/// channel it reports on, and Twilio's error code for the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ProviderReceipt {
    /// The receipt for [`OobChallenge::with_receipt`](twofa_delivery::OobChallenge::with_receipt).
    pub receipt: DeliveryReceipt,
    /// [`CodeChannel::Sms`] for a message, [`CodeChannel::VoiceCall`] for a
    /// call.
    pub channel: CodeChannel,
    /// Twilio's `ErrorCode` (for instance 30003 "unreachable destination
    /// handset"), when the callback has one.
    pub error_code: Option<u32>,
}

/// Reads a status callback Twilio sent to the URL the client configured
/// (see [`TwilioConfig::with_status_callback`](crate::TwilioConfig::with_status_callback)).
///
/// `full_url` is the URL Twilio called, whose `challenge` query parameter
/// names the challenge; `params` are the POST form parameters.
///
/// | parameter | values | status |
/// |---|---|---|
/// | `MessageStatus` | `queued`, `sending`, `sent`, `accepted`, `scheduled` | in progress |
/// | | `delivered`, `read` | delivered |
/// | | `undelivered`, `failed`, `canceled` | undelivered |
/// | `CallStatus` | `queued`, `initiated`, `ringing`, `in-progress` | in progress |
/// | | `completed` | delivered (the call was answered) |
/// | | `busy`, `failed`, `no-answer`, `canceled` | undelivered |
///
/// # Errors
///
/// [`ReceiptError`] when the challenge id, the status or the error code
/// cannot be read.
///
/// # Security
///
/// Check the callback with [`verify_signature`](crate::verify_signature)
/// first: an unsigned callback could report any challenge undelivered.
pub fn parse_status_callback(
    full_url: &str,
    params: &[(String, String)],
) -> Result<ProviderReceipt, ReceiptError> {
    let challenge = challenge_in(full_url)?;
    let message_status = single(params, "MessageStatus")?;
    let call_status = single(params, "CallStatus")?;
    let (channel, status) = match (message_status, call_status) {
        (Some(status), None) => (CodeChannel::Sms, message_status_of(status)?),
        (None, Some(status)) => (CodeChannel::VoiceCall, call_status_of(status)?),
        _ => return Err(ReceiptError::MissingStatus),
    };
    let error_code =
        match single(params, "ErrorCode").map_err(|_| ReceiptError::MalformedErrorCode)? {
            None | Some("") => None,
            Some(code) => Some(
                code.parse::<u32>()
                    .map_err(|_| ReceiptError::MalformedErrorCode)?,
            ),
        };
    Ok(ProviderReceipt {
        receipt: DeliveryReceipt::new(challenge, status),
        channel,
        error_code,
    })
}

/// The value of parameter `name`, if present; a name given twice with
/// different values is refused.
fn single<'a>(params: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, ReceiptError> {
    let mut found: Option<&str> = None;
    for (key, value) in params {
        if key == name {
            match found {
                Some(earlier) if earlier != value => return Err(ReceiptError::MissingStatus),
                _ => found = Some(value),
            }
        }
    }
    Ok(found)
}

fn challenge_in(full_url: &str) -> Result<ChallengeId, ReceiptError> {
    let query = full_url
        .split_once('?')
        .map(|(_, query)| query.split_once('#').map_or(query, |(query, _)| query))
        .ok_or(ReceiptError::MissingChallenge)?;
    let mut values = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| *name == "challenge")
        .map(|(_, value)| value);
    let value = values.next().ok_or(ReceiptError::MissingChallenge)?;
    if values.next().is_some() {
        return Err(ReceiptError::MissingChallenge);
    }
    value.parse().map_err(|_| ReceiptError::MalformedChallenge)
}

fn message_status_of(status: &str) -> Result<DeliveryStatus, ReceiptError> {
    Ok(match status {
        "queued" | "sending" | "sent" | "accepted" | "scheduled" => DeliveryStatus::InProgress,
        "delivered" | "read" => DeliveryStatus::Delivered,
        "undelivered" | "failed" | "canceled" => DeliveryStatus::Undelivered,
        _ => return Err(ReceiptError::UnknownStatus),
    })
}

fn call_status_of(status: &str) -> Result<DeliveryStatus, ReceiptError> {
    Ok(match status {
        "queued" | "initiated" | "ringing" | "in-progress" => DeliveryStatus::InProgress,
        "completed" => DeliveryStatus::Delivered,
        "busy" | "failed" | "no-answer" | "canceled" => DeliveryStatus::Undelivered,
        _ => return Err(ReceiptError::UnknownStatus),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_comes_from_the_query() {
        let id = "0a".repeat(16);
        for url in [
            format!("https://p.example/cb?challenge={id}"),
            format!("https://p.example/cb?tenant=1&challenge={id}"),
            format!("https://p.example/cb?challenge={id}#x"),
        ] {
            assert_eq!(challenge_in(&url).unwrap().to_string(), id, "{url}");
        }
        assert_eq!(
            challenge_in("https://p.example/cb"),
            Err(ReceiptError::MissingChallenge)
        );
        assert_eq!(
            challenge_in("https://p.example/cb?tenant=1"),
            Err(ReceiptError::MissingChallenge)
        );
        assert_eq!(
            challenge_in(&format!(
                "https://p.example/cb?challenge={id}&challenge={id}"
            )),
            Err(ReceiptError::MissingChallenge)
        );
        assert_eq!(
            challenge_in("https://p.example/cb?challenge=xyz"),
            Err(ReceiptError::MalformedChallenge)
        );
    }

    #[test]
    fn every_documented_status_has_its_delivery_status() {
        use DeliveryStatus::*;
        for (status, expected) in [
            ("queued", InProgress),
            ("sending", InProgress),
            ("sent", InProgress),
            ("accepted", InProgress),
            ("scheduled", InProgress),
            ("delivered", Delivered),
            ("read", Delivered),
            ("undelivered", Undelivered),
            ("failed", Undelivered),
            ("canceled", Undelivered),
        ] {
            assert_eq!(message_status_of(status), Ok(expected), "{status}");
        }
        for (status, expected) in [
            ("queued", InProgress),
            ("initiated", InProgress),
            ("ringing", InProgress),
            ("in-progress", InProgress),
            ("completed", Delivered),
            ("busy", Undelivered),
            ("failed", Undelivered),
            ("no-answer", Undelivered),
            ("canceled", Undelivered),
        ] {
            assert_eq!(call_status_of(status), Ok(expected), "{status}");
        }
        for unknown in ["", "Delivered", "answered", "receiving"] {
            assert_eq!(message_status_of(unknown), Err(ReceiptError::UnknownStatus));
            assert_eq!(call_status_of(unknown), Err(ReceiptError::UnknownStatus));
        }
    }
}
