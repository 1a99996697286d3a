#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod accounts;
mod device;
mod limits;
mod outbox;
mod pages;
mod postgres;
mod providers;
mod session;
mod starting;
mod views;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use metrics_exporter_prometheus::PrometheusHandle;
use twofa::delivery::{CarrierLookup, Issuer, Outbox, Region, ServerKey};
use twofa::enrollment::EnrollmentPolicy;
use twofa::passkey::{Origin, PasskeyConfigError, RelyingParty};
use twofa::trusted_network::TrustedProxies;
use twofa::types::{CompanyId, UserId};
use twofa::{
    AuditRetention, Channels, Clock, ManualClock, NewCompany, NewUser, ProvisionError, Stores,
    SystemClock, Twofa, XChaChaSealer,
};

pub use accounts::{DEMO_ACCOUNTS, DEMO_COMPANY, DemoAccount, LOAD_PASSWORD, check_password};
pub use limits::PasswordLimits;
pub use providers::{Providers, ProvidersError, StatusCallback};
pub use session::SessionCounts;
pub use starting::{Starting, serve_starting};

use crate::limits::PasswordLimiter;
use crate::outbox::DemoOutbox;
use crate::postgres::SharedState;
use crate::session::{SessionPolicy, SessionStore};
use twofa_store_postgres::PostgresStores;

/// How often the maintenance task removes audit entries older than the
/// retention.
const AUDIT_PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Whether session cookies carry the `Secure` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CookieSecurity {
    /// `Secure` (and the `__Host-` name prefix): the browser sends the
    /// cookie over HTTPS only. For any deployment behind a TLS proxy.
    Secure,
    /// No `Secure` attribute, for a browser talking plain HTTP to a portal
    /// bound to a loopback address on the same machine. Nothing leaves
    /// the machine, so there is no network to protect the cookie from.
    PlainHttpLocalhost,
}

impl CookieSecurity {
    /// The default for a listening address: plain HTTP is tolerated only
    /// on a loopback address; every other address gets `Secure`.
    #[must_use]
    pub fn default_for(listen: SocketAddr) -> Self {
        if listen.ip().is_loopback() {
            Self::PlainHttpLocalhost
        } else {
            Self::Secure
        }
    }
}

/// The portal's two keys: the server key (keyed hashes of out-of-band and
/// recovery codes) and the sealing key (TOTP secrets at rest). With a
/// database the keys must outlive the process, or the stored enrollments
/// cannot be read after a restart (logins then fail closed).
#[derive(Clone)]
pub struct PortalKeys {
    bytes: zeroize::Zeroizing<[u8; 64]>,
}

impl std::fmt::Debug for PortalKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PortalKeys([REDACTED])")
    }
}

impl PortalKeys {
    /// Reads 128 hexadecimal digits: the 32-byte server key, then the
    /// 32-byte sealing key.
    ///
    /// # Errors
    ///
    /// [`PortalError::Keys`] for any other length or a non-hex digit.
    pub fn from_hex(text: &str) -> Result<Self, PortalError> {
        let text = text.trim().as_bytes();
        let mut bytes = zeroize::Zeroizing::new([0_u8; 64]);
        if text.len() != 128 {
            return Err(PortalError::Keys);
        }
        for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
            let digit = |c: u8| char::from(c).to_digit(16).ok_or(PortalError::Keys);
            let value = digit(*pair.first().ok_or(PortalError::Keys)?)? * 16
                + digit(*pair.get(1).ok_or(PortalError::Keys)?)?;
            *byte = u8::try_from(value).map_err(|_| PortalError::Keys)?;
        }
        Ok(Self { bytes })
    }

    /// Fresh random keys (lost when the process ends).
    fn generate() -> Result<Self, PortalError> {
        let mut bytes = zeroize::Zeroizing::new([0_u8; 64]);
        getrandom::fill(bytes.as_mut_slice()).map_err(|_| PortalError::Random)?;
        Ok(Self { bytes })
    }

    fn server_key(&self) -> &[u8] {
        self.bytes.get(..32).unwrap_or_default()
    }

    fn sealing_key(&self) -> &[u8] {
        self.bytes.get(32..).unwrap_or_default()
    }
}

/// How the portal runs.
#[derive(Clone)]
pub struct PortalOptions {
    cookies: CookieSecurity,
    demo: bool,
    demo_clock: Option<DateTime<Utc>>,
    proxies: TrustedProxies,
    access_log: bool,
    load_accounts: u16,
    stores: Option<Stores>,
    database: Option<PostgresStores>,
    keys: Option<PortalKeys>,
    password_limits: PasswordLimits,
    sessions: SessionPolicy,
    audit_retention: AuditRetention,
    channels: Option<Channels>,
    carrier: Option<Arc<dyn CarrierLookup>>,
    metrics: Option<PrometheusHandle>,
    status_callback: Option<StatusCallback>,
    passkeys: Option<RelyingParty>,
}

impl std::fmt::Debug for PortalOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalOptions")
            .field("cookies", &self.cookies)
            .field("demo", &self.demo)
            .field("demo_clock", &self.demo_clock)
            .field("access_log", &self.access_log)
            .field("real_channels", &self.channels.is_some())
            .field("carrier_lookup", &self.carrier.is_some())
            .field("metrics", &self.metrics.is_some())
            .field("passkeys", &self.passkeys)
            .finish_non_exhaustive()
    }
}

impl Default for PortalOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl PortalOptions {
    /// Secure cookies, the system clock, no trusted proxies, no access
    /// log.
    #[must_use]
    pub fn new() -> Self {
        Self {
            cookies: CookieSecurity::Secure,
            demo: false,
            demo_clock: None,
            proxies: TrustedProxies::none(),
            access_log: false,
            load_accounts: 0,
            stores: None,
            database: None,
            keys: None,
            password_limits: PasswordLimits::default(),
            sessions: SessionPolicy::default(),
            audit_retention: AuditRetention::default(),
            channels: None,
            carrier: None,
            metrics: None,
            status_callback: None,
            passkeys: None,
        }
    }

    /// The cookie attributes (see [`CookieSecurity::default_for`]).
    #[must_use]
    pub fn with_cookies(mut self, cookies: CookieSecurity) -> Self {
        self.cookies = cookies;
        self
    }

    /// Demo mode: the simulated phone pages (`/device/outbox`,
    /// `/device/phone`) show what the portal would have sent, codes
    /// included. They answer loopback clients only, and [`serve`] refuses
    /// a listener on any other address. Never for production.
    #[must_use]
    pub fn with_demo(mut self) -> Self {
        self.demo = true;
        self
    }

    /// A demo clock starting at `start` instead of the system clock: the
    /// device side gets a page that moves it forward, so that the 48-hour
    /// and 21-day behaviours can be seen. Demo mode only ([`Portal::new`]
    /// refuses it without [`PortalOptions::with_demo`]); never for
    /// production.
    #[must_use]
    pub fn with_demo_clock(mut self, start: DateTime<Utc>) -> Self {
        self.demo_clock = Some(start);
        self
    }

    /// The reverse proxies whose `X-Forwarded-For` / `Forwarded` headers
    /// are believed. From any other peer the headers are ignored and the
    /// socket address is the client.
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// Keeps the records in `stores` (a database) instead of fresh
    /// in-memory stores. The demo company and accounts are created there if
    /// missing.
    #[must_use]
    pub fn with_stores(mut self, stores: Stores) -> Self {
        self.stores = Some(stores);
        self
    }

    /// Keeps everything in PostgreSQL: the records (as
    /// [`PortalOptions::with_stores`] with `database.stores()`) and the
    /// portal's own state (sessions, password-failure counters and, in
    /// demo mode, the simulated outbox, in `twofa_portal_*` tables created
    /// at start), so that several servers on the database serve any
    /// request of any browser. Needs the same [`PortalKeys`] on every
    /// server: session rows are sealed.
    #[must_use]
    pub fn with_database(mut self, database: PostgresStores) -> Self {
        self.stores = Some(database.stores());
        self.database = Some(database);
        self
    }

    /// How many wrong passwords an account and an address may try (see
    /// [`PasswordLimits`]).
    #[must_use]
    pub fn with_password_limits(mut self, limits: PasswordLimits) -> Self {
        self.password_limits = limits;
        self
    }

    /// At most `capacity` sessions of browsers that have not given a
    /// password (10,000 by default; at least 1): beyond it the oldest of
    /// them end. Sessions after an accepted password are kept apart and
    /// never make room for these.
    #[must_use]
    pub fn with_pre_login_sessions(mut self, capacity: usize) -> Self {
        self.sessions.pre_login_capacity = capacity.max(1);
        self
    }

    /// How long audit entries are kept (400 days by default); the
    /// maintenance task ([`Portal::purge_expired_logins_every`]) removes
    /// older ones every hour.
    #[must_use]
    pub fn with_audit_retention(mut self, retention: AuditRetention) -> Self {
        self.audit_retention = retention;
        self
    }

    /// Uses `keys` instead of random per-process keys (needed with a
    /// database, see [`PortalKeys`]).
    #[must_use]
    pub fn with_keys(mut self, keys: PortalKeys) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Seeds `count` more partner employees, `load-00001` and on, all with
    /// the password [`LOAD_PASSWORD`] (for the load bench).
    #[must_use]
    pub fn with_load_accounts(mut self, count: u16) -> Self {
        self.load_accounts = count;
        self
    }

    /// One `tracing` event per request (target `twofa_portal::access`):
    /// method, path, status and duration (never a query string, form
    /// field, cookie or header).
    #[must_use]
    pub fn with_access_log(mut self) -> Self {
        self.access_log = true;
        self
    }

    /// Real providers for codes, calls, email and notices (for example
    /// `twofa-twilio` and `twofa-smtp`) instead of the recording outbox.
    /// The simulated phone pages (`/device/…`) exist only without them,
    /// in demo mode.
    #[must_use]
    pub fn with_channels(mut self, channels: Channels) -> Self {
        self.channels = Some(channels);
        self
    }

    /// A carrier lookup for the line type of numbers being set up.
    #[must_use]
    pub fn with_carrier_lookup(mut self, lookup: Arc<dyn CarrierLookup>) -> Self {
        self.carrier = Some(lookup);
        self
    }

    /// The real providers of [`Providers::from_env`]: their channels, the
    /// carrier lookup and, when configured, the check of Twilio's status
    /// callbacks at `/hooks/twilio/status`.
    #[must_use]
    pub fn with_providers(mut self, providers: Providers) -> Self {
        self.channels = Some(providers.channels);
        self.carrier = Some(providers.carrier);
        self.status_callback = providers.status_callback;
        self
    }

    /// Accepts Twilio's signed status callbacks at `/hooks/twilio/status`
    /// and records their delivery receipts.
    #[must_use]
    pub fn with_status_callback(mut self, callback: StatusCallback) -> Self {
        self.status_callback = Some(callback);
        self
    }

    /// Passkeys, registered with and checked against `relying_party`: its
    /// id and the origins the portal's pages are served from (see
    /// [`relying_party_for`]). Without it passkeys are offered to nobody.
    #[must_use]
    pub fn with_passkeys(mut self, relying_party: RelyingParty) -> Self {
        self.passkeys = Some(relying_party);
        self
    }

    /// Serves `/metrics` (Prometheus text format) from this recorder's
    /// handle, to loopback clients only.
    #[must_use]
    pub fn with_metrics(mut self, handle: PrometheusHandle) -> Self {
        self.metrics = Some(handle);
        self
    }
}

/// The portal could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortalError {
    /// The operating system's random generator failed (keys and session
    /// identifiers need it).
    #[error("the random generator is unavailable")]
    Random,
    /// A demo record could not be built or stored.
    #[error("the demo data could not be seeded")]
    Seed,
    /// The keys are not 128 hexadecimal digits.
    #[error("the keys must be 128 hexadecimal digits")]
    Keys,
    /// A demo clock was asked for outside demo mode.
    #[error("the demo clock needs demo mode")]
    DemoClockWithoutDemo,
    /// Demo mode on an address other than a loopback one: anyone who
    /// reached the simulated phone pages could read the codes.
    #[error("demo mode listens on a loopback address only (127.0.0.1 or ::1), not {listen}")]
    DemoNotOnLoopback {
        /// The refused address.
        listen: SocketAddr,
    },
    /// The portal's tables could not be created in the database.
    #[error("the portal's tables could not be created in the database")]
    Database,
    /// The session store (the database, when there is one) did not
    /// answer.
    #[error("the session store did not answer")]
    Sessions,
    /// The 2FA service could not be built.
    #[error("the 2FA service could not be built: {0}")]
    Service(#[from] twofa::BuildError),
}

/// The portal: the 2FA service, the recording outbox, the sessions.
#[derive(Debug, Clone)]
pub struct Portal {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) twofa: Twofa,
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) sealer: Arc<XChaChaSealer>,
    pub(crate) clock: Option<Arc<ManualClock>>,
    /// Demo mode (see [`PortalOptions::with_demo`]).
    pub(crate) demo: bool,
    pub(crate) sessions: SessionStore,
    pub(crate) device_sessions: SessionStore,
    pub(crate) password_limiter: PasswordLimiter,
    pub(crate) audit_retention: AuditRetention,
    /// The proxies whose forwarding headers are believed (for the
    /// address the password limits count).
    pub(crate) proxies: TrustedProxies,
    /// Demo mode's outbox, shown by the device pages.
    pub(crate) demo_senders: Option<Arc<DemoOutbox>>,
    pub(crate) cookies: CookieSecurity,
    pub(crate) access_log: bool,
    /// Demo mode without real providers: messages go to the outbox that
    /// the device pages show.
    pub(crate) demo_outbox: bool,
    pub(crate) metrics: Option<PrometheusHandle>,
    pub(crate) status_callback: Option<StatusCallback>,
    pub(crate) company: CompanyId,
    pub(crate) accounts: Vec<&'static DemoAccount>,
    /// How recent the last second factor must be for a number change or
    /// new recovery codes (the enrollment policy's step-up window), for
    /// the pages that explain it.
    pub(crate) step_up: TimeDelta,
}

impl Portal {
    /// A portal with in-memory stores, seeded with [`DEMO_ACCOUNTS`] in
    /// the company [`DEMO_COMPANY`], every message recorded in an outbox.
    ///
    /// # Errors
    ///
    /// [`PortalError`] if the random generator fails or seeding fails,
    /// and [`PortalError::DemoClockWithoutDemo`] for a demo clock outside
    /// demo mode.
    pub async fn new(options: PortalOptions) -> Result<Self, PortalError> {
        if options.demo_clock.is_some() && !options.demo {
            return Err(PortalError::DemoClockWithoutDemo);
        }
        let outbox = Arc::new(Outbox::new());
        // Without configured keys they live as long as the process, like
        // the in-memory stores they protect. A real portal loads them from
        // its secret store.
        let keys = match options.keys {
            Some(keys) => keys,
            None => PortalKeys::generate()?,
        };
        let key = ServerKey::from_bytes(keys.server_key()).map_err(|_| PortalError::Keys)?;
        let sealer =
            Arc::new(XChaChaSealer::from_bytes(keys.sealing_key()).map_err(|_| PortalError::Keys)?);
        let issuer = Issuer::new("Partner Portal").map_err(|_| PortalError::Seed)?;
        let clock = options
            .demo_clock
            .map(|start| Arc::new(ManualClock::new(start)));
        let clock_source: Arc<dyn Clock> = match &clock {
            Some(manual) => manual.clone(),
            None => Arc::new(SystemClock),
        };
        let region = Region::new("US").map_err(|_| PortalError::Seed)?;
        let stores = options.stores.unwrap_or_else(Stores::in_memory);
        let enrollment = EnrollmentPolicy::default();
        let step_up = enrollment.step_up_freshness();
        let demo_outbox = options.demo && options.channels.is_none();
        let mut accounts: Vec<&'static DemoAccount> = DEMO_ACCOUNTS.iter().collect();
        accounts.extend(accounts::load_accounts(options.load_accounts));
        let shared = match &options.database {
            Some(database) => Some(
                SharedState::open(database.pool().clone(), sealer.clone(), &accounts)
                    .await
                    .map_err(|_| PortalError::Database)?,
            ),
            None => None,
        };
        let demo_senders = demo_outbox.then(|| {
            Arc::new(DemoOutbox::new(
                outbox.clone(),
                shared.clone(),
                clock_source.clone(),
            ))
        });
        let channels = match (options.channels, &demo_senders) {
            (Some(channels), _) => channels,
            (None, Some(demo)) => {
                Channels::new(demo.clone(), demo.clone(), demo.clone(), demo.clone())
                    .with_notice_sender(demo.clone())
            }
            (None, None) => Channels::outbox(&outbox),
        };
        let (sessions, device_sessions, password_limiter) = match shared {
            Some(state) => (
                SessionStore::shared(state.clone(), options.sessions, web::Jar::Portal.number()),
                SessionStore::shared(state.clone(), options.sessions, web::Jar::Device.number()),
                PasswordLimiter::shared(options.password_limits, state),
            ),
            None => (
                SessionStore::in_memory(options.sessions, web::Jar::Portal.number()),
                SessionStore::in_memory(options.sessions, web::Jar::Device.number()),
                PasswordLimiter::in_memory(options.password_limits),
            ),
        };
        let mut builder = Twofa::builder()
            .stores(stores)
            .channels(channels)
            .server_key(key)
            .sealer(sealer.clone())
            .issuer(issuer)
            .with_clock(clock_source)
            .with_enrollment_policy(enrollment)
            .with_trusted_proxies(options.proxies.clone())
            .with_default_region(region);
        if let Some(carrier) = options.carrier {
            builder = builder.with_carrier_lookup(carrier);
        }
        if let Some(relying_party) = options.passkeys {
            builder = builder.with_passkeys(relying_party);
        }
        let twofa = builder.build()?;
        let company = CompanyId::new(DEMO_COMPANY).map_err(|_| PortalError::Seed)?;
        seed(&twofa, &company, &accounts).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                twofa,
                outbox,
                sealer,
                clock,
                demo: options.demo,
                sessions,
                device_sessions,
                password_limiter,
                audit_retention: options.audit_retention,
                proxies: options.proxies,
                demo_senders,
                cookies: options.cookies,
                access_log: options.access_log,
                demo_outbox,
                metrics: options.metrics,
                status_callback: options.status_callback,
                company,
                accounts,
                step_up,
            }),
        })
    }

    /// The recording outbox: every SMS, call, email and push the portal
    /// would have sent (without real providers; in demo mode the device
    /// pages show it).
    #[must_use]
    pub fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    /// The demo clock, if the portal runs on one.
    #[must_use]
    pub fn demo_clock(&self) -> Option<&ManualClock> {
        self.inner.clock.as_deref()
    }

    /// The 2FA service.
    #[must_use]
    pub fn twofa(&self) -> &Twofa {
        &self.inner.twofa
    }

    /// The HTTP routes, with the security headers on every response. Serve
    /// it with the peer address available
    /// (`into_make_service_with_connect_info::<SocketAddr>()`), which is
    /// where the client address comes from.
    pub fn router(&self) -> Router {
        let portal = Router::new()
            .route("/", get(pages::login::root))
            .route(
                "/login",
                get(pages::login::login_page).post(pages::login::login),
            )
            .route("/logout", post(pages::login::logout))
            .route("/login/2fa", get(pages::login::second_factor))
            .route("/login/2fa/method", post(pages::setup::choose_method))
            .route("/login/2fa/verify", post(pages::challenge::verify))
            .route("/login/2fa/resend", post(pages::challenge::resend))
            .route("/login/2fa/switch", post(pages::challenge::switch_method))
            .route("/login/2fa/defer", post(pages::setup::defer))
            .route("/login/2fa/recovery", post(pages::challenge::recovery))
            .route("/login/2fa/push", post(pages::challenge::send_push))
            .route("/login/2fa/push/poll", post(pages::challenge::poll_push))
            .route("/login/2fa/passkey", post(pages::passkey::answer))
            .route("/login/2fa/passkey/retry", post(pages::passkey::retry))
            .route("/login/2fa/passkey/back", post(pages::passkey::back))
            .route("/home", get(pages::account::home))
            .route("/settings", get(pages::account::settings))
            .route("/settings/name", post(pages::account::change_name))
            .route("/settings/phone", post(pages::account::change_phone))
            .route(
                "/settings/phone/confirm",
                post(pages::account::confirm_phone),
            )
            .route(
                "/settings/recovery-codes",
                post(pages::account::regenerate_recovery_codes),
            )
            .route("/settings/methods/add", post(pages::methods::add))
            .route("/settings/passkey", post(pages::passkey::confirm))
            .route("/settings/methods/confirm", post(pages::methods::confirm))
            .route("/settings/methods/cancel", post(pages::methods::cancel))
            .route("/settings/methods/remove", post(pages::methods::remove))
            .route(
                "/settings/methods/default",
                post(pages::methods::make_default),
            )
            .route("/step-up", post(pages::methods::step_up))
            .route("/company", get(pages::company::company))
            .route("/company/enforce", post(pages::company::enforce))
            .route("/company/methods", post(pages::company::set_methods))
            .route(
                "/company/phishing-resistance",
                post(pages::company::set_phishing_resistance),
            )
            .route("/company/networks", post(pages::company::add_network))
            .route(
                "/company/networks/remove",
                post(pages::company::remove_network),
            )
            .route("/company/status", get(pages::company::status))
            .route("/company/status.csv", get(pages::company::status_csv))
            .route("/metrics", get(web::metrics))
            .route("/healthz", get(web::healthz))
            .route("/readyz", get(web::readyz))
            .route("/hooks/twilio/status", post(web::twilio_status))
            .route("/static/portal.css", get(web::stylesheet))
            .route("/static/push.js", get(web::push_script))
            .route("/static/passkey.js", get(web::passkey_script))
            .fallback(web::not_found);
        // The simulated phone exists only in demo mode, while messages go
        // to the outbox it reads, and only for loopback clients.
        let portal = if self.inner.demo_outbox {
            let device = Router::new()
                .route("/device/outbox", get(device::outbox))
                .route(
                    "/device/phone",
                    get(device::phone).post(device::answer_push),
                );
            let device = if self.inner.clock.is_some() {
                device.route("/device/clock", get(device::clock).post(device::move_clock))
            } else {
                device
            };
            portal.merge(device.route_layer(axum::middleware::from_fn(web::loopback_only)))
        } else {
            portal
        };
        portal
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                web::security_headers,
            ))
            .with_state(self.clone())
    }

    /// Removes expired pending logins and closed password-failure
    /// windows every `every`, and audit entries older than the retention
    /// ([`PortalOptions::with_audit_retention`]) at the first tick and
    /// then every hour, forever: run it as a task beside the server (any
    /// one server of several may run it; each removal is one conditional
    /// statement).
    pub async fn purge_expired_logins_every(&self, every: std::time::Duration) {
        let mut ticks = tokio::time::interval(every);
        let mut audit_ticks = tokio::time::interval(AUDIT_PURGE_EVERY);
        loop {
            tokio::select! {
                _ = ticks.tick() => self.purge_expired().await,
                _ = audit_ticks.tick() => {
                    self.purge_old_audit_entries().await;
                }
            }
        }
    }

    /// Removes the audit entries older than the retention now, and
    /// returns how many (`None` when the audit log failed: logged).
    pub async fn purge_old_audit_entries(&self) -> Option<u64> {
        let retention = self.inner.audit_retention;
        match self.inner.twofa.purge_old_audit_entries(retention).await {
            Ok(removed) => {
                tracing::info!(
                    target: "twofa_portal::maintenance",
                    removed,
                    retention_days = retention.in_days().get(),
                    "old audit entries purged"
                );
                Some(removed)
            }
            Err(error) => {
                tracing::error!(target: "twofa_portal::maintenance", %error, "audit purge failed");
                None
            }
        }
    }

    async fn purge_expired(&self) {
        match self.inner.twofa.purge_expired_logins().await {
            Ok(removed) => {
                tracing::info!(target: "twofa_portal::maintenance", removed, "expired logins purged");
            }
            Err(error) => {
                tracing::error!(target: "twofa_portal::maintenance", %error, "purge failed");
            }
        }
        let now = self.inner.twofa.now();
        if let Err(error) = self.inner.password_limiter.purge(now).await {
            tracing::error!(target: "twofa_portal::maintenance", %error, "password counters not purged");
        }
    }

    /// How many login sessions the portal holds (in this process, or in
    /// the database shared by every server).
    ///
    /// # Errors
    ///
    /// [`PortalError::Sessions`] when the database does not answer.
    pub async fn session_counts(&self) -> Result<SessionCounts, PortalError> {
        self.inner
            .sessions
            .counts()
            .await
            .map_err(|_| PortalError::Sessions)
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// Whether the portal may listen on `listen`: in demo mode only a
    /// loopback address is accepted.
    ///
    /// # Errors
    ///
    /// [`PortalError::DemoNotOnLoopback`] in demo mode off loopback.
    pub fn check_listen(&self, listen: SocketAddr) -> Result<(), PortalError> {
        if self.inner.demo && !listen.ip().is_loopback() {
            return Err(PortalError::DemoNotOnLoopback { listen });
        }
        Ok(())
    }
}

/// Where the portal's pages are served from, for passkeys.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicOrigin {
    /// `http://localhost:PORT`, for the demo and tests on this machine
    /// (browsers treat `localhost` as a secure context).
    Localhost {
        /// The port the browser connects to.
        port: u16,
    },
    /// The public `https://` URL of the portal (`https://portal.example.com`):
    /// its host is the relying party id.
    Https(String),
}

/// The portal's relying party ("Partner Portal") for `origin`: the rp id
/// `localhost` with the origin `http://localhost:PORT`, or the host of
/// the public URL with that URL as the one origin.
///
/// # Errors
///
/// [`PasskeyConfigError`] for a URL that is not an `https://` origin (a
/// path, a query, a user name or another scheme) or whose host cannot be
/// a relying party id (an IP address).
pub fn relying_party_for(origin: &PublicOrigin) -> Result<RelyingParty, PasskeyConfigError> {
    let (id, origin) = match origin {
        PublicOrigin::Localhost { port } => {
            ("localhost".to_owned(), Origin::insecure_localhost(*port)?)
        }
        PublicOrigin::Https(url) => {
            let origin = Origin::https(url)?;
            (origin.host().to_owned(), origin)
        }
    };
    RelyingParty::new(&id, "Partner Portal", [origin])
}

/// Serves `portal` on `listener` until the task is dropped.
///
/// # Errors
///
/// An I/O error of the listener, and [`std::io::ErrorKind::InvalidInput`]
/// for a portal in demo mode on a listener off loopback
/// ([`Portal::check_listen`]).
pub async fn serve(listener: tokio::net::TcpListener, portal: &Portal) -> std::io::Result<()> {
    portal
        .check_listen(listener.local_addr()?)
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidInput, error))?;
    axum::serve(
        listener,
        portal
            .router()
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

async fn seed(
    twofa: &Twofa,
    company: &CompanyId,
    accounts: &[&'static DemoAccount],
) -> Result<(), PortalError> {
    // Records that already exist (a database seeded by an earlier run)
    // are left as they are.
    let kept = |result: Result<(), ProvisionError>| match result {
        Ok(()) | Err(ProvisionError::CompanyExists | ProvisionError::UserExists) => Ok(()),
        Err(_) => Err(PortalError::Seed),
    };
    kept(twofa.create_company(NewCompany::new(company.clone())).await)?;
    for account in accounts {
        let user = UserId::new(account.login).map_err(|_| PortalError::Seed)?;
        let email =
            twofa::delivery::EmailAddress::parse(account.email).map_err(|_| PortalError::Seed)?;
        let record = NewUser::new(user, company.clone(), account.kind, account.display_name)
            .with_email(email)
            .with_role(account.role);
        kept(twofa.create_user(record).await)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_public_host_or_localhost() {
        let public = PublicOrigin::Https("https://portal.example.com".to_owned());
        let party = relying_party_for(&public).unwrap();
        assert_eq!(party.id(), "portal.example.com");
        assert_eq!(party.origins()[0].as_str(), "https://portal.example.com");
        let with_port = PublicOrigin::Https("https://portal.example.com:8443/".to_owned());
        let party = relying_party_for(&with_port).unwrap();
        assert_eq!(party.id(), "portal.example.com");
        assert_eq!(
            party.origins()[0].as_str(),
            "https://portal.example.com:8443"
        );
        let party = relying_party_for(&PublicOrigin::Localhost { port: 8080 }).unwrap();
        assert_eq!(party.id(), "localhost");
        assert_eq!(party.origins()[0].as_str(), "http://localhost:8080");
        for bad in [
            "http://portal.example.com",
            "https://portal.example.com/login",
            "https://user@portal.example.com",
            "https://[::1]",
            "",
        ] {
            assert!(
                relying_party_for(&PublicOrigin::Https(bad.to_owned())).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn keys_are_128_hex_digits() {
        let hex: String = (0..64).map(|i| format!("{i:02x}")).collect();
        let keys = PortalKeys::from_hex(&hex).unwrap();
        assert_eq!(keys.server_key(), &(0..32).collect::<Vec<u8>>()[..]);
        assert_eq!(keys.sealing_key(), &(32..64).collect::<Vec<u8>>()[..]);
        assert_eq!(format!("{keys:?}"), "PortalKeys([REDACTED])");
        let short = &hex[1..];
        let odd = format!("{}g", &hex[1..]);
        for bad in ["", short, odd.as_str()] {
            assert!(matches!(PortalKeys::from_hex(bad), Err(PortalError::Keys)));
        }
    }
}
