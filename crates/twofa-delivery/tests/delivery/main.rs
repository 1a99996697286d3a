//! Integration tests of the public API of `twofa-delivery`.
//!
//! This file holds the helpers shared by the topic modules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions fail the test by panicking"
)]

mod challenges;
mod destinations;
mod identifiers;
mod messages;
mod notices;
mod policy;
mod push;
mod receipts;
mod resend;

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use twofa_delivery::*;
use twofa_types::{Channel, ChannelSet, CodeChannel, UserId};

/// Drives a future that needs no real waker (every adapter here is
/// in-memory and ready at once).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn key() -> ServerKey {
    ServerKey::from_bytes(&[7u8; 32]).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

fn templates() -> MessageTemplates {
    MessageTemplates::new(Issuer::new("Example Portal").unwrap())
        .with_origin_host(OriginHost::new("portal.example.com").unwrap())
}

fn gb() -> Region {
    Region::new("GB").unwrap()
}

fn uk_mobile() -> PhoneNumber {
    PhoneNumber::parse("07400 123456", gb()).unwrap()
}

/// Hands a message to the outbox's adapter for its channel, as a caller's
/// I/O layer does.
fn send(outbox: &Outbox, message: &OutboundMessage) -> Result<(), SendError> {
    block_on(async {
        match message {
            OutboundMessage::Sms(sms) => outbox.send_sms(sms).await,
            OutboundMessage::Voice(voice) => outbox.place_call(voice).await,
            OutboundMessage::Email(email) => outbox.send_email(email).await,
        }
    })
}

fn user() -> UserId {
    UserId::new("user-1").unwrap()
}

fn sms_request() -> ChallengeRequest {
    ChallengeRequest::new(
        user(),
        Purpose::Enrollment,
        Destination::Phone(uk_mobile()),
        CodeChannel::Sms,
    )
}

/// Issues and commits an SMS challenge; returns it with its plain code.
fn issued(policy: &ChallengePolicy, seed: u64) -> (OobChallenge, String) {
    let prepared = OobChallenge::issue(
        sms_request(),
        policy,
        &templates(),
        &key(),
        t0(),
        &mut rng(seed),
    )
    .unwrap();
    let code = prepared.code().expose_secret().to_owned();
    (prepared.commit(), code)
}

/// A code of the same length that differs from `code` in its last digit.
fn tampered(code: &str) -> String {
    let mut bytes = code.as_bytes().to_vec();
    let last = bytes.last_mut().unwrap();
    *last = if *last == b'9' { b'0' } else { *last + 1 };
    String::from_utf8(bytes).unwrap()
}

/// Fails when `text` holds a secret or a full destination.
fn assert_clean(text: &str, forbidden: &[&str]) {
    for needle in forbidden {
        assert!(
            !text.contains(needle),
            "printable output leaks {needle:?}: {text}"
        );
    }
}
