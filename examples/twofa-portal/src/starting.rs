//! The portal before it is ready: the server listens at once and answers
//! every request with a 503 "starting" page (`/healthz` with 200, so the
//! process counts as alive; `/readyz` with 503, so no load balancer sends
//! logins here yet) until the database answers and its schema is up to
//! date; from then on every request goes to the portal.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt as _;

use crate::Portal;
use crate::web::error_page;

/// A server that is starting: serve [`Starting::router`] at once, and call
/// [`Starting::ready`] with the portal once it is built.
#[derive(Debug, Clone, Default)]
pub struct Starting {
    portal: Arc<OnceLock<(Portal, Router)>>,
}

impl Starting {
    /// A server that is not ready yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on, every request goes to `portal`. Only the first call
    /// counts.
    pub fn ready(&self, portal: Portal) {
        let router = portal.router();
        // A second portal is ignored: the first one keeps serving.
        let _first = self.portal.set((portal, router));
    }

    /// Whether [`Starting::ready`] was called.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.portal.get().is_some()
    }

    /// The routes: the portal's once ready; until then `/healthz` (200)
    /// and the "starting" page (503) for everything else, `/readyz`
    /// included. Serve it with the peer address available, as
    /// [`Portal::router`].
    pub fn router(&self) -> Router {
        Router::new().fallback(dispatch).with_state(self.clone())
    }
}

async fn dispatch(State(starting): State<Starting>, request: Request) -> Response {
    if let Some((_, router)) = starting.portal.get() {
        return match router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    if request.uri().path() == "/healthz" {
        return crate::web::healthz().await;
    }
    let mut response = error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The portal is starting. Please try again shortly.",
    );
    let headers = response.headers_mut();
    crate::web::add_fixed_headers(headers);
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.into_response()
}

/// Serves `starting` on `listener` until the task is dropped: the
/// "starting" answers first, the portal once [`Starting::ready`] is
/// called.
///
/// # Errors
///
/// An I/O error of the listener.
pub async fn serve_starting(
    listener: tokio::net::TcpListener,
    starting: &Starting,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        starting
            .router()
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
