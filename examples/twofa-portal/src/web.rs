//! HTTP plumbing: security headers, cookies, the session of a request,
//! the client address, uniform refusals, static files.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use askama::Template;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use twofa::ClientContext;
use twofa::trusted_network::ForwardingHeaders;

use crate::session::{Session, SessionStore, Token};
use crate::views::ErrorPage;
use crate::{CookieSecurity, Inner, Portal};

/// The content security policy: scripts and styles only from the portal's
/// own static files (no inline script or style), no framing, forms only to
/// the portal.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   img-src 'self' data:; connect-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every response and writes the access log
/// line (method, path, status, duration: nothing from the query, the body,
/// cookies or headers).
pub(crate) async fn security_headers(
    State(portal): State<Portal>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let is_static = path.starts_with("/static/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    add_fixed_headers(headers);
    // Pages carry codes, keys and account data: never stored by the
    // browser or a cache (the back button after logout shows nothing).
    let cache = if is_static {
        "public, max-age=300"
    } else {
        "no-store"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if portal.inner().cookies == CookieSecurity::Secure {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if portal.inner().access_log {
        log_request(method.as_str(), &path, response.status(), started);
    }
    response
}

/// The headers every response carries, whatever its page.
pub(crate) fn add_fixed_headers(headers: &mut HeaderMap) {
    let fixed: [(HeaderName, &'static str); 6] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

fn log_request(method: &str, path: &str, status: StatusCode, started: Instant) {
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(
        target: "twofa_portal::access",
        method,
        path,
        status = status.as_u16(),
        latency_ms,
        "request"
    );
}

/// Lets only loopback clients reach the simulated phone pages (demo
/// mode): a peer from anywhere else gets the portal's 404, as if the pages
/// did not exist. A request without a peer address is refused the same way.
pub(crate) async fn loopback_only(request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    match peer {
        Some(peer) if peer.ip().is_loopback() => next.run(request).await,
        _ => not_found_page(),
    }
}

/// `GET /metrics`: the Prometheus text format, to loopback clients only
/// (a scraper on the same host or through an SSH tunnel); anyone else, or
/// a portal without a recorder, gets the portal's 404.
pub(crate) async fn metrics(
    State(portal): State<Portal>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
) -> Response {
    match &portal.inner().metrics {
        Some(handle) if peer.ip().is_loopback() => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            )],
            handle.render(),
        )
            .into_response(),
        _ => not_found_page(),
    }
}

/// Which cookie a session lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Jar {
    /// The portal's login session.
    Portal,
    /// The simulated device's session (its own CSRF token; it never
    /// carries a login).
    Device,
}

impl Jar {
    fn name(self, security: CookieSecurity) -> &'static str {
        // `__Host-` binds the cookie to this host, path `/`, Secure
        // (RFC 6265bis §4.1.3.2); without Secure the prefix is not allowed.
        match (self, security) {
            (Self::Portal, CookieSecurity::Secure) => "__Host-portal",
            (Self::Portal, _) => "portal",
            (Self::Device, CookieSecurity::Secure) => "__Secure-device",
            (Self::Device, _) => "device",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::Portal => "/",
            Self::Device => "/device",
        }
    }

    /// The jar's number in the shared sessions table.
    pub(crate) fn number(self) -> u8 {
        match self {
            Self::Portal => 0,
            Self::Device => 1,
        }
    }

    fn store(self, inner: &Inner) -> &SessionStore {
        match self {
            Self::Portal => &inner.sessions,
            Self::Device => &inner.device_sessions,
        }
    }
}

/// The session of one request.
#[derive(Debug)]
pub(crate) struct Current {
    pub(crate) id: Token,
    pub(crate) session: Session,
    jar: Jar,
    /// A `Set-Cookie` value to send (new or rotated session).
    set_cookie: Option<String>,
    /// The session store failed to save a change: the answer is the
    /// "cannot answer" page, never a page that claims the change.
    store_failed: bool,
}

fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn set_cookie(security: CookieSecurity, jar: Jar, value: &str, max_age: Option<u32>) -> String {
    let mut cookie = format!(
        "{}={value}; Path={}; HttpOnly; SameSite=Strict",
        jar.name(security),
        jar.path()
    );
    if security == CookieSecurity::Secure {
        cookie.push_str("; Secure");
    }
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    cookie
}

impl Current {
    /// The request's session, or a new anonymous one.
    pub(crate) async fn load(
        portal: &Portal,
        headers: &HeaderMap,
        jar: Jar,
    ) -> Result<Self, Response> {
        let inner = portal.inner();
        let now = inner.twofa.now();
        let store = jar.store(inner);
        let presented = cookie_value(headers, jar.name(inner.cookies)).and_then(Token::parse);
        if let Some(id) = presented
            && let Some(session) = store.load(&id, now).await.map_err(|_| unavailable())?
        {
            return Ok(Self {
                id,
                session,
                jar,
                set_cookie: None,
                store_failed: false,
            });
        }
        let (id, session) = store.create(now).await.map_err(|_| unavailable())?;
        let set_cookie = Some(set_cookie(inner.cookies, jar, id.expose(), None));
        Ok(Self {
            id,
            session,
            jar,
            set_cookie,
            store_failed: false,
        })
    }

    /// Whether the submitted CSRF token is the session's (synchronizer
    /// token pattern, compared in constant time).
    pub(crate) fn csrf_ok(&self, submitted: &str) -> bool {
        self.set_cookie.is_none() && self.session.csrf.matches(submitted)
    }

    /// Saves the session's state (a failure turns the response into the
    /// "cannot answer" page).
    pub(crate) async fn save(&mut self, portal: &Portal) {
        let saved = self
            .jar
            .store(portal.inner())
            .save(&self.id, &self.session)
            .await;
        if let Err(error) = saved {
            tracing::error!(target: "twofa_portal::sessions", %error, "session not saved");
            self.store_failed = true;
        }
    }

    /// Saves the session under a fresh identifier with a fresh CSRF token.
    pub(crate) async fn rotate(&mut self, portal: &Portal) -> Result<(), Response> {
        let inner = portal.inner();
        let (id, session) = self
            .jar
            .store(inner)
            .rotate(&self.id, self.session.clone(), inner.twofa.now())
            .await
            .map_err(|error| {
                tracing::error!(target: "twofa_portal::sessions", %error, "session not rotated");
                unavailable()
            })?;
        self.session = session;
        self.set_cookie = Some(set_cookie(inner.cookies, self.jar, id.expose(), None));
        self.id = id;
        Ok(())
    }

    /// Ends the session and tells the browser to drop the cookie.
    pub(crate) async fn end(&mut self, portal: &Portal) {
        if let Err(error) = self.jar.store(portal.inner()).remove(&self.id).await {
            tracing::error!(target: "twofa_portal::sessions", %error, "session not ended");
            self.store_failed = true;
        }
        self.set_cookie = Some(set_cookie(portal.inner().cookies, self.jar, "", Some(0)));
    }

    /// Adds the session cookie to a response if it changed.
    pub(crate) fn respond(&self, response: impl IntoResponse) -> Response {
        let mut response = if self.store_failed {
            unavailable()
        } else {
            response.into_response()
        };
        if let Some(cookie) = &self.set_cookie
            && let Ok(value) = HeaderValue::from_str(cookie)
        {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }

    /// A redirect (303: the browser follows with a GET).
    pub(crate) fn redirect(&self, to: &str) -> Response {
        self.respond(Redirect::to(to))
    }
}

/// Where the request came from: the socket peer and the forwarding
/// headers; the service believes the headers only from its configured
/// proxies.
pub(crate) fn client_context(peer: SocketAddr, headers: &HeaderMap) -> ClientContext {
    let mut context = ClientContext::new(peer.ip());
    let joined = |name: &str| {
        let lines: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!lines.is_empty()).then(|| lines.join(", "))
    };
    if let Some(line) = joined("x-forwarded-for") {
        context = context.with_x_forwarded_for(line);
    }
    if let Some(line) = joined("forwarded") {
        context = context.with_forwarded(line);
    }
    context
}

/// The client's address as the configured proxies let it be read (the
/// socket peer when the forwarding headers cannot be believed): what the
/// password limits count per address.
pub(crate) fn client_address(portal: &Portal, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    let joined = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let x_forwarded_for = joined("x-forwarded-for");
    let forwarded = joined("forwarded");
    let mut forwarding = ForwardingHeaders::new();
    if !x_forwarded_for.is_empty() {
        forwarding = forwarding.with_x_forwarded_for(&x_forwarded_for);
    }
    if !forwarded.is_empty() {
        forwarding = forwarding.with_forwarded(&forwarded);
    }
    portal
        .inner()
        .proxies
        .resolve(peer.ip(), &forwarding)
        .ip()
        .unwrap_or(peer.ip())
}

/// Renders a template, or the uniform error page if rendering fails.
pub(crate) fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(_) => unavailable(),
    }
}

/// The one refusal for a form that fails its CSRF check, an expired
/// session or a request the session may not make.
pub(crate) fn refused() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "This page has expired. Go back, reload the page and try again.",
    )
}

/// The uniform page for anything that does not exist or is not the
/// user's to see.
pub(crate) async fn not_found() -> Response {
    not_found_page()
}

/// The uniform "nothing here" page.
pub(crate) fn not_found_page() -> Response {
    error_page(StatusCode::NOT_FOUND, "There is nothing here.")
}

/// The uniform page for an internal failure.
pub(crate) fn unavailable() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The portal cannot answer right now. Please try again.",
    )
}

pub(crate) fn error_page(status: StatusCode, message: &'static str) -> Response {
    let page = ErrorPage { message };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => status.into_response(),
    }
}

/// The style sheet.
pub(crate) async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/portal.css"),
    )
        .into_response()
}

/// The push-approval poller.
pub(crate) async fn push_script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/push.js"),
    )
        .into_response()
}

/// The passkey ceremonies' script (`navigator.credentials`).
pub(crate) async fn passkey_script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/passkey.js"),
    )
        .into_response()
}

/// `POST /hooks/twilio/status`: a delivery receipt from Twilio, checked
/// against its signature (403 without a valid one, or when callbacks are
/// not configured), recorded for the user it names (204), 400 when it
/// cannot be read, 503 when the stores fail (Twilio retries).
pub(crate) async fn twilio_status(
    State(portal): State<Portal>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    axum::extract::Form(params): axum::extract::Form<Vec<(String, String)>>,
) -> StatusCode {
    let Some(callback) = &portal.inner().status_callback else {
        return StatusCode::FORBIDDEN;
    };
    // The URL Twilio called and signed: the public one, with the query
    // the portal gave it.
    let full_url = match uri.query() {
        Some(query) => format!("{}?{query}", callback.url),
        None => callback.url.clone(),
    };
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if twofa_twilio::verify_signature(&callback.token, &full_url, &params, signature).is_err() {
        tracing::warn!(target: "twofa_portal::hooks", "status callback with a bad signature");
        return StatusCode::FORBIDDEN;
    }
    let Ok(report) = twofa_twilio::parse_status_callback(&full_url, &params) else {
        return StatusCode::BAD_REQUEST;
    };
    match portal
        .inner()
        .twofa
        .record_delivery(&report.user, &report.receipt)
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// `GET /healthz`: the process is alive.
pub(crate) async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
        .into_response()
}

/// `GET /readyz`: the stores answer (503 otherwise), so a load balancer
/// sends logins only to a server that can serve them.
pub(crate) async fn readyz(State(portal): State<Portal>) -> Response {
    let (status, body) = match portal.inner().twofa.check_stores().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "stores unavailable\n"),
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes_follow_the_security_mode() {
        let secure = set_cookie(CookieSecurity::Secure, Jar::Portal, "abc", None);
        assert_eq!(
            secure,
            "__Host-portal=abc; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        let local = set_cookie(
            CookieSecurity::PlainHttpLocalhost,
            Jar::Device,
            "abc",
            Some(0),
        );
        assert_eq!(
            local,
            "device=abc; Path=/device; HttpOnly; SameSite=Strict; Max-Age=0"
        );
    }

    #[test]
    fn the_named_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; portal=xyz"));
        headers.append(header::COOKIE, HeaderValue::from_static("device=d"));
        assert_eq!(cookie_value(&headers, "portal"), Some("xyz"));
        assert_eq!(cookie_value(&headers, "device"), Some("d"));
        assert_eq!(cookie_value(&headers, "port"), None);
    }

    #[test]
    fn forwarding_headers_are_passed_on_for_the_service_to_judge() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.7"));
        let context = client_context(peer, &headers);
        assert_eq!(
            context,
            ClientContext::new(peer.ip()).with_x_forwarded_for("203.0.113.7")
        );
    }
}
