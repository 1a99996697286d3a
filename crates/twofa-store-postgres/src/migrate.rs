//! Embedded, versioned schema migrations.
//!
//! Each migration runs once, in order, inside one transaction together with
//! the bookkeeping row that records it. The transaction first takes a
//! transaction-scoped advisory lock, so servers that start at the same time
//! apply the migrations one after the other: the first applies them, the
//! others wait for its commit, then find nothing left to do.

use deadpool_postgres::{Object, Pool};

use crate::error::MigrateError;

/// One schema change.
struct Migration {
    version: u32,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, in version order starting at 1, without gaps.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial schema",
        sql: include_str!("../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "login commit",
        sql: include_str!("../migrations/0002_login_commit.sql"),
    },
    Migration {
        version: 3,
        name: "lean login",
        sql: include_str!("../migrations/0003_lean_login.sql"),
    },
    Migration {
        version: 4,
        name: "send counters",
        sql: include_str!("../migrations/0004_send_counters.sql"),
    },
    Migration {
        version: 5,
        name: "audit retention",
        sql: include_str!("../migrations/0005_audit_retention.sql"),
    },
    Migration {
        version: 6,
        name: "audit time range index",
        sql: include_str!("../migrations/0006_audit_time_brin.sql"),
    },
];

/// Key of the advisory lock held while migrating: the ASCII bytes of
/// `twofa_pg`, chosen to be unlikely to collide with an application's own
/// advisory locks.
const MIGRATION_LOCK: i64 = 0x7477_6f66_615f_7067;

const CREATE_BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS twofa_schema_migrations (
    version    integer PRIMARY KEY CHECK (version > 0),
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// What [`PostgresStores::migrate`](crate::PostgresStores::migrate) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Migrated {
    /// The schema version found (0: a database this crate never touched).
    pub from: u32,
    /// The schema version now (equal to `from` when nothing was left to do).
    pub to: u32,
}

impl Migrated {
    /// The newest schema version this release knows.
    #[must_use]
    pub fn latest() -> u32 {
        MIGRATIONS.last().map_or(0, |migration| migration.version)
    }
}

pub(crate) async fn migrate(pool: &Pool) -> Result<Migrated, MigrateError> {
    let mut client = pool.get().await.map_err(|_| MigrateError::Unavailable)?;
    let result = apply(&mut client).await;
    if result.is_err() {
        // The connection may be broken, or inside a transaction the server
        // has not rolled back yet: do not hand it to the next operation.
        drop(Object::take(client));
    }
    result
}

async fn apply(client: &mut Object) -> Result<Migrated, MigrateError> {
    let transaction = client
        .transaction()
        .await
        .map_err(|_| MigrateError::Unavailable)?;
    // Released by the commit or rollback that ends the transaction, also
    // when the connection dies.
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|_| MigrateError::Unavailable)?;
    transaction
        .batch_execute(CREATE_BOOKKEEPING)
        .await
        .map_err(|_| MigrateError::Refused { version: 0 })?;
    let found: Option<i32> = transaction
        .query_one("SELECT max(version) FROM twofa_schema_migrations", &[])
        .await
        .map_err(|_| MigrateError::Unavailable)?
        .try_get(0)
        .map_err(|_| MigrateError::Corrupt)?;
    let from = u32::try_from(found.unwrap_or(0)).map_err(|_| MigrateError::Corrupt)?;
    let supported = Migrated::latest();
    if from > supported {
        return Err(MigrateError::SchemaTooNew {
            found: from,
            supported,
        });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > from) {
        let refused = |_| MigrateError::Refused {
            version: migration.version,
        };
        transaction
            .batch_execute(migration.sql)
            .await
            .map_err(refused)?;
        let version = i32::try_from(migration.version).map_err(|_| MigrateError::Corrupt)?;
        transaction
            .execute(
                "INSERT INTO twofa_schema_migrations (version, name) VALUES ($1, $2)",
                &[&version, &migration.name],
            )
            .await
            .map_err(refused)?;
    }
    transaction
        .commit()
        .await
        .map_err(|_| MigrateError::Unavailable)?;
    Ok(Migrated {
        from,
        to: supported,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_start_at_one_and_have_no_gaps() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(usize::try_from(migration.version).unwrap(), index + 1);
            assert!(!migration.name.is_empty());
            assert!(!migration.sql.trim().is_empty());
        }
        assert_eq!(Migrated::latest(), u32::try_from(MIGRATIONS.len()).unwrap());
    }

    #[test]
    fn lock_key_spells_the_crate_prefix() {
        assert_eq!(&MIGRATION_LOCK.to_be_bytes(), b"twofa_pg");
    }
}
