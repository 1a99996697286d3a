//! Push approval: prompting the paired device, taking its answer, and
//! completing a login with the approval.

use core::net::IpAddr;

use chrono::{DateTime, Utc};
use rand_core::CryptoRng;
use twofa_delivery::{PushError, PushOrigin, PushRequest, PushResponse, PushStatus, TransactionId};
use twofa_types::Method;

use super::{
    Enrolled, Enrollment, EnrollmentState, EventKind, PendingKind, PendingSetup, PushTarget, save,
};
use crate::audit::AuditKind;
use crate::effect::{Effect, LoginAccepted, Outcome, PushDispatch, Transition};
use crate::error::EnrollmentError;
use crate::method::{Factor, MethodId};
use crate::policy::Context;

impl Enrollment {
    /// Prepares a push prompt to the paired device: the one being set up
    /// ([`PushTarget::PendingSetup`]) or an enrolled push method for a
    /// login. Subject to the push rate limit of the policy.
    ///
    /// # Errors
    ///
    /// [`EnrollmentError`]: no such push method or set-up, suspension, or
    /// the delivery crate's refusal ([`EnrollmentError::Push`]).
    pub(super) fn send_push(
        &self,
        target: PushTarget,
        transaction: &TransactionId,
        client_address: Option<IpAddr>,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<PushDispatch, EnrollmentError> {
        self.suspension_check()?;
        let method_id = match target {
            PushTarget::PendingSetup => {
                let pending = self.pending_of(EventKind::PushResponse)?;
                if !matches!(pending.kind, PendingKind::Push { .. }) {
                    return Err(EnrollmentError::NotAPushMethod { id: None });
                }
                pending.check_not_expired(ctx, now)?;
                None
            }
            PushTarget::Method(id) => {
                let enrolled = self.enrolled(EventKind::PushResponse)?;
                let method = enrolled
                    .method(id)
                    .ok_or(EnrollmentError::UnknownMethod { id })?;
                if !matches!(method.factor, Factor::Push(_)) {
                    return Err(EnrollmentError::NotAPushMethod { id: Some(id) });
                }
                Some(id)
            }
        };
        let mut origin = PushOrigin::new(ctx.issuer().clone());
        if let Some(address) = client_address {
            origin = origin.with_client_address(address);
        }
        let prepared = PushRequest::prepare(
            self.user.clone(),
            transaction.clone(),
            &origin,
            ctx.policy().push(),
            &self.push_log,
            now,
            rng,
        )
        .map_err(EnrollmentError::Push)?;
        let message = prepared.message().clone();
        let match_number = prepared.match_number();
        let (request, log) = prepared.commit();
        let mut next = self.clone();
        next.push_log = log;
        match (&mut next.state, method_id) {
            (EnrollmentState::Enrolled(e), Some(_)) => e.push_request = Some(request),
            (EnrollmentState::Pending(p), None)
            | (
                EnrollmentState::Enrolled(Enrolled {
                    change: Some(p), ..
                }),
                None,
            ) => {
                if let PendingKind::Push { request: slot, .. } = &mut p.kind {
                    *slot = Some(request);
                }
            }
            _ => return Err(self.not_allowed(EventKind::PushResponse)),
        }
        let mut audit = self.audit(AuditKind::PushSent, now).method(Method::PushApp);
        if let Some(id) = method_id {
            audit = audit.method_id(id);
        }
        Ok(PushDispatch::new(
            message,
            match_number,
            Outcome::new(next, vec![Effect::Audit(audit)]),
        ))
    }

    pub(super) fn push_response(
        &self,
        response: PushResponse,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        self.suspension_check()?;
        let map_push = |error| match error {
            PushError::Expired { expired_at } => EnrollmentError::PendingExpired { expired_at },
            _ => EnrollmentError::PushAlreadyAnswered,
        };
        // A pending push set-up takes the answer first.
        if let Ok(pending) = self.pending_of(EventKind::PushResponse)
            && let PendingKind::Push {
                secret,
                request: Some(request),
            } = &pending.kind
        {
            pending.check_not_expired(ctx, now)?;
            let answered = request.respond(response, now).map_err(map_push)?;
            if matches!(answered.status(now), PushStatus::Approved { .. }) {
                return self.activate(pending, None, ctx, now, rng);
            }
            let (mut next, mut effects) = self.with_failure(
                ctx,
                now,
                AuditKind::EnrollmentCodeRejected,
                Some(Method::PushApp),
            );
            let failed_attempts = pending.failed_attempts.saturating_add(1);
            next.replace_pending(PendingSetup {
                kind: PendingKind::Push {
                    secret: secret.clone(),
                    request: Some(answered),
                },
                started_at: pending.started_at,
                failed_attempts,
                replaces: pending.replaces,
            });
            effects.insert(
                0,
                Effect::CodeRejected {
                    attempts_left: ctx
                        .policy()
                        .max_wrong_codes()
                        .saturating_sub(failed_attempts),
                },
            );
            return Ok(save(next, effects));
        }
        let EnrollmentState::Enrolled(Enrolled {
            push_request: Some(request),
            ..
        }) = &self.state
        else {
            return Err(match self.state {
                EnrollmentState::Pending(_) | EnrollmentState::Enrolled(_) => {
                    EnrollmentError::NoPushOutstanding
                }
                _ => self.not_allowed(EventKind::PushResponse),
            });
        };
        let answered = request.respond(response, now).map_err(map_push)?;
        let approved = matches!(answered.status(now), PushStatus::Approved { .. });
        let (mut next, effects) = if approved {
            // The login consumes the approval (`verify_login`).
            (self.clone(), Vec::new())
        } else {
            self.with_failure(ctx, now, AuditKind::LoginFailed, Some(Method::PushApp))
        };
        if let Some(e) = next.enrolled_mut() {
            e.push_request = Some(answered);
        }
        Ok(save(next, effects))
    }

    pub(super) fn verify_push(
        &self,
        id: MethodId,
        transaction: &TransactionId,
        now: DateTime<Utc>,
    ) -> Result<LoginAccepted, EnrollmentError> {
        let enrolled = self.enrolled(EventKind::PushResponse)?;
        let method = enrolled
            .method(id)
            .ok_or(EnrollmentError::UnknownMethod { id })?;
        if !matches!(method.factor, Factor::Push(_)) {
            return Err(EnrollmentError::NotAPushMethod { id: Some(id) });
        }
        self.suspension_check()?;
        let request = enrolled
            .push_request
            .as_ref()
            .filter(|r| r.transaction() == transaction)
            .ok_or(EnrollmentError::NoPushOutstanding)?;
        match request.status(now) {
            PushStatus::Approved { .. } => {}
            PushStatus::Pending { .. } => return Err(EnrollmentError::PushPending),
            PushStatus::Expired { expired_at } => {
                return Err(EnrollmentError::PendingExpired { expired_at });
            }
            _ => return Err(EnrollmentError::PushDenied),
        }
        let mut next = self.edit_enrolled(|e| {
            // Consumed: one approval completes one login.
            e.push_request = None;
            e.record_use(id, now, None);
        });
        next.second_factor_passed(now);
        let audit = self
            .audit(AuditKind::LoginSucceeded, now)
            .method(Method::PushApp)
            .method_id(id);
        Ok(LoginAccepted {
            outcome: Outcome::new(next, vec![Effect::Audit(audit)]),
            method: Some(id),
        })
    }
}
