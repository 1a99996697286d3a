//! The scenes of setting up a second factor: the authenticator app, SMS and
//! voice, numbers that are not mobiles, and "remind me in 48 hours".

use twofa::chrono::TimeDelta;
use twofa::delivery::ResendOption;
use twofa::enrollment::{NotMobileAnswer, PhoneChannel};
use twofa::otp::TerminalBackground;
use twofa::types::CodeChannel;
use twofa::types::{AccountKind, Method};
use twofa::{AllowedBy, MethodChoice, PhoneChoice, Resent, SetUpProgress};

use super::{Cast, PORTAL, Portal, Scene, StepFailed, allowed_step, fail, needs, unexpected};

/// The password was accepted; 2FA is not set up yet.
pub(super) async fn set_up_prompt(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let start = p.start;
    let screen = p.expect_set_up(&cast.bob, &cast.home).await?;
    p.check(
        screen.methods.contains(Method::AuthenticatorApp)
            && screen.methods.contains(Method::Sms)
            && screen.methods.contains(Method::Passkey),
        "every method is offered: authenticator app, Authy, SMS/voice, passkey",
    )?;
    p.check(
        screen.remind_me_until == Some(start + TimeDelta::hours(48)),
        "\"Remind me in 48 hours\" is offered (the company does not enforce 2FA)",
    )?;
    cast.bob_set_up = Some(screen);
    Ok(())
}

/// The authenticator app: URI and QR code.
pub(super) async fn scan_qr_code(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let bob = &cast.bob;
    let screen = needs(cast.bob_set_up.as_ref(), Scene::SetUpPrompt)?;
    let progress = p
        .twofa
        .choose_method(bob, &screen.ticket, MethodChoice::AuthenticatorApp)
        .await
        .map_err(|e| unexpected("choosing the app", e))?;
    let SetUpProgress::ScanQrCode(uri) = progress else {
        return fail(format!("expected a QR code, got {progress:?}"));
    };
    let text = uri.expose_secret();
    p.say(format!("  Key URI: {}", text.as_str()));
    let qr = uri
        .key_uri()
        .to_qr_terminal(TerminalBackground::Dark)
        .map_err(|e| unexpected("QR code", e))?;
    p.say(qr.as_str());
    p.check(
        text.starts_with("otpauth://totp/Partner%20Portal:Bob%20Baker?"),
        "the QR code holds an RFC 6238 otpauth:// key for \"Partner Portal\"",
    )?;
    cast.bob_app = Some(uri);
    Ok(())
}

/// The simulated phone computes the code; activation. Keeps the code Bob
/// typed and his recovery codes for the scenes after.
pub(super) async fn activate_app(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let bob = &cast.bob;
    let screen = needs(cast.bob_set_up.as_ref(), Scene::SetUpPrompt)?;
    let uri = needs(cast.bob_app.as_ref(), Scene::ScanQrCode)?;
    let first = p.phone_code(uri)?;
    let allowed = p
        .twofa
        .submit_code(bob, &screen.ticket, &first)
        .await
        .map_err(|e| unexpected("activation", e))
        .and_then(|step| allowed_step(step, "activation"))?;
    p.show_allowed(&allowed);
    p.check(
        allowed.by
            == AllowedBy::SecondFactor {
                method: Method::AuthenticatorApp,
            }
            && allowed
                .recovery_codes
                .as_ref()
                .is_some_and(|s| s.len() == 10),
        "the correct code activates the app and ten recovery codes are shown once",
    )?;
    let recovery: Vec<String> = allowed
        .recovery_codes
        .iter()
        .flat_map(|sheet| sheet.expose_secret().map(str::to_owned))
        .collect();
    cast.bob_first_code = Some(first);
    cast.bob_recovery = recovery;
    Ok(())
}

/// SMS enrollment and a re-send by phone call.
pub(super) async fn sms_then_call(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let home = &cast.home;
    let carol = p
        .add_user("carol", "Carol Chen", AccountKind::PartnerEmployee)
        .await?;
    let screen = p.expect_set_up(&carol, home).await?;
    let (sent, sms_code) = p
        .choose_sms(&carol, &screen.ticket, "+44 7400 123456")
        .await?;
    p.screen(
        &format!("{PORTAL} · 2FA Verification"),
        &[
            format!("We sent a code to {}.", sent.to),
            "Code: [______]   [ Submit ]".to_owned(),
            "Didn't get it?  [SMS] · [Phone call] · [Email]".to_owned(),
        ],
    );
    p.check(
        sent.channel == CodeChannel::Sms && sent.to == "+44 ••• ••• 3456",
        "a mobile number gets its code by SMS; the screen shows it masked",
    )?;
    p.clock.advance(TimeDelta::seconds(30));
    let resent = p
        .twofa
        .resend(&carol, &screen.ticket, ResendOption::Voice)
        .await
        .map_err(|e| unexpected("re-send by call", e))?;
    let (call_code, call) = p.last_message()?;
    p.say(format!("  ☎ {call}"));
    p.check(
        matches!(resent, Resent::CodeSent(ref s) if s.channel == CodeChannel::VoiceCall),
        "\"Phone call\" re-sends a fresh code by voice",
    )?;
    if call_code != sms_code {
        let stale = p.twofa.submit_code(&carol, &screen.ticket, &sms_code).await;
        p.check(
            stale.is_err(),
            "the SMS code stopped working when the call brought a new one",
        )?;
    }
    let allowed = p
        .twofa
        .submit_code(&carol, &screen.ticket, &call_code)
        .await
        .map_err(|e| unexpected("SMS activation", e))
        .and_then(|step| allowed_step(step, "SMS activation"))?;
    p.show_allowed(&allowed);
    p.check(
        allowed.by
            == AllowedBy::SecondFactor {
                method: Method::Sms,
            },
        "the code from the call activates SMS 2FA",
    )?;
    Ok(())
}

/// Numbers that are not mobiles.
pub(super) async fn not_mobile(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let home = &cast.home;
    for (id, name, number, region) in [
        ("dave", "Dave Dunn", "+44 121 234 5678", "a UK landline"),
        ("dirk", "Dirk Weber", "+49 30 123456", "a Berlin landline"),
        ("erin", "Erin Roy", "+1 506 234 5678", "a Canadian number"),
    ] {
        let user = p.add_user(id, name, AccountKind::PartnerEmployee).await?;
        let screen = p.expect_set_up(&user, home).await?;
        p.say(format!("  {name} enters {number} and chooses SMS:"));
        let before = p.outbox.len();
        let progress = p
            .twofa
            .choose_method(
                &user,
                &screen.ticket,
                MethodChoice::Phone(PhoneChoice::new(number, PhoneChannel::Sms)),
            )
            .await
            .map_err(|e| unexpected("choosing SMS", e))?;
        let SetUpProgress::NotMobile(dialog) = progress else {
            return fail(format!(
                "expected the not-a-mobile dialog for {number}, got {progress:?}"
            ));
        };
        p.show_dialog(number, &dialog);
        p.check(
            dialog.recommended == Method::AuthenticatorApp && p.outbox.len() == before,
            &format!("{region} ({number}) gets the dialog recommending the app; no SMS is sent"),
        )?;
        if id == "erin" {
            let progress = p
                .twofa
                .choose_method(
                    &user,
                    &screen.ticket,
                    MethodChoice::Phone(
                        PhoneChoice::new(number, PhoneChannel::Sms)
                            .with_answer(NotMobileAnswer::ContinueWithVoice),
                    ),
                )
                .await
                .map_err(|e| unexpected("continuing with a call", e))?;
            let (_, call) = p.last_message()?;
            p.say(format!("  ☎ {call}"));
            p.check(
                matches!(progress, SetUpProgress::CodeSent(ref s) if s.channel == CodeChannel::VoiceCall),
                "choosing \"Call me\" in the dialog sends the code by voice",
            )?;
        }
    }
    Ok(())
}

/// Remind me in 48 hours.
pub(super) async fn remind_me_later(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let home = &cast.home;
    let frank = p
        .add_user("frank", "Frank Fox", AccountKind::PartnerEmployee)
        .await?;
    let screen = p.expect_set_up(&frank, home).await?;
    let deferred_at = p.clock_now();
    let allowed = p
        .twofa
        .defer(&frank, &screen.ticket)
        .await
        .map_err(|e| unexpected("deferral", e))?;
    p.show_allowed(&allowed);
    let until = deferred_at + TimeDelta::hours(48);
    p.check(
        allowed.by == AllowedBy::Deferred { until },
        "the deferral runs for exactly 48 hours",
    )?;
    p.clock.set(until - TimeDelta::seconds(1));
    p.say("  … 47 h 59 min 59 s later:");
    let allowed = p.expect_allowed(&frank, home).await?;
    p.check(
        allowed.by == AllowedBy::DeferralRunning { until },
        "at 47:59:59 Frank logs in without a prompt",
    )?;
    p.clock.set(until);
    p.say("  … 48 h later:");
    let screen = p.expect_set_up(&frank, home).await?;
    p.check(
        screen.remind_me_until.is_some(),
        "at exactly 48 h the set-up prompt is back (and he may defer again)",
    )?;
    Ok(())
}
