//! What an operator of the portal gets: metrics, and no simulated phone
//! once real providers send the messages.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use twofa::Channels;
use twofa::delivery::{Outbox, SentMessage};
use twofa_portal::{CookieSecurity, PortalOptions, StatusCallback};

use crate::{Browser, start, start_serving};

/// The process-wide recorder the facade's metrics go to.
fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().unwrap())
        .clone()
}

#[tokio::test]
async fn metrics_are_served_in_the_prometheus_format_to_loopback_clients() {
    let options = PortalOptions::new()
        .with_cookies(CookieSecurity::PlainHttpLocalhost)
        .with_metrics(recorder());
    let server = start(options).await;
    let mut browser = Browser::new(&server);
    browser.log_in("bob", "bob-demo-password").await;
    let reply = browser.get("/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("content-type").starts_with("text/plain"));
    assert!(
        reply
            .body
            .contains("twofa_operations_total{operation=\"begin_login\",outcome=\"set_up\"}"),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("twofa_operation_seconds"));

    // Without a recorder there is no such page.
    let plain = start(PortalOptions::new().with_cookies(CookieSecurity::PlainHttpLocalhost)).await;
    let reply = Browser::new(&plain).get("/metrics").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn with_real_channels_the_simulated_phone_pages_do_not_exist() {
    let providers = Arc::new(Outbox::new());
    let options = PortalOptions::new()
        .with_cookies(CookieSecurity::PlainHttpLocalhost)
        .with_channels(Channels::outbox(&providers));
    let server = start(options).await;
    let mut browser = Browser::new(&server);
    for path in ["/device/outbox", "/device/phone", "/device/clock"] {
        assert_eq!(
            browser.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // The messages go to the configured channels.
    browser.log_in("bob", "bob-demo-password").await;
    browser.choose_sms("+44 7400 123456").await;
    assert_eq!(providers.len(), 1);

    let demo = start(PortalOptions::new().with_cookies(CookieSecurity::PlainHttpLocalhost)).await;
    assert_eq!(
        Browser::new(&demo).get("/device/outbox").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_demo_mode_the_simulated_phone_pages_do_not_exist() {
    let options = PortalOptions::new().with_cookies(CookieSecurity::PlainHttpLocalhost);
    let server = start_serving(options.clone()).await;
    let mut browser = Browser::new(&server);
    for path in ["/device/outbox", "/device/phone", "/device/clock"] {
        assert_eq!(
            browser.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // The messages still go to the recording outbox, which only the
    // embedding application reads.
    browser.log_in("bob", "bob-demo-password").await;
    browser.choose_sms("+44 7400 123456").await;
    assert_eq!(server.portal.outbox().len(), 1);
    assert_eq!(
        browser.get("/device/outbox").await.status,
        StatusCode::NOT_FOUND
    );

    // A demo clock outside demo mode is refused, and so is demo mode off
    // loopback.
    let clock = options
        .clone()
        .with_demo_clock(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());
    assert!(matches!(
        twofa_portal::Portal::new(clock).await,
        Err(twofa_portal::PortalError::DemoClockWithoutDemo)
    ));
    let demo = twofa_portal::Portal::new(options.clone().with_demo())
        .await
        .unwrap();
    for refused in ["0.0.0.0:8080", "192.0.2.10:8080", "[::]:8080"] {
        let listen = refused.parse().unwrap();
        let error = demo.check_listen(listen).unwrap_err();
        assert!(error.to_string().contains("loopback"), "{error}");
    }
    for accepted in ["127.0.0.1:8080", "[::1]:8080"] {
        demo.check_listen(accepted.parse().unwrap()).unwrap();
    }
    let plain = twofa_portal::Portal::new(options).await.unwrap();
    plain.check_listen("0.0.0.0:8080".parse().unwrap()).unwrap();
}

/// Runs the binary with `args` and no provider settings, and returns its
/// exit status and standard error once it stops by itself.
fn run_binary(args: &[&str]) -> (std::process::ExitStatus, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_twofa-portal"))
        .args(args)
        .env_remove("TWILIO_ACCOUNT_SID")
        .env_remove("TWOFA_SMTP_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_binary_refuses_to_start_without_demo_or_providers_and_demo_off_loopback() {
    let (status, stderr) = run_binary(&["--listen", "127.0.0.1:0"]);
    assert!(!status.success());
    assert!(stderr.contains("pass --demo"), "{stderr}");
    let (status, stderr) = run_binary(&["--demo", "--listen", "0.0.0.0:0"]);
    assert!(!status.success());
    assert!(stderr.contains("loopback"), "{stderr}");
    let (status, stderr) = run_binary(&["--demo-clock", "--listen", "127.0.0.1:0"]);
    assert!(!status.success());
    assert!(stderr.contains("--demo"), "{stderr}");
}

#[test]
fn the_binary_refuses_a_public_url_that_is_not_an_https_origin() {
    for url in [
        "http://portal.example.com",
        "https://portal.example.com/login",
        "https://203.0.113.7",
        "portal.example.com",
    ] {
        let (status, stderr) =
            run_binary(&["--demo", "--listen", "127.0.0.1:0", "--public-url", url]);
        assert!(!status.success(), "{url}");
        assert!(stderr.contains("--public-url"), "{url}: {stderr}");
    }
}

/// Twilio's signature of a callback: HMAC-SHA1 over the URL and the
/// parameters sorted by name, in base64.
fn twilio_signature(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    use base64::Engine as _;
    use hmac::{KeyInit, Mac};
    let mut sorted = params.to_vec();
    sorted.sort_unstable();
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn a_signed_undelivered_receipt_reaches_the_verification_page() {
    const TOKEN: &str = "0123456789abcdef0123456789abcdef";
    const PUBLIC: &str = "https://portal.example.com/hooks/twilio/status";
    let providers = Arc::new(Outbox::new());
    let options = PortalOptions::new()
        .with_cookies(CookieSecurity::PlainHttpLocalhost)
        .with_channels(Channels::outbox(&providers))
        .with_status_callback(StatusCallback::new(
            twofa_twilio::AuthToken::new(TOKEN).unwrap(),
            PUBLIC,
        ));
    let server = start(options).await;
    let mut browser = Browser::new(&server);
    browser.log_in("bob", "bob-demo-password").await;
    browser.choose_sms("+44 7400 123456").await;
    let Some(SentMessage::Sms(sms)) = providers.last() else {
        panic!("expected the set-up code by SMS");
    };
    assert!(
        !browser
            .get("/login/2fa")
            .await
            .body
            .contains("could not be delivered")
    );

    let query = format!("challenge={}&user={}", sms.challenge, sms.user);
    let params = [("MessageStatus", "undelivered"), ("ErrorCode", "30003")];
    let body = params
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    let post = |signature: String| {
        Request::post(format!(
            "http://{}/hooks/twilio/status?{query}",
            server.addr
        ))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(Body::from(body.clone()))
        .unwrap()
    };
    let client = Client::builder(TokioExecutor::new()).build_http::<Body>();
    // A forged or missing signature changes nothing.
    let forged = twilio_signature("another token", &format!("{PUBLIC}?{query}"), &params);
    for signature in [forged, String::new()] {
        let reply = client.request(post(signature)).await.unwrap();
        assert_eq!(reply.status(), StatusCode::FORBIDDEN);
    }
    assert!(
        !browser
            .get("/login/2fa")
            .await
            .body
            .contains("could not be delivered")
    );

    let signature = twilio_signature(TOKEN, &format!("{PUBLIC}?{query}"), &params);
    let reply = client.request(post(signature)).await.unwrap();
    assert_eq!(reply.status(), StatusCode::NO_CONTENT);
    let page = browser.get("/login/2fa").await;
    assert!(
        page.body.contains("could not be delivered"),
        "{}",
        page.body
    );
}

/// A company store that can be switched off, as a database that went away.
#[derive(Debug)]
struct Switchable {
    inner: twofa::memory::InMemoryStore<twofa::types::CompanyId, twofa::CompanyRecord>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl Switchable {
    fn fail<'a, T: Send + 'a>(
        &self,
        answer: twofa::StoreFuture<'a, Result<T, twofa::StoreError>>,
    ) -> twofa::StoreFuture<'a, Result<T, twofa::StoreError>> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            twofa::StoreFuture::ready(Err(twofa::StoreError::Unavailable))
        } else {
            answer
        }
    }
}

impl twofa::VersionedStore<twofa::types::CompanyId, twofa::CompanyRecord> for Switchable {
    fn load<'a>(
        &'a self,
        key: &'a twofa::types::CompanyId,
    ) -> twofa::StoreFuture<
        'a,
        Result<Option<twofa::Versioned<twofa::CompanyRecord>>, twofa::StoreError>,
    > {
        self.fail(self.inner.load(key))
    }
    fn save<'a>(
        &'a self,
        key: &'a twofa::types::CompanyId,
        record: twofa::CompanyRecord,
        expected: Option<twofa::Version>,
    ) -> twofa::StoreFuture<'a, Result<twofa::Version, twofa::SaveError>> {
        self.inner.save(key, record, expected)
    }
    fn remove<'a>(
        &'a self,
        key: &'a twofa::types::CompanyId,
        expected: twofa::Version,
    ) -> twofa::StoreFuture<'a, Result<(), twofa::SaveError>> {
        self.inner.remove(key, expected)
    }
}

#[tokio::test]
async fn the_health_checks_tell_alive_from_ready() {
    use twofa::memory::{InMemoryAuditLog, InMemoryStore};
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stores = twofa::Stores::new(
        Arc::new(InMemoryStore::new()),
        Arc::new(Switchable {
            inner: InMemoryStore::new(),
            down: down.clone(),
        }),
        Arc::new(InMemoryStore::new()),
        Arc::new(InMemoryStore::new()),
        Arc::new(InMemoryAuditLog::new()),
        Arc::new(twofa::memory::InMemorySendCounters::new()),
    );
    let options = PortalOptions::new()
        .with_cookies(CookieSecurity::PlainHttpLocalhost)
        .with_stores(stores);
    let server = start(options).await;
    let mut browser = Browser::new(&server);
    for path in ["/healthz", "/readyz"] {
        assert_eq!(browser.get(path).await.status, StatusCode::OK, "{path}");
    }
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(browser.get("/healthz").await.status, StatusCode::OK);
    let reply = browser.get("/readyz").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(browser.get("/readyz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn audit_entries_older_than_the_retention_are_purged() {
    let one_day = twofa::AuditRetention::days(std::num::NonZeroU32::MIN);
    let options = PortalOptions::new()
        .with_cookies(CookieSecurity::PlainHttpLocalhost)
        .with_audit_retention(one_day);
    let server = start(options).await;
    Browser::new(&server)
        .log_in("bob", "bob-demo-password")
        .await;
    let audit = server.portal.twofa().stores().audit().clone();
    let written = audit.read(0, 1_000).await.unwrap().len();
    assert!(written > 0);
    // Exactly a day old: kept.
    let clock = server.portal.demo_clock().unwrap();
    clock.advance(chrono::TimeDelta::days(1));
    assert_eq!(server.portal.purge_old_audit_entries().await, Some(0));
    clock.advance(chrono::TimeDelta::seconds(1));
    let removed = server.portal.purge_old_audit_entries().await.unwrap();
    assert_eq!(usize::try_from(removed).unwrap(), written);
    assert!(audit.read(0, 1_000).await.unwrap().is_empty());

    // The binary refuses a retention of zero days.
    let (status, stderr) = run_binary(&["--demo", "--audit-retention-days", "0"]);
    assert!(!status.success());
    assert!(stderr.contains("--audit-retention-days"), "{stderr}");
}
