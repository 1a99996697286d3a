//! Company administration: who sees it, trusted networks and proxies, the
//! status report, and the allowed methods.

use axum::http::StatusCode;
use chrono::TimeDelta;
use twofa_portal::{CookieSecurity, PortalOptions};

use crate::{
    Browser, Server, code_from_outbox, enroll_app, enroll_sms, manual_key, start, start_local,
    totp_code,
};

#[tokio::test]
async fn members_do_not_see_the_company_pages() {
    let server = start_local().await;
    let mut browser = Browser::new(&server);
    enroll_app(&mut browser, &server, "alice", "alice-demo-password").await;
    for path in ["/company", "/company/status", "/company/status.csv"] {
        let reply = browser.get(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
    let missing = browser.get("/no-such-page").await;
    let hidden = browser.get("/company").await;
    assert_eq!(
        missing.body, hidden.body,
        "the same answer as a missing page"
    );
}

/// Logs the admin in with the app and adds a trusted network.
async fn admin_adds_network(server: &Server, network: &str) {
    let mut admin = Browser::new(server);
    enroll_app(&mut admin, server, "admin", "admin-demo-password").await;
    let reply = admin
        .submit(
            "/company",
            "/company/networks",
            &[("network", network), ("label", "Head office")],
        )
        .await;
    assert_eq!(reply.location(), "/company");
    assert!(admin.get("/company").await.body.contains(network));
}

#[tokio::test]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    for (proxies, spared) in [(Vec::new(), false), (vec!["127.0.0.1/32"], true)] {
        let cidrs = proxies
            .iter()
            .map(|p| twofa::trusted_network::Cidr::parse(p).unwrap());
        let server = start(
            PortalOptions::new()
                .with_cookies(CookieSecurity::PlainHttpLocalhost)
                .with_trusted_proxies(twofa::trusted_network::TrustedProxies::new(cidrs)),
        )
        .await;
        admin_adds_network(&server, "203.0.113.0/24").await;
        // Alice, claiming (through the header) to be on the trusted
        // network, sets up her app; the grant is earned only if the
        // header was believed.
        let mut alice = Browser::new(&server);
        alice.forwarded_for = Some("203.0.113.5".into());
        enroll_app(&mut alice, &server, "alice", "alice-demo-password").await;
        alice.submit("/home", "/logout", &[]).await;
        server
            .portal
            .demo_clock()
            .unwrap()
            .advance(TimeDelta::days(1));
        let reply = alice.log_in("alice", "alice-demo-password").await;
        let expected = if spared { "/home" } else { "/login/2fa" };
        assert_eq!(reply.location(), expected, "proxies {proxies:?}");
    }
}

#[tokio::test]
async fn the_status_csv_lists_every_account() {
    let server = start_local().await;
    let mut admin = Browser::new(&server);
    enroll_app(&mut admin, &server, "admin", "admin-demo-password").await;
    let page = admin.get("/company/status").await;
    assert_eq!(page.status, StatusCode::OK);
    let csv = admin.get("/company/status.csv").await;
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(csv.header("content-disposition").contains("attachment"));
    for account in twofa_portal::DEMO_ACCOUNTS {
        assert!(csv.body.contains(account.email), "{}", account.login);
    }
    let admin_line = csv.body.lines().find(|l| l.contains("ada@")).unwrap();
    assert!(admin_line.contains("enrolled"), "{admin_line}");
}

#[tokio::test]
async fn trusted_networks_are_listed_added_with_a_label_and_removed() {
    let server = start_local().await;
    let mut admin = Browser::new(&server);
    enroll_app(&mut admin, &server, "admin", "admin-demo-password").await;
    let reply = admin
        .submit(
            "/company",
            "/company/networks",
            &[("network", "not-a-network"), ("label", "x")],
        )
        .await;
    assert_eq!(reply.location(), "/company");
    assert!(admin.get("/company").await.body.contains("not a network"));
    admin
        .submit(
            "/company",
            "/company/networks",
            &[("network", "198.51.100.0/24"), ("label", "Branch office")],
        )
        .await;
    let page = admin.get("/company").await;
    assert!(page.body.contains("198.51.100.0/24") && page.body.contains("Branch office"));
    admin
        .submit(
            "/company",
            "/company/networks/remove",
            &[("network", "198.51.100.0/24")],
        )
        .await;
    let page = admin.get("/company").await;
    assert!(page.body.contains("no longer a trusted network"));
    assert!(!page.body.contains("Branch office"));
}

/// The demo company's policy, as stored.
pub(super) async fn company_policy(server: &Server) -> twofa::enforcement::CompanyPolicy {
    let company = twofa::types::CompanyId::new(twofa_portal::DEMO_COMPANY).unwrap();
    let stores = server.portal.twofa().stores();
    let loaded = stores.companies().load(&company).await.unwrap().unwrap();
    *loaded.record.policy()
}

/// The form fields of the checked boxes in the company page's
/// "Two-factor methods" section.
fn allowed_on(page: &str) -> Vec<&'static str> {
    ["app", "push", "sms", "voice", "passkey"]
        .into_iter()
        .filter(|field| {
            let marker = format!("id=\"allow-{field}\"");
            let start = page.find(&marker).expect("a checkbox per method");
            let tag = &page[start..start + page[start..].find('>').unwrap()];
            tag.contains(" checked")
        })
        .collect()
}

/// Everything but the methods and re-send channels is the same.
fn same_but_methods(
    a: &twofa::enforcement::CompanyPolicy,
    b: &twofa::enforcement::CompanyPolicy,
) -> bool {
    a.deferral_length() == b.deferral_length()
        && a.deferral_cap() == b.deferral_cap()
        && a.trusted_network_reprompt() == b.trusted_network_reprompt()
        && a.out_of_band_code_lifetime() == b.out_of_band_code_lifetime()
        && a.pending_setup_lifetime() == b.pending_setup_lifetime()
        && a.attempts_per_challenge() == b.attempts_per_challenge()
}

#[tokio::test]
async fn an_admin_switches_off_sms_and_voice_and_an_sms_user_must_set_up_another_method() {
    use twofa::types::{CodeChannel, CodeChannelSet, Method, MethodSet};

    let server = start_local().await;
    let clock = server.portal.demo_clock().unwrap();
    let mut alice = Browser::new(&server);
    enroll_sms(&mut alice, "alice", "+44 7400 123456").await;
    alice.submit("/home", "/logout", &[]).await;

    let mut admin = Browser::new(&server);
    enroll_app(&mut admin, &server, "admin", "admin-demo-password").await;
    let page = admin.get("/company").await;
    assert!(page.body.contains("Two-factor methods"));
    assert_eq!(
        allowed_on(&page.body),
        ["app", "push", "sms", "voice", "passkey"]
    );
    let before = company_policy(&server).await;
    let reply = admin
        .submit(
            "/company",
            "/company/methods",
            &[("app", "on"), ("push", "on")],
        )
        .await;
    assert_eq!(reply.location(), "/company");
    let page = admin.get("/company").await;
    assert!(
        page.body
            .contains("Users may now use: Authenticator app, Authy-style push app."),
        "flash"
    );
    assert_eq!(allowed_on(&page.body), ["app", "push"]);
    let after = company_policy(&server).await;
    assert_eq!(
        after.allowed_methods(),
        MethodSet::of(&[Method::AuthenticatorApp, Method::PushApp])
    );
    assert_eq!(
        after.resend_channels(),
        CodeChannelSet::of(&[CodeChannel::Email]),
        "no re-send by a switched-off phone method, e-mail kept"
    );
    assert!(same_but_methods(&before, &after));

    // Alice has only SMS: one last code by SMS, then another method on the
    // same login, with no "remind me later".
    clock.advance(TimeDelta::seconds(30));
    let reply = alice.log_in("alice", "alice-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = alice.get("/login/2fa").await;
    assert!(page.body.contains(
        "Your company no longer allows this method. After this check you will set up another one."
    ));
    assert!(page.body.contains("id=\"sent-to\""), "challenged by SMS");
    assert!(!page.body.contains("id=\"resend-voice\""), "voice is off");
    let sms = code_from_outbox(&mut alice, "sms").await;
    let reply = alice.enter_code(&sms).await;
    assert_eq!(reply.location(), "/login/2fa", "not in yet");
    let page = alice.get("/login/2fa").await;
    assert!(page.body.contains("Enable two-factor authentication"));
    assert!(
        page.body
            .contains("no longer allows the method you just used")
    );
    assert!(!page.body.contains("id=\"remind-me\""), "no deferral");
    assert!(!page.body.contains("id=\"method-sms\""), "SMS is off");
    assert!(!page.body.contains("id=\"method-voice\""), "voice is off");
    assert!(page.body.contains("id=\"method-app\""));
    assert!(page.body.contains("id=\"method-push\""));
    assert_eq!(alice.get("/home").await.location(), "/login/2fa");
    let reply = alice
        .submit("/login/2fa", "/login/2fa/method", &[("method", "app")])
        .await;
    assert_eq!(reply.location(), "/login/2fa");
    let key = manual_key(&alice.get("/login/2fa").await.body);
    let reply = alice
        .enter_code(&totp_code(&key, server.portal.twofa().now()))
        .await;
    assert_eq!(reply.location(), "/home");

    // Switched back on, SMS and voice bring their re-send channels back.
    let reply = admin
        .submit(
            "/company",
            "/company/methods",
            &[
                ("app", "on"),
                ("push", "on"),
                ("sms", "on"),
                ("voice", "on"),
                ("passkey", "on"),
            ],
        )
        .await;
    assert_eq!(reply.location(), "/company");
    assert_eq!(
        allowed_on(&admin.get("/company").await.body),
        ["app", "push", "sms", "voice", "passkey"]
    );
    assert_eq!(company_policy(&server).await, before);
}

#[tokio::test]
async fn a_methods_form_with_nothing_checked_or_from_a_non_admin_changes_nothing() {
    let server = start_local().await;
    let mut admin = Browser::new(&server);
    enroll_app(&mut admin, &server, "admin", "admin-demo-password").await;
    let before = company_policy(&server).await;

    // Nothing checked: a clear message, nothing changed.
    let reply = admin.submit("/company", "/company/methods", &[]).await;
    assert_eq!(reply.location(), "/company");
    let page = admin.get("/company").await;
    assert!(page.body.contains(
        "Check at least one two-factor method: users need one to sign in. Nothing was changed."
    ));
    assert_eq!(
        allowed_on(&page.body),
        ["app", "push", "sms", "voice", "passkey"]
    );
    assert_eq!(company_policy(&server).await, before);

    // A form the page could not have sent: the uniform refusal.
    let bad: [&[(&str, &str)]; 6] = [
        &[("app", "yes")],
        &[("app", "")],
        &[("sms", "on"), ("sms", "on")],
        &[("email", "on")],
        &[("app", "on"), ("method", "sms")],
        &[("voice", "ON")],
    ];
    for fields in bad {
        let reply = admin.submit("/company", "/company/methods", fields).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{fields:?}");
        assert_eq!(company_policy(&server).await, before, "{fields:?}");
    }
    // The right form without the session's CSRF token.
    let reply = admin
        .post("/company/methods", &[("csrf", ""), ("app", "on")])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // A member posting the form gets the answer of a missing page.
    let mut alice = Browser::new(&server);
    enroll_app(&mut alice, &server, "alice", "alice-demo-password").await;
    let reply = alice
        .submit("/home", "/company/methods", &[("app", "on")])
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(company_policy(&server).await, before);

    // The control: the same form from the administrator is applied.
    let reply = admin
        .submit("/company", "/company/methods", &[("app", "on")])
        .await;
    assert_eq!(reply.location(), "/company");
    assert_ne!(company_policy(&server).await, before);
    assert_eq!(allowed_on(&admin.get("/company").await.body), ["app"]);
}
