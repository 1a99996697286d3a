//! Codes and their verification: the RFC 6238 and RFC 4226 vectors, windows,
//! replays, and secrets from stdin.

use crate::{
    RFC4226, RFC6238, SECRET_72, SECRET_80, SEED_SHA1, assert_invalid, assert_prints,
    assert_rejected, rfc6238_rows, tampered, twofa, twofa_stdin,
};

#[test]
fn code_reproduces_rfc6238_appendix_b() {
    for (time, algorithm, seed, expected) in rfc6238_rows() {
        let time = time.to_string();
        let run = twofa(&[
            "code",
            "--secret",
            seed,
            "--algorithm",
            algorithm,
            "--digits",
            "8",
            "--time",
            &time,
        ]);
        assert_prints(&run, expected);
    }
}

#[test]
fn verify_accepts_rfc6238_codes_at_their_step_and_rejects_tampered_ones() {
    for (time, algorithm, seed, code) in rfc6238_rows() {
        let step = (time / 30).to_string();
        let time = time.to_string();
        let base = [
            "verify",
            "--secret",
            seed,
            "--algorithm",
            algorithm,
            "--digits",
            "8",
            "--time",
            &time,
            "--behind",
            "0",
            "--ahead",
            "0",
            "--code",
        ];
        let run = twofa(&[&base[..], &[code]].concat());
        assert_prints(&run, &step);
        let wrong = tampered(code);
        let run = twofa(&[&base[..], &[wrong.as_str()]].concat());
        assert_rejected(
            &run,
            "code does not match any step or counter in the window",
        );
    }
}

#[test]
fn code_reproduces_rfc4226_appendix_d() {
    for (counter, expected) in RFC4226.iter().enumerate() {
        let counter = counter.to_string();
        let run = twofa(&["code", "--secret", SEED_SHA1, "--counter", &counter]);
        assert_prints(&run, expected);
    }
}

#[test]
fn hotp_verify_prints_the_next_counter_within_the_look_ahead() {
    for (counter, code) in RFC4226.iter().enumerate() {
        let next = (counter + 1).to_string();
        let at = counter.to_string();
        let run = twofa(&[
            "verify",
            "--secret",
            SEED_SHA1,
            "--code",
            code,
            "--counter",
            &at,
            "--look-ahead",
            "0",
        ]);
        assert_prints(&run, &next);
        // Default look-ahead 10 from counter 0 finds every one of them.
        let run = twofa(&[
            "verify",
            "--secret",
            SEED_SHA1,
            "--code",
            code,
            "--counter",
            "0",
        ]);
        assert_prints(&run, &next);
        let wrong = tampered(code);
        let run = twofa(&[
            "verify",
            "--secret",
            SEED_SHA1,
            "--code",
            &wrong,
            "--counter",
            &at,
        ]);
        assert_rejected(
            &run,
            "code does not match any step or counter in the window",
        );
    }
    // Counter 5's code is 2 beyond counter 3: inside a look-ahead of 2, not of 1.
    let base = [
        "verify",
        "--secret",
        SEED_SHA1,
        "--code",
        RFC4226[5],
        "--counter",
        "3",
    ];
    assert_prints(&twofa(&[&base[..], &["--look-ahead", "2"]].concat()), "6");
    let run = twofa(&[&base[..], &["--look-ahead", "1"]].concat());
    assert_rejected(
        &run,
        "code does not match any step or counter in the window",
    );
    // A code behind the counter was used already.
    let run = twofa(&[
        "verify",
        "--secret",
        SEED_SHA1,
        "--code",
        RFC4226[2],
        "--counter",
        "3",
    ]);
    assert_rejected(
        &run,
        "code does not match any step or counter in the window",
    );
}

#[test]
fn hotp_at_the_last_counter() {
    let max = u64::MAX.to_string();
    let before = (u64::MAX - 1).to_string();
    let code_at = |counter: &str| {
        let run = twofa(&["code", "--secret", SEED_SHA1, "--counter", counter]);
        assert_eq!(run.status, 0);
        assert_eq!(run.stdout.len(), 7);
        run.stdout.trim_end().to_owned()
    };
    let last = code_at(&max);
    let second_last = code_at(&before);
    assert_ne!(last, second_last);
    // Matched at u64::MAX - 1: the next counter is u64::MAX.
    let run = twofa(&[
        "verify",
        "--secret",
        SEED_SHA1,
        "--code",
        &second_last,
        "--counter",
        &before,
    ]);
    assert_prints(&run, &max);
    // Matched at u64::MAX, from either counter: accepted, nothing to store,
    // the key is exhausted.
    for from in [&before, &max] {
        let run = twofa(&[
            "verify",
            "--secret",
            SEED_SHA1,
            "--code",
            &last,
            "--counter",
            from,
        ]);
        assert_eq!(run.status, 0);
        assert_eq!(run.stdout, "");
        assert_eq!(run.stderr.lines().count(), 1);
        assert!(run.stderr.starts_with("warning: "), "{}", run.stderr);
        assert!(run.stderr.contains("exhausted"), "{}", run.stderr);
    }
    let run = twofa(&[
        "verify",
        "--secret",
        SEED_SHA1,
        "--code",
        &tampered(&last),
        "--counter",
        &max,
    ]);
    assert_rejected(
        &run,
        "code does not match any step or counter in the window",
    );
    // The second-last code is behind counter u64::MAX.
    let run = twofa(&[
        "verify",
        "--secret",
        SEED_SHA1,
        "--code",
        &second_last,
        "--counter",
        &max,
    ]);
    assert_rejected(
        &run,
        "code does not match any step or counter in the window",
    );
}

/// The step-1 code (t = 30..=59) with the default window (1 behind) is
/// accepted until the end of step 2 (t = 89) and refused from t = 90.
#[test]
fn totp_window_boundaries() {
    let code = &RFC4226[1]; // HOTP counter 1 = TOTP step 1, 6 digits.
    let verify = |time: &str, extra: &[&str]| {
        let base = [
            "verify", "--secret", SEED_SHA1, "--code", code, "--time", time,
        ];
        twofa(&[&base[..], extra].concat())
    };
    for time in ["29", "30", "59", "60", "88", "89"] {
        assert_prints(&verify(time, &[]), "1");
    }
    let out = "code does not match any step or counter in the window";
    assert_rejected(&verify("90", &[]), out);
    assert_rejected(&verify("91", &[]), out);
    // One ahead: from t = 0 (step 0) the step-1 code is accepted already.
    assert_prints(&verify("0", &[]), "1");
    assert_rejected(&verify("29", &["--ahead", "0"]), out);
    // An exact window: only t = 30..=59.
    let exact: &[&str] = &["--behind", "0", "--ahead", "0"];
    assert_rejected(&verify("29", exact), out);
    assert_prints(&verify("30", exact), "1");
    assert_prints(&verify("59", exact), "1");
    assert_rejected(&verify("60", exact), out);
    // Two behind reaches step 3 (t = 90..=119).
    assert_prints(&verify("119", &["--behind", "2"]), "1");
    assert_rejected(&verify("120", &["--behind", "2"]), out);
}

#[test]
fn last_step_refuses_a_replayed_code() {
    let code = &RFC4226[1];
    let base = [
        "verify", "--secret", SEED_SHA1, "--code", code, "--time", "59",
    ];
    assert_prints(&twofa(&base), "1");
    assert_prints(&twofa(&[&base[..], &["--last-step", "0"]].concat()), "1");
    let run = twofa(&[&base[..], &["--last-step", "1"]].concat());
    assert_rejected(&run, "code was already used");
    let run = twofa(&[&base[..], &["--last-step", "2"]].concat());
    assert_rejected(&run, "code was already used");
    let run = twofa(&[&base[..], &["--last-step", &u64::MAX.to_string()]].concat());
    assert_rejected(&run, "code was already used");
}

#[test]
fn period_and_t0_move_the_steps() {
    // With T0 = 30 the RFC's t = 59 code (step 1) is at t = 89.
    let run = twofa(&[
        "code", "--secret", SEED_SHA1, "--digits", "8", "--t0", "30", "--time", "89",
    ]);
    assert_prints(&run, RFC6238[0].1);
    // A 60 s step: step 1 covers t = 60..=119.
    let run = twofa(&[
        "code", "--secret", SEED_SHA1, "--period", "60", "--time", "119",
    ]);
    assert_prints(&run, RFC4226[1]);
    let run = twofa(&[
        "code", "--secret", SEED_SHA1, "--period", "60", "--time", "120",
    ]);
    assert_prints(&run, RFC4226[2]);
    // T0 itself is step 0; one second before it is refused.
    let run = twofa(&[
        "code", "--secret", SEED_SHA1, "--t0", "100", "--time", "100",
    ]);
    assert_prints(&run, RFC4226[0]);
    let run = twofa(&["code", "--secret", SEED_SHA1, "--t0", "100", "--time", "99"]);
    assert_invalid(&run, "--time", &[SEED_SHA1]);
}

#[test]
fn malformed_codes_are_rejections() {
    for code in [
        "",
        "28708",
        "2870822",
        "+28708",
        " 287082",
        "28708a",
        "２８７０８２",
    ] {
        let run = twofa(&[
            "verify", "--secret", SEED_SHA1, "--code", code, "--time", "59",
        ]);
        assert_eq!(run.status, 1, "{code:?}: {}", run.stderr);
        assert_eq!(run.stdout, "");
        assert!(
            run.stderr.starts_with("rejected: malformed code"),
            "{}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1);
        if !code.is_empty() {
            assert!(!run.stderr.contains(code), "{}", run.stderr);
        }
    }
}

#[test]
fn secret_from_stdin() {
    for input in [
        format!("{SEED_SHA1}\n"),
        format!("{SEED_SHA1}\r\n"),
        SEED_SHA1.to_owned(),
        "gezd gnbv gy3t qojq gezd gnbv gy3t qojq\n".to_owned(),
    ] {
        let run = twofa_stdin(
            &["code", "--secret", "-", "--digits", "8", "--time", "59"],
            &input,
        );
        assert_prints(&run, RFC6238[0].1);
    }
    let run = twofa_stdin(
        &[
            "verify",
            "--secret",
            "-",
            "--code",
            RFC4226[3],
            "--counter",
            "3",
        ],
        &format!("{SEED_SHA1}\n"),
    );
    assert_prints(&run, "4");
    let run = twofa_stdin(&["code", "--secret", "-", "--time", "59"], "\n");
    assert_invalid(&run, "--secret", &[]);
    let run = twofa_stdin(&["code", "--secret", "-", "--time", "59"], "GEZD!GNBV\n");
    assert_invalid(&run, "--secret", &["GEZD"]);
}

#[test]
fn legacy_secrets_work_with_a_warning() {
    let run = twofa(&["code", "--secret", SECRET_80, "--time", "59"]);
    assert_eq!(run.status, 0);
    assert_eq!(run.stdout.trim_end().len(), 6);
    assert_eq!(run.stderr.lines().count(), 1);
    assert!(run.stderr.starts_with("warning: "), "{}", run.stderr);
    assert!(run.stderr.contains("80 bits"), "{}", run.stderr);
    assert!(!run.stderr.contains(SECRET_80));
    // The full-length RFC seed gives no warning.
    let run = twofa(&["code", "--secret", SEED_SHA1, "--time", "59"]);
    assert_eq!(run.stderr, "");
    let run = twofa(&["code", "--secret", SECRET_72, "--time", "59"]);
    assert_invalid(&run, "--secret", &[SECRET_72]);
}
