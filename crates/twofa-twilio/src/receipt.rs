//! Status callbacks: Twilio's report on a message or call, read onto the
//! provider-neutral [`DeliveryReceipt`].

use twofa_delivery::{DeliveryReceipt, DeliveryStatus};
use twofa_types::{CodeChannel, UserId};

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
    /// The URL has no `user` query parameter, more than one, or one that
    /// is not a user id.
    #[error("status callback URL names no valid user")]
    MissingUser,
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ProviderReceipt {
    /// The receipt for [`OobChallenge::with_receipt`](twofa_delivery::OobChallenge::with_receipt).
    pub receipt: DeliveryReceipt,
    /// The user the code was for (`twofa::Twofa::record_delivery` takes
    /// it with the receipt).
    pub user: UserId,
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
    let challenge = query_value(full_url, "challenge")
        .ok_or(ReceiptError::MissingChallenge)?
        .parse()
        .map_err(|_| ReceiptError::MalformedChallenge)?;
    let user = query_value(full_url, "user")
        .and_then(|user| UserId::new(&user).ok())
        .ok_or(ReceiptError::MissingUser)?;
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
        user,
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

/// The one value of query parameter `name` in `full_url`, decoded; `None`
/// when it is absent or given twice.
fn query_value(full_url: &str, name: &str) -> Option<String> {
    let query = full_url
        .split_once('?')
        .map(|(_, query)| query.split_once('#').map_or(query, |(query, _)| query))?;
    let mut values = form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned());
    let value = values.next()?;
    match values.next() {
        Some(_) => None,
        None => Some(value),
    }
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

    /// A callback of a delivered text message at `url`.
    fn delivered(url: &str) -> Result<ProviderReceipt, ReceiptError> {
        parse_status_callback(url, &[("MessageStatus".to_owned(), "delivered".to_owned())])
    }

    #[test]
    fn the_challenge_and_the_user_come_from_the_query() {
        let id = "0a".repeat(16);
        for url in [
            format!("https://p.example/cb?challenge={id}&user=bob%40example.com"),
            format!("https://p.example/cb?tenant=1&user=bob%40example.com&challenge={id}"),
            format!("https://p.example/cb?challenge={id}&user=bob%40example.com#x"),
        ] {
            let receipt = delivered(&url).unwrap();
            assert_eq!(receipt.receipt.challenge.to_string(), id, "{url}");
            assert_eq!(receipt.user.as_str(), "bob@example.com", "{url}");
        }
        for (url, error) in [
            (
                "https://p.example/cb?user=bob".to_owned(),
                ReceiptError::MissingChallenge,
            ),
            (
                "https://p.example/cb?tenant=1".to_owned(),
                ReceiptError::MissingChallenge,
            ),
            (
                format!("https://p.example/cb?challenge={id}&challenge={id}&user=bob"),
                ReceiptError::MissingChallenge,
            ),
            (
                "https://p.example/cb?challenge=xyz&user=bob".to_owned(),
                ReceiptError::MalformedChallenge,
            ),
            (
                format!("https://p.example/cb?challenge={id}"),
                ReceiptError::MissingUser,
            ),
            (
                format!("https://p.example/cb?challenge={id}&user=a&user=b"),
                ReceiptError::MissingUser,
            ),
            (
                format!("https://p.example/cb?challenge={id}&user=%0A"),
                ReceiptError::MissingUser,
            ),
        ] {
            assert_eq!(delivered(&url), Err(error), "{url}");
        }
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
