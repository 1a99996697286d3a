//! The kind of account a user has.

/// The kind of account a user has.
///
/// The portal's trusted networks depend on it: an employee of the partner
/// may skip the second factor on a trusted network, an end-user client never
/// does. Enforcement covers both kinds alike. The two kinds are the
/// portal's whole set, so matches on it need no wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum AccountKind {
    /// An employee of the partner company.
    PartnerEmployee,
    /// An end-user client account (a customer of the partner): asked for
    /// the second factor at every login.
    EndUserClient,
}

impl AccountKind {
    /// Stable name used in records and exports (`partner_employee`,
    /// `end_user_client`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PartnerEmployee => "partner_employee",
            Self::EndUserClient => "end_user_client",
        }
    }
}

impl core::fmt::Display for AccountKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a user's logins may use the company's trusted networks. Which
/// accounts they serve is decided by `twofa-trusted-network`
/// (`eligibility`); the enrollment report shows that answer.
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
