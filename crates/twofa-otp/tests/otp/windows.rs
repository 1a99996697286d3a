//! TOTP verification windows: step boundaries, T0, asymmetric windows, time
//! extremes, and replay of a step already used.

use super::*;

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
}
