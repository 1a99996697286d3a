#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod audit;
mod clock;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod memory;
mod random;
mod records;
mod store;

pub use audit::{AllowedBy, AuditEvent, RejectionDetail};
pub use clock::{Clock, ManualClock, SystemClock};
pub use random::{OsRandom, RandomSource, RandomUnavailable, SeededRandom};
pub use records::{
    AuditEntry, CompanyRecord, LoginStage, LoginTicket, PendingLogin, SealedEnrollment,
    TicketParseError, UserRecord,
};
pub use store::{
    AuditLog, ChallengeStore, CompanyStore, SaveError, StoreError, TrustGrantStore, UserStore,
    Version, Versioned,
};

pub use twofa_delivery as delivery;
pub use twofa_enforcement as enforcement;
pub use twofa_otp as otp;
pub use twofa_trusted_network as trusted_network;
