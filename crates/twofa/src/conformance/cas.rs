//! The compare-and-swap contract every keyed store keeps, whatever it
//! holds.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{ConformanceFailure, check};
use crate::store::{SaveError, StoreFuture, Version, VersionedStore};

/// Polls every future in turn until all are done, so their store
/// operations are in flight together.
pub(super) struct JoinAll<'a, T> {
    futures: Vec<Option<StoreFuture<'a, T>>>,
    outputs: Vec<Option<T>>,
}

impl<T: Unpin> Future for JoinAll<'_, T> {
    type Output = Vec<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        let this = self.get_mut();
        let mut pending = false;
        for (slot, output) in this.futures.iter_mut().zip(this.outputs.iter_mut()) {
            if let Some(future) = slot {
                match Pin::new(future).poll(cx) {
                    Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(this.outputs.iter_mut().filter_map(Option::take).collect())
        }
    }
}

pub(super) fn join_all<T>(futures: Vec<StoreFuture<'_, T>>) -> JoinAll<'_, T> {
    let outputs = futures.iter().map(|_| None).collect();
    JoinAll {
        futures: futures.into_iter().map(Some).collect(),
        outputs,
    }
}

/// The contract of [`VersionedStore`] on an empty store, with `key` and
/// `other_key` two keys and `records` at least three sample records.
pub(super) async fn cas_contract<K, V, S>(
    store: &S,
    key: &K,
    other_key: &K,
    records: &[V],
) -> Result<(), ConformanceFailure>
where
    V: Clone + PartialEq + Debug,
    S: VersionedStore<K, V> + ?Sized,
{
    let [first, second, third, racers @ ..] = records else {
        return Err(ConformanceFailure {
            rule: "the suite needs at least three sample records",
        });
    };
    let fail = |_| ConformanceFailure {
        rule: "operations on a healthy store succeed",
    };

    check(
        store.load(key).await.map_err(fail)?.is_none(),
        "a missing record loads as none",
    )?;
    let v1 = store
        .save(key, first.clone(), None)
        .await
        .map_err(|_| ConformanceFailure {
            rule: "inserting a new record succeeds",
        })?;
    let loaded = store.load(key).await.map_err(fail)?;
    check(
        loaded.as_ref().map(|l| (&l.record, l.version)) == Some((first, v1)),
        "an inserted record loads back unchanged at the version the insert returned",
    )?;
    check(
        store.save(key, second.clone(), None).await == Err(SaveError::Conflict),
        "inserting over an existing record is a conflict",
    )?;
    let v2 = store
        .save(key, second.clone(), Some(v1))
        .await
        .map_err(|_| ConformanceFailure {
            rule: "saving at the loaded version succeeds",
        })?;
    check(v2 != v1, "a successful save changes the version")?;
    check(
        store.save(key, third.clone(), Some(v1)).await == Err(SaveError::Conflict),
        "saving at a stale version is a conflict",
    )?;
    let loaded = store.load(key).await.map_err(fail)?;
    check(
        loaded.as_ref().map(|l| (&l.record, l.version)) == Some((second, v2)),
        "a conflicting save leaves the record and its version unchanged",
    )?;
    check(
        store.save(other_key, third.clone(), Some(v2)).await == Err(SaveError::Conflict),
        "saving a missing record at some version is a conflict",
    )?;
    check(
        store.load(other_key).await.map_err(fail)?.is_none(),
        "records under different keys are independent",
    )?;

    // Every racer saves from v2: exactly one may win.
    let racing: Vec<V> = racers.iter().chain([third]).cloned().collect();
    let futures = racing
        .iter()
        .map(|record| store.save(key, record.clone(), Some(v2)))
        .collect();
    let results = join_all(futures).await;
    let winners: Vec<(usize, Version)> = results
        .iter()
        .enumerate()
        .filter_map(|(index, result)| result.ok().map(|version| (index, version)))
        .collect();
    check(
        winners.len() == 1,
        "concurrent saves from the same version have exactly one winner",
    )?;
    check(
        results
            .iter()
            .all(|result| matches!(result, Ok(_) | Err(SaveError::Conflict))),
        "the losers of a race get a conflict",
    )?;
    let loaded = store.load(key).await.map_err(fail)?;
    let winner = winners
        .first()
        .and_then(|(index, version)| racing.get(*index).map(|record| (record, *version)));
    check(
        loaded.as_ref().map(|l| (&l.record, l.version)) == winner,
        "the winner's record and version are what loads after a race",
    )?;

    // Removal is conditional on the version too.
    let Some(current) = loaded.map(|l| l.version) else {
        return Err(ConformanceFailure {
            rule: "the winner's record and version are what loads after a race",
        });
    };
    check(
        store.remove(key, v2).await == Err(SaveError::Conflict),
        "removing at a stale version is a conflict",
    )?;
    check(
        store.remove(other_key, current).await == Err(SaveError::Conflict),
        "removing a missing record is a conflict",
    )?;
    check(
        store.load(key).await.map_err(fail)?.map(|l| l.version) == Some(current),
        "a conflicting removal leaves the record in place",
    )?;
    check(
        store.remove(key, current).await.is_ok(),
        "removing at the loaded version succeeds",
    )?;
    check(
        store.load(key).await.map_err(fail)?.is_none(),
        "a removed record loads as none",
    )?;
    check(
        store.remove(key, current).await == Err(SaveError::Conflict),
        "removing a record twice is a conflict",
    )?;
    let again = store
        .save(key, first.clone(), None)
        .await
        .map_err(|_| ConformanceFailure {
            rule: "a removed key can be inserted again",
        })?;
    check(
        store.load(key).await.map_err(fail)?.map(|l| l.version) == Some(again),
        "a record inserted after a removal loads at the version the insert returned",
    )
}
