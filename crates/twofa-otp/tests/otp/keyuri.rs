//! Key URIs (`otpauth://`): building, parsing in strict and lenient mode,
//! specific parse errors and compatibility warnings.

use super::*;

#[test]
fn uri_build_and_parse() {
    let uri = KeyUri::totp("ACME Co", "john.doe@example.com", uri_secret()).unwrap();
    assert_eq!(
        uri.to_uri().as_str(),
        "otpauth://totp/ACME%20Co:john.doe%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
    );
    let hotp = KeyUri::new(
        "Big Corp",
        "bob",
        uri_secret(),
        OtpKind::Hotp { counter: 42 },
    )
    .unwrap()
    .with_algorithm(Algorithm::Sha256)
    .with_digits(Digits::EIGHT)
    .with_image("https://example.com/logo.png?size=64")
    .unwrap();
    let text = hotp.to_uri();
    assert_eq!(
        text.as_str(),
        "otpauth://hotp/Big%20Corp:bob?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Big%20Corp&algorithm=SHA256&digits=8&counter=42&image=https%3A%2F%2Fexample.com%2Flogo.png%3Fsize%3D64"
    );
    let parsed = KeyUri::parse(&text, ParseMode::Strict).unwrap();
    assert_eq!(parsed.kind(), OtpKind::Hotp { counter: 42 });
    assert_eq!(parsed.counter(), Some(42));
    assert_eq!(parsed.step(), None);
    assert_eq!(parsed.issuer(), Some("Big Corp"));
    assert_eq!(parsed.account(), "bob");
    assert_eq!(parsed.algorithm(), Algorithm::Sha256);
    assert_eq!(parsed.digits(), Digits::EIGHT);
    assert_eq!(parsed.image(), Some("https://example.com/logo.png?size=64"));
    assert!(parsed.secret().ct_eq(&uri_secret()));
    assert!(parsed.to_totp().is_none());
    let generator = parsed.to_hotp().unwrap();
    assert_eq!(generator.digits(), Digits::EIGHT);
    assert_eq!(
        code_text(&generator.generate(42)),
        reference_hotp(Algorithm::Sha256, uri_secret().expose_secret(), 42, 8)
    );
}

#[test]
fn uri_builder_refusals() {
    assert_eq!(
        KeyUri::totp("A:B", "alice", uri_secret()).err(),
        Some(UriError::ColonInIssuer)
    );
    assert_eq!(
        KeyUri::totp("ACME", "a:lice", uri_secret()).err(),
        Some(UriError::ColonInAccount)
    );
    assert_eq!(
        KeyUri::totp("ACME", "", uri_secret()).err(),
        Some(UriError::EmptyAccount)
    );
    assert_eq!(
        KeyUri::totp("", "alice", uri_secret()).err(),
        Some(UriError::EmptyIssuer)
    );
    assert_eq!(
        KeyUri::totp("ACME", " alice", uri_secret()).err(),
        Some(UriError::LeadingSpace)
    );
    assert_eq!(
        KeyUri::totp("AC\nME", "alice", uri_secret()).err(),
        Some(UriError::ControlCharacter {
            part: UriPart::Issuer
        })
    );
    let uri = KeyUri::totp("ACME", "alice", uri_secret()).unwrap();
    for bad in [
        "http://example.com/a.png",
        "https://",
        "ftp://x",
        "//example.com",
        "https:///x",
    ] {
        assert_eq!(
            uri.clone().with_image(bad).err(),
            Some(UriError::ImageNotHttps),
            "{bad}"
        );
    }
}

const GOOD: &str = "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example";

#[test]
fn uri_parse_defaults_and_label_forms() {
    let uri = KeyUri::parse(GOOD, ParseMode::Strict).unwrap();
    assert_eq!(
        uri.kind(),
        OtpKind::Totp {
            step: Step::default()
        }
    );
    assert_eq!(uri.issuer(), Some("Example"));
    assert_eq!(uri.account(), "alice@google.com");
    assert_eq!(uri.algorithm(), Algorithm::Sha1);
    assert_eq!(uri.digits(), Digits::SIX);
    assert_eq!(uri.image(), None);
    // Spaces after the separator are dropped; issuer only in the label.
    let uri = KeyUri::parse(
        "otpauth://totp/Example:%20%20alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        ParseMode::Strict,
    )
    .unwrap();
    assert_eq!((uri.issuer(), uri.account()), (Some("Example"), "alice"));
    // No issuer at all.
    let uri = KeyUri::parse(
        "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        ParseMode::Strict,
    )
    .unwrap();
    assert_eq!((uri.issuer(), uri.account()), (None, "alice"));
    // The label splits at the first colon only in lenient mode's account.
    let lenient = KeyUri::parse(
        "otpauth://totp/Example%3Aalice:work?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        ParseMode::Lenient,
    )
    .unwrap();
    assert_eq!(
        (lenient.issuer(), lenient.account()),
        (Some("Example"), "alice:work")
    );
    // Unknown parameters are ignored.
    assert!(KeyUri::parse(&format!("{GOOD}&color=red"), ParseMode::Strict).is_ok());
}

#[test]
fn uri_strict_and_lenient_differ_as_documented() {
    let encoded_colon =
        "otpauth://totp/Example%3Aalice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example";
    assert_eq!(
        KeyUri::parse(encoded_colon, ParseMode::Strict).err(),
        Some(UriError::ColonInAccount)
    );
    let uri = KeyUri::parse(encoded_colon, ParseMode::Lenient).unwrap();
    assert_eq!((uri.issuer(), uri.account()), (Some("Example"), "alice"));

    let mismatch = "otpauth://totp/Label%20Inc:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Param%20Inc";
    assert_eq!(
        KeyUri::parse(mismatch, ParseMode::Strict).err(),
        Some(UriError::IssuerMismatch)
    );
    // Lenient: the issuer parameter wins.
    let uri = KeyUri::parse(mismatch, ParseMode::Lenient).unwrap();
    assert_eq!(uri.issuer(), Some("Param Inc"));

    let weak = "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example";
    assert_eq!(
        KeyUri::parse(weak, ParseMode::Strict).err(),
        Some(UriError::Secret(SecretError::TooShort { bits: 80 }))
    );
    let uri = KeyUri::parse(weak, ParseMode::Lenient).unwrap();
    assert_eq!(uri.secret_strength(), SecretStrength::Legacy { bits: 80 });
    // The explicitly named import takes a legacy secret in strict mode too,
    // and still applies every strict format rule.
    let (uri, strength) = KeyUri::parse_weak(weak, ParseMode::Strict).unwrap();
    assert_eq!(strength, SecretStrength::Legacy { bits: 80 });
    assert_eq!(uri.issuer(), Some("Example"));
    let weak_mismatch = "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Other";
    assert_eq!(
        KeyUri::parse_weak(weak_mismatch, ParseMode::Strict).err(),
        Some(UriError::IssuerMismatch)
    );
    let too_weak = "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3P&issuer=Example";
    assert!(matches!(
        KeyUri::parse_weak(too_weak, ParseMode::Strict).err(),
        Some(UriError::Secret(_))
    ));
    let (_, strength) = KeyUri::parse_weak(
        "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example",
        ParseMode::Strict,
    )
    .unwrap();
    assert_eq!(strength, SecretStrength::Full);

    let raw_space =
        "otpauth://totp/ACME Co:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=ACME+Co";
    assert_eq!(
        KeyUri::parse(raw_space, ParseMode::Strict).err(),
        Some(UriError::UnencodedCharacter {
            part: UriPart::Label
        })
    );
    let uri = KeyUri::parse(raw_space, ParseMode::Lenient).unwrap();
    assert_eq!((uri.issuer(), uri.account()), (Some("ACME Co"), "alice"));

    let upper =
        "OTPAUTH://TOTP/Example:alice?SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=sha256";
    assert_eq!(
        KeyUri::parse(upper, ParseMode::Strict).err(),
        Some(UriError::UnknownType)
    );
    let uri = KeyUri::parse(upper, ParseMode::Lenient).unwrap();
    assert_eq!(uri.algorithm(), Algorithm::Sha256);

    let counter_on_totp = format!("{GOOD}&counter=3");
    assert_eq!(
        KeyUri::parse(&counter_on_totp, ParseMode::Strict).err(),
        Some(UriError::UnexpectedParameter { name: "counter" })
    );
    assert!(KeyUri::parse(&counter_on_totp, ParseMode::Lenient).is_ok());

    let fragment = format!("{GOOD}#x");
    assert_eq!(
        KeyUri::parse(&fragment, ParseMode::Strict).err(),
        Some(UriError::Fragment)
    );
    assert!(KeyUri::parse(&fragment, ParseMode::Lenient).is_ok());

    let empty_issuer = "otpauth://totp/:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    assert_eq!(
        KeyUri::parse(empty_issuer, ParseMode::Strict).err(),
        Some(UriError::EmptyIssuer)
    );
    assert_eq!(
        KeyUri::parse(empty_issuer, ParseMode::Lenient)
            .unwrap()
            .issuer(),
        None
    );
}

#[test]
fn uri_parse_errors_are_specific() {
    let s = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let cases: Vec<(String, UriError)> = vec![
        (format!("https://totp/A:b?secret={s}"), UriError::Scheme),
        (
            format!("otpauth://motp/A:b?secret={s}"),
            UriError::UnknownType,
        ),
        (format!("otpauth://totp?secret={s}"), UriError::MissingLabel),
        (
            format!("otpauth://totp/?secret={s}"),
            UriError::MissingLabel,
        ),
        (
            format!("otpauth://totp/A:?secret={s}"),
            UriError::EmptyAccount,
        ),
        (
            "otpauth://totp/A:b?issuer=A".to_owned(),
            UriError::MissingSecret,
        ),
        (
            "otpauth://totp/A:b?secret=JBSW1Y3DPEHPK3PXP".to_owned(),
            UriError::Secret(SecretError::Base32(Base32Error::InvalidCharacter {
                position: 4,
            })),
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&digits=9"),
            UriError::InvalidDigits,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&digits=06"),
            UriError::InvalidDigits,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&digits=six"),
            UriError::InvalidDigits,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&period=0"),
            UriError::InvalidPeriod,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&period=121"),
            UriError::InvalidPeriod,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&period=-30"),
            UriError::InvalidPeriod,
        ),
        (
            format!("otpauth://hotp/A:b?secret={s}"),
            UriError::MissingCounter,
        ),
        (
            format!("otpauth://hotp/A:b?secret={s}&counter=18446744073709551616"),
            UriError::InvalidCounter,
        ),
        (
            format!("otpauth://hotp/A:b?secret={s}&counter=x"),
            UriError::InvalidCounter,
        ),
        (
            format!("otpauth://hotp/A:b?secret={s}&counter=1&period=30"),
            UriError::UnexpectedParameter { name: "period" },
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&algorithm=MD5"),
            UriError::UnsupportedAlgorithm,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&algorithm=sha1"),
            UriError::UnsupportedAlgorithm,
        ),
        (
            format!("otpauth://totp/A%2:b?secret={s}"),
            UriError::InvalidPercentEncoding {
                part: UriPart::Issuer,
            },
        ),
        (
            format!("otpauth://totp/A:%FF?secret={s}"),
            UriError::InvalidUtf8 {
                part: UriPart::Account,
            },
        ),
        (
            format!("otpauth://totp/A:b%0A?secret={s}"),
            UriError::ControlCharacter {
                part: UriPart::Account,
            },
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&image=http%3A%2F%2Fx.com%2Fa.png"),
            UriError::ImageNotHttps,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&secret={s}"),
            UriError::DuplicateParameter { name: "secret" },
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&issuer=A&issuer=A"),
            UriError::DuplicateParameter { name: "issuer" },
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&digits"),
            UriError::MalformedParameter,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&&digits=6"),
            UriError::MalformedParameter,
        ),
        (
            format!("otpauth://totp/A:b:c?secret={s}"),
            UriError::ColonInAccount,
        ),
        (
            format!("otpauth://totp/A:b?secret={s}&issuer=A%3AB"),
            UriError::IssuerMismatch,
        ),
        (
            format!("otpauth://totp/b?secret={s}&issuer=A%3AB"),
            UriError::ColonInIssuer,
        ),
    ];
    for (uri, expected) in cases {
        assert_eq!(
            KeyUri::parse(&uri, ParseMode::Strict).err(),
            Some(expected),
            "{uri}"
        );
    }
}

#[test]
fn uri_compatibility_warnings() {
    let plain = KeyUri::totp("A", "b", uri_secret()).unwrap();
    assert_eq!(plain.compatibility_warnings().count(), 0);
    let odd = KeyUri::new(
        "A",
        "b",
        uri_secret(),
        OtpKind::Totp {
            step: Step::new(60).unwrap(),
        },
    )
    .unwrap()
    .with_algorithm(Algorithm::Sha512)
    .with_digits(Digits::SEVEN);
    let warnings: Vec<CompatibilityWarning> = odd.compatibility_warnings().collect();
    assert_eq!(
        warnings,
        vec![
            CompatibilityWarning::Algorithm(Algorithm::Sha512),
            CompatibilityWarning::Digits(Digits::SEVEN),
            CompatibilityWarning::Step(Step::new(60).unwrap()),
        ]
    );
    for warning in warnings {
        assert!(!warning.to_string().is_empty());
    }
    let hotp = KeyUri::new("A", "b", uri_secret(), OtpKind::Hotp { counter: 0 }).unwrap();
    assert_eq!(hotp.compatibility_warnings().count(), 0);
}

/// Issuer/account text without colons and control characters, not
/// starting with a space.
fn label_text() -> impl Strategy<Value = String> {
    "[^:\\p{Cc}\\s][^:\\p{Cc}]{0,20}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn uri_build_then_parse(
        issuer in label_text(),
        account in label_text(),
        key in proptest::collection::vec(any::<u8>(), 16..=64),
        algorithm in algorithm_strategy(),
        n in 6u32..=8,
        period in 1u64..=120,
        counter in proptest::option::of(any::<u64>()),
        image in proptest::option::of("[a-z]{1,10}\\.example/[!-~]{0,20}"),
    ) {
        let secret = Secret::from_bytes(&key).unwrap();
        let kind = match counter {
            Some(counter) => OtpKind::Hotp { counter },
            None => OtpKind::Totp { step: Step::new(period).unwrap() },
        };
        let mut uri = KeyUri::new(&issuer, &account, secret, kind)
            .unwrap()
            .with_algorithm(algorithm)
            .with_digits(digits(n));
        if let Some(path) = &image {
            uri = uri.with_image(&format!("https://{path}")).unwrap();
        }
        let text = uri.to_uri();
        for mode in [ParseMode::Strict, ParseMode::Lenient] {
            let parsed = KeyUri::parse(&text, mode).unwrap();
            prop_assert_eq!(parsed.kind(), kind);
            prop_assert_eq!(parsed.issuer(), Some(issuer.as_str()));
            prop_assert_eq!(parsed.account(), account.as_str());
            prop_assert!(parsed.secret().ct_eq(uri.secret()));
            prop_assert_eq!(parsed.algorithm(), algorithm);
            prop_assert_eq!(parsed.digits(), digits(n));
            prop_assert_eq!(parsed.image(), uri.image());
            let again = parsed.to_uri();
            prop_assert_eq!(again.as_str(), text.as_str());
        }
    }

    #[test]
    fn uri_lenient_parse_then_build_then_parse(
        issuer in "(A|b|%20| |\\+|:|%3A|%3a|é|%C3%A9){0,4}",
        separator in "(:|%3A|%3a|)",
        account in "(x|Y|%20| |\\+|:|%3A|@){0,5}",
        parameter in proptest::option::of("(P|%20|\\+|%3A|:){0,3}"),
        digits_param in proptest::option::of(6u32..=8),
    ) {
        let mut text = format!("otpauth://totp/{issuer}{separator}{account}?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
        if let Some(parameter) = parameter {
            text.push_str(&format!("&issuer={parameter}"));
        }
        if let Some(n) = digits_param {
            text.push_str(&format!("&digits={n}"));
        }
        if let Ok(first) = KeyUri::parse(&text, ParseMode::Lenient) {
            let written = first.to_uri();
            let second = KeyUri::parse(&written, ParseMode::Lenient).unwrap();
            prop_assert_eq!(second.issuer(), first.issuer());
            prop_assert_eq!(second.account(), first.account());
            prop_assert_eq!(second.digits(), first.digits());
            prop_assert_eq!(second.kind(), first.kind());
            prop_assert!(second.secret().ct_eq(first.secret()));
            let again = second.to_uri();
            prop_assert_eq!(again.as_str(), written.as_str());
            // What strict mode accepts, lenient mode reads the same way,
            // except `+`, which only lenient mode reads as a space.
            if let (false, Ok(strict)) = (text.contains('+'), KeyUri::parse(&text, ParseMode::Strict)) {
                prop_assert_eq!(strict.issuer(), first.issuer());
                prop_assert_eq!(strict.account(), first.account());
            }
        }
    }

    #[test]
    fn uri_parse_never_panics(text in "otpauth://[a-z]{4}/\\PC{0,60}") {
        let _ = KeyUri::parse(&text, ParseMode::Strict);
        let _ = KeyUri::parse(&text, ParseMode::Lenient);
    }
}

#[test]
fn strict_refuses_a_miscased_parameter_that_lenient_reads() {
    let uri = "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&Digits=8";
    assert_eq!(
        KeyUri::parse(uri, ParseMode::Strict).unwrap_err(),
        UriError::ParameterCase { name: "digits" }
    );
    let lenient = KeyUri::parse(uri, ParseMode::Lenient).unwrap();
    assert_eq!(lenient.digits().get(), 8);
    // A fuzzer's input: strict used to ignore the mis-cased `digIts` and
    // accept, lenient read it and refused. Now strict refuses it too.
    let found = "otpauth://totp/th:/Zh?secret=VKKKKKKKKKKKKKKKKKKVIKIIII=&digIts=tpacruthV.I";
    assert_eq!(
        KeyUri::parse(found, ParseMode::Strict).unwrap_err(),
        UriError::ParameterCase { name: "digits" }
    );
    assert!(KeyUri::parse(found, ParseMode::Lenient).is_err());
}

#[test]
fn a_plus_in_the_image_url_is_a_plus_in_both_modes() {
    // A fuzzer's input: lenient mode read `+` as a space in the image URL
    // and refused what strict mode accepted.
    let uri = "otpauth://totp/a?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&image=https://x+y";
    let strict = KeyUri::parse(uri, ParseMode::Strict).unwrap();
    let lenient = KeyUri::parse(uri, ParseMode::Lenient).unwrap();
    assert_eq!(strict.image(), Some("https://x+y"));
    assert_eq!(lenient.image(), strict.image());
}

/// URIs exactly as pyotp 2.9's `TOTP.provisioning_uri` writes them (it
/// percent-encodes the issuer and the account in the label, leaves `/`
/// as it is, and repeats the issuer in `issuer=`).
#[test]
fn lenient_parsing_keeps_what_pyotp_encoded() {
    const SECRET: &str = "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    for (uri, issuer, account, strict) in [
        (
            format!("otpauth://totp/My%3ACorp:alice%40example.com?{SECRET}&issuer=My%3ACorp"),
            "My:Corp",
            "alice@example.com",
            Err(UriError::ColonInIssuer),
        ),
        (
            format!("otpauth://totp/My%09Corp:alice?{SECRET}&issuer=My%09Corp"),
            "My\tCorp",
            "alice",
            Err(UriError::ControlCharacter {
                part: UriPart::Issuer,
            }),
        ),
        (
            format!("otpauth://totp/Corp:%20alice?{SECRET}&issuer=Corp"),
            "Corp",
            " alice",
            Ok(("Corp", "alice")),
        ),
        (
            format!("otpauth://totp/Co/rp:a/b?{SECRET}&issuer=Co%2Frp"),
            "Co/rp",
            "a/b",
            Ok(("Co/rp", "a/b")),
        ),
    ] {
        let parsed = KeyUri::parse(&uri, ParseMode::Lenient).unwrap();
        assert_eq!(parsed.issuer(), Some(issuer), "{uri}");
        assert_eq!(parsed.account(), account, "{uri}");
        // Written back and read again, nothing changes.
        let again = KeyUri::parse(&parsed.to_uri(), ParseMode::Lenient).unwrap();
        assert_eq!((again.issuer(), again.account()), (Some(issuer), account));
        let strictly = KeyUri::parse(&uri, ParseMode::Strict);
        match strict {
            Ok(expected) => {
                let strictly = strictly.unwrap();
                assert_eq!((strictly.issuer().unwrap(), strictly.account()), expected);
            }
            Err(error) => assert_eq!(strictly.map(|_| ()), Err(error), "{uri}"),
        }
    }
}
