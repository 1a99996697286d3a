//! `twofa demo --interactive`: the scenes one at a time, at the reader's
//! pace; and, on request, a real authenticator app enrolled on the real
//! clock.

use std::io::{self, Write};
use std::sync::Arc;

use twofa::delivery::{Issuer, Outbox, ServerKey};
use twofa::otp::TerminalBackground;
use twofa::types::{AccountKind, CompanyId, UserId};
use twofa::{
    Channels, LoginStep, MethodChoice, NewUser, SetUpProgress, Stores, SystemClock, Twofa,
    XChaChaSealer,
};

use super::screens::advice_text;
use super::{
    Cast, PORTAL, Portal, Scene, StepFailed, client, counted, fail, listing, provision_company,
    unexpected,
};

/// The menu: Enter plays the next scene, a number or name jumps ahead
/// (the scenes in between run silently), `app` enrolls a real
/// authenticator app, `q` ends.
pub(super) async fn interactive(
    out: &mut dyn Write,
    input: &mut dyn io::BufRead,
    stores: Stores,
) -> Result<(), StepFailed> {
    let app_stores = stores.clone();
    let mut p = Portal::open(out, stores).await?;
    p.say(
        "twofa demo --interactive: the Partner Portal's two-factor authentication, scene by scene.",
    );
    p.say("The scenes run on a simulated clock; `app` enrolls your own authenticator app on the real one.");
    let mut cast = Cast::arrive(&mut p).await?;
    p.say(format!("\nScenes:\n{}", listing().trim_end()));
    let mut next = 0usize;
    let mut app_done = false;
    loop {
        let prompt = match Scene::ALL.get(next) {
            Some(scene) => format!(
                "\nEnter: scene {} ({}) · a number or name: jump to that scene · list · app · q: quit",
                scene.number(),
                scene.name()
            ),
            None => "\nEvery scene has played. app · q: quit".to_owned(),
        };
        p.say(prompt);
        p.flush();
        let Some(line) = read_line(input)? else {
            break;
        };
        match line.as_str() {
            "q" | "quit" => break,
            "list" => p.say(listing().trim_end()),
            "app" if app_done => p.say("Your app is enrolled already."),
            "app" => {
                enroll_app(&mut *p.out, input, app_stores.clone()).await?;
                app_done = true;
            }
            "" => match Scene::ALL.get(next) {
                Some(scene) => {
                    p.play(*scene, &mut cast).await?;
                    next = next.saturating_add(1);
                }
                None => p.say("Every scene has played."),
            },
            name => match Scene::named(name) {
                Some(scene) if scene.number() <= next => p.say(format!(
                    "Scene {} has played: scenes play once, in order.",
                    scene.number()
                )),
                Some(scene) => {
                    let skipped = scene.number().saturating_sub(1).saturating_sub(next);
                    let checks = p.catch_up(scene, &mut cast, next).await?;
                    if skipped > 0 {
                        p.say(format!(
                            "({} ran silently: {} passed.)",
                            counted(skipped, "scene"),
                            counted(usize::try_from(checks).unwrap_or(usize::MAX), "check")
                        ));
                    }
                    p.play(scene, &mut cast).await?;
                    next = scene.number();
                }
                None => p.say("No scene has that name or number (type list)."),
            },
        }
    }
    let (checks, played) = (p.checks, p.scenes_played);
    p.say(format!(
        "\n{played} of {} scenes played; {} passed.",
        Scene::ALL.len(),
        counted(usize::try_from(checks).unwrap_or(usize::MAX), "check")
    ));
    Ok(())
}

/// A person enrolls a real authenticator app: scan the QR code, type the
/// codes the app shows. Runs on its own company, on the real clock.
async fn enroll_app(
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
    let twofa = Twofa::builder()
        .stores(stores)
        .channels(Channels::outbox(&outbox))
        .server_key(server_key)
        .sealer(Arc::new(sealer))
        .issuer(issuer)
        .with_clock(Arc::new(SystemClock))
        .build()
        .map_err(|e| unexpected("service", e))?;
    let company = CompanyId::new("yours").map_err(|e| unexpected("company id", e))?;
    let you = UserId::new("you").map_err(|e| unexpected("user id", e))?;
    provision_company(&twofa, &company).await?;
    twofa
        .create_user(NewUser::new(
            you.clone(),
            company,
            AccountKind::PartnerEmployee,
            "demo user",
        ))
        .await
        .map_err(|e| unexpected("user", e))?;
    let home = client("203.0.113.9")?;

    say("\nEnroll your authenticator app (on the real clock):");
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
                "✘ Not accepted: {} Try again.",
                advice_text(rejected.advice())
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
                "✘ Not accepted: {} Try again.",
                advice_text(rejected.advice())
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
