//! Passkeys over HTTP: set up at login and in the settings, answering a
//! login, refusals (another origin, a malformed answer, an answer without
//! a ceremony, a form without the CSRF token), and the company's
//! "require a phishing-resistant method". The browser answers come from
//! `twofa-passkey`'s software authenticator; the browser walks do the same
//! with Chromium's virtual authenticator.

use axum::http::StatusCode;
use twofa::enforcement::PhishingResistance;
use twofa::types::UserId;
use twofa_passkey::SoftAuthenticator;

use crate::company::company_policy;
use crate::{Browser, Reply, Server, enroll_app, methods_table, start_with_passkeys};

/// Reads back what the page escaped into an attribute.
fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The options JSON in the page's `data-passkey-create` or
/// `data-passkey-get` attribute.
fn options_on(page: &str, attribute: &str) -> Option<String> {
    let marker = format!("{attribute}=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')?;
    Some(unescape(&page[start..start + end]))
}

fn create_options(page: &Reply) -> String {
    options_on(&page.body, "data-passkey-create").expect("passkey creation options on the page")
}

fn get_options(page: &Reply) -> String {
    options_on(&page.body, "data-passkey-get").expect("passkey request options on the page")
}

/// The version of `login`'s stored record: it moves with every change.
async fn record_version(server: &Server, login: &str) -> String {
    let user = UserId::new(login).unwrap();
    let loaded = server.portal.twofa().stores().users().load(&user).await;
    format!("{:?}", loaded.unwrap().unwrap().version)
}

async fn audit_len(server: &Server) -> usize {
    let audit = server.portal.twofa().stores().audit().clone();
    audit.read(0, 10_000).await.unwrap().len()
}

/// Logs `login` in and chooses a passkey named `name` on the set-up
/// screen; returns the passkey page.
async fn choose_passkey(browser: &mut Browser, login: &str, name: &str) -> Reply {
    let password = format!("{login}-demo-password");
    let reply = browser.log_in(login, &password).await;
    assert_eq!(reply.location(), "/login/2fa");
    let setup = browser.get("/login/2fa").await;
    assert!(
        setup
            .body
            .contains("Passkey (security key, phone or computer)"),
        "the set-up screen offers a passkey"
    );
    assert!(setup.body.contains("id=\"passkey-name\""));
    let reply = browser
        .submit(
            "/login/2fa",
            "/login/2fa/method",
            &[("method", "passkey"), ("name", name)],
        )
        .await;
    assert_eq!(reply.location(), "/login/2fa");
    browser.get("/login/2fa").await
}

/// Posts the browser's answer from the page at `page` to `action`.
async fn answer(browser: &mut Browser, page: &str, action: &str, response: &str) -> Reply {
    browser
        .submit(page, action, &[("response", response)])
        .await
}

/// Sets up a passkey for `login` at its first login; returns the
/// authenticator holding it (the user is logged in).
async fn enroll_passkey(browser: &mut Browser, server: &Server, login: &str) -> SoftAuthenticator {
    let page = choose_passkey(browser, login, "Work laptop").await;
    let mut authenticator = SoftAuthenticator::new();
    let response = authenticator
        .create_json(&server.localhost_origin(), &create_options(&page))
        .unwrap();
    let reply = answer(browser, "/login/2fa", "/login/2fa/passkey", &response).await;
    assert_eq!(reply.location(), "/home");
    authenticator
}

#[tokio::test]
async fn a_passkey_set_up_at_login_answers_the_next_login() {
    let server = start_with_passkeys().await;
    let mut browser = Browser::new(&server);
    let page = choose_passkey(&mut browser, "bob", "Work laptop").await;
    // The options go to the script in an escaped attribute; the script is
    // a file (the CSP forbids inline script).
    assert!(
        page.body
            .contains("<script src=\"/static/passkey.js\" defer></script>")
    );
    assert!(!page.body.contains("<script>"));
    assert!(
        page.body
            .contains("data-passkey-create=\"{&#34;publicKey&#34;")
    );
    let mut authenticator = SoftAuthenticator::new();
    let response = authenticator
        .create_json(&server.localhost_origin(), &create_options(&page))
        .unwrap();
    let reply = answer(&mut browser, "/login/2fa", "/login/2fa/passkey", &response).await;
    assert_eq!(reply.location(), "/home");
    let home = browser.get("/home").await;
    assert!(
        home.body.contains("id=\"recovery-codes\""),
        "first method: recovery codes"
    );
    let settings = browser.get("/settings").await;
    let table = methods_table(&settings.body);
    assert!(
        table.contains("passkey") && table.contains("Work laptop"),
        "{table}"
    );
    assert!(table.contains("last used 2027-01-15 08:00 UTC"), "{table}");
    let script = browser.get("/static/passkey.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.header("content-type").starts_with("text/javascript"));
    assert!(script.body.contains("navigator.credentials.get"));

    browser.submit("/home", "/logout", &[]).await;
    server
        .portal
        .demo_clock()
        .unwrap()
        .advance(chrono::TimeDelta::hours(1));
    browser.log_in("bob", "bob-demo-password").await;
    let challenge = browser.get("/login/2fa").await;
    assert!(challenge.body.contains("id=\"use-passkey\""));
    assert!(!challenge.body.contains("id=\"code\""), "nothing to type");
    let response = authenticator
        .get_json(&server.localhost_origin(), &get_options(&challenge))
        .unwrap();
    let reply = answer(&mut browser, "/login/2fa", "/login/2fa/passkey", &response).await;
    assert_eq!(reply.location(), "/home");
    let table = methods_table(&browser.get("/settings").await.body);
    assert!(table.contains("last used 2027-01-15 09:00 UTC"), "{table}");
}

#[tokio::test]
async fn an_answer_from_another_origin_is_refused_and_try_again_starts_a_new_ceremony() {
    let server = start_with_passkeys().await;
    let mut browser = Browser::new(&server);
    let mut authenticator = enroll_passkey(&mut browser, &server, "bob").await;
    browser.submit("/home", "/logout", &[]).await;
    browser.log_in("bob", "bob-demo-password").await;
    let challenge = browser.get("/login/2fa").await;
    let look_alike = format!("http://localhost:{}", server.addr.port() + 1);
    let response = authenticator
        .get_json(&look_alike, &get_options(&challenge))
        .unwrap();
    let reply = answer(&mut browser, "/login/2fa", "/login/2fa/passkey", &response).await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = browser.get("/login/2fa").await;
    assert!(
        page.body
            .contains("Your passkey was not accepted: try again, or use another method."),
        "{}",
        page.body
    );
    // The ceremony is over: no options, a "try again" button.
    assert!(options_on(&page.body, "data-passkey-get").is_none());
    assert!(page.body.contains("id=\"passkey-retry\""));
    // The right answer to the old challenge is refused too.
    let stale = authenticator
        .get_json(&server.localhost_origin(), &get_options(&challenge))
        .unwrap();
    let reply = answer(&mut browser, "/login/2fa", "/login/2fa/passkey", &stale).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "no ceremony is open");

    let reply = browser
        .submit("/login/2fa", "/login/2fa/passkey/retry", &[])
        .await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = browser.get("/login/2fa").await;
    let fresh = get_options(&page);
    assert_ne!(fresh, get_options(&challenge), "a new challenge");
    let response = authenticator
        .get_json(&server.localhost_origin(), &fresh)
        .unwrap();
    let reply = answer(&mut browser, "/login/2fa", "/login/2fa/passkey", &response).await;
    assert_eq!(reply.location(), "/home");
}

#[tokio::test]
async fn a_malformed_answer_changes_nothing_and_the_ceremony_stays_open() {
    let server = start_with_passkeys().await;
    let mut browser = Browser::new(&server);
    let page = choose_passkey(&mut browser, "bob", "Work laptop").await;
    let options = create_options(&page);
    let version = record_version(&server, "bob").await;
    let entries = audit_len(&server).await;
    for malformed in [
        "",
        "{not json",
        "[]",
        r#"{"id":"abc","rawId":"abc","type":"public-key","response":{}}"#,
        r#"{"id":"a+b=","rawId":"abc","type":"public-key","response":{"attestationObject":"o2Nm","clientDataJSON":"eyJ9"}}"#,
    ] {
        let reply = answer(&mut browser, "/login/2fa", "/login/2fa/passkey", malformed).await;
        assert_eq!(reply.location(), "/login/2fa", "{malformed}");
        let page = browser.get("/login/2fa").await;
        assert!(
            page.body
                .contains("answer could not be read, and nothing was changed"),
            "{malformed}"
        );
        assert_eq!(create_options(&page), options, "the same ceremony");
    }
    assert_eq!(record_version(&server, "bob").await, version, "no change");
    // Each refusal is in the audit log; nothing else is.
    assert_eq!(audit_len(&server).await, entries + 5, "only the refusals");
    // The ceremony still takes the real answer.
    let response = SoftAuthenticator::new()
        .create_json(&server.localhost_origin(), &options)
        .unwrap();
    let reply = answer(&mut browser, "/login/2fa", "/login/2fa/passkey", &response).await;
    assert_eq!(reply.location(), "/home");

    // At a login's challenge as well.
    let mut authenticator = SoftAuthenticator::new();
    let added = add_passkey(&mut browser, &server, &mut authenticator, "Key").await;
    assert!(added.contains("The passkey is added"), "{added}");
    browser.submit("/home", "/logout", &[]).await;
    browser.log_in("bob", "bob-demo-password").await;
    let challenge = browser.get("/login/2fa").await;
    let version = record_version(&server, "bob").await;
    let reply = answer(&mut browser, "/login/2fa", "/login/2fa/passkey", "{}").await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = browser.get("/login/2fa").await;
    assert_eq!(get_options(&page), get_options(&challenge));
    assert_eq!(record_version(&server, "bob").await, version);
    let response = authenticator
        .get_json(&server.localhost_origin(), &get_options(&page))
        .unwrap();
    let reply = answer(&mut browser, "/login/2fa", "/login/2fa/passkey", &response).await;
    assert_eq!(reply.location(), "/home");
}

/// Adds a passkey named `name` on the settings page with `authenticator`;
/// returns the settings page after it.
async fn add_passkey(
    browser: &mut Browser,
    server: &Server,
    authenticator: &mut SoftAuthenticator,
    name: &str,
) -> String {
    let page = browser
        .change_setting(
            "/settings/methods/add",
            &[("method", "passkey"), ("name", name)],
        )
        .await;
    assert!(page.body.contains("id=\"adding-passkey\""), "{}", page.body);
    let response = authenticator
        .create_json(&server.localhost_origin(), &create_options(&page))
        .unwrap();
    browser
        .change_setting("/settings/passkey", &[("response", &response)])
        .await
        .body
}

#[tokio::test]
async fn an_answer_without_a_ceremony_or_without_the_csrf_token_is_refused() {
    let server = start_with_passkeys().await;
    let mut authenticator = SoftAuthenticator::new();
    let mut browser = Browser::new(&server);
    let page = choose_passkey(&mut browser, "bob", "Laptop").await;
    let options = create_options(&page);
    let response = authenticator
        .create_json(&server.localhost_origin(), &options)
        .unwrap();

    // Without the session's CSRF token: refused, the ceremony untouched.
    let version = record_version(&server, "bob").await;
    let reply = browser
        .post(
            "/login/2fa/passkey",
            &[("csrf", "0".repeat(64).as_str()), ("response", &response)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(record_version(&server, "bob").await, version);
    assert_eq!(create_options(&browser.get("/login/2fa").await), options);

    // Back to the choice of method: no ceremony on that screen.
    let reply = browser
        .submit("/login/2fa", "/login/2fa/passkey/back", &[])
        .await;
    assert_eq!(reply.location(), "/login/2fa");
    assert!(
        browser
            .get("/login/2fa")
            .await
            .body
            .contains("id=\"enable-2fa\"")
    );
    let reply = answer(&mut browser, "/login/2fa", "/login/2fa/passkey", &response).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(record_version(&server, "bob").await, version);
    assert!(
        browser
            .get("/login/2fa")
            .await
            .body
            .contains("id=\"enable-2fa\"")
    );

    // An anonymous session is sent to the login page.
    let mut anonymous = Browser::new(&server);
    let reply = answer(&mut anonymous, "/login", "/login/2fa/passkey", &response).await;
    assert_eq!(reply.location(), "/login");

    // Logged in (with an app), nothing being added: refused.
    let mut alice = Browser::new(&server);
    enroll_app(&mut alice, &server, "alice", "alice-demo-password").await;
    let version = record_version(&server, "alice").await;
    let reply = answer(&mut alice, "/settings", "/settings/passkey", &response).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(record_version(&server, "alice").await, version);
    // A passkey being added, without the CSRF token: refused.
    let page = alice
        .change_setting(
            "/settings/methods/add",
            &[("method", "passkey"), ("name", "Key")],
        )
        .await;
    let options = create_options(&page);
    let answer_json = SoftAuthenticator::new()
        .create_json(&server.localhost_origin(), &options)
        .unwrap();
    let reply = alice
        .post("/settings/passkey", &[("response", answer_json.as_str())])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // A name that cannot be a passkey's is explained, nothing started.
    let page = alice
        .change_setting(
            "/settings/methods/add",
            &[("method", "passkey"), ("name", &"x".repeat(65))],
        )
        .await;
    assert!(page.body.contains("name of 1 to 64 characters"));
    assert_eq!(
        create_options(&page),
        options,
        "the open ceremony, no new one"
    );
}

#[tokio::test]
async fn passkeys_are_added_listed_and_removed_in_the_settings() {
    let server = start_with_passkeys().await;
    let mut browser = Browser::new(&server);
    enroll_app(&mut browser, &server, "alice", "alice-demo-password").await;
    let settings = browser.get("/settings").await;
    assert!(settings.body.contains("id=\"add-passkey\""));
    let mut laptop = SoftAuthenticator::new();
    let page = add_passkey(&mut browser, &server, &mut laptop, "Laptop").await;
    assert!(page.contains("The passkey is added"), "{page}");
    let mut key = SoftAuthenticator::new();
    let page = add_passkey(&mut browser, &server, &mut key, "Security key").await;
    let table = methods_table(&page);
    assert!(
        table.contains("Laptop") && table.contains("Security key"),
        "{table}"
    );
    assert_eq!(table.matches("last used").count(), 2, "{table}");

    // A refused registration ends the ceremony; the page says so.
    let page = browser
        .change_setting(
            "/settings/methods/add",
            &[("method", "passkey"), ("name", "Phone")],
        )
        .await;
    let response = SoftAuthenticator::new()
        .create_json("http://localhost:1", &create_options(&page))
        .unwrap();
    let page = browser
        .change_setting("/settings/passkey", &[("response", &response)])
        .await;
    assert!(
        page.body.contains("Your passkey was not accepted"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("id=\"adding-passkey\""));
    assert!(!methods_table(&page.body).contains("Phone"));

    // Remove "Laptop": its row's id.
    let table = methods_table(&page.body);
    let row = table
        .split("<tr id=\"method-")
        .find(|row| row.contains("Laptop"))
        .unwrap();
    let id = &row[..row.find('"').unwrap()];
    let page = browser
        .change_setting("/settings/methods/remove", &[("method", id)])
        .await;
    let table = methods_table(&page.body);
    assert!(
        !table.contains("Laptop") && table.contains("Security key"),
        "{table}"
    );
}

#[tokio::test]
async fn the_company_requires_a_phishing_resistant_method_of_its_administrators() {
    let server = start_with_passkeys().await;
    let mut admin = Browser::new(&server);
    let key = enroll_app(&mut admin, &server, "admin", "admin-demo-password").await;
    let page = admin.get("/company").await;
    assert!(
        page.body
            .contains("Require a phishing-resistant method (passkey)")
    );
    assert!(page.body.contains("id=\"phishing-nobody\" checked"));
    let policy = || company_policy(&server);
    let before = policy().await;

    // A value the radios do not send, or no CSRF token: refused.
    let reply = admin
        .submit(
            "/company",
            "/company/phishing-resistance",
            &[("required", "all")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = admin
        .post("/company/phishing-resistance", &[("required", "admins")])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(policy().await, before);
    // Not for an employee.
    let mut bob = Browser::new(&server);
    enroll_app(&mut bob, &server, "bob", "bob-demo-password").await;
    let reply = bob
        .submit(
            "/home",
            "/company/phishing-resistance",
            &[("required", "everyone")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let reply = admin
        .submit(
            "/company",
            "/company/phishing-resistance",
            &[("required", "admins")],
        )
        .await;
    assert_eq!(reply.location(), "/company");
    let page = admin.get("/company").await;
    assert!(
        page.body
            .contains("Administrators must now sign in with a passkey")
    );
    assert!(page.body.contains("id=\"phishing-admins\" checked"));
    let after = policy().await;
    assert_eq!(after.phishing_resistant(), PhishingResistance::ForAdmins);
    // Every other value kept.
    assert_eq!(after.allowed_methods(), before.allowed_methods());
    assert_eq!(after.resend_channels(), before.resend_channels());
    assert_eq!(after.deferral_length(), before.deferral_length());
    assert_eq!(after.phone_countries(), before.phone_countries());
    // Saving the methods keeps the requirement; passkeys cannot be
    // switched off while it holds.
    let reply = admin
        .submit(
            "/company",
            "/company/methods",
            &[("app", "on"), ("sms", "on")],
        )
        .await;
    assert_eq!(reply.location(), "/company");
    assert!(
        admin
            .get("/company")
            .await
            .body
            .contains("Passkeys stay allowed")
    );
    assert_eq!(policy().await, after);

    // The administrator answers the app once more, then must set up a
    // passkey before the login completes.
    admin.submit("/company", "/logout", &[]).await;
    server
        .portal
        .demo_clock()
        .unwrap()
        .advance(chrono::TimeDelta::seconds(30));
    admin.log_in("admin", "admin-demo-password").await;
    let code = crate::totp_code(&key, server.portal.twofa().now());
    let reply = admin.enter_code(&code).await;
    assert_eq!(reply.location(), "/login/2fa");
    let setup = admin.get("/login/2fa").await;
    assert!(setup.body.contains("value=\"passkey\""));
    assert!(!setup.body.contains("value=\"app\""), "passkeys only");
    assert!(!setup.body.contains("id=\"remind-me\""));
    let reply = admin
        .submit(
            "/login/2fa",
            "/login/2fa/method",
            &[("method", "passkey"), ("name", "")],
        )
        .await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = admin.get("/login/2fa").await;
    let response = SoftAuthenticator::new()
        .create_json(&server.localhost_origin(), &create_options(&page))
        .unwrap();
    let reply = answer(&mut admin, "/login/2fa", "/login/2fa/passkey", &response).await;
    assert_eq!(reply.location(), "/home");
    let table = methods_table(&admin.get("/settings").await.body);
    assert!(table.contains("Passkey"), "the default name: {table}");
}

#[tokio::test]
async fn confirm_its_you_is_answered_with_a_passkey() {
    let server = start_with_passkeys().await;
    let mut browser = Browser::new(&server);
    let mut authenticator = enroll_passkey(&mut browser, &server, "bob").await;
    // Eleven minutes on, a change needs a fresh second factor.
    server
        .portal
        .demo_clock()
        .unwrap()
        .advance(chrono::TimeDelta::minutes(11));
    let page = browser
        .change_setting(
            "/settings/methods/add",
            &[("method", "passkey"), ("name", "Key")],
        )
        .await;
    assert!(
        page.body.contains("id=\"sign-in-again-button\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("id=\"adding-passkey\""));
    let reply = browser
        .submit("/settings", "/step-up", &[("back", "settings")])
        .await;
    assert_eq!(reply.location(), "/login/2fa");
    let challenge = browser.get("/login/2fa").await;
    let response = authenticator
        .get_json(&server.localhost_origin(), &get_options(&challenge))
        .unwrap();
    let reply = answer(&mut browser, "/login/2fa", "/login/2fa/passkey", &response).await;
    assert_eq!(reply.location(), "/settings");
    let page = browser
        .change_setting(
            "/settings/methods/add",
            &[("method", "passkey"), ("name", "Key")],
        )
        .await;
    assert!(page.body.contains("id=\"adding-passkey\""));
}
