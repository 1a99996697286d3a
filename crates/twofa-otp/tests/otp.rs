//! Behaviour of the public API: RFC vectors, boundaries, replay, HOTP
//! resync, key URIs, QR, redaction and allocation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    reason = "test helpers outside #[test] functions fail the test by panicking"
)]

use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use twofa_otp::{
    Algorithm, Base32Error, Code, CodeError, CodeRejected, CompatibilityWarning, ConfigError,
    Digits, Hotp, HotpAccepted, KeyUri, LookAhead, OtpKind, ParseMode, ResyncWindow, Secret,
    SecretError, SecretStrength, Step, TimeError, Totp, TotpAccepted, UriError, UriPart, Window,
    base32,
};

// ---------------------------------------------------------------------------
// An independent reference: HOTP written directly from RFC 4226 §5.3 on top
// of the `hmac` crate, sharing no code with the crate under test.

fn reference_hotp(algorithm: Algorithm, key: &[u8], counter: u64, digits: u32) -> String {
    let message = counter.to_be_bytes();
    let tag: Vec<u8> = match algorithm {
        Algorithm::Sha1 => Hmac::<sha1::Sha1>::new_from_slice(key)
            .unwrap()
            .chain_update(message)
            .finalize()
            .into_bytes()
            .to_vec(),
        Algorithm::Sha256 => Hmac::<sha2::Sha256>::new_from_slice(key)
            .unwrap()
            .chain_update(message)
            .finalize()
            .into_bytes()
            .to_vec(),
        Algorithm::Sha512 => Hmac::<sha2::Sha512>::new_from_slice(key)
            .unwrap()
            .chain_update(message)
            .finalize()
            .into_bytes()
            .to_vec(),
    };
    let offset = usize::from(tag[tag.len() - 1] & 0xf);
    let binary = (u32::from(tag[offset]) & 0x7f) << 24
        | u32::from(tag[offset + 1]) << 16
        | u32::from(tag[offset + 2]) << 8
        | u32::from(tag[offset + 3]);
    let modulus = 10u64.pow(digits);
    format!(
        "{:0width$}",
        u64::from(binary) % modulus,
        width = digits as usize
    )
}

/// The RFC 6238 Appendix B seeds: "12345678901234567890" repeated to the
/// hash output length (20, 32 or 64 bytes).
fn rfc6238_seed(algorithm: Algorithm) -> Vec<u8> {
    b"1234567890"
        .iter()
        .cycle()
        .take(algorithm.output_len())
        .copied()
        .collect()
}

fn rfc_secret(algorithm: Algorithm) -> Secret {
    Secret::from_bytes(&rfc6238_seed(algorithm)).unwrap()
}

/// A code with one digit changed (the last digit plus one, mod 10).
fn tampered(code: &str) -> String {
    let mut bytes = code.as_bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] = b'0' + (bytes[last] - b'0' + 1) % 10;
    String::from_utf8(bytes).unwrap()
}

fn code_text(code: &Code) -> String {
    code.expose_secret().as_str().to_owned()
}

fn digits(n: u32) -> Digits {
    Digits::new(n).unwrap()
}

/// Every public type is `Send + Sync` (checked at compile time).
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Secret>();
    send_sync::<SecretStrength>();
    send_sync::<Code>();
    send_sync::<twofa_otp::CodeText>();
    send_sync::<Totp>();
    send_sync::<Hotp>();
    send_sync::<TotpAccepted>();
    send_sync::<HotpAccepted>();
    send_sync::<CodeRejected>();
    send_sync::<KeyUri>();
    send_sync::<OtpKind>();
    send_sync::<ParseMode>();
    send_sync::<UriError>();
    send_sync::<CompatibilityWarning>();
    send_sync::<Algorithm>();
    send_sync::<Digits>();
    send_sync::<Step>();
    send_sync::<Window>();
    send_sync::<LookAhead>();
    send_sync::<ResyncWindow>();
    send_sync::<ConfigError>();
    send_sync::<SecretError>();
    send_sync::<Base32Error>();
    send_sync::<CodeError>();
    send_sync::<TimeError>();
};

// ---------------------------------------------------------------------------
// RFC 4226 Appendix D

/// RFC 4226 Appendix D, secret "12345678901234567890": HOTP values for
/// counters 0 to 9. (The intermediate HMAC and truncated values are
/// checked by the unit tests of the `mac` module.)
const RFC4226_CODES: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

#[test]
fn rfc4226_appendix_d_codes_and_tampered_codes() {
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    let hotp = Hotp::new(&secret, Algorithm::Sha1);
    let exact = LookAhead::new(0).unwrap();
    for (counter, &expected) in (0u64..).zip(RFC4226_CODES.iter()) {
        assert_eq!(code_text(&hotp.generate(counter)), expected);
        assert_eq!(
            reference_hotp(Algorithm::Sha1, b"12345678901234567890", counter, 6),
            expected
        );
        let accepted = hotp.verify(expected, counter, exact).unwrap();
        assert_eq!(accepted.counter, counter);
        assert_eq!(accepted.next_counter, Some(counter + 1));
        assert_eq!(
            hotp.verify(&tampered(expected), counter, exact),
            Err(CodeRejected::OutOfWindow),
            "tampered code at counter {counter}"
        );
    }
}

#[test]
fn hotp_look_ahead_accepts_within_and_rejects_beyond() {
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    let hotp = Hotp::new(&secret, Algorithm::Sha1);
    // Code for counter 9, server expects 0: inside a look-ahead of 9, not 8.
    let accepted = hotp
        .verify(RFC4226_CODES[9], 0, LookAhead::new(9).unwrap())
        .unwrap();
    assert_eq!((accepted.counter, accepted.next_counter), (9, Some(10)));
    assert_eq!(
        hotp.verify(RFC4226_CODES[9], 0, LookAhead::new(8).unwrap()),
        Err(CodeRejected::OutOfWindow)
    );
    // A counter already used (below the expected one) is never accepted.
    assert_eq!(
        hotp.verify(RFC4226_CODES[3], 4, LookAhead::default()),
        Err(CodeRejected::OutOfWindow)
    );
    assert_eq!(LookAhead::default().get(), 10);
    assert_eq!(
        LookAhead::new(101),
        Err(ConfigError::LookAheadTooLarge { counters: 101 })
    );
}

// ---------------------------------------------------------------------------
// RFC 6238 Appendix B

/// RFC 6238 Appendix B: time, algorithm, 8-digit TOTP (X = 30, T0 = 0).
const RFC6238: [(u64, Algorithm, &str); 18] = [
    (59, Algorithm::Sha1, "94287082"),
    (59, Algorithm::Sha256, "46119246"),
    (59, Algorithm::Sha512, "90693936"),
    (1_111_111_109, Algorithm::Sha1, "07081804"),
    (1_111_111_109, Algorithm::Sha256, "68084774"),
    (1_111_111_109, Algorithm::Sha512, "25091201"),
    (1_111_111_111, Algorithm::Sha1, "14050471"),
    (1_111_111_111, Algorithm::Sha256, "67062674"),
    (1_111_111_111, Algorithm::Sha512, "99943326"),
    (1_234_567_890, Algorithm::Sha1, "89005924"),
    (1_234_567_890, Algorithm::Sha256, "91819424"),
    (1_234_567_890, Algorithm::Sha512, "93441116"),
    (2_000_000_000, Algorithm::Sha1, "69279037"),
    (2_000_000_000, Algorithm::Sha256, "90698825"),
    (2_000_000_000, Algorithm::Sha512, "38618901"),
    (20_000_000_000, Algorithm::Sha1, "65353130"),
    (20_000_000_000, Algorithm::Sha256, "77737706"),
    (20_000_000_000, Algorithm::Sha512, "47863826"),
];

#[test]
fn rfc6238_appendix_b_all_rows_and_tampered_codes() {
    for (time, algorithm, expected) in RFC6238 {
        let totp = Totp::new(&rfc_secret(algorithm), algorithm).with_digits(Digits::EIGHT);
        let step = time / 30;
        assert_eq!(totp.step_at(time), Ok(step));
        assert_eq!(
            code_text(&totp.generate(time).unwrap()),
            expected,
            "{algorithm} at {time}"
        );
        assert_eq!(
            reference_hotp(algorithm, &rfc6238_seed(algorithm), step, 8),
            expected
        );
        let accepted: TotpAccepted = totp.verify(expected, time, None, Window::EXACT).unwrap();
        assert_eq!((accepted.step, accepted.drift), (step, 0));
        assert_eq!(
            totp.verify(&tampered(expected), time, None, Window::EXACT),
            Err(CodeRejected::OutOfWindow),
            "tampered {algorithm} at {time}"
        );
        // The same row with the key of another algorithm is refused.
        let other =
            Algorithm::ALL[(Algorithm::ALL.iter().position(|a| *a == algorithm).unwrap() + 1) % 3];
        let wrong = Totp::new(&rfc_secret(other), other).with_digits(Digits::EIGHT);
        assert_eq!(
            wrong.verify(expected, time, None, Window::EXACT),
            Err(CodeRejected::OutOfWindow)
        );
    }
}

// ---------------------------------------------------------------------------
// Leading zeros, all-zero codes, 7 and 8 digits

/// (algorithm, digits, counter) whose code is all zeros for the RFC 6238
/// seed of that algorithm. Found by an exhaustive search over counters from
/// 0 with an independent HOTP implementation; re-checked below with the
/// in-file reference.
const ALL_ZERO: [(Algorithm, u32, u64); 4] = [
    (Algorithm::Sha1, 6, 349_495),
    (Algorithm::Sha256, 6, 1_105_103),
    (Algorithm::Sha512, 7, 17_443_943),
    (Algorithm::Sha1, 8, 32_387_340),
];

#[test]
fn all_zero_codes_render_and_verify() {
    for (algorithm, n, counter) in ALL_ZERO {
        let zeros = "0".repeat(n as usize);
        assert_eq!(
            reference_hotp(algorithm, &rfc6238_seed(algorithm), counter, n),
            zeros
        );
        let secret = rfc_secret(algorithm);
        let hotp = Hotp::new(&secret, algorithm).with_digits(digits(n));
        assert_eq!(code_text(&hotp.generate(counter)), zeros);
        assert!(
            hotp.verify(&zeros, counter, LookAhead::new(0).unwrap())
                .is_ok()
        );
        assert_eq!(
            hotp.verify(&tampered(&zeros), counter, LookAhead::new(0).unwrap()),
            Err(CodeRejected::OutOfWindow)
        );
        // The same counter as a TOTP step.
        let totp = Totp::new(&secret, algorithm).with_digits(digits(n));
        let now = counter * 30 + 7;
        assert_eq!(code_text(&totp.generate(now).unwrap()), zeros);
        let accepted = totp.verify(&zeros, now, None, Window::EXACT).unwrap();
        assert_eq!(accepted.step, counter);
    }
}

#[test]
fn leading_zero_codes_found_by_search() {
    // Search the first counters of each algorithm and digit count for codes
    // starting with "00"; each is checked against the reference.
    for algorithm in Algorithm::ALL {
        let seed = rfc6238_seed(algorithm);
        let secret = rfc_secret(algorithm);
        for n in 6..=8 {
            let hotp = Hotp::new(&secret, algorithm).with_digits(digits(n));
            let counter = (0..5_000u64)
                .find(|&c| reference_hotp(algorithm, &seed, c, n).starts_with("00"))
                .expect("a code with two leading zeros in 5000 counters");
            let expected = reference_hotp(algorithm, &seed, counter, n);
            assert_eq!(expected.len(), n as usize);
            assert_eq!(code_text(&hotp.generate(counter)), expected);
            assert!(
                hotp.verify(&expected, counter, LookAhead::new(0).unwrap())
                    .is_ok()
            );
            // Without its leading zeros the code is malformed, not a match.
            let stripped = expected.trim_start_matches('0');
            assert!(matches!(
                hotp.verify(stripped, counter, LookAhead::new(0).unwrap()),
                Err(CodeRejected::Malformed(_))
            ));
        }
    }
}

#[test]
fn seven_and_eight_digit_codes_match_the_reference() {
    for algorithm in Algorithm::ALL {
        let seed = rfc6238_seed(algorithm);
        let secret = rfc_secret(algorithm);
        for n in [7, 8] {
            let totp = Totp::new(&secret, algorithm).with_digits(digits(n));
            for now in [0u64, 59, 1_111_111_109, 20_000_000_000] {
                let expected = reference_hotp(algorithm, &seed, now / 30, n);
                assert_eq!(code_text(&totp.generate(now).unwrap()), expected);
                assert!(totp.verify(&expected, now, None, Window::EXACT).is_ok());
                assert_eq!(
                    totp.verify(&tampered(&expected), now, None, Window::EXACT),
                    Err(CodeRejected::OutOfWindow)
                );
                // A 6-digit prefix is malformed for a 7/8-digit key.
                assert!(matches!(
                    totp.verify(&expected[..6], now, None, Window::EXACT),
                    Err(CodeRejected::Malformed(CodeError::WrongLength { .. }))
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Parameters

#[test]
fn parameters_are_validated() {
    for n in [0, 1, 5, 9, 10, u32::MAX] {
        assert_eq!(
            Digits::new(n),
            Err(ConfigError::DigitsOutOfRange { digits: n })
        );
    }
    assert_eq!(Digits::default(), Digits::SIX);
    assert_eq!(
        Step::new(0),
        Err(ConfigError::StepOutOfRange { seconds: 0 })
    );
    assert_eq!(
        Step::new(121),
        Err(ConfigError::StepOutOfRange { seconds: 121 })
    );
    assert_eq!(Step::new(1).unwrap().seconds(), 1);
    assert_eq!(Step::new(120).unwrap().seconds(), 120);
    assert_eq!(Step::default().seconds(), 30);
    assert_eq!(
        Window::new(11, 0),
        Err(ConfigError::WindowTooLarge {
            behind: 11,
            ahead: 0
        })
    );
    assert_eq!(
        Window::new(0, 11),
        Err(ConfigError::WindowTooLarge {
            behind: 0,
            ahead: 11
        })
    );
    let default = Window::default();
    assert_eq!((default.behind(), default.ahead()), (1, 1));
    assert_eq!(
        ResyncWindow::new(0),
        Err(ConfigError::ResyncWindowOutOfRange { counters: 0 })
    );
    assert_eq!(ResyncWindow::default().get(), 1000);
    assert_eq!(Algorithm::default(), Algorithm::Sha1);
    assert_eq!(Algorithm::from_name("SHA512"), Ok(Algorithm::Sha512));
    assert_eq!(
        Algorithm::from_name("sha1"),
        Err(ConfigError::UnknownAlgorithm)
    );
    assert_eq!("sha256".parse::<Algorithm>(), Ok(Algorithm::Sha256));
    assert_eq!("SHA1".parse::<Algorithm>(), Ok(Algorithm::Sha1));
    assert_eq!(
        "sha-1".parse::<Algorithm>(),
        Err(ConfigError::UnknownAlgorithm)
    );
    assert_eq!(Algorithm::Sha512.to_string(), "SHA512");
}

// ---------------------------------------------------------------------------
// Step boundaries, T0, window edges

#[test]
fn step_boundaries_exact_window() {
    let secret = rfc_secret(Algorithm::Sha1);
    let totp = Totp::new(&secret, Algorithm::Sha1);
    let step1 = code_text(&totp.generate_at_step(1));
    // Step 1 covers [30, 59].
    assert_eq!(totp.step_start(1), Some(30));
    for (now, accepted) in [
        (29, false),
        (30, true),
        (31, true),
        (58, true),
        (59, true),
        (60, false),
        (61, false),
    ] {
        let result = totp.verify(&step1, now, None, Window::EXACT);
        assert_eq!(result.is_ok(), accepted, "now = {now}");
    }
}

#[test]
fn step_boundaries_default_window() {
    let secret = rfc_secret(Algorithm::Sha1);
    let totp = Totp::new(&secret, Algorithm::Sha1);
    let step2 = code_text(&totp.generate_at_step(2));
    // Step 2 is accepted while the current step is 1, 2 or 3: [30, 119].
    for (now, expected) in [
        (29, None),
        (30, Some(1)),
        (31, Some(1)),
        (59, Some(1)),
        (60, Some(0)),
        (89, Some(0)),
        (90, Some(-1)),
        (119, Some(-1)),
        (120, None),
        (121, None),
    ] {
        let result = totp.verify(&step2, now, None, Window::default());
        match expected {
            Some(drift) => {
                let accepted = result.unwrap();
                assert_eq!((accepted.step, accepted.drift), (2, drift), "now = {now}");
            }
            None => assert_eq!(result, Err(CodeRejected::OutOfWindow), "now = {now}"),
        }
    }
}

#[test]
fn asymmetric_window() {
    let secret = rfc_secret(Algorithm::Sha1);
    let totp = Totp::new(&secret, Algorithm::Sha1);
    let window = Window::new(2, 0).unwrap();
    let now = 300; // step 10
    for (step, accepted) in [(7, false), (8, true), (9, true), (10, true), (11, false)] {
        let code = code_text(&totp.generate_at_step(step));
        assert_eq!(
            totp.verify(&code, now, None, window).is_ok(),
            accepted,
            "step {step}"
        );
    }
}

#[test]
fn t0_and_times_before_it() {
    let secret = rfc_secret(Algorithm::Sha1);
    let totp = Totp::new(&secret, Algorithm::Sha1).with_t0(1_000);
    assert_eq!(
        totp.step_at(999),
        Err(TimeError::BeforeT0 {
            now: 999,
            t0: 1_000
        })
    );
    assert!(totp.generate(999).is_err());
    assert_eq!(totp.step_at(1_000), Ok(0));
    assert_eq!(totp.step_at(1_029), Ok(0));
    assert_eq!(totp.step_at(1_030), Ok(1));
    let step0 = code_text(&totp.generate(1_000).unwrap());
    assert_eq!(
        totp.verify(&step0, 999, None, Window::default()),
        Err(CodeRejected::BeforeT0)
    );
    // At T0 the window's "behind" step does not exist and is skipped.
    let accepted = totp
        .verify(&step0, 1_000, None, Window::new(10, 10).unwrap())
        .unwrap();
    assert_eq!((accepted.step, accepted.drift), (0, 0));
    assert_eq!(
        totp.verify(&step0, 0, None, Window::default()),
        Err(CodeRejected::BeforeT0)
    );
    // The code of T0-relative step 0 equals the RFC generator's step 0.
    assert_eq!(
        step0,
        reference_hotp(Algorithm::Sha1, &rfc6238_seed(Algorithm::Sha1), 0, 6)
    );
}

#[test]
fn last_step_and_time_extremes_do_not_overflow() {
    let secret = rfc_secret(Algorithm::Sha1);
    let one_second = Totp::new(&secret, Algorithm::Sha1).with_step(Step::new(1).unwrap());
    // now = u64::MAX is step u64::MAX; the "ahead" candidate does not exist.
    let max = code_text(&one_second.generate(u64::MAX).unwrap());
    assert_eq!(
        max,
        reference_hotp(Algorithm::Sha1, &rfc6238_seed(Algorithm::Sha1), u64::MAX, 6)
    );
    let accepted = one_second
        .verify(&max, u64::MAX, None, Window::new(10, 10).unwrap())
        .unwrap();
    assert_eq!((accepted.step, accepted.drift), (u64::MAX, 0));
    let before = code_text(&one_second.generate_at_step(u64::MAX - 1));
    let accepted = one_second
        .verify(&before, u64::MAX, Some(u64::MAX - 2), Window::default())
        .unwrap();
    assert_eq!((accepted.step, accepted.drift), (u64::MAX - 1, -1));
    // Last accepted u64::MAX: nothing can ever be accepted again.
    assert_eq!(
        one_second.verify(&max, u64::MAX, Some(u64::MAX), Window::default()),
        Err(CodeRejected::Replayed)
    );
    // The largest step and T0.
    let slow = Totp::new(&secret, Algorithm::Sha1)
        .with_step(Step::new(120).unwrap())
        .with_t0(u64::MAX);
    assert_eq!(slow.step_at(u64::MAX), Ok(0));
    assert_eq!(slow.step_start(1), None);
    let code = code_text(&slow.generate(u64::MAX).unwrap());
    assert!(
        slow.verify(&code, u64::MAX, None, Window::new(10, 10).unwrap())
            .is_ok()
    );
    // now = 0 with T0 = 0: step 0, behind candidates skipped.
    let totp = Totp::new(&secret, Algorithm::Sha1);
    let zero = code_text(&totp.generate(0).unwrap());
    assert!(
        totp.verify(&zero, 0, None, Window::new(10, 0).unwrap())
            .is_ok()
    );
}

// ---------------------------------------------------------------------------
// Replay

#[test]
fn replay_is_rejected_and_newer_steps_accepted() {
    let secret = rfc_secret(Algorithm::Sha1);
    let totp = Totp::new(&secret, Algorithm::Sha1);
    let now = 1_000_000_020; // step 33_333_334
    let current = totp.step_at(now).unwrap();
    let code = code_text(&totp.generate(now).unwrap());
    let accepted = totp.verify(&code, now, None, Window::default()).unwrap();
    assert_eq!(accepted.step, current);
    let last = Some(accepted.step);
    // The same code, same step or one step later (still in the window).
    assert_eq!(
        totp.verify(&code, now, last, Window::default()),
        Err(CodeRejected::Replayed)
    );
    assert_eq!(
        totp.verify(&code, now + 30, last, Window::default()),
        Err(CodeRejected::Replayed)
    );
    // Out of the window it is simply out of window.
    assert_eq!(
        totp.verify(&code, now + 60, last, Window::default()),
        Err(CodeRejected::OutOfWindow)
    );
    // An older step's code (behind, below the last accepted) is a replay too.
    let older = code_text(&totp.generate_at_step(current - 1));
    assert_eq!(
        totp.verify(&older, now, last, Window::default()),
        Err(CodeRejected::Replayed)
    );
    // The next step's code is accepted, as drift +1.
    let next = code_text(&totp.generate_at_step(current + 1));
    let accepted = totp.verify(&next, now, last, Window::default()).unwrap();
    assert_eq!((accepted.step, accepted.drift), (current + 1, 1));
    // A tampered code after a success is out of window, not a replay.
    assert_eq!(
        totp.verify(&tampered(&code), now, last, Window::default()),
        Err(CodeRejected::OutOfWindow)
    );
}

// ---------------------------------------------------------------------------
// HOTP at the end of the counter space, and resync

#[test]
fn hotp_counter_u64_max() {
    let secret = rfc_secret(Algorithm::Sha1);
    let hotp = Hotp::new(&secret, Algorithm::Sha1);
    let code = code_text(&hotp.generate(u64::MAX));
    assert_eq!(
        code,
        reference_hotp(Algorithm::Sha1, &rfc6238_seed(Algorithm::Sha1), u64::MAX, 6)
    );
    let accepted = hotp.verify(&code, u64::MAX, LookAhead::default()).unwrap();
    assert_eq!((accepted.counter, accepted.next_counter), (u64::MAX, None));
    let accepted = hotp
        .verify(&code, u64::MAX - 5, LookAhead::default())
        .unwrap();
    assert_eq!((accepted.counter, accepted.next_counter), (u64::MAX, None));
    let before = code_text(&hotp.generate(u64::MAX - 1));
    let accepted = hotp
        .verify(&before, u64::MAX - 1, LookAhead::default())
        .unwrap();
    assert_eq!(
        (accepted.counter, accepted.next_counter),
        (u64::MAX - 1, Some(u64::MAX))
    );
    assert_eq!(
        hotp.verify(&tampered(&code), u64::MAX, LookAhead::default()),
        Err(CodeRejected::OutOfWindow)
    );
}

#[test]
fn hotp_resync() {
    let secret = rfc_secret(Algorithm::Sha1);
    let hotp = Hotp::new(&secret, Algorithm::Sha1);
    let window = ResyncWindow::default();
    let code = |c: u64| code_text(&hotp.generate(c));
    let base = 5_000;
    // Device pressed 500 times without the server seeing it.
    let accepted = hotp
        .resync(&code(base + 500), &code(base + 501), base, window)
        .unwrap();
    assert_eq!(
        (accepted.counter, accepted.next_counter),
        (base + 501, Some(base + 502))
    );
    // The first code at the first and last allowed counters.
    assert!(
        hotp.resync(&code(base), &code(base + 1), base, window)
            .is_ok()
    );
    let accepted = hotp
        .resync(&code(base + 999), &code(base + 1000), base, window)
        .unwrap();
    assert_eq!(accepted.counter, base + 1000);
    // One past the window.
    assert_eq!(
        hotp.resync(&code(base + 1000), &code(base + 1001), base, window),
        Err(CodeRejected::OutOfWindow)
    );
    // Reversed and non-consecutive pairs.
    assert_eq!(
        hotp.resync(&code(base + 11), &code(base + 10), base, window),
        Err(CodeRejected::NotConsecutive)
    );
    assert_eq!(
        hotp.resync(&code(base + 10), &code(base + 12), base, window),
        Err(CodeRejected::NotConsecutive)
    );
    // Codes below the stored counter.
    assert!(
        hotp.resync(&code(base - 2), &code(base - 1), base, window)
            .is_err()
    );
    // Tampered second code.
    assert!(
        hotp.resync(&code(base + 7), &tampered(&code(base + 8)), base, window)
            .is_err()
    );
    // Malformed codes.
    assert!(matches!(
        hotp.resync("12345", &code(base + 1), base, window),
        Err(CodeRejected::Malformed(_))
    ));
    // At the end of the counter space.
    let accepted = hotp
        .resync(&code(u64::MAX - 1), &code(u64::MAX), u64::MAX - 3, window)
        .unwrap();
    assert_eq!((accepted.counter, accepted.next_counter), (u64::MAX, None));
    assert_eq!(
        hotp.resync(&code(u64::MAX), &code(0), u64::MAX - 3, window),
        Err(CodeRejected::OutOfWindow)
    );
}

// ---------------------------------------------------------------------------
// Codes

#[test]
fn codes_are_parsed_strictly() {
    let six = Digits::SIX;
    for bad in [
        "+287082",
        " 287082",
        "287082 ",
        "0287082",
        "28708",
        "",
        "２８７０８２",
        "28708\u{665}",
        "-28708",
        "2870.2",
    ] {
        assert!(Code::parse(bad, six).is_err(), "{bad:?}");
    }
    assert_eq!(Code::parse("", six).err(), Some(CodeError::Empty));
    assert!(Code::parse("287082", six).is_ok());
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    let hotp = Hotp::new(&secret, Algorithm::Sha1);
    for bad in ["+287082", " 287082", "0287082", ""] {
        assert!(matches!(
            hotp.verify(bad, 1, LookAhead::default()),
            Err(CodeRejected::Malformed(_))
        ));
    }
    // A parsed code with the wrong digit count.
    let eight = Code::parse("00287082", Digits::EIGHT).unwrap();
    assert!(matches!(
        hotp.verify_code(&eight, 1, LookAhead::default()),
        Err(CodeRejected::Malformed(CodeError::WrongLength { .. }))
    ));
    let six_code = Code::parse("287082", six).unwrap();
    assert!(hotp.verify_code(&six_code, 1, LookAhead::default()).is_ok());
    assert!(six_code.ct_eq(&hotp.generate(1)));
    assert!(!six_code.ct_eq(&hotp.generate(2)));
}

// ---------------------------------------------------------------------------
// Secrets and base32

#[test]
fn secrets_enforce_lengths_and_report_weakness() {
    // 80-bit secret from Google's Key Uri Format example.
    assert_eq!(
        Secret::from_base32("JBSWY3DPEHPK3PXP").err(),
        Some(SecretError::TooShort { bits: 80 })
    );
    let (secret, strength) = Secret::from_base32_weak("JBSWY3DPEHPK3PXP").unwrap();
    assert_eq!(strength, SecretStrength::Legacy { bits: 80 });
    assert_eq!(secret.strength(), SecretStrength::Legacy { bits: 80 });
    assert_eq!(secret.expose_secret(), b"Hello!\xde\xad\xbe\xef");
    assert_eq!(
        Secret::from_base32_weak("JBSWY3DPEHPK3P").err(),
        Some(SecretError::Base32(Base32Error::InvalidLength {
            symbols: 14
        }))
    );
    assert_eq!(
        Secret::from_bytes_weak(&[1; 9]).err(),
        Some(SecretError::TooWeak { bits: 72 })
    );
    let strong = Secret::from_base32("jbsw y3dp-ehpk 3pxp jbsw y3dp ehpk 3pxp====").unwrap();
    assert_eq!(strong.bits(), 160);
    assert_eq!(strong.strength(), SecretStrength::Full);
    assert_eq!(
        strong.to_base32().as_str(),
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    );
    let same = Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap();
    assert!(strong.ct_eq(&same));
    assert!(!strong.ct_eq(&rfc_secret(Algorithm::Sha1)));
}

#[test]
fn secrets_are_generated_at_hash_length() {
    let mut rng = rand::rng();
    for algorithm in Algorithm::ALL {
        let a = Secret::generate(&mut rng, algorithm);
        let b = Secret::generate(&mut rng, algorithm);
        assert_eq!(a.expose_secret().len(), algorithm.output_len());
        assert!(!a.ct_eq(&b));
    }
    assert_eq!(
        Secret::generate_with_len(&mut rng, 15).err(),
        Some(SecretError::TooShort { bits: 120 })
    );
    assert_eq!(
        Secret::generate_with_len(&mut rng, 65).err(),
        Some(SecretError::TooLong { bytes: 65, max: 64 })
    );
    assert_eq!(Secret::generate_with_len(&mut rng, 64).unwrap().bits(), 512);
}

#[test]
fn base32_rejections_point_at_the_character() {
    let mut out = [0u8; 64];
    assert_eq!(
        base32::decode_into("JBSW Y3DP 1HPK", &mut out),
        Err(Base32Error::InvalidCharacter { position: 10 })
    );
    assert_eq!(
        base32::decode_into("JBSWY3DP=EHPK3PXP", &mut out),
        Err(Base32Error::MisplacedPadding { position: 8 })
    );
    assert_eq!(
        base32::decode_into("JBSWY3DPEHPK3PXP=\n", &mut out),
        Err(Base32Error::MisplacedPadding { position: 16 })
    );
    assert_eq!(
        base32::decode_into("JBSWY3DPEHPK3PX", &mut out),
        Err(Base32Error::NonCanonical { position: 14 })
    );
    assert_eq!(
        base32::decode_into("MZXW6YTBO", &mut out),
        Err(Base32Error::InvalidLength { symbols: 9 })
    );
}

// ---------------------------------------------------------------------------
// Key URIs

fn uri_secret() -> Secret {
    Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap()
}

#[test]
fn uri_build_and_parse() {
    let uri = KeyUri::totp("ACME Co", "john.doe@example.com", uri_secret()).unwrap();
    assert_eq!(
        uri.to_uri().as_str(),
        "otpauth://totp/ACME%20Co:john.doe%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
    );
    let hotp = KeyUri::new(
        "Big Corp",
        "bob",
        uri_secret(),
        OtpKind::Hotp { counter: 42 },
    )
    .unwrap()
    .with_algorithm(Algorithm::Sha256)
    .with_digits(Digits::EIGHT)
    .with_image("https://example.com/logo.png?size=64")
    .unwrap();
    let text = hotp.to_uri();
    assert_eq!(
        text.as_str(),
        "otpauth://hotp/Big%20Corp:bob?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Big%20Corp&algorithm=SHA256&digits=8&counter=42&image=https%3A%2F%2Fexample.com%2Flogo.png%3Fsize%3D64"
    );
    let parsed = KeyUri::parse(&text, ParseMode::Strict).unwrap();
    assert_eq!(parsed.kind(), OtpKind::Hotp { counter: 42 });
    assert_eq!(parsed.counter(), Some(42));
    assert_eq!(parsed.step(), None);
    assert_eq!(parsed.issuer(), Some("Big Corp"));
    assert_eq!(parsed.account(), "bob");
    assert_eq!(parsed.algorithm(), Algorithm::Sha256);
    assert_eq!(parsed.digits(), Digits::EIGHT);
    assert_eq!(parsed.image(), Some("https://example.com/logo.png?size=64"));
    assert!(parsed.secret().ct_eq(&uri_secret()));
    assert!(parsed.to_totp().is_none());
    let generator = parsed.to_hotp().unwrap();
    assert_eq!(generator.digits(), Digits::EIGHT);
    assert_eq!(
        code_text(&generator.generate(42)),
        reference_hotp(Algorithm::Sha256, uri_secret().expose_secret(), 42, 8)
    );
}

#[test]
fn uri_builder_refusals() {
    assert_eq!(
        KeyUri::totp("A:B", "alice", uri_secret()).err(),
        Some(UriError::ColonInIssuer)
    );
    assert_eq!(
        KeyUri::totp("ACME", "a:lice", uri_secret()).err(),
        Some(UriError::ColonInAccount)
    );
    assert_eq!(
        KeyUri::totp("ACME", "", uri_secret()).err(),
        Some(UriError::EmptyAccount)
    );
    assert_eq!(
        KeyUri::totp("", "alice", uri_secret()).err(),
        Some(UriError::EmptyIssuer)
    );
    assert_eq!(
        KeyUri::totp("ACME", " alice", uri_secret()).err(),
        Some(UriError::LeadingSpace)
    );
    assert_eq!(
        KeyUri::totp("AC\nME", "alice", uri_secret()).err(),
        Some(UriError::ControlCharacter {
            part: UriPart::Issuer
        })
    );
    let uri = KeyUri::totp("ACME", "alice", uri_secret()).unwrap();
    for bad in [
        "http://example.com/a.png",
        "https://",
        "ftp://x",
        "//example.com",
        "https:///x",
    ] {
        assert_eq!(
            uri.clone().with_image(bad).err(),
            Some(UriError::ImageNotHttps),
            "{bad}"
        );
    }
}

const GOOD: &str = "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example";

#[test]
fn uri_parse_defaults_and_label_forms() {
    let uri = KeyUri::parse(GOOD, ParseMode::Strict).unwrap();
    assert_eq!(
        uri.kind(),
        OtpKind::Totp {
            step: Step::default()
        }
    );
    assert_eq!(uri.issuer(), Some("Example"));
    assert_eq!(uri.account(), "alice@google.com");
    assert_eq!(uri.algorithm(), Algorithm::Sha1);
    assert_eq!(uri.digits(), Digits::SIX);
    assert_eq!(uri.image(), None);
    // Spaces after the separator are dropped; issuer only in the label.
    let uri = KeyUri::parse(
        "otpauth://totp/Example:%20%20alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        ParseMode::Strict,
    )
    .unwrap();
    assert_eq!((uri.issuer(), uri.account()), (Some("Example"), "alice"));
    // No issuer at all.
    let uri = KeyUri::parse(
        "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        ParseMode::Strict,
    )
    .unwrap();
    assert_eq!((uri.issuer(), uri.account()), (None, "alice"));
    // The label splits at the first colon only in lenient mode's account.
    let lenient = KeyUri::parse(
        "otpauth://totp/Example%3Aalice:work?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        ParseMode::Lenient,
    )
    .unwrap();
    assert_eq!(
        (lenient.issuer(), lenient.account()),
        (Some("Example"), "alice:work")
    );
    // Unknown parameters are ignored.
    assert!(KeyUri::parse(&format!("{GOOD}&color=red"), ParseMode::Strict).is_ok());
}

#[test]
fn uri_strict_and_lenient_differ_as_documented() {
    let encoded_colon =
        "otpauth://totp/Example%3Aalice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example";
    assert_eq!(
        KeyUri::parse(encoded_colon, ParseMode::Strict).err(),
        Some(UriError::ColonInAccount)
    );
    let uri = KeyUri::parse(encoded_colon, ParseMode::Lenient).unwrap();
    assert_eq!((uri.issuer(), uri.account()), (Some("Example"), "alice"));

    let mismatch = "otpauth://totp/Label%20Inc:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Param%20Inc";
    assert_eq!(
        KeyUri::parse(mismatch, ParseMode::Strict).err(),
        Some(UriError::IssuerMismatch)
    );
    // Lenient: the issuer parameter wins.
    let uri = KeyUri::parse(mismatch, ParseMode::Lenient).unwrap();
    assert_eq!(uri.issuer(), Some("Param Inc"));

    let weak = "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example";
    assert_eq!(
        KeyUri::parse(weak, ParseMode::Strict).err(),
        Some(UriError::Secret(SecretError::TooShort { bits: 80 }))
    );
    let uri = KeyUri::parse(weak, ParseMode::Lenient).unwrap();
    assert_eq!(uri.secret_strength(), SecretStrength::Legacy { bits: 80 });
    // The explicitly named import takes a legacy secret in strict mode too,
    // and still applies every strict format rule.
    let (uri, strength) = KeyUri::parse_weak(weak, ParseMode::Strict).unwrap();
    assert_eq!(strength, SecretStrength::Legacy { bits: 80 });
    assert_eq!(uri.issuer(), Some("Example"));
    let weak_mismatch = "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Other";
    assert_eq!(
        KeyUri::parse_weak(weak_mismatch, ParseMode::Strict).err(),
        Some(UriError::IssuerMismatch)
    );
    let too_weak = "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3P&issuer=Example";
    assert!(matches!(
        KeyUri::parse_weak(too_weak, ParseMode::Strict).err(),
        Some(UriError::Secret(_))
    ));
    let (_, strength) = KeyUri::parse_weak(
        "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example",
        ParseMode::Strict,
    )
    .unwrap();
    assert_eq!(strength, SecretStrength::Full);

    let raw_space =
        "otpauth://totp/ACME Co:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=ACME+Co";
    assert_eq!(
        KeyUri::parse(raw_space, ParseMode::Strict).err(),
        Some(UriError::UnencodedCharacter {
            part: UriPart::Label
        })
    );
    let uri = KeyUri::parse(raw_space, ParseMode::Lenient).unwrap();
    assert_eq!((uri.issuer(), uri.account()), (Some("ACME Co"), "alice"));

    let upper =
        "OTPAUTH://TOTP/Example:alice?SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=sha256";
    assert_eq!(
        KeyUri::parse(upper, ParseMode::Strict).err(),
        Some(UriError::UnknownType)
    );
    let uri = KeyUri::parse(upper, ParseMode::Lenient).unwrap();
    assert_eq!(uri.algorithm(), Algorithm::Sha256);

    let counter_on_totp = format!("{GOOD}&counter=3");
    assert_eq!(
        KeyUri::parse(&counter_on_totp, ParseMode::Strict).err(),
        Some(UriError::UnexpectedParameter { name: "counter" })
    );
    assert!(KeyUri::parse(&counter_on_totp, ParseMode::Lenient).is_ok());

    let fragment = format!("{GOOD}#x");
    assert_eq!(
        KeyUri::parse(&fragment, ParseMode::Strict).err(),
        Some(UriError::Fragment)
    );
    assert!(KeyUri::parse(&fragment, ParseMode::Lenient).is_ok());

    let empty_issuer = "otpauth://totp/:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    assert_eq!(
        KeyUri::parse(empty_issuer, ParseMode::Strict).err(),
        Some(UriError::EmptyIssuer)
    );
    assert_eq!(
        KeyUri::parse(empty_issuer, ParseMode::Lenient)
            .unwrap()
            .issuer(),
        None
    );
}

#[test]
fn uri_parse_errors_are_specific() {
    let s = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let cases: Vec<(String, UriError)> = vec![
        (format!("https://totp/A:b?secret={s}"), UriError::Scheme),
        (
            format!("otpauth://motp/A:b?secret={s}"),
            UriError::UnknownType,
        ),
        (format!("otpauth://totp?secret={s}"), UriError::MissingLabel),
        (
            format!("otpauth://totp/?secret={s}"),
            UriError::MissingLabel,
        ),
        (
            format!("otpauth://totp/A:?secret={s}"),
            UriError::EmptyAccount,
        ),
        (
            "otpauth://totp/A:b?issuer=A".to_owned(),
            UriError::MissingSecret,
        ),
        (
            "otpauth://totp/A:b?secret=JBSW1Y3DPEHPK3PXP".to_owned(),
            UriError::Secret(SecretError::Base32(Base32Error::InvalidCharacter {
                position: 4,
            })),
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&digits=9"),
            UriError::InvalidDigits,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&digits=06"),
            UriError::InvalidDigits,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&digits=six"),
            UriError::InvalidDigits,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&period=0"),
            UriError::InvalidPeriod,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&period=121"),
            UriError::InvalidPeriod,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&period=-30"),
            UriError::InvalidPeriod,
        ),
        (
            format!("otpauth://hotp/A:b?secret={s}"),
            UriError::MissingCounter,
        ),
        (
            format!("otpauth://hotp/A:b?secret={s}&counter=18446744073709551616"),
            UriError::InvalidCounter,
        ),
        (
            format!("otpauth://hotp/A:b?secret={s}&counter=x"),
            UriError::InvalidCounter,
        ),
        (
            format!("otpauth://hotp/A:b?secret={s}&counter=1&period=30"),
            UriError::UnexpectedParameter { name: "period" },
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&algorithm=MD5"),
            UriError::UnsupportedAlgorithm,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&algorithm=sha1"),
            UriError::UnsupportedAlgorithm,
        ),
        (
            format!("otpauth://totp/A%2:b?secret={s}"),
            UriError::InvalidPercentEncoding {
                part: UriPart::Issuer,
            },
        ),
        (
            format!("otpauth://totp/A:%FF?secret={s}"),
            UriError::InvalidUtf8 {
                part: UriPart::Account,
            },
        ),
        (
            format!("otpauth://totp/A:b%0A?secret={s}"),
            UriError::ControlCharacter {
                part: UriPart::Account,
            },
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&image=http%3A%2F%2Fx.com%2Fa.png"),
            UriError::ImageNotHttps,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&secret={s}"),
            UriError::DuplicateParameter { name: "secret" },
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&issuer=A&issuer=A"),
            UriError::DuplicateParameter { name: "issuer" },
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&digits"),
            UriError::MalformedParameter,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&&digits=6"),
            UriError::MalformedParameter,
        ),
        (
            format!("otpauth://totp/A:b:c?secret={s}"),
            UriError::ColonInAccount,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&issuer=A%3AB"),
            UriError::IssuerMismatch,
        ),
        (
            format!("otpauth://totp/b?secret={s}&issuer=A%3AB"),
            UriError::ColonInIssuer,
        ),
    ];
    for (uri, expected) in cases {
        assert_eq!(
            KeyUri::parse(&uri, ParseMode::Strict).err(),
            Some(expected),
            "{uri}"
        );
    }
}

#[test]
fn uri_compatibility_warnings() {
    let plain = KeyUri::totp("A", "b", uri_secret()).unwrap();
    assert_eq!(plain.compatibility_warnings().count(), 0);
    let odd = KeyUri::new(
        "A",
        "b",
        uri_secret(),
        OtpKind::Totp {
            step: Step::new(60).unwrap(),
        },
    )
    .unwrap()
    .with_algorithm(Algorithm::Sha512)
    .with_digits(Digits::SEVEN);
    let warnings: Vec<CompatibilityWarning> = odd.compatibility_warnings().collect();
    assert_eq!(
        warnings,
        vec![
            CompatibilityWarning::Algorithm(Algorithm::Sha512),
            CompatibilityWarning::Digits(Digits::SEVEN),
            CompatibilityWarning::Step(Step::new(60).unwrap()),
        ]
    );
    for warning in warnings {
        assert!(!warning.to_string().is_empty());
    }
    let hotp = KeyUri::new("A", "b", uri_secret(), OtpKind::Hotp { counter: 0 }).unwrap();
    assert_eq!(hotp.compatibility_warnings().count(), 0);
}

// ---------------------------------------------------------------------------
// Redaction

#[test]
fn debug_and_errors_never_show_secrets_or_codes() {
    let secret = uri_secret();
    let base32_text = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let hex: String = secret
        .expose_secret()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let hotp = Hotp::new(&secret, Algorithm::Sha1);
    let totp = Totp::new(&secret, Algorithm::Sha1);
    let code = hotp.generate(7);
    let digits_text = code_text(&code);
    let uri = KeyUri::totp("ACME", "alice", secret.clone())
        .unwrap()
        .with_image("https://example.com/i.png")
        .unwrap();

    let mut outputs = vec![
        format!("{secret:?}"),
        format!("{code:?}"),
        format!("{:?}", code.expose_secret()),
        format!("{hotp:?}"),
        format!("{totp:?}"),
        format!("{uri:?}"),
        format!("{:?}", hotp.verify(&digits_text, 0, LookAhead::default())),
        format!(
            "{:?}",
            totp.verify(&digits_text, 0, None, Window::default())
        ),
    ];
    // Errors from inputs that carry the secret or the code.
    let bad_secret = format!("{base32_text}!");
    let secret_error = Secret::from_base32(&bad_secret).unwrap_err();
    outputs.push(format!("{secret_error:?} {secret_error}"));
    let bad_uri = format!("otpauth://totp/A:b?secret={bad_secret}");
    let uri_error = KeyUri::parse(&bad_uri, ParseMode::Strict).unwrap_err();
    outputs.push(format!("{uri_error:?} {uri_error}"));
    let mismatch = format!("otpauth://totp/{base32_text}:b?secret={base32_text}&issuer=X");
    let uri_error = KeyUri::parse(&mismatch, ParseMode::Strict).unwrap_err();
    outputs.push(format!("{uri_error:?} {uri_error}"));
    for malformed in [
        format!("{digits_text}0"),
        format!("{digits_text} "),
        format!("x{digits_text}"),
    ] {
        let rejected = hotp
            .verify(&malformed, 0, LookAhead::default())
            .unwrap_err();
        outputs.push(format!("{rejected:?} {rejected}"));
        let error = Code::parse(&malformed, Digits::SIX).unwrap_err();
        outputs.push(format!("{error:?} {error}"));
    }
    let rejected = totp
        .verify(&tampered(&digits_text), 0, None, Window::default())
        .unwrap_err();
    outputs.push(format!("{rejected:?} {rejected}"));

    for output in &outputs {
        assert!(!output.contains(base32_text), "{output}");
        assert!(!output.contains(&base32_text[..8]), "{output}");
        assert!(!output.contains(&hex[..8]), "{output}");
        assert!(!output.contains(&digits_text), "{output}");
        assert!(!output.contains(&tampered(&digits_text)), "{output}");
    }
    assert!(outputs[0].contains("REDACTED"));
    assert!(outputs[5].contains("REDACTED"));
}

// ---------------------------------------------------------------------------
// Allocation

#[test]
fn generation_and_verification_allocate_nothing() {
    // The counter sees allocations at all: a key URI allocates.
    let control = allocation_counter::measure(|| {
        let uri = KeyUri::totp("ACME", "alice", uri_secret()).unwrap();
        assert!(!uri.to_uri().is_empty());
    });
    assert!(control.count_total > 0);
    let mut secrets = Vec::new();
    for algorithm in Algorithm::ALL {
        secrets.push((algorithm, rfc_secret(algorithm)));
    }
    for (algorithm, secret) in &secrets {
        let totp = Totp::new(secret, *algorithm);
        let hotp = Hotp::new(secret, *algorithm).with_digits(Digits::EIGHT);
        let now = 1_700_000_000;
        let good = code_text(&totp.generate(now).unwrap());
        let wrong = tampered(&good);
        let h1 = code_text(&hotp.generate(100));
        let h2 = code_text(&hotp.generate(101));
        let mut sink = 0usize;
        let info = allocation_counter::measure(|| {
            let code = totp.generate(now).unwrap();
            sink += code.expose_secret().as_str().len();
            sink += usize::from(totp.verify(&good, now, None, Window::default()).is_ok());
            sink += usize::from(
                totp.verify(&wrong, now, None, Window::new(10, 10).unwrap())
                    .is_ok(),
            );
            sink += usize::from(
                totp.verify(&good, now, Some(u64::MAX), Window::default())
                    .is_ok(),
            );
            sink += usize::from(totp.verify("12a456", now, None, Window::default()).is_ok());
            sink += usize::from(hotp.verify(&h1, 95, LookAhead::default()).is_ok());
            sink += usize::from(hotp.resync(&h1, &h2, 0, ResyncWindow::default()).is_ok());
            let parsed = Code::parse(&good, Digits::SIX).unwrap();
            sink += usize::from(
                totp.verify_code(&parsed, now, None, Window::default())
                    .is_ok(),
            );
            let mut out = [0u8; 64];
            sink += base32::decode_into("JBSW Y3DP EHPK 3PXP", &mut out).unwrap();
            sink += Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
                .unwrap()
                .bits();
        });
        assert_eq!(info.count_total, 0, "{algorithm}: {info:?}");
        assert!(sink > 0);
    }
}

// ---------------------------------------------------------------------------
// Properties

fn algorithm_strategy() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

/// Issuer/account text without colons and control characters, not
/// starting with a space.
fn label_text() -> impl Strategy<Value = String> {
    "[^:\\p{Cc}\\s][^:\\p{Cc}]{0,20}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn totp_generate_then_verify_inside_and_outside_the_window(
        key in proptest::collection::vec(any::<u8>(), 16..=64),
        algorithm in algorithm_strategy(),
        n in 6u32..=8,
        behind in 0u32..=10,
        ahead in 0u32..=10,
        now in 0u64..=(u64::MAX / 2),
        offset in -12i64..=12,
    ) {
        let secret = Secret::from_bytes(&key).unwrap();
        let totp = Totp::new(&secret, algorithm).with_digits(digits(n));
        let window = Window::new(behind, ahead).unwrap();
        let current = totp.step_at(now).unwrap();
        let step = current.checked_add_signed(offset).unwrap_or(0);
        let code = code_text(&totp.generate_at_step(step));
        prop_assert_eq!(&code, &reference_hotp(algorithm, &key, step, n));
        let result = totp.verify(&code, now, None, window);
        let inside = offset >= -i64::from(behind) && offset <= i64::from(ahead) && current.checked_add_signed(offset).is_some();
        if inside {
            let accepted = result.unwrap();
            // A collision with a later step in the window may win; it is
            // still a step whose code equals this one.
            prop_assert!(accepted.step >= step);
            prop_assert_eq!(code_text(&totp.generate_at_step(accepted.step)), code.clone());
            prop_assert_eq!(i128::from(accepted.step) - i128::from(current), i128::from(accepted.drift));
            // And never again once stored.
            prop_assert_eq!(totp.verify(&code, now, Some(accepted.step), window), Err(CodeRejected::Replayed));
        } else if let Ok(accepted) = result {
            // Only a genuine collision with an in-window step can match.
            prop_assert_ne!(accepted.step, step);
            prop_assert_eq!(code_text(&totp.generate_at_step(accepted.step)), code);
        }
    }

    #[test]
    fn hotp_generate_then_verify(
        key in proptest::collection::vec(any::<u8>(), 16..=64),
        algorithm in algorithm_strategy(),
        n in 6u32..=8,
        counter in any::<u64>(),
        look_ahead in 0u32..=20,
        offset in 0u64..=25,
    ) {
        let secret = Secret::from_bytes(&key).unwrap();
        let hotp = Hotp::new(&secret, algorithm).with_digits(digits(n));
        let target = counter.saturating_add(offset);
        let code = code_text(&hotp.generate(target));
        let result = hotp.verify(&code, counter, LookAhead::new(look_ahead).unwrap());
        if target - counter <= u64::from(look_ahead) {
            let accepted: HotpAccepted = result.unwrap();
            prop_assert!(accepted.counter >= target);
            prop_assert_eq!(accepted.next_counter, accepted.counter.checked_add(1));
        } else if let Ok(accepted) = result {
            prop_assert_eq!(code_text(&hotp.generate(accepted.counter)), code);
        }
    }

    #[test]
    fn base32_round_trip_and_oracle(
        bytes in proptest::collection::vec(any::<u8>(), 0..=128),
        lower in any::<bool>(),
        group in 1usize..=8,
        pad in any::<bool>(),
    ) {
        let encoded = base32::encode(&bytes);
        prop_assert_eq!(
            &encoded,
            &::base32::encode(::base32::Alphabet::Rfc4648 { padding: false }, &bytes)
        );
        prop_assert_eq!(Some(encoded.len()), base32::encoded_len(bytes.len()));
        let mut out = [0u8; 128];
        let n = base32::decode_into(&encoded, &mut out).unwrap();
        prop_assert_eq!(&out[..n], &bytes[..]);
        // The base32 crate as an oracle on valid input.
        let oracle = ::base32::decode(::base32::Alphabet::Rfc4648 { padding: false }, &encoded).unwrap();
        prop_assert_eq!(&out[..n], &oracle[..]);
        // Presentation variants decode to the same bytes.
        let mut styled: String = encoded
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let sep = (i > 0 && i % group == 0).then_some(if i % 2 == 0 { ' ' } else { '-' });
                sep.into_iter().chain(std::iter::once(if lower { c.to_ascii_lowercase() } else { c }))
            })
            .collect();
        if pad {
            let padded = ::base32::encode(::base32::Alphabet::Rfc4648 { padding: true }, &bytes);
            styled.push_str(&"=".repeat(padded.len() - encoded.len()));
        }
        let mut out2 = [0u8; 128];
        let n2 = base32::decode_into(&styled, &mut out2).unwrap();
        prop_assert_eq!(&out2[..n2], &bytes[..]);
    }

    #[test]
    fn base32_decode_never_panics(text in "\\PC{0,80}") {
        let mut out = [0u8; 64];
        let _ = base32::decode_into(&text, &mut out);
    }

    #[test]
    fn uri_build_then_parse(
        issuer in label_text(),
        account in label_text(),
        key in proptest::collection::vec(any::<u8>(), 16..=64),
        algorithm in algorithm_strategy(),
        n in 6u32..=8,
        period in 1u64..=120,
        counter in proptest::option::of(any::<u64>()),
        image in proptest::option::of("[a-z]{1,10}\\.example/[!-~]{0,20}"),
    ) {
        let secret = Secret::from_bytes(&key).unwrap();
        let kind = match counter {
            Some(counter) => OtpKind::Hotp { counter },
            None => OtpKind::Totp { step: Step::new(period).unwrap() },
        };
        let mut uri = KeyUri::new(&issuer, &account, secret, kind)
            .unwrap()
            .with_algorithm(algorithm)
            .with_digits(digits(n));
        if let Some(path) = &image {
            uri = uri.with_image(&format!("https://{path}")).unwrap();
        }
        let text = uri.to_uri();
        for mode in [ParseMode::Strict, ParseMode::Lenient] {
            let parsed = KeyUri::parse(&text, mode).unwrap();
            prop_assert_eq!(parsed.kind(), kind);
            prop_assert_eq!(parsed.issuer(), Some(issuer.as_str()));
            prop_assert_eq!(parsed.account(), account.as_str());
            prop_assert!(parsed.secret().ct_eq(uri.secret()));
            prop_assert_eq!(parsed.algorithm(), algorithm);
            prop_assert_eq!(parsed.digits(), digits(n));
            prop_assert_eq!(parsed.image(), uri.image());
            let again = parsed.to_uri();
            prop_assert_eq!(again.as_str(), text.as_str());
        }
    }

    #[test]
    fn uri_lenient_parse_then_build_then_parse(
        issuer in "(A|b|%20| |\\+|:|%3A|%3a|é|%C3%A9){0,4}",
        separator in "(:|%3A|%3a|)",
        account in "(x|Y|%20| |\\+|:|%3A|@){0,5}",
        parameter in proptest::option::of("(P|%20|\\+|%3A|:){0,3}"),
        digits_param in proptest::option::of(6u32..=8),
    ) {
        let mut text = format!("otpauth://totp/{issuer}{separator}{account}?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
        if let Some(parameter) = parameter {
            text.push_str(&format!("&issuer={parameter}"));
        }
        if let Some(n) = digits_param {
            text.push_str(&format!("&digits={n}"));
        }
        if let Ok(first) = KeyUri::parse(&text, ParseMode::Lenient) {
            let written = first.to_uri();
            let second = KeyUri::parse(&written, ParseMode::Lenient).unwrap();
            prop_assert_eq!(second.issuer(), first.issuer());
            prop_assert_eq!(second.account(), first.account());
            prop_assert_eq!(second.digits(), first.digits());
            prop_assert_eq!(second.kind(), first.kind());
            prop_assert!(second.secret().ct_eq(first.secret()));
            let again = second.to_uri();
            prop_assert_eq!(again.as_str(), written.as_str());
            // What strict mode accepts, lenient mode reads the same way,
            // except `+`, which only lenient mode reads as a space.
            if let (false, Ok(strict)) = (text.contains('+'), KeyUri::parse(&text, ParseMode::Strict)) {
                prop_assert_eq!(strict.issuer(), first.issuer());
                prop_assert_eq!(strict.account(), first.account());
            }
        }
    }

    #[test]
    fn uri_parse_never_panics(text in "otpauth://[a-z]{4}/\\PC{0,60}") {
        let _ = KeyUri::parse(&text, ParseMode::Strict);
        let _ = KeyUri::parse(&text, ParseMode::Lenient);
    }
}

// ---------------------------------------------------------------------------
// QR

#[cfg(feature = "qr")]
mod qr {
    use super::*;
    use twofa_otp::TerminalBackground;

    fn decode_grid(width: usize, height: usize, dark: &dyn Fn(usize, usize) -> bool) -> String {
        // Upscale 4x so the detector has room.
        let scale = 4;
        let mut image =
            rqrr::PreparedImage::prepare_from_greyscale(width * scale, height * scale, |x, y| {
                if dark(x / scale, y / scale) { 0 } else { 255 }
            });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    fn sample_uri() -> KeyUri {
        KeyUri::totp("ACME Co", "alice@example.com", uri_secret())
            .unwrap()
            .with_image("https://example.com/logo.png")
            .unwrap()
    }

    #[test]
    fn terminal_qr_decodes_to_the_uri() {
        let uri = sample_uri();
        for background in [TerminalBackground::Dark, TerminalBackground::Light] {
            let picture = uri.to_qr_terminal(background).unwrap();
            // Each character holds two modules: top and bottom half.
            let rows: Vec<Vec<char>> = picture.lines().map(|l| l.chars().collect()).collect();
            let width = rows[0].len();
            assert!(rows.iter().all(|r| r.len() == width));
            let height = rows.len() * 2;
            let block = |x: usize, y: usize| -> bool {
                let c = rows[y / 2][x];
                let top = matches!(c, '\u{2580}' | '\u{2588}');
                let bottom = matches!(c, '\u{2584}' | '\u{2588}');
                assert!(matches!(c, ' ' | '\u{2580}' | '\u{2584}' | '\u{2588}'));
                if y.is_multiple_of(2) { top } else { bottom }
            };
            let dark = |x: usize, y: usize| match background {
                TerminalBackground::Dark => !block(x, y),
                _ => block(x, y),
            };
            assert_eq!(decode_grid(width, height, &dark), uri.to_uri().as_str());
        }
    }

    #[test]
    fn svg_qr_decodes_to_the_uri() {
        let uri = sample_uri();
        let svg = uri.to_qr_svg().unwrap();
        assert!(svg.starts_with("<?xml"));
        assert!(!svg.contains("http://chart"));
        let attribute = |name: &str| -> usize {
            let start = svg.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            svg[start..start + svg[start..].find('"').unwrap()]
                .parse()
                .unwrap()
        };
        let (width, height) = (attribute("width"), attribute("height"));
        assert!(width >= 256);
        // The path is a list of "M{x} {y}h{w}v{h}H{x}V{y}" rectangles.
        let path_start = svg.find(" d=\"").unwrap() + 4;
        let path = &svg[path_start..path_start + svg[path_start..].find('"').unwrap()];
        let mut pixels = vec![false; width * height];
        for rect in path.split('M').filter(|r| !r.is_empty()) {
            let numbers: Vec<usize> = rect
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect();
            let (x, y, w, h) = (numbers[0], numbers[1], numbers[2], numbers[3]);
            for yy in y..y + h {
                for xx in x..x + w {
                    pixels[yy * width + xx] = true;
                }
            }
        }
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
            if pixels[y * width + x] { 0 } else { 255 }
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        assert_eq!(grids[0].decode().unwrap().1, uri.to_uri().as_str());
    }

    #[test]
    fn oversized_uri_is_refused() {
        let long = "a".repeat(3000);
        let uri = KeyUri::totp("ACME", &long, uri_secret()).unwrap();
        assert_eq!(uri.to_qr_svg().err(), Some(twofa_otp::QrError::TooLong));
    }
}
