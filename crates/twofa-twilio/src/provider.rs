//! Twilio's answers: the JSON error body and what its code means for a
//! send.
//!
//! An error answer of the REST API is
//! `{"code": 21211, "message": "...", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`.
//! Only `code` is read: `message` may quote the phone number, so it is
//! never logged or returned.

use twofa_delivery::{FailureCause, SendError};

/// The part of an error body this crate reads.
#[derive(Debug, serde::Deserialize)]
struct ErrorBody {
    code: Option<u32>,
}

/// Twilio's error code in an answer body, if it has one.
pub(crate) fn error_code(body: &[u8]) -> Option<u32> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|parsed| parsed.code)
}

/// The SID of an accepted message or call, for the debug log.
pub(crate) fn created_sid(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Created {
        sid: Option<String>,
    }
    serde_json::from_slice::<Created>(body)
        .ok()
        .and_then(|created| created.sid)
        // A SID is two letters and 32 hex digits; anything else is not
        // logged.
        .filter(|sid| sid.len() == 34 && sid.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// What a Twilio error code means for a message or call, from Twilio's
/// error dictionary (<https://www.twilio.com/docs/api/errors>). Codes not
/// listed fall back on the HTTP status.
const SEND_ERRORS: &[(u32, SendError)] = &[
    // 20003 "Authenticate": wrong account SID, token or API key.
    (20003, SendError::Permanent(FailureCause::NotConfigured)),
    // 20404 "Not Found": an account SID or path that does not exist.
    (20404, SendError::Permanent(FailureCause::NotConfigured)),
    // 20429 "Too Many Requests".
    (20429, SendError::Transient(FailureCause::Throttled)),
    // 21210 "'From' phone number not verified" (calls).
    (21210, SendError::Permanent(FailureCause::NotConfigured)),
    // 21211 "Invalid 'To' Phone Number".
    (21211, SendError::Permanent(FailureCause::Unreachable)),
    // 21212 "Invalid 'From' Phone Number".
    (21212, SendError::Permanent(FailureCause::NotConfigured)),
    // 21214 "'To' phone number cannot be reached" (calls).
    (21214, SendError::Permanent(FailureCause::Unreachable)),
    // 21215 "Geo Permission configuration is not permitting call".
    (21215, SendError::Permanent(FailureCause::Rejected)),
    // 21216 "Account not allowed to call this number" (premium, blocked).
    (21216, SendError::Permanent(FailureCause::Rejected)),
    // 21217 "Phone number does not appear to be valid" (calls).
    (21217, SendError::Permanent(FailureCause::Unreachable)),
    // 21408 "Permission to send an SMS has not been enabled for the region".
    (21408, SendError::Permanent(FailureCause::Rejected)),
    // 21606 "The 'From' phone number provided is not a valid message-capable
    // Twilio phone number".
    (21606, SendError::Permanent(FailureCause::NotConfigured)),
    // 21608 "The 'To' number is not verified" (trial accounts).
    (21608, SendError::Permanent(FailureCause::Rejected)),
    // 21610 "Attempt to send to unsubscribed recipient" (the user sent STOP).
    (21610, SendError::Permanent(FailureCause::Rejected)),
    // 21612 "The 'To' phone number is not currently reachable via SMS".
    (21612, SendError::Permanent(FailureCause::Unreachable)),
    // 21614 "'To' number is not a valid mobile number".
    (21614, SendError::Permanent(FailureCause::Unreachable)),
    // 21611 "This 'From' number has exceeded the maximum number of queued
    // messages".
    (21611, SendError::Transient(FailureCause::Throttled)),
];

/// What a final, non-2xx answer to a message or call means.
pub(crate) fn send_error(status: u16, code: Option<u32>) -> SendError {
    let listed = code.and_then(|code| {
        SEND_ERRORS
            .iter()
            .find(|(known, _)| *known == code)
            .map(|(_, error)| *error)
    });
    if let Some(error) = listed {
        return error;
    }
    match status {
        429 => SendError::Transient(FailureCause::Throttled),
        500..=599 => SendError::Transient(FailureCause::ProviderUnavailable),
        401 | 403 => SendError::Permanent(FailureCause::NotConfigured),
        _ => SendError::Permanent(FailureCause::Rejected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_codes_map_onto_send_errors() {
        use FailureCause::*;
        use SendError::*;
        for (status, code, expected) in [
            (400, Some(21211), Permanent(Unreachable)),
            (400, Some(21610), Permanent(Rejected)),
            (400, Some(21614), Permanent(Unreachable)),
            (401, Some(20003), Permanent(NotConfigured)),
            (429, Some(20429), Transient(Throttled)),
            (429, None, Transient(Throttled)),
            (500, None, Transient(ProviderUnavailable)),
            (503, Some(20500), Transient(ProviderUnavailable)),
            (403, None, Permanent(NotConfigured)),
            (400, Some(99999), Permanent(Rejected)),
            (400, None, Permanent(Rejected)),
        ] {
            assert_eq!(send_error(status, code), expected, "{status} {code:?}");
        }
    }

    #[test]
    fn the_table_lists_each_code_once() {
        for (index, (code, _)) in SEND_ERRORS.iter().enumerate() {
            let later = SEND_ERRORS.iter().skip(index + 1);
            assert!(later.clone().all(|(other, _)| other != code), "{code}");
        }
    }

    #[test]
    fn only_the_code_is_read_from_an_error_body() {
        let body = br#"{"code": 21211, "message": "Invalid 'To' Phone Number: +1510867XXXX", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#;
        assert_eq!(error_code(body), Some(21211));
        assert_eq!(error_code(b"<html>Bad Gateway</html>"), None);
        assert_eq!(error_code(br#"{"code": null}"#), None);
        assert_eq!(error_code(br#"{"code": "21211"}"#), None);
    }

    #[test]
    fn only_a_sid_shaped_value_is_kept_from_a_created_body() {
        let sid = format!("SM{}", "0a".repeat(16));
        let body = format!(r#"{{"sid": "{sid}", "status": "queued"}}"#);
        assert_eq!(created_sid(body.as_bytes()), Some(sid));
        assert_eq!(created_sid(br#"{"sid": "SM<script>"}"#), None);
        assert_eq!(created_sid(b"not json"), None);
    }
}
