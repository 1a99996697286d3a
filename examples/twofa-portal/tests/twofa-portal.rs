//! The portal end to end: HTTP-level tests against the in-process server
//! (always), and browser walks in a real headless Chromium (with
//! `TWOFA_BROWSER_TESTS=1`, see `browser.rs`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a failed unwrap is a failed test"
)]

#[cfg(browser_tests)]
mod browser;

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, TimeDelta, Utc};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use twofa::otp::{KeyUri, Secret};
use twofa_portal::{CookieSecurity, Portal, PortalOptions, serve};

/// The demo clock's start in every test (a fixed instant, never the wall
/// clock).
fn start_instant() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// The portal served on a free loopback port.
struct Server {
    addr: SocketAddr,
    portal: Portal,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(options: PortalOptions) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let portal = Portal::new(options.with_demo_clock(start_instant()))
        .await
        .unwrap();
    let served = portal.clone();
    let task = tokio::spawn(async move {
        serve(listener, &served).await.unwrap();
    });
    Server { addr, portal, task }
}

async fn start_local() -> Server {
    start(PortalOptions::new().with_cookies(CookieSecurity::PlainHttpLocalhost)).await
}

/// A response, read whole.
struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |value| value.to_str().unwrap())
    }

    fn location(&self) -> &str {
        self.header("location")
    }

    /// The CSRF token of the first form on the page.
    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_owned()
    }
}

/// A browser stand-in: one cookie jar, no redirects followed.
struct Browser {
    client: Client<HttpConnector, Body>,
    base: String,
    cookies: HashMap<String, String>,
    forwarded_for: Option<String>,
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Browser {
    fn new(server: &Server) -> Self {
        Self::at(server.addr)
    }

    /// A browser for a portal listening at `addr`.
    fn at(addr: SocketAddr) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: format!("http://{addr}"),
            cookies: HashMap::new(),
            forwarded_for: None,
        }
    }

    fn cookie(&self, name: &str) -> Option<&String> {
        self.cookies.get(name)
    }

    async fn send(&mut self, request: axum::http::request::Builder, body: Body) -> Reply {
        let mut request = request;
        if !self.cookies.is_empty() {
            let line = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header(header::COOKIE, line);
        }
        if let Some(forwarded) = &self.forwarded_for {
            request = request.header("x-forwarded-for", forwarded.as_str());
        }
        let response = self
            .client
            .request(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let bytes = axum::body::to_bytes(Body::new(response.into_body()), 1 << 20)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Reply {
        let request = Request::get(format!("{}{path}", self.base));
        self.send(request, Body::empty()).await
    }

    async fn post(&mut self, path: &str, pairs: &[(&str, &str)]) -> Reply {
        let request = Request::post(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.send(request, Body::from(form_encode(pairs))).await
    }

    /// Posts a form of the page at `page`, with that page's CSRF token.
    async fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Reply {
        let csrf = self.get(page).await.csrf();
        let mut pairs = vec![("csrf", csrf.as_str())];
        pairs.extend_from_slice(fields);
        self.post(action, &pairs).await
    }

    /// Posts a form of the settings page and reads the settings page it
    /// leads back to.
    async fn change_setting(&mut self, action: &str, fields: &[(&str, &str)]) -> Reply {
        let reply = self.submit("/settings", action, fields).await;
        assert_eq!(reply.location(), "/settings", "{action}");
        self.get("/settings").await
    }

    /// Answers the verification form with `code`.
    async fn enter_code(&mut self, code: &str) -> Reply {
        self.submit("/login/2fa", "/login/2fa/verify", &[("code", code)])
            .await
    }

    /// "Use another method" with the method id `method`.
    async fn switch_to(&mut self, method: &str) -> Reply {
        self.submit("/login/2fa", "/login/2fa/switch", &[("method", method)])
            .await
    }

    /// Chooses codes by text message to `number` on the set-up screen.
    async fn choose_sms(&mut self, number: &str) -> Reply {
        self.submit(
            "/login/2fa",
            "/login/2fa/method",
            &[("method", "sms"), ("number", number)],
        )
        .await
    }

    async fn log_in(&mut self, login: &str, password: &str) -> Reply {
        self.submit(
            "/login",
            "/login",
            &[("login", login), ("password", password)],
        )
        .await
    }
}

/// The current TOTP code of a manual key read from the QR page.
fn totp_code(manual_key: &str, now: DateTime<Utc>) -> String {
    let secret = Secret::from_base32(manual_key).unwrap();
    let uri = KeyUri::totp("Partner Portal", "test", secret).unwrap();
    let totp = uri.to_totp().unwrap();
    let code = totp
        .generate(u64::try_from(now.timestamp()).unwrap())
        .unwrap();
    code.expose_secret().as_str().to_owned()
}

fn manual_key(page: &str) -> String {
    let marker = "id=\"manual-key\">";
    let start = page.find(marker).expect("the manual key on the page") + marker.len();
    let end = page[start..].find('<').unwrap();
    page[start..start + end].to_owned()
}

/// Logs `login` in and sets up the authenticator app; returns the manual
/// key.
async fn enroll_app(browser: &mut Browser, server: &Server, login: &str, password: &str) -> String {
    enroll(browser, server, login, password, "app").await
}

/// Logs `login` in and sets up `method` (`app` or `push`, both scan a QR
/// code); returns the manual key.
async fn enroll(
    browser: &mut Browser,
    server: &Server,
    login: &str,
    password: &str,
    method: &str,
) -> String {
    let reply = browser.log_in(login, password).await;
    assert_eq!(reply.location(), "/login/2fa");
    let reply = browser
        .submit("/login/2fa", "/login/2fa/method", &[("method", method)])
        .await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = browser.get("/login/2fa").await;
    assert!(page.body.contains("<svg"), "the QR code is inline SVG");
    let key = manual_key(&page.body);
    let now = server.portal.twofa().now();
    let code = totp_code(&key, now);
    let reply = browser.enter_code(&code).await;
    assert_eq!(reply.location(), "/home");
    key
}

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
        .load(&twofa::enforcement::CompanyId::new(twofa_portal::DEMO_COMPANY).unwrap())
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
    let choices: Vec<u8> = prompt.choices.iter().map(|n| n.value()).collect();
    assert!(choices.contains(&shown), "{choices:?} offer {shown}");
    let wrong = choices.iter().find(|n| **n != shown).unwrap().to_string();
    let request = prompt.request.to_string();
    let reply = browser
        .submit(
            "/device/phone",
            "/device/phone",
            &[("user", "bob"), ("request", &request), ("answer", &wrong)],
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

/// What the settings page says when a change needs a fresher second
/// factor (the portal's step-up window is the default 10 minutes).
const SIGN_IN_AGAIN: &str = "For your security, sign in again to make this change: your last two-factor check was more than 10 minutes ago.";

/// The newest code sent by `channel` (`sms`, `call`, `email`), read from
/// the device side's outbox page.
async fn code_from_outbox(browser: &mut Browser, channel: &str) -> String {
    let page = browser.get("/device/outbox").await;
    let marker = format!("<li class=\"message {channel}\">");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("a {channel} message in the outbox"));
    let item = &page.body[start..];
    let body = &item[item.find("<pre class=\"body\">").unwrap()..item.find("</pre>").unwrap()];
    // The first run of six digits (a call script separates them with
    // spaces or commas).
    body.split(|c: char| !(c.is_ascii_digit() || c == ' ' || c == ','))
        .map(|run| run.chars().filter(char::is_ascii_digit).collect::<String>())
        .find(|run| run.len() == 6)
        .unwrap_or_else(|| panic!("a six-digit code in {body:?}"))
}

/// How many messages the outbox page lists.
async fn outbox_len(browser: &mut Browser) -> usize {
    browser
        .get("/device/outbox")
        .await
        .body
        .matches("<li class=\"message ")
        .count()
}

/// Logs the demo account `login` in and sets up codes by text message to
/// `number`.
async fn enroll_sms(browser: &mut Browser, login: &str, number: &str) {
    let password = format!("{login}-demo-password");
    let reply = browser.log_in(login, &password).await;
    assert_eq!(reply.location(), "/login/2fa");
    let reply = browser.choose_sms(number).await;
    assert_eq!(reply.location(), "/login/2fa");
    assert!(
        browser
            .get("/login/2fa")
            .await
            .body
            .contains("id=\"sent-to\"")
    );
    let code = code_from_outbox(browser, "sms").await;
    let reply = browser.enter_code(&code).await;
    assert_eq!(reply.location(), "/home");
}

/// The company allows only `methods` from now on, set straight in the
/// store (as an administration tool would) so that the test needs no
/// administrator login; the company page's form is tested on its own.
async fn company_allows(server: &Server, methods: twofa::enforcement::MethodSet) {
    let company = twofa::enforcement::CompanyId::new(twofa_portal::DEMO_COMPANY).unwrap();
    let stores = server.portal.twofa().stores();
    let loaded = stores.companies().load(&company).await.unwrap().unwrap();
    let policy = twofa::enforcement::CompanyPolicy::builder()
        .with_allowed_methods(methods)
        .build()
        .unwrap();
    stores
        .companies()
        .save(
            &company,
            loaded.record.with_policy(policy),
            Some(loaded.version),
        )
        .await
        .unwrap();
}

/// The demo company's policy, as stored.
async fn company_policy(server: &Server) -> twofa::enforcement::CompanyPolicy {
    let company = twofa::enforcement::CompanyId::new(twofa_portal::DEMO_COMPANY).unwrap();
    let stores = server.portal.twofa().stores();
    let loaded = stores.companies().load(&company).await.unwrap().unwrap();
    *loaded.record.policy()
}

/// The form fields of the checked boxes in the company page's
/// "Two-factor methods" section.
fn allowed_on(page: &str) -> Vec<&'static str> {
    ["app", "push", "sms", "voice"]
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
    use twofa::enforcement::{Method, MethodSet, ResendChannel, ResendChannelSet};

    let server = start_local().await;
    let clock = server.portal.demo_clock().unwrap();
    let mut alice = Browser::new(&server);
    enroll_sms(&mut alice, "alice", "+44 7400 123456").await;
    alice.submit("/home", "/logout", &[]).await;

    let mut admin = Browser::new(&server);
    enroll_app(&mut admin, &server, "admin", "admin-demo-password").await;
    let page = admin.get("/company").await;
    assert!(page.body.contains("Two-factor methods"));
    assert_eq!(allowed_on(&page.body), ["app", "push", "sms", "voice"]);
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
        ResendChannelSet::of(&[ResendChannel::Email]),
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
            ],
        )
        .await;
    assert_eq!(reply.location(), "/company");
    assert_eq!(
        allowed_on(&admin.get("/company").await.body),
        ["app", "push", "sms", "voice"]
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
    assert_eq!(allowed_on(&page.body), ["app", "push", "sms", "voice"]);
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

/// The table of enrolled methods on the settings page.
fn methods_table(page: &str) -> String {
    let start = page
        .find("<table id=\"methods\">")
        .expect("the methods table");
    let table = &page[start..];
    table[..table.find("</table>").unwrap()].to_owned()
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
    use twofa::enforcement::{Method, MethodSet};

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

/// The throwaway PostgreSQL server of the store's tests (or `DATABASE_URL`).
#[path = "../../../crates/twofa-store-postgres/tests/support/cluster.rs"]
mod cluster;

/// The `twofa-portal` binary, running until dropped.
struct PortalProcess {
    child: std::process::Child,
    addr: SocketAddr,
    /// Kept open: the portal goes on printing its demo accounts, and a
    /// closed pipe would end it.
    _stdout: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl PortalProcess {
    /// Starts the binary on a free loopback port with `--database-url`
    /// and fixed keys, and waits for the line that says where it listens.
    fn start(url: &str, log: &std::path::Path) -> Self {
        use std::io::BufRead;

        let keys: String = (0..64_u8).map(|i| format!("{:02x}", i ^ 0x5a)).collect();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_twofa-portal"))
            .args(["--listen", "127.0.0.1:0", "--database-url", url])
            .env("TWOFA_PORTAL_KEYS", keys)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut printed = String::new();
        for line in stdout.by_ref() {
            let line = line.unwrap();
            printed.push_str(&line);
            printed.push('\n');
            if line.contains("stores: PostgreSQL") {
                let marker = "listening on http://";
                let start = printed.find(marker).unwrap() + marker.len();
                let end = printed[start..].find('/').unwrap();
                let addr = printed[start..start + end].parse().unwrap();
                return Self {
                    child,
                    addr,
                    _stdout: stdout,
                };
            }
        }
        let status = child.wait().unwrap();
        panic!(
            "the portal exited ({status}) before serving:\n{printed}{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
}

impl Drop for PortalProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn with_a_database_url_the_records_outlive_the_process() {
    let url = cluster::Cluster::shared()
        .unwrap()
        .database("portal")
        .await
        .unwrap();
    let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("portal-database-url.log");

    // First run: the schema and the demo accounts are created, and Alice
    // sets up codes by text message.
    let first = PortalProcess::start(&url, &log);
    let mut alice = Browser::at(first.addr);
    enroll_sms(&mut alice, "alice", "+44 7400 123456").await;
    drop(first);

    // Second run on the same database and keys: Alice is challenged for
    // the number she set up (not asked to set up 2FA), and her code from
    // this run's outbox lets her in.
    let second = PortalProcess::start(&url, &log);
    let mut alice = Browser::at(second.addr);
    let reply = alice.log_in("alice", "alice-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = alice.get("/login/2fa").await;
    assert!(page.body.contains("2FA Verification"), "{}", page.body);
    assert!(page.body.contains("id=\"sent-to\""));
    let code = code_from_outbox(&mut alice, "sms").await;
    let reply = alice.enter_code(&code).await;
    assert_eq!(reply.location(), "/home");
    let methods = methods_table(&alice.get("/settings").await.body);
    assert!(methods.contains("3456"), "{methods}");
}
