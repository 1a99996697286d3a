//! The passkey scene: a passkey set up at login and used to log in, its
//! answer replayed, and two look-alike pages. A software authenticator
//! plays the browser and the user's device; every decision is the
//! service's (or, for a page outside the relying party, the
//! authenticator's, as in every browser).

use twofa::chrono::TimeDelta;
use twofa::passkey::{CredentialName, RefusalReason, SoftAuthenticator, SoftAuthenticatorError};
use twofa::types::{AccountKind, Method};
use twofa::{
    AllowedBy, ChallengeScreen, LoginStep, MethodChoice, Rejected, RejectionDetail, SetUpProgress,
};

use super::{
    Cast, LOGIN_ORIGIN, Portal, RP_ID, StepFailed, allowed_step, client, fail, unexpected,
};

/// A look-alike domain: not `example.com`, nor under it.
const LOOK_ALIKE: &str = "https://login.example.co";
/// A subdomain of the relying party that its origins no longer list.
const FORGOTTEN: &str = "https://old.example.com";

/// Iris sets up a passkey and logs in with it; a replayed answer and two
/// look-alike pages get nowhere.
pub(super) async fn passkey(p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
    let home = &cast.home;
    let iris = p
        .add_user("iris", "Iris Novak", AccountKind::PartnerEmployee)
        .await?;
    let screen = p.expect_set_up(&iris, home).await?;
    p.check(
        screen.methods.contains(Method::Passkey),
        "the portal has a relying party (example.com), so a passkey is offered",
    )?;
    let name = CredentialName::new("Work laptop").map_err(|e| unexpected("passkey name", e))?;
    let progress = p
        .twofa
        .choose_method(&iris, &screen.ticket, MethodChoice::Passkey(name))
        .await
        .map_err(|e| unexpected("choosing a passkey", e))?;
    let SetUpProgress::CreatePasskey(options) = progress else {
        return fail(format!("expected the passkey options, got {progress:?}"));
    };
    p.say(format!(
        "  Iris chooses Passkey and names it \"Work laptop\". The page on {LOGIN_ORIGIN} asks the browser to create one:"
    ));
    p.say(format!(
        "  🌐 navigator.credentials.create for relying party {}",
        rp_id_in(options.as_json(), &["publicKey", "rp", "id"])
    ));
    let mut laptop = SoftAuthenticator::new();
    let created = laptop
        .create(LOGIN_ORIGIN, &options)
        .map_err(|e| unexpected("creating the passkey", e))?;
    p.say(
        "  💻 Iris unlocks her laptop with her fingerprint; it creates the key pair and answers.",
    );
    let allowed = p
        .twofa
        .submit_passkey(&iris, &screen.ticket, &created)
        .await
        .map_err(|e| unexpected("activating the passkey", e))
        .and_then(|step| allowed_step(step, "activating the passkey"))?;
    p.show_allowed(&allowed);
    p.check(
        allowed.by
            == AllowedBy::SecondFactor {
                method: Method::Passkey,
            }
            && allowed
                .recovery_codes
                .as_ref()
                .is_some_and(|sheet| sheet.len() == 10),
        "the answer activates the passkey and ten recovery codes are shown once",
    )?;

    p.clock.advance(TimeDelta::hours(1));
    p.say("  An hour later Iris logs in again:");
    let login = p.expect_challenge(&iris, home).await?;
    let request = passkey_request(&login)?;
    let rp_id = rp_id_in(request, &["publicKey", "rpId"]);
    p.say(format!(
        "  🌐 navigator.credentials.get for relying party {rp_id}"
    ));
    p.check(
        login.method == Method::Passkey && login.resend.is_empty() && rp_id == RP_ID,
        "the verification screen asks the browser for a passkey of example.com: no code to type or re-send",
    )?;
    let signed = laptop
        .get_json(LOGIN_ORIGIN, request)
        .map_err(|e| unexpected("signing in with the passkey", e))?;
    p.say("  💻 Iris touches the fingerprint reader; the laptop signs the challenge.");
    let allowed = p
        .twofa
        .submit_passkey(&iris, &login.ticket, &signed)
        .await
        .map_err(|e| unexpected("the passkey's answer", e))
        .and_then(|step| allowed_step(step, "the passkey's answer"))?;
    p.show_allowed(&allowed);
    p.check(
        allowed.by
            == AllowedBy::SecondFactor {
                method: Method::Passkey,
            },
        "the signature completes the login",
    )?;

    // The attacker below knows Iris's password and logs in from elsewhere.
    let elsewhere = client("192.0.2.66")?;
    p.clock.advance(TimeDelta::minutes(5));
    p.say("  Someone who copied the answer Iris's browser just sent posts it again,");
    p.say("  to the login it completed:");
    let again = p.twofa.submit_passkey(&iris, &login.ticket, &signed).await;
    let ticket_used = match again {
        Err(rejected) => {
            let used = rejected.reason() == RejectionDetail::TicketAlreadyUsed;
            p.show_rejected(rejected);
            used
        }
        Ok(step) => return fail(format!("a replayed answer was accepted: {step:?}")),
    };
    p.say("  and, knowing Iris's password, to a login of their own:");
    let replay = p.expect_challenge(&iris, &elsewhere).await?;
    let replayed = p.twofa.submit_passkey(&iris, &replay.ticket, &signed).await;
    let refused = refusal(p, replayed)?;
    p.check(
        ticket_used && refused == Some(RefusalReason::ChallengeMismatch),
        "the same answer replayed is refused: its login is over, and a new login's challenge is another",
    )?;

    p.clock.advance(TimeDelta::hours(2));
    p.say(format!(
        "  Later, an email lures Iris to {LOOK_ALIKE}, a copy of the portal's page."
    ));
    p.say("  Behind it, the attacker logs in to the real portal with her password:");
    let phished = p.expect_challenge(&iris, &elsewhere).await?;
    let request = passkey_request(&phished)?;
    let on_look_alike = laptop.get_json(LOOK_ALIKE, request);
    p.say(format!(
        "  🌐 The page on {LOOK_ALIKE} passes the portal's request to Iris's browser, {}",
        match on_look_alike {
            Ok(_) => "which signs.",
            Err(_) => "which refuses: login.example.co is neither example.com nor under it.",
        }
    ));
    p.check(
        on_look_alike == Err(SoftAuthenticatorError::Refused),
        "a page on another domain cannot even get a signature: the authenticator refuses it",
    )?;
    p.say(format!(
        "  The attacker tries a page on {FORGOTTEN}, a subdomain the company forgot; the portal no longer lists it."
    ));
    let on_forgotten = laptop.get_json(FORGOTTEN, request);
    p.say(format!(
        "  🌐 {FORGOTTEN} is under example.com, so {}",
        match on_forgotten {
            Ok(_) => "the laptop signs; the attacker posts the answer to the portal.",
            Err(_) => "… the laptop refuses all the same.",
        }
    ));
    let Ok(relayed) = on_forgotten else {
        return fail("the authenticator refused a subdomain of the relying party");
    };
    let relayed = p
        .twofa
        .submit_passkey(&iris, &phished.ticket, &relayed)
        .await;
    let refused = refusal(p, relayed)?;
    p.check(
        refused == Some(RefusalReason::WrongOrigin),
        "the portal refuses the signature: it names an origin the relying party does not list, and the login does not complete",
    )?;

    p.clock.advance(TimeDelta::minutes(1));
    p.say(format!("  Iris opens {LOGIN_ORIGIN} herself and logs in:"));
    let login = p.expect_challenge(&iris, home).await?;
    let signed = laptop
        .get_json(LOGIN_ORIGIN, passkey_request(&login)?)
        .map_err(|e| unexpected("signing in with the passkey", e))?;
    let allowed = p
        .twofa
        .submit_passkey(&iris, &login.ticket, &signed)
        .await
        .map_err(|e| unexpected("the passkey's answer", e))
        .and_then(|step| allowed_step(step, "the passkey's answer"))?;
    p.show_allowed(&allowed);
    p.check(
        allowed.by
            == AllowedBy::SecondFactor {
                method: Method::Passkey,
            },
        "on the portal's own origin the same passkey logs in",
    )?;
    Ok(())
}

/// The options for `navigator.credentials.get` on a passkey's
/// verification screen.
fn passkey_request(screen: &ChallengeScreen) -> Result<&str, StepFailed> {
    screen
        .passkey
        .as_ref()
        .map(twofa::passkey::RequestOptions::as_json)
        .ok_or_else(|| StepFailed("the verification screen has no passkey request".to_owned()))
}

/// The relying-party id at `path` in the options the page hands to the
/// browser.
fn rp_id_in(options: &str, path: &[&str]) -> String {
    let json: serde_json::Value = serde_json::from_str(options).unwrap_or_default();
    path.iter()
        .try_fold(&json, |value, key| value.get(key))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("(none)")
        .to_owned()
}

/// Shows the refusal of a passkey answer and returns its reason; an
/// answer that let the login go on is a failure.
fn refusal(
    p: &mut Portal<'_>,
    result: Result<LoginStep, Rejected>,
) -> Result<Option<RefusalReason>, StepFailed> {
    match result {
        Err(rejected) => {
            let reason = match rejected.reason() {
                RejectionDetail::PasskeyRefused { reason } => Some(reason),
                _ => None,
            };
            p.show_rejected(rejected);
            Ok(reason)
        }
        Ok(step) => fail(format!("a passkey answer was accepted: {step:?}")),
    }
}
