//! Limits that protect logins: password attempts per account and per
//! address, and pre-login sessions that can never push a signed-in user
//! out.

use axum::http::StatusCode;
use chrono::TimeDelta;
use twofa_portal::{CookieSecurity, PasswordLimits, PortalOptions};

use crate::{Browser, enroll_app, start};

fn local() -> PortalOptions {
    PortalOptions::new().with_cookies(CookieSecurity::PlainHttpLocalhost)
}

async fn notice_after_login(browser: &mut Browser, login: &str, password: &str) -> String {
    let reply = browser.log_in(login, password).await;
    if reply.location() != "/login" {
        return reply.location().to_owned();
    }
    browser.get("/login").await.body
}

#[tokio::test]
async fn the_sixth_password_attempt_meets_the_lock_until_the_window_ends() {
    let server = start(local()).await;
    let clock = server.portal.demo_clock().unwrap();
    let mut browser = Browser::new(&server);
    for attempt in 1..=5 {
        let page = notice_after_login(&mut browser, "bob", "wrong").await;
        assert!(
            page.contains("The username or password is not right."),
            "{attempt}: {page}"
        );
        assert!(!page.contains("Too many"), "{attempt}");
    }
    // The sixth attempt, with the right password: refused with the notice
    // and the time it ends (15 minutes after the first failure).
    let page = notice_after_login(&mut browser, "bob", "bob-demo-password").await;
    assert!(
        page.contains("Too many failed attempts for this account"),
        "{page}"
    );
    assert!(page.contains("2027-01-15 08:15 UTC"), "{page}");
    // Another browser, the same account: the same lock. Another account
    // from the same address: not locked (5 failures are far below the
    // address ceiling).
    let mut other = Browser::new(&server);
    let page = notice_after_login(&mut other, "BOB ", "bob-demo-password").await;
    assert!(page.contains("Too many failed attempts"), "{page}");
    let reply = other.log_in("alice", "alice-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");

    // One second before the window closes: still locked; at its end: in.
    clock.advance(TimeDelta::minutes(15) - TimeDelta::seconds(1));
    let page = notice_after_login(&mut browser, "bob", "bob-demo-password").await;
    assert!(page.contains("Too many failed attempts"), "{page}");
    clock.advance(TimeDelta::seconds(1));
    let reply = browser.log_in("bob", "bob-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
}

#[tokio::test]
async fn a_correct_password_before_the_limit_starts_the_count_again() {
    let server = start(local()).await;
    let mut browser = Browser::new(&server);
    for _ in 0..4 {
        notice_after_login(&mut browser, "carol", "wrong").await;
    }
    let reply = browser.log_in("carol", "carol-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
    let mut again = Browser::new(&server);
    for attempt in 1..=5 {
        let page = notice_after_login(&mut again, "carol", "wrong").await;
        assert!(page.contains("is not right"), "{attempt}: {page}");
    }
    let page = notice_after_login(&mut again, "carol", "carol-demo-password").await;
    assert!(page.contains("Too many failed attempts"), "{page}");
}

#[tokio::test]
async fn an_address_meets_its_ceiling_across_accounts() {
    let limits = PasswordLimits::new().with_per_address(3);
    let server = start(local().with_password_limits(limits)).await;
    let mut browser = Browser::new(&server);
    for login in ["alice", "bob", "nobody"] {
        let page = notice_after_login(&mut browser, login, "wrong").await;
        assert!(page.contains("is not right"), "{login}: {page}");
    }
    let page = notice_after_login(&mut browser, "carol", "carol-demo-password").await;
    assert!(
        page.contains("Too many failed attempts from your network"),
        "{page}"
    );
}

#[tokio::test]
async fn a_flood_of_cookie_less_requests_leaves_logged_in_users_logged_in() {
    let server = start(local().with_pre_login_sessions(100)).await;
    let mut alice = Browser::new(&server);
    enroll_app(&mut alice, &server, "alice", "alice-demo-password").await;
    let mut carol = Browser::new(&server);
    assert_eq!(
        carol
            .log_in("carol", "carol-demo-password")
            .await
            .location(),
        "/login/2fa"
    );
    // Someone opened a login form before the flood.
    let mut early = Browser::new(&server);
    let early_csrf = early.get("/login").await.csrf();

    for _ in 0..2_000 {
        let reply = Browser::new(&server).get("/login").await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let counts = server.portal.session_counts().await.unwrap();
    assert_eq!(counts.pre_login, 100, "bounded: {counts:?}");
    assert_eq!(counts.signed_in, 2, "{counts:?}");
    assert_eq!(alice.get("/home").await.status, StatusCode::OK);
    assert_eq!(carol.get("/login/2fa").await.status, StatusCode::OK);
    // The oldest pre-login session made room: its form is refused (a
    // reload gives a new one).
    let reply = early
        .post(
            "/login",
            &[
                ("csrf", &early_csrf),
                ("login", "bob"),
                ("password", "bob-demo-password"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}
