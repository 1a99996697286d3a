//! Housekeeping an application runs now and then, outside any login.

use std::num::NonZeroU32;

use chrono::TimeDelta;

use crate::service::Twofa;
use crate::store::StoreError;

/// How long audit entries are kept: 400 days by default, a year and a
/// month for a yearly review to find the whole previous year. Much longer
/// than a pending login lives, and purged on its own schedule
/// ([`Twofa::purge_old_audit_entries`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuditRetention {
    days: NonZeroU32,
}

impl Default for AuditRetention {
    fn default() -> Self {
        Self {
            days: NonZeroU32::MIN.saturating_add(399),
        }
    }
}

impl AuditRetention {
    /// Entries are kept for `days` days.
    #[must_use]
    pub const fn days(days: NonZeroU32) -> Self {
        Self { days }
    }

    /// The number of days entries are kept.
    #[must_use]
    pub const fn in_days(self) -> NonZeroU32 {
        self.days
    }

    /// The same span as a duration.
    #[must_use]
    pub fn span(self) -> TimeDelta {
        TimeDelta::days(i64::from(self.days.get()))
    }
}

impl Twofa {
    /// Removes the pending logins whose ticket has expired by the
    /// service's clock (completed ones included) and returns how many;
    /// then forgets the send-budget counters whose window has ended
    /// ([`SendCounterStore::purge_expired`](crate::SendCounterStore::purge_expired)).
    /// Expired tickets are refused and ended counters count nothing
    /// anyway; this only keeps the stores from growing. Run it now and
    /// then, e.g. every few minutes, from one server.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the pending-login store fails (or does not
    /// implement [`PendingLoginStore::purge_expired`](crate::PendingLoginStore::purge_expired));
    /// nothing is removed then. Or when the counter store fails after the
    /// pending logins were purged.
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use twofa::delivery::{Issuer, Outbox, ServerKey};
    /// use twofa::{Channels, Stores, Twofa, XChaChaSealer};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let outbox = Arc::new(Outbox::new());
    /// let twofa = Twofa::builder()
    ///     .stores(Stores::in_memory())
    ///     .channels(Channels::outbox(&outbox))
    ///     .server_key(ServerKey::from_bytes(&[7u8; 32])?)
    ///     .sealer(Arc::new(XChaChaSealer::from_bytes(&[9u8; 32])?))
    ///     .issuer(Issuer::new("Partner Portal")?)
    /// .build()?;
    /// assert_eq!(twofa.purge_expired_logins().await?, 0);
    /// # Ok(())
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(run())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn purge_expired_logins(&self) -> Result<u64, StoreError> {
        crate::observe::operation("purge_expired_logins", None, async {
            let now = self.clock.now();
            let logins = self.stores.pending_logins.purge_expired(now).await?;
            self.stores.counters.purge_expired(now).await?;
            Ok(logins)
        })
        .await
    }

    /// Removes the audit entries older than `retention` by the service's
    /// clock (an entry exactly `retention` old stays) and returns how many.
    /// Retention is separate from, and far longer than, the life of a
    /// pending login ([`Twofa::purge_expired_logins`]): run it on its own
    /// schedule, e.g. daily, from one server (several at once do no harm).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the audit log fails; nothing is removed then.
    ///
    /// # Example
    ///
    /// ```
    /// use std::num::NonZeroU32;
    /// use std::sync::Arc;
    ///
    /// use twofa::delivery::{Issuer, Outbox, ServerKey};
    /// use twofa::{AuditRetention, Channels, Stores, Twofa, XChaChaSealer};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let outbox = Arc::new(Outbox::new());
    /// let twofa = Twofa::builder()
    ///     .stores(Stores::in_memory())
    ///     .channels(Channels::outbox(&outbox))
    ///     .server_key(ServerKey::from_bytes(&[7u8; 32])?)
    ///     .sealer(Arc::new(XChaChaSealer::from_bytes(&[9u8; 32])?))
    ///     .issuer(Issuer::new("Partner Portal")?)
    ///     .build()?;
    /// assert_eq!(AuditRetention::default().in_days().get(), 400);
    /// assert_eq!(twofa.purge_old_audit_entries(AuditRetention::default()).await?, 0);
    /// let two_years = AuditRetention::days(NonZeroU32::new(730).ok_or("zero")?);
    /// assert_eq!(twofa.purge_old_audit_entries(two_years).await?, 0);
    /// # Ok(())
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(run())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn purge_old_audit_entries(
        &self,
        retention: AuditRetention,
    ) -> Result<u64, StoreError> {
        crate::observe::operation("purge_old_audit_entries", None, async {
            let now = self.clock.now();
            let cutoff = now
                .checked_sub_signed(retention.span())
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
            self.stores.audit.purge_older_than(cutoff).await
        })
        .await
    }

    /// Whether the stores answer: one read of the company store, bounded
    /// like every store call. For a readiness check (a load balancer sends
    /// traffic only to a server whose stores answer).
    ///
    /// # Errors
    ///
    /// The [`StoreError`] of the read.
    pub async fn check_stores(&self) -> Result<(), StoreError> {
        // An id no company has: the answer is "none", from the store.
        let probe = twofa_types::CompanyId::new("twofa-readiness-probe")
            .map_err(|_| StoreError::Corrupt)?;
        self.stores.companies.load(&probe).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{DateTime, TimeDelta, TimeZone, Utc};
    use twofa_delivery::{Issuer, Outbox, ServerKey};
    use twofa_types::{CompanyId, MethodSet, UserId};

    use crate::channels::Channels;
    use crate::clock::ManualClock;
    use crate::records::{LoginStage, LoginTicket, PendingLogin};
    use crate::seal::XChaChaSealer;
    use crate::service::Twofa;
    use crate::store::Stores;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap() + TimeDelta::seconds(seconds)
    }

    /// The service on in-memory stores and `clock`.
    fn service(clock: &Arc<ManualClock>) -> Twofa {
        let outbox = Arc::new(Outbox::new());
        Twofa::builder()
            .stores(Stores::in_memory())
            .channels(Channels::outbox(&outbox))
            .server_key(ServerKey::from_bytes(&[7u8; 32]).unwrap())
            .sealer(Arc::new(XChaChaSealer::from_bytes(&[9u8; 32]).unwrap()))
            .issuer(Issuer::new("Partner Portal").unwrap())
            .with_clock(clock.clone())
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn expired_logins_are_purged_by_the_service_clock_from_their_expiry_on() {
        let clock = Arc::new(ManualClock::new(at(0)));
        let twofa = service(&clock);
        let ticket: LoginTicket = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a".parse().unwrap();
        let pending = PendingLogin::new(
            UserId::new("bob").unwrap(),
            CompanyId::new("acme").unwrap(),
            at(0),
            at(600),
            None,
            LoginStage::SetUp {
                methods: MethodSet::all(),
                deferral_until: None,
            },
        );
        let pending_logins = twofa.stores().pending_logins();
        pending_logins.save(&ticket, pending, None).await.unwrap();

        clock.set(at(599));
        assert_eq!(twofa.purge_expired_logins().await, Ok(0));
        assert!(pending_logins.load(&ticket).await.unwrap().is_some());
        clock.set(at(600));
        assert_eq!(twofa.purge_expired_logins().await, Ok(1));
        assert!(pending_logins.load(&ticket).await.unwrap().is_none());
        clock.set(at(601));
        assert_eq!(twofa.purge_expired_logins().await, Ok(0));
    }

    #[tokio::test]
    async fn audit_entries_go_once_older_than_the_retention_not_a_second_before() {
        use crate::audit::{AuditEvent, RejectionDetail};
        use crate::records::AuditEntry;

        let clock = Arc::new(ManualClock::new(at(0)));
        let twofa = service(&clock);
        let audit = twofa.stores().audit();
        for seconds in [0, 1] {
            let entry = AuditEntry::new(
                at(seconds),
                None,
                None,
                AuditEvent::Rejected {
                    detail: RejectionDetail::WrongCode,
                },
            );
            audit.append(entry).await.unwrap();
        }
        let retention = super::AuditRetention::default();
        let kept = TimeDelta::days(400);
        assert_eq!(retention.span(), kept);
        // Exactly 400 days old: kept.
        clock.set(at(0) + kept);
        assert_eq!(twofa.purge_old_audit_entries(retention).await, Ok(0));
        // A second more: the first entry goes, the second stays.
        clock.set(at(1) + kept);
        assert_eq!(twofa.purge_old_audit_entries(retention).await, Ok(1));
        assert_eq!(audit.read(0, 10).await.unwrap().len(), 1);
        // A longer retention keeps it; a day keeps nothing that old.
        let long = super::AuditRetention::days(std::num::NonZeroU32::new(401).unwrap());
        clock.set(at(2) + kept);
        assert_eq!(twofa.purge_old_audit_entries(long).await, Ok(0));
        let day = super::AuditRetention::days(std::num::NonZeroU32::MIN);
        assert_eq!(twofa.purge_old_audit_entries(day).await, Ok(1));
        assert!(audit.read(0, 10).await.unwrap().is_empty());
    }
}
