//! A user sets up an authenticator app at their first login, end to end,
//! with in-memory stores: `cargo run -p twofa --example quickstart`.
#![expect(clippy::print_stdout, reason = "an example program shows its result")]

use std::sync::Arc;

use twofa::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // At start-up: stores, channels, keys and the name the app shows.
    let outbox = Arc::new(Outbox::new());
    let twofa = Twofa::builder()
        .stores(Stores::in_memory())
        .channels(Channels::outbox(&outbox))
        .keys(Keys::generate()?)
        .issuer(Issuer::new("Partner Portal")?)
        .build()?;

    // The application's account management adds the company and the user.
    let (acme, bob) = (CompanyId::new("acme")?, UserId::new("bob")?);
    twofa.create_company(NewCompany::new(acme.clone())).await?;
    let kind = AccountKind::PartnerEmployee;
    twofa
        .create_user(NewUser::new(bob.clone(), acme, kind, "Bob"))
        .await?;

    // Bob's password was right; he has no second factor yet: set-up.
    let client = ClientContext::new("203.0.113.9".parse()?);
    let LoginStep::SetUp(screen) = twofa.begin_login(&bob, &client).await? else {
        return Err("expected the set-up screen".into());
    };
    let app = MethodChoice::AuthenticatorApp;
    let SetUpProgress::ScanQrCode(qr) = twofa.choose_method(&bob, &screen.ticket, app).await?
    else {
        return Err("expected a QR code".into());
    };

    // Bob's app scans the QR code and shows a code; he types it in.
    let totp = qr.key_uri().to_totp().ok_or("not a TOTP key")?;
    let code = totp.generate(u64::try_from(twofa.now().timestamp())?)?;
    let step = twofa
        .submit_code(&bob, &screen.ticket, code.expose_secret().as_str())
        .await?;
    let LoginStep::Allowed(allowed) = step else {
        return Err("expected the login to complete".into());
    };
    println!("Bob is logged in: {:?}", allowed.by);
    Ok(())
}
