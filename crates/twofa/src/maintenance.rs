//! Housekeeping an application runs now and then, outside any login.

use crate::service::Twofa;
use crate::store::StoreError;

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

    #[tokio::test]
    async fn expired_logins_are_purged_by_the_service_clock_from_their_expiry_on() {
        let clock = Arc::new(ManualClock::new(at(0)));
        let outbox = Arc::new(Outbox::new());
        let twofa = Twofa::builder()
            .stores(Stores::in_memory())
            .channels(Channels::outbox(&outbox))
            .server_key(ServerKey::from_bytes(&[7u8; 32]).unwrap())
            .sealer(Arc::new(XChaChaSealer::from_bytes(&[9u8; 32]).unwrap()))
            .issuer(Issuer::new("Partner Portal").unwrap())
            .with_clock(clock.clone())
            .build()
            .unwrap();
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
}
