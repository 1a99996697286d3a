//! Line type lookups: North American numbers, which the numbering plan
//! cannot classify, told apart by Lookup v2 Line Type Intelligence.

use axum::http::Method;
use serde_json::json;
use twofa_delivery::{
    CarrierLookup, LineType, LookupError, NotMobileKind, UnknownReason, classify_offline, resolve,
};

use super::*;

/// Looks `number` up through a stand-in answering `replies`, and checks
/// the requests were the documented `GET`.
async fn look_up(
    number: &str,
    replies: Vec<Reply>,
    requests: usize,
) -> Result<LineType, LookupError> {
    let standin = standin(replies).await;
    let timeout = Duration::from_millis(300);
    let twilio = client(config(&standin).with_timeouts(timeout, timeout).unwrap());
    let phone = PhoneNumber::from_e164(number).unwrap();
    let answer = twilio.line_type(&phone).await;
    for request in standin.assert_requests(requests) {
        assert_eq!(request.method, Method::GET);
        assert_eq!(request.path, format!("/v2/PhoneNumbers/{number}"));
        assert!(request.form.is_empty());
    }
    answer
}

fn nanp(number: &str) -> LineType {
    classify_offline(&PhoneNumber::from_e164(number).unwrap())
}

#[tokio::test]
async fn a_canadian_mobile_is_a_mobile() {
    let number = "+15062345678";
    let answer = look_up(
        number,
        vec![Reply::LineType(json!({
            "mobile_country_code": "302",
            "mobile_network_code": "610",
            "carrier_name": "Bell Mobility",
            "type": "mobile",
            "error_code": null,
        }))],
        1,
    )
    .await;
    assert_eq!(answer, Ok(LineType::Mobile));
    // The numbering plan alone cannot tell; the carrier's answer wins.
    assert_eq!(
        nanp(number),
        LineType::Unknown(UnknownReason::NumberingPlanCannotTell)
    );
    assert_eq!(resolve(nanp(number), answer), LineType::Mobile);
}

#[tokio::test]
async fn a_canadian_landline_is_not_a_mobile() {
    let number = "+16135550187";
    let answer = look_up(
        number,
        vec![Reply::LineType(json!({
            "mobile_country_code": null,
            "mobile_network_code": null,
            "carrier_name": "Bell Canada",
            "type": "landline",
            "error_code": null,
        }))],
        1,
    )
    .await;
    let landline = LineType::NotMobile(NotMobileKind::FixedLine);
    assert_eq!(answer, Ok(landline));
    assert_eq!(resolve(nanp(number), answer), landline);
    assert!(landline.recommends_app());
}

#[tokio::test]
async fn a_us_fixed_voip_number_is_not_a_mobile() {
    let number = "+12025550142";
    let answer = look_up(
        number,
        vec![Reply::LineType(json!({
            "mobile_country_code": "311",
            "mobile_network_code": "990",
            "carrier_name": "Vonage Holdings Corp",
            "type": "fixedVoip",
            "error_code": null,
        }))],
        1,
    )
    .await;
    assert_eq!(answer, Ok(LineType::NotMobile(NotMobileKind::Voip)));
}

#[tokio::test]
async fn a_canadian_number_without_portability_access_defers_to_the_plan() {
    // Error 60601: the account has no access to Canada's portability data.
    let number = "+14165550134";
    let answer = look_up(
        number,
        vec![Reply::LineType(json!({
            "mobile_country_code": null,
            "mobile_network_code": null,
            "carrier_name": null,
            "type": null,
            "error_code": 60601,
        }))],
        1,
    )
    .await;
    assert_eq!(
        answer,
        Ok(LineType::Unknown(UnknownReason::LookupUnavailable))
    );
    assert_eq!(
        resolve(nanp(number), answer),
        LineType::Unknown(UnknownReason::NumberingPlanCannotTell)
    );
}

#[tokio::test]
async fn a_personal_number_cannot_be_told() {
    let answer = look_up(
        "+447400123456",
        vec![Reply::LineType(
            json!({"type": "personal", "error_code": null}),
        )],
        1,
    )
    .await;
    assert_eq!(
        answer,
        Ok(LineType::Unknown(UnknownReason::NumberingPlanCannotTell))
    );
}

#[tokio::test]
async fn refused_credentials_are_not_retried() {
    let answer = look_up(
        "+12025550142",
        vec![Reply::Error {
            status: 401,
            code: 20003,
        }],
        1,
    )
    .await;
    assert_eq!(answer, Err(LookupError::Refused));
}

#[tokio::test]
async fn an_outage_is_retried_then_reported_unavailable() {
    let answer = look_up(
        "+12025550142",
        vec![Reply::ServerError, Reply::ServerError, Reply::ServerError],
        3,
    )
    .await;
    assert_eq!(answer, Err(LookupError::Unavailable));
    // Enrollment goes on with the dialog that recommends the app.
    assert_eq!(
        resolve(nanp("+12025550142"), answer),
        LineType::Unknown(UnknownReason::LookupUnavailable)
    );
}

#[tokio::test]
async fn a_lookup_that_timed_out_is_asked_again() {
    // A lookup changes nothing at Twilio, so unlike a message it may be
    // repeated after a timeout.
    let answer = look_up(
        "+15062345678",
        vec![
            Reply::Hang,
            Reply::LineType(json!({"type": "mobile", "error_code": null})),
        ],
        2,
    )
    .await;
    assert_eq!(answer, Ok(LineType::Mobile));
}
