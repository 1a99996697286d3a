//! The scenes of logging in with a second factor: a replayed code, a
//! recovery code, and "use another method".

use twofa::AllowedBy;
use twofa::chrono::TimeDelta;
use twofa::delivery::SentMessage;
use twofa::enforcement::CompanyPolicy;
use twofa::enrollment::ProvisioningUri;
use twofa::types::Method;

use super::{Cast, Portal, StepFailed, allowed_step, fail, unexpected};

/// Scene 4: a replayed code.
pub(super) async fn replayed_code(
    p: &mut Portal<'_>,
    cast: &Cast,
    uri: &ProvisioningUri,
    first: &str,
) -> Result<(), StepFailed> {
    let Cast { bob, home, .. } = cast;
    p.heading(4, "Someone replays the code Bob just used");
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

/// Scene 11: a recovery code.
pub(super) async fn recovery_code(
    p: &mut Portal<'_>,
    cast: &Cast,
    recovery: &[String],
) -> Result<(), StepFailed> {
    let Cast { bob, home, .. } = cast;
    p.heading(11, "Bob lost his phone: he uses a recovery code");
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

/// Scene 14: "use another method".
pub(super) async fn another_method(p: &mut Portal<'_>, cast: &Cast) -> Result<(), StepFailed> {
    let Cast { bob, home, .. } = cast;
    let admin = p.admin.clone();
    p.heading(
        14,
        "Alice allows apps again: Bob picks SMS instead of the app",
    );
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
