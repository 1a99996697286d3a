//! Whether a user may remove one of their second-factor methods.

use twofa_types::MethodSet;

use crate::policy::CompanyPolicy;
use crate::settings::CompanySettings;

/// Why a method may not be removed; nothing changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum RemovalRefused {
    /// The company enforces 2FA and this is the user's last method.
    #[error("the last method cannot be removed while the company requires 2FA")]
    LastMethodUnderEnforcement,
    /// Every method left would be one the company does not allow: this is
    /// the last one it allows.
    #[error("the last method the company allows cannot be removed")]
    LastAllowedMethod,
}

/// Decides whether a user may be left with the methods of the kinds in
/// `remaining` after a removal.
///
/// Under enforcement at least one method stays. When any stay, at least
/// one of them is a kind the company allows: removing the last allowed
/// method would leave the user with methods the next login must replace.
///
/// # Errors
///
/// [`RemovalRefused`] says which rule refuses.
pub fn may_remove_leaving(
    settings: &CompanySettings,
    policy: &CompanyPolicy,
    remaining: MethodSet,
) -> Result<(), RemovalRefused> {
    if remaining.is_empty() {
        return if settings.is_enforced() {
            Err(RemovalRefused::LastMethodUnderEnforcement)
        } else {
            Ok(())
        };
    }
    if remaining.intersection(policy.allowed_methods()).is_empty() {
        return Err(RemovalRefused::LastAllowedMethod);
    }
    Ok(())
}
