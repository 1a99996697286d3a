//! Redaction: `Debug` output and errors never show a secret or a code.

use super::*;

#[test]
fn debug_and_errors_never_show_secrets_or_codes() {
    let secret = uri_secret();
    let base32_text = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let hex: String = secret
        .expose_secret()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let hotp = Hotp::new(&secret, Algorithm::Sha1);
    let totp = Totp::new(&secret, Algorithm::Sha1);
    let code = hotp.generate(7);
    let digits_text = code_text(&code);
    let uri = KeyUri::totp("ACME", "alice", secret.clone())
        .unwrap()
        .with_image("https://example.com/i.png")
        .unwrap();

    let mut outputs = vec![
        format!("{secret:?}"),
        format!("{code:?}"),
        format!("{:?}", code.expose_secret()),
        format!("{hotp:?}"),
        format!("{totp:?}"),
        format!("{uri:?}"),
        format!("{:?}", hotp.verify(&digits_text, 0, LookAhead::default())),
        format!(
            "{:?}",
            totp.verify(&digits_text, 0, None, Window::default())
        ),
    ];
    // Errors from inputs that carry the secret or the code.
    let bad_secret = format!("{base32_text}!");
    let secret_error = Secret::from_base32(&bad_secret).unwrap_err();
    outputs.push(format!("{secret_error:?} {secret_error}"));
    let bad_uri = format!("otpauth://totp/A:b?secret={bad_secret}");
    let uri_error = KeyUri::parse(&bad_uri, ParseMode::Strict).unwrap_err();
    outputs.push(format!("{uri_error:?} {uri_error}"));
    let mismatch = format!("otpauth://totp/{base32_text}:b?secret={base32_text}&issuer=X");
    let uri_error = KeyUri::parse(&mismatch, ParseMode::Strict).unwrap_err();
    outputs.push(format!("{uri_error:?} {uri_error}"));
    for malformed in [
        format!("{digits_text}0"),
        format!("{digits_text} "),
        format!("x{digits_text}"),
    ] {
        let rejected = hotp
            .verify(&malformed, 0, LookAhead::default())
            .unwrap_err();
        outputs.push(format!("{rejected:?} {rejected}"));
        let error = Code::parse(&malformed, Digits::SIX).unwrap_err();
        outputs.push(format!("{error:?} {error}"));
    }
    let rejected = totp
        .verify(&tampered(&digits_text), 0, None, Window::default())
        .unwrap_err();
    outputs.push(format!("{rejected:?} {rejected}"));

    for output in &outputs {
        assert!(!output.contains(base32_text), "{output}");
        assert!(!output.contains(&base32_text[..8]), "{output}");
        assert!(!output.contains(&hex[..8]), "{output}");
        assert!(!output.contains(&digits_text), "{output}");
        assert!(!output.contains(&tampered(&digits_text)), "{output}");
    }
    assert!(outputs[0].contains("REDACTED"));
    assert!(outputs[5].contains("REDACTED"));
}
