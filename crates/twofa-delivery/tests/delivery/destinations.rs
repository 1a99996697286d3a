//! Destinations: phone numbers, email addresses, line types, and the
//! channels each destination accepts.

use super::*;

#[test]
fn national_and_international_forms_normalise_to_the_same_e164() {
    let cases = [
        // (region, national, international, e164) — example numbers of the
        // libphonenumber metadata (PhoneNumberMetadata.xml, exampleNumber).
        ("GB", "07400 123456", "+44 7400 123456", "+447400123456"),
        ("GB", "0121 234 5678", "+44 121 234 5678", "+441212345678"),
        ("DE", "01512 3456789", "+49 1512 3456789", "+4915123456789"),
        ("DE", "030 123456", "+49 30 123456", "+4930123456"),
        ("FR", "06 12 34 56 78", "+33 6 12 34 56 78", "+33612345678"),
        ("FR", "01 23 45 67 89", "+33 1 23 45 67 89", "+33123456789"),
        ("US", "(201) 555-0123", "+1 201-555-0123", "+12015550123"),
        ("CA", "506-234-5678", "+1 506 234 5678", "+15062345678"),
    ];
    for (region, national, international, e164) in cases {
        let region = Region::new(region).unwrap();
        let a = PhoneNumber::parse(national, region).unwrap();
        let b = PhoneNumber::parse(international, region).unwrap();
        assert_eq!(a.expose_e164(), e164);
        assert_eq!(a, b);
        assert_eq!(PhoneNumber::from_e164(e164).unwrap(), a);
    }
}

#[test]
fn foreign_numbers_parse_the_same_under_any_default_region() {
    // Numbers whose national part starts with 1, the North American national
    // prefix: read with default region US they must keep that digit.
    let german_mobile = PhoneNumber::parse("01512 3456789", Region::new("DE").unwrap()).unwrap();
    let uk_landline = PhoneNumber::parse("01464 144140", gb()).unwrap();
    for region in ["US", "CA", "GB", "DE", "FR", "IN"] {
        let region = Region::new(region).unwrap();
        assert_eq!(
            PhoneNumber::parse("+49 1512 3456789", region).unwrap(),
            german_mobile
        );
        assert_eq!(
            PhoneNumber::parse("tel:+49-1512-3456789", region).unwrap(),
            german_mobile
        );
        assert_eq!(
            PhoneNumber::parse("+44 1464 144140", region).unwrap(),
            uk_landline
        );
    }
    // Dialled with the default region's international prefix.
    let us = Region::new("US").unwrap();
    assert_eq!(
        PhoneNumber::parse("011 49 1512 3456789", us).unwrap(),
        german_mobile
    );
    assert_eq!(
        PhoneNumber::parse("011 44 1464 144140", us).unwrap(),
        uk_landline
    );
    let de = Region::new("DE").unwrap();
    assert_eq!(
        PhoneNumber::parse("00 44 1464 144140", de).unwrap(),
        uk_landline
    );
    assert_eq!(
        PhoneNumber::parse("00 1 201 555 0123", de)
            .unwrap()
            .expose_e164(),
        "+12015550123"
    );
}

#[test]
fn international_form_ignores_the_default_region() {
    let from_us = PhoneNumber::parse("+44 7400 123456", Region::new("us").unwrap()).unwrap();
    assert_eq!(from_us, uk_mobile());
    assert_eq!(from_us.country_code(), 44);
}

#[test]
fn bad_phone_input_is_a_typed_error_that_does_not_echo_it() {
    let cases: [(&str, DestinationError); 7] = [
        ("", DestinationError::PhoneInputLength { max: 64 }),
        ("   ", DestinationError::PhoneInputLength { max: 64 }),
        (
            &"1".repeat(65),
            DestinationError::PhoneInputLength { max: 64 },
        ),
        ("hello", DestinationError::PhoneUnreadable),
        // A UK number one digit short of any valid range.
        (
            "07400 12345",
            DestinationError::PhoneNotValid { country_code: 44 },
        ),
        (
            "+44 7400 123456 ext. 12",
            DestinationError::PhoneHasExtension,
        ),
        ("447400123456", DestinationError::PhoneNotE164),
    ];
    for (input, expected) in cases {
        let result = if expected == DestinationError::PhoneNotE164 {
            PhoneNumber::from_e164(input)
        } else {
            PhoneNumber::parse(input, gb())
        };
        let error = result.unwrap_err();
        assert_eq!(error, expected, "input {input:?}");
        let digits: String = input.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 6 {
            assert_clean(&error.to_string(), &[&digits]);
            assert_clean(&format!("{error:?}"), &[&digits]);
        }
    }
}

#[test]
fn unknown_regions_are_refused() {
    for code in ["", "G", "GBR", "ZZ", "1A", "é"] {
        assert_eq!(Region::new(code), Err(DestinationError::UnknownRegion));
    }
    assert_eq!(Region::new("de").unwrap().code(), "DE");
}

#[test]
fn phone_numbers_print_country_code_and_last_four_digits_only() {
    let us = PhoneNumber::parse("(201) 555-0123", Region::new("US").unwrap()).unwrap();
    assert_eq!(us.to_string(), "+1 ••• ••• 0123");
    assert_eq!(format!("{us:?}"), "PhoneNumber(+1 ••• ••• 0123)");
    assert_eq!(us.masked(), "+1 ••• ••• 0123");
    let de = PhoneNumber::parse("030 123456", Region::new("DE").unwrap()).unwrap();
    assert_eq!(de.to_string(), "+49 ••• ••• 3456");
    let destination = Destination::Phone(us.clone());
    assert_eq!(destination.to_string(), "+1 ••• ••• 0123");
    assert_clean(&format!("{destination:?}"), &["2015550123", "5550123"]);
}

#[test]
fn short_national_numbers_reveal_fewer_digits() {
    // Niue (+683) fixed lines have 4 digits, its mobiles 7; Saint Helena
    // (+290) numbers have 5 (libphonenumber metadata).
    let nu = Region::new("NU").unwrap();
    let four = PhoneNumber::parse("+683 7012", nu).unwrap();
    assert_eq!(four.to_string(), "+683 ••• •••");
    let seven = PhoneNumber::parse("+683 888 4012", nu).unwrap();
    assert_eq!(seven.to_string(), "+683 ••• ••• 12");
    let five = PhoneNumber::parse("+290 22158", Region::new("SH").unwrap()).unwrap();
    assert_eq!(five.to_string(), "+290 ••• ••• 58");
}

#[test]
fn email_addresses_are_normalised_and_masked() {
    let email = EmailAddress::parse("  Jane.Doe+2fa@Example.COM ").unwrap();
    assert_eq!(email.expose_address(), "Jane.Doe+2fa@example.com");
    assert_eq!(email.domain(), "example.com");
    assert_eq!(email.to_string(), "J•••@example.com");
    assert_eq!(format!("{email:?}"), "EmailAddress(J•••@example.com)");
    let single = EmailAddress::parse("j@example.com").unwrap();
    assert_eq!(single.to_string(), "•••@example.com");
}

#[test]
fn email_validation_follows_the_documented_grammar() {
    let local64 = "a".repeat(64);
    let local65 = "a".repeat(65);
    // 64 + 1 + 189 = 254 bytes: the longest accepted address.
    let domain189 = format!(
        "{}.{}.{}.com",
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(57)
    );
    let domain190 = format!(
        "{}.{}.{}.com",
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(58)
    );
    let at_limit = format!("{local64}@{domain189}");
    let over_limit = format!("{local64}@{domain190}");
    assert_eq!(at_limit.len(), 254);
    assert_eq!(over_limit.len(), 255);

    let accepted = [
        "a@b.co".to_owned(),
        "o'brien@example.ie".to_owned(),
        "x_y-z@sub.domain-name.example".to_owned(),
        format!("{local64}@example.com"),
        at_limit,
        "u@123.example".to_owned(),
    ];
    for address in &accepted {
        assert!(EmailAddress::parse(address).is_ok(), "{address}");
    }

    let refused = [
        ("plainaddress", DestinationError::EmailAtSign),
        ("a@b@example.com", DestinationError::EmailAtSign),
        ("@example.com", DestinationError::EmailLocalPart),
        (".a@example.com", DestinationError::EmailLocalPart),
        ("a.@example.com", DestinationError::EmailLocalPart),
        ("a..b@example.com", DestinationError::EmailLocalPart),
        ("a b@example.com", DestinationError::EmailLocalPart),
        ("\"a\"@example.com", DestinationError::EmailLocalPart),
        ("jörg@example.com", DestinationError::EmailLocalPart),
        ("a@", DestinationError::EmailDomain),
        ("a@localhost", DestinationError::EmailDomain),
        ("a@-example.com", DestinationError::EmailDomain),
        ("a@example-.com", DestinationError::EmailDomain),
        ("a@example..com", DestinationError::EmailDomain),
        ("a@example.123", DestinationError::EmailDomain),
        ("a@[192.0.2.1]", DestinationError::EmailDomain),
        ("a@exa_mple.com", DestinationError::EmailDomain),
    ];
    for (address, expected) in refused {
        assert_eq!(EmailAddress::parse(address), Err(expected), "{address}");
    }
    assert_eq!(
        EmailAddress::parse(&format!("{local65}@example.com")),
        Err(DestinationError::EmailLocalPart)
    );
    assert_eq!(
        EmailAddress::parse(&over_limit),
        Err(DestinationError::EmailTooLong)
    );
    let long_label = format!("a@{}.com", "b".repeat(64));
    assert_eq!(
        EmailAddress::parse(&long_label),
        Err(DestinationError::EmailDomain)
    );
}

#[test]
fn north_american_numbers_cannot_be_told_apart() {
    let cases = [
        ("US", "(201) 555-0123"),
        ("US", "+1 650 253 0000"),
        ("CA", "(506) 234-5678"),
        ("CA", "+1 416 234 5678"),
        ("CA", "604 555 5555"),
    ];
    for (region, number) in cases {
        let phone = PhoneNumber::parse(number, Region::new(region).unwrap()).unwrap();
        let line = classify_offline(&phone);
        assert_eq!(
            line,
            LineType::Unknown(UnknownReason::NumberingPlanCannotTell),
            "{region}"
        );
        assert!(line.recommends_app());
    }
}

#[test]
fn european_mobiles_and_landlines_are_told_apart() {
    // Example numbers of the libphonenumber metadata (mobile / fixedLine).
    let cases = [
        ("GB", "07400 123456", LineType::Mobile),
        (
            "GB",
            "0121 234 5678",
            LineType::NotMobile(NotMobileKind::FixedLine),
        ),
        (
            "GB",
            "020 7946 0000",
            LineType::NotMobile(NotMobileKind::FixedLine),
        ),
        ("DE", "01512 3456789", LineType::Mobile),
        (
            "DE",
            "030 123456",
            LineType::NotMobile(NotMobileKind::FixedLine),
        ),
        ("FR", "06 12 34 56 78", LineType::Mobile),
        (
            "FR",
            "01 23 45 67 89",
            LineType::NotMobile(NotMobileKind::FixedLine),
        ),
        (
            "GB",
            "0800 123 4567",
            LineType::NotMobile(NotMobileKind::TollFree),
        ),
        (
            "GB",
            "0901 234 5678",
            LineType::NotMobile(NotMobileKind::PremiumRate),
        ),
        (
            "GB",
            "056 1234 5678",
            LineType::NotMobile(NotMobileKind::Voip),
        ),
        (
            "FR",
            "09 12 34 56 78",
            LineType::NotMobile(NotMobileKind::Voip),
        ),
    ];
    for (region, number, expected) in cases {
        let phone = PhoneNumber::parse(number, Region::new(region).unwrap()).unwrap();
        let line = classify_offline(&phone);
        assert_eq!(line, expected, "{region} {number}");
        assert_eq!(line.recommends_app(), expected != LineType::Mobile);
    }
}

#[test]
fn a_definite_lookup_answer_wins_and_a_failure_yields_unknown() {
    let fixed = LineType::NotMobile(NotMobileKind::FixedLine);
    let plan = LineType::Unknown(UnknownReason::NumberingPlanCannotTell);
    let undecided = LineType::Unknown(UnknownReason::NoMatchingPattern);
    assert_eq!(resolve(plan, Ok(LineType::Mobile)), LineType::Mobile);
    assert_eq!(resolve(LineType::Mobile, Ok(fixed)), fixed);
    assert_eq!(resolve(LineType::Mobile, Ok(undecided)), LineType::Mobile);
    assert_eq!(resolve(plan, Ok(undecided)), plan);
    for error in [LookupError::Unavailable, LookupError::Refused] {
        assert_eq!(
            resolve(LineType::Mobile, Err(error)),
            LineType::Unknown(UnknownReason::LookupUnavailable)
        );
    }
    assert!(LineType::Unknown(UnknownReason::LookupUnavailable).recommends_app());
}

/// What a caller does with a carrier lookup: the offline answer, resolved
/// against the service's.
fn classify(number: &PhoneNumber, lookup: &dyn CarrierLookup) -> LineType {
    resolve(classify_offline(number), block_on(lookup.line_type(number)))
}

#[test]
fn carrier_lookup_adapter_is_consulted() {
    let canadian = PhoneNumber::parse("+1 506 234 5678", Region::new("CA").unwrap()).unwrap();
    let lookup = InMemoryCarrierLookup::new().with_answer(canadian.clone(), LineType::Mobile);
    assert_eq!(classify(&canadian, &lookup), LineType::Mobile);
    // Not in the table: the service cannot tell, the metadata decides.
    assert_eq!(classify(&uk_mobile(), &lookup), LineType::Mobile);
    let down = InMemoryCarrierLookup::new().with_failure(LookupError::Unavailable);
    let dyn_lookup: &dyn CarrierLookup = &down;
    assert_eq!(
        classify(&uk_mobile(), dyn_lookup),
        LineType::Unknown(UnknownReason::LookupUnavailable)
    );
}

#[test]
fn channel_must_fit_the_destination_and_be_enabled() {
    let policy = ChallengePolicy::default();
    let email = EmailAddress::parse("jane@example.com").unwrap();
    let mismatch = ChallengeRequest::new(
        user(),
        Purpose::Enrollment,
        Destination::Email(email),
        CodeChannel::Sms,
    );
    assert_eq!(
        OobChallenge::issue(mismatch, &policy, &templates(), &key(), t0(), &mut rng(1))
            .unwrap_err(),
        IssueError::ChannelDestinationMismatch {
            channel: CodeChannel::Sms
        }
    );
    let phone_by_email = ChallengeRequest::new(
        user(),
        Purpose::Enrollment,
        Destination::Phone(uk_mobile()),
        CodeChannel::Email,
    );
    assert!(
        OobChallenge::issue(
            phone_by_email,
            &policy,
            &templates(),
            &key(),
            t0(),
            &mut rng(1)
        )
        .is_err()
    );

    let no_sms = policy.with_enabled_channels(ChannelSet::all().without(Channel::Sms));
    assert_eq!(
        OobChallenge::issue(
            sms_request(),
            &no_sms,
            &templates(),
            &key(),
            t0(),
            &mut rng(1)
        )
        .unwrap_err(),
        IssueError::ChannelDisabled {
            channel: Channel::Sms
        }
    );
}

#[test]
fn channel_sets_behave_as_sets() {
    let set: ChannelSet = [Channel::Sms, Channel::Push].into_iter().collect();
    assert!(set.contains(Channel::Sms) && set.contains(Channel::Push));
    assert!(!set.contains(Channel::VoiceCall) && !set.contains(Channel::Email));
    assert_eq!(set.without(Channel::Sms).with(Channel::Sms), set);
    assert_eq!(format!("{set:?}"), "{Sms, Push}");
    assert!(!ChannelSet::empty().contains(Channel::Email));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Masked phone output never holds the whole national number.
    #[test]
    fn masked_numbers_never_show_all_digits(national in "[1-9][0-9]{6,11}", region in prop::sample::select(vec!["GB", "DE", "FR", "US", "CA", "IT", "JP"])) {
        if let Ok(phone) = PhoneNumber::parse(&national, Region::new(region).unwrap()) {
            let nsn = &phone.expose_e164()[1 + phone.country_code().to_string().len()..];
            prop_assert!(!phone.to_string().contains(nsn));
            let debug = format!("{phone:?}");
            prop_assert!(!debug.contains(nsn));
            prop_assert!(!phone.to_string().contains(&phone.expose_e164()[1..]));
        }
    }
}

#[test]
fn an_accepted_number_loads_again_from_its_e164_form() {
    let gb = Region::new("GB").unwrap();
    // A fuzzer's input: the `00` international prefix with letters read as
    // keypad digits gave an E.164 form that `from_e164` refused, so a
    // number set up and stored could never be loaded again.
    assert_eq!(
        PhoneNumber::parse("007TN3A03F320", gb),
        Err(DestinationError::PhoneUnreadable)
    );
    for text in ["07400 123456", "+44 7400 123456", "0044 7400 123456"] {
        let number = PhoneNumber::parse(text, gb).unwrap();
        assert_eq!(
            PhoneNumber::from_e164(number.expose_e164()).unwrap(),
            number,
            "{text}"
        );
    }
}
