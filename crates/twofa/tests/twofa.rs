//! The facade through its public API: store conformance, the login flow for
//! every portal feature, concurrency and failing stores.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions fail loudly by design"
)]

#[cfg(feature = "conformance")]
mod conformance {
    use twofa::conformance;
    use twofa::memory::{
        InMemoryAuditLog, InMemoryChallengeStore, InMemoryCompanyStore, InMemoryTrustGrantStore,
        InMemoryUserStore,
    };

    #[tokio::test]
    async fn in_memory_stores_meet_the_store_contract() {
        conformance::user_store(&InMemoryUserStore::new()).await.unwrap();
        conformance::company_store(&InMemoryCompanyStore::new()).await.unwrap();
        conformance::challenge_store(&InMemoryChallengeStore::new()).await.unwrap();
        conformance::trust_grant_store(&InMemoryTrustGrantStore::new()).await.unwrap();
        conformance::audit_log(&InMemoryAuditLog::new()).await.unwrap();
    }
}
