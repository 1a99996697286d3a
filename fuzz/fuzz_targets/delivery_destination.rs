//! Phone and email parsing on arbitrary input: no panic; an accepted phone
//! number is E.164, round-trips through `from_e164` and re-parses the same
//! under any default region; an accepted email address is within the RFC
//! 5321 limits and re-parses to itself; and no printed form (`Display`,
//! `Debug`, errors) holds the full national number or the full address.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use twofa_delivery::{DestinationError, EmailAddress, PhoneNumber, Region, classify_offline};

const REGIONS: [&str; 6] = ["GB", "US", "CA", "DE", "FR", "IN"];

#[derive(Debug, Arbitrary)]
struct Input {
    phone: String,
    region: u8,
    email: String,
}

fn region(selector: u8) -> Region {
    let code = REGIONS[usize::from(selector) % REGIONS.len()];
    match Region::new(code) {
        Ok(region) => region,
        Err(error) => panic!("built-in region {code} refused: {error}"),
    }
}

fn check_phone(text: &str, parsed: Result<PhoneNumber, DestinationError>) {
    match parsed {
        Ok(phone) => {
            let e164 = phone.expose_e164();
            let digits = &e164[1..];
            assert!(e164.starts_with('+'));
            assert!(digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()));
            let country = phone.country_code().to_string();
            assert!(digits.starts_with(&country));
            let national = &digits[country.len()..];
            assert!(!national.is_empty());

            let prefix = format!("+{country} ");
            for printed in [phone.to_string(), phone.masked()] {
                let rest = printed
                    .strip_prefix(&prefix)
                    .expect("starts with the country code");
                assert!(!rest.contains(national), "{printed} shows the whole number");
                assert!(
                    !printed.contains(digits),
                    "{printed} shows the whole number"
                );
            }
            let debug = format!("{phone:?}");
            assert!(!debug.contains(digits), "{debug} shows the whole number");
            assert_eq!(debug, format!("PhoneNumber({phone})"));

            let again = PhoneNumber::from_e164(e164).expect("own E.164 re-parses");
            assert_eq!(again, phone);
            for other in REGIONS {
                let reparsed =
                    PhoneNumber::parse(e164, region_of(other)).expect("E.164 parses anywhere");
                assert_eq!(reparsed, phone);
            }
            let _ = classify_offline(&phone).recommends_app();
        }
        Err(error) => {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            if digits.len() >= 5 {
                for printed in [error.to_string(), format!("{error:?}")] {
                    assert!(
                        !printed.contains(&digits),
                        "error echoes the input: {printed}"
                    );
                }
            }
        }
    }
}

fn region_of(code: &str) -> Region {
    match Region::new(code) {
        Ok(region) => region,
        Err(error) => panic!("built-in region {code} refused: {error}"),
    }
}

fn check_email(text: &str) {
    match EmailAddress::parse(text) {
        Ok(email) => {
            let address = email.expose_address();
            assert!(address.len() <= 254);
            assert_eq!(address.matches('@').count(), 1);
            let (local, domain) = address.split_once('@').expect("one @");
            assert!(!local.is_empty() && local.len() <= 64);
            assert_eq!(domain, domain.to_ascii_lowercase());
            assert_eq!(
                EmailAddress::parse(address).expect("normalised form re-parses"),
                email
            );
            let whole_local = format!("{local}@");
            for printed in [email.to_string(), format!("{email:?}"), email.masked()] {
                assert!(
                    !printed.contains(&whole_local),
                    "{printed} shows the local part"
                );
            }
        }
        Err(error) => {
            // Email errors are unit variants: their printed form is one of a
            // fixed set of words and cannot carry any part of the input.
            let debug = format!("{error:?}");
            assert!(debug.bytes().all(|b| b.is_ascii_alphanumeric()), "{debug}");
        }
    }
}

fuzz_target!(|input: Input| {
    check_phone(
        &input.phone,
        PhoneNumber::parse(&input.phone, region(input.region)),
    );
    // International form without the region hint, too.
    check_phone(&input.phone, PhoneNumber::from_e164(&input.phone));
    check_email(&input.email);
});
