#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod gate;
mod phishing;
mod policy;
mod removal;
mod report;
mod settings;

pub use gate::{DeferralOffer, GateDecision, SetupRequired, gate};
pub use phishing::PhishingResistance;
pub use policy::{
    CompanyPolicy, CompanyPolicyError, DurationSetting, MAX_ATTEMPTS_PER_CHALLENGE, PolicyBuilder,
};
pub use removal::{RemovalRefused, may_remove_leaving};
#[cfg(feature = "serde")]
pub use report::ExportError;
pub use report::{
    CSV_HEADER, EmployeeRecord, EnrollmentReport, PhoneHint, PhoneHintError, ReportError,
    ReportRow, StatusKind, StatusTotals,
};
pub use settings::{
    Actor, CompanyEvent, CompanyRole, CompanySettings, EnforceError, EnforceOutcome, Enforcement,
    LoadError,
};
