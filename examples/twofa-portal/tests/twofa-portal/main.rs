//! The portal end to end: HTTP-level tests against the in-process server
//! (always), and browser walks in a real headless Chromium (with
//! `TWOFA_BROWSER_TESTS=1`, see `tests/browser/`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a failed unwrap is a failed test"
)]

#[cfg(browser_tests)]
#[path = "../browser/mod.rs"]
mod browser;

mod account;
mod company;
mod limits;
mod login;
mod operations;
mod passkey;
mod postgres;
mod security;
mod shared;

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use twofa::otp::{KeyUri, Secret};
use twofa_portal::{CookieSecurity, Portal, PortalOptions, PublicOrigin, relying_party_for, serve};

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

/// The portal in demo mode (simulated phone, demo clock) on a free
/// loopback port.
async fn start(options: PortalOptions) -> Server {
    start_serving(options.with_demo().with_demo_clock(start_instant())).await
}

/// The portal as `options` say, on a free loopback port.
async fn start_serving(options: PortalOptions) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve_on(listener, options).await
}

/// The portal as `options` say, on `listener`.
async fn serve_on(listener: tokio::net::TcpListener, options: PortalOptions) -> Server {
    let addr = listener.local_addr().unwrap();
    let portal = Portal::new(options).await.unwrap();
    let served = portal.clone();
    let task = tokio::spawn(async move {
        serve(listener, &served).await.unwrap();
    });
    Server { addr, portal, task }
}

/// The portal in demo mode with passkeys for `http://localhost:PORT`,
/// the port it listens on.
async fn start_with_passkeys() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let relying_party = relying_party_for(&PublicOrigin::Localhost { port }).unwrap();
    let options = PortalOptions::new()
        .with_cookies(CookieSecurity::PlainHttpLocalhost)
        .with_demo()
        .with_demo_clock(start_instant())
        .with_passkeys(relying_party);
    serve_on(listener, options).await
}

impl Server {
    /// The origin the portal's relying party accepts (for a server of
    /// [`start_with_passkeys`]).
    fn localhost_origin(&self) -> String {
        format!("http://localhost:{}", self.addr.port())
    }
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
    /// Portals taken in turn, one request each (empty: always `base`).
    servers: Vec<String>,
    /// Requests sent, per entry of `servers`.
    sent_to: Vec<usize>,
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
            servers: Vec::new(),
            sent_to: Vec::new(),
        }
    }

    /// A browser whose every request goes to the next of `addrs` in turn
    /// (several servers behind a load balancer without stickiness).
    fn alternating(addrs: &[SocketAddr]) -> Self {
        let mut browser = Self::at(addrs[0]);
        browser.servers = addrs.iter().map(|addr| format!("http://{addr}")).collect();
        browser.sent_to = vec![0; addrs.len()];
        browser
    }

    /// The base URL of the next request.
    fn next_base(&mut self) -> String {
        let total: usize = self.sent_to.iter().sum();
        if self.servers.is_empty() {
            return self.base.clone();
        }
        let index = total % self.servers.len();
        self.sent_to[index] += 1;
        self.servers[index].clone()
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
        let request = Request::get(format!("{}{path}", self.next_base()));
        self.send(request, Body::empty()).await
    }

    async fn post(&mut self, path: &str, pairs: &[(&str, &str)]) -> Reply {
        let request = Request::post(format!("{}{path}", self.next_base()))
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
async fn company_allows(server: &Server, methods: twofa::types::MethodSet) {
    let company = twofa::types::CompanyId::new(twofa_portal::DEMO_COMPANY).unwrap();
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

/// The table of enrolled methods on the settings page.
fn methods_table(page: &str) -> String {
    let start = page
        .find("<table id=\"methods\">")
        .expect("the methods table");
    let table = &page[start..];
    table[..table.find("</table>").unwrap()].to_owned()
}
