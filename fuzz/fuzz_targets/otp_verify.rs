//! TOTP verification with arbitrary secret, algorithm, digits, step, T0,
//! time, window, last accepted step and code text: no panic; an accepted
//! step is after the last accepted one, inside the window, the highest
//! fresh match, and generates the same code; a rejection says the true
//! reason (checked by brute force over the window).

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use twofa_otp::{Algorithm, Code, CodeRejected, Digits, Secret, Step, Totp, Window};

#[derive(Debug, Arbitrary)]
enum CodeInput {
    /// Arbitrary text.
    Text(String),
    /// The code of the current step plus an offset (so that acceptance is
    /// reached, not only rejection).
    Generated(i8),
}

#[derive(Debug, Arbitrary)]
struct Input {
    secret: Vec<u8>,
    algorithm: u8,
    digits: u8,
    step: u64,
    t0: u64,
    now: u64,
    behind: u8,
    ahead: u8,
    last: Option<u64>,
    code: CodeInput,
}

fuzz_target!(|input: Input| {
    let secret = match Secret::from_bytes_weak(&input.secret) {
        Ok((secret, _)) => secret,
        Err(_) => {
            assert!(
                input.secret.len() < Secret::LEGACY_MIN_BYTES
                    || input.secret.len() > Secret::MAX_BYTES
            );
            return;
        }
    };
    let algorithm = Algorithm::ALL[usize::from(input.algorithm) % 3];
    let digits = Digits::new(u32::from(input.digits)).unwrap_or_else(|_| {
        assert!(!(6..=8).contains(&input.digits));
        Digits::new(6 + u32::from(input.digits % 3)).unwrap()
    });
    let step = Step::new(input.step).unwrap_or_else(|_| {
        assert!(input.step == 0 || input.step > 120);
        Step::new(1 + input.step % 120).unwrap()
    });
    let window =
        Window::new(u32::from(input.behind), u32::from(input.ahead)).unwrap_or_else(|_| {
            assert!(input.behind > 10 || input.ahead > 10);
            Window::new(u32::from(input.behind % 11), u32::from(input.ahead % 11)).unwrap()
        });
    let totp = Totp::new(&secret, algorithm)
        .with_digits(digits)
        .with_step(step)
        .with_t0(input.t0);
    let current = totp.step_at(input.now);
    let code = match &input.code {
        CodeInput::Text(text) => text.clone(),
        CodeInput::Generated(offset) => {
            let Ok(current) = current else { return };
            let Some(at) = current.checked_add_signed(i64::from(*offset)) else {
                return;
            };
            totp.generate_at_step(at)
                .expose_secret()
                .as_str()
                .to_owned()
        }
    };
    let result = totp.verify(&code, input.now, input.last, window);

    let Ok(current) = current else {
        assert!(input.now < input.t0);
        assert!(
            matches!(
                result,
                Err(CodeRejected::BeforeT0) | Err(CodeRejected::Malformed(_))
            ),
            "{result:?}"
        );
        return;
    };
    if Code::parse(&code, digits).is_err() {
        assert!(
            matches!(result, Err(CodeRejected::Malformed(_))),
            "{result:?}"
        );
        return;
    }
    // Brute force over the window: the highest matching step, and whether
    // it is fresh.
    let low = current.saturating_sub(u64::from(window.behind()));
    let high = current.saturating_add(u64::from(window.ahead()));
    let matches: Vec<u64> = (low..=high)
        .filter(|&s| totp.generate_at_step(s).expose_secret().as_str() == code)
        .collect();
    let fresh = |s: u64| input.last.is_none_or(|last| s > last);
    let best_fresh = matches.iter().copied().filter(|&s| fresh(s)).max();
    match result {
        Ok(accepted) => {
            assert_eq!(Some(accepted.step), best_fresh);
            assert!(fresh(accepted.step));
            assert!((low..=high).contains(&accepted.step));
            assert_eq!(
                i128::from(accepted.drift),
                i128::from(accepted.step) - i128::from(current)
            );
            assert_eq!(
                totp.generate_at_step(accepted.step)
                    .expose_secret()
                    .as_str(),
                code
            );
        }
        Err(CodeRejected::Replayed) => {
            assert_eq!(best_fresh, None);
            assert!(!matches.is_empty());
        }
        Err(CodeRejected::OutOfWindow) => assert!(matches.is_empty(), "{matches:?}"),
        Err(other) => panic!("unexpected {other:?}"),
    }
});
