//! The enrollment status report an administrator sees: the employees'
//! rows with their status at one instant, the totals per status, and the
//! report order. Its exports live in `export`, the masked phone number in
//! `phone`.

mod export;
mod phone;

use core::cmp::Ordering;
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use twofa_types::{AccountKind, CompanyId, EnrollmentStatus, TrustedNetworks, UserId};

use crate::settings::{CompanySettings, Enforcement};

pub use export::CSV_HEADER;
#[cfg(feature = "serde")]
pub use export::ExportError;
pub use phone::{PhoneHint, PhoneHintError};

/// One employee as the service knows them: the input of a report row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmployeeRecord {
    user_id: UserId,
    display_name: String,
    email: String,
    account_kind: AccountKind,
    trusted_networks: TrustedNetworks,
    status: EnrollmentStatus,
    last_second_factor: Option<DateTime<Utc>>,
    phone_hint: Option<PhoneHint>,
}

impl EmployeeRecord {
    /// An employee with no completed second factor and no phone on record.
    /// `trusted_networks` is `twofa-trusted-network`'s answer for the
    /// account (`eligibility`); the report shows it and decides nothing.
    #[must_use]
    pub fn new(
        user_id: UserId,
        display_name: impl Into<String>,
        email: impl Into<String>,
        account_kind: AccountKind,
        trusted_networks: TrustedNetworks,
        status: EnrollmentStatus,
    ) -> Self {
        Self {
            user_id,
            display_name: display_name.into(),
            email: email.into(),
            account_kind,
            trusted_networks,
            status,
            last_second_factor: None,
            phone_hint: None,
        }
    }

    /// When the employee last completed a second factor.
    #[must_use]
    pub const fn with_last_second_factor(mut self, at: DateTime<Utc>) -> Self {
        self.last_second_factor = Some(at);
        self
    }

    /// The masked phone number used for 2FA.
    #[must_use]
    pub const fn with_phone_hint(mut self, hint: PhoneHint) -> Self {
        self.phone_hint = Some(hint);
        self
    }
}

/// The status of a report row, without its details: what totals count and
/// what rows sort by first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum StatusKind {
    /// No method and no running deferral. Sorted first: these need action.
    NotEnrolled,
    /// A deferral is running.
    Deferred,
    /// Set-up started, not yet verified.
    PendingVerification,
    /// At least one active method.
    Enrolled,
}

impl StatusKind {
    /// Stable name used in exports (`not_enrolled`, `deferred`,
    /// `pending_verification`, `enrolled`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotEnrolled => "not_enrolled",
            Self::Deferred => "deferred",
            Self::PendingVerification => "pending_verification",
            Self::Enrolled => "enrolled",
        }
    }

    const fn of(status: &EnrollmentStatus) -> Self {
        match status {
            EnrollmentStatus::NotEnrolled { .. } => Self::NotEnrolled,
            EnrollmentStatus::Pending { .. } => Self::PendingVerification,
            EnrollmentStatus::Deferred { .. } => Self::Deferred,
            EnrollmentStatus::Enrolled { .. } => Self::Enrolled,
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ReportRow {
    user_id: UserId,
    display_name: String,
    email: String,
    account_kind: AccountKind,
    status: EnrollmentStatus,
    last_second_factor: Option<DateTime<Utc>>,
    phone: Option<PhoneHint>,
    trusted_networks: TrustedNetworks,
    #[cfg_attr(feature = "serde", serde(skip))]
    folded_name: String,
}

impl ReportRow {
    /// The user.
    #[must_use]
    pub const fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The name shown for the user.
    #[must_use]
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The user's e-mail address.
    #[must_use]
    pub fn email(&self) -> &str {
        &self.email
    }

    /// Partner employee or end-user client.
    #[must_use]
    pub const fn account_kind(&self) -> AccountKind {
        self.account_kind
    }

    /// The status at the report's time: a deferral that had ended shows as
    /// [`EnrollmentStatus::NotEnrolled`], and so does an enrolled record listing
    /// no method.
    #[must_use]
    pub const fn status(&self) -> &EnrollmentStatus {
        &self.status
    }

    /// The status without its details.
    #[must_use]
    pub const fn kind(&self) -> StatusKind {
        StatusKind::of(&self.status)
    }

    /// When the user last completed a second factor, if ever.
    #[must_use]
    pub const fn last_second_factor(&self) -> Option<DateTime<Utc>> {
        self.last_second_factor
    }

    /// The masked phone number, if any.
    #[must_use]
    pub const fn phone_hint(&self) -> Option<PhoneHint> {
        self.phone
    }

    /// Whether trusted networks apply; they do not for end-user clients.
    #[must_use]
    pub const fn trusted_networks(&self) -> TrustedNetworks {
        self.trusted_networks
    }

    /// The sort order: status (not enrolled first), then display name ignoring
    /// case, then display name exactly, then user id. User ids are unique in a
    /// report, so the order is total and does not depend on input order.
    fn sort_cmp(&self, other: &Self) -> Ordering {
        self.kind()
            .cmp(&other.kind())
            .then_with(|| self.folded_name.cmp(&other.folded_name))
            .then_with(|| self.display_name.cmp(&other.display_name))
            .then_with(|| self.user_id.cmp(&other.user_id))
    }
}

/// Number of employees per status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct StatusTotals {
    /// Not enrolled.
    pub not_enrolled: usize,
    /// Deferred.
    pub deferred: usize,
    /// Pending verification.
    pub pending_verification: usize,
    /// Enrolled.
    pub enrolled: usize,
    /// All employees.
    pub total: usize,
}

impl StatusTotals {
    /// The count for one status.
    #[must_use]
    pub const fn of(&self, kind: StatusKind) -> usize {
        match kind {
            StatusKind::NotEnrolled => self.not_enrolled,
            StatusKind::Deferred => self.deferred,
            StatusKind::PendingVerification => self.pending_verification,
            StatusKind::Enrolled => self.enrolled,
        }
    }

    fn count(&mut self, kind: StatusKind) {
        let slot = match kind {
            StatusKind::NotEnrolled => &mut self.not_enrolled,
            StatusKind::Deferred => &mut self.deferred,
            StatusKind::PendingVerification => &mut self.pending_verification,
            StatusKind::Enrolled => &mut self.enrolled,
        };
        *slot = slot.saturating_add(1);
        self.total = self.total.saturating_add(1);
    }
}

/// Why a report could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The same user appears twice in the input.
    #[error("user {user_id} appears more than once")]
    DuplicateUser {
        /// The repeated user.
        user_id: UserId,
    },
}

/// The enrollment status of every employee of a company, at one instant.
///
/// Rows are sorted by status (not enrolled, deferred, pending verification,
/// enrolled), then display name ignoring case, then display name, then user
/// id, so the same input gives the same report in any order.
///
/// # Security
///
/// The report holds names, e-mail addresses and masked phone numbers
/// ([`PhoneHint`] cannot hold a full number); it is meant for the company's
/// administrators only. The CSV export neutralises spreadsheet formulas, see
/// [`EnrollmentReport::to_csv`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct EnrollmentReport {
    company: CompanyId,
    generated_at: DateTime<Utc>,
    enforcement: Enforcement,
    totals: StatusTotals,
    employees: Vec<ReportRow>,
}

impl EnrollmentReport {
    /// Builds the report of `settings`' company at `now`.
    ///
    /// # Errors
    ///
    /// [`ReportError::DuplicateUser`] if a user id appears twice.
    pub fn build(
        settings: &CompanySettings,
        employees: impl IntoIterator<Item = EmployeeRecord>,
        now: DateTime<Utc>,
    ) -> Result<Self, ReportError> {
        let employees = employees.into_iter();
        let mut rows = Vec::with_capacity(employees.size_hint().0);
        let mut totals = StatusTotals::default();
        for employee in employees {
            let status = match employee.status {
                // At `until` the deferral is over, as in the gate.
                EnrollmentStatus::Deferred {
                    until,
                    deferrals_used,
                } if now >= until => EnrollmentStatus::NotEnrolled { deferrals_used },
                EnrollmentStatus::Enrolled { methods, .. } if methods.is_empty() => {
                    EnrollmentStatus::NotEnrolled { deferrals_used: 0 }
                }
                status => status,
            };
            totals.count(StatusKind::of(&status));
            rows.push(ReportRow {
                folded_name: employee.display_name.to_lowercase(),
                user_id: employee.user_id,
                display_name: employee.display_name,
                email: employee.email,
                account_kind: employee.account_kind,
                status,
                last_second_factor: employee.last_second_factor,
                phone: employee.phone_hint,
                trusted_networks: employee.trusted_networks,
            });
        }
        let mut seen = HashSet::with_capacity(rows.len());
        if let Some(duplicate) = rows.iter().find(|row| !seen.insert(row.user_id.as_str())) {
            return Err(ReportError::DuplicateUser {
                user_id: duplicate.user_id.clone(),
            });
        }
        // The order is total (user ids are unique), so an unstable sort gives
        // the same result for any input order.
        rows.sort_unstable_by(ReportRow::sort_cmp);
        Ok(Self {
            company: settings.company().clone(),
            generated_at: now,
            enforcement: settings.enforcement().clone(),
            totals,
            employees: rows,
        })
    }

    /// The company.
    #[must_use]
    pub const fn company(&self) -> &CompanyId {
        &self.company
    }

    /// The instant the report describes.
    #[must_use]
    pub const fn generated_at(&self) -> DateTime<Utc> {
        self.generated_at
    }

    /// The company's enforcement state.
    #[must_use]
    pub const fn enforcement(&self) -> &Enforcement {
        &self.enforcement
    }

    /// Employees per status.
    #[must_use]
    pub const fn totals(&self) -> StatusTotals {
        self.totals
    }

    /// The rows, in report order.
    #[must_use]
    pub fn rows(&self) -> &[ReportRow] {
        &self.employees
    }
}
