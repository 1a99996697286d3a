//! The report's exports: JSON (feature `serde`) and RFC 4180 CSV with
//! spreadsheet formulas neutralised.

use chrono::{DateTime, SecondsFormat, Utc};
use twofa_types::{AccountKind, EnrollmentStatus, TrustedNetworks};

use super::{EnrollmentReport, ReportRow};

/// Why an export failed.
#[cfg(feature = "serde")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The JSON encoder refused the report.
    #[error("the report could not be encoded as json")]
    Json,
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
}
