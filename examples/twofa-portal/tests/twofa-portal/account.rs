//! The user's settings: name, recovery codes, and changes that need a fresh
//! second factor.

use axum::http::StatusCode;
use chrono::TimeDelta;

use crate::{
    Browser, code_from_outbox, enroll_app, enroll_sms, methods_table, outbox_len, start_local,
};

/// What the settings page says when a change needs a fresher second
/// factor (the portal's step-up window is the default 10 minutes).
const SIGN_IN_AGAIN: &str = "For your security, confirm that it is you to make this change: your last two-factor check was more than 10 minutes ago.";

#[tokio::test]
async fn the_name_used_for_2fa_can_be_changed_and_bad_names_are_refused() {
    let server = start_local().await;
    let mut browser = Browser::new(&server);
    enroll_app(&mut browser, &server, "bob", "bob-demo-password").await;
    let page = browser
        .change_setting("/settings/name", &[("name", "Robert Tech")])
        .await;
    assert!(page.body.contains("value=\"Robert Tech\""));
    assert!(page.body.contains("Your name was saved"));
    let page = browser
        .change_setting("/settings/name", &[("name", "Robert: Tech")])
        .await;
    assert!(page.body.contains("cannot be used"));
    assert!(page.body.contains("value=\"Robert Tech\""), "unchanged");
}

/// The recovery codes listed on a page (`<ul class="codes">`).
fn codes_on(page: &str) -> Vec<String> {
    let marker = "<ul class=\"codes\">";
    let Some(start) = page.find(marker) else {
        return Vec::new();
    };
    let list = &page[start + marker.len()..];
    let list = &list[..list.find("</ul>").unwrap()];
    list.split("<li>")
        .filter_map(|item| item.split_once("</li>").map(|(code, _)| code.to_owned()))
        .collect()
}

#[tokio::test]
async fn new_recovery_codes_are_shown_once_and_replace_the_old_ones() {
    let server = start_local().await;
    let mut browser = Browser::new(&server);
    enroll_app(&mut browser, &server, "bob", "bob-demo-password").await;
    let old = codes_on(&browser.get("/home").await.body);
    assert_eq!(old.len(), 10);

    // Without the confirmation box nothing happens.
    let page = browser
        .change_setting("/settings/recovery-codes", &[])
        .await;
    assert!(page.body.contains("Nothing changed"));
    assert!(codes_on(&page.body).is_empty());

    let page = browser
        .change_setting("/settings/recovery-codes", &[("confirm", "yes")])
        .await;
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(page.body.contains("your old codes no longer work"));
    assert!(page.body.contains("10 of 10 recovery codes unused."));
    let new = codes_on(&page.body);
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|code| !old.contains(code)));
    assert!(
        codes_on(&browser.get("/settings").await.body).is_empty(),
        "shown once"
    );

    // Eleven minutes later the second factor is no longer recent.
    server
        .portal
        .demo_clock()
        .unwrap()
        .advance(TimeDelta::minutes(11));
    let page = browser
        .change_setting("/settings/recovery-codes", &[("confirm", "yes")])
        .await;
    assert!(page.body.contains(SIGN_IN_AGAIN), "{}", page.body);
    assert!(page.body.contains("id=\"sign-in-again-button\""));
    assert!(codes_on(&page.body).is_empty());

    // An old code is refused at login, a new one (still the current set)
    // is accepted.
    browser.submit("/settings", "/logout", &[]).await;
    browser.log_in("bob", "bob-demo-password").await;
    let reply = browser
        .submit("/login/2fa", "/login/2fa/recovery", &[("code", &old[0])])
        .await;
    assert_eq!(reply.location(), "/login/2fa");
    assert_eq!(browser.get("/home").await.location(), "/login/2fa");
    let reply = browser
        .submit("/login/2fa", "/login/2fa/recovery", &[("code", &new[0])])
        .await;
    assert_eq!(reply.location(), "/home");
    let page = browser.get("/settings").await;
    assert!(page.body.contains("9 of 10 recovery codes unused."));
}

#[tokio::test]
async fn a_stale_second_factor_refuses_a_number_change_and_offers_to_sign_in_again() {
    let server = start_local().await;
    let clock = server.portal.demo_clock().unwrap();
    // Both set up at the same instant.
    let mut alice = Browser::new(&server);
    enroll_sms(&mut alice, "alice", "+44 7400 123456").await;
    let mut bob = Browser::new(&server);
    enroll_sms(&mut bob, "bob", "+44 7400 222333").await;

    // One second inside the 10-minute window: the change starts.
    clock.advance(TimeDelta::minutes(10) - TimeDelta::seconds(1));
    let page = alice
        .change_setting("/settings/phone", &[("number", "+44 7400 654321")])
        .await;
    assert!(page.body.contains("We sent a code to"), "fresh enough");
    assert!(page.body.contains("id=\"confirm-code\""));

    // At the exact end of the window: refused, explained, nothing changed,
    // and Bob stays logged in.
    clock.advance(TimeDelta::seconds(1));
    let sent = outbox_len(&mut bob).await;
    let page = bob
        .change_setting("/settings/phone", &[("number", "+44 7400 999888")])
        .await;
    assert!(page.body.contains(SIGN_IN_AGAIN), "{}", page.body);
    assert!(page.body.contains("id=\"sign-in-again-button\""));
    assert!(
        !page.body.contains("id=\"confirm-code\""),
        "no change started"
    );
    let methods = methods_table(&page.body);
    assert!(
        methods.contains("2333") && !methods.contains("9888"),
        "{methods}"
    );
    assert_eq!(outbox_len(&mut bob).await, sent, "no code sent");
    let page = bob.get("/settings").await;
    assert!(
        !page.body.contains("id=\"sign-in-again-button\""),
        "offered once"
    );
    assert_eq!(bob.get("/home").await.status, StatusCode::OK, "still in");

    // One second later, new recovery codes are refused the same way.
    clock.advance(TimeDelta::seconds(1));
    let page = bob
        .change_setting("/settings/recovery-codes", &[("confirm", "yes")])
        .await;
    assert!(page.body.contains(SIGN_IN_AGAIN));
    assert!(codes_on(&page.body).is_empty());

    // "Sign in again": the session ends, the login page follows, and with
    // a fresh second factor the change goes through.
    let reply = bob.submit("/settings", "/logout", &[]).await;
    assert_eq!(reply.location(), "/login");
    assert_eq!(bob.get("/settings").await.location(), "/login");
    bob.log_in("bob", "bob-demo-password").await;
    let code = code_from_outbox(&mut bob, "sms").await;
    let reply = bob.enter_code(&code).await;
    assert_eq!(reply.location(), "/home");
    let page = bob
        .change_setting("/settings/phone", &[("number", "+44 7400 999888")])
        .await;
    assert!(page.body.contains("We sent a code to"), "{}", page.body);
    let code = code_from_outbox(&mut bob, "sms").await;
    bob.submit("/settings", "/settings/phone/confirm", &[("code", &code)])
        .await;
    let methods = methods_table(&bob.get("/settings").await.body);
    assert!(
        methods.contains("9888") && !methods.contains("2333"),
        "{methods}"
    );
}
