//! What the service tells an operator: a `tracing` span and a closing
//! event for every operation, events for sends, refusals and store
//! trouble, and counters and histograms through the `metrics` facade.
//!
//! Fields are ids, method and channel names, outcomes, reasons and
//! latencies: never a code, a secret, a recovery code, a login ticket or a
//! full phone number or email address (destinations appear masked).
//!
//! Metric names (all prefixed `twofa_`):
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `twofa_operations_total` | counter | `operation`, `outcome` |
//! | `twofa_operation_seconds` | histogram | `operation` |
//! | `twofa_logins_allowed_total` | counter | `by` |
//! | `twofa_rejections_total` | counter | `reason` |
//! | `twofa_verifications_total` | counter | `result` (`accepted`, `rejected`) |
//! | `twofa_sends_total` | counter | `what` (`code`, `notice`, `push`), `channel`, `result` (`sent`, `failed`, `budget_exhausted`, `country_refused`, `budget_store_failed`) |
//! | `twofa_send_budget_refusals_total` | counter | `what` (the send kind: `login_code`, `set_up_code`, `resend`, `number_change_code`, `notice`, `push`), `channel`, `scope` (the budget, or `geo`, or `store`) |
//! | `twofa_send_seconds` | histogram | `channel` (provider latency) |
//! | `twofa_store_conflicts_total` | counter | — (each re-load after a compare-and-swap conflict) |
//! | `twofa_login_cache_total` | counter | `outcome` (`hit`: an answer committed on cached records; `stale`: evaluated again on records read from the store; `miss`) |
//! | `twofa_store_errors_total` | counter | `operation` |

use std::future::Future;
use std::time::Instant;

use tracing::Instrument as _;
use twofa_enforcement::EnrollmentReport;
use twofa_enrollment::RecoveryCodeSheet;
use twofa_types::{Channel, UserId};

use crate::admin::AdminError;
use crate::audit::{AllowedBy, RejectionDetail};
use crate::provision::ProvisionError;
use crate::push::{PushPoll, PushSent};
use crate::records::UserRecord;
use crate::steps::{ChallengeScreen, LoginStep, Rejected, Resent, SetUpProgress};
use crate::store::StoreError;

/// The outcome label of an operation's result.
pub(crate) trait Outcome {
    /// A short snake-case label: `allowed`, `challenge`, `ok`, or the
    /// refusal's reason.
    fn outcome(&self) -> &'static str;
    /// Whether the operation was refused or failed.
    fn failed(&self) -> bool;
}

impl<T: Succeeded, E: Failed> Outcome for Result<T, E> {
    fn outcome(&self) -> &'static str {
        match self {
            Ok(value) => value.label(),
            Err(error) => error.label(),
        }
    }

    fn failed(&self) -> bool {
        self.is_err()
    }
}

/// The label of a successful result.
pub(crate) trait Succeeded {
    fn label(&self) -> &'static str {
        "ok"
    }
}

/// The label of a failure.
pub(crate) trait Failed {
    fn label(&self) -> &'static str;
}

impl Succeeded for () {}
impl Succeeded for bool {}
impl Succeeded for u64 {}
impl Succeeded for UserRecord {}
impl Succeeded for RecoveryCodeSheet {}
impl Succeeded for EnrollmentReport {}
impl Succeeded for crate::methods::MethodsOverview {}
impl Succeeded for ChallengeScreen {
    fn label(&self) -> &'static str {
        "challenge"
    }
}
impl Succeeded for crate::steps::Allowed {
    fn label(&self) -> &'static str {
        "allowed"
    }
}
impl Succeeded for PushSent {}
impl Succeeded for PushPoll {}
impl Succeeded for Resent {}
impl Succeeded for SetUpProgress {
    fn label(&self) -> &'static str {
        match self {
            Self::ScanQrCode(_) => "scan_qr_code",
            Self::CodeSent(_) => "code_sent",
            Self::NotMobile(_) => "not_mobile",
            Self::CreatePasskey(_) => "create_passkey",
        }
    }
}
impl Succeeded for LoginStep {
    fn label(&self) -> &'static str {
        match self {
            Self::Allowed(_) => "allowed",
            Self::SetUp(_) => "set_up",
            Self::Challenge(_) => "challenge",
        }
    }
}

impl Failed for Rejected {
    fn label(&self) -> &'static str {
        self.reason().as_str()
    }
}

impl Failed for AdminError {
    fn label(&self) -> &'static str {
        match self {
            Self::NotCompanyAdmin => "not_company_admin",
            Self::NotFound => "not_found",
            Self::DuplicateNetwork => "duplicate_network",
            Self::AllowlistFull => "allowlist_full",
            Self::TooMuchAddressSpace => "too_much_address_space",
            Self::NetworkNotListed => "network_not_listed",
            Self::InvalidEntry => "invalid_entry",
            Self::EnrollmentRefused => "enrollment_refused",
            Self::Report => "report",
            Self::StepUpRequired => "step_up_required",
            Self::Unavailable => "unavailable",
        }
    }
}

impl Failed for ProvisionError {
    fn label(&self) -> &'static str {
        match self {
            Self::CompanyExists => "company_exists",
            Self::UserExists => "user_exists",
            Self::UnknownCompany => "unknown_company",
            Self::UnknownUser => "unknown_user",
            Self::CompanyHasUsers { .. } => "company_has_users",
            Self::CompanyEnforces => "company_enforces",
            Self::InvalidDisplayName => "invalid_display_name",
            Self::Contention => "contention",
            Self::Unavailable => "unavailable",
        }
    }
}

impl Failed for StoreError {
    fn label(&self) -> &'static str {
        match self {
            Self::Unavailable => "store_unavailable",
            Self::Corrupt => "store_corrupt",
            Self::Refused => "store_refused",
        }
    }
}

/// Runs one public operation inside its span, then records its outcome
/// and latency (an event at `info` for success, `warn` for a refusal) and
/// the operation metrics.
pub(crate) async fn operation<R: Outcome>(
    name: &'static str,
    user: Option<&UserId>,
    body: impl Future<Output = R>,
) -> R {
    let span = match user {
        Some(user) => tracing::info_span!("twofa", operation = name, user = %user),
        None => tracing::info_span!("twofa", operation = name),
    };
    let started = Instant::now();
    // On the heap: an operation's state (its stores' and channels' futures)
    // is large, and a caller that awaits several in one task would
    // otherwise carry them all on its stack.
    let result = Box::pin(body.instrument(span.clone())).await;
    let elapsed = started.elapsed();
    let outcome = result.outcome();
    let latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        if result.failed() {
            tracing::warn!(outcome, latency_ms, "operation refused");
        } else {
            tracing::info!(outcome, latency_ms, "operation done");
        }
    });
    metrics::counter!("twofa_operations_total", "operation" => name, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("twofa_operation_seconds", "operation" => name)
        .record(elapsed.as_secs_f64());
    result
}

/// A refusal, with the detail the audit log records.
pub(crate) fn rejected(detail: RejectionDetail) {
    tracing::warn!(reason = detail.as_str(), "second factor refused");
    metrics::counter!("twofa_rejections_total", "reason" => detail.as_str()).increment(1);
    if is_verification(detail) {
        metrics::counter!("twofa_verifications_total", "result" => "rejected").increment(1);
    }
    if matches!(
        detail,
        RejectionDetail::StoreFailed | RejectionDetail::StoreContention
    ) {
        tracing::error!(reason = detail.as_str(), "store failure");
    }
}

/// A refusal that judged a typed or approved second factor.
fn is_verification(detail: RejectionDetail) -> bool {
    matches!(
        detail,
        RejectionDetail::WrongCode
            | RejectionDetail::Replayed
            | RejectionDetail::CodeExpired
            | RejectionDetail::TooManyFailedChecks
            | RejectionDetail::WrongRecoveryCode
            | RejectionDetail::PushNotApproved
    )
}

/// A login (or a step-up) allowed.
pub(crate) fn allowed(by: &AllowedBy) {
    let label = match by {
        AllowedBy::SecondFactor { .. } => "second_factor",
        AllowedBy::RecoveryCode => "recovery_code",
        AllowedBy::TrustedNetwork { .. } => "trusted_network",
        AllowedBy::DeferralRunning { .. } => "deferral_running",
        AllowedBy::Deferred { .. } => "deferred",
    };
    if matches!(by, AllowedBy::SecondFactor { .. } | AllowedBy::RecoveryCode) {
        metrics::counter!("twofa_verifications_total", "result" => "accepted").increment(1);
    }
    tracing::info!(by = label, "login allowed");
    metrics::counter!("twofa_logins_allowed_total", "by" => label).increment(1);
}

/// A message handed to a provider: what it is (`code`, `notice`, `push`),
/// its channel, the masked destination, the result and the provider's
/// latency.
pub(crate) fn sent(
    what: &'static str,
    channel: Channel,
    to: &str,
    error: Option<&twofa_delivery::SendError>,
    started: Instant,
) {
    let elapsed = started.elapsed();
    let latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    let channel = channel.as_str();
    match error {
        None => tracing::info!(what, channel, to, latency_ms, "message sent"),
        Some(error) => {
            tracing::warn!(what, channel, to, latency_ms, error = %error, "message not sent");
        }
    }
    let result = if error.is_none() { "sent" } else { "failed" };
    metrics::counter!(
        "twofa_sends_total",
        "what" => what,
        "channel" => channel,
        "result" => result
    )
    .increment(1);
    metrics::histogram!("twofa_send_seconds", "channel" => channel).record(elapsed.as_secs_f64());
}

/// A send the budget refused before anything went out.
pub(crate) fn send_refused(
    kind: twofa_delivery::SendKind,
    channel: Channel,
    refusal: &crate::budget::SendRefusal,
) {
    use crate::budget::SendRefusal;
    let result = crate::budget::refusal_label(refusal);
    let scope = match refusal {
        SendRefusal::Exhausted(exhausted) => exhausted.scope.as_str(),
        SendRefusal::Geo(_) => "geo",
        SendRefusal::Store(_) => "store",
    };
    let what = match kind {
        twofa_delivery::SendKind::Notice => "notice",
        twofa_delivery::SendKind::Push => "push",
        _ => "code",
    };
    match refusal {
        SendRefusal::Exhausted(exhausted) => tracing::warn!(
            what = kind.as_str(),
            channel = channel.as_str(),
            scope,
            frees_at = %exhausted.frees_at,
            "send refused: budget exhausted"
        ),
        SendRefusal::Geo(geo) => tracing::warn!(
            what = kind.as_str(),
            channel = channel.as_str(),
            country = ?geo.country().map(twofa_types::CountryCode::get),
            "send refused: country not allowed"
        ),
        SendRefusal::Store(error) => tracing::error!(
            what = kind.as_str(),
            channel = channel.as_str(),
            error = %error,
            "send refused: budget store failed"
        ),
    }
    metrics::counter!(
        "twofa_sends_total",
        "what" => what,
        "channel" => channel.as_str(),
        "result" => result
    )
    .increment(1);
    metrics::counter!(
        "twofa_send_budget_refusals_total",
        "what" => kind.as_str(),
        "channel" => channel.as_str(),
        "scope" => scope
    )
    .increment(1);
}

/// A compare-and-swap conflict: another request saved first; the
/// operation re-loads and tries again.
pub(crate) fn conflict() {
    tracing::debug!("compare-and-swap conflict; retrying");
    metrics::counter!("twofa_store_conflicts_total").increment(1);
}

/// How an answer used the cache of recent logins.
pub(crate) fn cache(outcome: &'static str) {
    metrics::counter!("twofa_login_cache_total", "outcome" => outcome).increment(1);
}

/// A store call that failed.
pub(crate) fn store_error(operation: &'static str, error: &StoreError) {
    tracing::error!(operation, error = %error, "store call failed");
    metrics::counter!("twofa_store_errors_total", "operation" => operation).increment(1);
}
