//! `twofa demo --interactive`: a person enrolls a real authenticator app,
//! on the real clock.

use std::io::{self, Write};
use std::sync::Arc;

use twofa::delivery::{Issuer, Outbox, ServerKey};

use twofa::otp::TerminalBackground;
use twofa::types::{AccountKind, CompanyId, UserId};
use twofa::{
    Channels, LoginStep, MethodChoice, SetUpProgress, Stores, SystemClock, Twofa, UserRecord,
    XChaChaSealer,
};

use super::{PORTAL, StepFailed, client, fail, provision_company, unexpected};

pub(super) async fn interactive(
    out: &mut dyn Write,
    input: &mut dyn io::BufRead,
    stores: Stores,
) -> Result<(), StepFailed> {
    let mut say = |text: &str| {
        let _ignored = writeln!(out, "{text}");
        let _flushed = out.flush();
    };
    let outbox = Arc::new(Outbox::new());
    let server_key = ServerKey::from_bytes(&[0x5a; 32]).map_err(|e| unexpected("server key", e))?;
    let sealer =
        XChaChaSealer::from_bytes(&[0xa5; 32]).map_err(|e| unexpected("sealing key", e))?;
    let issuer = Issuer::new(PORTAL).map_err(|e| unexpected("issuer", e))?;
    // The real clock and the operating system's randomness: the codes come
    // from a real authenticator app.
    let twofa = Twofa::builder(
        stores,
        Channels::outbox(&outbox),
        server_key,
        Arc::new(sealer),
        issuer,
    )
    .with_clock(Arc::new(SystemClock))
    .build();
    let acme = CompanyId::new("acme").map_err(|e| unexpected("company id", e))?;
    let you = UserId::new("you").map_err(|e| unexpected("user id", e))?;
    provision_company(&twofa, &acme).await?;
    twofa
        .stores()
        .users()
        .save(
            &you,
            UserRecord::new(you.clone(), acme, AccountKind::PartnerEmployee, "demo user"),
            None,
        )
        .await
        .map_err(|e| unexpected("user", e))?;
    let home = client("203.0.113.9")?;

    say("twofa demo --interactive: enroll your authenticator app.");
    let LoginStep::SetUp(screen) = twofa
        .begin_login(&you, &home)
        .await
        .map_err(|e| unexpected("login", e))?
    else {
        return fail("expected the set-up prompt");
    };
    let SetUpProgress::ScanQrCode(uri) = twofa
        .choose_method(&you, &screen.ticket, MethodChoice::AuthenticatorApp)
        .await
        .map_err(|e| unexpected("choosing the app", e))?
    else {
        return fail("expected a QR code");
    };
    let qr = uri
        .key_uri()
        .to_qr_terminal(TerminalBackground::Dark)
        .map_err(|e| unexpected("QR code", e))?;
    say(qr.as_str());
    say(&format!(
        "Or enter the key URI by hand: {}",
        uri.expose_secret().as_str()
    ));

    let mut activated = false;
    for _ in 0..5 {
        say("Type the 6-digit code your app shows, then Enter:");
        let Some(code) = read_line(input)? else {
            return fail("input ended before a code was accepted");
        };
        match twofa.submit_code(&you, &screen.ticket, &code).await {
            Ok(_) => {
                say("✔ Accepted: your app is enrolled and 2FA is active.");
                activated = true;
                break;
            }
            Err(rejected) => say(&format!(
                "✘ Not accepted ({:?}); try again.",
                rejected.advice()
            )),
        }
    }
    if !activated {
        return fail("no code was accepted in five tries");
    }

    say("\nNow log in again. Wait for the app to show a new code (codes are single-use).");
    let LoginStep::Challenge(login) = twofa
        .begin_login(&you, &home)
        .await
        .map_err(|e| unexpected("login", e))?
    else {
        return fail("expected the verification prompt");
    };
    for _ in 0..5 {
        say("Type the code your app shows now, then Enter:");
        let Some(code) = read_line(input)? else {
            return fail("input ended before a code was accepted");
        };
        match twofa.submit_code(&you, &login.ticket, &code).await {
            Ok(_) => {
                say("✔ Logged in with your authenticator app.");
                return Ok(());
            }
            Err(rejected) => say(&format!(
                "✘ Not accepted ({:?}); try again.",
                rejected.advice()
            )),
        }
    }
    fail("no login code was accepted in five tries")
}

fn read_line(input: &mut dyn io::BufRead) -> Result<Option<String>, StepFailed> {
    let mut line = String::new();
    let read = input
        .read_line(&mut line)
        .map_err(|e| unexpected("reading input", e))?;
    Ok((read > 0).then(|| line.trim().to_owned()))
}
