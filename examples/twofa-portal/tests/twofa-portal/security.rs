//! Security properties of every page: headers, cookies, CSRF tokens,
//! uniform refusals, session identifiers and single-use codes.

use axum::http::StatusCode;
use chrono::TimeDelta;
use twofa_portal::{CookieSecurity, PortalOptions};

use crate::{Browser, enroll_app, manual_key, start, start_local, totp_code};

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let server = start_local().await;
    let mut browser = Browser::new(&server);
    for path in [
        "/login",
        "/device/outbox",
        "/no-such-page",
        "/static/portal.css",
    ] {
        let reply = browser.get(path).await;
        let csp = reply.header("content-security-policy");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(reply.header("x-frame-options"), "DENY", "{path}");
        assert_eq!(reply.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(reply.header("referrer-policy"), "no-referrer", "{path}");
    }
    assert_eq!(
        browser.get("/login").await.header("cache-control"),
        "no-store"
    );
    let page = browser.get("/login").await;
    assert!(!page.body.contains("<script>"), "no inline script");
    assert!(!page.body.contains("style="), "no inline style");
}

#[tokio::test]
async fn cookies_are_http_only_same_site_strict_and_secure_off_localhost() {
    let local = start_local().await;
    let reply = Browser::new(&local).get("/login").await;
    let cookie = reply.header("set-cookie");
    assert!(cookie.starts_with("portal="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback: {cookie}"
    );

    let secure = start(PortalOptions::new()).await;
    let reply = Browser::new(&secure).get("/login").await;
    let cookie = reply.header("set-cookie");
    assert!(cookie.starts_with("__Host-portal="), "{cookie}");
    assert!(cookie.contains("; Secure") && cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Strict") && cookie.contains("Path=/;"));
    assert!(!reply.header("strict-transport-security").is_empty());
}

#[test]
fn plain_http_is_the_default_only_on_loopback() {
    let at = |text: &str| CookieSecurity::default_for(text.parse().unwrap());
    assert_eq!(at("127.0.0.1:8080"), CookieSecurity::PlainHttpLocalhost);
    assert_eq!(at("[::1]:8080"), CookieSecurity::PlainHttpLocalhost);
    assert_eq!(at("0.0.0.0:8080"), CookieSecurity::Secure);
    assert_eq!(at("192.0.2.10:443"), CookieSecurity::Secure);
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let server = start_local().await;
    let mut browser = Browser::new(&server);
    let page = browser.get("/login").await;
    let good = page.csrf();
    let mut tampered = good.clone();
    tampered.replace_range(0..1, if good.starts_with('0') { "1" } else { "0" });
    for csrf in ["", tampered.as_str()] {
        let reply = browser
            .post(
                "/login",
                &[
                    ("csrf", csrf),
                    ("login", "admin"),
                    ("password", "admin-demo-password"),
                ],
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "csrf {csrf:?}");
    }
    // A token from another session is refused too.
    let mut other = Browser::new(&server);
    let foreign = other.get("/login").await.csrf();
    let reply = browser
        .post(
            "/login",
            &[
                ("csrf", &foreign),
                ("login", "admin"),
                ("password", "admin-demo-password"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // The right one is accepted.
    let reply = browser
        .post(
            "/login",
            &[
                ("csrf", &good),
                ("login", "admin"),
                ("password", "admin-demo-password"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/login/2fa");
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_answer() {
    let server = start_local().await;
    let mut browser = Browser::new(&server);
    let mut messages = Vec::new();
    for (login, password) in [("admin", "wrong"), ("nobody", "wrong"), ("admin", "")] {
        let reply = browser.log_in(login, password).await;
        assert_eq!(reply.location(), "/login");
        let page = browser.get("/login").await;
        let start = page.body.find("id=\"notice\"").unwrap();
        messages.push(page.body[start..start + 80].to_owned());
    }
    assert!(messages.windows(2).all(|w| w[0] == w[1]), "{messages:?}");
}

#[tokio::test]
async fn the_session_identifier_changes_at_each_authentication_step() {
    let server = start_local().await;
    let mut browser = Browser::new(&server);
    browser.get("/login").await;
    let anonymous = browser.cookie("portal").unwrap().clone();
    let reply = browser.log_in("alice", "alice-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
    let partial = browser.cookie("portal").unwrap().clone();
    assert_ne!(anonymous, partial);

    // The pre-login identifier is dead.
    let mut fixated = Browser::new(&server);
    fixated.cookies.insert("portal".into(), anonymous);
    assert_eq!(fixated.get("/login/2fa").await.location(), "/login");

    let reply = browser
        .submit("/login/2fa", "/login/2fa/method", &[("method", "app")])
        .await;
    assert_eq!(reply.location(), "/login/2fa");
    let key = manual_key(&browser.get("/login/2fa").await.body);
    let code = totp_code(&key, server.portal.twofa().now());
    let reply = browser.enter_code(&code).await;
    assert_eq!(reply.location(), "/home");
    let full = browser.cookie("portal").unwrap().clone();
    assert_ne!(partial, full);
    let mut stale = Browser::new(&server);
    stale.cookies.insert("portal".into(), partial);
    assert_eq!(stale.get("/home").await.location(), "/login");
}

#[tokio::test]
async fn a_half_logged_in_session_reaches_only_the_second_factor_screens() {
    let server = start_local().await;
    let mut browser = Browser::new(&server);
    let reply = browser.log_in("admin", "admin-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
    for path in [
        "/home",
        "/settings",
        "/company",
        "/company/status",
        "/company/status.csv",
        "/login",
        "/",
    ] {
        let reply = browser.get(path).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(reply.location(), "/login/2fa", "{path}");
    }
    let page = browser.get("/login/2fa").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("cache-control"), "no-store");
    // Admin actions are not reachable either, even with a valid token.
    let csrf = page.csrf();
    let reply = browser
        .post("/company/enforce", &[("csrf", &csrf), ("confirmed", "yes")])
        .await;
    assert_eq!(reply.location(), "/login/2fa");
    let company = server
        .portal
        .twofa()
        .stores()
        .companies()
        .load(&twofa::types::CompanyId::new(twofa_portal::DEMO_COMPANY).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!company.record.settings().is_enforced());
}

#[tokio::test]
async fn an_authenticator_code_is_accepted_once_and_a_replay_is_refused() {
    let server = start_local().await;
    let mut browser = Browser::new(&server);
    let key = enroll_app(&mut browser, &server, "bob", "bob-demo-password").await;
    let home = browser.get("/home").await;
    assert!(
        home.body.contains("id=\"recovery-codes\""),
        "codes shown once"
    );
    assert!(
        !browser
            .get("/home")
            .await
            .body
            .contains("id=\"recovery-codes\"")
    );

    // Log out, 30 seconds later log in again: challenged.
    browser.submit("/home", "/logout", &[]).await;
    server
        .portal
        .demo_clock()
        .unwrap()
        .advance(TimeDelta::seconds(30));
    let reply = browser.log_in("bob", "bob-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = browser.get("/login/2fa").await;
    assert!(page.body.contains("2FA Verification"));
    let code = totp_code(&key, server.portal.twofa().now());
    let reply = browser.enter_code(&code).await;
    assert_eq!(reply.location(), "/home");

    // The same code in a second login is refused.
    browser.submit("/home", "/logout", &[]).await;
    browser.log_in("bob", "bob-demo-password").await;
    let reply = browser.enter_code(&code).await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = browser.get("/login/2fa").await;
    assert!(
        page.body.contains("That code is not right"),
        "replay refused"
    );
    assert_eq!(browser.get("/home").await.location(), "/login/2fa");
}

#[tokio::test]
async fn the_device_pages_have_their_own_session_and_csrf_token() {
    let server = start_local().await;
    let mut browser = Browser::new(&server);
    let clock = browser.get("/device/clock").await;
    assert!(browser.cookie("device").is_some());
    assert!(browser.cookie("portal").is_none(), "no login session");
    let before = server.portal.twofa().now();
    let reply = browser
        .post("/device/clock", &[("csrf", "0"), ("hours", "48")])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(server.portal.twofa().now(), before);
    let reply = browser
        .post("/device/clock", &[("csrf", &clock.csrf()), ("hours", "48")])
        .await;
    assert_eq!(reply.location(), "/device/clock");
    assert_eq!(server.portal.twofa().now(), before + TimeDelta::hours(48));
}
