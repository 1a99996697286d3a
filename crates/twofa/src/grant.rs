//! Trusted-network grants: issued after a second factor from a trusted
//! network so that later logins from there skip the prompt, and revoked
//! when the user's factor changes or an administrator asks.

use chrono::{DateTime, Utc};
use twofa_enrollment::{Effect, FactorChange};
use twofa_trusted_network::{ClientAddress, LoginFacts, RevocationReason, TrustGrantRecord};
use twofa_types::{AccountKind, EnrollmentStatus, UserId};

use crate::audit::{AuditEvent, RejectionDetail};
use crate::failure::Failure;
use crate::records::{CompanyRecord, PendingLogin};
use crate::service::Twofa;
use crate::store::SaveError;

/// A change of what a user logs in with.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CredentialChange {
    /// The second factors changed (from [`Effect::FactorsChanged`]).
    Factors(FactorChange),
    /// The application changed the password.
    Password,
}

impl CredentialChange {
    /// The factor change among a saved transition's effects, if any.
    pub(crate) fn among(effects: &[Effect]) -> Option<Self> {
        effects.iter().find_map(|effect| match effect {
            Effect::FactorsChanged(change) => Some(Self::Factors(*change)),
            _ => None,
        })
    }
}

impl Twofa {
    /// [`Twofa::issue_grant`] for a flow that holds neither the company
    /// nor the user: the company is read first, and the user only when the
    /// login came from one of its trusted networks.
    pub(crate) async fn load_and_issue_grant(&self, pending: &PendingLogin, now: DateTime<Utc>) {
        let Some(ip) = pending.client_ip() else {
            return;
        };
        let Ok(company) = self.load_company(pending.company()).await else {
            return;
        };
        if company.record.allowlist().lookup(ip).is_none() {
            return;
        }
        let Ok(user) = self.load_user(pending.user()).await else {
            return;
        };
        let Ok(enrollment) = self.open(&user.record) else {
            return;
        };
        let status = enrollment.status(now);
        self.issue_grant(pending, &company.record, user.record.kind(), &status, now)
            .await;
    }

    /// Issues a trust grant when the completed login came from a trusted
    /// network. Best effort: without a grant the next login is prompted,
    /// which is the safe side.
    ///
    /// Whether a grant can apply is decided from the records the flow
    /// already holds (the login's client address, the company's allowlist,
    /// the account kind) before any store is asked: most logins do not
    /// come from a trusted network and cost no store call here.
    pub(crate) async fn issue_grant(
        &self,
        pending: &PendingLogin,
        company: &CompanyRecord,
        kind: AccountKind,
        status: &EnrollmentStatus,
        now: DateTime<Utc>,
    ) {
        let Some(ip) = pending.client_ip() else {
            return;
        };
        if company.allowlist().lookup(ip).is_none() {
            return;
        }
        let address = ClientAddress::peer(ip);
        let facts = LoginFacts::new(kind, *status, company.allowlist(), &address);
        // No grant without the company's own policy (never a default).
        let Ok(policy) = Self::trust_policy_for(company) else {
            return;
        };
        let Ok(grant) = policy.grant(&facts, now) else {
            return;
        };
        for _ in 0..self.max_store_attempts {
            let Ok(existing) = self.stores.grants.load(pending.user()).await else {
                return;
            };
            let expected = existing.map(|stored| stored.version);
            let record = TrustGrantRecord::from(grant);
            match self
                .stores
                .grants
                .save(pending.user(), record, expected)
                .await
            {
                Ok(_) => {
                    self.audit_best_effort(
                        now,
                        pending.company(),
                        pending.user(),
                        AuditEvent::TrustGrantIssued {
                            network: grant.network(),
                            expires_at: grant.expires_at(),
                        },
                    )
                    .await;
                    return;
                }
                Err(SaveError::Conflict) => crate::observe::conflict(),
                Err(SaveError::Store(_)) => return,
            }
        }
    }

    /// The one path every change of a user's second factors takes once the
    /// change is saved: the trusted-network grant ends, so the next login
    /// from a trusted network asks for the second factor.
    ///
    /// The enrollment machine has already required a recent second factor
    /// where the user makes the change, and queued the notices to the old
    /// contacts and the audit event; the facade's update loop calls this
    /// for the [`Effect::FactorsChanged`] it saves, and
    /// [`Twofa::password_changed`] for a password the application changed.
    pub(crate) async fn credentials_changed(
        &self,
        user: &UserId,
        change: CredentialChange,
        now: DateTime<Utc>,
    ) -> Result<(), Failure> {
        let reason = match change {
            CredentialChange::Password => RevocationReason::PasswordChanged,
            CredentialChange::Factors(FactorChange::RecoveryCodeUsed) => {
                RevocationReason::RecoveryCodeUsed
            }
            CredentialChange::Factors(_) => RevocationReason::SecondFactorMethodsChanged,
        };
        self.revoke_grant(user, reason, now).await.map(|_| ())
    }

    /// Revokes the user's active grant, if any (compare-and-swap).
    pub(crate) async fn revoke_grant(
        &self,
        user: &UserId,
        reason: RevocationReason,
        now: DateTime<Utc>,
    ) -> Result<bool, Failure> {
        for _ in 0..self.max_store_attempts {
            let Some(stored) = self.stores.grants.load(user).await? else {
                return Ok(false);
            };
            let Ok(revoked) = stored.record.revoke(reason.clone(), now) else {
                return Ok(false);
            };
            match self
                .stores
                .grants
                .save(user, revoked, Some(stored.version))
                .await
            {
                Ok(_) => return Ok(true),
                Err(SaveError::Conflict) => crate::observe::conflict(),
                Err(SaveError::Store(error)) => return Err(error.into()),
            }
        }
        Err(Failure::start_over(RejectionDetail::StoreContention))
    }
}
