//! Load bench: second-factor verifications per second and their latency
//! through the full HTTP stack (hyper, axum, sessions, CSRF check, the
//! facade, the in-memory stores), on loopback only.
//!
//! `cargo bench -p twofa-portal --bench verify_load`
//!
//! Set-up (not measured): the portal starts in-process on `127.0.0.1:0`
//! with generated accounts, each enrolls an authenticator app over HTTP.
//! Then, per round: every account logs in with its password (not
//! measured) and the load generator sends every account's verification
//! request — a fresh, correct TOTP code — with a fixed number of
//! connections in flight; each request's latency is recorded. Between
//! rounds the portal's demo clock moves 30 seconds so that each code is
//! new. The run is bounded in rounds and in time, and stops by itself.
//!
//! Last, the 8-in-flight measurement runs again while other connections
//! send cookie-less requests for the login page as fast as they can (a
//! flood of sessions that never log in); the bench prints both rates and
//! their ratio, and checks that the accounts stayed logged in.
//!
//! With `DATABASE_URL` set (a throwaway PostgreSQL database: the bench
//! empties the twofa tables and drops the portal's own first), the same
//! runs again twice: on the PostgreSQL stores with the sessions in memory,
//! then with the sessions in PostgreSQL too (as `--database-url` does, for
//! several servers behind one address).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a bench binary: failures abort it and it prints its figures"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use chrono::{DateTime, TimeDelta, Utc};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use twofa::Stores;
use twofa::otp::{KeyUri, Secret};
use twofa_portal::{CookieSecurity, LOAD_PASSWORD, Portal, PortalOptions, serve};
use twofa_store_postgres::PostgresStores;

/// Accounts, each verifying once per round.
const ACCOUNTS: u16 = 1_000;
/// Rounds of verifications.
const ROUNDS: u32 = 5;
/// Requests in flight at once: each level is measured separately.
const IN_FLIGHT: [usize; 3] = [4, 8, 32];
/// The whole run stops after this long, whatever is left.
const TIME_LIMIT: Duration = Duration::from_secs(120);

type HttpClient = Client<HttpConnector, Body>;

struct Reply {
    location: String,
    cookie: Option<String>,
    body: String,
}

async fn send(
    client: &HttpClient,
    method: &str,
    url: &str,
    cookie: &str,
    form: Option<String>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(url);
    if !cookie.is_empty() {
        request = request.header(header::COOKIE, cookie);
    }
    let body = match form {
        Some(form) => {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(form)
        }
        None => Body::empty(),
    };
    let response = client.request(request.body(body).unwrap()).await.unwrap();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map_or_else(String::new, |v| v.to_str().unwrap().to_owned());
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    let bytes = axum::body::to_bytes(Body::new(response.into_body()), 1 << 20)
        .await
        .unwrap();
    Reply {
        location,
        cookie,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

fn between<'a>(text: &'a str, before: &str, after: &str) -> &'a str {
    let start = text.find(before).unwrap() + before.len();
    let end = text[start..].find(after).unwrap();
    &text[start..start + end]
}

fn code(key: &str, now: DateTime<Utc>) -> String {
    let secret = Secret::from_base32(key).unwrap();
    let totp = KeyUri::totp("Partner Portal", "load", secret)
        .unwrap()
        .to_totp()
        .unwrap();
    let code = totp
        .generate(u64::try_from(now.timestamp()).unwrap())
        .unwrap();
    code.expose_secret().as_str().to_owned()
}

/// One account's partial login, ready to verify.
struct Pending {
    cookie: String,
    csrf: String,
}

/// Logs an account in with its password; returns the session on the
/// verification screen.
async fn log_in(client: &HttpClient, base: &str, login: &str) -> Pending {
    let page = send(client, "GET", &format!("{base}/login"), "", None).await;
    let cookie = page.cookie.unwrap();
    let csrf = between(&page.body, "name=\"csrf\" value=\"", "\"").to_owned();
    let form = format!("csrf={csrf}&login={login}&password={LOAD_PASSWORD}");
    let reply = send(
        client,
        "POST",
        &format!("{base}/login"),
        &cookie,
        Some(form),
    )
    .await;
    assert_eq!(reply.location, "/login/2fa", "{login}");
    let cookie = reply.cookie.unwrap();
    let page = send(client, "GET", &format!("{base}/login/2fa"), &cookie, None).await;
    let csrf = between(&page.body, "name=\"csrf\" value=\"", "\"").to_owned();
    Pending { cookie, csrf }
}

/// Enrolls an authenticator app; returns its key.
async fn enroll(client: &HttpClient, base: &str, login: &str, portal: &Portal) -> String {
    let pending = log_in(client, base, login).await;
    let form = format!("csrf={}&method=app", pending.csrf);
    let reply = send(
        client,
        "POST",
        &format!("{base}/login/2fa/method"),
        &pending.cookie,
        Some(form),
    )
    .await;
    assert_eq!(reply.location, "/login/2fa");
    let page = send(
        client,
        "GET",
        &format!("{base}/login/2fa"),
        &pending.cookie,
        None,
    )
    .await;
    let key = between(&page.body, "id=\"manual-key\">", "<").replace(' ', "");
    let form = format!(
        "csrf={}&code={}",
        pending.csrf,
        code(&key, portal.twofa().now())
    );
    let reply = send(
        client,
        "POST",
        &format!("{base}/login/2fa/verify"),
        &pending.cookie,
        Some(form),
    )
    .await;
    assert_eq!(reply.location, "/home", "{login} enrolled");
    key
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Where the portal keeps its records and its own state.
enum Backend {
    /// Everything in memory.
    Memory,
    /// The `twofa` records on PostgreSQL, the sessions in memory.
    Stores(Stores),
    /// The records and the sessions on PostgreSQL (as with
    /// `--database-url`).
    Database(PostgresStores),
}

async fn run(backend: Backend, label: &str) {
    println!("{label}:");
    let started = Instant::now();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let mut options = PortalOptions::new()
        .with_cookies(CookieSecurity::PlainHttpLocalhost)
        .with_demo()
        .with_demo_clock(start)
        .with_load_accounts(ACCOUNTS);
    options = match backend {
        Backend::Memory => options,
        Backend::Stores(stores) => options.with_stores(stores),
        Backend::Database(database) => options.with_database(database),
    };
    let portal = Portal::new(options).await.unwrap();
    let served = portal.clone();
    let server = tokio::spawn(async move { serve(listener, &served).await.unwrap() });
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(64)
        .build_http();
    let logins: Vec<String> = (1..=ACCOUNTS).map(|n| format!("load-{n:05}")).collect();
    let mut keys = Vec::with_capacity(logins.len());
    for login in &logins {
        keys.push(enroll(&client, &base, login, &portal).await);
    }
    println!(
        "enrolled {} accounts over HTTP in {:.1} s",
        keys.len(),
        started.elapsed().as_secs_f64()
    );

    let mut normal = None;
    for in_flight in IN_FLIGHT {
        let rate = measure(&client, &base, &portal, &logins, &keys, in_flight, started).await;
        if in_flight == FLOOD_IN_FLIGHT {
            normal = rate;
        }
    }
    let flooded = under_flood(&client, &base, &portal, &logins, &keys, started).await;
    if let (Some(normal), Some((flooded, flood_rate))) = (normal, flooded) {
        println!(
            "under a flood of {flood_rate:.0} cookie-less requests per second: {flooded:.0} verifications per second, {:.2}x the rate without it",
            flooded / normal
        );
    }
    server.abort();
}

/// Requests in flight for the flood comparison.
const FLOOD_IN_FLIGHT: usize = 8;
/// Connections sending cookie-less requests during the flood.
const FLOODERS: usize = 8;

/// The 8-in-flight measurement again while `FLOODERS` connections request
/// the login page without a cookie (each opens a pre-login session):
/// the verifications' rate and the flood's.
async fn under_flood(
    client: &HttpClient,
    base: &str,
    portal: &Portal,
    logins: &[String],
    keys: &[String],
    started: Instant,
) -> Option<(f64, f64)> {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut flooders = Vec::new();
    for _ in 0..FLOODERS {
        let (stop, sent, client) = (stop.clone(), sent.clone(), client.clone());
        let url = format!("{base}/login");
        flooders.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let page = send(&client, "GET", &url, "", None).await;
                assert!(page.cookie.is_some(), "a pre-login session each");
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    print!("under flood: ");
    let flood_started = Instant::now();
    let rate = measure(client, base, portal, logins, keys, FLOOD_IN_FLIGHT, started).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for flooder in flooders {
        flooder.await.unwrap();
    }
    let flood_rate = sent.load(std::sync::atomic::Ordering::Relaxed) as f64
        / flood_started.elapsed().as_secs_f64();
    // Logged-in users stayed logged in through the flood.
    let counts = portal.session_counts().await.unwrap();
    println!(
        "sessions after the flood: {} signed in, {} before a password",
        counts.signed_in, counts.pre_login
    );
    rate.map(|rate| (rate, flood_rate))
}

/// One measurement at `in_flight`: prints it and returns the rate.
async fn measure(
    client: &HttpClient,
    base: &str,
    portal: &Portal,
    logins: &[String],
    keys: &[String],
    in_flight: usize,
    started: Instant,
) -> Option<f64> {
    let mut latencies = Vec::new();
    let mut busy = Duration::ZERO;
    for _ in 0..ROUNDS {
        if started.elapsed() > TIME_LIMIT {
            println!("time limit reached");
            break;
        }
        portal.demo_clock().unwrap().advance(TimeDelta::seconds(30));
        let now = portal.twofa().now();
        let mut pending = Vec::with_capacity(logins.len());
        for login in logins {
            pending.push(log_in(client, base, login).await);
        }
        let jobs: Vec<(Pending, String)> = pending
            .into_iter()
            .zip(keys.iter().map(|key| code(key, now)))
            .collect();
        let queue = Arc::new(std::sync::Mutex::new(jobs));
        let round = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..in_flight {
            let queue = queue.clone();
            let client = client.clone();
            let url = format!("{base}/login/2fa/verify");
            workers.push(tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let job = queue.lock().unwrap().pop();
                    let Some((pending, code)) = job else { break };
                    let form = format!("csrf={}&code={code}", pending.csrf);
                    let sent = Instant::now();
                    let reply = send(&client, "POST", &url, &pending.cookie, Some(form)).await;
                    times.push(sent.elapsed());
                    assert_eq!(reply.location, "/home", "verification accepted");
                }
                times
            }));
        }
        for worker in workers {
            latencies.extend(worker.await.unwrap());
        }
        busy += round.elapsed();
    }
    if latencies.is_empty() {
        return None;
    }
    latencies.sort_unstable();
    let count = latencies.len();
    let rate = count as f64 / busy.as_secs_f64();
    println!(
        "{count} verifications, {in_flight:>2} in flight: {:>6.0} per second, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        count as f64 / busy.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    Some(rate)
}

/// The PostgreSQL stores of `DATABASE_URL`, emptied (the portal's own
/// tables too, when an earlier run made them).
async fn postgres(url: &str) -> PostgresStores {
    let database = PostgresStores::connect(url).await.unwrap();
    database.migrate().await.unwrap();
    database
        .pool()
        .get()
        .await
        .unwrap()
        .batch_execute(
            "TRUNCATE twofa_users, twofa_companies, twofa_challenges, \
             twofa_trust_grants, twofa_audit_log, twofa_send_counters; \
             DROP TABLE IF EXISTS twofa_portal_sessions, \
             twofa_portal_password_failures, twofa_portal_outbox",
        )
        .await
        .unwrap();
    database
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(Backend::Memory, "in-memory stores"));
    match std::env::var("DATABASE_URL") {
        Ok(url) => runtime.block_on(async {
            let database = postgres(&url).await;
            run(
                Backend::Stores(database.stores()),
                "PostgreSQL stores, sessions in memory",
            )
            .await;
            let database = postgres(&url).await;
            run(
                Backend::Database(database),
                "PostgreSQL stores and sessions (as with --database-url)",
            )
            .await;
        }),
        Err(_) => println!("PostgreSQL stores: not measured (DATABASE_URL is not set)"),
    }
}
