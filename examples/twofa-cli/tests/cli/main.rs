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

mod demo;
mod invalid;
mod otp;
mod qr;
mod uri;

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
