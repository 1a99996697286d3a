//! A user sets up a passkey at their first login and logs in with it
//! later; an answer made on an origin the portal does not list is refused.
//! A software authenticator plays the browser:
//! `cargo run -p twofa --example passkey`.
#![expect(clippy::print_stdout, reason = "an example program shows its result")]

use std::sync::Arc;

use twofa::passkey::{CredentialName, Origin, RelyingParty, SoftAuthenticator};
use twofa::prelude::*;

/// The origin the portal's pages are served from.
const PORTAL: &str = "https://login.example.com";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // At start-up: the relying party (its id, and the origins the login
    // pages are served from) joins the other parts of the service.
    let relying_party =
        RelyingParty::new("example.com", "Partner Portal", [Origin::https(PORTAL)?])?;
    let outbox = Arc::new(Outbox::new());
    let twofa = Twofa::builder()
        .stores(Stores::in_memory())
        .channels(Channels::outbox(&outbox))
        .keys(Keys::generate()?)
        .issuer(Issuer::new("Partner Portal")?)
        .with_passkeys(relying_party)
        .build()?;
    let (acme, bob) = (CompanyId::new("acme")?, UserId::new("bob")?);
    twofa.create_company(NewCompany::new(acme.clone())).await?;
    let kind = AccountKind::PartnerEmployee;
    twofa
        .create_user(NewUser::new(bob.clone(), acme, kind, "Bob"))
        .await?;
    let client = ClientContext::new("203.0.113.9".parse()?);

    // Set-up: the page hands the options to navigator.credentials.create
    // and posts the browser's answer back.
    let LoginStep::SetUp(screen) = twofa.begin_login(&bob, &client).await? else {
        return Err("expected the set-up screen".into());
    };
    let choice = MethodChoice::Passkey(CredentialName::new("Work laptop")?);
    let SetUpProgress::CreatePasskey(options) =
        twofa.choose_method(&bob, &screen.ticket, choice).await?
    else {
        return Err("expected the passkey options".into());
    };
    let mut laptop = SoftAuthenticator::new();
    let answer = laptop.create(PORTAL, &options)?;
    let step = twofa.submit_passkey(&bob, &screen.ticket, &answer).await?;
    let LoginStep::Allowed(allowed) = step else {
        return Err("expected the set-up to complete the login".into());
    };
    println!("Bob set up a passkey: {:?}", allowed.by);

    // A later login: navigator.credentials.get with the screen's options.
    let LoginStep::Challenge(screen) = twofa.begin_login(&bob, &client).await? else {
        return Err("expected the verification screen".into());
    };
    let options = screen.passkey.ok_or("expected passkey options")?;
    // A page under example.com that the portal does not list gets a
    // signature, and the service refuses it (the ceremony is then over).
    let phished = laptop.get("https://old.example.com", &options)?;
    let refused = twofa.submit_passkey(&bob, &screen.ticket, &phished).await;
    println!(
        "From an unlisted origin: {:?}",
        refused.map_err(|r| r.reason())
    );
    // "Try again" starts a new ceremony on the same login.
    let methods = twofa.methods(&bob).await?;
    let passkey = methods.methods.first().ok_or("no method")?.id;
    let screen = twofa.switch_method(&bob, &screen.ticket, passkey).await?;
    let options = screen.passkey.ok_or("expected passkey options")?;
    let answer = laptop.get(PORTAL, &options)?;
    let step = twofa.submit_passkey(&bob, &screen.ticket, &answer).await?;
    let LoginStep::Allowed(allowed) = step else {
        return Err("expected the login to complete".into());
    };
    println!("Bob is logged in: {:?}", allowed.by);
    Ok(())
}
