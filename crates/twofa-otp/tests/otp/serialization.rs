//! serde (feature `serde`): every non-secret value type round-trips through
//! JSON and is validated on the way in; a key's description carries no
//! secret. With `serde-secret`, `Secret` and `KeyUri` round-trip too.
//!
//! That `Secret`, `KeyUri`, `Code`, `Totp` and `Hotp` have no serde
//! implementation without `serde-secret` is checked when the library
//! compiles (see the end of `src/secret.rs`): a build with `serde` and
//! without `serde-secret` fails if one of them gains one.

use ::serde::Serialize;
use ::serde::de::DeserializeOwned;

use super::*;

/// `value` to JSON and back, checking both the text and the value.
fn round_trip<T>(value: &T, json: &str)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = serde_json::to_string(value).unwrap();
    assert_eq!(text, json);
    let back: T = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, value);
}

fn refused<T: DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
    serde_json::from_str::<T>(json).unwrap_err().to_string()
}

#[test]
fn parameters_round_trip_and_are_validated() {
    round_trip(&Algorithm::Sha1, r#""SHA1""#);
    round_trip(&Algorithm::Sha256, r#""SHA256""#);
    round_trip(&Algorithm::Sha512, r#""SHA512""#);
    refused::<Algorithm>(r#""MD5""#);

    round_trip(&Digits::SEVEN, "7");
    assert!(refused::<Digits>("9").contains("digits must be 6, 7 or 8"));
    round_trip(&Step::new(60).unwrap(), "60");
    assert!(refused::<Step>("0").contains("time step"));
    round_trip(&Window::new(2, 1).unwrap(), r#"{"behind":2,"ahead":1}"#);
    assert!(refused::<Window>(r#"{"behind":11,"ahead":0}"#).contains("window"));
    round_trip(&LookAhead::new(20).unwrap(), "20");
    refused::<LookAhead>("101");
    round_trip(&ResyncWindow::new(500).unwrap(), "500");
    refused::<ResyncWindow>("0");
    round_trip(&ParseMode::Strict, r#""strict""#);
    round_trip(&ParseMode::Lenient, r#""lenient""#);
    refused::<ParseMode>(r#""sloppy""#);
    round_trip(&SecretStrength::Full, r#""full""#);
    round_trip(
        &SecretStrength::Legacy { bits: 80 },
        r#"{"legacy":{"bits":80}}"#,
    );
    round_trip(
        &CompatibilityWarning::Digits(Digits::EIGHT),
        r#"{"digits":8}"#,
    );
    round_trip(
        &OtpKind::Totp {
            step: Step::THIRTY_SECONDS,
        },
        r#"{"totp":{"step":30}}"#,
    );
    round_trip(&OtpKind::Hotp { counter: 42 }, r#"{"hotp":{"counter":42}}"#);
}

#[test]
fn acceptances_round_trip() {
    let totp = Totp::new(&rfc_secret(Algorithm::Sha1), Algorithm::Sha1);
    let code = code_text(&totp.generate_at_step(9));
    let accepted = totp.verify(&code, 300, None, Window::default()).unwrap();
    round_trip(&accepted, r#"{"step":9,"drift":-1}"#);

    let hotp = Hotp::new(&rfc_secret(Algorithm::Sha1), Algorithm::Sha1);
    let code = code_text(&hotp.generate(3));
    let accepted = hotp.verify(&code, 0, LookAhead::default()).unwrap();
    round_trip(&accepted, r#"{"counter":3,"next_counter":4}"#);
}

#[test]
fn key_description_round_trips_without_the_secret() {
    let key = KeyUri::new(
        "ACME Co",
        "alice@example.com",
        uri_secret(),
        OtpKind::Hotp { counter: 7 },
    )
    .unwrap()
    .with_digits(Digits::EIGHT)
    .with_image("https://example.com/logo.png")
    .unwrap();
    let json = r#"{"kind":{"hotp":{"counter":7}},"issuer":"ACME Co","account":"alice@example.com","algorithm":"SHA1","digits":8,"image":"https://example.com/logo.png"}"#;
    round_trip(key.description(), json);
    let secret = uri_secret().to_base32();
    assert!(!json.contains(secret.as_str()));
    assert!(!json.contains(&secret[..8]));

    // What a lenient parse reads (no issuer, a colon in the account) reads
    // back as well, and joins the secret into the same key URI again.
    let lenient = KeyUri::parse(
        "otpauth://totp/:a:b?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        ParseMode::Lenient,
    )
    .unwrap();
    let text = serde_json::to_string(lenient.description()).unwrap();
    assert_eq!(
        text,
        r#"{"kind":{"totp":{"step":30}},"issuer":null,"account":"a:b","algorithm":"SHA1","digits":6,"image":null}"#
    );
    let description: KeyDescription = serde_json::from_str(&text).unwrap();
    let joined = KeyUri::from_description(description, uri_secret());
    assert_eq!(*joined.to_uri(), *lenient.to_uri());
    // Absent optional fields read as absent.
    let short: KeyDescription = serde_json::from_str(
        r#"{"kind":{"totp":{"step":30}},"account":"bob","algorithm":"SHA1","digits":6}"#,
    )
    .unwrap();
    assert_eq!((short.issuer(), short.image()), (None, None));
}

#[test]
fn key_description_is_checked_as_a_key_uri_is() {
    let with = |field: &str| {
        format!(
            r#"{{"kind":{{"totp":{{"step":30}}}},"algorithm":"SHA1","digits":6,"image":null,{field}}}"#
        )
    };
    let accepted = with(r#""issuer":"ACME","account":"alice""#);
    assert!(serde_json::from_str::<KeyDescription>(&accepted).is_ok());
    for (field, message) in [
        (r#""issuer":"","account":"a""#, "issuer is empty"),
        (r#""issuer":"A:B","account":"a""#, "issuer contains a colon"),
        (
            r#""issuer":"A\n","account":"a""#,
            "control character in issuer",
        ),
        (r#""issuer":"A","account":"""#, "account name is empty"),
        (
            r#""issuer":"A","account":" a""#,
            "account name starts with a space",
        ),
        (
            r#""issuer":"A","account":"a\u0085""#,
            "control character in account",
        ),
        (
            r#""issuer":"A","account":"a","digits":9"#,
            "duplicate field",
        ),
        (
            r#""issuer":"A","account":"a","secret":"JBSWY3DPEHPK3PXP""#,
            "unknown field",
        ),
    ] {
        let error = refused::<KeyDescription>(&with(field));
        assert!(error.contains(message), "{field}: {error}");
        assert!(!error.contains("JBSWY3DPEHPK3PXP"), "{error}");
    }
    let image = |url: &str| {
        format!(
            r#"{{"kind":{{"totp":{{"step":30}}}},"issuer":"A","account":"a","algorithm":"SHA1","digits":6,"image":{url}}}"#
        )
    };
    assert!(serde_json::from_str::<KeyDescription>(&image(r#""https://x.com/a.png""#)).is_ok());
    assert!(refused::<KeyDescription>(&image(r#""http://x.com/a.png""#)).contains("https"));
}

#[cfg(feature = "serde-secret")]
#[test]
fn secret_round_trips_as_base32_with_the_opt_in() {
    let secret = uri_secret();
    let json = serde_json::to_string(&secret).unwrap();
    assert_eq!(json, r#""JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP""#);
    let back: Secret = serde_json::from_str(&json).unwrap();
    assert!(back.ct_eq(&secret));
    // A legacy secret reads back, and says so.
    let legacy: Secret = serde_json::from_str(r#""JBSWY3DPEHPK3PXP""#).unwrap();
    assert_eq!(legacy.strength(), SecretStrength::Legacy { bits: 80 });
    assert_eq!(
        serde_json::to_string(&legacy).unwrap(),
        r#""JBSWY3DPEHPK3PXP""#
    );
    // Malformed or too short: refused without quoting the text.
    for text in [r#""JBSWY3DPEHPK3PX!""#, r#""JBSWY3DPEHPK3P""#, "42"] {
        let error = refused::<Secret>(text);
        assert!(!error.contains("JBSWY3DP"), "{error}");
    }
}

#[cfg(feature = "serde-secret")]
#[test]
fn key_uri_round_trips_as_its_text_with_the_opt_in() {
    let built = KeyUri::totp("ACME Co", "alice@example.com", uri_secret())
        .unwrap()
        .with_algorithm(Algorithm::Sha256);
    let lenient = KeyUri::parse(
        "otpauth://totp/:a:b?secret=JBSWY3DPEHPK3PXP&image=https://x.com/a+b.png",
        ParseMode::Lenient,
    )
    .unwrap();
    for key in [built, lenient] {
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, format!("\"{}\"", key.to_uri().as_str()));
        let back: KeyUri = serde_json::from_str(&json).unwrap();
        assert_eq!(back.description(), key.description());
        assert!(back.secret().ct_eq(key.secret()));
        assert_eq!(back.secret_strength(), key.secret_strength());
    }
    let error = refused::<KeyUri>(r#""otpauth://totp/A:b?secret=JBSWY3DPEHPK3PX!""#);
    assert!(error.contains("invalid secret"), "{error}");
    assert!(!error.contains("JBSWY3DP"), "{error}");
}
