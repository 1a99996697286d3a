//! The PostgreSQL stores against a real server: the facade's store
//! conformance suite, the schema and its one-way enforcement trigger,
//! broken connections, concurrent migrations, and the login flow served by
//! two servers sharing one database.
//!
//! The server is `DATABASE_URL` when set, otherwise a throwaway cluster
//! started by `support::cluster`; every test works in a database of its own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions fail loudly by design"
)]

mod support;

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use deadpool_postgres::{Manager, Pool, Runtime};
use support::cluster::{Cluster, connect};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::FromSqlOwned;
use twofa::delivery::{Issuer, Outbox, SentMessage, ServerKey};
use twofa::enforcement::{Actor, CompanyRole};
use twofa::enrollment::{EnrollmentPolicy, PhoneChannel, ProvisioningUri, ThrottlePolicy};
use twofa::types::{AccountKind, CompanyId, UserId};
use twofa::{
    AuditLog, Channels, ClientContext, CompanyRecord, LoginStep, ManualClock, MethodChoice,
    PhoneChoice, RetryAdvice, SaveError, SeededRandom, SetUpProgress, StoreError, Twofa,
    UserRecord, UserStore, Version, VersionedStore, XChaChaSealer, conformance,
};
use twofa_store_postgres::{ConnectError, MigrateError, Migrated, PostgresStores};

/// The first column of the one row `sql` returns.
async fn first_column<T: FromSqlOwned>(raw: &Client, sql: &str) -> T {
    raw.query_one(sql, &[]).await.unwrap().get(0)
}

/// The first column of each row `sql` returns.
async fn first_columns<T: FromSqlOwned, C: FromIterator<T>>(raw: &Client, sql: &str) -> C {
    raw.query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// A fresh database with the schema, and stores on it.
async fn fresh(name: &str) -> (PostgresStores, String) {
    let url = Cluster::shared().unwrap().database(name).await.unwrap();
    let stores = PostgresStores::connect(&url).await.unwrap();
    stores.migrate().await.unwrap();
    (stores, url)
}

fn user_id(id: &str) -> UserId {
    UserId::new(id).unwrap()
}

fn company_id(id: &str) -> CompanyId {
    CompanyId::new(id).unwrap()
}

fn employee(user: &str, company: &str, name: &str) -> UserRecord {
    UserRecord::new(
        user_id(user),
        company_id(company),
        AccountKind::PartnerEmployee,
        name,
    )
}

/// The pid of the backend that waits on a lock while running a statement
/// starting with `prefix`, polled until it shows up.
async fn blocked_backend(observer: &Client, prefix: &str) -> i32 {
    let pattern = format!("{prefix}%");
    for _ in 0..100_000 {
        let rows = observer
            .query(
                "SELECT pid FROM pg_stat_activity \
                 WHERE wait_event_type = 'Lock' AND query LIKE $1",
                &[&pattern],
            )
            .await
            .unwrap();
        if let Some(row) = rows.first() {
            return row.get(0);
        }
        tokio::task::yield_now().await;
    }
    panic!("no statement starting with {prefix:?} waited on a lock");
}

async fn terminate(observer: &Client, pid: i32) {
    let row = observer
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "the backend was terminated");
}

// --- The store contract ------------------------------------------------------

#[tokio::test]
async fn every_store_meets_the_facade_conformance_suite() {
    let (stores, _) = fresh("conformance").await;
    conformance::user_store(&stores.users()).await.unwrap();
    conformance::company_store(&stores.companies())
        .await
        .unwrap();
    conformance::pending_login_store(&stores.pending_logins())
        .await
        .unwrap();
    conformance::trust_grant_store(&stores.trust_grants())
        .await
        .unwrap();
    conformance::audit_log(&stores.audit_log()).await.unwrap();
    conformance::send_counter_store(&stores.send_counters())
        .await
        .unwrap();
    let (stores, _) = fresh("conformance_unit").await;
    conformance::unit_of_work(&stores.stores()).await.unwrap();
}

#[tokio::test]
async fn the_facade_bundle_is_backed_by_the_same_tables() {
    let (stores, _) = fresh("bundle").await;
    let bundle = stores.stores();
    let ada = user_id("u-ada");
    let version = bundle
        .users()
        .save(&ada, employee("u-ada", "c-acme", "Ada"), None)
        .await
        .unwrap();
    let loaded = stores.users().load(&ada).await.unwrap().unwrap();
    assert_eq!(loaded.version, version);
    assert_eq!(loaded.record.display_name(), "Ada");
}

#[tokio::test]
async fn users_are_listed_in_byte_order_of_their_ids_whatever_the_locale() {
    let (stores, _) = fresh("listing").await;
    let users = stores.users();
    // Byte order puts upper case before lower case and '-' before letters;
    // most locale collations do not.
    let ids = ["u-b", "U-a", "u_a", "u-a", "u-A"];
    for id in ids {
        users
            .save(&user_id(id), employee(id, "c-acme", id), None)
            .await
            .unwrap();
    }
    users
        .save(&user_id("v"), employee("v", "c-other", "v"), None)
        .await
        .unwrap();
    let listed: Vec<String> = users
        .list_company(&company_id("c-acme"))
        .await
        .unwrap()
        .into_iter()
        .map(|stored| stored.record.user().as_str().to_owned())
        .collect();
    let mut expected: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    expected.sort();
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn a_record_that_does_not_decode_is_reported_corrupt() {
    let (stores, url) = fresh("corrupt").await;
    let ada = user_id("u-ada");
    stores
        .users()
        .save(&ada, employee("u-ada", "c-acme", "Ada"), None)
        .await
        .unwrap();
    stores
        .audit_log()
        .append(twofa::AuditEntry::new(
            instant(0),
            None,
            None,
            twofa::AuditEvent::Rejected {
                detail: twofa::RejectionDetail::WrongCode,
            },
        ))
        .await
        .unwrap();
    let raw = connect(&url).await.unwrap();
    raw.batch_execute(
        "UPDATE twofa_users SET record = '{\"not\": \"a user\"}'; \
         DELETE FROM twofa_audit_log; \
         INSERT INTO twofa_audit_log (at, entry) VALUES (now(), '[1, 2]')",
    )
    .await
    .unwrap();
    assert_eq!(stores.users().load(&ada).await, Err(StoreError::Corrupt));
    assert_eq!(
        stores.users().list_company(&company_id("c-acme")).await,
        Err(StoreError::Corrupt)
    );
    assert_eq!(
        stores.audit_log().read(0, 10).await,
        Err(StoreError::Corrupt)
    );
}

#[tokio::test]
async fn a_version_past_the_database_range_is_a_conflict_not_an_error() {
    let (stores, _) = fresh("version_range").await;
    let ada = user_id("u-ada");
    stores
        .users()
        .save(&ada, employee("u-ada", "c-acme", "Ada"), None)
        .await
        .unwrap();
    let huge = Version::new(u64::MAX);
    assert_eq!(
        stores
            .users()
            .save(&ada, employee("u-ada", "c-acme", "Eve"), Some(huge))
            .await,
        Err(SaveError::Conflict)
    );
    assert_eq!(
        stores.users().load(&ada).await.unwrap().unwrap().version,
        Version::FIRST
    );
}

// --- The schema --------------------------------------------------------------

#[tokio::test]
async fn no_column_is_meant_for_a_secret_a_code_or_a_phone_number() {
    let (_, url) = fresh("columns").await;
    let raw = connect(&url).await.unwrap();
    let columns: BTreeSet<String> = first_columns(
        &raw,
        "SELECT table_name || '.' || column_name || ' ' || data_type \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name LIKE 'twofa\\_%'",
    )
    .await;
    let expected: BTreeSet<String> = [
        "twofa_users.user_id text",
        "twofa_users.company_id text",
        "twofa_users.version bigint",
        "twofa_users.record json",
        "twofa_companies.company_id text",
        "twofa_companies.version bigint",
        "twofa_companies.enforced boolean",
        "twofa_companies.record jsonb",
        "twofa_challenges.ticket text",
        "twofa_challenges.user_id text",
        "twofa_challenges.expires_at timestamp with time zone",
        "twofa_challenges.version bigint",
        "twofa_challenges.record json",
        "twofa_trust_grants.user_id text",
        "twofa_trust_grants.version bigint",
        "twofa_trust_grants.record jsonb",
        "twofa_audit_log.seq bigint",
        "twofa_audit_log.at timestamp with time zone",
        "twofa_audit_log.company_id text",
        "twofa_audit_log.user_id text",
        "twofa_audit_log.entry json",
        "twofa_send_counters.key text",
        "twofa_send_counters.n integer",
        "twofa_send_counters.expires_at timestamp with time zone",
        "twofa_schema_migrations.version integer",
        "twofa_schema_migrations.name text",
        "twofa_schema_migrations.applied_at timestamp with time zone",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(columns, expected);
}

#[tokio::test]
async fn the_audit_trail_is_indexed_by_time_in_block_ranges() {
    let (_stores, url) = fresh("audit_time_index").await;
    let raw = connect(&url).await.unwrap();
    let method: String = first_column(
        &raw,
        "SELECT am.amname FROM pg_class AS c JOIN pg_am AS am ON am.oid = c.relam \
         WHERE c.relname = 'twofa_audit_log_by_time'",
    )
    .await;
    assert_eq!(method, "brin");
    // The retention purge can be answered from that index.
    raw.batch_execute("SET enable_seqscan = off").await.unwrap();
    let plan: Vec<String> = first_columns(
        &raw,
        "EXPLAIN DELETE FROM twofa_audit_log WHERE at < '2026-03-02T08:00:00Z'",
    )
    .await;
    assert!(
        plan.iter()
            .any(|line| line.contains("Bitmap Index Scan on twofa_audit_log_by_time")),
        "{plan:?}"
    );
}

/// A company record that enforces 2FA, through the facade's admin API.
async fn enforced_company(stores: &PostgresStores) -> CompanyId {
    let portal = Portal::on(std::slice::from_ref(stores), EnrollmentPolicy::default()).await;
    // Company operations need the administrator's recent second factor.
    let admin = portal.admin.user().clone();
    Box::pin(portal.enroll_app(&admin)).await;
    portal.servers[0]
        .enforce_two_factor(&portal.admin)
        .await
        .unwrap();
    let stored = stores
        .companies()
        .load(&portal.acme)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.record.settings().is_enforced());
    portal.acme
}

#[tokio::test]
async fn enforcement_cannot_be_turned_off_even_by_raw_sql() {
    let (stores, url) = fresh("enforcement").await;
    let acme = enforced_company(&stores).await;
    let raw = connect(&url).await.unwrap();
    let before: String = raw
        .query_one("SELECT record::text FROM twofa_companies", &[])
        .await
        .unwrap()
        .get(0);

    let refused = [
        // The guarded column alone.
        "UPDATE twofa_companies SET enforced = false",
        // The record alone: the column no longer matches it.
        "UPDATE twofa_companies SET record = jsonb_set(record, '{settings,enforcement}', \
         '{\"state\": \"not_enforced\"}')",
        // Both together.
        "UPDATE twofa_companies SET enforced = false, record = jsonb_set(record, \
         '{settings,enforcement}', '{\"state\": \"not_enforced\"}')",
        // Deleting, to insert it again without enforcement.
        "DELETE FROM twofa_companies",
    ];
    for statement in refused {
        let error = raw.batch_execute(statement).await.unwrap_err();
        assert_eq!(
            error.code(),
            Some(&SqlState::CHECK_VIOLATION),
            "{statement}"
        );
    }

    // Through the store: a not-enforced record at the current version.
    let current = stores.companies().load(&acme).await.unwrap().unwrap();
    assert_eq!(
        stores
            .companies()
            .save(
                &acme,
                CompanyRecord::new(acme.clone()),
                Some(current.version)
            )
            .await,
        Err(SaveError::Store(StoreError::Refused))
    );

    let after: String = raw
        .query_one("SELECT record::text FROM twofa_companies", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(after, before);
    assert_eq!(
        stores.companies().load(&acme).await.unwrap().unwrap(),
        current
    );
}

#[tokio::test]
async fn the_trigger_refusing_to_unenforce_is_a_refusal_not_an_outage() {
    let (stores, _) = fresh("enforcement_refused").await;
    let acme = enforced_company(&stores).await;
    let companies = stores.companies();
    let current = companies.load(&acme).await.unwrap().unwrap();
    let open = CompanyRecord::new(acme.clone());

    // At the current version the row is updated, so the trigger decides.
    assert_eq!(
        companies
            .save(&acme, open.clone(), Some(current.version))
            .await,
        Err(SaveError::Store(StoreError::Refused))
    );
    // At a stale version no row is touched: a conflict, as in every store.
    let stale = Version::new(current.version.get() + 1000);
    assert_eq!(
        companies.save(&acme, open, Some(stale)).await,
        Err(SaveError::Conflict)
    );
    // The refusal broke nothing: the same store saves the enforced record.
    let saved = companies
        .save(&acme, current.record.clone(), Some(current.version))
        .await
        .unwrap();
    assert_eq!(saved, current.version.next());
}

#[tokio::test]
async fn a_company_that_does_not_enforce_may_be_rewritten_and_deleted() {
    let (stores, url) = fresh("not_enforced").await;
    let acme = company_id("c-acme");
    let version = stores
        .companies()
        .save(&acme, CompanyRecord::new(acme.clone()), None)
        .await
        .unwrap();
    stores
        .companies()
        .save(&acme, CompanyRecord::new(acme.clone()), Some(version))
        .await
        .unwrap();
    let raw = connect(&url).await.unwrap();
    let deleted = raw
        .execute("DELETE FROM twofa_companies", &[])
        .await
        .unwrap();
    assert_eq!(deleted, 1);
}

#[tokio::test]
async fn audit_entries_cannot_be_rewritten() {
    let (stores, url) = fresh("audit_append_only").await;
    let entry = twofa::AuditEntry::new(
        instant(0),
        Some(company_id("c-acme")),
        Some(user_id("u-ada")),
        twofa::AuditEvent::Rejected {
            detail: twofa::RejectionDetail::WrongCode,
        },
    );
    stores.audit_log().append(entry.clone()).await.unwrap();
    let raw = connect(&url).await.unwrap();
    let error = raw
        .batch_execute("UPDATE twofa_audit_log SET user_id = 'u-eve'")
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::CHECK_VIOLATION));
    assert_eq!(stores.audit_log().read(0, 10).await.unwrap(), [entry]);
}

// --- Migrations ---------------------------------------------------------------

#[tokio::test]
async fn migrating_again_changes_nothing() {
    let url = Cluster::shared()
        .unwrap()
        .database("migrate_again")
        .await
        .unwrap();
    let stores = PostgresStores::connect(&url).await.unwrap();
    let latest = Migrated::latest();
    let first = stores.migrate().await.unwrap();
    assert_eq!((first.from, first.to), (0, latest));
    let again = stores.migrate().await.unwrap();
    assert_eq!((again.from, again.to), (latest, latest));
    let raw = connect(&url).await.unwrap();
    let recorded: i64 = raw
        .query_one("SELECT count(*) FROM twofa_schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, i64::from(latest));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_starting_together_migrate_once() {
    let url = Cluster::shared()
        .unwrap()
        .database("migrate_together")
        .await
        .unwrap();
    let mut servers = Vec::new();
    for _ in 0..6 {
        servers.push(PostgresStores::connect(&url).await.unwrap());
    }
    let tasks: Vec<_> = servers
        .into_iter()
        .map(|stores| tokio::spawn(async move { stores.migrate().await }))
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }
    let latest = Migrated::latest();
    assert!(outcomes.iter().all(|outcome| outcome.to == latest));
    assert_eq!(
        outcomes.iter().filter(|outcome| outcome.from == 0).count(),
        1,
        "exactly one server applied the migrations: {outcomes:?}"
    );
    let raw = connect(&url).await.unwrap();
    let recorded: i64 = raw
        .query_one("SELECT count(*) FROM twofa_schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, i64::from(latest));
}

#[tokio::test]
async fn a_schema_newer_than_this_release_is_refused_untouched() {
    let (stores, url) = fresh("newer_schema").await;
    let newer = i32::try_from(Migrated::latest() + 1).unwrap();
    let raw = connect(&url).await.unwrap();
    raw.execute(
        "INSERT INTO twofa_schema_migrations (version, name) VALUES ($1, 'from the future')",
        &[&newer],
    )
    .await
    .unwrap();
    assert_eq!(
        stores.migrate().await,
        Err(MigrateError::SchemaTooNew {
            found: Migrated::latest() + 1,
            supported: Migrated::latest(),
        })
    );
    let recorded: i64 = raw
        .query_one("SELECT count(*) FROM twofa_schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, i64::from(newer));
}

#[tokio::test]
async fn a_refused_migration_leaves_the_database_as_it_was() {
    let url = Cluster::shared()
        .unwrap()
        .database("migrate_refused")
        .await
        .unwrap();
    let raw = connect(&url).await.unwrap();
    // An object of the application's own in the way of the first migration.
    raw.batch_execute("CREATE TABLE twofa_users (anything integer)")
        .await
        .unwrap();
    let stores = PostgresStores::connect(&url).await.unwrap();
    assert_eq!(
        stores.migrate().await,
        Err(MigrateError::Refused { version: 1 })
    );
    let tables: i64 = raw
        .query_one(
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name LIKE 'twofa\\_%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 1, "only the application's own table is left");
}

#[tokio::test]
async fn a_schema_2_database_keeps_its_records_and_its_old_commit_through_the_upgrade() {
    let url = Cluster::shared()
        .unwrap()
        .database("upgrade_from_2")
        .await
        .unwrap();
    let raw = connect(&url).await.unwrap();
    // The schema as the previous release left it.
    raw.batch_execute(concat!(
        "CREATE TABLE twofa_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, \
         applied_at timestamptz NOT NULL DEFAULT now());",
        include_str!("../migrations/0001_initial.sql"),
        include_str!("../migrations/0002_login_commit.sql"),
        "INSERT INTO twofa_schema_migrations (version, name) VALUES (1, 'a'), (2, 'b');"
    ))
    .await
    .unwrap();
    let stores = PostgresStores::connect(&url).await.unwrap();
    let portal = Portal::on(std::slice::from_ref(&stores), EnrollmentPolicy::default()).await;
    let bob = portal.add_user("bob").await;
    let LoginStep::SetUp(screen) = portal.servers[0].begin_login(&bob, &home()).await.unwrap()
    else {
        panic!("expected set-up");
    };
    let ticket = screen.ticket;
    let user = stores.users().load(&bob).await.unwrap().unwrap();
    let pending = stores
        .pending_logins()
        .load(&ticket)
        .await
        .unwrap()
        .unwrap();
    let audit = stores.audit_log().read(0, 1000).await.unwrap();

    let migrated = stores.migrate().await.unwrap();
    assert_eq!((migrated.from, migrated.to), (2, Migrated::latest()));
    // A server started after the upgrade. (A connection that prepared a
    // statement on a changed column before the upgrade fails once: the
    // server refuses a cached plan whose result type changed.)
    let stores = PostgresStores::connect(&url).await.unwrap();
    assert_eq!(stores.users().load(&bob).await.unwrap().unwrap(), user);
    let loaded = stores
        .pending_logins()
        .load(&ticket)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded, pending);
    assert_eq!(stores.audit_log().read(0, 1000).await.unwrap(), audit);
    let options: Vec<String> = first_column(
        &raw,
        "SELECT reloptions FROM pg_class WHERE relname = 'twofa_users'",
    )
    .await;
    assert!(options.contains(&"toast_tuple_target=8160".to_owned()));

    // A server still on the previous release completes a login with the
    // function it knows, through the new column types.
    let renamed = employee("bob", "acme", "Bob L.");
    let entry = twofa::AuditEntry::new(
        instant(60),
        Some(company_id("acme")),
        Some(bob.clone()),
        twofa::AuditEvent::Rejected {
            detail: twofa::RejectionDetail::Replayed,
        },
    );
    let committed: bool = raw
        .query_one(
            "SELECT twofa_commit_login($1, $2, $3, $4, $5, $6, $7, $8, \
             ARRAY[$9::timestamptz], ARRAY[$3::text], ARRAY[$1::text], ARRAY[$10::jsonb])",
            &[
                &"bob",
                &i64::try_from(user.version.get()).unwrap(),
                &"acme",
                &tokio_postgres::types::Json(&renamed),
                &ticket.to_string(),
                &i64::try_from(pending.version.get()).unwrap(),
                &pending.record.expires_at(),
                &tokio_postgres::types::Json(&pending.record),
                &entry.at(),
                &tokio_postgres::types::Json(&entry),
            ],
        )
        .await
        .unwrap()
        .get(0);
    assert!(committed);
    let loaded = stores.users().load(&bob).await.unwrap().unwrap();
    assert_eq!(loaded.record, renamed);
    assert_eq!(loaded.version, user.version.next());
    let loaded = stores
        .pending_logins()
        .load(&ticket)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.version, pending.version.next());
    let appended = stores.audit_log().read(audit.len(), 10).await.unwrap();
    assert_eq!(appended, [entry]);
}

// --- Connections --------------------------------------------------------------

#[tokio::test]
async fn an_invalid_url_and_an_unreachable_server_are_told_apart() {
    assert_eq!(
        PostgresStores::connect("postgresql://[::1")
            .await
            .unwrap_err(),
        ConnectError::InvalidUrl
    );
    // A port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("host=127.0.0.1 port={port} user=postgres connect_timeout=5");
    assert_eq!(
        PostgresStores::connect(&url).await.unwrap_err(),
        ConnectError::Unavailable
    );

    // A pool built by the caller, whose server is gone: every operation
    // fails as unavailable.
    let config: tokio_postgres::Config = url.parse().unwrap();
    let manager = Manager::new(config, tokio_postgres::NoTls);
    let pool = Pool::builder(manager)
        .max_size(1)
        .runtime(Runtime::Tokio1)
        .build()
        .unwrap();
    let stores = PostgresStores::from_pool(pool);
    let ada = user_id("u-ada");
    assert_eq!(
        stores.users().load(&ada).await,
        Err(StoreError::Unavailable)
    );
    assert_eq!(
        stores
            .users()
            .save(&ada, employee("u-ada", "c-acme", "Ada"), None)
            .await,
        Err(SaveError::Store(StoreError::Unavailable))
    );
    assert_eq!(stores.migrate().await, Err(MigrateError::Unavailable));
    assert_eq!(
        stores.audit_log().read(0, 1).await,
        Err(StoreError::Unavailable)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_killed_on_its_connection_fails_whole_and_the_pool_recovers() {
    let url = Cluster::shared()
        .unwrap()
        .database("killed_save")
        .await
        .unwrap();
    // One connection: the call after the kill must get a new one.
    let stores = PostgresStores::connect_with_max_connections(&url, NonZeroUsize::MIN)
        .await
        .unwrap();
    stores.migrate().await.unwrap();
    let ada = user_id("u-ada");
    let v1 = stores
        .users()
        .save(&ada, employee("u-ada", "c-acme", "Ada"), None)
        .await
        .unwrap();

    // Hold the row so that the save waits, then kill the waiting backend.
    let blocker = connect(&url).await.unwrap();
    blocker
        .batch_execute("BEGIN; SELECT 1 FROM twofa_users WHERE user_id = 'u-ada' FOR UPDATE")
        .await
        .unwrap();
    let users = stores.users();
    let target = ada.clone();
    let save = tokio::spawn(async move {
        users
            .save(&target, employee("u-ada", "c-acme", "Eve"), Some(v1))
            .await
    });
    let observer = connect(&url).await.unwrap();
    let pid = blocked_backend(&observer, "UPDATE twofa_users").await;
    terminate(&observer, pid).await;
    assert_eq!(
        save.await.unwrap(),
        Err(SaveError::Store(StoreError::Unavailable))
    );
    blocker.batch_execute("ROLLBACK").await.unwrap();

    // Nothing was written, and the next call succeeds on a new connection.
    let loaded = stores.users().load(&ada).await.unwrap().unwrap();
    assert_eq!(loaded.version, v1);
    assert_eq!(loaded.record.display_name(), "Ada");
    let v2 = stores
        .users()
        .save(&ada, employee("u-ada", "c-acme", "Ada B."), Some(v1))
        .await
        .unwrap();
    assert_eq!(v2, v1.next());
}

// --- The login flow on two servers ---------------------------------------------

fn instant(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap() + TimeDelta::seconds(seconds)
}

fn home() -> ClientContext {
    ClientContext::new("203.0.113.9".parse().unwrap())
}

/// The origin the portal's pages are served from.
const PORTAL_ORIGIN: &str = "https://login.example.com";

fn relying_party() -> twofa::passkey::RelyingParty {
    twofa::passkey::RelyingParty::new(
        "example.com",
        "Partner Portal",
        [twofa::passkey::Origin::https(PORTAL_ORIGIN).unwrap()],
    )
    .unwrap()
}

/// Several servers of one portal: each its own service and pool, one
/// database, one clock, the same keys.
struct Portal {
    servers: Vec<Arc<Twofa>>,
    clock: Arc<ManualClock>,
    outbox: Arc<Outbox>,
    acme: CompanyId,
    admin: Actor,
}

impl Portal {
    async fn on(stores: &[PostgresStores], policy: EnrollmentPolicy) -> Self {
        let clock = Arc::new(ManualClock::new(instant(0)));
        let outbox = Arc::new(Outbox::new());
        let servers: Vec<Arc<Twofa>> = stores
            .iter()
            .zip(1u8..)
            .map(|(stores, seed)| {
                Arc::new(
                    Twofa::builder()
                        .stores(stores.stores())
                        .channels(Channels::outbox(&outbox))
                        .server_key(ServerKey::from_bytes(&[7u8; 32]).unwrap())
                        .sealer(Arc::new(XChaChaSealer::from_bytes(&[9u8; 32]).unwrap()))
                        .issuer(Issuer::new("Partner Portal").unwrap())
                        .with_clock(clock.clone())
                        // Each server its own random stream, as real ones have.
                        .with_random(Arc::new(SeededRandom::new([seed; 32])))
                        .with_enrollment_policy(policy.clone())
                        .with_max_store_attempts(200)
                        .with_passkeys(relying_party())
                        .build()
                        .unwrap(),
                )
            })
            .collect();
        let acme = company_id("acme");
        let first = servers[0].stores();
        first
            .companies()
            .save(&acme, CompanyRecord::new(acme.clone()), None)
            .await
            .unwrap();
        let admin = Actor::new(user_id("alice"), acme.clone(), CompanyRole::Admin);
        first
            .users()
            .save(
                admin.user(),
                UserRecord::new(
                    admin.user().clone(),
                    acme.clone(),
                    AccountKind::PartnerEmployee,
                    "Alice",
                ),
                None,
            )
            .await
            .unwrap();
        Self {
            servers,
            clock,
            outbox,
            acme,
            admin,
        }
    }

    async fn add_user(&self, id: &str) -> UserId {
        let user = user_id(id);
        let record = UserRecord::new(
            user.clone(),
            self.acme.clone(),
            AccountKind::PartnerEmployee,
            id,
        );
        self.servers[0]
            .stores()
            .users()
            .save(&user, record, None)
            .await
            .unwrap();
        user
    }

    /// Enrolls an authenticator app through the first server; returns the
    /// key URI (the simulated phone) and the recovery codes shown.
    async fn enroll_app(&self, user: &UserId) -> (ProvisioningUri, Vec<String>) {
        let server = &self.servers[0];
        let LoginStep::SetUp(screen) = server.begin_login(user, &home()).await.unwrap() else {
            panic!("expected set-up");
        };
        let SetUpProgress::ScanQrCode(uri) = server
            .choose_method(user, &screen.ticket, MethodChoice::AuthenticatorApp)
            .await
            .unwrap()
        else {
            panic!("expected a QR code");
        };
        let code = totp_code(&uri, twofa::Clock::now(&*self.clock));
        let LoginStep::Allowed(allowed) = server
            .submit_code(user, &screen.ticket, &code)
            .await
            .unwrap()
        else {
            panic!("expected the login to be allowed");
        };
        let sheet = allowed.recovery_codes.expect("recovery codes");
        (uri, sheet.expose_secret().map(str::to_owned).collect())
    }

    /// Sets up a passkey on `auth` through the first server.
    async fn enroll_passkey(&self, user: &UserId, auth: &mut twofa_passkey::SoftAuthenticator) {
        let server = &self.servers[0];
        let LoginStep::SetUp(screen) = server.begin_login(user, &home()).await.unwrap() else {
            panic!("expected set-up");
        };
        let name = twofa::passkey::CredentialName::new("Work laptop").unwrap();
        let SetUpProgress::CreatePasskey(options) = server
            .choose_method(user, &screen.ticket, MethodChoice::Passkey(name))
            .await
            .unwrap()
        else {
            panic!("expected passkey options");
        };
        let response = auth.create(PORTAL_ORIGIN, &options).unwrap();
        let step = server.submit_passkey(user, &screen.ticket, &response);
        assert!(matches!(step.await.unwrap(), LoginStep::Allowed(_)));
    }

    async fn challenge_ticket(&self, server: usize, user: &UserId) -> twofa::LoginTicket {
        match self.servers[server]
            .begin_login(user, &home())
            .await
            .unwrap()
        {
            LoginStep::Challenge(screen) => screen.ticket,
            other => panic!("expected a challenge, got {other:?}"),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        twofa::Clock::now(&*self.clock)
    }
}

/// What an authenticator app shows at `now` for this key.
fn totp_code(uri: &ProvisioningUri, now: DateTime<Utc>) -> String {
    let totp = uri.key_uri().to_totp().unwrap();
    let seconds = u64::try_from(now.timestamp()).unwrap();
    totp.generate(seconds)
        .unwrap()
        .expose_secret()
        .as_str()
        .to_owned()
}

/// Two servers with their own pools on one fresh database.
async fn two_servers(name: &str, policy: EnrollmentPolicy) -> (Portal, String) {
    let (first, url) = fresh(name).await;
    let second = PostgresStores::connect(&url).await.unwrap();
    (Portal::on(&[first, second], policy).await, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_code_sent_sixteen_times_to_each_of_two_servers_is_accepted_once() {
    let (portal, _) = two_servers("one_code_once", EnrollmentPolicy::default()).await;
    let portal = Arc::new(portal);
    let bob = portal.add_user("bob").await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.clock.advance(TimeDelta::minutes(1));
    let code = totp_code(&uri, portal.now());
    let mut tasks = Vec::new();
    for server in 0..2 {
        for _ in 0..16 {
            let ticket = portal.challenge_ticket(server, &bob).await;
            let portal = portal.clone();
            let bob = bob.clone();
            let code = code.clone();
            tasks.push(tokio::spawn(async move {
                portal.servers[server]
                    .submit_code(&bob, &ticket, &code)
                    .await
                    .is_ok()
            }));
        }
    }
    let mut accepted = 0;
    for task in tasks {
        if task.await.unwrap() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_passkey_answer_sent_sixteen_times_to_each_of_two_servers_completes_one_login() {
    let (portal, _) = two_servers("one_passkey_once", EnrollmentPolicy::default()).await;
    let portal = Arc::new(portal);
    let bob = portal.add_user("bob").await;
    let mut auth = twofa_passkey::SoftAuthenticator::new();
    portal.enroll_passkey(&bob, &mut auth).await;
    portal.clock.advance(TimeDelta::minutes(1));
    let LoginStep::Challenge(screen) = portal.servers[1].begin_login(&bob, &home()).await.unwrap()
    else {
        panic!("expected a challenge");
    };
    let options = screen.passkey.expect("passkey options");
    let response = auth.get(PORTAL_ORIGIN, &options).unwrap();
    let mut tasks = Vec::new();
    for server in 0..2 {
        for _ in 0..16 {
            let portal = portal.clone();
            let bob = bob.clone();
            let response = response.clone();
            let ticket = screen.ticket;
            tasks.push(tokio::spawn(async move {
                portal.servers[server]
                    .submit_passkey(&bob, &ticket, &response)
                    .await
                    .is_ok()
            }));
        }
    }
    let mut accepted = 0;
    for task in tasks {
        if task.await.unwrap() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
}

#[tokio::test]
async fn the_database_holds_neither_a_passkey_credential_nor_a_challenge() {
    let (stores, url) = fresh("passkey_sealed_at_rest").await;
    let portal = Portal::on(&[stores], EnrollmentPolicy::default()).await;
    let bob = portal.add_user("bob").await;
    let mut auth = twofa_passkey::SoftAuthenticator::new();
    portal.enroll_passkey(&bob, &mut auth).await;
    let LoginStep::Challenge(screen) = portal.servers[0].begin_login(&bob, &home()).await.unwrap()
    else {
        panic!("expected a challenge");
    };
    let options: serde_json::Value =
        serde_json::from_str(screen.passkey.unwrap().as_json()).unwrap();
    let challenge = options["publicKey"]["challenge"].as_str().unwrap();
    let credential = options["publicKey"]["allowCredentials"][0]["id"]
        .as_str()
        .unwrap();
    let everything = dump(&url).await;
    assert!(
        everything.contains("Work laptop"),
        "the dump holds the record"
    );
    assert!(!everything.contains(challenge));
    assert!(!everything.contains(credential));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_codes_sent_to_two_servers_at_once_are_each_counted() {
    let policy =
        EnrollmentPolicy::default().with_throttle(ThrottlePolicy::default().with_free_failures(50));
    let (portal, _) = two_servers("wrong_codes", policy).await;
    let portal = Arc::new(portal);
    let bob = portal.add_user("bob").await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.clock.advance(TimeDelta::minutes(1));
    let right = totp_code(&uri, portal.now());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let ticket = portal.challenge_ticket(0, &bob).await;
    let tasks: Vec<_> = (0..32)
        .map(|n| {
            let portal = portal.clone();
            let bob = bob.clone();
            tokio::spawn(async move {
                portal.servers[n % 2]
                    .submit_code(&bob, &ticket, wrong)
                    .await
            })
        })
        .collect();
    for task in tasks {
        let refused = task.await.unwrap().unwrap_err();
        assert_eq!(refused.advice(), RetryAdvice::IncorrectCode);
    }
    let stored = portal.servers[1]
        .stores()
        .users()
        .load(&bob)
        .await
        .unwrap()
        .unwrap();
    let sealer = XChaChaSealer::from_bytes(&[9u8; 32]).unwrap();
    let enrollment = stored.record.enrollment().unwrap().open(&sealer).unwrap();
    assert_eq!(enrollment.failures().consecutive(), 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_killed_mid_save_is_refused_whole_and_its_retry_is_accepted() {
    let url = Cluster::shared()
        .unwrap()
        .database("killed_login")
        .await
        .unwrap();
    let stores = PostgresStores::connect_with_max_connections(&url, NonZeroUsize::MIN)
        .await
        .unwrap();
    stores.migrate().await.unwrap();
    let portal =
        Arc::new(Portal::on(std::slice::from_ref(&stores), EnrollmentPolicy::default()).await);
    let bob = portal.add_user("bob").await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.clock.advance(TimeDelta::minutes(1));
    let ticket = portal.challenge_ticket(0, &bob).await;
    let code = totp_code(&uri, portal.now());
    let before = stores.users().load(&bob).await.unwrap().unwrap();
    let raw = connect(&url).await.unwrap();
    let audit_before: i64 = raw
        .query_one("SELECT count(*) FROM twofa_audit_log", &[])
        .await
        .unwrap()
        .get(0);

    // The commit that burns the code (one statement saving the user, the
    // login and the audit entries) waits on the user's row; kill it there.
    let blocker = connect(&url).await.unwrap();
    blocker
        .batch_execute("BEGIN; SELECT 1 FROM twofa_users WHERE user_id = 'bob' FOR UPDATE")
        .await
        .unwrap();
    let submit = {
        let portal = portal.clone();
        let bob = bob.clone();
        let code = code.clone();
        tokio::spawn(async move { portal.servers[0].submit_code(&bob, &ticket, &code).await })
    };
    let pid = blocked_backend(&raw, "WITH locked AS").await;
    terminate(&raw, pid).await;
    let refused = submit.await.unwrap().unwrap_err();
    assert_ne!(refused.advice(), RetryAdvice::IncorrectCode);
    blocker.batch_execute("ROLLBACK").await.unwrap();

    // Nothing half-written: the user record is as before, the login still
    // pending, no acceptance audited.
    assert_eq!(stores.users().load(&bob).await.unwrap().unwrap(), before);
    let pending = stores
        .pending_logins()
        .load(&ticket)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        pending.record.stage(),
        twofa::LoginStage::Challenge { .. }
    ));
    let allowed_after: i64 = raw
        .query_one(
            "SELECT count(*) FROM twofa_audit_log \
             WHERE seq > $1 AND (entry -> 'event')::jsonb ? 'LoginAllowed'",
            &[&audit_before],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(allowed_after, 0);

    // The same code on the same ticket now goes through, on a new connection.
    let step = portal.servers[0]
        .submit_code(&bob, &ticket, &code)
        .await
        .unwrap();
    assert!(matches!(step, LoginStep::Allowed(_)));
}

/// Every row of every table, as text.
async fn dump(url: &str) -> String {
    let raw = connect(url).await.unwrap();
    let mut everything = String::new();
    for table in [
        "twofa_users",
        "twofa_companies",
        "twofa_challenges",
        "twofa_trust_grants",
        "twofa_audit_log",
        "twofa_send_counters",
    ] {
        let text: Option<String> = raw
            .query_one(
                &format!("SELECT string_agg(t::text, ' ') FROM {table} t"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        everything.push_str(&text.unwrap_or_default());
        everything.push('\n');
    }
    everything
}

#[tokio::test]
async fn the_database_holds_neither_the_totp_secret_nor_the_recovery_codes() {
    let (stores, url) = fresh("sealed_at_rest").await;
    let portal = Portal::on(&[stores], EnrollmentPolicy::default()).await;
    let bob = portal.add_user("bob").await;
    let (uri, recovery) = portal.enroll_app(&bob).await;
    let everything = dump(&url).await;
    assert!(everything.contains("bob"), "the dump holds the records");
    let key_uri = uri.key_uri().to_uri();
    let base32 = key_uri
        .split(['?', '&'])
        .find_map(|part| part.strip_prefix("secret="))
        .unwrap();
    assert!(base32.len() >= 16);
    let hex: String = uri
        .key_uri()
        .secret()
        .expose_secret()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let lowercase = everything.to_lowercase();
    assert!(!lowercase.contains(&base32.to_lowercase()));
    assert!(!lowercase.contains(&hex));
    assert!(!recovery.is_empty());
    for code in &recovery {
        assert!(!everything.contains(code.as_str()));
    }
}

/// The code in the last text message sent: the digits after "code" and
/// the colon that follows it.
fn last_sms_code(outbox: &Outbox) -> String {
    let Some(SentMessage::Sms(sms)) = outbox.last() else {
        panic!("expected a text message");
    };
    let text = sms.body.expose_secret();
    let after = &text[text.find("code").unwrap()..];
    after[after.find(':').unwrap()..]
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect()
}

#[tokio::test]
async fn the_database_holds_neither_a_full_phone_number_nor_a_sent_code() {
    let (stores, url) = fresh("phone_at_rest").await;
    let portal = Portal::on(&[stores], EnrollmentPolicy::default()).await;
    let bob = portal.add_user("bob").await;
    let server = &portal.servers[0];
    let LoginStep::SetUp(screen) = server.begin_login(&bob, &home()).await.unwrap() else {
        panic!("expected set-up");
    };
    let progress = server
        .choose_method(
            &bob,
            &screen.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap();
    assert!(matches!(progress, SetUpProgress::CodeSent(_)));
    let code = last_sms_code(&portal.outbox);
    assert_eq!(code.len(), 6);

    // While the code is pending, and once the number is enrolled.
    let pending = dump(&url).await;
    let step = server
        .submit_code(&bob, &screen.ticket, &code)
        .await
        .unwrap();
    assert!(matches!(step, LoginStep::Allowed(_)));
    let enrolled = dump(&url).await;
    for everything in [pending, enrolled] {
        assert!(everything.contains("bob"), "the dump holds the records");
        let digits: String = everything.chars().filter(char::is_ascii_digit).collect();
        // The masked form, with only the last digits, is there; the
        // national number, whatever the spacing, is not.
        assert!(everything.contains("3456"), "the masked number is stored");
        assert!(!digits.contains("7400123456"));
        assert!(!everything.contains(&code));
    }
}

#[tokio::test]
async fn expired_logins_are_purged_from_their_expiry_instant_on() {
    let (stores, _) = fresh("purge").await;
    let portal = Portal::on(std::slice::from_ref(&stores), EnrollmentPolicy::default()).await;
    let bob = portal.add_user("bob").await;
    let LoginStep::SetUp(screen) = portal.servers[0].begin_login(&bob, &home()).await.unwrap()
    else {
        panic!("expected set-up");
    };
    let pending = stores
        .pending_logins()
        .load(&screen.ticket)
        .await
        .unwrap()
        .unwrap();
    let expiry = pending.record.expires_at();
    assert!(expiry > portal.now());
    let second = TimeDelta::seconds(1);
    assert_eq!(
        stores.purge_expired_logins(expiry - second).await.unwrap(),
        0
    );
    assert_eq!(stores.purge_expired_logins(expiry).await.unwrap(), 1);
    assert_eq!(
        stores.purge_expired_logins(expiry + second).await.unwrap(),
        0
    );
    assert!(
        stores
            .pending_logins()
            .load(&screen.ticket)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_removed_user_takes_their_pending_logins_along() {
    // A user created again under the same id starts at version 1 again: no
    // ticket of the removed one may complete a login of the new one.
    let (stores, _) = fresh("remove_user").await;
    let portal = Portal::on(std::slice::from_ref(&stores), EnrollmentPolicy::default()).await;
    let server = &portal.servers[0];
    let mut tickets = Vec::new();
    for name in ["bob", "carol"] {
        let user = portal.add_user(name).await;
        let LoginStep::SetUp(screen) = server.begin_login(&user, &home()).await.unwrap() else {
            panic!("expected set-up");
        };
        tickets.push((user, screen.ticket));
    }
    let pending = stores.pending_logins();
    let [(bob, bob_ticket), (carol, carol_ticket)] = &tickets[..] else {
        unreachable!()
    };
    // A removal at a stale version removes nothing.
    let stored = stores.users().load(carol).await.unwrap().unwrap();
    let stale = Version::new(stored.version.get() + 7);
    assert_eq!(
        stores.users().remove(carol, stale).await,
        Err(SaveError::Conflict)
    );
    assert!(pending.load(carol_ticket).await.unwrap().is_some());
    server.delete_user(bob).await.unwrap();
    assert!(pending.load(bob_ticket).await.unwrap().is_none());
    assert!(pending.load(carol_ticket).await.unwrap().is_some());
}

#[test]
fn debug_output_shows_the_pool_not_its_configuration() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let url = Cluster::shared().unwrap().database("debug").await.unwrap();
        // Trust authentication ignores the password; Debug must not show it.
        let with_password = if url.contains("://") {
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}password=hunter2-secret")
        } else {
            format!("{url} password=hunter2-secret")
        };
        let stores = PostgresStores::connect(&with_password).await.unwrap();
        for text in [
            format!("{stores:?}"),
            format!("{:?}", stores.users()),
            format!("{:?}", stores.companies()),
            format!("{:?}", stores.pending_logins()),
            format!("{:?}", stores.trust_grants()),
            format!("{:?}", stores.audit_log()),
        ] {
            assert!(text.contains("max_connections"), "{text}");
            assert!(!text.contains("hunter2"), "{text}");
            assert!(!text.contains("127.0.0.1"), "{text}");
        }
    });
}

// --- Bounded waits -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_makes_a_login_fail_as_temporarily_unavailable_not_hang() {
    let url = Cluster::shared()
        .unwrap()
        .database("held_lock")
        .await
        .unwrap();
    let options = twofa_store_postgres::PoolOptions::new()
        .with_lock_timeout(std::time::Duration::from_millis(200))
        .with_statement_timeout(std::time::Duration::from_millis(500));
    let stores = PostgresStores::connect_with(&url, options).await.unwrap();
    stores.migrate().await.unwrap();
    let outbox = Arc::new(Outbox::new());
    let twofa = Twofa::builder()
        .stores(stores.stores())
        .channels(Channels::outbox(&outbox))
        .server_key(ServerKey::from_bytes(&[7u8; 32]).unwrap())
        .sealer(Arc::new(XChaChaSealer::from_bytes(&[9u8; 32]).unwrap()))
        .issuer(Issuer::new("Partner Portal").unwrap())
        .build()
        .unwrap();
    let (acme, ada) = (company_id("c-acme"), user_id("u-ada"));
    twofa
        .create_company(twofa::NewCompany::new(acme.clone()))
        .await
        .unwrap();
    twofa
        .create_user(twofa::NewUser::new(
            ada.clone(),
            acme,
            AccountKind::PartnerEmployee,
            "Ada",
        ))
        .await
        .unwrap();

    // Another session holds the users table for as long as it likes.
    let blocker = connect(&url).await.unwrap();
    blocker
        .batch_execute("BEGIN; LOCK TABLE twofa_users IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    // Without the store's own timeouts this would wait for the lock
    // forever; the outer limit only turns a hang into a failure.
    let refused = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        twofa.begin_login(&ada, &home()),
    )
    .await
    .expect("the login waited on the lock without bound")
    .unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::TemporarilyUnavailable);
    assert_eq!(refused.reason(), twofa::RejectionDetail::StoreFailed);

    // Once the lock is gone, the same user logs in.
    blocker.batch_execute("ROLLBACK").await.unwrap();
    assert!(matches!(
        twofa.begin_login(&ada, &home()).await.unwrap(),
        LoginStep::SetUp(_)
    ));
}

#[tokio::test]
async fn purging_keeps_the_pending_login_table_bounded_under_a_login_loop() {
    let (stores, url) = fresh("purge_loop").await;
    let clock = Arc::new(ManualClock::new(instant(1_800_000_000)));
    let outbox = Arc::new(Outbox::new());
    let twofa = Twofa::builder()
        .stores(stores.stores())
        .channels(Channels::outbox(&outbox))
        .server_key(ServerKey::from_bytes(&[7u8; 32]).unwrap())
        .sealer(Arc::new(XChaChaSealer::from_bytes(&[9u8; 32]).unwrap()))
        .issuer(Issuer::new("Partner Portal").unwrap())
        .with_clock(clock.clone())
        .build()
        .unwrap();
    let acme = company_id("c-acme");
    twofa
        .create_company(twofa::NewCompany::new(acme.clone()))
        .await
        .unwrap();
    let ada = user_id("u-ada");
    twofa
        .create_user(twofa::NewUser::new(
            ada.clone(),
            acme,
            AccountKind::PartnerEmployee,
            "Ada",
        ))
        .await
        .unwrap();
    let observer = connect(&url).await.unwrap();
    let rows = || async {
        observer
            .query_one("SELECT count(*) FROM twofa_challenges", &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    // A login a minute, never finished; tickets live 30 minutes; a purge
    // every 10 minutes keeps at most 40 rows.
    let mut most = 0;
    for minute in 1..=120 {
        let step = twofa.begin_login(&ada, &home()).await.unwrap();
        assert!(matches!(step, LoginStep::SetUp(_)));
        if minute % 10 == 0 {
            twofa.purge_expired_logins().await.unwrap();
        }
        most = most.max(rows().await);
        clock.advance(TimeDelta::minutes(1));
    }
    assert!(most <= 40, "{most} pending logins kept");
    assert!(most >= 30, "{most}: live logins were purged");
}
