//! Generating and verifying codes allocates nothing.

use super::*;

#[test]
fn generation_and_verification_allocate_nothing() {
    // The counter sees allocations at all: a key URI allocates.
    let control = allocation_counter::measure(|| {
        let uri = KeyUri::totp("ACME", "alice", uri_secret()).unwrap();
        assert!(!uri.to_uri().is_empty());
    });
    assert!(control.count_total > 0);
    let mut secrets = Vec::new();
    for algorithm in Algorithm::ALL {
        secrets.push((algorithm, rfc_secret(algorithm)));
    }
    for (algorithm, secret) in &secrets {
        let totp = Totp::new(secret, *algorithm);
        let hotp = Hotp::new(secret, *algorithm).with_digits(Digits::EIGHT);
        let now = 1_700_000_000;
        let good = code_text(&totp.generate(now).unwrap());
        let wrong = tampered(&good);
        let h1 = code_text(&hotp.generate(100));
        let h2 = code_text(&hotp.generate(101));
        let mut sink = 0usize;
        let info = allocation_counter::measure(|| {
            let code = totp.generate(now).unwrap();
            sink += code.expose_secret().as_str().len();
            sink += usize::from(totp.verify(&good, now, None, Window::default()).is_ok());
            sink += usize::from(
                totp.verify(&wrong, now, None, Window::new(10, 10).unwrap())
                    .is_ok(),
            );
            sink += usize::from(
                totp.verify(&good, now, Some(u64::MAX), Window::default())
                    .is_ok(),
            );
            sink += usize::from(totp.verify("12a456", now, None, Window::default()).is_ok());
            sink += usize::from(hotp.verify(&h1, 95, LookAhead::default()).is_ok());
            sink += usize::from(hotp.resync(&h1, &h2, 0, ResyncWindow::default()).is_ok());
            let parsed = Code::parse(&good, Digits::SIX).unwrap();
            sink += usize::from(
                totp.verify_code(&parsed, now, None, Window::default())
                    .is_ok(),
            );
            let mut out = [0u8; 64];
            sink += base32::decode_into("JBSW Y3DP EHPK 3PXP", &mut out).unwrap();
            sink += Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
                .unwrap()
                .bits();
        });
        assert_eq!(info.count_total, 0, "{algorithm}: {info:?}");
        assert!(sink > 0);
    }
}
