//! HOTP at the end of the counter space, and resynchronisation.

use super::*;

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

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
}
