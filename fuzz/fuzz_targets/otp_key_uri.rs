//! Key URI parsing on arbitrary text, strict and lenient: no panic; an
//! accepted URI prints (`to_uri`) to a text that parses in the same mode to
//! the same key in every field and prints identically again; what strict
//! mode accepts, lenient mode accepts too, as the same key but for the
//! account's leading spaces (strict mode drops them as the Key Uri Format
//! says; lenient mode keeps them in pyotp's form of label); an image URL is `https` (the scheme in any case, as typed:
//! RFC 3986 §3.1 makes schemes case-insensitive, and the parser keeps the
//! URL as given); `Debug` and errors never show the secret.

#![no_main]

use libfuzzer_sys::fuzz_target;
use twofa_otp::{KeyUri, ParseMode};

fn assert_same(a: &KeyUri, b: &KeyUri, text: &str) {
    assert_eq!(a.account(), b.account(), "{text:?}");
    assert_same_but_account(a, b, text);
}

fn assert_same_but_account(a: &KeyUri, b: &KeyUri, text: &str) {
    assert_eq!(a.kind(), b.kind(), "{text:?}");
    assert_eq!(a.issuer(), b.issuer(), "{text:?}");
    assert!(a.secret().ct_eq(b.secret()), "{text:?}");
    assert_eq!(a.secret_strength(), b.secret_strength(), "{text:?}");
    assert_eq!(a.algorithm(), b.algorithm(), "{text:?}");
    assert_eq!(a.digits(), b.digits(), "{text:?}");
    assert_eq!(a.step(), b.step(), "{text:?}");
    assert_eq!(a.counter(), b.counter(), "{text:?}");
    assert_eq!(a.image(), b.image(), "{text:?}");
}

fn check(text: &str, mode: ParseMode) -> Option<KeyUri> {
    match KeyUri::parse(text, mode) {
        Ok(uri) => {
            let printed = uri.to_uri();
            let again = KeyUri::parse(&printed, mode)
                .unwrap_or_else(|error| panic!("{text:?} printed as {:?}: {error}", *printed));
            assert_same(&uri, &again, text);
            assert_eq!(*again.to_uri(), *printed);
            // One of step / counter, by kind.
            assert_eq!(uri.step().is_some(), uri.counter().is_none());
            assert_eq!(uri.to_totp().is_some(), uri.step().is_some());
            assert_eq!(uri.to_hotp().is_some(), uri.counter().is_some());
            if let Some(image) = uri.image() {
                let scheme = image.get(..8).map(str::to_ascii_lowercase);
                assert_eq!(scheme.as_deref(), Some("https://"), "{image:?}");
            }
            let secret = uri.secret().to_base32();
            let shown_elsewhere = uri.account().contains(secret.as_str())
                || uri
                    .issuer()
                    .is_some_and(|issuer| issuer.contains(secret.as_str()))
                || uri
                    .image()
                    .is_some_and(|image| image.contains(secret.as_str()));
            if !shown_elsewhere {
                assert!(!format!("{uri:?}").contains(secret.as_str()));
            }
            Some(uri)
        }
        Err(error) => {
            let message = error.to_string();
            assert!(!message.is_empty());
            // Errors name the part, never quote the input's secret.
            if let Some((_, rest)) = text.split_once("secret=") {
                let secret = rest.split('&').next().unwrap_or_default();
                let secret_like = secret
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
                if secret.len() >= 16 && secret_like {
                    assert!(!message.contains(secret), "{message}");
                }
            }
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let strict = check(text, ParseMode::Strict);
    let lenient = check(text, ParseMode::Lenient);
    if let Some(strict) = &strict {
        let lenient = lenient.expect("strict accepted what lenient refused");
        // '+' means a space only in lenient mode; compare the rest.
        if !text.contains('+') {
            assert_same_but_account(strict, &lenient, text);
            assert_eq!(
                strict.account(),
                lenient.account().trim_start_matches(' '),
                "{text:?}"
            );
        }
    }
});
