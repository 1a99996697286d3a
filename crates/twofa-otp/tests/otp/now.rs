//! The conveniences: seconds left in a step, one-call keys from a key URI,
//! and the `*_now` methods that read the system clock.
//!
//! A `*_now` result is compared with its `*_at` counterpart at times read
//! around the call: the clock may cross a second or a step boundary during
//! the call, so the result must equal the counterpart at one of the two
//! readings. No sleep, no timing assertion.

use std::time::{SystemTime, UNIX_EPOCH};

use super::*;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A 160-bit secret and its key, as an app would have it.
fn totp() -> Totp {
    Totp::new(&rfc_secret(Algorithm::Sha1), Algorithm::Sha1)
}

#[test]
fn seconds_left_count_down_to_the_step_boundary() {
    let totp = totp();
    // Step 1 is [30, 59]: 30 left at its first second, 1 at its last.
    for (now, left) in [
        (0, 30),
        (1, 29),
        (29, 1),
        (30, 30),
        (31, 29),
        (59, 1),
        (60, 30),
    ] {
        assert_eq!(totp.seconds_left_at(now), Ok(left), "now = {now}");
    }
    // The step starting at `now + left` is the next one; the second before
    // it is still the current one.
    for now in [1_111_111_109, 1_234_567_890, 2_000_000_000] {
        let left = totp.seconds_left_at(now).unwrap();
        let step = totp.step_at(now).unwrap();
        assert_eq!(totp.step_at(now + left), Ok(step + 1), "now = {now}");
        assert_eq!(totp.step_at(now + left - 1), Ok(step), "now = {now}");
    }
    // Another step length and T0.
    let shifted = totp
        .clone()
        .with_step(Step::new(60).unwrap())
        .with_t0(1_000);
    assert_eq!(shifted.seconds_left_at(1_000), Ok(60));
    assert_eq!(shifted.seconds_left_at(1_059), Ok(1));
    assert_eq!(shifted.seconds_left_at(1_060), Ok(60));
    assert_eq!(
        shifted.seconds_left_at(999),
        Err(TimeError::BeforeT0 {
            now: 999,
            t0: 1_000
        })
    );
    // A 1 s step always has its last second left.
    let short = totp.clone().with_step(Step::new(1).unwrap());
    assert_eq!(short.seconds_left_at(12_345), Ok(1));
    // u64::MAX is 15 s into its step (u64::MAX mod 30 = 15); the next step
    // would start past u64::MAX, and nothing overflows.
    assert_eq!(totp.seconds_left_at(u64::MAX), Ok(15));
}

#[test]
fn generate_now_is_generate_at_the_clock() {
    let totp = totp();
    let before = unix_now();
    let code = code_text(&totp.generate_now().unwrap());
    let after = unix_now();
    let at = |now| code_text(&totp.generate(now).unwrap());
    assert!(
        code == at(before) || code == at(after),
        "{code} is neither the code at {before} nor at {after}"
    );
    // Before T0 (a T0 far in the future), the same error as `generate`.
    let future = totp.clone().with_t0(u64::MAX);
    assert!(matches!(
        future.generate_now(),
        Err(TimeError::BeforeT0 { t0: u64::MAX, .. })
    ));
}

#[test]
fn verify_now_accepts_the_current_code_once() {
    let totp = totp();
    let before = unix_now();
    let code = code_text(&totp.generate(before).unwrap());
    let accepted = totp.verify_now(&code, None, Window::default()).unwrap();
    let after = unix_now();
    // The code of `before` matched its own step, seen from whichever step
    // the clock was in during the call.
    assert_eq!(accepted.step, totp.step_at(before).unwrap());
    // The drift says which step was current during the call.
    let current = accepted.step.checked_add_signed(-accepted.drift).unwrap();
    assert!(
        (totp.step_at(before).unwrap()..=totp.step_at(after).unwrap()).contains(&current),
        "{accepted:?} between {before} and {after}"
    );
    // The replay guard: the stored step refuses the same code.
    assert_eq!(
        totp.verify_now(&code, Some(accepted.step), Window::default()),
        Err(CodeRejected::Replayed)
    );
    // A tampered code and a malformed one are refused as by `verify`.
    assert_eq!(
        totp.verify_now(&tampered(&code), None, Window::EXACT),
        Err(CodeRejected::OutOfWindow)
    );
    assert!(matches!(
        totp.verify_now("12345", None, Window::default()),
        Err(CodeRejected::Malformed(_))
    ));
    let future = totp.clone().with_t0(u64::MAX);
    assert_eq!(
        future.verify_now(&code, None, Window::default()),
        Err(CodeRejected::BeforeT0)
    );
}

#[test]
fn seconds_left_now_is_seconds_left_at_the_clock() {
    let totp = totp();
    let before = unix_now();
    let left = totp.seconds_left_now().unwrap();
    let after = unix_now();
    let at = |now| totp.seconds_left_at(now).unwrap();
    assert!(
        left == at(before) || left == at(after),
        "{left} is neither {} nor {}",
        at(before),
        at(after)
    );
    assert!((1..=30).contains(&left));
}

#[test]
fn totp_from_key_uri_is_ready_to_use() {
    // RFC 6238 Appendix B, SHA-256, 8 digits, T = 1111111109: 68084774.
    let seed = base32::encode(&rfc6238_seed(Algorithm::Sha256));
    let uri = format!(
        "otpauth://totp/ACME:alice?secret={seed}&issuer=ACME&algorithm=SHA256&digits=8&period=30"
    );
    let totp = Totp::from_key_uri(&uri).unwrap();
    assert_eq!(totp.algorithm(), Algorithm::Sha256);
    assert_eq!(totp.digits(), Digits::EIGHT);
    assert_eq!(totp.step(), Step::THIRTY_SECONDS);
    assert_eq!(totp.t0(), 0);
    assert_eq!(
        code_text(&totp.generate(1_111_111_109).unwrap()),
        "68084774"
    );
    let accepted = totp
        .verify("68084774", 1_111_111_109, None, Window::EXACT)
        .unwrap();
    assert_eq!((accepted.step, accepted.drift), (37_037_036, 0));
    // The period is honoured.
    let minute = format!("otpauth://totp/ACME:alice?secret={seed}&algorithm=SHA256&period=60");
    let totp = Totp::from_key_uri(&minute).unwrap();
    assert_eq!(totp.step().seconds(), 60);
    assert_eq!(totp.digits(), Digits::SIX);

    // The lenient variant reads what only lenient parsing accepts, and
    // reports a legacy secret.
    let legacy = "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example";
    assert_eq!(
        Totp::from_key_uri(legacy).err(),
        Some(UriError::Secret(SecretError::TooShort { bits: 80 }))
    );
    let (totp, strength) = Totp::from_key_uri_lenient(legacy).unwrap();
    assert_eq!(strength, SecretStrength::Legacy { bits: 80 });
    let secret = Secret::from_base32_weak("JBSWY3DPEHPK3PXP").unwrap().0;
    assert_eq!(
        code_text(&totp.generate(59).unwrap()),
        reference_hotp(Algorithm::Sha1, secret.expose_secret(), 1, 6)
    );
    let vendor = format!("otpauth://TOTP/Big%20Vendor%3Abob?secret={seed}&ALGORITHM=sha256");
    assert_eq!(
        Totp::from_key_uri(&vendor).err(),
        Some(UriError::UnknownType)
    );
    let (totp, strength) = Totp::from_key_uri_lenient(&vendor).unwrap();
    assert_eq!(strength, SecretStrength::Full);
    assert_eq!(totp.algorithm(), Algorithm::Sha256);

    // An HOTP key URI is not a TOTP key, in either mode.
    let hotp = format!("otpauth://hotp/ACME:alice?secret={seed}&counter=5");
    assert_eq!(Totp::from_key_uri(&hotp).err(), Some(UriError::NotTotp));
    assert_eq!(
        Totp::from_key_uri_lenient(&hotp).err(),
        Some(UriError::NotTotp)
    );
    // Parse errors come through unchanged.
    assert_eq!(
        Totp::from_key_uri("https://example.com").err(),
        Some(UriError::Scheme)
    );
}
