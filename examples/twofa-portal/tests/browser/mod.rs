//! Walks through the portal in a real headless Chromium, driven over
//! WebDriver (chromedriver), one screenshot per screen.
//!
//! Compiled only with `TWOFA_BROWSER_TESTS=1` (see `build.rs`). With the
//! opt-in, a missing `/usr/bin/chromium` or `/usr/bin/chromedriver` fails
//! every walk with a message saying what to install.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use chrono::TimeDelta;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use super::{Server, company_allows, manual_key, start_local, start_serving, totp_code};

mod passkey;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One browser at a time: the machine has two cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn require(path: &str) {
    assert!(
        Path::new(path).exists(),
        "TWOFA_BROWSER_TESTS=1 but {path} is missing: install Debian's chromium and \
         chromium-driver (apt-get install -y chromium chromium-driver), or unset \
         TWOFA_BROWSER_TESTS to run the HTTP-level tests only"
    );
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn start_driver() -> Driver {
    require(CHROMIUM);
    require(CHROMEDRIVER);
    let port = free_port();
    let mut child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let stdout = child.stdout.take().unwrap();
    // chromedriver announces on standard output once it listens.
    let ready = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("started successfully"))
    })
    .await
    .unwrap();
    assert!(ready, "chromedriver did not start");
    Driver { child, port }
}

/// A browser session walking the portal, saving a screenshot per screen.
pub(super) struct Walk {
    client: Client,
    base: String,
    shots: PathBuf,
    count: u32,
    profile: PathBuf,
    _driver: Driver,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Walk {
    async fn start(server: &Server, name: &str) -> Self {
        let turn = ONE_BROWSER.lock().await;
        let driver = start_driver().await;
        let profile = std::env::temp_dir().join(format!(
            "twofa-portal-chromium-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1200,900",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), "chrome".into());
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": CHROMIUM, "args": args }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a Chromium session");
        let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("screenshots")
            .join(name);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        Self {
            client,
            base: format!("http://{}", server.addr),
            shots,
            count: 0,
            profile,
            _driver: driver,
            _turn: turn,
        }
    }

    async fn goto(&mut self, path: &str, shot: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
        self.shot(shot).await;
    }

    /// Saves a screenshot of the current screen.
    async fn shot(&mut self, label: &str) {
        self.count += 1;
        let png = self.client.screenshot().await.unwrap();
        let file = self.shots.join(format!("{:02}-{label}.png", self.count));
        std::fs::write(file, png).unwrap();
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Clicks and screenshots the screen it leads to.
    async fn click(&mut self, css: &str, shot: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("{css} on the page"))
            .click()
            .await
            .unwrap();
        self.shot(shot).await;
    }

    /// Clicks a checkbox (no new screen, so no screenshot).
    async fn toggle(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("{css} on the page"))
            .click()
            .await
            .unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("{css} on the page"))
            .text()
            .await
            .unwrap()
    }

    async fn has(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    async fn log_in(&mut self, login: &str, password: &str, shot: &str) {
        self.goto("/login", "login").await;
        self.fill("#login", login).await;
        self.fill("#password", password).await;
        self.click("#log-in", shot).await;
    }

    async fn log_out(&mut self) {
        self.click("#logout", "logged-out").await;
        assert_eq!(self.path().await, "/login");
    }

    async fn finish(self) {
        self.client.close().await.unwrap();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The latest code in the outbox page's newest message of `channel`.
async fn code_from_outbox(walk: &mut Walk, channel: &str) -> String {
    walk.goto("/device/outbox", &format!("outbox-{channel}"))
        .await;
    let body = walk.text(&format!("#messages li.{channel} pre.body")).await;
    // The first run of six digits (a call script separates them with
    // spaces or commas).
    let digits: String = body
        .split(|c: char| !(c.is_ascii_digit() || c == ' ' || c == ','))
        .map(|run| run.chars().filter(char::is_ascii_digit).collect::<String>())
        .find(|run| run.len() == 6)
        .unwrap_or_else(|| panic!("a six-digit code in {body:?}"));
    digits
}

#[tokio::test]
async fn walk_without_demo_mode_has_no_simulated_phone() {
    let options = twofa_portal::PortalOptions::new()
        .with_cookies(twofa_portal::CookieSecurity::PlainHttpLocalhost);
    let server = start_serving(options).await;
    let mut walk = Walk::start(&server, "no-demo").await;
    for path in ["/device/outbox", "/device/phone", "/device/clock"] {
        walk.goto(path, "not-found").await;
        // The portal's 404 page (the status itself is checked over HTTP
        // in `operations.rs`).
        assert_eq!(
            walk.text("#error").await,
            "There is nothing here.",
            "{path}"
        );
        assert!(!walk.has("#messages").await, "{path}");
    }
    // The portal itself is there.
    walk.log_in("bob", "bob-demo-password", "set-up").await;
    assert_eq!(walk.path().await, "/login/2fa");
    walk.finish().await;
}

#[tokio::test]
async fn walk_password_attempts_limited_per_account() {
    let server = start_local().await;
    let mut walk = Walk::start(&server, "password-limit").await;
    for attempt in 1..=5 {
        walk.log_in("bob", "not-the-password", "wrong-password")
            .await;
        assert_eq!(walk.path().await, "/login");
        assert_eq!(
            walk.text("#notice").await,
            "The username or password is not right.",
            "{attempt}"
        );
    }
    // The sixth attempt, with the right password: the lock notice.
    walk.log_in("bob", "bob-demo-password", "locked").await;
    assert_eq!(walk.path().await, "/login");
    let notice = walk.text("#notice").await;
    assert!(
        notice.starts_with("Too many failed attempts for this account.")
            && notice.contains("2027-01-15 08:15 UTC"),
        "{notice}"
    );
    // Fifteen minutes later the form opens again.
    server
        .portal
        .demo_clock()
        .unwrap()
        .advance(TimeDelta::minutes(15));
    walk.log_in("bob", "bob-demo-password", "open-again").await;
    assert_eq!(walk.path().await, "/login/2fa");
    walk.finish().await;
}

#[tokio::test]
async fn walk_authenticator_app_setup_login_and_replay() {
    let server = start_local().await;
    let mut walk = Walk::start(&server, "authenticator-app").await;
    walk.log_in("bob", "bob-demo-password", "setup-prompt")
        .await;
    assert_eq!(walk.path().await, "/login/2fa");
    assert!(walk.has("#remind-me").await, "deferral offered");
    walk.click("#method-app", "method-app-chosen").await;
    walk.click("#enable-2fa", "qr-code").await;
    assert!(walk.has("#qr svg").await);
    let key = manual_key(&walk.client.source().await.unwrap());
    let code = totp_code(&key, server.portal.twofa().now());
    walk.fill("#code", &code).await;
    walk.click("#submit-code", "home-with-recovery-codes").await;
    assert_eq!(walk.path().await, "/home");
    assert!(walk.has("#recovery-codes li").await);
    walk.log_out().await;

    server
        .portal
        .demo_clock()
        .unwrap()
        .advance(TimeDelta::seconds(30));
    walk.log_in("bob", "bob-demo-password", "challenged").await;
    assert!(walk.text("h1").await.contains("2FA Verification"));
    let code = totp_code(&key, server.portal.twofa().now());
    walk.fill("#code", &code).await;
    walk.click("#submit-code", "home").await;
    assert_eq!(walk.path().await, "/home");
    walk.log_out().await;

    walk.log_in("bob", "bob-demo-password", "challenged-again")
        .await;
    walk.fill("#code", &code).await;
    walk.click("#submit-code", "replay-refused").await;
    assert_eq!(walk.path().await, "/login/2fa");
    assert!(walk.text("#notice").await.contains("not right"));
    walk.finish().await;
}

#[tokio::test]
async fn walk_sms_setup_with_a_resend_by_phone_call() {
    let server = start_local().await;
    let mut walk = Walk::start(&server, "sms").await;
    walk.log_in("alice", "alice-demo-password", "setup-prompt")
        .await;
    walk.click("#method-sms", "method-sms-chosen").await;
    walk.fill("#number", "+44 7400 123456").await;
    walk.click("#enable-2fa", "verification-form").await;
    assert_eq!(walk.path().await, "/login/2fa");
    assert!(walk.text("#sent-to").await.contains("+44"));
    let sms_code = code_from_outbox(&mut walk, "sms").await;
    walk.goto("/login/2fa", "verification-form-again").await;
    // Within the 30-second resend cooldown a second code is refused.
    walk.click("#resend-voice", "resend-too-soon").await;
    assert!(walk.text("#notice").await.contains("wait"));
    server
        .portal
        .demo_clock()
        .unwrap()
        .advance(TimeDelta::seconds(30));
    walk.click("#resend-voice", "resent-by-call").await;
    assert!(walk.text("#notice").await.contains("phone call"));
    let call_code = code_from_outbox(&mut walk, "call").await;
    assert_ne!(sms_code, call_code, "a fresh code");
    walk.goto("/login/2fa", "verification-form-call").await;
    walk.fill("#code", &call_code).await;
    walk.click("#submit-code", "home").await;
    assert_eq!(walk.path().await, "/home");

    // A new number, verified before it replaces the old one (the second
    // factor was just given, so the step-up is fresh).
    walk.goto("/settings", "settings").await;
    assert!(walk.text("#methods").await.contains("3456"));
    walk.fill("#new-number", "+44 7400 654321").await;
    walk.click("#change-number", "number-change-code-sent")
        .await;
    assert!(
        walk.text("#methods").await.contains("3456"),
        "old number kept"
    );
    let change_code = code_from_outbox(&mut walk, "sms").await;
    walk.goto("/settings", "settings-confirm").await;
    walk.fill("#confirm-code", &change_code).await;
    walk.click("#confirm-number", "number-changed").await;
    let methods = walk.text("#methods").await;
    assert!(
        methods.contains("4321") && !methods.contains("3456"),
        "{methods}"
    );

    // Ten minutes after the last second factor, another change needs a
    // fresh one: the page says so and offers to confirm it's the user.
    server
        .portal
        .demo_clock()
        .unwrap()
        .advance(TimeDelta::minutes(10));
    walk.fill("#new-number", "+44 7400 111222").await;
    walk.click("#change-number", "confirm-first").await;
    assert!(
        walk.text("#notice")
            .await
            .contains("confirm that it is you")
    );
    assert!(walk.text("#methods").await.contains("4321"), "unchanged");
    walk.click("#sign-in-again-button", "step-up").await;
    assert_eq!(walk.path().await, "/login/2fa");
    let code = code_from_outbox(&mut walk, "sms").await;
    walk.goto("/login/2fa", "step-up-code").await;
    walk.fill("#code", &code).await;
    walk.click("#submit-code", "back-to-settings").await;
    assert_eq!(walk.path().await, "/settings");
    walk.fill("#new-number", "+44 7400 111222").await;
    walk.click("#change-number", "number-change-after-step-up")
        .await;
    assert!(walk.text("#notice").await.contains("We sent a code"));
    walk.finish().await;
}

#[tokio::test]
async fn walk_not_mobile_and_canadian_numbers_show_the_dialog() {
    let server = start_local().await;
    let mut walk = Walk::start(&server, "not-mobile").await;
    walk.log_in("alice", "alice-demo-password", "setup-prompt")
        .await;
    walk.click("#method-sms", "method-sms-chosen").await;
    walk.fill("#number", "+44 20 7946 0018").await;
    walk.click("#enable-2fa", "landline-dialog").await;
    assert!(walk.has("#not-mobile-dialog").await);
    assert!(walk.text("#not-mobile-dialog").await.contains("landline"));

    walk.goto("/login/2fa", "setup-prompt-again").await;
    walk.click("#method-sms", "method-sms-chosen-again").await;
    walk.fill("#number", "+1 416 979 1234").await;
    walk.click("#enable-2fa", "canadian-dialog").await;
    let dialog = walk.text("#not-mobile-dialog").await;
    assert!(dialog.contains("Canada"), "{dialog}");
    // The dialog's way out: the app.
    walk.click("#dialog-use-app", "app-instead").await;
    assert!(walk.has("#qr svg").await);
    walk.finish().await;
}

#[tokio::test]
async fn walk_remind_me_in_48_hours_and_its_expiry() {
    let server = start_local().await;
    let mut walk = Walk::start(&server, "remind-me").await;
    walk.log_in("bob", "bob-demo-password", "setup-prompt")
        .await;
    walk.click("#remind-me", "home-deferred").await;
    assert_eq!(walk.path().await, "/home");
    let page = walk.text("main").await;
    assert!(page.contains("postponed until"), "{page}");
    walk.log_out().await;
    // Within the 48 hours: straight in.
    server
        .portal
        .demo_clock()
        .unwrap()
        .advance(TimeDelta::hours(47));
    walk.log_in("bob", "bob-demo-password", "still-deferred")
        .await;
    assert_eq!(walk.path().await, "/home");
    walk.log_out().await;
    // Moved past the deferral with the demo clock page.
    walk.goto("/device/clock", "clock").await;
    walk.fill("#hours", "2").await;
    walk.click("#advance", "clock-moved").await;
    walk.log_in("bob", "bob-demo-password", "prompted-again")
        .await;
    assert_eq!(walk.path().await, "/login/2fa");
    assert!(walk.has("#enable-2fa").await);
    walk.finish().await;
}

/// Sets up the app for the logged-in walk on the set-up screen.
async fn set_up_app(walk: &mut Walk, server: &Server) -> String {
    walk.click("#method-app", "method-app-chosen").await;
    walk.click("#enable-2fa", "qr-code").await;
    let key = manual_key(&walk.client.source().await.unwrap());
    let code = totp_code(&key, server.portal.twofa().now());
    walk.fill("#code", &code).await;
    walk.click("#submit-code", "home").await;
    assert_eq!(walk.path().await, "/home");
    key
}

#[tokio::test]
async fn walk_admin_enforces_2fa_and_the_deferral_disappears() {
    let server = start_local().await;
    let mut walk = Walk::start(&server, "enforcement").await;
    walk.log_in("admin", "admin-demo-password", "admin-setup-prompt")
        .await;
    assert!(walk.has("#remind-me").await);
    set_up_app(&mut walk, &server).await;
    walk.goto("/company", "company-settings").await;
    walk.click("#enforce", "enforce-confirmation").await;
    assert!(
        walk.text("#enforce-confirm")
            .await
            .contains("cannot disable")
    );
    walk.click("#enforce-yes", "enforced").await;
    assert!(walk.text("#enforcement-on").await.contains("permanent"));
    assert!(!walk.has("#enforce").await, "no way back");

    // The administrator also switches SMS and voice calls off.
    assert!(walk.has("#allow-sms:checked").await);
    walk.toggle("#allow-sms").await;
    walk.toggle("#allow-voice").await;
    walk.click("#save-methods", "two-factor-methods").await;
    assert!(walk.text("#notice").await.contains("Users may now use"));
    assert!(walk.has("#allow-app:checked").await);
    assert!(walk.has("#allow-push:checked").await);
    assert!(!walk.has("#allow-sms:checked").await);
    assert!(!walk.has("#allow-voice:checked").await);
    walk.log_out().await;
    for login in ["alice", "carol"] {
        let password = format!("{login}-demo-password");
        walk.log_in(login, &password, &format!("{login}-must-set-up"))
            .await;
        assert_eq!(walk.path().await, "/login/2fa");
        assert!(!walk.has("#remind-me").await, "{login}: no deferral");
        assert!(walk.has("#method-app").await, "{login}: the app is on");
        assert!(!walk.has("#method-sms").await, "{login}: SMS is off");
        assert!(!walk.has("#method-voice").await, "{login}: voice is off");
        walk.click("#cancel", "cancelled").await;
    }
    walk.finish().await;
}

#[tokio::test]
async fn walk_trusted_network_20_and_21_days_and_the_client_account() {
    let server = start_local().await;
    let clock = || server.portal.demo_clock().unwrap();
    let mut walk = Walk::start(&server, "trusted-network").await;
    walk.log_in("admin", "admin-demo-password", "admin-setup-prompt")
        .await;
    set_up_app(&mut walk, &server).await;
    walk.goto("/company", "company-settings").await;
    // More than the address-space limit (a /16) is refused.
    walk.fill("#network", "127.0.0.0/8").await;
    walk.fill("#label", "This machine").await;
    walk.click("#add-network", "network-too-wide").await;
    let page = walk.text("main").await;
    assert!(page.contains("more addresses than the limit"), "{page}");
    walk.fill("#network", "127.0.0.0/16").await;
    walk.fill("#label", "This machine").await;
    walk.click("#add-network", "network-added").await;
    assert!(
        walk.text("#trusted-networks")
            .await
            .contains("127.0.0.0/16")
    );
    walk.log_out().await;

    // Alice sets up her app on the trusted network: that login earns the
    // grant.
    walk.log_in("alice", "alice-demo-password", "alice-setup-prompt")
        .await;
    set_up_app(&mut walk, &server).await;
    walk.log_out().await;
    clock().advance(TimeDelta::days(20));
    walk.log_in("alice", "alice-demo-password", "alice-day-20")
        .await;
    assert_eq!(walk.path().await, "/home", "no prompt on day 20");
    assert!(walk.text("#notice").await.contains("trusted network"));
    walk.log_out().await;
    clock().advance(TimeDelta::days(1));
    walk.log_in("alice", "alice-demo-password", "alice-day-21")
        .await;
    assert_eq!(walk.path().await, "/login/2fa", "prompted on day 21");
    walk.click("#cancel", "cancelled").await;

    // Carol, an end-user client, is asked at every login.
    walk.log_in("carol", "carol-demo-password", "carol-setup-prompt")
        .await;
    let key = set_up_app(&mut walk, &server).await;
    walk.log_out().await;
    clock().advance(TimeDelta::minutes(1));
    walk.log_in("carol", "carol-demo-password", "carol-prompted")
        .await;
    assert_eq!(walk.path().await, "/login/2fa");
    let code = totp_code(&key, server.portal.twofa().now());
    walk.fill("#code", &code).await;
    walk.click("#submit-code", "carol-home").await;
    walk.log_out().await;
    clock().advance(TimeDelta::minutes(1));
    walk.log_in("carol", "carol-demo-password", "carol-prompted-again")
        .await;
    assert_eq!(walk.path().await, "/login/2fa");
    walk.finish().await;
}

#[tokio::test]
async fn walk_push_approval_with_number_matching() {
    let server = start_local().await;
    let mut walk = Walk::start(&server, "push").await;
    walk.log_in("bob", "bob-demo-password", "setup-prompt")
        .await;
    walk.click("#method-push", "method-push-chosen").await;
    walk.click("#enable-2fa", "qr-code").await;
    let key = manual_key(&walk.client.source().await.unwrap());
    let code = totp_code(&key, server.portal.twofa().now());
    walk.fill("#code", &code).await;
    walk.click("#submit-code", "home").await;
    walk.log_out().await;
    server
        .portal
        .demo_clock()
        .unwrap()
        .advance(TimeDelta::seconds(30));
    walk.log_in("bob", "bob-demo-password", "challenged").await;
    walk.click("#send-push", "push-sent").await;
    let number = walk.text("#match-number").await;
    assert_eq!(number.len(), 2, "two digits: {number}");
    walk.goto("/device/phone", "phone-prompt").await;
    // The phone says where the login comes from and does not show the
    // number: it has to be typed from the login page.
    let prompt = walk.text("#prompt-1").await;
    assert!(prompt.contains("from 127.0.0.1"), "{prompt}");
    walk.fill("#match-input", &number).await;
    walk.click("#approve", "phone-approved").await;
    assert!(walk.text("#notice").await.contains("approved"));
    walk.goto("/login/2fa", "waiting-page").await;
    walk.click("#push-continue", "home-after-push").await;
    assert_eq!(walk.path().await, "/home");
    walk.finish().await;
}

#[tokio::test]
async fn walk_enrollment_status_page_and_csv() {
    let server = start_local().await;
    let mut walk = Walk::start(&server, "status").await;
    walk.log_in("admin", "admin-demo-password", "admin-setup-prompt")
        .await;
    set_up_app(&mut walk, &server).await;
    walk.goto("/company/status", "status-page").await;
    let table = walk.text("#status-table").await;
    assert!(table.contains("Ada Admin") && table.contains("Carol Customer"));
    let href = walk
        .client
        .find(Locator::Css("#download-csv"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(href, "/company/status.csv");
    walk.finish().await;
}

#[tokio::test]
async fn walk_a_switched_off_method_is_replaced_then_another_method_is_used() {
    use twofa::types::{Method, MethodSet};

    let server = start_local().await;
    let clock = || server.portal.demo_clock().unwrap();
    let mut walk = Walk::start(&server, "other-method").await;
    walk.log_in("bob", "bob-demo-password", "setup-prompt")
        .await;
    let key = set_up_app(&mut walk, &server).await;
    walk.log_out().await;

    // The company switches the app off: one last check with it, then a
    // new method on the same login.
    company_allows(&server, MethodSet::all().without(Method::AuthenticatorApp)).await;
    clock().advance(TimeDelta::seconds(30));
    walk.log_in("bob", "bob-demo-password", "challenge-then-set-up")
        .await;
    assert!(
        walk.text("#then-set-up")
            .await
            .contains("After this check you will set up another one")
    );
    let code = totp_code(&key, server.portal.twofa().now());
    walk.fill("#code", &code).await;
    walk.click("#submit-code", "replacement-set-up").await;
    assert_eq!(walk.path().await, "/login/2fa");
    assert!(walk.text("#notice").await.contains("no longer allows"));
    assert!(!walk.has("#remind-me").await, "no deferral");
    assert!(!walk.has("#method-app").await, "the app is off");
    walk.click("#method-sms", "method-sms-chosen").await;
    walk.fill("#number", "+44 7400 123456").await;
    walk.click("#enable-2fa", "verification-form").await;
    let sms = code_from_outbox(&mut walk, "sms").await;
    walk.goto("/login/2fa", "verification-form-again").await;
    walk.fill("#code", &sms).await;
    walk.click("#submit-code", "home").await;
    assert_eq!(walk.path().await, "/home");

    // The app is allowed again: two methods, and "use another method".
    company_allows(&server, MethodSet::all()).await;
    walk.log_out().await;
    clock().advance(TimeDelta::seconds(30));
    walk.log_in("bob", "bob-demo-password", "use-another-method")
        .await;
    let others = walk.text("#other-methods").await;
    assert!(others.contains("Text message to +44"), "{others}");
    walk.click("#other-methods button", "switched-to-sms").await;
    assert!(walk.text("#notice").await.contains("We sent a code to"));
    assert!(
        walk.text("#other-methods")
            .await
            .contains("Authenticator app")
    );
    let sms = code_from_outbox(&mut walk, "sms").await;
    walk.goto("/login/2fa", "verification-form-sms").await;
    walk.fill("#code", &sms).await;
    walk.click("#submit-code", "home-again").await;
    assert_eq!(walk.path().await, "/home");
    walk.finish().await;
}

#[tokio::test]
async fn walk_a_second_method_is_added_made_the_default_and_the_first_removed() {
    let server = start_local().await;
    let clock = || server.portal.demo_clock().unwrap();
    let mut walk = Walk::start(&server, "self-service-methods").await;
    walk.log_in("alice", "alice-demo-password", "setup-prompt")
        .await;
    let key = set_up_app(&mut walk, &server).await;
    walk.goto("/settings", "settings-one-method").await;
    assert!(walk.has("#add-method").await);

    // A phone next to the app, proved by the code sent to it.
    walk.fill("#add-number", "+44 7400 123456").await;
    walk.click("#add-phone", "phone-code-sent").await;
    assert!(walk.text("#notice").await.contains("We sent a code"));
    let code = code_from_outbox(&mut walk, "sms").await;
    walk.goto("/settings", "settings-adding-phone").await;
    walk.fill("#add-code", &code).await;
    walk.click("#confirm-method", "phone-added").await;
    assert!(walk.text("#notice").await.contains("new method is added"));
    let methods = walk.text("#methods").await;
    assert!(methods.contains("text message"), "{methods}");
    assert!(methods.contains("(default)"), "{methods}");

    // The phone becomes the default, the app goes.
    walk.click("#default-2", "phone-default").await;
    assert!(walk.text("#method-2").await.contains("(default)"));
    walk.click("#remove-1", "app-removed").await;
    assert!(walk.text("#notice").await.contains("removed"));
    assert!(!walk.has("#method-1").await);
    walk.log_out().await;

    // The next login texts a code to the phone.
    clock().advance(TimeDelta::minutes(1));
    walk.log_in("alice", "alice-demo-password", "login-by-sms")
        .await;
    assert_eq!(walk.path().await, "/login/2fa");
    assert!(walk.text("main").await.contains("••• 3456"));

    // Ten minutes after the last second factor, a change needs a step-up:
    // "Confirm it's you" asks for it and comes back to the settings.
    let code = code_from_outbox(&mut walk, "sms").await;
    walk.goto("/login/2fa", "login-code-screen").await;
    walk.fill("#code", &code).await;
    walk.click("#submit-code", "logged-in-by-sms").await;
    clock().advance(TimeDelta::minutes(10));
    walk.goto("/settings", "settings-later").await;
    walk.click("#add-app", "add-app-refused").await;
    assert!(walk.has("#sign-in-again").await);
    walk.click("#sign-in-again-button", "step-up-challenge")
        .await;
    assert_eq!(walk.path().await, "/login/2fa");
    let code = code_from_outbox(&mut walk, "sms").await;
    walk.goto("/login/2fa", "step-up-code-screen").await;
    walk.fill("#code", &code).await;
    walk.click("#submit-code", "stepped-up").await;
    assert_eq!(walk.path().await, "/settings");
    walk.click("#add-app", "adding-app").await;
    assert!(walk.has("#adding-app").await);
    let new_key = manual_key(&walk.client.source().await.unwrap());
    assert_ne!(new_key, key);
    let code = totp_code(&new_key, server.portal.twofa().now());
    walk.fill("#add-code", &code).await;
    walk.click("#confirm-method", "app-added-again").await;
    assert!(walk.text("#methods").await.contains("authenticator app"));
    walk.finish().await;
}

#[tokio::test]
async fn walk_company_changes_need_the_administrators_recent_second_factor() {
    let server = start_local().await;
    let clock = || server.portal.demo_clock().unwrap();
    let mut walk = Walk::start(&server, "admin-step-up").await;
    walk.log_in("admin", "admin-demo-password", "admin-setup-prompt")
        .await;
    let key = set_up_app(&mut walk, &server).await;
    walk.goto("/company", "company-settings").await;
    walk.fill("#network", "127.0.0.0/24").await;
    walk.fill("#label", "This machine").await;
    walk.click("#add-network", "network-added").await;
    assert!(
        walk.text("#trusted-networks")
            .await
            .contains("127.0.0.0/24")
    );
    walk.log_out().await;
    // A second factor answered on the trusted network earns the grant.
    clock().advance(TimeDelta::minutes(1));
    walk.log_in("admin", "admin-demo-password", "admin-prompted")
        .await;
    let code = totp_code(&key, server.portal.twofa().now());
    walk.fill("#code", &code).await;
    walk.click("#submit-code", "admin-home").await;
    walk.log_out().await;

    // Eleven minutes later the admin logs in from the trusted network: no
    // prompt, and so no recent second factor for company changes.
    clock().advance(TimeDelta::minutes(11));
    walk.log_in("admin", "admin-demo-password", "admin-trusted")
        .await;
    assert_eq!(walk.path().await, "/home");
    walk.goto("/company", "company-again").await;
    walk.fill("#network", "127.1.0.0/24").await;
    walk.fill("#label", "Lab").await;
    walk.click("#add-network", "network-refused").await;
    let notice = walk.text("#notice").await;
    assert!(notice.contains("Confirm it's you"), "{notice}");
    assert!(
        !walk
            .text("#trusted-networks")
            .await
            .contains("127.1.0.0/24")
    );

    // The step-up asks for the app even on the trusted network.
    walk.click("#step-up-company", "step-up-challenge").await;
    assert_eq!(walk.path().await, "/login/2fa");
    let code = totp_code(&key, server.portal.twofa().now());
    walk.fill("#code", &code).await;
    walk.click("#submit-code", "stepped-up").await;
    assert_eq!(walk.path().await, "/company");
    walk.fill("#network", "127.1.0.0/24").await;
    walk.fill("#label", "Lab").await;
    walk.click("#add-network", "network-added-after-step-up")
        .await;
    assert!(
        walk.text("#trusted-networks")
            .await
            .contains("127.1.0.0/24")
    );
    walk.finish().await;
}

#[tokio::test]
async fn walk_a_flood_of_cookie_less_requests_leaves_the_browser_logged_in() {
    let options = twofa_portal::PortalOptions::new()
        .with_cookies(twofa_portal::CookieSecurity::PlainHttpLocalhost)
        .with_pre_login_sessions(100);
    let server = super::start(options).await;
    let mut walk = Walk::start(&server, "flood").await;
    walk.log_in("alice", "alice-demo-password", "setup-prompt")
        .await;
    set_up_app(&mut walk, &server).await;
    // Ten times the pre-login pool, each request without a cookie.
    for _ in 0..1_000 {
        let reply = super::Browser::new(&server).get("/login").await;
        assert_eq!(reply.status, axum::http::StatusCode::OK);
    }
    let counts = server.portal.session_counts().await.unwrap();
    assert_eq!(counts.pre_login, 100, "{counts:?}");
    walk.goto("/home", "home-after-flood").await;
    assert_eq!(walk.path().await, "/home", "still logged in");
    walk.goto("/settings", "settings-after-flood").await;
    assert_eq!(walk.path().await, "/settings");
    walk.finish().await;
}
