//! Code and notice templates on arbitrary text: no panic; an accepted
//! template prints back exactly as written (`Debug`); a notice template is
//! accepted for a kind exactly when it uses only placeholders that kind has
//! a value for, and then renders on both channels with every placeholder
//! filled (no brace left) and the count of recovery codes left wherever
//! `{remaining}` stood.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use twofa_delivery::{
    Destination, EmailAddress, Issuer, MessageTemplates, Notice, NoticeKind, NoticeTemplate,
    NoticeTemplates, OriginHost, PhoneNumber, Template,
};

#[derive(Debug, Arbitrary)]
struct Input {
    text: String,
    kind: u8,
    remaining: u16,
}

fn notice(kind: NoticeKind, remaining: usize) -> Notice {
    match kind {
        NoticeKind::NumberChangeStarted => Notice::NumberChangeStarted,
        NoticeKind::NumberChanged => Notice::NumberChanged,
        NoticeKind::MethodAdded => Notice::MethodAdded,
        NoticeKind::MethodRemoved => Notice::MethodRemoved,
        NoticeKind::RecoveryCodeUsed => Notice::RecoveryCodeUsed { remaining },
        NoticeKind::RecoveryCodesRegenerated => Notice::RecoveryCodesRegenerated,
        NoticeKind::FactorSuspended => Notice::FactorSuspended,
        _ => Notice::AdminReset,
    }
}

fn rendered(templates: &MessageTemplates, notice: Notice) -> Vec<String> {
    let phone = match PhoneNumber::from_e164("+447400123456") {
        Ok(phone) => phone,
        Err(error) => panic!("fixed number refused: {error}"),
    };
    let email = match EmailAddress::parse("jane@example.com") {
        Ok(email) => email,
        Err(error) => panic!("fixed address refused: {error}"),
    };
    let mut texts = Vec::new();
    for to in [Destination::Phone(phone), Destination::Email(email)] {
        match templates.render_notice(notice, &to) {
            twofa_delivery::NoticeMessage::Sms(sms) => texts.push(sms.text),
            twofa_delivery::NoticeMessage::Email(mail) => {
                texts.push(mail.subject);
                texts.push(mail.body);
            }
            other => panic!("unexpected message {other:?}"),
        }
    }
    texts
}

fuzz_target!(|input: Input| {
    let text = input.text.as_str();
    if let Ok(template) = Template::new(text) {
        assert_eq!(format!("{template:?}"), format!("Template(\"{text}\")"));
    }
    let Ok(template) = NoticeTemplate::new(text) else {
        return;
    };
    assert_eq!(
        format!("{template:?}"),
        format!("NoticeTemplate(\"{text}\")")
    );
    let kind = NoticeKind::ALL[usize::from(input.kind) % NoticeKind::ALL.len()];
    let notice = notice(kind, usize::from(input.remaining));
    let (Ok(issuer), Ok(host)) = (
        Issuer::new("Example Portal"),
        OriginHost::new("portal.example.com"),
    ) else {
        panic!("fixed issuer or host refused");
    };
    let base = MessageTemplates::new(issuer).with_origin_host(host);
    let allowed = !text.contains("{host}")
        && (kind == NoticeKind::RecoveryCodeUsed || !text.contains("{remaining}"));
    let Ok(notices) = NoticeTemplates::english().with_sms(kind, template.clone()) else {
        assert!(
            !allowed,
            "refused a template with only allowed placeholders"
        );
        return;
    };
    assert!(
        allowed,
        "accepted a placeholder the notice has no value for"
    );
    let notices = notices
        .with_email_body(kind, template.clone())
        .unwrap_or_else(|error| panic!("accepted for the SMS, refused for the body: {error}"));
    let notices = match notices.clone().with_email_subject(kind, template) {
        Ok(with_subject) => with_subject,
        // A subject refuses only a line feed.
        Err(_) => {
            assert!(text.contains('\n'));
            notices
        }
    };
    let templates = base.with_notices(notices);
    let texts = rendered(&templates, notice);
    for text in &texts {
        assert!(!text.contains(['{', '}']), "unfilled placeholder in {text}");
    }
    if text.contains("{remaining}") {
        let count = usize::from(input.remaining).to_string();
        assert!(texts[0].contains(&count), "{}", texts[0]);
    }
});
