//! Security notices: rendering for SMS and email, texts free of codes and
//! addresses, templates, the outbox, and serde.

use super::*;

/// One notice of each kind, the recovery-code one with `remaining` left.
fn every_notice(remaining: usize) -> [Notice; 8] {
    [
        Notice::NumberChangeStarted,
        Notice::NumberChanged,
        Notice::MethodAdded,
        Notice::MethodRemoved,
        Notice::RecoveryCodeUsed { remaining },
        Notice::RecoveryCodesRegenerated,
        Notice::FactorSuspended,
        Notice::AdminReset,
    ]
}

fn email() -> EmailAddress {
    EmailAddress::parse("jane.doe@example.com").unwrap()
}

/// Every printable text of a notice message: the rendered texts and `Debug`.
fn notice_texts(message: &NoticeMessage) -> Vec<String> {
    let mut texts = vec![format!("{message:?}")];
    match message {
        NoticeMessage::Sms(sms) => texts.push(sms.text.clone()),
        NoticeMessage::Email(mail) => {
            texts.push(mail.subject.clone());
            texts.push(mail.body.clone());
        }
        other => panic!("unexpected channel {other:?}"),
    }
    texts
}

/// The digits of the rendered texts (not of `Debug`, which holds the
/// masked destination's last digits).
fn rendered_digits(message: &NoticeMessage) -> String {
    notice_texts(message)
        .iter()
        .skip(1)
        .flat_map(|text| text.chars().filter(char::is_ascii_digit))
        .collect()
}

#[test]
fn every_notice_renders_for_both_channels() {
    let templates = templates();
    for notice in every_notice(4) {
        let sms = templates.render_notice(notice, &Destination::Phone(uk_mobile()));
        let NoticeMessage::Sms(text) = &sms else {
            panic!("a phone gets a text message: {sms:?}");
        };
        assert_eq!(text.notice, notice);
        assert_eq!(text.to, uk_mobile());
        assert_eq!(sms.channel(), Channel::Sms);
        assert_eq!(sms.notice(), notice);
        assert!(text.text.starts_with("Example Portal: "), "{}", text.text);
        assert!(
            text.text
                .ends_with("\nTo review your account, sign in at portal.example.com."),
            "{}",
            text.text
        );

        let mail = templates.render_notice(notice, &Destination::Email(email()));
        let NoticeMessage::Email(message) = &mail else {
            panic!("a mailbox gets an email: {mail:?}");
        };
        assert_eq!(message.notice, notice);
        assert_eq!(message.to, email());
        assert_eq!(mail.channel(), Channel::Email);
        assert!(message.subject.starts_with("Example Portal: "));
        assert!(!message.subject.contains('\n'));
        assert!(message.body.contains("your Example Portal account"));
        assert!(
            message
                .body
                .ends_with("\n\nTo review your account, sign in at portal.example.com.\n"),
            "{}",
            message.body
        );
        // Each kind has its own wording.
        assert_ne!(text.text, message.body);
    }
    let subjects: std::collections::BTreeSet<String> = every_notice(1)
        .into_iter()
        .map(
            |notice| match templates.render_notice(notice, &Destination::Email(email())) {
                NoticeMessage::Email(mail) => mail.subject,
                other => panic!("{other:?}"),
            },
        )
        .collect();
    assert_eq!(subjects.len(), 8, "one subject per kind");
}

#[test]
fn notices_name_what_happened() {
    let templates = MessageTemplates::new(Issuer::new("Example Portal").unwrap());
    let sms = |notice| match templates.render_notice(notice, &Destination::Phone(uk_mobile())) {
        NoticeMessage::Sms(sms) => sms.text,
        other => panic!("{other:?}"),
    };
    assert!(sms(Notice::NumberChanged).contains("phone number was changed"));
    assert!(sms(Notice::NumberChangeStarted).contains("replace this two-factor phone number"));
    assert!(sms(Notice::MethodAdded).contains("was added"));
    assert!(sms(Notice::MethodRemoved).contains("was removed"));
    assert!(sms(Notice::RecoveryCodeUsed { remaining: 7 }).contains("Unused codes left: 7."));
    assert!(sms(Notice::RecoveryCodesRegenerated).contains("new recovery codes"));
    assert!(sms(Notice::FactorSuspended).contains("suspended"));
    assert!(sms(Notice::AdminReset).contains("administrator reset"));
    // Without an origin host there is no review line.
    assert!(!sms(Notice::NumberChanged).contains("sign in at"));
    assert!(!sms(Notice::NumberChanged).contains('\n'));
}

#[test]
fn notices_hold_no_code_number_or_address() {
    let templates = templates();
    let phone = uk_mobile();
    let national = &phone.expose_e164()[3..];
    for notice in every_notice(3) {
        for to in [
            Destination::Phone(phone.clone()),
            Destination::Email(email()),
        ] {
            let message = templates.render_notice(notice, &to);
            for text in notice_texts(&message) {
                assert_clean(
                    &text,
                    &[
                        phone.expose_e164(),
                        national,
                        "7400",
                        "jane.doe",
                        "jane.doe@",
                    ],
                );
            }
            // The only digits a notice renders are the count of codes left
            // (once in a text message, once in an email body).
            let expected = match notice {
                Notice::RecoveryCodeUsed { remaining } => remaining.to_string(),
                _ => String::new(),
            };
            assert_eq!(rendered_digits(&message), expected, "{message:?}");
        }
    }
}

#[test]
fn notice_debug_masks_the_destination() {
    let templates = templates();
    let sms = templates.render_notice(Notice::MethodAdded, &Destination::Phone(uk_mobile()));
    let debug = format!("{sms:?}");
    assert!(debug.contains("+44 ••• ••• 3456"), "{debug}");
    assert!(!debug.contains("7400123456"), "{debug}");
    assert_eq!(sms.masked_to(), "+44 ••• ••• 3456");
    let mail = templates.render_notice(Notice::MethodAdded, &Destination::Email(email()));
    let debug = format!("{mail:?}");
    assert!(debug.contains("j•••@example.com"), "{debug}");
    assert!(!debug.contains("jane.doe"), "{debug}");
    assert_eq!(mail.masked_to(), "j•••@example.com");
}

#[test]
fn notice_templates_are_validated_and_replaceable() {
    let template = |text: &str| NoticeTemplate::new(text).unwrap();
    // No code in a notice: `{code}` is not a notice placeholder.
    assert_eq!(
        NoticeTemplate::new("{issuer}: {code}").err(),
        Some(TemplateError::UnknownPlaceholder { at: 10 })
    );
    assert_eq!(
        NoticeTemplate::new("{issuer").err(),
        Some(TemplateError::UnbalancedBrace { at: 0 })
    );
    assert_eq!(
        NoticeTemplate::new("").err(),
        Some(TemplateError::Length {
            max: MAX_TEMPLATE_LEN
        })
    );
    assert_eq!(
        NoticeTemplate::new("a\u{7}b").err(),
        Some(TemplateError::ControlCharacter { at: 1 })
    );
    // `{remaining}` only where there is a count, `{host}` only in the
    // review line.
    let not_allowed = |placeholder| Some(TemplateError::PlaceholderNotAllowed { placeholder });
    assert_eq!(
        NoticeTemplates::english()
            .with_sms(NoticeKind::NumberChanged, template("{remaining} left"))
            .err(),
        not_allowed("remaining")
    );
    assert_eq!(
        NoticeTemplates::english()
            .with_email_body(NoticeKind::MethodAdded, template("see {host}"))
            .err(),
        not_allowed("host")
    );
    assert_eq!(
        NoticeTemplates::english()
            .with_review_line(template("{remaining}"))
            .err(),
        not_allowed("remaining")
    );
    assert_eq!(
        NoticeTemplates::english()
            .with_email_subject(NoticeKind::AdminReset, template("two\nlines"))
            .err(),
        Some(TemplateError::ControlCharacter { at: 3 })
    );
    assert_eq!(
        NoticeTemplates::english()
            .with_review_line(template("a\n{host}"))
            .err(),
        Some(TemplateError::ControlCharacter { at: 1 })
    );

    let notices = NoticeTemplates::english()
        .with_sms(
            NoticeKind::RecoveryCodeUsed,
            template("{issuer}: code used, {remaining} left"),
        )
        .unwrap()
        .with_email_subject(NoticeKind::RecoveryCodeUsed, template("{issuer} notice"))
        .unwrap()
        .with_email_body(NoticeKind::RecoveryCodeUsed, template("{remaining} left"))
        .unwrap()
        .with_review_line(template("Check {host} ({issuer})"))
        .unwrap();
    let templates = templates().with_notices(notices.clone());
    assert_eq!(templates.notices(), &notices);
    let notice = Notice::RecoveryCodeUsed { remaining: 2 };
    let NoticeMessage::Sms(sms) = templates.render_notice(notice, &Destination::Phone(uk_mobile()))
    else {
        panic!("expected a text message");
    };
    assert_eq!(
        sms.text,
        "Example Portal: code used, 2 left\nCheck portal.example.com (Example Portal)"
    );
    let NoticeMessage::Email(mail) = templates.render_notice(notice, &Destination::Email(email()))
    else {
        panic!("expected an email");
    };
    assert_eq!(mail.subject, "Example Portal notice");
    assert_eq!(
        mail.body,
        "2 left\n\nCheck portal.example.com (Example Portal)\n"
    );
    // The other kinds keep their English texts.
    let english = MessageTemplates::new(Issuer::new("Example Portal").unwrap())
        .with_origin_host(OriginHost::new("portal.example.com").unwrap());
    let to = Destination::Email(email());
    let NoticeMessage::Email(kept) = templates.render_notice(Notice::AdminReset, &to) else {
        panic!("expected an email");
    };
    let NoticeMessage::Email(default) = english.render_notice(Notice::AdminReset, &to) else {
        panic!("expected an email");
    };
    assert_eq!(kept.subject, default.subject);
    assert!(
        kept.body
            .ends_with("\n\nCheck portal.example.com (Example Portal)\n")
    );
    assert_ne!(kept.body, default.body);
}

#[test]
fn the_outbox_records_notices_and_fails_them_on_request() {
    let outbox = Outbox::new();
    let templates = templates();
    let message = templates.render_notice(Notice::FactorSuspended, &Destination::Email(email()));
    block_on(outbox.send_notice(&message)).unwrap();
    assert!(matches!(outbox.last(), Some(SentMessage::Notice(ref m)) if *m == message));
    assert_eq!(outbox.notices(), vec![message.clone()]);

    let failure = SendError::Transient(FailureCause::ProviderUnavailable);
    outbox.fail_next(1, failure);
    assert_eq!(block_on(outbox.send_notice(&message)), Err(failure));
    assert_eq!(outbox.len(), 1, "a failed notice is not recorded");

    // Notices sit in the same log as code messages, in order.
    let sender: &dyn NoticeSender = &outbox;
    let sms = templates.render_notice(Notice::NumberChanged, &Destination::Phone(uk_mobile()));
    block_on(sender.send_notice(&sms)).unwrap();
    assert_eq!(outbox.notices(), vec![message, sms]);
    assert_eq!(
        FailureCause::NotConfigured.to_string(),
        "no adapter configured for this message"
    );
}

#[cfg(feature = "serde")]
#[test]
fn notices_and_send_errors_round_trip_through_serde() {
    for notice in every_notice(6) {
        let json = serde_json::to_string(&notice).unwrap();
        assert_eq!(serde_json::from_str::<Notice>(&json).unwrap(), notice);
    }
    assert_eq!(
        serde_json::to_string(&Notice::RecoveryCodeUsed { remaining: 6 }).unwrap(),
        r#"{"RecoveryCodeUsed":{"remaining":6}}"#
    );
    for error in [
        SendError::Transient(FailureCause::Throttled),
        SendError::Permanent(FailureCause::NotConfigured),
    ] {
        let json = serde_json::to_string(&error).unwrap();
        assert_eq!(serde_json::from_str::<SendError>(&json).unwrap(), error);
    }
}

#[test]
fn notice_kinds_cover_every_notice() {
    let kinds: Vec<NoticeKind> = every_notice(0).iter().map(|n| n.kind()).collect();
    assert_eq!(kinds, NoticeKind::ALL);
    assert_eq!(
        Notice::RecoveryCodeUsed { remaining: 5 }.kind(),
        Notice::RecoveryCodeUsed { remaining: 0 }.kind()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the count of codes left and the number, a notice renders no
    /// digit but the count's, and never the number.
    #[test]
    fn notices_render_only_the_count(remaining in 0usize..100_000, subscriber in 100_000u32..999_999, kind in 0usize..8) {
        let phone = PhoneNumber::parse(&format!("07400 {subscriber}"), gb()).unwrap();
        let notice = every_notice(remaining)[kind];
        for to in [Destination::Phone(phone.clone()), Destination::Email(email())] {
            let message = templates().render_notice(notice, &to);
            let expected = match notice {
                Notice::RecoveryCodeUsed { remaining } => remaining.to_string(),
                _ => String::new(),
            };
            prop_assert_eq!(rendered_digits(&message), expected);
            for text in notice_texts(&message) {
                prop_assert!(!text.contains(&phone.expose_e164()[3..]));
            }
        }
    }
}
