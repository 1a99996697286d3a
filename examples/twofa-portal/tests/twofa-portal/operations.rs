//! What an operator of the portal gets: metrics, and no simulated phone
//! once real providers send the messages.

use std::sync::{Arc, OnceLock};

use axum::http::StatusCode;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use twofa::Channels;
use twofa::delivery::Outbox;
use twofa_portal::{CookieSecurity, PortalOptions};

use crate::{Browser, start};

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
