//! Phishing resistance: whose second factor a company requires to be
//! bound to the site's origin.

use crate::settings::CompanyRole;

/// Whose second factor must be phishing-resistant (a passkey: see
/// [`Method::is_phishing_resistant`](twofa_types::Method::is_phishing_resistant)).
///
/// NIST SP 800-63B-4 requires AAL2 verifiers to offer a phishing-resistant
/// option and AAL3 to require one; a company moving its staff to passkeys
/// typically starts with its administrators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum PhishingResistance {
    /// Any allowed method will do (the portal's default).
    #[default]
    NotRequired,
    /// Company administrators must use a phishing-resistant method.
    ForAdmins,
    /// Every user must.
    ForEveryone,
}

impl PhishingResistance {
    /// Whether a user of `role` must use a phishing-resistant method.
    #[must_use]
    pub const fn applies_to(self, role: CompanyRole) -> bool {
        match self {
            Self::NotRequired => false,
            Self::ForAdmins => matches!(role, CompanyRole::Admin),
            Self::ForEveryone => true,
        }
    }

    /// Stable lowercase name (`not_required`, `for_admins`, `for_everyone`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotRequired => "not_required",
            Self::ForAdmins => "for_admins",
            Self::ForEveryone => "for_everyone",
        }
    }
}
