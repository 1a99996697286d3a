//! Status callbacks: the signature check against Twilio's published
//! vectors (each with tampered twins), and receipts recorded in the
//! challenge the callback URL names.

use twofa_delivery::{DeliveryReceipt, DeliveryStatus, SmsSender, VoiceCaller};
use twofa_twilio::{ReceiptError, SignatureError, parse_status_callback, verify_signature};

use super::*;

/// The URL of the request-validation example in Twilio's helper
/// libraries (twilio-python, twilio-php, twilio-csharp, twilio-node
/// `RequestValidator` tests), signed with the Auth Token `12345`.
const DOC_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

fn doc_token() -> AuthToken {
    AuthToken::new("12345").unwrap()
}

fn doc_params() -> Vec<(String, String)> {
    pairs(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ])
}

#[test]
fn the_published_vectors_verify_and_their_tampered_twins_do_not() {
    // (url, params, signature), from the same test suites.
    let repeated = pairs(&[
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]);
    let vectors = [
        // The documented example.
        (DOC_URL, doc_params(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        // Signed over the URL with :443, checked against the URL without.
        (DOC_URL, doc_params(), "kvajT1Ptam85bY51eRf/AJRuM3w="),
        // Signed over http with :80.
        (
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            doc_params(),
            "0ZXoZLH/DfblKGATFgpif+LLRf4=",
        ),
        // A non-default port is signed as given.
        (
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
            doc_params(),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
        ),
        // A repeated name: values sorted, exact duplicates dropped.
        (DOC_URL, repeated, "IK+Dwps556ElfBT0I3Rgjkr1wJU="),
    ];
    for (url, params, signature) in vectors {
        assert_eq!(
            verify_signature(&doc_token(), url, &params, signature),
            Ok(()),
            "{signature}"
        );

        let mut changed_value = params.clone();
        changed_value[0].1.push('0');
        let mut extra = params.clone();
        extra.push(("Extra".to_owned(), String::new()));
        let mut one_missing = params.clone();
        one_missing.remove(0);
        for tampered in [changed_value, extra, one_missing] {
            assert_eq!(
                verify_signature(&doc_token(), url, &tampered, signature),
                Err(SignatureError::Mismatch),
                "{signature}"
            );
        }
        let other_url = format!("{url}&baz=3");
        assert_eq!(
            verify_signature(&doc_token(), &other_url, &params, signature),
            Err(SignatureError::Mismatch)
        );
        let other_token = AuthToken::new("12346").unwrap();
        assert_eq!(
            verify_signature(&other_token, url, &params, signature),
            Err(SignatureError::Mismatch)
        );
        let mut flipped = signature.as_bytes().to_vec();
        flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            verify_signature(&doc_token(), url, &params, &flipped),
            Err(SignatureError::Mismatch)
        );
    }
    // The port variant is the default port only.
    assert_eq!(
        verify_signature(
            &doc_token(),
            "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
            &doc_params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn parameter_order_does_not_matter_and_bad_headers_are_refused() {
    let mut shuffled = doc_params();
    shuffled.reverse();
    let signature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    assert_eq!(
        verify_signature(&doc_token(), DOC_URL, &shuffled, signature),
        Ok(())
    );
    assert_eq!(
        verify_signature(&doc_token(), DOC_URL, &shuffled, ""),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verify_signature(
            &doc_token(),
            DOC_URL,
            &shuffled,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8"
        ),
        Err(SignatureError::Malformed)
    );
}

/// A message status callback as Twilio posts it.
fn message_callback(status: &str, error_code: Option<&str>) -> Vec<(String, String)> {
    let mut params = pairs(&[
        ("AccountSid", ACCOUNT),
        ("ApiVersion", "2010-04-01"),
        ("From", SENDER),
        ("MessageSid", "SM5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"),
        ("MessageStatus", status),
        ("SmsSid", "SM5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"),
        ("SmsStatus", status),
        ("To", UK_MOBILE),
    ]);
    if let Some(code) = error_code {
        params.push(("ErrorCode".to_owned(), code.to_owned()));
    }
    params
}

#[tokio::test]
async fn an_undelivered_text_is_recorded_in_its_challenge() {
    let standin = standin(vec![Reply::Created]).await;
    let twilio = client(config(&standin));
    let prepared = prepared(CodeChannel::Sms, &templates(), 30);
    twilio.send_sms(sms_of(&prepared)).await.unwrap();
    let challenge = prepared.commit();

    // Twilio calls back the URL the message was sent with.
    let seen = standin.assert_requests(1);
    let url = seen[0].field("StatusCallback").unwrap().to_owned();
    let params = message_callback("undelivered", Some("30003"));
    let header = twilio_signature(TOKEN, &url, &params);
    let token = AuthToken::new(TOKEN).unwrap();

    assert_eq!(verify_signature(&token, &url, &params, &header), Ok(()));
    let report = parse_status_callback(&url, &params).unwrap();
    assert_eq!(report.receipt.challenge, challenge.id());
    assert_eq!(report.receipt.status, DeliveryStatus::Undelivered);
    assert_eq!(report.channel, CodeChannel::Sms);
    assert_eq!(report.error_code, Some(30003));

    let recorded = challenge.with_receipt(&report.receipt);
    assert!(recorded.undelivered());
    assert!(!challenge.undelivered());

    // A report that the text was delivered changes nothing.
    let delivered = message_callback("delivered", None);
    let report = parse_status_callback(&url, &delivered).unwrap();
    assert_eq!(
        report.receipt,
        DeliveryReceipt::new(challenge.id(), DeliveryStatus::Delivered)
    );
    assert_eq!(report.error_code, None);
    assert_eq!(challenge.with_receipt(&report.receipt), challenge);

    // A forged callback fails the signature before it is read.
    let forged = message_callback("failed", None);
    assert_eq!(
        verify_signature(&token, &url, &forged, &header),
        Err(SignatureError::Mismatch)
    );
}

#[tokio::test]
async fn an_unanswered_call_is_recorded_in_its_challenge() {
    let standin = standin(vec![Reply::Created]).await;
    let twilio = client(config(&standin));
    let prepared = prepared(CodeChannel::VoiceCall, &templates(), 31);
    twilio.place_call(voice_of(&prepared)).await.unwrap();
    let challenge = prepared.commit();
    let url = standin.assert_requests(1)[0]
        .field("StatusCallback")
        .unwrap()
        .to_owned();

    for (status, expected) in [
        ("ringing", DeliveryStatus::InProgress),
        ("completed", DeliveryStatus::Delivered),
        ("no-answer", DeliveryStatus::Undelivered),
        ("busy", DeliveryStatus::Undelivered),
    ] {
        let params = pairs(&[
            ("AccountSid", ACCOUNT),
            ("CallSid", "CA5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"),
            ("CallStatus", status),
            ("Direction", "outbound-api"),
            ("To", UK_MOBILE),
        ]);
        let report = parse_status_callback(&url, &params).unwrap();
        assert_eq!(report.channel, CodeChannel::VoiceCall);
        assert_eq!(
            report.receipt,
            DeliveryReceipt::new(challenge.id(), expected),
            "{status}"
        );
        assert_eq!(
            challenge.with_receipt(&report.receipt).undelivered(),
            expected == DeliveryStatus::Undelivered
        );
    }
}

#[test]
fn callbacks_that_cannot_be_read_are_refused() {
    let id = "3c".repeat(16);
    let url = format!("{CALLBACK}?challenge={id}&user=bob");
    let status = message_callback("sent", None);
    for (url, params, expected) in [
        (
            CALLBACK.to_owned(),
            status.clone(),
            ReceiptError::MissingChallenge,
        ),
        (
            format!("{CALLBACK}?challenge=12&user=bob"),
            status.clone(),
            ReceiptError::MalformedChallenge,
        ),
        (
            format!("{CALLBACK}?challenge={id}"),
            status.clone(),
            ReceiptError::MissingUser,
        ),
        (
            url.clone(),
            pairs(&[("To", UK_MOBILE)]),
            ReceiptError::MissingStatus,
        ),
        (
            url.clone(),
            pairs(&[("MessageStatus", "sent"), ("CallStatus", "ringing")]),
            ReceiptError::MissingStatus,
        ),
        (
            url.clone(),
            message_callback("teleported", None),
            ReceiptError::UnknownStatus,
        ),
        (
            url.clone(),
            message_callback("failed", Some("x")),
            ReceiptError::MalformedErrorCode,
        ),
    ] {
        assert_eq!(
            parse_status_callback(&url, &params),
            Err(expected),
            "{url} {params:?}"
        );
    }
    assert!(parse_status_callback(&url, &status).is_ok());
}
