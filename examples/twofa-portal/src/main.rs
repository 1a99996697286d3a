//! `twofa-portal`: runs the example portal and prints where to find it.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::process::ExitCode;

use clap::Parser;
use twofa::trusted_network::{Cidr, TrustedProxies};
use twofa::{AuditRetention, Clock, SystemClock};
use twofa_portal::{
    CookieSecurity, DEMO_ACCOUNTS, Portal, PortalKeys, PortalOptions, Providers, PublicOrigin,
    Starting, relying_party_for, serve_starting,
};
use twofa_store_postgres::PostgresStores;

/// A partner portal's login with two-factor authentication (example).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on. Anything but a loopback address must sit
    /// behind a TLS-terminating proxy: cookies are then `Secure`.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Mark cookies `Secure` even on a loopback address (for a TLS proxy
    /// on the same machine). Off-loopback they always are.
    #[arg(long)]
    secure_cookies: bool,
    /// Demo mode: no providers, every message goes to an outbox that the
    /// simulated phone pages (/device/outbox, /device/phone) show, codes
    /// included. Loopback addresses only. Never in production.
    #[arg(long)]
    demo: bool,
    /// Start a demo clock that the device pages can move forward (to see
    /// the 48-hour and 21-day behaviours). With --demo only.
    #[arg(long, requires = "demo")]
    demo_clock: bool,
    /// A reverse proxy (CIDR) whose X-Forwarded-For / Forwarded headers
    /// are believed; repeat for several. Without one, the socket peer is
    /// the client.
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    trusted_proxies: Vec<String>,
    /// Keep the records in PostgreSQL (`postgres://user@host/db`) instead
    /// of memory. The schema is created or upgraded at start. Set the keys
    /// in `TWOFA_PORTAL_KEYS` (128 hex digits) so that the records stay
    /// readable across restarts.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Log lines as text or as JSON objects (one per line), on standard
    /// error: the 2FA service's events (operation, user, outcome, reason,
    /// latency; never a code or a full number) and the access log.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// The most detailed level logged: error, warn, info, debug or trace.
    #[arg(long, default_value = "info")]
    log_level: tracing::Level,
    /// Seconds between two purges of expired pending logins.
    #[arg(long, default_value_t = 300)]
    purge_every: u64,
    /// The portal's public address (`https://portal.example.com`), where
    /// browsers open it: passkeys are registered for its host and accepted
    /// from it only. Without it, demo mode serves passkeys on
    /// http://localhost:PORT, and otherwise passkeys are not offered.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Days audit entries are kept; older ones are removed every hour.
    #[arg(long, default_value_t = AuditRetention::default().in_days())]
    audit_retention_days: NonZeroU32,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// Sends the service's `tracing` events to standard error.
fn start_logging(format: LogFormat, level: tracing::Level) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level);
    // A second subscriber cannot be set; the first one stays.
    let _ignored = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The environment variable holding the server and sealing keys.
const KEYS_VARIABLE: &str = "TWOFA_PORTAL_KEYS";

#[expect(clippy::print_stderr, reason = "a start-up warning for the operator")]
fn warn(message: &str) {
    eprintln!("twofa-portal: warning: {message}");
}

#[expect(
    clippy::print_stdout,
    reason = "the server prints its address and demo accounts"
)]
fn announce(
    listen: SocketAddr,
    cookies: CookieSecurity,
    clock: &str,
    stores: &str,
    real: bool,
    passkeys: Option<&PublicOrigin>,
) {
    println!("Partner Portal (twofa example) listening on http://{listen}/");
    println!("  cookies: {cookies:?}; clock: {clock}; stores: {stores}");
    match passkeys {
        Some(PublicOrigin::Localhost { port }) => {
            println!("  passkeys: open http://localhost:{port}/ (relying party id localhost)");
        }
        Some(PublicOrigin::Https(url)) => println!("  passkeys: for {url}"),
        _ => println!("  passkeys: off (no --public-url)"),
    }
    if real {
        println!("  channels: Twilio (texts, calls, line types) and SMTP (email)");
    } else {
        println!("  channels: the demo outbox; the simulated phone is at");
        println!("    http://{listen}/device/outbox  http://{listen}/device/phone");
    }
    println!("Demo accounts:");
    for account in DEMO_ACCOUNTS {
        println!(
            "  {:<6} password {:<22} {} ({})",
            account.login,
            account.password,
            account.display_name,
            account.description()
        );
    }
}

#[expect(clippy::print_stderr, reason = "start-up errors go to standard error")]
fn fail(message: &str) -> ExitCode {
    eprintln!("twofa-portal: {message}");
    ExitCode::FAILURE
}

/// Connects to the database and brings its schema up to date, waiting for
/// a database that is not up yet (1 s, doubling up to 30 s between tries):
/// servers may start before their database does. A URL that cannot be
/// read, or a schema this release refuses, stops at once.
async fn connect_with_backoff(url: &str) -> Result<PostgresStores, String> {
    let mut wait = std::time::Duration::from_secs(1);
    loop {
        match PostgresStores::connect(url).await {
            Ok(database) => match database.migrate().await {
                Ok(_) => return Ok(database),
                Err(twofa_store_postgres::MigrateError::Unavailable) => {}
                Err(error) => return Err(format!("database schema: {error}")),
            },
            Err(twofa_store_postgres::ConnectError::Unavailable) => {}
            Err(error) => return Err(error.to_string()),
        }
        tracing::warn!(retry_in_s = wait.as_secs(), "database unavailable; waiting");
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(std::time::Duration::from_secs(30));
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    start_logging(args.log_format, args.log_level);
    let metrics = match metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder() {
        Ok(handle) => handle,
        Err(error) => return fail(&format!("metrics recorder: {error}")),
    };
    let mut proxies = Vec::new();
    for text in &args.trusted_proxies {
        match Cidr::parse(text) {
            Ok(cidr) => proxies.push(cidr),
            Err(error) => return fail(&format!("--trusted-proxy {text}: {error}")),
        }
    }
    let cookies = if args.secure_cookies {
        CookieSecurity::Secure
    } else {
        CookieSecurity::default_for(args.listen)
    };
    // The simulated phone shows every code: it is never reachable from
    // another machine.
    if args.demo && !args.listen.ip().is_loopback() {
        return fail(&format!(
            "--demo listens on a loopback address only (127.0.0.1 or [::1]), not {}",
            args.listen
        ));
    }
    let mut options = PortalOptions::new()
        .with_cookies(cookies)
        .with_trusted_proxies(TrustedProxies::new(proxies))
        .with_access_log()
        .with_metrics(metrics)
        .with_audit_retention(AuditRetention::days(args.audit_retention_days));
    if args.demo {
        options = options.with_demo();
    }
    if args.demo_clock {
        options = options.with_demo_clock(SystemClock.now());
    }
    match std::env::var(KEYS_VARIABLE) {
        Ok(hex) => match PortalKeys::from_hex(&hex) {
            Ok(keys) => options = options.with_keys(keys),
            Err(error) => return fail(&format!("{KEYS_VARIABLE}: {error}")),
        },
        Err(_) if args.database_url.is_some() => warn(&format!(
            "{KEYS_VARIABLE} is not set: random keys, so what this run stores \
             cannot be read after a restart"
        )),
        Err(_) => {}
    }
    // Real providers when the environment names them (see the README).
    let real = match Providers::from_env(|name| std::env::var(name).ok()) {
        Ok(Some(providers)) => {
            options = options.with_providers(providers);
            true
        }
        Ok(None) if args.demo => false,
        Ok(None) => {
            return fail(
                "no providers are configured (see the README: TWILIO_* and TWOFA_SMTP_*); \
                 for the demo with its simulated phone, pass --demo",
            );
        }
        Err(error) => return fail(&error.to_string()),
    };
    // Listen at once: until the portal is built (the database reachable
    // and migrated), every request gets the "starting" answer.
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(error) => return fail(&format!("cannot listen on {}: {error}", args.listen)),
    };
    let listen = listener.local_addr().unwrap_or(args.listen);
    // Passkeys: the public URL, or in the demo http://localhost:PORT.
    let public_origin = match &args.public_url {
        Some(url) => Some(PublicOrigin::Https(url.clone())),
        None if args.demo => Some(PublicOrigin::Localhost {
            port: listen.port(),
        }),
        None => None,
    };
    if let Some(origin) = &public_origin {
        match relying_party_for(origin) {
            Ok(relying_party) => options = options.with_passkeys(relying_party),
            Err(error) => return fail(&format!("--public-url: {error}")),
        }
    }
    announce(
        listen,
        cookies,
        if args.demo_clock { "demo" } else { "system" },
        if args.database_url.is_some() {
            "PostgreSQL"
        } else {
            "in memory"
        },
        real,
        public_origin.as_ref(),
    );
    let starting = Starting::new();
    let served = starting.clone();
    let mut server = tokio::spawn(async move { serve_starting(listener, &served).await });
    let built = async {
        if let Some(url) = &args.database_url {
            let database = connect_with_backoff(url)
                .await
                .map_err(|error| format!("--database-url: {error}"))?;
            options = options.with_database(database);
        }
        let portal = Portal::new(options)
            .await
            .map_err(|error| error.to_string())?;
        portal
            .check_listen(listen)
            .map_err(|error| error.to_string())?;
        Ok::<Portal, String>(portal)
    };
    // The server may fail while the portal is being built.
    let portal = tokio::select! {
        built = built => match built {
            Ok(portal) => portal,
            Err(error) => return fail(&error),
        },
        ended = &mut server => return ended_with(ended),
    };
    starting.ready(portal.clone());
    announce_ready();
    let every = std::time::Duration::from_secs(args.purge_every.max(1));
    tokio::spawn(async move { portal.purge_expired_logins_every(every).await });
    ended_with(server.await)
}

/// The exit status for a server task that ended.
fn ended_with(ended: Result<std::io::Result<()>, tokio::task::JoinError>) -> ExitCode {
    match ended {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => fail(&error.to_string()),
        Err(error) => fail(&error.to_string()),
    }
}

#[expect(clippy::print_stdout, reason = "the server says when it serves logins")]
fn announce_ready() {
    println!("Ready: the portal serves logins.");
}
