//! The contract of a [`SendCounterStore`]: all or none, exact under
//! concurrency, windows and purge.

use twofa_delivery::{
    BudgetDecision, BudgetExhausted, BudgetScope, SendBudgetPolicy, SendRequest, ServerKey,
};
use twofa_types::{CountryCodeSet, UserId};

use super::cas::join_all;
use super::{ConformanceFailure, check, ids, instant};
use crate::budget::SendCounterStore;

/// Concurrent charges against a counter with [`LEFT`] sends left.
const CHARGERS: usize = 16;
/// Sends a user has in the suite's hour.
const LEFT: u32 = 3;

fn failed(rule: &'static str) -> impl FnOnce(crate::StoreError) -> ConformanceFailure {
    move |_| ConformanceFailure { rule }
}

/// Checks a [`SendCounterStore`]: of 16 concurrent charges with 3 sends
/// left exactly 3 are allowed; a refused charge charges none of its
/// counters; a counter counts in its window only; purge forgets ended
/// windows and nothing else.
///
/// # Errors
///
/// The first rule the store breaks.
pub async fn send_counter_store(store: &dyn SendCounterStore) -> Result<(), ConformanceFailure> {
    let sample = |rule| ConformanceFailure { rule };
    let policy = SendBudgetPolicy::default()
        .with_limit(BudgetScope::UserCodesPerHour, LEFT)
        .and_then(|p| p.with_limit(BudgetScope::UserCodesPerDay, LEFT + 1))
        .map_err(|_| sample("the suite's sample policy is valid"))?;
    let key = ServerKey::from_bytes(&[0x5a; 32]).map_err(|_| sample("sample key"))?;
    let users = ids(|n| UserId::new(n).ok(), &["u-ada", "u-bob"])?;
    let [ada, bob] = users.as_slice() else {
        return Err(sample("sample ids"));
    };
    let every = CountryCodeSet::all();
    let now = instant(10);
    let hour_end = instant(3_600);
    let push = |user: &UserId, at| {
        policy
            .charges(&SendRequest::push(user), &every, &key, at)
            .map_err(|_| sample("the suite's sample charges are valid"))
    };

    // Exact under concurrency.
    let ada_push = push(ada, now)?;
    let futures = (0..CHARGERS)
        .map(|_| store.charge(&ada_push, now))
        .collect();
    let results = join_all(futures).await;
    let mut allowed = 0_u32;
    for result in results {
        match result.map_err(failed("a charge succeeds"))? {
            BudgetDecision::Allowed => allowed = allowed.saturating_add(1),
            BudgetDecision::Exhausted(exhausted) => check(
                exhausted.scope == BudgetScope::UserCodesPerHour && exhausted.frees_at == hour_end,
                "a refusal names the full counter and the end of its window",
            )?,
            _ => return Err(sample("a charge is allowed or refused")),
        }
    }
    check(
        allowed == LEFT,
        "of concurrent charges with n sends left, exactly n are allowed",
    )?;

    // Another user's counters are their own.
    check(
        store
            .charge(&push(bob, now)?, now)
            .await
            .map_err(failed("a charge succeeds"))?
            == BudgetDecision::Allowed,
        "counters of other keys are independent",
    )?;

    // Windows and purge: the hour's counters go, the day's stay. The day
    // counter was charged by the allowed charges only: one more send is
    // left in the next hour, then the day is full.
    let purged = store
        .purge_expired(hour_end)
        .await
        .map_err(failed("purging succeeds"))?;
    check(purged > 0, "purge removes the counters whose window ended")?;
    check(
        store
            .purge_expired(hour_end)
            .await
            .map_err(failed("purging succeeds"))?
            == 0,
        "a second purge at the same instant removes nothing",
    )?;
    let next_hour = push(ada, hour_end)?;
    check(
        store
            .charge(&next_hour, hour_end)
            .await
            .map_err(failed("a charge succeeds"))?
            == BudgetDecision::Allowed,
        "a counter counts from zero in its next window, and refused charges charged nothing",
    )?;
    check(
        matches!(
            store
                .charge(&next_hour, hour_end)
                .await
                .map_err(failed("a charge succeeds"))?,
            BudgetDecision::Exhausted(BudgetExhausted {
                scope: BudgetScope::UserCodesPerDay,
                ..
            })
        ),
        "purge keeps the counters whose window has not ended",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::{DateTime, Utc};
    use twofa_delivery::{BudgetDecision, Charges};

    use super::send_counter_store;
    use crate::StoreFuture;
    use crate::budget::SendCounterStore;
    use crate::memory::InMemorySendCounters;

    /// Charges whatever the counts: what a store that only increments,
    /// without comparing, would do.
    #[derive(Debug, Default)]
    struct NeverFull(Mutex<u64>);

    impl SendCounterStore for NeverFull {
        fn charge<'a>(
            &'a self,
            _charges: &'a Charges,
            _now: DateTime<Utc>,
        ) -> StoreFuture<'a, Result<BudgetDecision, crate::StoreError>> {
            *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
            StoreFuture::ready(Ok(BudgetDecision::Allowed))
        }

        fn purge_expired<'a>(
            &'a self,
            _now: DateTime<Utc>,
        ) -> StoreFuture<'a, Result<u64, crate::StoreError>> {
            StoreFuture::ready(Ok(0))
        }
    }

    #[tokio::test]
    async fn the_in_memory_counters_pass_and_a_store_that_never_refuses_fails() {
        assert_eq!(
            send_counter_store(&InMemorySendCounters::new()).await,
            Ok(())
        );
        let broken = send_counter_store(&NeverFull::default()).await.unwrap_err();
        assert_eq!(
            broken.rule,
            "of concurrent charges with n sends left, exactly n are allowed"
        );
    }
}
