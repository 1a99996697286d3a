//! Passkey walks: Chromium's virtual authenticators (the WebDriver WebAuthn
//! extension, W3C Web Authentication §11) stand in for a laptop's platform
//! authenticator and a security key. The portal's relying party is
//! `localhost` with the origin `http://localhost:PORT`, so every walk
//! browses `localhost`, not `127.0.0.1`.

use std::time::Duration;

use axum::http::Method;
use fantoccini::Locator;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{Value, json};

use super::{Walk, set_up_app};
use crate::{Server, start_with_passkeys, totp_code};

/// How long a page may take to follow a passkey ceremony (the virtual
/// authenticator answers at once; this only bounds a failing walk).
const PAGE_WAIT: Duration = Duration::from_secs(30);

/// The WebAuthn extension's commands (chromedriver).
#[derive(Debug)]
enum WebAuthn {
    /// Adds a CTAP2 authenticator that verifies the user and consents.
    AddAuthenticator,
    /// The credentials an authenticator holds.
    Credentials(String),
    /// Puts a credential (as `Credentials` returned it) into an
    /// authenticator.
    AddCredential(String, Value),
    /// Removes an authenticator and its credentials.
    RemoveAuthenticator(String),
}

impl WebDriverCompatibleCommand for WebAuthn {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        let root = format!("session/{session}/webauthn/authenticator");
        base_url.join(&match self {
            Self::AddAuthenticator => root,
            Self::Credentials(id) => format!("{root}/{id}/credentials"),
            Self::AddCredential(id, _) => format!("{root}/{id}/credential"),
            Self::RemoveAuthenticator(id) => format!("{root}/{id}"),
        })
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (Method, Option<String>) {
        match self {
            Self::AddAuthenticator => {
                let options = json!({
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": true,
                    "hasUserVerification": true,
                    "isUserConsenting": true,
                    "isUserVerified": true,
                });
                (Method::POST, Some(options.to_string()))
            }
            Self::Credentials(_) => (Method::GET, None),
            Self::AddCredential(_, credential) => (Method::POST, Some(credential.to_string())),
            Self::RemoveAuthenticator(_) => (Method::DELETE, None),
        }
    }
}

impl Walk {
    /// Browses `localhost` (the relying party's id) instead of
    /// `127.0.0.1`.
    fn on_localhost(mut self, server: &Server) -> Self {
        self.base = format!("http://localhost:{}", server.addr.port());
        self
    }

    /// A new virtual authenticator; returns its id.
    async fn add_authenticator(&self) -> String {
        let id = self
            .client
            .issue_cmd(WebAuthn::AddAuthenticator)
            .await
            .expect("chromedriver adds a virtual authenticator");
        id.as_str().expect("an authenticator id").to_owned()
    }

    async fn credentials(&self, authenticator: &str) -> Vec<Value> {
        let credentials = self
            .client
            .issue_cmd(WebAuthn::Credentials(authenticator.to_owned()))
            .await
            .unwrap();
        credentials.as_array().cloned().unwrap_or_default()
    }

    async fn add_credential(&self, authenticator: &str, credential: Value) {
        self.client
            .issue_cmd(WebAuthn::AddCredential(
                authenticator.to_owned(),
                credential,
            ))
            .await
            .unwrap();
    }

    async fn remove_authenticator(&self, authenticator: &str) {
        self.client
            .issue_cmd(WebAuthn::RemoveAuthenticator(authenticator.to_owned()))
            .await
            .unwrap();
    }

    /// Clicks a button that starts a passkey ceremony, waits for what
    /// `until` finds (the page the answer leads to, or the script's
    /// message) and screenshots it.
    async fn click_ceremony(&mut self, css: &str, until: Locator<'_>, shot: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("{css} on the page"))
            .click()
            .await
            .unwrap();
        self.client
            .wait()
            .at_most(PAGE_WAIT)
            .for_element(until)
            .await
            .unwrap_or_else(|_| panic!("the page after {css}"));
        self.shot(shot).await;
    }

    /// Chooses a passkey named `name` on the set-up screen and creates it.
    async fn set_up_passkey(&mut self, name: &str) {
        self.click("#method-passkey", "method-passkey-chosen").await;
        self.fill("#passkey-name", name).await;
        self.click("#enable-2fa", "create-passkey").await;
        assert!(self.text("h1").await.contains("Create your passkey"));
        self.click_ceremony(
            "#create-passkey",
            Locator::Css("#who"),
            "home-with-recovery-codes",
        )
        .await;
        assert_eq!(self.path().await, "/home");
    }

    /// On the verification screen of a passkey login: "Use your passkey",
    /// and home.
    async fn use_passkey(&mut self, shot: &str) {
        assert!(self.has("#use-passkey").await, "a passkey challenge");
        assert!(!self.has("#code").await, "nothing to type");
        self.click_ceremony("#use-passkey", Locator::Css("#who"), shot)
            .await;
        assert_eq!(self.path().await, "/home");
    }

    /// The id of the settings row whose passkey is named `name`.
    async fn method_row(&self, name: &str) -> String {
        let page = self.client.source().await.unwrap();
        let table = &page[page.find("<table id=\"methods\">").unwrap()..];
        let row = table
            .split("<tr id=\"method-")
            .find(|row| row.split("</tr>").next().unwrap_or("").contains(name))
            .unwrap_or_else(|| panic!("a row for {name}"));
        row[..row.find('"').unwrap()].to_owned()
    }
}

#[tokio::test]
async fn walk_passkey_set_up_at_the_first_login_then_used_to_log_in() {
    let server = start_with_passkeys().await;
    let mut walk = Walk::start(&server, "passkey").await.on_localhost(&server);
    let laptop = walk.add_authenticator().await;
    walk.log_in("bob", "bob-demo-password", "setup-prompt")
        .await;
    assert!(
        walk.text("#method-form")
            .await
            .contains("Passkey (security key, phone or computer)")
    );
    walk.set_up_passkey("Work laptop").await;
    assert!(walk.has("#recovery-codes li").await);
    assert_eq!(walk.credentials(&laptop).await.len(), 1, "one passkey made");
    walk.log_out().await;

    walk.log_in("bob", "bob-demo-password", "passkey-challenge")
        .await;
    walk.use_passkey("home").await;
    walk.goto("/settings", "settings").await;
    let methods = walk.text("#methods").await;
    assert!(
        methods.contains("Work laptop") && methods.contains("last used"),
        "{methods}"
    );
    walk.finish().await;
}

#[tokio::test]
async fn walk_a_second_passkey_added_in_the_settings_outlives_the_first() {
    let server = start_with_passkeys().await;
    let mut walk = Walk::start(&server, "two-passkeys")
        .await
        .on_localhost(&server);
    let laptop = walk.add_authenticator().await;
    walk.log_in("bob", "bob-demo-password", "setup-prompt")
        .await;
    walk.set_up_passkey("Laptop").await;
    let laptop_credentials = walk.credentials(&laptop).await;
    assert_eq!(laptop_credentials.len(), 1);

    // The security key is the only device at hand now.
    walk.remove_authenticator(&laptop).await;
    let key = walk.add_authenticator().await;
    walk.goto("/settings", "settings-one-passkey").await;
    walk.fill("#add-passkey-name", "Security key").await;
    walk.click("#add-passkey", "create-second-passkey").await;
    assert!(walk.has("#adding-passkey").await);
    walk.click_ceremony(
        "#create-passkey",
        Locator::XPath("//td[text()='Security key']"),
        "two-passkeys",
    )
    .await;
    let methods = walk.text("#methods").await;
    assert!(
        methods.contains("Laptop") && methods.contains("Security key"),
        "{methods}"
    );
    assert!(walk.text("#notice").await.contains("The passkey is added"));
    assert_eq!(walk.credentials(&key).await.len(), 1);
    walk.log_out().await;

    walk.log_in("bob", "bob-demo-password", "challenge").await;
    walk.use_passkey("home-with-the-second").await;
    walk.goto("/settings", "settings-two-passkeys").await;
    let laptop_row = walk.method_row("Laptop").await;
    walk.click(&format!("#remove-{laptop_row}"), "first-removed")
        .await;
    let methods = walk.text("#methods").await;
    assert!(
        !methods.contains("Laptop") && methods.contains("Security key"),
        "{methods}"
    );
    walk.log_out().await;

    walk.log_in("bob", "bob-demo-password", "challenge-again")
        .await;
    walk.use_passkey("home-still-with-the-second").await;
    walk.log_out().await;

    // The laptop again, with the removed passkey only: the portal no
    // longer asks for it, so the browser has nothing to answer with.
    walk.remove_authenticator(&key).await;
    let old = walk.add_authenticator().await;
    for credential in laptop_credentials {
        walk.add_credential(&old, credential).await;
    }
    walk.log_in("bob", "bob-demo-password", "challenge-with-the-first")
        .await;
    walk.click_ceremony(
        "#use-passkey",
        Locator::Css("#passkey-error:not([hidden])"),
        "first-not-usable",
    )
    .await;
    assert!(walk.text("#passkey-error").await.contains("not used"));
    assert_eq!(walk.path().await, "/login/2fa");
    assert!(!walk.has("#who").await, "not logged in");
    walk.finish().await;
}

#[tokio::test]
async fn walk_a_passkey_answer_from_another_origin_is_refused() {
    let server = start_with_passkeys().await;
    // The same portal on a second port: `localhost` is still the relying
    // party's id, so the browser signs there, but that origin is not the
    // relying party's.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_port = listener.local_addr().unwrap().port();
    let served = server.portal.clone();
    let other = tokio::spawn(async move {
        twofa_portal::serve(listener, &served).await.unwrap();
    });
    let mut walk = Walk::start(&server, "passkey-other-origin")
        .await
        .on_localhost(&server);
    walk.add_authenticator().await;
    walk.log_in("bob", "bob-demo-password", "setup-prompt")
        .await;
    walk.set_up_passkey("Work laptop").await;
    walk.log_out().await;

    let real = walk.base.clone();
    walk.base = format!("http://localhost:{other_port}");
    walk.log_in("bob", "bob-demo-password", "other-origin-challenge")
        .await;
    walk.click_ceremony(
        "#use-passkey",
        Locator::Css("#passkey-retry"),
        "other-origin-refused",
    )
    .await;
    assert_eq!(
        walk.text("#notice").await,
        "Your passkey was not accepted: try again, or use another method."
    );
    assert_eq!(walk.path().await, "/login/2fa");
    assert!(!walk.has("#who").await, "not logged in");
    walk.click("#cancel", "other-origin-cancelled").await;

    walk.base = real;
    walk.log_in("bob", "bob-demo-password", "real-origin-challenge")
        .await;
    walk.use_passkey("real-origin-home").await;
    other.abort();
    walk.finish().await;
}

#[tokio::test]
async fn walk_administrators_must_set_up_a_passkey_when_the_company_requires_one() {
    let server = start_with_passkeys().await;
    let mut walk = Walk::start(&server, "phishing-resistant")
        .await
        .on_localhost(&server);
    walk.log_in("admin", "admin-demo-password", "admin-setup-prompt")
        .await;
    let key = set_up_app(&mut walk, &server).await;
    walk.goto("/company", "company-settings").await;
    assert!(walk.has("#phishing-nobody:checked").await);
    walk.toggle("#phishing-admins").await;
    walk.click("#save-phishing", "phishing-resistance-for-admins")
        .await;
    assert!(
        walk.text("#notice")
            .await
            .contains("Administrators must now sign in with a passkey")
    );
    assert!(walk.has("#phishing-admins:checked").await);
    walk.log_out().await;

    // The app answers once more; then a passkey is the only choice.
    server
        .portal
        .demo_clock()
        .unwrap()
        .advance(chrono::TimeDelta::seconds(30));
    walk.add_authenticator().await;
    walk.log_in(
        "admin",
        "admin-demo-password",
        "admin-challenged-with-the-app",
    )
    .await;
    assert!(walk.has("#then-set-up").await);
    let code = totp_code(&key, server.portal.twofa().now());
    walk.fill("#code", &code).await;
    walk.click("#submit-code", "passkey-required").await;
    assert_eq!(walk.path().await, "/login/2fa");
    assert!(walk.has("#method-passkey").await);
    assert!(!walk.has("#method-app").await, "passkeys only");
    assert!(!walk.has("#remind-me").await);
    walk.click("#enable-2fa", "create-passkey").await;
    walk.click_ceremony("#create-passkey", Locator::Css("#who"), "admin-home")
        .await;
    assert_eq!(walk.path().await, "/home");
    walk.goto("/settings", "admin-settings").await;
    assert!(walk.text("#methods").await.contains("Passkey"));
    walk.finish().await;
}
