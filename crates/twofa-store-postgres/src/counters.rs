//! The send budget's counters on PostgreSQL: one transaction per charge.

use std::fmt;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Object, Pool};
use twofa::delivery::{BudgetDecision, Charges};
use twofa::{SendCounterStore, StoreError, StoreFuture};

use crate::error::{corrupt, from_driver, unavailable};

/// Adds one to a counter still below its limit (`$2`), creating it at 1;
/// returns no row when the counter is at its limit. The upsert locks the
/// row either way, until the transaction ends.
const CHARGE: &str = "INSERT INTO twofa_send_counters AS c (key, n, expires_at) \
     VALUES ($1, 1, $3) \
     ON CONFLICT (key) DO UPDATE SET n = c.n + 1 \
     WHERE c.n < $2 \
     RETURNING n";

/// The counts of the given keys, to name the counter that ran out.
const COUNTS: &str = "SELECT key, n FROM twofa_send_counters WHERE key = ANY($1)";

const PURGE: &str = "DELETE FROM twofa_send_counters WHERE expires_at <= $1";

/// The send-budget counters in the `twofa_send_counters` table, shared by
/// every server on the database.
///
/// A charge is one transaction: a conditional upsert per counter, in key
/// order (so two charges lock rows in the same order and cannot deadlock),
/// committed only if every counter was below its limit.
#[derive(Clone)]
pub struct PostgresSendCounters {
    pool: Pool,
}

impl fmt::Debug for PostgresSendCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSendCounters")
            .finish_non_exhaustive()
    }
}

impl PostgresSendCounters {
    pub(crate) fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

fn limit_column(limit: u32) -> i32 {
    // A limit above i32::MAX is never reached by an i32 count: capping it
    // changes nothing a policy can express (its limits are at most 10^7).
    i32::try_from(limit).unwrap_or(i32::MAX)
}

async fn charge(client: &mut Object, charges: &Charges) -> Result<BudgetDecision, StoreError> {
    let transaction = client.transaction().await.map_err(|e| from_driver(&e))?;
    let upsert = transaction
        .prepare_cached(CHARGE)
        .await
        .map_err(|e| from_driver(&e))?;
    let mut full = None;
    for (index, counter) in charges.counters().iter().enumerate() {
        let row = transaction
            .query_opt(
                &upsert,
                &[
                    &counter.key().as_str(),
                    &limit_column(counter.limit()),
                    &counter.window_end(),
                ],
            )
            .await
            .map_err(|e| from_driver(&e))?;
        if row.is_none() {
            full = Some(index);
            break;
        }
    }
    let Some(full) = full else {
        transaction.commit().await.map_err(|e| from_driver(&e))?;
        return Ok(BudgetDecision::Allowed);
    };
    // Read every count while the rows before `full` still hold this
    // charge's increment (taken off again below), then undo it.
    let keys: Vec<&str> = charges
        .counters()
        .iter()
        .map(|counter| counter.key().as_str())
        .collect();
    let rows = transaction
        .query(COUNTS, &[&keys])
        .await
        .map_err(|e| from_driver(&e))?;
    transaction.rollback().await.map_err(|e| from_driver(&e))?;
    let mut stored_counts = std::collections::HashMap::with_capacity(rows.len());
    for row in &rows {
        let key: String = row.try_get(0).map_err(corrupt)?;
        let n: i32 = row.try_get(1).map_err(corrupt)?;
        stored_counts.insert(key, u32::try_from(n).map_err(corrupt)?);
    }
    let mut counts = Vec::with_capacity(keys.len());
    for (index, key) in keys.iter().enumerate() {
        let stored = stored_counts.get(*key).copied().unwrap_or(0);
        counts.push(if index < full {
            stored.saturating_sub(1)
        } else {
            stored
        });
    }
    match charges.decide(&counts) {
        // The counts moved under another charge: the counter that refused
        // this one says why.
        BudgetDecision::Allowed => Ok(charges.refused_by(full)),
        decision => Ok(decision),
    }
}

impl SendCounterStore for PostgresSendCounters {
    fn charge<'a>(
        &'a self,
        charges: &'a Charges,
        _now: DateTime<Utc>,
    ) -> StoreFuture<'a, Result<BudgetDecision, StoreError>> {
        StoreFuture::new(async move {
            let mut client = self.pool.get().await.map_err(unavailable)?;
            let result = charge(&mut client, charges).await;
            if result.is_err() {
                // The connection may be broken or inside a transaction the
                // server has not ended: it does not go back to the pool.
                drop(Object::take(client));
            }
            result
        })
    }

    fn purge_expired<'a>(&'a self, now: DateTime<Utc>) -> StoreFuture<'a, Result<u64, StoreError>> {
        StoreFuture::new(purge_expired(&self.pool, now))
    }
}

pub(crate) async fn purge_expired(pool: &Pool, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let client = pool.get().await.map_err(unavailable)?;
    let result = client.execute(PURGE, &[&now]).await;
    result.map_err(|error| {
        drop(Object::take(client));
        from_driver(&error)
    })
}
