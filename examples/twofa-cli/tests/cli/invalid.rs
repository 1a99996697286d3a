//! Invalid input: one `error:` line and status 2; help and version.

use crate::{SECRET_72, SEED_SHA1, assert_invalid, twofa};

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
