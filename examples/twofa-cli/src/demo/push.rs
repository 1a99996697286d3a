//! The scene of the Authy-style push app: a push approved by number
//! matching, a push denied, and the app's token when the phone is offline.

use twofa::chrono::TimeDelta;
use twofa::delivery::{PushMessage, PushResponse, SentMessage};
use twofa::types::{AccountKind, Method};
use twofa::{AllowedBy, ChallengeScreen, MethodChoice, PushPoll, PushSent, SetUpProgress};

use super::{Cast, Portal, StepFailed, allowed_step, app_code, client, fail, unexpected};

/// Hana sets up Authy and logs in three times with it.
pub(super) async fn push(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let home = &cast.home;
    let hana = p
        .add_user("hana", "Hana Ito", AccountKind::PartnerEmployee)
        .await?;
    let screen = p.expect_set_up(&hana, home).await?;
    let progress = p
        .twofa
        .choose_method(&hana, &screen.ticket, MethodChoice::PushApp)
        .await
        .map_err(|e| unexpected("choosing Authy", e))?;
    let SetUpProgress::ScanQrCode(authy) = progress else {
        return fail(format!("expected a QR code for Authy, got {progress:?}"));
    };
    p.say("  Hana chooses Authy and scans the QR code with the Authy app.");
    let token = app_code(&authy, p.clock_now())?;
    p.say(format!(
        "  📱 Authy shows the token {token}; Hana types it."
    ));
    let allowed = p
        .twofa
        .submit_code(&hana, &screen.ticket, &token)
        .await
        .map_err(|e| unexpected("Authy's first token", e))
        .and_then(|step| allowed_step(step, "Authy's first token"))?;
    p.show_allowed(&allowed);
    p.check(
        allowed.by
            == AllowedBy::SecondFactor {
                method: Method::PushApp,
            },
        "Authy is set up: its first token activates it",
    )?;

    p.clock.advance(TimeDelta::hours(1));
    p.say("  An hour later Hana logs in and clicks [ Send push to Authy ]:");
    let login = p.expect_challenge(&hana, home).await?;
    let (sent, prompt) = send_push(p, &hana, &login).await?;
    p.show_push_prompt(&prompt);
    p.check(
        login.method == Method::PushApp && prompt.client_address == Some(home.peer()),
        "the login page shows a number; Authy shows where the login comes from and asks for it",
    )?;
    let number = sent.match_number;
    p.say(format!("  📱 Hana types {number} in Authy."));
    p.twofa
        .respond_to_push(&hana, prompt.request, PushResponse::Approve { number })
        .await
        .map_err(|e| unexpected("approving the push", e))?;
    let poll = p
        .twofa
        .poll_push(&hana, &login.ticket)
        .await
        .map_err(|e| unexpected("waiting for the push", e))?;
    let PushPoll::Allowed(allowed) = poll else {
        return fail(format!("expected the approved login, got {poll:?}"));
    };
    p.show_allowed(&allowed);
    p.check(
        allowed.by
            == AllowedBy::SecondFactor {
                method: Method::PushApp,
            },
        "approving with the matching number completes the login",
    )?;

    p.clock.advance(TimeDelta::hours(8));
    p.say("  That evening someone who has Hana's password logs in from elsewhere;");
    p.say("  Authy asks Hana, who is not logging in. She taps [ Deny ]:");
    let elsewhere = client("192.0.2.66")?;
    let login = p.expect_challenge(&hana, &elsewhere).await?;
    let (_, prompt) = send_push(p, &hana, &login).await?;
    p.show_push_prompt(&prompt);
    p.twofa
        .respond_to_push(&hana, prompt.request, PushResponse::Deny)
        .await
        .map_err(|e| unexpected("denying the push", e))?;
    match p.twofa.poll_push(&hana, &login.ticket).await {
        Err(rejected) => {
            p.say("  The login page learns that the request was denied:");
            p.show_rejected(rejected);
            p.check(true, "a denied push refuses the login")?;
        }
        Ok(poll) => return fail(format!("a denied push let the login go on: {poll:?}")),
    }

    p.clock.advance(TimeDelta::hours(12));
    p.say("  Next morning Hana's phone is offline: the push cannot reach it.");
    let login = p.expect_challenge(&hana, home).await?;
    send_push(p, &hana, &login).await?;
    p.say("  📵 Hana's phone shows nothing.");
    let poll = p
        .twofa
        .poll_push(&hana, &login.ticket)
        .await
        .map_err(|e| unexpected("waiting for the push", e))?;
    p.check(
        matches!(poll, PushPoll::Waiting { .. }),
        "with no answer from the phone the login page keeps waiting",
    )?;
    let token = app_code(&authy, p.clock_now())?;
    p.say(format!(
        "  📱 Offline, Authy still shows a token: {token}. Hana types it instead."
    ));
    let allowed = p
        .twofa
        .submit_code(&hana, &login.ticket, &token)
        .await
        .map_err(|e| unexpected("Authy's token", e))
        .and_then(|step| allowed_step(step, "Authy's token"))?;
    p.show_allowed(&allowed);
    p.check(
        allowed.by
            == AllowedBy::SecondFactor {
                method: Method::PushApp,
            },
        "the token from Authy completes the login without the push",
    )?;
    Ok(())
}

/// Sends the push for `login` and shows the login page; returns the
/// prompt meant for the phone.
async fn send_push(
    p: &mut Portal<'_>,
    hana: &twofa::types::UserId,
    login: &ChallengeScreen,
) -> Result<(PushSent, PushMessage), StepFailed> {
    let sent = p
        .twofa
        .send_push(hana, &login.ticket)
        .await
        .map_err(|e| unexpected("sending the push", e))?;
    let Some(SentMessage::Push(prompt)) = p.outbox.last() else {
        return fail("no push reached Authy");
    };
    p.show_push_sent(&sent);
    Ok((sent, prompt))
}
