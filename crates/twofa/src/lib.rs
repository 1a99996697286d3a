#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod account;
mod admin;
mod audit;
mod budget;
mod cache;
mod channels;
mod clock;
#[cfg(feature = "conformance")]
pub mod conformance;
mod failure;
mod grant;
mod hex;
mod join;
mod keys;
mod login;
mod maintenance;
pub mod memory;
mod methods;
mod notify;
mod observe;
mod provision;
mod push;
mod random;
mod receipts;
mod records;
mod seal;
mod service;
mod steps;
mod store;
mod update;

pub use admin::AdminError;
pub use audit::{AllowedBy, AuditEvent, RejectionDetail};
pub use budget::SendCounterStore;
pub use channels::Channels;
pub use clock::{Clock, ManualClock, SystemClock};
pub use keys::{KeyError, KeyName, Keys};
pub use maintenance::AuditRetention;
pub use methods::{MethodsOverview, UserMethod};
pub use provision::{NewCompany, NewUser, ProvisionError, UserUpdate};
pub use push::{PushPoll, PushSent};
pub use random::{OsRandom, RandomSource, RandomUnavailable, SeededRandom};
pub use records::{
    AuditEntry, CompanyRecord, LoginStage, LoginTicket, PendingLogin, TicketParseError, UserRecord,
};
pub use seal::{SealError, SealedEnrollment, Sealer, XChaChaSealer};
pub use service::{BuildError, RequiredPart, Twofa, TwofaBuilder};
pub use steps::{
    Allowed, ChallengeScreen, ClientContext, CodeSent, LoginStep, MethodChoice, OtherMethod,
    PhoneChoice, Rejected, Resent, RetryAdvice, SetUpProgress, SetUpScreen,
};
pub use store::{
    AuditLog, LoadedLogin, LoginCommit, PendingLoginStore, SaveError, StoreError, StoreFuture,
    Stores, UnitOfWork, UserStore, Version, Versioned, VersionedStore,
};

pub use chrono;
pub use twofa_delivery as delivery;
pub use twofa_enforcement as enforcement;
pub use twofa_enrollment as enrollment;
pub use twofa_otp as otp;
pub use twofa_passkey as passkey;
pub use twofa_trusted_network as trusted_network;
pub use twofa_types as types;

/// The names a login handler and its set-up code use, in one import:
/// `use twofa::prelude::*;`.
pub mod prelude {
    pub use crate::delivery::{EmailAddress, Issuer, Outbox, PhoneNumber};
    pub use crate::types::{AccountKind, CompanyId, UserId};
    pub use crate::{
        Allowed, Channels, ClientContext, Keys, LoginStep, LoginTicket, MethodChoice, NewCompany,
        NewUser, Rejected, RetryAdvice, SetUpProgress, SetUpScreen, Stores, Twofa,
    };
}
