//! A stand-in for Twilio on 127.0.0.1: it checks every request against
//! Twilio's documented API (method, path with the account SID, form field
//! names, HTTP Basic credentials) and answers with the JSON Twilio
//! documents, as scripted by the test.
//!
//! Shapes from Twilio's OpenAPI description (`twilio_api_v2010.json`:
//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form fields
//! `To`, `From` or `MessagingServiceSid`, `Body`, `StatusCallback`, 201
//! with the message resource; `…/Calls.json`, `To`, `From`, `Twiml`,
//! `StatusCallback`; `twilio_lookups_v2.json`:
//! `GET /v2/PhoneNumbers/{PhoneNumber}?Fields=line_type_intelligence`) and
//! its error format (`code`, `message`, `more_info`, `status`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;

/// What the stand-in answers to the next request.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// 201 with the created message or call resource, `status: queued`.
    Created,
    /// A Twilio error: HTTP `status`, error `code`, and Twilio's message,
    /// which (as Twilio's does) quotes the `To` number.
    Error { status: u16, code: u32 },
    /// 429 with `Retry-After: seconds` and error 20429.
    Throttled { retry_after: &'static str },
    /// 500 with error 20500.
    ServerError,
    /// Never answers.
    Hang,
    /// 200 with this Lookup answer's `line_type_intelligence` object.
    LineType(serde_json::Value),
}

/// A request as the stand-in saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) form: Vec<(String, String)>,
}

impl Seen {
    /// The value of form field `name`.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub(crate) fn names(&self) -> Vec<&str> {
        self.form.iter().map(|(name, _)| name.as_str()).collect()
    }
}

#[derive(Debug, Default)]
struct Inner {
    script: VecDeque<Reply>,
    seen: Vec<Seen>,
    violations: Vec<String>,
}

#[derive(Debug, Clone)]
struct Shared {
    account: String,
    authorization: String,
    inner: Arc<Mutex<Inner>>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The running stand-in.
#[derive(Debug)]
pub(crate) struct StandIn {
    pub(crate) base_url: String,
    shared: Shared,
}

impl StandIn {
    /// Starts a stand-in for `account`, accepting HTTP Basic `user` and
    /// `password`, answering with `script` in order.
    pub(crate) async fn start(
        account: &str,
        user: &str,
        password: &str,
        script: Vec<Reply>,
    ) -> Self {
        crate::capture::install();
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let shared = Shared {
            account: account.to_owned(),
            authorization: format!("Basic {credentials}"),
            inner: Arc::new(Mutex::new(Inner {
                script: script.into(),
                ..Inner::default()
            })),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let app = Router::new().fallback(handle).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base_url: format!("http://{address}"),
            shared,
        }
    }

    /// Asserts that exactly `count` requests came, all as documented, and
    /// that the script was used up.
    pub(crate) fn assert_requests(&self, count: usize) -> Vec<Seen> {
        let inner = self.shared.lock();
        assert_eq!(
            inner.violations,
            Vec::<String>::new(),
            "undocumented requests"
        );
        assert_eq!(inner.seen.len(), count, "requests: {:#?}", inner.seen);
        assert!(
            inner.script.is_empty(),
            "unused replies: {:?}",
            inner.script
        );
        inner.seen.clone()
    }
}

const MESSAGE_FIELDS: &[&str] = &[
    "To",
    "From",
    "MessagingServiceSid",
    "Body",
    "StatusCallback",
];
const CALL_FIELDS: &[&str] = &["To", "From", "Twiml", "StatusCallback"];

fn is_e164(text: &str) -> bool {
    text.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Checks a request against the documented API; returns what is wrong.
fn check(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Vec<String> {
    let mut wrong = Vec::new();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if authorization != Some(shared.authorization.as_str()) {
        wrong.push("missing or wrong HTTP Basic credentials".to_owned());
    }
    let path = uri.path();
    let names: Vec<&str> = form.iter().map(|(name, _)| name.as_str()).collect();
    let has = |name: &str| names.contains(&name);
    let value = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, v)| v.as_str())
    };
    let prefix = format!("/2010-04-01/Accounts/{}/", shared.account);
    if let Some(resource) = path.strip_prefix(&prefix) {
        if method != Method::POST {
            wrong.push(format!("{method} on {path}"));
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if content_type != Some("application/x-www-form-urlencoded") {
            wrong.push(format!("content type {content_type:?}"));
        }
        if uri.query().is_some() {
            wrong.push("query on a POST".to_owned());
        }
        let allowed = match resource {
            "Messages.json" => {
                if !has("Body") {
                    wrong.push("message without Body".to_owned());
                }
                if has("From") == has("MessagingServiceSid") {
                    wrong.push(
                        "message needs exactly one of From and MessagingServiceSid".to_owned(),
                    );
                }
                MESSAGE_FIELDS
            }
            "Calls.json" => {
                if !has("From") || !has("Twiml") {
                    wrong.push("call without From or Twiml".to_owned());
                }
                CALL_FIELDS
            }
            other => {
                wrong.push(format!("unknown resource {other}"));
                &[]
            }
        };
        for name in &names {
            if !allowed.contains(name) {
                wrong.push(format!("undocumented field {name}"));
            }
        }
        if !value("To").is_some_and(is_e164) {
            wrong.push("To is not E.164".to_owned());
        }
        if value("From").is_some_and(|from| !is_e164(from)) {
            wrong.push("From is not E.164".to_owned());
        }
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() != names.len() {
            wrong.push("a field given twice".to_owned());
        }
    } else if let Some(number) = path.strip_prefix("/v2/PhoneNumbers/") {
        if method != Method::GET {
            wrong.push(format!("{method} on {path}"));
        }
        if !is_e164(number) {
            wrong.push("lookup of a number not in E.164 form".to_owned());
        }
        if uri.query() != Some("Fields=line_type_intelligence") {
            wrong.push(format!("lookup query {:?}", uri.query()));
        }
    } else {
        wrong.push(format!("unknown path {path}"));
    }
    wrong
}

fn json(status: u16, body: serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error_body(status: u16, code: u32, message: &str) -> serde_json::Value {
    serde_json::json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    })
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let wrong = check(&shared, &method, &uri, &headers, &form);
    let reply = {
        let mut inner = shared.lock();
        inner.seen.push(Seen {
            method: method.clone(),
            path: uri.path().to_owned(),
            form: form.clone(),
        });
        if !wrong.is_empty() {
            inner.violations.extend(wrong);
            return json(
                400,
                error_body(400, 20001, "request does not follow the API"),
            );
        }
        match inner.script.pop_front() {
            Some(reply) => reply,
            None => {
                inner
                    .violations
                    .push(format!("unexpected request {method} {}", uri.path()));
                return json(500, error_body(500, 20500, "no scripted reply"));
            }
        }
    };
    let to = form
        .iter()
        .find(|(name, _)| name == "To")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    match reply {
        Reply::Created => json(201, created(&shared.account, uri.path(), &form)),
        Reply::Error { status, code } => json(
            status,
            error_body(
                status,
                code,
                &format!("The 'To' number {to} is not a valid phone number."),
            ),
        ),
        Reply::Throttled { retry_after } => {
            let mut response = json(429, error_body(429, 20429, "Too Many Requests"));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after.parse().unwrap());
            response
        }
        Reply::ServerError => json(500, error_body(500, 20500, "Internal Server Error")),
        Reply::Hang => {
            std::future::pending::<()>().await;
            json(500, error_body(500, 20500, "unreachable"))
        }
        Reply::LineType(line_type_intelligence) => {
            let number = uri
                .path()
                .trim_start_matches("/v2/PhoneNumbers/")
                .to_owned();
            json(
                200,
                serde_json::json!({
                    "calling_country_code": "1",
                    "country_code": if number.starts_with("+1") { "US" } else { "GB" },
                    "phone_number": number,
                    "national_format": null,
                    "valid": true,
                    "validation_errors": [],
                    "caller_name": null,
                    "sim_swap": null,
                    "call_forwarding": null,
                    "line_status": null,
                    "line_type_intelligence": line_type_intelligence,
                    "identity_match": null,
                    "reassigned_number": null,
                    "sms_pumping_risk": null,
                    "phone_number_quality_score": null,
                    "pre_fill": null,
                    "url": format!("https://lookups.twilio.com/v2/PhoneNumbers/{number}"),
                }),
            )
        }
    }
}

/// The created resource, as Twilio answers it: it echoes the request,
/// the message body included.
fn created(account: &str, path: &str, form: &[(String, String)]) -> serde_json::Value {
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let call = path.ends_with("/Calls.json");
    let sid = format!("{}{}", if call { "CA" } else { "SM" }, "5e".repeat(16));
    let collection = if call { "Calls" } else { "Messages" };
    serde_json::json!({
        "account_sid": account,
        "api_version": "2010-04-01",
        "body": field("Body"),
        "date_created": "Sun, 01 Mar 2026 09:00:00 +0000",
        "date_sent": null,
        "date_updated": "Sun, 01 Mar 2026 09:00:00 +0000",
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": field("From"),
        "messaging_service_sid": field("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": null,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "to": field("To"),
        "uri": format!("/2010-04-01/Accounts/{account}/{collection}/{sid}.json"),
    })
}
