//! The scene of the user's own settings: the name and the phone number
//! used for 2FA.

use twofa::chrono::TimeDelta;
use twofa::delivery::{Notice, SentMessage};
use twofa::enrollment::PhoneChannel;
use twofa::{AllowedBy, PhoneChoice, RetryAdvice, SetUpProgress};

use super::{Cast, PORTAL, Portal, StepFailed, allowed_step, fail, unexpected, user};

const NEW_NAME: &str = "Carol Chen-Park";
const NEW_NUMBER: &str = "+44 7400 246810";
const NEW_MASKED: &str = "+44 ••• ••• 6810";
const OLD_MASKED: &str = "+44 ••• ••• 3456";

/// Carol changes her name, then her number (with a step-up, a code to the
/// new number and notices to the old number and the email).
pub(super) async fn change_details(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let home = &cast.home;
    let carol = user("carol")?;
    let admin = p.admin.clone();
    p.clock.advance(TimeDelta::hours(1));
    p.say("  An hour after logging in, Carol opens her user settings:");
    p.show_settings("Carol Chen", OLD_MASKED);
    p.say(format!(
        "  She changes the name used for 2FA to {NEW_NAME}."
    ));
    p.twofa
        .change_display_name(&carol, NEW_NAME)
        .await
        .map_err(|e| unexpected("changing the name", e))?;
    let report = p
        .twofa
        .enrollment_report(&admin)
        .await
        .map_err(|e| unexpected("report", e))?;
    let name = report
        .rows()
        .iter()
        .find(|row| row.user_id() == &carol)
        .map(|row| row.display_name().to_owned());
    p.show_settings(name.as_deref().unwrap_or_default(), OLD_MASKED);
    p.check(
        name.as_deref() == Some(NEW_NAME),
        "the new name is saved for 2FA (the company's report shows it too)",
    )?;

    p.say(format!(
        "  Then she enters a new phone number, {NEW_NUMBER}:"
    ));
    let stale = p
        .twofa
        .start_phone_change(&carol, PhoneChoice::new(NEW_NUMBER, PhoneChannel::Sms))
        .await;
    match stale {
        Err(rejected) => {
            p.show_rejected(rejected);
            p.check(
                rejected.advice() == RetryAdvice::ReauthenticationRequired,
                "a new number needs a second factor from the last 10 minutes: Carol must confirm it is her",
            )?;
        }
        Ok(progress) => return fail(format!("a stale session changed the number: {progress:?}")),
    }

    p.say("  Carol confirms it is her: a code to her current number.");
    let before = p.outbox.len();
    let screen = p.expect_challenge(&carol, home).await?;
    p.show_messages_since(before);
    let (code, _) = p.last_message()?;
    let allowed = p
        .twofa
        .submit_code(&carol, &screen.ticket, &code)
        .await
        .map_err(|e| unexpected("the step-up", e))
        .and_then(|step| allowed_step(step, "the step-up"))?;
    p.show_allowed(&allowed);
    if !matches!(allowed.by, AllowedBy::SecondFactor { .. }) {
        return fail(format!("expected a second factor, got {:?}", allowed.by));
    }

    p.say(format!("  She enters {NEW_NUMBER} again:"));
    let before = p.outbox.len();
    let progress = p
        .twofa
        .start_phone_change(&carol, PhoneChoice::new(NEW_NUMBER, PhoneChannel::Sms))
        .await
        .map_err(|e| unexpected("changing the number", e))?;
    let SetUpProgress::CodeSent(sent) = progress else {
        return fail(format!(
            "expected a code to the new number, got {progress:?}"
        ));
    };
    p.show_messages_since(before);
    let (new_code, new_to) = code_to_new_number(p, before)?;
    p.screen(
        &format!("{PORTAL} · User Settings · Verify your new number"),
        &[
            format!("We sent a code to {}.", sent.to),
            "Code: [______]   [ Submit ]".to_owned(),
            format!("Until then, codes still go to {OLD_MASKED}."),
        ],
    );
    p.check(
        sent.to == NEW_MASKED && new_to == NEW_MASKED,
        "the code to confirm goes to the new number, and only there",
    )?;
    p.check(
        notices_since(p, before)
            == [
                (Notice::NumberChangeStarted, OLD_MASKED.to_owned()),
                (Notice::NumberChangeStarted, "c•••@acme.example".to_owned()),
            ],
        "the old number and the email are told a new number was entered",
    )?;

    let before = p.outbox.len();
    p.twofa
        .confirm_phone_change(&carol, &new_code)
        .await
        .map_err(|e| unexpected("confirming the number", e))?;
    p.say("  Carol types the code from the new number:");
    p.show_messages_since(before);
    p.show_settings(NEW_NAME, NEW_MASKED);
    p.check(
        notices_since(p, before)
            == [
                (Notice::NumberChanged, OLD_MASKED.to_owned()),
                (Notice::NumberChanged, "c•••@acme.example".to_owned()),
            ],
        "once confirmed, the old number and the email are told the number changed",
    )?;

    p.clock.advance(TimeDelta::minutes(1));
    p.say("  At her next login:");
    let login = p.expect_challenge(&carol, home).await?;
    p.check(
        login.sent_to.as_deref() == Some(NEW_MASKED),
        "the next login's code goes to the new number",
    )?;
    Ok(())
}

/// The code in the text message to the new number, the first message sent
/// since `from`.
fn code_to_new_number(p: &Portal<'_>, from: usize) -> Result<(String, String), StepFailed> {
    match p.outbox.sent().into_iter().nth(from) {
        Some(SentMessage::Sms(sms)) => {
            let code = super::code_in(sms.body.expose_secret())
                .ok_or_else(|| StepFailed("no code in the text message".to_owned()))?;
            Ok((code, sms.to.masked()))
        }
        other => fail(format!(
            "expected a text message to the new number, got {other:?}"
        )),
    }
}

/// The notices sent since message number `from`, with their masked
/// destinations.
fn notices_since(p: &Portal<'_>, from: usize) -> Vec<(Notice, String)> {
    p.outbox
        .sent()
        .into_iter()
        .skip(from)
        .filter_map(|message| match message {
            SentMessage::Notice(notice) => Some((notice.notice(), notice.masked_to())),
            _ => None,
        })
        .collect()
}
