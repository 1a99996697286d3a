//! Code verifications per second through the facade's login flow on the
//! PostgreSQL stores, with 1, 4 and 16 connections (one worker per
//! connection), next to the floor: one bare conditional
//! `UPDATE … WHERE version = $n` round trip per verification on the same
//! server, by as many workers.
//!
//! A second figure is the least a verification writes, as one statement:
//! the floor's `UPDATE` and one audit row appended to the audit trail of
//! the flow's database (a real entry of the flow, with the trail's
//! indexes), the shape of a replay guard saved together with its audit
//! entry.
//!
//! A third figure is what a verification whose records are not cached
//! needs at least: one read of the user's record and one conditional write
//! of it (two round trips), on the flow's own rows. The flow's service
//! began each login itself, so its answers commit from the cache of recent
//! logins: one store call in the usual case.
//!
//! Starts its own throwaway cluster (or uses `DATABASE_URL`) like the tests.
//! Run with `cargo bench -p twofa-store-postgres --bench verify`; it prints
//! a Markdown table. `VERIFY_BENCH_ROUNDS` sets the verifications per
//! worker and configuration (default 100; the floors and the read-and-write
//! run ten times as many).

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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use cluster::{Cluster, connect};
use serde_json::Value;
use tokio_postgres::types::{Json, ToSql};
use twofa::delivery::{Issuer, Outbox, ServerKey};
use twofa::enrollment::ProvisioningUri;
use twofa::types::{AccountKind, CompanyId, UserId};
use twofa::{
    AuditEntry, AuditLog, Channels, ClientContext, CompanyRecord, LoadedLogin, LoginCommit,
    LoginStep, LoginTicket, ManualClock, MethodChoice, PendingLoginStore, SaveError, SeededRandom,
    SetUpProgress, StoreError, StoreFuture, Stores, Twofa, UnitOfWork, UserRecord, UserStore,
    Version, Versioned, VersionedStore, XChaChaSealer,
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
        .unwrap_or(100)
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

/// A store that counts the calls it passes on: each is one statement, one
/// round trip.
#[derive(Debug)]
struct Counting<S> {
    inner: S,
    tally: Arc<Tally>,
}

impl<S> Counting<S> {
    /// Counts the call and adds the time until its future completes.
    fn timed<'a, T: Send + 'a>(&self, call: StoreFuture<'a, T>) -> StoreFuture<'a, T> {
        let tally = self.tally.clone();
        tally.calls.fetch_add(1, Ordering::Relaxed);
        StoreFuture::new(async move {
            let began = Instant::now();
            let output = call.await;
            let nanos = u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX);
            tally.nanos.fetch_add(nanos, Ordering::Relaxed);
            output
        })
    }
}

/// Store calls and the time spent in them.
#[derive(Debug, Default)]
struct Tally {
    calls: AtomicU64,
    nanos: AtomicU64,
}

impl<K, V: Send + 'static, S: VersionedStore<K, V>> VersionedStore<K, V> for Counting<S> {
    fn load<'a>(&'a self, key: &'a K) -> StoreFuture<'a, Result<Option<Versioned<V>>, StoreError>> {
        self.timed(self.inner.load(key))
    }
    fn save<'a>(
        &'a self,
        key: &'a K,
        record: V,
        expected: Option<Version>,
    ) -> StoreFuture<'a, Result<Version, SaveError>> {
        self.timed(self.inner.save(key, record, expected))
    }
    fn remove<'a>(
        &'a self,
        key: &'a K,
        expected: Version,
    ) -> StoreFuture<'a, Result<(), SaveError>> {
        self.timed(self.inner.remove(key, expected))
    }
}

impl<S: UserStore> UserStore for Counting<S> {
    fn list_company<'a>(
        &'a self,
        company: &'a CompanyId,
    ) -> StoreFuture<'a, Result<Vec<Versioned<UserRecord>>, StoreError>> {
        self.timed(self.inner.list_company(company))
    }
}

impl<S: PendingLoginStore> PendingLoginStore for Counting<S> {
    fn purge_expired<'a>(&'a self, now: DateTime<Utc>) -> StoreFuture<'a, Result<u64, StoreError>> {
        self.timed(self.inner.purge_expired(now))
    }
}

/// The login loads alone: calls and time, across all workers.
static LOADS: Tally = Tally {
    calls: AtomicU64::new(0),
    nanos: AtomicU64::new(0),
};

/// The login commits alone: calls and time, across all workers.
static COMMITS: Tally = Tally {
    calls: AtomicU64::new(0),
    nanos: AtomicU64::new(0),
};

/// Counts `call` into `tally` and adds the time until it completes.
fn tallied<'a, T: Send + 'a>(
    tally: &'static Tally,
    call: StoreFuture<'a, T>,
) -> StoreFuture<'a, T> {
    tally.calls.fetch_add(1, Ordering::Relaxed);
    StoreFuture::new(async move {
        let began = Instant::now();
        let output = call.await;
        let nanos = u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX);
        tally.nanos.fetch_add(nanos, Ordering::Relaxed);
        output
    })
}

impl Tally {
    /// Calls and time so far.
    fn read(&self) -> (u64, u64) {
        (
            self.calls.load(Ordering::Relaxed),
            self.nanos.load(Ordering::Relaxed),
        )
    }
}

/// The mean time of the calls between two readings of a tally.
fn mean_between((calls_before, nanos_before): (u64, u64), (calls, nanos): (u64, u64)) -> Duration {
    Duration::from_nanos((nanos - nanos_before) / (calls - calls_before).max(1))
}

impl<S: UnitOfWork> UnitOfWork for Counting<S> {
    fn load_login<'a>(
        &'a self,
        stores: &'a Stores,
        ticket: &'a LoginTicket,
        user: &'a UserId,
    ) -> StoreFuture<'a, Result<LoadedLogin, StoreError>> {
        self.timed(tallied(&LOADS, self.inner.load_login(stores, ticket, user)))
    }
    fn commit_login<'a>(
        &'a self,
        stores: &'a Stores,
        commit: LoginCommit,
    ) -> StoreFuture<'a, Result<Version, SaveError>> {
        self.timed(tallied(&COMMITS, self.inner.commit_login(stores, commit)))
    }
}

impl<S: AuditLog> AuditLog for Counting<S> {
    fn append<'a>(&'a self, entry: AuditEntry) -> StoreFuture<'a, Result<(), StoreError>> {
        self.timed(self.inner.append(entry))
    }
    fn read<'a>(
        &'a self,
        skip: usize,
        limit: usize,
    ) -> StoreFuture<'a, Result<Vec<AuditEntry>, StoreError>> {
        self.timed(self.inner.read(skip, limit))
    }
    fn purge_older_than<'a>(
        &'a self,
        cutoff: DateTime<Utc>,
    ) -> StoreFuture<'a, Result<u64, StoreError>> {
        self.timed(self.inner.purge_older_than(cutoff))
    }
}

/// The stores of `postgres`, counting into `calls`.
fn counting(postgres: &PostgresStores, calls: &Arc<Tally>) -> Stores {
    fn wrap<S>(inner: S, calls: &Arc<Tally>) -> Arc<Counting<S>> {
        Arc::new(Counting {
            inner,
            tally: calls.clone(),
        })
    }
    Stores::new(
        wrap(postgres.users(), calls),
        wrap(postgres.companies(), calls),
        wrap(postgres.pending_logins(), calls),
        wrap(postgres.trust_grants(), calls),
        wrap(postgres.audit_log(), calls),
        Arc::new(postgres.send_counters()),
    )
    .with_unit_of_work(wrap(postgres.unit_of_work(), calls))
}

/// The floor: `workers` connections, each updating its own row with one
/// conditional `UPDATE` per iteration. With `audit`, the same `UPDATE` also
/// appends `audit` to the audit trail in the same statement (the shape of
/// the least a verification writes: its replay guard and one audit row).
/// Returns statements per second.
async fn floor(url: &str, workers: usize, rounds: usize, audit: Option<&Value>) -> f64 {
    let setup = connect(url).await.unwrap();
    setup
        .batch_execute(
            "DROP TABLE IF EXISTS bench_floor; \
             CREATE TABLE bench_floor (id integer PRIMARY KEY, version bigint NOT NULL)",
        )
        .await
        .unwrap();
    let sql = if audit.is_some() {
        "WITH saved AS ( \
             UPDATE bench_floor SET version = version + 1 \
             WHERE id = $1 AND version = $2 RETURNING version \
         ), audited AS ( \
             INSERT INTO twofa_audit_log (at, company_id, user_id, entry) \
             SELECT $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM saved) \
         ) \
         SELECT version FROM saved"
    } else {
        "UPDATE bench_floor SET version = version + 1 \
         WHERE id = $1 AND version = $2 RETURNING version"
    };
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
        let statement = client.prepare(sql).await.unwrap();
        clients.push((id, client, statement));
    }
    let entry = audit.cloned();
    let began = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|(id, client, statement)| {
            let entry = entry.clone();
            tokio::spawn(async move {
                let mut version = 1_i64;
                let user = format!("user-{id}");
                for _ in 0..rounds {
                    let row = match &entry {
                        Some(entry) => {
                            let params: &[&(dyn ToSql + Sync)] =
                                &[&id, &version, &Utc::now(), &"acme", &user, &Json(entry)];
                            client.query_opt(&statement, params).await
                        }
                        None => client.query_opt(&statement, &[&id, &version]).await,
                    };
                    version = row.unwrap().expect("the version matched").get(0);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    per_second(workers * rounds, began.elapsed())
}

/// The newest entry of the audit trail in `url`'s database: a real entry
/// of the flow, appended again by the floor with an audit row.
async fn newest_audit_entry(url: &str) -> Value {
    let client = connect(url).await.unwrap();
    let row = client
        .query_one(
            "SELECT entry FROM twofa_audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let Json(entry) = row.get::<_, Json<Value>>(0);
    entry
}

/// What a verification whose records are not cached has to do at least:
/// read the user's record (only the application, holding the sealing key,
/// can check a code against it) and write it back conditionally. Each of
/// `workers` workers, one connection each, does that on its own user of
/// the flow's database (run after the flow). Returns read-and-writes per
/// second.
async fn read_write(url: &str, workers: usize, rounds: usize) -> f64 {
    let mut clients = Vec::new();
    for worker in 0..workers {
        let client = connect(url).await.unwrap();
        let read = client
            .prepare("SELECT version, record::text FROM twofa_users WHERE user_id = $1")
            .await
            .unwrap();
        let write = client
            .prepare(
                "UPDATE twofa_users SET record = $2::text::json, version = version + 1 \
                 WHERE user_id = $1 AND version = $3 RETURNING version",
            )
            .await
            .unwrap();
        clients.push((format!("user-{worker}"), client, read, write));
    }
    let began = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|(user, client, read, write)| {
            tokio::spawn(async move {
                for _ in 0..rounds {
                    let row = client.query_one(&read, &[&user]).await.unwrap();
                    let version: i64 = row.get(0);
                    let record: String = row.get(1);
                    client
                        .query_opt(&write, &[&user, &record, &version])
                        .await
                        .unwrap()
                        .expect("the version matched");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    per_second(workers * rounds, began.elapsed())
}

/// What one run of the flow measured.
struct FlowFigures {
    per_second: f64,
    calls_per_verification: f64,
    share_in_store_calls: f64,
    load_mean: Duration,
    commit_mean: Duration,
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

async fn prepare_worker(
    stores: &PostgresStores,
    calls: &Arc<Tally>,
    index: usize,
    rounds: usize,
) -> Worker {
    let clock = Arc::new(ManualClock::new(start()));
    let outbox = Arc::new(Outbox::new());
    let seed = u8::try_from(index % 250).unwrap().saturating_add(1);
    let twofa = Twofa::builder()
        .stores(counting(stores, calls))
        .channels(Channels::outbox(&outbox))
        .server_key(ServerKey::from_bytes(&[7u8; 32]).unwrap())
        .sealer(Arc::new(XChaChaSealer::from_bytes(&[9u8; 32]).unwrap()))
        .issuer(Issuer::new("Partner Portal").unwrap())
        .with_clock(clock.clone())
        .with_random(Arc::new(SeededRandom::new([seed; 32])))
        // Every ticket is issued up front and used one step later than the
        // previous one.
        .with_ticket_lifetime(TimeDelta::days(30))
        .build()
        .unwrap();
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
    let activated = twofa
        .submit_code(&user, &screen.ticket, &code)
        .await
        .unwrap();
    assert!(matches!(activated, LoginStep::Allowed(_)));
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
/// code on a pending login per iteration.
async fn flow(url: &str, workers: usize, rounds: usize) -> FlowFigures {
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
    let calls = Arc::new(Tally::default());
    let mut prepared = Vec::with_capacity(workers);
    for index in 0..workers {
        prepared.push(prepare_worker(&stores, &calls, index, rounds).await);
    }
    let (calls_before, nanos_before) = calls.read();
    let loads_before = LOADS.read();
    let commits_before = COMMITS.read();
    let began = Instant::now();
    let tasks: Vec<_> = prepared
        .into_iter()
        .map(|worker| {
            tokio::spawn(async move {
                for ticket in &worker.tickets {
                    worker.clock.advance(STEP);
                    let code = totp_code(&worker.uri, twofa::Clock::now(&*worker.clock));
                    let step = worker
                        .twofa
                        .submit_code(&worker.user, ticket, &code)
                        .await
                        .expect("a correct code in a new step is accepted");
                    assert!(matches!(step, LoginStep::Allowed(_)));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = began.elapsed();
    let verifications = workers * rounds;
    let (calls_after, nanos_after) = calls.read();
    let waited = Duration::from_nanos(nanos_after - nanos_before);
    FlowFigures {
        per_second: per_second(verifications, elapsed),
        calls_per_verification: (calls_after - calls_before) as f64 / verifications as f64,
        share_in_store_calls: waited.as_secs_f64() / (elapsed.as_secs_f64() * workers as f64),
        load_mean: mean_between(loads_before, LOADS.read()),
        commit_mean: mean_between(commits_before, COMMITS.read()),
    }
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
        println!(
            "| connections | floor: conditional UPDATE/s | floor with an audit row/s \
             | read + conditional write of the user record/s | flow: submit_code/s \
             | flow / floor | floor with an audit row / floor | read + write / floor \
             | store calls per submit_code | time in store calls | floor UPDATE mean latency \
             | load_login mean latency | commit_login mean latency |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for workers in CONNECTIONS {
            let floor_url = cluster.database(&format!("floor_{workers}")).await.unwrap();
            let bare = floor(&floor_url, workers, rounds * 10, None).await;
            let flow_url = cluster.database(&format!("flow_{workers}")).await.unwrap();
            let flow = flow(&flow_url, workers, rounds).await;
            let read_write = read_write(&flow_url, workers, rounds * 10).await;
            let entry = newest_audit_entry(&flow_url).await;
            let audited = floor(&flow_url, workers, rounds * 10, Some(&entry)).await;
            println!(
                "| {workers} | {bare:.0} | {audited:.0} | {read_write:.0} | {:.0} | {:.2} \
                 | {:.2} | {:.2} | {:.1} | {:.0} % | {:.0} µs | {:.0} µs | {:.0} µs |",
                flow.per_second,
                flow.per_second / bare,
                audited / bare,
                read_write / bare,
                flow.calls_per_verification,
                flow.share_in_store_calls * 100.0,
                workers as f64 / bare * 1e6,
                flow.load_mean.as_secs_f64() * 1e6,
                flow.commit_mean.as_secs_f64() * 1e6,
            );
        }
    });
}
