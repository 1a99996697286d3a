//! Parameters and codes: validation of the configuration values, and strict
//! parsing of entered codes.

use super::*;

#[test]
fn parameters_are_validated() {
    for n in [0, 1, 5, 9, 10, u32::MAX] {
        assert_eq!(
            Digits::new(n),
            Err(ConfigError::DigitsOutOfRange { digits: n })
        );
    }
    assert_eq!(Digits::default(), Digits::SIX);
    assert_eq!(
        Step::new(0),
        Err(ConfigError::StepOutOfRange { seconds: 0 })
    );
    assert_eq!(
        Step::new(121),
        Err(ConfigError::StepOutOfRange { seconds: 121 })
    );
    assert_eq!(Step::new(1).unwrap().seconds(), 1);
    assert_eq!(Step::new(120).unwrap().seconds(), 120);
    assert_eq!(Step::default().seconds(), 30);
    assert_eq!(
        Window::new(11, 0),
        Err(ConfigError::WindowTooLarge {
            behind: 11,
            ahead: 0
        })
    );
    assert_eq!(
        Window::new(0, 11),
        Err(ConfigError::WindowTooLarge {
            behind: 0,
            ahead: 11
        })
    );
    let default = Window::default();
    assert_eq!((default.behind(), default.ahead()), (1, 1));
    assert_eq!(
        ResyncWindow::new(0),
        Err(ConfigError::ResyncWindowOutOfRange { counters: 0 })
    );
    assert_eq!(ResyncWindow::default().get(), 1000);
    assert_eq!(Algorithm::default(), Algorithm::Sha1);
    assert_eq!(Algorithm::from_name("SHA512"), Ok(Algorithm::Sha512));
    assert_eq!(
        Algorithm::from_name("sha1"),
        Err(ConfigError::UnknownAlgorithm)
    );
    assert_eq!("sha256".parse::<Algorithm>(), Ok(Algorithm::Sha256));
    assert_eq!("SHA1".parse::<Algorithm>(), Ok(Algorithm::Sha1));
    assert_eq!(
        "sha-1".parse::<Algorithm>(),
        Err(ConfigError::UnknownAlgorithm)
    );
    assert_eq!(Algorithm::Sha512.to_string(), "SHA512");
}

#[test]
fn codes_are_parsed_strictly() {
    let six = Digits::SIX;
    for bad in [
        "+287082",
        " 287082",
        "287082 ",
        "0287082",
        "28708",
        "",
        "２８７０８２",
        "28708\u{665}",
        "-28708",
        "2870.2",
    ] {
        assert!(Code::parse(bad, six).is_err(), "{bad:?}");
    }
    assert_eq!(Code::parse("", six).err(), Some(CodeError::Empty));
    assert!(Code::parse("287082", six).is_ok());
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    let hotp = Hotp::new(&secret, Algorithm::Sha1);
    for bad in ["+287082", " 287082", "0287082", ""] {
        assert!(matches!(
            hotp.verify(bad, 1, LookAhead::default()),
            Err(CodeRejected::Malformed(_))
        ));
    }
    // A parsed code with the wrong digit count.
    let eight = Code::parse("00287082", Digits::EIGHT).unwrap();
    assert!(matches!(
        hotp.verify_code(&eight, 1, LookAhead::default()),
        Err(CodeRejected::Malformed(CodeError::WrongLength { .. }))
    ));
    let six_code = Code::parse("287082", six).unwrap();
    assert!(hotp.verify_code(&six_code, 1, LookAhead::default()).is_ok());
    assert!(six_code.ct_eq(&hotp.generate(1)));
    assert!(!six_code.ct_eq(&hotp.generate(2)));
}
