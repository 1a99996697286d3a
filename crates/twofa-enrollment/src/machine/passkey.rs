//! Passkeys: the registration ceremony of a passkey set-up and the
//! authentication ceremony of a login. The WebAuthn checks are
//! `twofa-passkey`'s; this file keeps each ceremony's state in the record,
//! ends it at its first answer, and counts a refused answer as a failure.

use chrono::{DateTime, Utc};
use rand_core::CryptoRng;
use twofa_delivery::TransactionId;
use twofa_passkey::{
    CreationOptions, CredentialName, PasskeyCredential, RefusalReason, RelyingParty,
};
use twofa_types::Method;

use super::login::LoginRejected;
use super::state::PasskeyLogin;
use super::{Enrolled, Enrollment, EnrollmentState, EventKind, PendingKind, save};
use crate::audit::AuditKind;
use crate::effect::{Effect, LoginAccepted, Outcome, Transition};
use crate::error::EnrollmentError;
use crate::machine::event::PasskeyResponse;
use crate::method::{Factor, MethodId, PasskeyFactor};
use crate::policy::Context;
use crate::throttle::PassesSuspension;

fn relying_party<'a>(ctx: &Context<'a>) -> Result<&'a RelyingParty, EnrollmentError> {
    ctx.passkeys().ok_or(EnrollmentError::PasskeysNotConfigured)
}

impl Enrolled {
    /// The enrolled passkeys with their method ids.
    fn passkeys(&self) -> impl Iterator<Item = (MethodId, &PasskeyCredential)> {
        self.methods
            .iter()
            .filter_map(|m| m.factor.passkey().map(|p| (m.id, p.credential())))
    }
}

impl Enrollment {
    /// The user's enrolled passkeys (none unless enrolled).
    fn passkey_credentials(&self) -> Vec<PasskeyCredential> {
        match &self.state {
            EnrollmentState::Enrolled(enrolled) => {
                enrolled.passkeys().map(|(_, c)| c.clone()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// A fresh registration ceremony for a passkey named `name`; the
    /// user's own passkeys are excluded, so one authenticator is not
    /// registered twice.
    pub(super) fn start_passkey(
        &self,
        name: CredentialName,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
    ) -> Result<(PendingKind, CreationOptions), EnrollmentError> {
        let rp = relying_party(ctx)?;
        let existing = self.passkey_credentials();
        let (options, registration) = rp
            .start_registration(&self.user, self.display_name.as_str(), &existing, now)
            .map_err(|_| EnrollmentError::PasskeyUnavailable)?;
        Ok((PendingKind::Passkey { name, registration }, options))
    }

    /// The browser's answer to the pending registration: an accepted one
    /// activates the passkey; a refused one ends the set-up (its challenge
    /// is spent) and counts as a failure. Text that is no answer at all is
    /// refused unevaluated and changes nothing.
    pub(super) fn submit_passkey(
        &self,
        response: &PasskeyResponse,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        let pending = self.pending_of(EventKind::SubmitPasskey)?;
        let PendingKind::Passkey { name, registration } = &pending.kind else {
            return Err(EnrollmentError::NotAPasskey);
        };
        let rp = relying_party(ctx)?;
        self.gate(ctx, now, PassesSuspension::No)?;
        pending.check_not_expired(ctx, now)?;
        let existing = self.passkey_credentials();
        let finished = rp.finish_registration(
            registration,
            response.as_json(),
            name.clone(),
            |id| existing.iter().any(|c| c.id() == id),
            now,
        );
        match finished {
            Ok(credential) => {
                let factor = Factor::Passkey(PasskeyFactor::restore(credential));
                self.activate_factor(pending, factor, ctx, now, rng)
            }
            // Not an answer at all: refused unevaluated, like a code that
            // is not one; the ceremony stays open.
            Err(refused) if refused.reason() == RefusalReason::Malformed => {
                Err(EnrollmentError::PasskeyRefused(RefusalReason::Malformed))
            }
            Err(refused) => {
                let reason = refused.reason();
                let (mut next, mut effects) = self.with_failure(
                    ctx,
                    now,
                    AuditKind::EnrollmentCodeRejected,
                    Some(Method::Passkey),
                );
                if let Some(Effect::Audit(audit)) = effects.first_mut() {
                    audit.passkey_refusal = Some(reason);
                }
                next.drop_pending();
                effects.insert(0, Effect::PasskeyRefused(reason));
                Ok(save(next, effects))
            }
        }
    }

    /// Ends the pending set-up or change, leaving the rest of the record.
    fn drop_pending(&mut self) {
        match &mut self.state {
            EnrollmentState::Enrolled(enrolled) => enrolled.change = None,
            EnrollmentState::Pending(_) => self.state = EnrollmentState::NotEnrolled,
            _ => {}
        }
    }

    /// Starts the passkey ceremony of the login `transaction` with every
    /// passkey of the user, replacing an earlier one.
    pub(super) fn start_passkey_login(
        &self,
        transaction: TransactionId,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
    ) -> Result<Transition, EnrollmentError> {
        let enrolled = self.enrolled(EventKind::StartPasskeyLogin)?;
        self.suspension_check()?;
        let rp = relying_party(ctx)?;
        let credentials: Vec<PasskeyCredential> =
            enrolled.passkeys().map(|(_, c)| c.clone()).collect();
        if credentials.is_empty() {
            return Err(EnrollmentError::NotAPasskey);
        }
        let (options, state) = rp
            .start_authentication(&credentials, now)
            .map_err(|_| EnrollmentError::PasskeyUnavailable)?;
        let next =
            self.edit_enrolled(|e| e.passkey_login = Some(PasskeyLogin { transaction, state }));
        Ok(save(next, vec![Effect::ShowPasskeyRequest(options)]))
    }

    /// Checks the browser's answer to the login's passkey ceremony. The
    /// ceremony ends whatever the answer: accepted, the passkey that
    /// signed is the method used (its counter and backup flags updated);
    /// refused, the failure is counted. Text that is no answer at all is
    /// refused unevaluated and changes nothing.
    pub(super) fn verify_passkey(
        &self,
        response: &PasskeyResponse,
        transaction: &TransactionId,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
    ) -> Result<LoginAccepted, LoginRejected> {
        let refuse = |reason| LoginRejected {
            reason,
            outcome: None,
        };
        let enrolled = self.enrolled(EventKind::Login).map_err(refuse)?;
        self.gate(ctx, now, PassesSuspension::No).map_err(refuse)?;
        let rp = relying_party(ctx).map_err(refuse)?;
        let login = enrolled
            .passkey_login
            .as_ref()
            .filter(|login| login.transaction == *transaction)
            .ok_or(EnrollmentError::NoPasskeyOutstanding)
            .map_err(refuse)?;
        let credentials: Vec<PasskeyCredential> =
            enrolled.passkeys().map(|(_, c)| c.clone()).collect();
        let accepted =
            match rp.finish_authentication(&login.state, response.as_json(), &credentials, now) {
                Ok(accepted) => accepted,
                // Not an answer at all: refused unevaluated, like a code
                // that is not one; the ceremony stays open.
                Err(refused) if refused.reason() == RefusalReason::Malformed => {
                    return Err(refuse(EnrollmentError::PasskeyRefused(
                        RefusalReason::Malformed,
                    )));
                }
                Err(refused) => {
                    let reason = refused.reason();
                    let (mut next, mut effects) =
                        self.with_failure(ctx, now, AuditKind::LoginFailed, Some(Method::Passkey));
                    if let Some(Effect::Audit(audit)) = effects.first_mut() {
                        audit.passkey_refusal = Some(reason);
                    }
                    if let Some(e) = next.enrolled_mut() {
                        e.passkey_login = None;
                    }
                    let reason = match next.failures.suspended_since() {
                        Some(since) => EnrollmentError::Suspended { since },
                        None => EnrollmentError::PasskeyRefused(reason),
                    };
                    return Err(LoginRejected {
                        reason,
                        outcome: Some(Box::new(Outcome::new(next, effects))),
                    });
                }
            };
        let id = enrolled
            .passkeys()
            .find(|(_, c)| *c.id() == accepted.credential_id)
            .map(|(id, _)| id)
            .ok_or(EnrollmentError::NoPasskeyOutstanding)
            .map_err(refuse)?;
        let mut next = self.edit_enrolled(|e| {
            e.passkey_login = None;
            if let Some(method) = e.method_mut(id) {
                method.factor = Factor::Passkey(PasskeyFactor::restore(accepted.credential));
            }
            e.record_use(id, now, None);
        });
        next.second_factor_passed(now);
        let audit = self
            .audit(AuditKind::LoginSucceeded, now)
            .method(Method::Passkey)
            .method_id(id);
        Ok(LoginAccepted {
            outcome: Outcome::new(next, vec![Effect::Audit(audit)]),
            method: Some(id),
        })
    }
}
