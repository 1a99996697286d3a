//! Integration tests of `twofa-twilio` against a stand-in for Twilio on
//! 127.0.0.1, through the public API only.
//!
//! This file holds the helpers shared by the topic modules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions fail the test by panicking"
)]

mod callbacks;
mod capture;
mod logging;
mod lookup;
mod sms;
mod standin;
mod voice;

use core::time::Duration;

use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, KeyInit, Mac};
use rand::SeedableRng;
use rand::rngs::StdRng;
use sha1::Sha1;
use twofa_delivery::{
    ChallengePolicy, ChallengeRequest, Destination, Issuer, MessageTemplates, OobChallenge,
    OriginHost, OutboundMessage, PhoneNumber, PreparedSend, Purpose, ServerKey, SmsMessage,
    VoiceMessage,
};
use twofa_twilio::{
    AccountSid, AuthToken, Credentials, RetryPolicy, TwilioClient, TwilioConfig, TwilioSender,
};
use twofa_types::{CodeChannel, UserId};

use crate::standin::{Reply, StandIn};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "9f86d081884c7d659a2feaa0c55ad015";
const SENDER: &str = "+15017122661";
const CALLBACK: &str = "https://portal.example.com/twilio/status";
const UK_MOBILE: &str = "+447400123456";

fn uk_mobile() -> PhoneNumber {
    PhoneNumber::from_e164(UK_MOBILE).unwrap()
}

/// The configuration every test starts from: the stand-in for both APIs,
/// a status callback, quick retries.
fn config(standin: &StandIn) -> TwilioConfig {
    TwilioConfig::new(
        AccountSid::new(ACCOUNT).unwrap(),
        Credentials::AuthToken(AuthToken::new(TOKEN).unwrap()),
        TwilioSender::number(SENDER).unwrap(),
    )
    .with_api_base_url(&standin.base_url)
    .unwrap()
    .with_lookup_base_url(&standin.base_url)
    .unwrap()
    .with_status_callback(CALLBACK)
    .unwrap()
    .with_retry(
        RetryPolicy::new(3)
            .unwrap()
            .with_backoff(Duration::from_millis(1), Duration::from_millis(4))
            .unwrap()
            .with_max_retry_after(Duration::from_secs(1)),
    )
}

/// A stand-in for the test account, answering with `script`.
async fn standin(script: Vec<Reply>) -> StandIn {
    StandIn::start(ACCOUNT, ACCOUNT, TOKEN, script).await
}

fn client(config: TwilioConfig) -> TwilioClient {
    capture::install();
    TwilioClient::new(config)
        .expect("HTTP client; on Debian the system CA certificates come with `ca-certificates`")
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn templates() -> MessageTemplates {
    MessageTemplates::new(Issuer::new("Example Portal").unwrap())
        .with_origin_host(OriginHost::new("portal.example.com").unwrap())
}

/// A code challenge to `to` through `channel`, rendered with `templates`,
/// ready to send.
fn prepared(channel: CodeChannel, templates: &MessageTemplates, seed: u64) -> PreparedSend {
    let request = ChallengeRequest::new(
        UserId::new("user-1").unwrap(),
        Purpose::Enrollment,
        Destination::Phone(uk_mobile()),
        channel,
    );
    let key = ServerKey::from_bytes(&[7u8; 32]).unwrap();
    OobChallenge::issue(
        request,
        &ChallengePolicy::default(),
        templates,
        &key,
        t0(),
        &mut StdRng::seed_from_u64(seed),
    )
    .unwrap()
}

fn sms_of(prepared: &PreparedSend) -> &SmsMessage {
    match prepared.message() {
        OutboundMessage::Sms(sms) => sms,
        other => panic!("SMS expected, got {other:?}"),
    }
}

fn voice_of(prepared: &PreparedSend) -> &VoiceMessage {
    match prepared.message() {
        OutboundMessage::Voice(call) => call,
        other => panic!("call expected, got {other:?}"),
    }
}

/// Twilio's signature, computed here independently of the crate: Base64
/// of HMAC-SHA1 over the URL and each parameter's name and value, sorted
/// by name.
fn twilio_signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (name, value) in &sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}
