#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod gate;
mod ids;
mod method;
mod policy;
mod report;
mod settings;

pub use gate::{
    AccountKind, DeferralOffer, DeferralsRemaining, GateDecision, SetupRequired, TrustedNetworks,
    UserStatus, gate,
};
pub use ids::{CompanyId, IdError, MAX_ID_LEN, UserId};
pub use method::{Method, MethodSet, ResendChannel, ResendChannelSet};
pub use policy::{
    CompanyPolicy, DeferralCap, DurationSetting, MAX_ATTEMPTS_PER_CHALLENGE, PolicyBuilder,
    PolicyError,
};
#[cfg(feature = "serde")]
pub use report::ExportError;
pub use report::{
    CSV_HEADER, EmployeeRecord, EnrollmentReport, PhoneHint, PhoneHintError, ReportError,
    ReportRow, StatusKind, StatusTotals,
};
pub use settings::{
    Actor, AuditEvent, CompanyRole, CompanySettings, EnforceError, EnforceOutcome, Enforcement,
    LoadError,
};
