//! Logging in with a second factor: push approval, and methods switched off
//! by the company or swapped with "use another method".

use axum::http::StatusCode;
use chrono::TimeDelta;

use crate::{
    Browser, code_from_outbox, company_allows, enroll, enroll_app, methods_table, outbox_len,
    start_local, totp_code,
};

#[tokio::test]
async fn a_push_approved_with_the_wrong_number_does_not_log_in() {
    let server = start_local().await;
    let mut browser = Browser::new(&server);
    enroll(&mut browser, &server, "bob", "bob-demo-password", "push").await;
    browser.submit("/home", "/logout", &[]).await;
    server
        .portal
        .demo_clock()
        .unwrap()
        .advance(TimeDelta::seconds(30));
    browser.log_in("bob", "bob-demo-password").await;
    let reply = browser.submit("/login/2fa", "/login/2fa/push", &[]).await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = browser.get("/login/2fa").await;
    let shown: u8 = {
        let marker = "id=\"match-number\">";
        let start = page.body.find(marker).unwrap() + marker.len();
        let end = page.body[start..].find('<').unwrap();
        page.body[start..start + end].parse().unwrap()
    };
    assert!(
        page.body.contains("/static/push.js"),
        "the poller is a file"
    );
    let prompt = server
        .portal
        .outbox()
        .sent()
        .into_iter()
        .find_map(|message| match message {
            twofa::delivery::SentMessage::Push(push) => Some(push),
            _ => None,
        })
        .unwrap();
    assert_eq!(prompt.client_address, Some("127.0.0.1".parse().unwrap()));
    let wrong = format!("{:02}", (shown + 1) % 100);
    let request = prompt.request.to_string();
    let reply = browser
        .submit(
            "/device/phone",
            "/device/phone",
            &[
                ("user", "bob"),
                ("request", &request),
                ("answer", "approve"),
                ("number", &wrong),
            ],
        )
        .await;
    assert_eq!(reply.location(), "/device/phone");
    // The poller's request: no login.
    let csrf = browser.get("/login/2fa").await.csrf();
    let reply = browser
        .post("/login/2fa/push/poll", &[("csrf", &csrf)])
        .await;
    assert_eq!(reply.location(), "/login/2fa", "not let in");
    let page = browser.get("/login/2fa").await;
    assert!(
        page.body.contains("was not approved"),
        "denied, not waiting"
    );
    assert!(
        page.body.contains("id=\"send-push\""),
        "a new push may be sent"
    );
    assert_eq!(browser.get("/home").await.location(), "/login/2fa");
}

/// The method ids of the "use another method" forms on a page, with the
/// text of their buttons.
fn other_methods_on(page: &str) -> Vec<(String, String)> {
    let Some(start) = page.find("id=\"other-methods\"") else {
        return Vec::new();
    };
    let section = &page[start..];
    let section = &section[..section.find("</div>").unwrap()];
    section
        .split("name=\"method\" value=\"")
        .skip(1)
        .map(|rest| {
            let id = rest[..rest.find('"').unwrap()].to_owned();
            let label_start = rest.find("class=\"link\">").unwrap() + "class=\"link\">".len();
            let label =
                rest[label_start..label_start + rest[label_start..].find('<').unwrap()].to_owned();
            (id, label)
        })
        .collect()
}

#[tokio::test]
async fn a_switched_off_method_is_challenged_then_replaced_and_either_method_may_answer() {
    use twofa::types::{Method, MethodSet};

    let server = start_local().await;
    let clock = server.portal.demo_clock().unwrap();
    let mut bob = Browser::new(&server);
    let key = enroll_app(&mut bob, &server, "bob", "bob-demo-password").await;
    bob.submit("/home", "/logout", &[]).await;

    // The company switches the authenticator app off: Bob proves it is him
    // with the app one last time, then must set up another method on the
    // same login, with no "remind me later".
    company_allows(&server, MethodSet::all().without(Method::AuthenticatorApp)).await;
    clock.advance(TimeDelta::seconds(30));
    let reply = bob.log_in("bob", "bob-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = bob.get("/login/2fa").await;
    assert!(page.body.contains("2FA Verification"));
    assert!(page.body.contains(
        "Your company no longer allows this method. After this check you will set up another one."
    ));
    assert!(other_methods_on(&page.body).is_empty(), "only one method");
    let code = totp_code(&key, server.portal.twofa().now());
    let before = bob.cookie("portal").unwrap().clone();
    let reply = bob.enter_code(&code).await;
    assert_eq!(reply.location(), "/login/2fa", "not in yet");
    assert_ne!(bob.cookie("portal").unwrap(), &before, "rotated");
    let page = bob.get("/login/2fa").await;
    assert!(page.body.contains("Enable two-factor authentication"));
    assert!(
        page.body
            .contains("no longer allows the method you just used")
    );
    assert!(!page.body.contains("id=\"remind-me\""), "no deferral");
    assert!(!page.body.contains("id=\"method-app\""), "the app is off");
    assert!(page.body.contains("id=\"method-sms\""));
    assert_eq!(bob.get("/home").await.location(), "/login/2fa");

    let reply = bob.choose_sms("+44 7400 123456").await;
    assert_eq!(reply.location(), "/login/2fa");
    let sms = code_from_outbox(&mut bob, "sms").await;
    let reply = bob.enter_code(&sms).await;
    assert_eq!(reply.location(), "/home");
    let methods = methods_table(&bob.get("/settings").await.body);
    assert!(methods.contains("authenticator app"), "kept: {methods}");
    assert!(methods.contains("3456"), "added: {methods}");

    // The app is allowed again: Bob has two methods, is challenged with
    // the first and may switch to the other on the same screen.
    company_allows(&server, MethodSet::all()).await;
    bob.submit("/home", "/logout", &[]).await;
    clock.advance(TimeDelta::seconds(30));
    bob.log_in("bob", "bob-demo-password").await;
    let page = bob.get("/login/2fa").await;
    assert!(
        page.body
            .contains("Enter the code shown by your authenticator app")
    );
    assert!(!page.body.contains("id=\"then-set-up\""));
    let others = other_methods_on(&page.body);
    assert_eq!(others.len(), 1, "{others:?}");
    let (sms_id, label) = &others[0];
    assert!(
        label.starts_with("Text message to +44") && label.ends_with("3456"),
        "{label}"
    );
    assert!(!label.contains("7400"), "masked: {label}");

    // Anything but the exact id of an offered method: the uniform refusal
    // for a form the page could not have sent, and nothing changes.
    let sent = outbox_len(&mut bob).await;
    for bad in ["", "sms", "+1", "01", " 1", "1 ", "-1", "4294967296", "1.0"] {
        let reply = bob.switch_to(bad).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{bad:?}");
    }
    // A well-formed id that is not one of Bob's methods.
    let reply = bob
        .submit("/login/2fa", "/login/2fa/switch", &[("method", "4000")])
        .await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = bob.get("/login/2fa").await;
    assert!(
        page.body
            .contains("That method cannot be used for this login")
    );
    assert!(
        page.body
            .contains("Enter the code shown by your authenticator app")
    );
    assert_eq!(outbox_len(&mut bob).await, sent, "nothing sent");

    let reply = bob.switch_to(sms_id).await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = bob.get("/login/2fa").await;
    assert!(page.body.contains("We sent a code to +44"), "flash");
    assert!(page.body.contains("id=\"sent-to\""));
    assert!(page.body.contains("id=\"resend-voice\""), "phone re-sends");
    let others = other_methods_on(&page.body);
    assert_eq!(others.len(), 1, "{others:?}");
    assert_eq!(others[0].1, "Authenticator app");
    assert_eq!(outbox_len(&mut bob).await, sent + 1, "one code sent");
    // The app's code is no longer the answer of this login: the SMS is.
    let sms = code_from_outbox(&mut bob, "sms").await;
    let reply = bob.enter_code(&sms).await;
    assert_eq!(reply.location(), "/home");

    // Back and forth: the next login switches to the text message, then
    // back to the app, and is answered with the app's code.
    bob.submit("/home", "/logout", &[]).await;
    clock.advance(TimeDelta::seconds(30));
    bob.log_in("bob", "bob-demo-password").await;
    bob.switch_to(sms_id).await;
    let page = bob.get("/login/2fa").await;
    let (app_id, _) = other_methods_on(&page.body).remove(0);
    let reply = bob.switch_to(&app_id).await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = bob.get("/login/2fa").await;
    assert!(
        page.body
            .contains("Enter the code shown by your authenticator app")
    );
    let code = totp_code(&key, server.portal.twofa().now());
    let reply = bob.enter_code(&code).await;
    assert_eq!(reply.location(), "/home");
}

#[tokio::test]
async fn remind_me_in_48_hours_says_until_when_two_factor_authentication_is_postponed() {
    let server = start_local().await;
    let mut browser = Browser::new(&server);
    browser.log_in("bob", "bob-demo-password").await;
    let reply = browser.submit("/login/2fa", "/login/2fa/defer", &[]).await;
    assert_eq!(reply.location(), "/home");
    let home = browser.get("/home").await;
    assert!(home.body.contains("postponed until"), "{}", home.body);
    assert!(
        !home.body.contains("authentication complete"),
        "{}",
        home.body
    );
}
