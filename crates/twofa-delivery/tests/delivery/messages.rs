//! The rendered SMS, voice and email messages and their templates, and that
//! nothing printable or serialised holds a code or a full destination.

use super::*;

#[test]
fn sms_carries_issuer_code_warning_and_the_origin_bound_last_line() {
    let policy = ChallengePolicy::default();
    let prepared = OobChallenge::issue(
        sms_request(),
        &policy,
        &templates(),
        &key(),
        t0(),
        &mut rng(90),
    )
    .unwrap();
    let code = prepared.code().expose_secret().to_owned();
    let OutboundMessage::Sms(sms) = prepared.message() else {
        panic!("sms expected");
    };
    let text = sms.body.expose_secret();
    assert!(text.starts_with(&format!("Example Portal verification code: {code}\n")));
    assert!(text.contains("Do not share this code"));
    assert!(text.contains("expires in 10 minutes"));
    // WICG "Origin-bound one-time codes delivered via SMS": the last line is
    // "@" host, a space, "#" code.
    assert_eq!(
        text.lines().last(),
        Some(format!("@portal.example.com #{code}").as_str())
    );
    assert_eq!(sms.to, uk_mobile());
    assert_eq!(sms.challenge, prepared.challenge_id());

    let without_host = MessageTemplates::new(Issuer::new("Example Portal").unwrap());
    let plain = OobChallenge::issue(
        sms_request(),
        &policy,
        &without_host,
        &key(),
        t0(),
        &mut rng(90),
    )
    .unwrap();
    let OutboundMessage::Sms(sms) = plain.message() else {
        panic!("sms expected");
    };
    assert!(!sms.body.expose_secret().contains('@'));
}

#[test]
fn voice_script_reads_digits_one_by_one_twice() {
    let policy = ChallengePolicy::default();
    let request = ChallengeRequest::new(
        user(),
        Purpose::Enrollment,
        Destination::Phone(uk_mobile()),
        CodeChannel::VoiceCall,
    );
    let prepared =
        OobChallenge::issue(request, &policy, &templates(), &key(), t0(), &mut rng(91)).unwrap();
    let code = prepared.code().expose_secret().to_owned();
    let OutboundMessage::Voice(call) = prepared.message() else {
        panic!("voice expected");
    };
    let spelled: Vec<String> = code.chars().map(String::from).collect();
    let spelled = spelled.join(", ");
    let script = call.script.expose_secret();
    assert_eq!(script.matches(&spelled).count(), 2, "{spelled}");
    assert!(!script.contains(&code), "never read as one number");
    assert!(script.contains("Example Portal"));
}

#[test]
fn email_has_subject_and_plain_text_body() {
    let policy = ChallengePolicy::default()
        .with_lifetime(TimeDelta::seconds(90))
        .unwrap();
    let email = EmailAddress::parse("jane@example.com").unwrap();
    let request = ChallengeRequest::new(
        user(),
        Purpose::Enrollment,
        Destination::Email(email.clone()),
        CodeChannel::Email,
    );
    let prepared =
        OobChallenge::issue(request, &policy, &templates(), &key(), t0(), &mut rng(92)).unwrap();
    let code = prepared.code().expose_secret().to_owned();
    let OutboundMessage::Email(mail) = prepared.message() else {
        panic!("email expected");
    };
    assert_eq!(mail.to, email);
    assert_eq!(
        mail.subject.expose_secret(),
        "Your Example Portal verification code"
    );
    assert!(
        mail.body
            .expose_secret()
            .contains(&format!("verification code is: {code}"))
    );
    // 90 seconds is announced as 2 minutes: rounded up.
    assert!(mail.body.expose_secret().contains("expires in 2 minutes"));
}

#[test]
fn templates_can_be_replaced_and_are_validated() {
    let custom = templates()
        .with_sms(Template::new("{code} is your {issuer} code ({minutes} min)").unwrap())
        .unwrap()
        .with_voice(Template::new("Code: {code}.").unwrap())
        .unwrap()
        .with_email_subject(Template::new("{issuer} sign-in").unwrap())
        .unwrap()
        .with_email_body(Template::new("Use {code}.").unwrap())
        .unwrap();
    let policy = ChallengePolicy::default();
    let prepared =
        OobChallenge::issue(sms_request(), &policy, &custom, &key(), t0(), &mut rng(93)).unwrap();
    let code = prepared.code().expose_secret().to_owned();
    let OutboundMessage::Sms(sms) = prepared.message() else {
        panic!("sms expected");
    };
    assert_eq!(
        sms.body.expose_secret(),
        format!("{code} is your Example Portal code (10 min)\n\n@portal.example.com #{code}")
    );

    let no_code = Template::new("Hello from {issuer}").unwrap();
    assert_eq!(
        templates().with_sms(no_code.clone()).unwrap_err(),
        TemplateError::MissingCode
    );
    assert_eq!(
        templates().with_voice(no_code.clone()).unwrap_err(),
        TemplateError::MissingCode
    );
    assert_eq!(
        templates().with_email_body(no_code).unwrap_err(),
        TemplateError::MissingCode
    );
    assert!(
        templates()
            .with_email_subject(Template::new("a\nb").unwrap())
            .is_err()
    );
    assert_eq!(
        Template::new("{code} {pin}").unwrap_err(),
        TemplateError::UnknownPlaceholder { at: 7 }
    );
}

#[test]
fn no_subject_template_can_hold_the_code() {
    for text in [
        "{code}",
        "Your {issuer} code: {code}",
        "{issuer} {minutes} {code}",
    ] {
        assert_eq!(
            templates()
                .with_email_subject(Template::new(text).unwrap())
                .unwrap_err(),
            TemplateError::CodeInSubject,
            "{text}"
        );
    }
    // Every other placeholder stays allowed, and the rendered subject of a
    // code email holds no digit of the code.
    let custom = templates()
        .with_email_subject(Template::new("{issuer}: sign-in code ({minutes} min)").unwrap())
        .unwrap();
    let request = ChallengeRequest::new(
        user(),
        Purpose::Enrollment,
        Destination::Email(EmailAddress::parse("jane@example.com").unwrap()),
        CodeChannel::Email,
    );
    let prepared = OobChallenge::issue(
        request,
        &ChallengePolicy::default(),
        &custom,
        &key(),
        t0(),
        &mut rng(94),
    )
    .unwrap();
    let OutboundMessage::Email(mail) = prepared.message() else {
        panic!("email expected");
    };
    assert_eq!(
        mail.subject.expose_secret(),
        "Example Portal: sign-in code (10 min)"
    );
    // A notice subject has no `{code}` placeholder at all.
    assert_eq!(
        NoticeTemplate::new("{issuer}: {code}").unwrap_err(),
        TemplateError::UnknownPlaceholder { at: 10 }
    );
}

#[test]
fn no_printable_output_contains_a_code_or_a_full_destination() {
    let policy = ChallengePolicy::default();
    let email = EmailAddress::parse("jane.doe@example.com").unwrap();
    let request = sms_request().with_fallback_email(email);
    let key = key();
    let prepared =
        OobChallenge::issue(request, &policy, &templates(), &key, t0(), &mut rng(100)).unwrap();
    let code = prepared.code().expose_secret().to_owned();
    let forbidden = [
        code.as_str(),
        "7400123456",
        "447400123456",
        "jane.doe",
        "0123456",
    ];

    assert_clean(&format!("{prepared:?}"), &forbidden);
    assert_clean(&format!("{:?}", prepared.message()), &forbidden);
    assert_clean(&format!("{:?}", prepared.code()), &forbidden);
    assert_clean(&format!("{key:?}"), &["7, 7"]);

    let outbox = Outbox::new();
    send(&outbox, prepared.message()).unwrap();
    assert_clean(&format!("{:?}", outbox.sent()), &forbidden);
    assert_clean(&format!("{outbox:?}"), &forbidden);

    let challenge = prepared.commit();
    assert_clean(&format!("{challenge:?}"), &forbidden);
    let rejected = challenge
        .check(&tampered(&code), &policy, &key, t0())
        .unwrap_err();
    assert_clean(&format!("{rejected:?}"), &forbidden);
    assert_clean(&rejected.to_string(), &forbidden);
    let challenge = rejected.into_record();

    let later = t0() + secs(30);
    let by_email = challenge
        .resend(
            CodeChannel::Email,
            &policy,
            &templates(),
            &key,
            later,
            &mut rng(101),
        )
        .unwrap();
    let email_code = by_email.code().expose_secret().to_owned();
    let mut forbidden_2 = forbidden.to_vec();
    forbidden_2.push(&email_code);
    assert_clean(&format!("{by_email:?}"), &forbidden_2);

    let verified = challenge.check(&code, &policy, &key, t0()).unwrap();
    assert_clean(&format!("{verified:?}"), &forbidden);

    let error = challenge
        .resend(
            CodeChannel::Sms,
            &policy,
            &templates(),
            &key,
            t0(),
            &mut rng(102),
        )
        .unwrap_err();
    assert_clean(&format!("{error:?} {error}"), &forbidden);
}

#[cfg(feature = "serde")]
#[test]
fn serialised_records_hold_the_mac_and_never_the_code() {
    let policy = ChallengePolicy::default();
    let (challenge, code) = issued(&policy, 110);
    let json = serde_json::to_string(&challenge).unwrap();
    assert!(!json.contains(&code), "{json}");
    assert!(
        json.contains("+447400123456"),
        "a store needs the full destination"
    );
    let back: OobChallenge = serde_json::from_str(&json).unwrap();
    assert_eq!(back, challenge);
    assert!(back.check(&code, &policy, &key(), t0()).is_ok());

    let used = challenge
        .check(&code, &policy, &key(), t0())
        .unwrap()
        .into_record();
    let json = serde_json::to_string(&used).unwrap();
    assert!(!json.contains(&code));
    assert_eq!(serde_json::from_str::<OobChallenge>(&json).unwrap(), used);

    // Malformed stored values are refused on the way in.
    let bad = json.replace("+447400123456", "447400123456");
    assert!(serde_json::from_str::<OobChallenge>(&bad).is_err());
    let bad = json.replace("+447400123456", "+44 hello");
    assert!(serde_json::from_str::<OobChallenge>(&bad).is_err());
    // A number in a range the metadata does not (or no longer) assigns still
    // loads: stored records must survive metadata updates.
    assert!(PhoneNumber::from_e164("+44740012345").is_err());
    let retired = json.replace("+447400123456", "+44740012345");
    let loaded: OobChallenge = serde_json::from_str(&retired).unwrap();
    let Destination::Phone(phone) = loaded.destination() else {
        panic!("phone expected");
    };
    assert_eq!(phone.expose_e164(), "+44740012345");
}

#[cfg(feature = "serde")]
#[test]
fn a_failed_send_leaves_the_serialised_record_byte_for_byte_equal() {
    let policy = ChallengePolicy::default();
    let (challenge, _) = issued(&policy, 111);
    let before = serde_json::to_string(&challenge).unwrap();
    let outbox = Outbox::new();
    outbox.fail_next(1, SendError::Transient(FailureCause::ProviderUnavailable));
    let prepared = challenge
        .resend(
            CodeChannel::VoiceCall,
            &policy,
            &templates(),
            &key(),
            t0() + secs(60),
            &mut rng(112),
        )
        .unwrap();
    assert!(send(&outbox, prepared.message()).is_err());
    drop(prepared);
    assert_eq!(serde_json::to_string(&challenge).unwrap(), before);
}
