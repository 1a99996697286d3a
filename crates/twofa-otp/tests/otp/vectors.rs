//! RFC vectors: RFC 4226 Appendix D and the HOTP look-ahead, RFC 6238
//! Appendix B, leading zeros, all-zero codes and 7- and 8-digit codes, each
//! paired with tampered codes that must fail.

use super::*;

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

/// (algorithm, digits, counter) whose code is all zeros for the RFC 6238
/// seed of that algorithm. Found by an exhaustive search over counters from
/// 0 with an independent HOTP implementation; re-checked below with the
/// reference in `main.rs`.
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
