#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod audit;
mod effect;
mod error;
#[cfg(feature = "serde")]
mod hex;
mod machine;
mod method;
mod policy;
mod recovery;
mod summary;
mod throttle;

pub use audit::{AuditKind, EnrollmentAudit, MaskedDestination};
pub use effect::{
    Dispatch, Effect, FactorChange, LoginAccepted, NotMobileDialog, Notification, Outcome,
    ProvisioningUri, PushDispatch, Transition,
};
pub use error::{EnrollmentError, RestoreError};
pub use machine::{
    Enrolled, Enrollment, EnrollmentState, Event, EventKind, LoginAttempt, NotMobileAnswer,
    PasskeyLogin, PasskeyResponse, PendingKind, PendingSetup, PhoneSetup, PushTarget, SetupChoice,
    StateKind, SubmittedCode,
};
pub use method::{
    DisplayName, DisplayNameError, EnrolledMethod, Factor, MAX_DISPLAY_NAME_CHARS, MethodId,
    PasskeyFactor, PhoneChannel, PhoneFactor, TotpFactor,
};
pub use policy::{
    Context, EnrollmentPolicy, EnrollmentPolicyError, LastMethod, MAX_CONSECUTIVE_FAILURES,
    ThrottlePolicy,
};
pub use recovery::{RECOVERY_CODE_COUNT, RecoveryCodeSheet, RecoveryCodes};
pub use summary::{EnrollmentSummary, MethodSummary};
pub use throttle::Failures;
