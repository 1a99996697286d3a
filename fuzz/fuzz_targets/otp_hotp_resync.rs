//! HOTP verification and resynchronisation with arbitrary counters
//! (including the last ones before `u64::MAX`), windows and codes: no
//! panic; an accepted counter generates the code, lies inside the window,
//! and is the highest match; a resync result is the highest consecutive
//! pair; rejections say the true reason (brute force over the window).

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use twofa_otp::{Algorithm, Code, CodeRejected, Digits, Hotp, LookAhead, ResyncWindow, Secret};

#[derive(Debug, Arbitrary)]
enum CodeInput {
    Text(String),
    /// The code at the start counter plus an offset.
    Generated(u8),
}

#[derive(Debug, Arbitrary)]
struct Input {
    secret: Vec<u8>,
    algorithm: u8,
    digits: u8,
    counter: u64,
    near_max: bool,
    window: u16,
    look_ahead: u8,
    first: CodeInput,
    second: CodeInput,
}

fn text(hotp: &Hotp, counter: u64, input: &CodeInput) -> Option<String> {
    match input {
        CodeInput::Text(text) => Some(text.clone()),
        CodeInput::Generated(offset) => {
            let at = counter.checked_add(u64::from(*offset))?;
            Some(hotp.generate(at).expose_secret().as_str().to_owned())
        }
    }
}

fuzz_target!(|input: Input| {
    let Ok((secret, _)) = Secret::from_bytes_weak(&input.secret) else {
        return;
    };
    let algorithm = Algorithm::ALL[usize::from(input.algorithm) % 3];
    let Ok(digits) = Digits::new(6 + u32::from(input.digits % 3)) else {
        panic!("6, 7 and 8 digits are valid");
    };
    let hotp = Hotp::new(&secret, algorithm).with_digits(digits);
    let counter = if input.near_max {
        u64::MAX - input.counter % 1024
    } else {
        input.counter
    };
    // Small windows keep each run fast and the brute force cheap; the
    // constructor's bounds are checked on the raw value first.
    let raw_window = u32::from(input.window);
    if ResyncWindow::new(raw_window).is_err() {
        assert!(raw_window == 0 || raw_window > 10_000);
    }
    let window = ResyncWindow::new(1 + raw_window % 300).unwrap();
    let look_ahead = match LookAhead::new(u32::from(input.look_ahead)) {
        Ok(look_ahead) => look_ahead,
        Err(_) => {
            assert!(input.look_ahead > 100);
            LookAhead::new(u32::from(input.look_ahead % 101)).unwrap()
        }
    };
    let (Some(first), Some(second)) = (
        text(&hotp, counter, &input.first),
        text(&hotp, counter, &input.second),
    ) else {
        return;
    };
    let valid = |code: &str| Code::parse(code, digits).is_ok();
    let code_at = |c: u64| hotp.generate(c).expose_secret().as_str().to_owned();

    // Look-ahead verification of the first code.
    let last = counter.saturating_add(u64::from(look_ahead.get()));
    let result = hotp.verify(&first, counter, look_ahead);
    if !valid(&first) {
        assert!(
            matches!(result, Err(CodeRejected::Malformed(_))),
            "{result:?}"
        );
    } else {
        let best = (counter..=last).filter(|&c| code_at(c) == first).max();
        match result {
            Ok(accepted) => {
                assert_eq!(Some(accepted.counter), best);
                assert_eq!(accepted.next_counter, accepted.counter.checked_add(1));
            }
            Err(CodeRejected::OutOfWindow) => assert_eq!(best, None),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    // Resynchronisation: first at c in counter .. counter + window, second
    // at c + 1 (RFC 4226 §7.4).
    let result = hotp.resync(&first, &second, counter, window);
    if !valid(&first) || !valid(&second) {
        assert!(
            matches!(result, Err(CodeRejected::Malformed(_))),
            "{result:?}"
        );
        return;
    }
    let end = counter.saturating_add(u64::from(window.get()));
    let codes: Vec<(u64, String)> = (counter..=end).map(|c| (c, code_at(c))).collect();
    let best_pair = codes
        .windows(2)
        .filter(|pair| pair[0].1 == first && pair[1].1 == second)
        .map(|pair| pair[1].0)
        .max();
    let any_first = codes.iter().any(|(c, code)| *c < end && *code == first);
    let any_second = codes.iter().any(|(_, code)| *code == second);
    match result {
        Ok(accepted) => {
            assert_eq!(Some(accepted.counter), best_pair);
            assert!(accepted.counter > counter && accepted.counter <= end);
            assert_eq!(code_at(accepted.counter), second);
            assert_eq!(code_at(accepted.counter - 1), first);
            assert_eq!(accepted.next_counter, accepted.counter.checked_add(1));
        }
        Err(CodeRejected::NotConsecutive) => {
            assert_eq!(best_pair, None);
            assert!(any_first && any_second);
        }
        Err(CodeRejected::OutOfWindow) => {
            assert_eq!(best_pair, None);
            assert!(!(any_first && any_second));
        }
        Err(other) => panic!("unexpected {other:?}"),
    }
});
