//! The scenes of logging in with a second factor: a replayed code, a code
//! re-sent by email, a recovery code, and "use another method".

use twofa::chrono::TimeDelta;
use twofa::delivery::{ResendOption, SentMessage};
use twofa::enforcement::CompanyPolicy;
use twofa::types::{CodeChannel, Method};
use twofa::{AllowedBy, Resent};

use super::{Cast, Portal, Scene, StepFailed, allowed_step, fail, needs, unexpected, user};

/// A replayed code.
pub(super) async fn replayed_code(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let Cast { bob, home, .. } = cast;
    let uri = needs(cast.bob_app.as_ref(), Scene::ScanQrCode)?;
    let first = needs(cast.bob_first_code.as_ref(), Scene::ActivateApp)?;
    p.clock.advance(TimeDelta::seconds(10));
    let again = p.expect_challenge(bob, home).await?;
    match p.twofa.submit_code(bob, &again.ticket, first).await {
        Err(rejected) => {
            p.show_rejected(rejected);
            p.check(
                true,
                "a code that was already accepted is refused (RFC 6238 §5.2)",
            )?;
        }
        Ok(_) => return fail("a replayed code was accepted"),
    }
    p.clock.advance(TimeDelta::seconds(30));
    let next = p.phone_code(uri)?;
    let allowed = p
        .twofa
        .submit_code(bob, &again.ticket, &next)
        .await
        .map_err(|e| unexpected("the next code", e))
        .and_then(|step| allowed_step(step, "the next code"))?;
    p.show_allowed(&allowed);
    p.check(true, "the app's next code is accepted")?;
    Ok(())
}

/// The code re-sent by email when the text message does not arrive.
pub(super) async fn email_resend(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let home = &cast.home;
    let carol = user("carol")?;
    p.clock.advance(TimeDelta::hours(2));
    let screen = p.expect_challenge(&carol, home).await?;
    p.say("  The text message with the code never reaches Carol's phone. She clicks [Email].");
    p.check(
        screen.method == Method::Sms && screen.resend.contains(&ResendOption::Email),
        "the verification screen offers Email beside SMS and Phone call",
    )?;
    p.clock.advance(TimeDelta::seconds(30));
    let before = p.outbox.len();
    let resent = p
        .twofa
        .resend(&carol, &screen.ticket, ResendOption::Email)
        .await
        .map_err(|e| unexpected("re-send by email", e))?;
    p.show_messages_since(before);
    let (code, _) = p.last_message()?;
    let Resent::CodeSent(sent) = resent else {
        return fail(format!("expected an email, got {resent:?}"));
    };
    p.screen(
        &format!("{} · 2FA Verification", super::PORTAL),
        &[
            format!("We sent a code to {}.", sent.to),
            "Code: [______]   [ Submit ]".to_owned(),
        ],
    );
    p.check(
        sent.channel == CodeChannel::Email
            && sent.to.ends_with("@acme.example")
            && !sent.to.contains("carol"),
        "\"Email\" sends a fresh code to Carol's address; the screen shows it masked",
    )?;
    let allowed = p
        .twofa
        .submit_code(&carol, &screen.ticket, &code)
        .await
        .map_err(|e| unexpected("the emailed code", e))
        .and_then(|step| allowed_step(step, "the emailed code"))?;
    p.show_allowed(&allowed);
    p.check(
        allowed.by
            == AllowedBy::SecondFactor {
                method: Method::Sms,
            },
        "the code from the email completes the login",
    )?;
    Ok(())
}

/// A recovery code.
pub(super) async fn recovery_code(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let Cast { bob, home, .. } = cast;
    let recovery = &cast.bob_recovery;
    p.clock.advance(TimeDelta::hours(1));
    let screen = p.expect_challenge(bob, home).await?;
    let Some(code) = recovery.first().cloned() else {
        return fail("no recovery code was shown");
    };
    p.say(format!("  Bob types the recovery code {code}"));
    let allowed = p
        .twofa
        .use_recovery_code(bob, &screen.ticket, &code)
        .await
        .map_err(|e| unexpected("recovery code", e))
        .and_then(|step| allowed_step(step, "recovery code"))?;
    p.show_allowed(&allowed);
    p.check(
        allowed.by == AllowedBy::RecoveryCode,
        "a recovery code completes the login",
    )?;
    let notice = match p.outbox.last() {
        Some(SentMessage::Notice(twofa::delivery::NoticeMessage::Email(mail))) => Some(mail),
        _ => None,
    };
    if let Some(mail) = &notice {
        p.say(format!(
            "  Email to {}: {}",
            mail.to,
            mail.body.trim_end().replace('\n', " ⏎ ")
        ));
    }
    p.check(
        notice.is_some_and(|mail| mail.body.contains("unused codes left: 9")),
        "Bob is told by email that a recovery code was used, and how many are left",
    )?;
    let screen = p.expect_challenge(bob, home).await?;
    let reused = p.twofa.use_recovery_code(bob, &screen.ticket, &code).await;
    p.check(reused.is_err(), "the same recovery code never works twice")?;
    Ok(())
}

/// "Use another method".
pub(super) async fn another_method(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let Cast { bob, home, .. } = cast;
    let admin = p.admin_stepped_up().await?;
    p.twofa
        .set_company_policy(&admin, CompanyPolicy::default())
        .await
        .map_err(|e| unexpected("policy change", e))?;
    p.clock.advance(TimeDelta::minutes(1));
    let screen = p.expect_challenge(bob, home).await?;
    let Some(sms) = screen
        .other_methods
        .iter()
        .find(|m| m.kind == Method::Sms)
        .cloned()
    else {
        return fail("the SMS method was not offered");
    };
    p.check(
        screen.method == Method::AuthenticatorApp && screen.other_methods.len() == 1,
        "the app comes first; Bob's SMS number is offered as another method",
    )?;
    let switched = p
        .twofa
        .switch_method(bob, &screen.ticket, sms.id)
        .await
        .map_err(|e| unexpected("switching method", e))?;
    p.show_challenge(&switched);
    let (sms_code, text) = p.last_message()?;
    p.say(format!("  📱 {text}"));
    let allowed = p
        .twofa
        .submit_code(bob, &switched.ticket, &sms_code)
        .await
        .map_err(|e| unexpected("SMS code", e))
        .and_then(|step| allowed_step(step, "SMS code"))?;
    p.show_allowed(&allowed);
    p.check(
        switched.ticket == screen.ticket
            && allowed.by
                == AllowedBy::SecondFactor {
                    method: Method::Sms,
                },
        "the code sent to the other method completes the same login",
    )?;
    Ok(())
}
