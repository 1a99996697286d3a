//! The `twofa` binary driven as a script would drive it: arguments in,
//! stdout, stderr and exit status out. Every time is given with `--time`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions: a failure is a failed test"
)]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// RFC 6238 Appendix B seeds: the ASCII digits "1234567890" repeated to the
/// hash output length (20, 32 and 64 bytes), in base32 (RFC 4648).
const SEED_SHA1: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const SEED_SHA256: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA";
const SEED_SHA512: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA";

/// RFC 6238 Appendix B: (time, SHA-1, SHA-256, SHA-512) 8-digit codes, step
/// 30 s, T0 = 0.
const RFC6238: [(u64, &str, &str, &str); 6] = [
    (59, "94287082", "46119246", "90693936"),
    (1_111_111_109, "07081804", "68084774", "25091201"),
    (1_111_111_111, "14050471", "67062674", "99943326"),
    (1_234_567_890, "89005924", "91819424", "93441116"),
    (2_000_000_000, "69279037", "90698825", "38618901"),
    (20_000_000_000, "65353130", "77737706", "47863826"),
];

/// RFC 4226 Appendix D: the 6-digit HOTP values for counters 0 to 9 with
/// the secret "12345678901234567890" (`SEED_SHA1`).
const RFC4226: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

/// An 80-bit secret ("1234567890"), the legacy minimum.
const SECRET_80: &str = "GEZDGNBVGY3TQOJQ";
/// A 72-bit secret ("123456789"), below every minimum.
const SECRET_72: &str = "GEZDGNBVGY3TQOI";

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn finish(output: Output) -> Run {
    Run {
        status: output.status.code().expect("terminated by a signal"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn twofa(args: &[&str]) -> Run {
    finish(
        Command::new(env!("CARGO_BIN_EXE_twofa"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    )
}

fn twofa_stdin(args: &[&str], input: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_twofa"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    finish(child.wait_with_output().unwrap())
}

/// Success with exactly `expected` and a newline on stdout, nothing on stderr.
fn assert_prints(run: &Run, expected: &str) {
    assert_eq!(run.status, 0, "stderr: {}", run.stderr);
    assert_eq!(run.stdout, format!("{expected}\n"));
    assert_eq!(run.stderr, "");
}

/// A refusal of a code: status 1, nothing on stdout, one `rejected:` line.
fn assert_rejected(run: &Run, reason: &str) {
    assert_eq!(
        run.status, 1,
        "stdout: {} stderr: {}",
        run.stdout, run.stderr
    );
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, format!("rejected: {reason}\n"));
}

/// Invalid input: status 2, nothing on stdout, one `error:` line on stderr
/// that mentions `names` and none of `hidden`.
fn assert_invalid(run: &Run, names: &str, hidden: &[&str]) {
    assert_eq!(
        run.status, 2,
        "stdout: {} stderr: {}",
        run.stdout, run.stderr
    );
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("error: "), "{:?}", run.stderr);
    assert!(run.stderr.ends_with('\n'), "{:?}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
    assert!(
        run.stderr.contains(names),
        "{:?} lacks {names:?}",
        run.stderr
    );
    for hidden in hidden {
        assert!(
            !run.stderr.contains(hidden),
            "{:?} shows {hidden:?}",
            run.stderr
        );
    }
}

fn json(run: &Run) -> Value {
    assert_eq!(run.status, 0, "stderr: {}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1, "{:?}", run.stdout);
    serde_json::from_str(&run.stdout).unwrap()
}

/// The same digits with the last one changed.
fn tampered(code: &str) -> String {
    let (head, last) = code.split_at(code.len() - 1);
    let last = if last == "9" { "0" } else { "9" };
    format!("{head}{last}")
}

fn rfc6238_rows() -> impl Iterator<Item = (u64, &'static str, &'static str, &'static str)> {
    RFC6238.iter().flat_map(|&(time, sha1, sha256, sha512)| {
        [
            (time, "sha1", SEED_SHA1, sha1),
            (time, "sha256", SEED_SHA256, sha256),
            (time, "sha512", SEED_SHA512, sha512),
        ]
    })
}

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

#[test]
fn uri_parse_prints_the_fields_as_json() {
    let uri = format!(
        "otpauth://totp/ACME%20Co:alice@example.com?secret={SEED_SHA256}&issuer=ACME%20Co\
         &algorithm=SHA256&digits=8&period=60&image=https://example.com/logo.png"
    );
    let fields = json(&twofa(&["uri", "parse", &uri]));
    assert_eq!(fields["type"], "totp");
    assert_eq!(fields["issuer"], "ACME Co");
    assert_eq!(fields["account"], "alice@example.com");
    assert_eq!(fields["secret"], SEED_SHA256);
    assert_eq!(fields["algorithm"], "SHA256");
    assert_eq!(fields["digits"], 8);
    assert_eq!(fields["period"], 60);
    assert_eq!(fields["image"], "https://example.com/logo.png");
    assert!(fields.get("counter").is_none());
    assert_eq!(fields.as_object().unwrap().len(), 8);

    // HOTP: counter instead of period; no issuer: null; no image: absent.
    // Lower-case, padded secret comes back unpadded upper case.
    let uri = "otpauth://hotp/alice@example.com?secret=gezdgnbvgy3tqojqgezdgnbvgy3tqojq&counter=42";
    let fields = json(&twofa(&["uri", "parse", uri]));
    assert_eq!(fields["type"], "hotp");
    assert!(fields["issuer"].is_null());
    assert_eq!(fields["account"], "alice@example.com");
    assert_eq!(fields["secret"], SEED_SHA1);
    assert_eq!(fields["algorithm"], "SHA1");
    assert_eq!(fields["digits"], 6);
    assert_eq!(fields["counter"], 42);
    assert!(fields.get("period").is_none());
    assert!(fields.get("image").is_none());
    assert_eq!(fields.as_object().unwrap().len(), 7);

    // From stdin.
    let run = twofa_stdin(&["uri", "parse", "-"], &format!("{uri}\n"));
    assert_eq!(json(&run)["counter"], 42);
}

#[test]
fn uri_parse_lenient_accepts_vendor_deviations() {
    // %3A separator, space after it, mismatched issuer (the parameter wins),
    // 80-bit secret.
    let uri = format!(
        "otpauth://totp/Big%20Vendor%3A%20bob@example.com?secret={SECRET_80}&issuer=BigVendor"
    );
    let run = twofa(&["uri", "parse", &uri]);
    assert_invalid(&run, "URI", &[SECRET_80]);
    let run = twofa(&["uri", "parse", "--lenient", &uri]);
    let fields = json(&run);
    assert_eq!(fields["issuer"], "BigVendor");
    assert_eq!(fields["account"], "bob@example.com");
    assert_eq!(fields["secret"], SECRET_80);
    assert_eq!(fields["period"], 30);
    assert_eq!(run.stderr.lines().count(), 1);
    assert!(run.stderr.starts_with("warning: "), "{}", run.stderr);
    assert!(!run.stderr.contains(SECRET_80));
}

#[test]
fn uri_parse_strict_imports_a_legacy_secret_with_a_warning() {
    // The Key Uri Format's own example carries an 80-bit secret.
    let uri = "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example";
    let run = twofa(&["uri", "parse", uri]);
    let fields = json(&run);
    assert_eq!(fields["issuer"], "Example");
    assert_eq!(fields["account"], "alice@google.com");
    assert_eq!(fields["secret"], "JBSWY3DPEHPK3PXP");
    assert_eq!(run.stderr.lines().count(), 1);
    assert!(run.stderr.contains("80 bits"), "{}", run.stderr);
    assert!(!run.stderr.contains("JBSWY3DPEHPK3PXP"));
    // Under 80 bits it is still refused.
    let run = twofa(&[
        "uri",
        "parse",
        "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3P&issuer=Example",
    ]);
    assert_invalid(&run, "URI", &["JBSWY3DPEHPK3P"]);
}

#[test]
fn uri_new_round_trips_through_uri_parse() {
    let run = twofa(&[
        "uri",
        "new",
        "--issuer",
        "ACME Co",
        "--account",
        "alice@example.com",
        "--secret",
        SEED_SHA1,
    ]);
    assert_eq!(run.status, 0);
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout,
        format!(
            "otpauth://totp/ACME%20Co:alice%40example.com?secret={SEED_SHA1}&issuer=ACME%20Co\
             &algorithm=SHA1&digits=6&period=30\n"
        )
    );
    let fields = json(&twofa(&["uri", "parse", run.stdout.trim_end()]));
    assert_eq!(fields["issuer"], "ACME Co");
    assert_eq!(fields["account"], "alice@example.com");
    assert_eq!(fields["secret"], SEED_SHA1);

    // Non-default parameters: three compatibility warnings, and they survive
    // the round trip.
    let run = twofa(&[
        "uri",
        "new",
        "--issuer",
        "ACME",
        "--account",
        "bob",
        "--algorithm",
        "sha512",
        "--digits",
        "8",
        "--period",
        "60",
    ]);
    assert_eq!(run.status, 0);
    assert_eq!(run.stderr.lines().count(), 3, "{}", run.stderr);
    assert!(run.stderr.lines().all(|line| line.starts_with("warning: ")));
    let fields = json(&twofa(&["uri", "parse", run.stdout.trim_end()]));
    assert_eq!(fields["algorithm"], "SHA512");
    assert_eq!(fields["digits"], 8);
    assert_eq!(fields["period"], 60);
    // A fresh secret as long as the SHA-512 output: 64 bytes, 103 symbols.
    assert_eq!(fields["secret"].as_str().unwrap().len(), 103);
}

#[test]
fn uri_new_fresh_secrets_differ_and_qr_follows_the_uri() {
    let new = || {
        let run = twofa(&["uri", "new", "--issuer", "ACME", "--account", "alice"]);
        assert_eq!(run.status, 0);
        let fields = json(&twofa(&["uri", "parse", run.stdout.trim_end()]));
        fields["secret"].as_str().unwrap().to_owned()
    };
    let first = new();
    assert_eq!(first.len(), 32);
    assert_ne!(first, new());

    let run = twofa(&[
        "uri",
        "new",
        "--issuer",
        "ACME",
        "--account",
        "alice",
        "--qr",
    ]);
    assert_eq!(run.status, 0);
    let mut lines = run.stdout.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("otpauth://totp/ACME:alice?")
    );
    let qr: Vec<&str> = lines.collect();
    assert!(qr.len() > 10, "{}", run.stdout);
    assert!(
        qr.iter()
            .all(|line| line.chars().all(|c| " ▀▄█".contains(c)))
    );
}

#[test]
fn provision_shows_a_uri_that_parses_and_a_code_that_verifies() {
    let run = twofa(&[
        "provision",
        "--issuer",
        "Example Portal",
        "--account",
        "alice@example.com",
        "--time",
        "1234567899",
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    let line = |prefix: &str| {
        run.stdout
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in {}", run.stdout))
            .to_owned()
    };
    let uri = line("Key URI: ");
    let fields = json(&twofa(&["uri", "parse", &uri]));
    assert_eq!(fields["issuer"], "Example Portal");
    assert_eq!(fields["account"], "alice@example.com");
    let secret = fields["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32);

    // The key for manual entry, in groups of four.
    let grouped: String = secret
        .as_bytes()
        .chunks(4)
        .map(|chunk| std::str::from_utf8(chunk).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(run.stdout.contains(&grouped), "{}", run.stdout);

    // 1234567899 is 9 s into its step: 21 s left.
    let current = line("Current code: ");
    let (code, rest) = current.split_once(' ').unwrap();
    assert_eq!(rest, "(valid for 21 more seconds)");
    let verified = twofa(&[
        "verify",
        "--secret",
        &secret,
        "--code",
        code,
        "--time",
        "1234567899",
        "--behind",
        "0",
        "--ahead",
        "0",
    ]);
    assert_prints(&verified, "41152263");
    let again = twofa(&["code", "--secret", &secret, "--time", "1234567899"]);
    assert_prints(&again, code);
    // The QR code: a block of half-block characters between the URI and the
    // key.
    let qr_lines = run
        .stdout
        .lines()
        .filter(|line| !line.is_empty() && line.chars().all(|c| " ▀▄█".contains(c)))
        .count();
    assert!(qr_lines > 10, "{}", run.stdout);
}

/// The seconds left run from the full step at its first second down to 1 at
/// its last.
#[test]
fn provision_counts_the_seconds_left_in_the_step() {
    for (time, left) in [
        ("1234567889", 1),
        ("1234567890", 30),
        ("1234567891", 29),
        ("1234567919", 1),
        ("1234567920", 30),
    ] {
        let run = twofa(&[
            "provision",
            "--issuer",
            "ACME",
            "--account",
            "a",
            "--time",
            time,
        ]);
        assert_eq!(run.status, 0, "{}", run.stderr);
        let expected = format!("(valid for {left} more seconds)");
        assert!(
            run.stdout
                .lines()
                .any(|line| line.starts_with("Current code: ") && line.ends_with(&expected)),
            "{time}: {}",
            run.stdout
        );
    }
    // A 60 s period.
    let run = twofa(&[
        "provision",
        "--issuer",
        "ACME",
        "--account",
        "a",
        "--period",
        "60",
        "--time",
        "1234567890",
    ]);
    assert!(
        run.stdout.contains("(valid for 30 more seconds)"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("warning: "));
}

#[test]
fn every_invalid_input_is_one_line_and_status_2() {
    let s = SEED_SHA1;
    let cases: &[(&[&str], &str)] = &[
        (
            &["code", "--secret", s, "--digits", "9"],
            "--digits: digits must be 6, 7 or 8",
        ),
        (&["code", "--secret", s, "--digits", "5"], "--digits"),
        (
            &["code", "--secret", s, "--digits", "99999999999999999999999"],
            "--digits",
        ),
        (&["code", "--secret", s, "--digits", "six"], "--digits"),
        (
            &["code", "--secret", s, "--algorithm", "md5"],
            "--algorithm",
        ),
        (&["code", "--secret", s, "--algorithm", ""], "--algorithm"),
        (&["code", "--secret", s, "--period", "0"], "--period"),
        (&["code", "--secret", s, "--period", "121"], "--period"),
        (
            &["code", "--secret", s, "--period", "18446744073709551616"],
            "--period",
        ),
        (
            &["code", "--secret", s, "--t0", "18446744073709551616"],
            "--t0",
        ),
        (
            &["code", "--secret", s, "--time", "18446744073709551616"],
            "--time",
        ),
        (&["code", "--secret", s, "--time", "+59"], "--time"),
        (&["code", "--secret", s, "--time", " 59"], "--time"),
        (&["code", "--secret", s, "--time", ""], "--time"),
        (
            &["code", "--secret", s, "--counter", "18446744073709551616"],
            "--counter",
        ),
        (&["code", "--secret", s, "--counter", "1e3"], "--counter"),
        (
            &["code", "--secret", s, "--t0", "60", "--time", "59"],
            "--time",
        ),
        (&["code", "--secret", ""], "--secret: secret is empty"),
        (&["code", "--secret", "   "], "--secret"),
        (
            &["code", "--secret", "GEZDGNBVGY3TQOJQ!EZDGNBVGY3TQOJQ"],
            "--secret",
        ),
        (
            &["code", "--secret", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1"],
            "--secret",
        ),
        (
            &["code", "--secret", "GEZDGNBV=GY3TQOJQGEZDGNBVGY3TQOJQ"],
            "--secret",
        ),
        (&["code", "--secret", SECRET_72], "--secret"),
        (
            &["code", "--secret", s, "--time", "59", "--counter", "1"],
            "--counter",
        ),
        (
            &["code", "--secret", s, "--period", "60", "--counter", "1"],
            "--counter",
        ),
        (
            &["code", "--secret", s, "--time", "1", "--time", "2"],
            "--time",
        ),
        (&["code", "--secret", s, s], "unexpected argument"),
        (&["code", "--secret", s, "--bogus"], "--bogus"),
        (&["code"], "--secret"),
        (&["verify", "--secret", s], "--code"),
        (
            &[
                "verify", "--secret", s, "--code", "287082", "--behind", "11",
            ],
            "--behind",
        ),
        (
            &[
                "verify",
                "--secret",
                s,
                "--code",
                "287082",
                "--ahead",
                "4294967296",
            ],
            "--ahead",
        ),
        (
            &[
                "verify",
                "--secret",
                s,
                "--code",
                "287082",
                "--last-step",
                "-1",
            ],
            "--last-step",
        ),
        (
            &[
                "verify",
                "--secret",
                s,
                "--code",
                "287082",
                "--last-step",
                "x",
            ],
            "--last-step",
        ),
        (
            &[
                "verify",
                "--secret",
                s,
                "--code",
                "287082",
                "--look-ahead",
                "3",
            ],
            "--counter",
        ),
        (
            &[
                "verify",
                "--secret",
                s,
                "--code",
                "287082",
                "--counter",
                "0",
                "--look-ahead",
                "101",
            ],
            "--look-ahead",
        ),
        (
            &[
                "verify",
                "--secret",
                s,
                "--code",
                "287082",
                "--counter",
                "0",
                "--last-step",
                "1",
            ],
            "--counter",
        ),
        (
            &[
                "verify", "--secret", s, "--code", "287082", "--t0", "100", "--time", "0",
            ],
            "--time",
        ),
        (&["uri", "parse", "https://example.com/"], "URI"),
        (
            &["uri", "parse", "otpauth://totp/ACME:alice?secret=GEZD!"],
            "URI",
        ),
        (&["uri", "parse", ""], "URI"),
        (&["uri", "parse"], "URI"),
        (
            &["uri", "new", "--issuer", "", "--account", "alice"],
            "--issuer",
        ),
        (
            &["uri", "new", "--issuer", "A:B", "--account", "alice"],
            "--issuer",
        ),
        (
            &["uri", "new", "--issuer", "ACME", "--account", "a:b"],
            "--account",
        ),
        (
            &["uri", "new", "--issuer", "ACME", "--account", ""],
            "--account",
        ),
        (
            &[
                "uri",
                "new",
                "--issuer",
                "ACME",
                "--account",
                "a",
                "--secret",
                "!!",
            ],
            "--secret",
        ),
        (
            &[
                "uri",
                "new",
                "--issuer",
                "ACME",
                "--account",
                "a",
                "--digits",
                "10",
            ],
            "--digits",
        ),
        (&["uri", "new", "--issuer", "ACME"], "--account"),
        (&["uri", "bogus"], "bogus"),
        (&["uri"], "command"),
        (
            &[
                "provision",
                "--issuer",
                "ACME",
                "--account",
                "a",
                "--period",
                "0",
            ],
            "--period",
        ),
        (
            &[
                "provision",
                "--issuer",
                "ACME",
                "--account",
                "a",
                "--time",
                "x",
            ],
            "--time",
        ),
        (&["provision", "--account", "a"], "--issuer"),
        (
            &["code", "--secret", s, "--time", "-5"],
            "--time: not a whole number",
        ),
        (&["code", "--secret", "-GEZDGNBVGY3TQOJQ!"], "--secret"),
        (&["frobnicate"], "frobnicate"),
        (&[], "command"),
    ];
    for (args, names) in cases {
        let run = twofa(args);
        assert_invalid(&run, names, &[SEED_SHA1, "GEZDGNBVGY3TQOJQ", "GEZD!"]);
    }
}

#[test]
fn help_and_version_succeed() {
    for args in [
        &["--help"][..],
        &["--version"],
        &["code", "--help"],
        &["uri", "new", "--help"],
    ] {
        let run = twofa(args);
        assert_eq!(run.status, 0, "{args:?}: {}", run.stderr);
        assert!(!run.stdout.is_empty());
    }
}

// ---- demo ------------------------------------------------------------------

#[test]
fn demo_plays_every_portal_feature_and_exits_zero() {
    let run = twofa(&["demo"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    for screen in [
        "You must set up two-factor authentication.",
        "[ Remind me in 48 hours ]",
        "otpauth://totp/Partner%20Portal:Bob%20Baker?secret=",
        "▄",
        "2FA is active. Save these recovery codes",
        "That code is not correct.",
        "We sent a code to +44 ••• ••• 3456.",
        "Call: Hello. This is Partner Portal.",
        "This looks like a landline",
        "We cannot tell whether this number is a mobile",
        "47 h 59 min 59 s later",
        "Two-factor authentication is required for all users.",
        "no prompt until",
        "21 days later",
        "recovery code accepted",
        "2FA status",
        "Your company no longer allows this method: after this check, set up another one.",
        "Use another method: [ a text message to +44 ••• ••• 4321 ]",
        "checks passed: the portal behaved as it should.",
    ] {
        assert!(
            run.stdout.contains(screen),
            "missing {screen:?} in:\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains('✘'), "{}", run.stdout);
}

/// The throwaway PostgreSQL server of the store's tests (or `DATABASE_URL`).
#[path = "../../../crates/twofa-store-postgres/tests/support/cluster.rs"]
#[allow(dead_code, reason = "the demo test uses only part of the harness")]
mod cluster;

#[tokio::test]
async fn demo_plays_every_portal_feature_on_postgresql_and_exits_zero() {
    let url = cluster::Cluster::shared()
        .unwrap()
        .database("demo")
        .await
        .unwrap();
    let run = twofa(&["demo", "--database-url", &url]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    for screen in [
        "Stores: PostgreSQL",
        "2FA is active. Save these recovery codes",
        "21 days later",
        "checks passed: the portal behaved as it should.",
    ] {
        assert!(
            run.stdout.contains(screen),
            "missing {screen:?} in:\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains('✘'), "{}", run.stdout);

    // The demo's accounts exist now: a second run is refused up front.
    let again = twofa(&["demo", "--database-url", &url]);
    assert_eq!(again.status, 1, "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("empty database"), "{}", again.stdout);
}

#[test]
fn demo_on_an_unreachable_database_fails_without_playing() {
    let run = twofa(&[
        "demo",
        "--database-url",
        "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2",
    ]);
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("connecting to the database: database unavailable")
    );
    assert!(!run.stdout.contains("Bob logs in"), "{}", run.stdout);
    assert!(!run.stdout.contains("nobody"), "{}", run.stdout);
}

#[test]
fn interactive_demo_shows_the_qr_code_and_refuses_what_the_app_did_not_show() {
    let run = twofa_stdin(&["demo", "--interactive"], "abc\n");
    assert_ne!(run.status, 0);
    assert!(
        run.stdout.contains("otpauth://totp/Partner%20Portal:"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Not accepted"), "{}", run.stdout);
}
