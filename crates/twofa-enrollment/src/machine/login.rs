//! Login with an enrolled method: sending a login code, verifying a code,
//! push approval or recovery code, and redeeming a recovery code.

use chrono::{DateTime, Utc};
use rand_core::CryptoRng;
use twofa_delivery::{
    ChallengeRequest, ChallengeStatus, Destination, Notice, OobChallenge, Purpose, TransactionId,
};
use twofa_types::CodeChannel;

use super::code::{CodeCheck, CodeSource, check_code};
use super::{Enrollment, EventKind, LoginAttempt, SubmittedCode, sent_of};
use crate::audit::AuditKind;
use crate::effect::{Dispatch, Effect, FactorChange, LoginAccepted, Outcome};
use crate::error::EnrollmentError;
use crate::method::{Factor, MethodId};
use crate::policy::Context;
use crate::recovery::RecoveryRejection;
use crate::throttle::PassesSuspension;

/// The second factor was refused at login: why, and the record to save
/// when the failure was counted (`None` when the attempt was refused
/// unevaluated and nothing changed).
#[derive(Debug)]
pub(super) struct LoginRejected {
    pub(super) reason: EnrollmentError,
    pub(super) outcome: Option<Box<Outcome>>,
}

impl Enrollment {
    pub(super) fn redeem_recovery(
        &self,
        code: &SubmittedCode,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, LoginRejected> {
        let refuse = |reason| LoginRejected {
            reason,
            outcome: None,
        };
        let enrolled = self.enrolled(EventKind::Login).map_err(refuse)?;
        self.gate(ctx, now, PassesSuspension::Yes).map_err(refuse)?;
        match enrolled
            .recovery
            .redeem(&self.user, ctx.key(), code.expose_secret(), now)
        {
            Err(RecoveryRejection::Malformed) => Err(refuse(EnrollmentError::MalformedCode)),
            Err(RecoveryRejection::NoMatch) => {
                let (next, mut effects) =
                    self.with_failure(ctx, now, AuditKind::RecoveryCodeRejected, None);
                effects.insert(0, Effect::CodeRejected { attempts_left: 0 });
                Err(LoginRejected {
                    reason: EnrollmentError::WrongCode,
                    outcome: Some(Box::new(Outcome::new(next, effects))),
                })
            }
            Ok(recovery) => {
                let remaining = recovery.remaining();
                let primary_phone = enrolled.methods.iter().find_map(|m| match &m.factor {
                    Factor::Phone(p) => Some(p.number.clone()),
                    _ => None,
                });
                let mut next = self.edit_enrolled(|e| e.recovery = recovery);
                next.second_factor_passed(now);
                let effects = vec![
                    Effect::Audit(self.audit(AuditKind::RecoveryCodeUsed, now)),
                    self.notify(
                        Notice::RecoveryCodeUsed { remaining },
                        primary_phone.as_ref(),
                    ),
                    Effect::FactorsChanged(FactorChange::RecoveryCodeUsed),
                ];
                Ok(Outcome::new(next, effects))
            }
        }
    }

    /// Sends a login code to a phone method (SMS or voice as enrolled, or
    /// `channel` to override: SMS, voice or the user's email) for the
    /// login `transaction`. A second call for the same transaction re-sends
    /// (fresh code, same failure count); for another transaction it starts
    /// a new challenge.
    ///
    /// # Errors
    ///
    /// [`EnrollmentError`]: not enrolled, unknown or non-phone method,
    /// suspension, or the delivery crate's issue/re-send refusals.
    pub(super) fn send_login_code(
        &self,
        id: MethodId,
        channel: Option<CodeChannel>,
        transaction: &TransactionId,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Dispatch, EnrollmentError> {
        let enrolled = self.enrolled(EventKind::Resend)?;
        self.suspension_check()?;
        let method = enrolled
            .method(id)
            .ok_or(EnrollmentError::UnknownMethod { id })?;
        let Factor::Phone(phone) = &method.factor else {
            return Err(EnrollmentError::NotACodeRecipient { id });
        };
        let channel = channel.unwrap_or(phone.channel.code_channel());
        let destination = Destination::Phone(phone.number.clone());
        let purpose = Purpose::Login {
            transaction: transaction.clone(),
        };
        let existing = enrolled.login_challenge.as_ref().filter(|c| {
            *c.purpose() == purpose
                && *c.destination() == destination
                && !matches!(
                    c.status(ctx.policy().challenge(), now),
                    ChallengeStatus::Used { .. }
                )
        });
        let prepared = match existing {
            Some(challenge) => challenge
                .resend(
                    channel,
                    ctx.policy().challenge(),
                    ctx.templates(),
                    ctx.key(),
                    now,
                    rng,
                )
                .map_err(EnrollmentError::Resend)?,
            None => {
                let mut request =
                    ChallengeRequest::new(self.user.clone(), purpose, destination.clone(), channel);
                if let Some(email) = &self.email {
                    request = request.with_fallback_email(email.clone());
                }
                OobChallenge::issue(
                    request,
                    ctx.policy().challenge(),
                    ctx.templates(),
                    ctx.key(),
                    now,
                    rng,
                )
                .map_err(EnrollmentError::Issue)?
            }
        };
        let (message, code) = sent_of(&prepared);
        let challenge = prepared.commit();
        let next = self.edit_enrolled(|e| e.login_challenge = Some(challenge));
        let audit = self
            .audit(AuditKind::LoginCodeSent, now)
            .method(method.kind())
            .method_id(id)
            .destination(&destination);
        Ok(Dispatch::new(
            message,
            code,
            Outcome::new(next, vec![Effect::Audit(audit)]),
        ))
    }

    /// Verifies a second factor at login: a TOTP code of an app or push
    /// method (its step is then burned), the code sent by
    /// [`Event::SendLoginCode`](super::Event::SendLoginCode) for `transaction`, or a recovery
    /// code.
    ///
    /// # Errors
    ///
    /// [`LoginRejected`] with the reason; when the failure was counted it
    /// carries the record to save. Throttled and suspended attempts are
    /// refused without looking at the code.
    ///
    /// # Security
    ///
    /// Save the record of [`LoginAccepted`] with compare-and-swap and let
    /// the user in only if the save succeeded: that is what keeps a TOTP
    /// code single-use across servers.
    pub(super) fn verify_login(
        &self,
        attempt: &LoginAttempt,
        transaction: &TransactionId,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
    ) -> Result<LoginAccepted, LoginRejected> {
        let refuse = |reason| LoginRejected {
            reason,
            outcome: None,
        };
        let (id, code) = match attempt {
            LoginAttempt::RecoveryCode(code) => {
                return self
                    .redeem_recovery(code, ctx, now)
                    .map(|outcome| LoginAccepted {
                        outcome,
                        method: None,
                    });
            }
            LoginAttempt::Code { method, code } => (*method, code),
            LoginAttempt::Push { method } => {
                return self.verify_push(*method, transaction, now).map_err(refuse);
            }
            LoginAttempt::Passkey(response) => {
                return self.verify_passkey(response, transaction, ctx, now);
            }
        };
        let enrolled = self.enrolled(EventKind::SubmitCode).map_err(refuse)?;
        let method = enrolled
            .method(id)
            .ok_or(EnrollmentError::UnknownMethod { id })
            .map_err(refuse)?;
        self.gate(ctx, now, PassesSuspension::No).map_err(refuse)?;
        let kind = method.kind();
        let source = match &method.factor {
            Factor::App(totp) | Factor::Push(totp) => CodeSource::Totp {
                secret: &totp.secret,
                last_step: totp.last_step,
            },
            Factor::Phone(phone) => {
                let purpose = Purpose::Login {
                    transaction: transaction.clone(),
                };
                let destination = Destination::Phone(phone.number.clone());
                let challenge = enrolled
                    .login_challenge
                    .as_ref()
                    .filter(|c| *c.purpose() == purpose && *c.destination() == destination)
                    .ok_or(EnrollmentError::NoCodeOutstanding)
                    .map_err(refuse)?;
                CodeSource::Challenge(challenge)
            }
            Factor::Passkey(_) => return Err(refuse(EnrollmentError::PasskeyExpected)),
        };
        match check_code(source, code, ctx, now).map_err(refuse)? {
            CodeCheck::Accepted { step, challenge } => {
                let mut next = self.edit_enrolled(|e| {
                    if let Some(challenge) = challenge {
                        e.login_challenge = Some(challenge);
                    }
                    e.record_use(id, now, step);
                });
                next.second_factor_passed(now);
                let audit = self
                    .audit(AuditKind::LoginSucceeded, now)
                    .method(kind)
                    .method_id(id);
                Ok(LoginAccepted {
                    outcome: Outcome::new(next, vec![Effect::Audit(audit)]),
                    method: Some(id),
                })
            }
            CodeCheck::Wrong {
                challenge,
                replayed,
            } => {
                let (mut next, effects) =
                    self.with_failure(ctx, now, AuditKind::LoginFailed, Some(kind));
                if let (Some(e), Some(challenge)) = (next.enrolled_mut(), challenge) {
                    e.login_challenge = Some(challenge);
                }
                let reason = match next.failures.suspended_since() {
                    Some(since) => EnrollmentError::Suspended { since },
                    None if replayed => EnrollmentError::ReplayedCode,
                    None => EnrollmentError::WrongCode,
                };
                Err(LoginRejected {
                    reason,
                    outcome: Some(Box::new(Outcome::new(next, effects))),
                })
            }
        }
    }
}
