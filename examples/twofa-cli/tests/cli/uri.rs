//! `otpauth://` key URIs, parsed and made, and provisioning a key with its
//! QR code.

use crate::{
    SECRET_80, SEED_SHA1, SEED_SHA256, assert_invalid, assert_prints, json, twofa, twofa_stdin,
};

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
