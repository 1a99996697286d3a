//! Lookup v2 Line Type Intelligence: the answer's `line_type_intelligence`
//! object read onto [`LineType`].
//!
//! `GET /v2/PhoneNumbers/{E.164}?Fields=line_type_intelligence` answers
//! with the number's details and
//! `"line_type_intelligence": {"type": "mobile", "error_code": null, "carrier_name": ..., "mobile_country_code": ..., "mobile_network_code": ...}`.
//! Only `type` and `error_code` are read.

use twofa_delivery::{LineType, LookupError, NotMobileKind, UnknownReason};

#[derive(Debug, serde::Deserialize)]
struct Answer {
    line_type_intelligence: Option<LineTypeIntelligence>,
}

#[derive(Debug, serde::Deserialize)]
struct LineTypeIntelligence {
    #[serde(rename = "type")]
    kind: Option<String>,
    error_code: Option<u32>,
}

/// The line type Twilio's `type` value names.
///
/// - `mobile` is a mobile;
/// - `landline`, `fixedVoip`, `nonFixedVoip`, `tollFree`, `premium`,
///   `sharedCost`, `uan`, `voicemail` and `pager` are not;
/// - `personal` (a number that may forward to any line) cannot be told, as
///   numbering plans say of such numbers;
/// - `unknown` and any value Twilio may add later give no usable answer,
///   which [`resolve`](twofa_delivery::resolve) hands back to the offline
///   classification.
pub(crate) fn line_type_of(kind: &str) -> LineType {
    match kind {
        "mobile" => LineType::Mobile,
        "landline" => LineType::NotMobile(NotMobileKind::FixedLine),
        "fixedVoip" | "nonFixedVoip" => LineType::NotMobile(NotMobileKind::Voip),
        "tollFree" => LineType::NotMobile(NotMobileKind::TollFree),
        "premium" => LineType::NotMobile(NotMobileKind::PremiumRate),
        "sharedCost" => LineType::NotMobile(NotMobileKind::SharedCost),
        "uan" => LineType::NotMobile(NotMobileKind::UniversalAccess),
        "voicemail" => LineType::NotMobile(NotMobileKind::Voicemail),
        "pager" => LineType::NotMobile(NotMobileKind::Pager),
        "personal" => LineType::Unknown(UnknownReason::NumberingPlanCannotTell),
        _ => LineType::Unknown(UnknownReason::LookupUnavailable),
    }
}

/// Reads a 2xx answer of the Lookup API.
///
/// An error inside the answer (`error_code` set, for instance 60601 for a
/// Canadian number without access to Canada's portability data) or a
/// missing type is an answer that cannot tell:
/// `Ok(Unknown(LookupUnavailable))`. A body that is not the documented JSON
/// is a service fault: `Err(Unavailable)`.
pub(crate) fn line_type_from_answer(body: &[u8]) -> Result<LineType, LookupError> {
    let answer: Answer = serde_json::from_slice(body).map_err(|_| LookupError::Unavailable)?;
    let cannot_tell = LineType::Unknown(UnknownReason::LookupUnavailable);
    let Some(intelligence) = answer.line_type_intelligence else {
        return Ok(cannot_tell);
    };
    if intelligence.error_code.is_some() {
        return Ok(cannot_tell);
    }
    Ok(intelligence
        .kind
        .as_deref()
        .map_or(cannot_tell, line_type_of))
}

/// What a final, non-2xx answer of the Lookup API means: throttling and
/// server faults are an unavailable service; any other refusal (bad
/// credentials, no access to the package) is refused.
pub(crate) fn lookup_error(status: u16) -> LookupError {
    match status {
        429 | 500..=599 => LookupError::Unavailable,
        _ => LookupError::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_type_has_its_line_type() {
        use NotMobileKind::*;
        for (kind, expected) in [
            ("mobile", LineType::Mobile),
            ("landline", LineType::NotMobile(FixedLine)),
            ("fixedVoip", LineType::NotMobile(Voip)),
            ("nonFixedVoip", LineType::NotMobile(Voip)),
            ("tollFree", LineType::NotMobile(TollFree)),
            ("premium", LineType::NotMobile(PremiumRate)),
            ("sharedCost", LineType::NotMobile(SharedCost)),
            ("uan", LineType::NotMobile(UniversalAccess)),
            ("voicemail", LineType::NotMobile(Voicemail)),
            ("pager", LineType::NotMobile(Pager)),
            (
                "personal",
                LineType::Unknown(UnknownReason::NumberingPlanCannotTell),
            ),
            (
                "unknown",
                LineType::Unknown(UnknownReason::LookupUnavailable),
            ),
            (
                "Mobile",
                LineType::Unknown(UnknownReason::LookupUnavailable),
            ),
            (
                "satellite",
                LineType::Unknown(UnknownReason::LookupUnavailable),
            ),
        ] {
            assert_eq!(line_type_of(kind), expected, "{kind}");
        }
    }

    #[test]
    fn errors_and_gaps_inside_an_answer_cannot_tell() {
        let cannot_tell = Ok(LineType::Unknown(UnknownReason::LookupUnavailable));
        for body in [
            r#"{"line_type_intelligence": {"type": "mobile", "error_code": 60600}}"#,
            r#"{"line_type_intelligence": {"type": null, "error_code": 60601}}"#,
            r#"{"line_type_intelligence": {"type": null, "error_code": null}}"#,
            r#"{"line_type_intelligence": {}}"#,
            r#"{"line_type_intelligence": null}"#,
            r#"{"valid": false}"#,
        ] {
            assert_eq!(
                line_type_from_answer(body.as_bytes()),
                cannot_tell,
                "{body}"
            );
        }
        assert_eq!(
            line_type_from_answer(
                br#"{"line_type_intelligence": {"type": "landline", "error_code": null}}"#
            ),
            Ok(LineType::NotMobile(NotMobileKind::FixedLine))
        );
        for body in ["", "<html/>", r#"{"line_type_intelligence": {"type": 7}}"#] {
            assert_eq!(
                line_type_from_answer(body.as_bytes()),
                Err(LookupError::Unavailable),
                "{body}"
            );
        }
    }

    #[test]
    fn refusals_and_outages_are_told_apart() {
        assert_eq!(lookup_error(429), LookupError::Unavailable);
        assert_eq!(lookup_error(503), LookupError::Unavailable);
        assert_eq!(lookup_error(401), LookupError::Refused);
        assert_eq!(lookup_error(404), LookupError::Refused);
    }
}
