//! The enrollment status report an administrator sees, with its JSON and
//! CSV exports.

use core::cmp::Ordering;
use core::fmt;
use std::collections::HashSet;

use chrono::{DateTime, SecondsFormat, Utc};

use twofa_types::{AccountKind, CompanyId, EnrollmentStatus, UserId};

use crate::settings::{CompanySettings, Enforcement};

/// The most digits a phone number may have: ITU-T E.164 §6.1 caps an
/// international number at 15 digits.
const MAX_PHONE_DIGITS: usize = 15;

/// Why a phone hint could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneHintError {
    /// [`PhoneHint::from_last_digits`] takes 2 to 4 ASCII digits.
    #[error("a phone hint holds 2 to 4 digits, got {len} characters")]
    WrongLength {
        /// Characters given.
        len: usize,
    },
    /// The input held a character that is neither a digit nor a separator
    /// (`+`, space, `-`, `.`, `(`, `)`).
    #[error("the phone number contains a character that is not a digit or separator")]
    InvalidCharacter,
    /// The number has fewer than 4 digits: too short to show any of it.
    #[error("the phone number has {digits} digits, at least 4 are needed")]
    TooFewDigits {
        /// Digits found.
        digits: usize,
    },
    /// The number has more than 15 digits (ITU-T E.164 §6.1).
    #[error("the phone number has {digits} digits, at most 15 are allowed")]
    TooManyDigits {
        /// Digits found.
        digits: usize,
    },
}

/// The last few digits of a phone number, safe to show: it cannot hold more
/// than 4 digits, so a full number cannot end up in a report or a log.
///
/// Renders as four bullets, a space and the digits (`•••• 4567`); the number
/// of bullets does not reveal the number's length.
///
/// ```
/// use twofa_enforcement::PhoneHint;
///
/// let hint = PhoneHint::from_number("+1 (555) 010-4567")?;
/// assert_eq!(hint.to_string(), "•••• 4567");
/// assert_eq!(format!("{hint:?}"), "PhoneHint(\"•••• 4567\")");
/// # Ok::<(), twofa_enforcement::PhoneHintError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PhoneHint {
    // Only `len` trailing bytes are used; each is an ASCII digit.
    digits: [u8; 4],
    len: u8,
}

impl PhoneHint {
    /// A hint from the last 2 to 4 digits of a number, as the service
    /// stored them.
    ///
    /// # Errors
    ///
    /// [`PhoneHintError::WrongLength`] unless `digits` is 2 to 4 ASCII digits;
    /// [`PhoneHintError::InvalidCharacter`] if one is not a digit.
    pub fn from_last_digits(digits: &str) -> Result<Self, PhoneHintError> {
        let bytes = digits.as_bytes();
        if !(2..=4).contains(&bytes.len()) {
            return Err(PhoneHintError::WrongLength {
                len: digits.chars().count(),
            });
        }
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(PhoneHintError::InvalidCharacter);
        }
        let mut hint = Self {
            digits: [b'0'; 4],
            len: 0,
        };
        for &b in bytes {
            hint.push(b);
        }
        Ok(hint)
    }

    /// A hint from a full phone number, keeping at most 4 digits and never
    /// more than half of them; the number itself is not kept.
    ///
    /// # Errors
    ///
    /// [`PhoneHintError::InvalidCharacter`] for a character other than a
    /// digit or `+ -.()` and space; [`PhoneHintError::TooFewDigits`] below 4
    /// digits; [`PhoneHintError::TooManyDigits`] above 15.
    pub fn from_number(number: &str) -> Result<Self, PhoneHintError> {
        let mut last = Self {
            digits: [b'0'; 4],
            len: 0,
        };
        let mut count = 0_usize;
        for b in number.bytes() {
            match b {
                b'0'..=b'9' => {
                    last.push(b);
                    count = count.saturating_add(1);
                }
                b'+' | b' ' | b'-' | b'.' | b'(' | b')' => {}
                _ => return Err(PhoneHintError::InvalidCharacter),
            }
        }
        if count < 4 {
            return Err(PhoneHintError::TooFewDigits { digits: count });
        }
        if count > MAX_PHONE_DIGITS {
            return Err(PhoneHintError::TooManyDigits { digits: count });
        }
        // Show at most half of the digits, and at most 4.
        last.len = u8::try_from((count / 2).min(4)).unwrap_or(2);
        Ok(last)
    }

    fn push(&mut self, digit: u8) {
        self.digits.rotate_left(1);
        if let Some(slot) = self.digits.last_mut() {
            *slot = digit;
        }
        self.len = self.len.saturating_add(1).min(4);
    }

    /// The digits shown, for example `4567`.
    #[must_use]
    pub fn digits(&self) -> &str {
        let start = 4_usize.saturating_sub(usize::from(self.len));
        self.digits
            .get(start..)
            .and_then(|d| core::str::from_utf8(d).ok())
            .unwrap_or_default()
    }
}

impl fmt::Display for PhoneHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "•••• {}", self.digits())
    }
}

impl fmt::Debug for PhoneHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PhoneHint").field(&self.to_string()).finish()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for PhoneHint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One employee as the service knows them: the input of a report row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmployeeRecord {
    user_id: UserId,
    display_name: String,
    email: String,
    account_kind: AccountKind,
    status: EnrollmentStatus,
    last_second_factor: Option<DateTime<Utc>>,
    phone_hint: Option<PhoneHint>,
}

impl EmployeeRecord {
    /// An employee with no completed second factor and no phone on record.
    #[must_use]
    pub fn new(
        user_id: UserId,
        display_name: impl Into<String>,
        email: impl Into<String>,
        account_kind: AccountKind,
        status: EnrollmentStatus,
    ) -> Self {
        Self {
            user_id,
            display_name: display_name.into(),
            email: email.into(),
            account_kind,
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

/// Whether trusted networks apply to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum TrustedNetworks {
    /// A login from a trusted network may skip the prompt within the
    /// re-prompt interval.
    Apply,
    /// Trusted networks do not apply: every login is prompted.
    DoNotApply,
}

impl TrustedNetworks {
    /// Whether trusted networks apply to `kind`, as `twofa-trusted-network`
    /// decides it: for partner employees only.
    #[must_use]
    pub const fn for_account(kind: AccountKind) -> Self {
        match kind {
            AccountKind::PartnerEmployee => Self::Apply,
            AccountKind::EndUserClient => Self::DoNotApply,
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

/// Why an export failed.
#[cfg(feature = "serde")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The JSON encoder refused the report.
    #[error("the report could not be encoded as json")]
    Json,
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

/// The CSV header, in column order.
pub const CSV_HEADER: [&str; 12] = [
    "status",
    "display_name",
    "user_id",
    "email",
    "account_kind",
    "methods",
    "since",
    "deferred_until",
    "deferrals_used",
    "last_second_factor",
    "phone",
    "trusted_networks",
];

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
                trusted_networks: TrustedNetworks::for_account(employee.account_kind),
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

    /// The report as JSON: an object with `company`, `generated_at`,
    /// `enforcement`, `totals` and `employees` (the rows in report order).
    ///
    /// # Errors
    ///
    /// [`ExportError::Json`] if encoding fails, which the report's types do
    /// not cause.
    #[cfg(feature = "serde")]
    pub fn to_json(&self) -> Result<String, ExportError> {
        serde_json::to_string(self).map_err(|_| ExportError::Json)
    }

    /// The rows as CSV, in report order, with the header [`CSV_HEADER`].
    ///
    /// RFC 4180: records end with CRLF (§2.1), the first record is the header
    /// (§2.3), every field is enclosed in double quotes (§2.5) and a double
    /// quote inside a field is doubled (§2.7). Quoting every field also keeps
    /// a `;` or `,` in a name from starting a new cell in spreadsheets that
    /// split on another separator. Times are RFC 3339 UTC to the second;
    /// method lists are joined by `;`. The text is UTF-8 without a byte-order
    /// mark.
    ///
    /// # Security
    ///
    /// A cell that starts with `=`, `+`, `-`, `@`, tab or carriage return
    /// gets a leading `'` so spreadsheets read it as text, not a formula
    /// (OWASP, "CSV Injection"). A display name such as `-Ann` is therefore
    /// exported as `'-Ann`.
    #[must_use]
    pub fn to_csv(&self) -> String {
        // About 160 bytes per row for typical names and addresses.
        let mut out =
            String::with_capacity(self.employees.len().saturating_add(1).saturating_mul(160));
        for (i, name) in CSV_HEADER.iter().enumerate() {
            push_cell(&mut out, name, i == 0);
        }
        out.push_str("\r\n");
        let mut scratch = String::new();
        for row in &self.employees {
            push_row(&mut out, &mut scratch, row);
        }
        out
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn push_row(out: &mut String, scratch: &mut String, row: &ReportRow) {
    let (methods, since, until, used) = match row.status {
        EnrollmentStatus::NotEnrolled { deferrals_used } => (
            String::new(),
            String::new(),
            String::new(),
            deferrals_used.to_string(),
        ),
        EnrollmentStatus::Pending {
            method,
            since,
            deferrals_used,
        } => (
            method.as_str().to_owned(),
            rfc3339(since),
            String::new(),
            deferrals_used.to_string(),
        ),
        EnrollmentStatus::Deferred {
            until,
            deferrals_used,
        } => (
            String::new(),
            String::new(),
            rfc3339(until),
            deferrals_used.to_string(),
        ),
        EnrollmentStatus::Enrolled { methods, since } => (
            methods.to_string(),
            rfc3339(since),
            String::new(),
            String::new(),
        ),
    };
    scratch.clear();
    if let Some(hint) = row.phone {
        scratch.push_str("•••• ");
        scratch.push_str(hint.digits());
    }
    let cells: [&str; 12] = [
        row.kind().as_str(),
        &row.display_name,
        row.user_id.as_str(),
        &row.email,
        match row.account_kind {
            AccountKind::PartnerEmployee => "partner_employee",
            AccountKind::EndUserClient => "end_user_client",
        },
        &methods,
        &since,
        &until,
        &used,
        &row.last_second_factor.map(rfc3339).unwrap_or_default(),
        scratch,
        match row.trusted_networks {
            TrustedNetworks::Apply => "apply",
            TrustedNetworks::DoNotApply => "do not apply",
        },
    ];
    for (i, cell) in cells.iter().enumerate() {
        push_cell(out, cell, i == 0);
    }
    out.push_str("\r\n");
}

/// Appends one quoted, formula-neutralised cell (see
/// [`EnrollmentReport::to_csv`]), preceded by a comma unless it is the first.
fn push_cell(out: &mut String, value: &str, first: bool) {
    if !first {
        out.push(',');
    }
    out.push('"');
    // OWASP "CSV Injection": these leading characters make spreadsheets
    // evaluate the cell.
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    // RFC 4180 §2.7: a double quote inside a quoted field is doubled.
    for (i, part) in value.split('"').enumerate() {
        if i > 0 {
            out.push_str("\"\"");
        }
        out.push_str(part);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(value: &str) -> String {
        let mut out = String::new();
        push_cell(&mut out, value, true);
        out
    }

    #[test]
    fn cells_are_quoted_and_escaped() {
        assert_eq!(cell("Ann"), "\"Ann\"");
        assert_eq!(cell(""), "\"\"");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\r\nlines"), "\"two\r\nlines\"");
        let mut out = String::new();
        push_cell(&mut out, "x", false);
        assert_eq!(out, ",\"x\"");
    }

    #[test]
    fn formula_starters_are_neutralised() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(cell(bad), format!("\"'{bad}\""));
        }
        // Only a leading character triggers, and a plain quote stays text.
        for fine in ["a=1", "1-2", "'x", " =1"] {
            assert_eq!(cell(fine), format!("\"{fine}\""));
        }
    }

    #[test]
    fn phone_hint_from_digits() {
        assert_eq!(
            PhoneHint::from_last_digits("4567").unwrap().digits(),
            "4567"
        );
        assert_eq!(
            PhoneHint::from_last_digits("67").unwrap().to_string(),
            "•••• 67"
        );
        assert_eq!(
            PhoneHint::from_last_digits("1"),
            Err(PhoneHintError::WrongLength { len: 1 })
        );
        assert_eq!(
            PhoneHint::from_last_digits("12345"),
            Err(PhoneHintError::WrongLength { len: 5 })
        );
        assert_eq!(
            PhoneHint::from_last_digits("12a"),
            Err(PhoneHintError::InvalidCharacter)
        );
    }

    #[test]
    fn phone_hint_from_number_shows_at_most_half() {
        assert_eq!(
            PhoneHint::from_number("+44 20 7946 0958").unwrap().digits(),
            "0958"
        );
        assert_eq!(PhoneHint::from_number("1234567").unwrap().digits(), "567");
        assert_eq!(PhoneHint::from_number("1234").unwrap().digits(), "34");
        assert_eq!(
            PhoneHint::from_number("123"),
            Err(PhoneHintError::TooFewDigits { digits: 3 })
        );
        assert_eq!(
            PhoneHint::from_number("1234567890123456"),
            Err(PhoneHintError::TooManyDigits { digits: 16 })
        );
        assert!(PhoneHint::from_number("123456789012345").is_ok());
        assert_eq!(
            PhoneHint::from_number("555-0100 ext 2"),
            Err(PhoneHintError::InvalidCharacter)
        );
    }
}
