//! Code verifications per second through the facade's login flow on the
//! PostgreSQL stores, with 1, 4 and 16 connections (one worker per
//! connection), next to the floor: one bare conditional
//! `UPDATE … WHERE version = $n` round trip per verification on the same
//! server, by as many workers.
//!
//! Starts its own throwaway cluster (or uses `DATABASE_URL`) like the tests.
//! Run with `cargo bench -p twofa-store-postgres --bench verify`; it prints a
//! Markdown table. `VERIFY_BENCH_ROUNDS` sets the verifications per worker
//! and configuration (default 40).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a bench program: it fails loudly and prints its figures"
)]

#[path = "../tests/support/cluster.rs"]
#[allow(dead_code, reason = "the bench uses only part of the test harness")]
mod cluster;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use cluster::{Cluster, connect};
use twofa::delivery::{Issuer, Outbox, ServerKey};
use twofa::enforcement::{AccountKind, CompanyId, UserId};
use twofa::enrollment::{ProvisioningUri, XChaChaSealer};
use twofa::{
    Channels, ClientContext, CompanyRecord, CompanyStore, LoginStep, LoginTicket, ManualClock,
    MethodChoice, SeededRandom, SetUpProgress, Twofa, UserRecord, UserStore,
};
use twofa_store_postgres::PostgresStores;

const CONNECTIONS: [usize; 3] = [1, 4, 16];

/// One TOTP step: each verification of a user happens in a step of its own,
/// or the replay guard would refuse it.
const STEP: TimeDelta = TimeDelta::seconds(30);

fn rounds() -> usize {
    std::env::var("VERIFY_BENCH_ROUNDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .filter(|rounds| *rounds > 0)
        .unwrap_or(40)
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

fn home() -> ClientContext {
    ClientContext::new("203.0.113.9".parse().unwrap())
}

fn totp_code(uri: &ProvisioningUri, now: DateTime<Utc>) -> String {
    let totp = uri.key_uri().to_totp().unwrap();
    let seconds = u64::try_from(now.timestamp()).unwrap();
    totp.generate(seconds)
        .unwrap()
        .expose_secret()
        .as_str()
        .to_owned()
}

/// The floor: `workers` connections, each updating its own row with one
/// conditional `UPDATE` per iteration. Returns updates per second.
async fn floor(url: &str, workers: usize, rounds: usize) -> f64 {
    let setup = connect(url).await.unwrap();
    setup
        .batch_execute(
            "DROP TABLE IF EXISTS bench_floor; \
             CREATE TABLE bench_floor (id integer PRIMARY KEY, version bigint NOT NULL)",
        )
        .await
        .unwrap();
    let mut clients = Vec::new();
    for worker in 0..workers {
        let id = i32::try_from(worker).unwrap();
        setup
            .execute(
                "INSERT INTO bench_floor (id, version) VALUES ($1, 1)",
                &[&id],
            )
            .await
            .unwrap();
        let client = connect(url).await.unwrap();
        let statement = client
            .prepare(
                "UPDATE bench_floor SET version = version + 1 \
                 WHERE id = $1 AND version = $2 RETURNING version",
            )
            .await
            .unwrap();
        clients.push((id, client, statement));
    }
    let began = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|(id, client, statement)| {
            tokio::spawn(async move {
                let mut version = 1_i64;
                for _ in 0..rounds {
                    let row = client
                        .query_opt(&statement, &[&id, &version])
                        .await
                        .unwrap()
                        .expect("the version matched");
                    version = row.get(0);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    per_second(workers * rounds, began.elapsed())
}

/// One worker of the flow: its own service (and clock) on the shared
/// stores, one enrolled user, and a login ticket per verification to come.
struct Worker {
    twofa: Twofa,
    clock: Arc<ManualClock>,
    user: UserId,
    uri: ProvisioningUri,
    tickets: Vec<LoginTicket>,
}

async fn prepare_worker(stores: &PostgresStores, index: usize, rounds: usize) -> Worker {
    let clock = Arc::new(ManualClock::new(start()));
    let outbox = Arc::new(Outbox::new());
    let seed = u8::try_from(index % 250).unwrap().saturating_add(1);
    let twofa = Twofa::builder(
        stores.stores(),
        Channels::outbox(&outbox),
        ServerKey::from_bytes(&[7u8; 32]).unwrap(),
        Arc::new(XChaChaSealer::from_bytes(&[9u8; 32]).unwrap()),
        Issuer::new("Partner Portal").unwrap(),
    )
    .with_clock(clock.clone())
    .with_random(Arc::new(SeededRandom::new([seed; 32])))
    // Every ticket is issued up front and used one step later than the
    // previous one.
    .with_ticket_lifetime(TimeDelta::days(30))
    .build();
    let user = UserId::new(format!("user-{index}")).unwrap();
    let acme = CompanyId::new("acme").unwrap();
    let record = UserRecord::new(
        user.clone(),
        acme,
        AccountKind::PartnerEmployee,
        "Bench User",
    );
    stores.users().save(&user, record, None).await.unwrap();
    let LoginStep::SetUp(screen) = twofa.begin_login(&user, &home()).await.unwrap() else {
        panic!("expected set-up");
    };
    let SetUpProgress::ScanQrCode(uri) = twofa
        .choose_method(&user, &screen.ticket, MethodChoice::AuthenticatorApp)
        .await
        .unwrap()
    else {
        panic!("expected a QR code");
    };
    let code = totp_code(&uri, start());
    twofa
        .submit_code(&user, &screen.ticket, &code)
        .await
        .unwrap();
    let mut tickets = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        match twofa.begin_login(&user, &home()).await.unwrap() {
            LoginStep::Challenge(screen) => tickets.push(screen.ticket),
            other => panic!("expected a challenge, got {other:?}"),
        }
    }
    Worker {
        twofa,
        clock,
        user,
        uri,
        tickets,
    }
}

/// `workers` workers, one pooled connection each, submitting a correct
/// code on a pending login per iteration. Returns verifications per second.
async fn flow(url: &str, workers: usize, rounds: usize) -> f64 {
    let size = NonZeroUsize::new(workers).unwrap();
    let stores = PostgresStores::connect_with_max_connections(url, size)
        .await
        .unwrap();
    stores.migrate().await.unwrap();
    let acme = CompanyId::new("acme").unwrap();
    stores
        .companies()
        .save(&acme, CompanyRecord::new(acme.clone()), None)
        .await
        .unwrap();
    let mut prepared = Vec::with_capacity(workers);
    for index in 0..workers {
        prepared.push(prepare_worker(&stores, index, rounds).await);
    }
    let began = Instant::now();
    let tasks: Vec<_> = prepared
        .into_iter()
        .map(|worker| {
            tokio::spawn(async move {
                for ticket in &worker.tickets {
                    worker.clock.advance(STEP);
                    let code = totp_code(&worker.uri, twofa::Clock::now(&*worker.clock));
                    worker
                        .twofa
                        .submit_code(&worker.user, ticket, &code)
                        .await
                        .expect("a correct code in a new step is accepted");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    per_second(workers * rounds, began.elapsed())
}

fn per_second(operations: usize, elapsed: Duration) -> f64 {
    operations as f64 / elapsed.as_secs_f64()
}

fn main() {
    // `cargo test --benches` runs benches once in test mode: only check
    // that the program builds and starts.
    if std::env::args().any(|arg| arg == "--test") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rounds = rounds();
    runtime.block_on(async {
        let cluster = Cluster::shared().unwrap();
        println!("| connections | floor: conditional UPDATE/s | flow: submit_code/s | flow / floor |");
        println!("|---:|---:|---:|---:|");
        for workers in CONNECTIONS {
            let floor_url = cluster.database(&format!("floor_{workers}")).await.unwrap();
            let floor = floor(&floor_url, workers, rounds * 5).await;
            let flow_url = cluster.database(&format!("flow_{workers}")).await.unwrap();
            let flow = flow(&flow_url, workers, rounds).await;
            println!(
                "| {workers} | {floor:.0} | {flow:.0} | {:.2} |",
                flow / floor
            );
        }
    });
}
