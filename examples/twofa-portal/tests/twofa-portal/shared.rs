//! Two portals on one PostgreSQL database, each with its own process
//! state, serving one browser in turn (a load balancer without sticky
//! sessions): sessions, the simulated outbox and the password limits are
//! shared.

use std::net::SocketAddr;

use axum::http::StatusCode;
use chrono::TimeDelta;
use twofa_portal::{CookieSecurity, PortalKeys, PortalOptions};
use twofa_store_postgres::PostgresStores;

use crate::postgres::cluster;
use crate::{Browser, Server, code_from_outbox, manual_key, methods_table, start, totp_code};

/// Two demo portals on a fresh database `name`, with the same keys.
async fn two_servers(name: &str, options: PortalOptions) -> (Server, Server) {
    let url = cluster::Cluster::shared()
        .unwrap()
        .database(name)
        .await
        .unwrap();
    let hex: String = (0..64_u8).map(|i| format!("{:02x}", i ^ 0x3c)).collect();
    let keys = PortalKeys::from_hex(&hex).unwrap();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let database = PostgresStores::connect(&url).await.unwrap();
        database.migrate().await.unwrap();
        let options = options
            .clone()
            .with_cookies(CookieSecurity::PlainHttpLocalhost)
            .with_keys(keys.clone())
            .with_database(database);
        servers.push(start(options).await);
    }
    let second = servers.pop().unwrap();
    let first = servers.pop().unwrap();
    (first, second)
}

/// The browser's partial login shows the set-up screen.
async fn on_the_set_up_screen(browser: &mut Browser) {
    let page = browser.get("/login/2fa").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Enable two-factor authentication"),
        "{}",
        page.body
    );
}

fn addrs(first: &Server, second: &Server) -> [SocketAddr; 2] {
    [first.addr, second.addr]
}

/// Moves both portals' demo clocks (they started at the same instant).
fn advance(servers: [&Server; 2], by: TimeDelta) {
    for server in servers {
        server.portal.demo_clock().unwrap().advance(by);
    }
}

#[tokio::test]
async fn every_request_of_complete_logins_may_reach_either_server() {
    let (first, second) = two_servers("portal_shared_sessions", PortalOptions::new()).await;
    let mut alice = Browser::alternating(&addrs(&first, &second));

    // Password on one server, the set-up screen on the other.
    let reply = alice.log_in("alice", "alice-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
    let reply = alice
        .submit("/login/2fa", "/login/2fa/method", &[("method", "app")])
        .await;
    assert_eq!(reply.location(), "/login/2fa");
    // The QR screen, drawn from the key the session holds, shows the same
    // key on both servers.
    let page = alice.get("/login/2fa").await;
    assert!(page.body.contains("<svg"), "{}", page.body);
    let key = manual_key(&page.body);
    assert_eq!(manual_key(&alice.get("/login/2fa").await.body), key);
    let code = totp_code(&key, first.portal.twofa().now());
    let reply = alice.enter_code(&code).await;
    assert_eq!(reply.location(), "/home");
    // The recovery codes to show once came through the shared session.
    let home = alice.get("/home").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("id=\"recovery-codes\""), "{}", home.body);
    assert!(
        !alice
            .get("/home")
            .await
            .body
            .contains("id=\"recovery-codes\"")
    );

    // A settings change.
    let settings = alice
        .change_setting("/settings/name", &[("name", "Alice Shared")])
        .await;
    assert!(settings.body.contains("value=\"Alice Shared\""));

    // Logout ends the session on both servers.
    let reply = alice.submit("/home", "/logout", &[]).await;
    assert_eq!(reply.location(), "/login");
    assert_eq!(alice.get("/home").await.location(), "/login");
    assert_eq!(alice.get("/home").await.location(), "/login");

    // A later login: challenged, and let in with the next code.
    advance([&first, &second], TimeDelta::seconds(30));
    let reply = alice.log_in("alice", "alice-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = alice.get("/login/2fa").await;
    assert!(page.body.contains("2FA Verification"), "{}", page.body);
    let reply = alice
        .enter_code(&totp_code(&key, second.portal.twofa().now()))
        .await;
    assert_eq!(reply.location(), "/home");
    assert!(alice.get("/settings").await.body.contains("Alice Shared"));
    let reply = alice.submit("/home", "/logout", &[]).await;
    assert_eq!(reply.location(), "/login");

    // Bob sets up text messages: every code is sent by one server and
    // read from the other one's outbox page (the next request).
    let mut bob = Browser::alternating(&addrs(&first, &second));
    let reply = bob.log_in("bob", "bob-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
    let reply = bob.choose_sms("+44 7400 123456").await;
    assert_eq!(reply.location(), "/login/2fa");
    let code = code_from_outbox(&mut bob, "sms").await;
    // The next request, on the first one's peer, lists the same code.
    assert_eq!(code_from_outbox(&mut bob, "sms").await, code);
    // One process sent it; only its own in-process outbox holds it.
    let local = |server: &Server| {
        server
            .portal
            .outbox()
            .sent()
            .iter()
            .filter(|m| matches!(m, twofa::delivery::SentMessage::Sms(_)))
            .count()
    };
    assert_eq!(local(&first) + local(&second), 1);
    let reply = bob.enter_code(&code).await;
    assert_eq!(reply.location(), "/home");
    assert!(methods_table(&bob.get("/settings").await.body).contains("3456"));

    // Both servers took requests, in turn.
    assert_eq!(alice.sent_to, [13, 12]);
    assert_eq!(bob.sent_to, [5, 4]);
}

#[tokio::test]
async fn password_limits_and_the_pre_login_bound_hold_across_servers() {
    let options = PortalOptions::new().with_pre_login_sessions(50);
    let (first, second) = two_servers("portal_shared_limits", options).await;
    let both = addrs(&first, &second);

    // Carol logs in (no second factor set up yet: the set-up screen).
    let mut carol = Browser::alternating(&both);
    let reply = carol.log_in("carol", "carol-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");

    // Five wrong passwords for Bob, alternating servers: each is the
    // plain refusal.
    let mut mallory = Browser::alternating(&both);
    for attempt in 1..=5 {
        let reply = mallory.log_in("bob", "guess").await;
        assert_eq!(reply.location(), "/login", "{attempt}");
        let page = mallory.get("/login").await;
        assert!(
            page.body.contains("The username or password is not right."),
            "{attempt}: {}",
            page.body
        );
    }
    // The sixth, even with the right password and on either server: the
    // lock notice.
    for _ in 0..2 {
        mallory.log_in("bob", "bob-demo-password").await;
        let page = mallory.get("/login").await;
        assert!(
            page.body
                .contains("Too many failed attempts for this account"),
            "{}",
            page.body
        );
    }

    // A flood of cookie-less requests to both servers.
    for n in 0..300 {
        let mut anonymous = Browser::at(both[n % 2]);
        assert_eq!(anonymous.get("/login").await.status, StatusCode::OK);
    }
    let counts = first.portal.session_counts().await.unwrap();
    assert!(counts.pre_login <= 50 + 32 * 2, "{counts:?}");
    assert_eq!(counts.signed_in, 1, "{counts:?}");
    assert_eq!(second.portal.session_counts().await.unwrap(), counts);
    // Carol is still where she was.
    on_the_set_up_screen(&mut carol).await;
}

#[tokio::test]
async fn each_login_step_moves_the_session_to_a_new_identifier_on_both_servers() {
    let (first, second) = two_servers("portal_shared_rotation", PortalOptions::new()).await;
    let both = addrs(&first, &second);
    let mut carol = Browser::alternating(&both);
    assert_eq!(carol.get("/login").await.status, StatusCode::OK);
    let before = carol.cookies.clone();
    assert!(!before.is_empty());
    let reply = carol.log_in("carol", "carol-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
    assert_ne!(carol.cookies, before);
    // Only the moved session is left of this browser's.
    let counts = second.portal.session_counts().await.unwrap();
    assert_eq!(counts.pre_login + counts.signed_in, 1, "{counts:?}");
    // The identifier from before the password is refused by both servers.
    for server in both {
        let mut stale = Browser::at(server);
        stale.cookies = before.clone();
        assert_eq!(stale.get("/login/2fa").await.location(), "/login");
    }
    on_the_set_up_screen(&mut carol).await;
}

#[tokio::test]
async fn the_pre_login_bound_keeps_the_newest_sessions_while_the_clock_stands_still() {
    let options = PortalOptions::new().with_pre_login_sessions(100);
    let (first, second) = two_servers("portal_shared_newest", options).await;
    let both = addrs(&first, &second);
    let anonymous = |count: usize| async move {
        for n in 0..count {
            let mut browser = Browser::at(both[n % 2]);
            assert_eq!(browser.get("/login").await.status, StatusCode::OK);
        }
    };
    // Every session below is created at the same instant of the demo
    // clock.
    anonymous(200).await;
    let mut waiting = Vec::new();
    for n in 0..6 {
        let mut browser = Browser::at(both[n % 2]);
        let csrf = browser.get("/login").await.csrf();
        waiting.push((browser, csrf));
    }
    // Enough newer sessions that each server trims its table after the
    // six, too few to push them out of the newest 100.
    anonymous(66).await;
    let counts = first.portal.session_counts().await.unwrap();
    assert!(counts.pre_login <= 100 + 32 * 2, "{counts:?}");
    for (mut browser, csrf) in waiting {
        let reply = browser
            .post(
                "/login",
                &[
                    ("csrf", csrf.as_str()),
                    ("login", "alice"),
                    ("password", "alice-demo-password"),
                ],
            )
            .await;
        assert_eq!(reply.location(), "/login/2fa");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_floods_on_both_servers_open_every_session_they_ask_for() {
    let options = PortalOptions::new().with_pre_login_sessions(1_000);
    let (first, second) = two_servers("portal_shared_concurrent_flood", options).await;
    let both = addrs(&first, &second);
    // Eight clients at once, half on each server: the servers trim their
    // pre-login rows while the others insert and trim too.
    let floods: Vec<_> = (0..8)
        .map(|n| {
            let addr = both[n % 2];
            tokio::spawn(async move {
                let mut refused = 0;
                let mut anonymous = Browser::at(addr);
                for _ in 0..1_000 {
                    anonymous.cookies.clear();
                    if anonymous.get("/login").await.status != StatusCode::OK
                        || anonymous.cookies.is_empty()
                    {
                        refused += 1;
                    }
                }
                refused
            })
        })
        .collect();
    for flood in floods {
        assert_eq!(flood.await.unwrap(), 0, "every request got its session");
    }
    let counts = first.portal.session_counts().await.unwrap();
    assert!(counts.pre_login <= 1_000 + 32 * 2, "{counts:?}");
}
