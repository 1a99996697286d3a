//! The set-up transitions: starting a method, verifying it with a code,
//! re-sending, deferring or cancelling, changing a number and removing a
//! method.

use chrono::{DateTime, Utc};
use rand_core::CryptoRng;
use twofa_delivery::{
    ChallengeRequest, Destination, Notice, OobChallenge, Purpose, ResendOption, ResendPlan,
};
use twofa_otp::{Algorithm, KeyUri, Secret};
use twofa_types::{CodeChannel, Method, OneTimeCode};

use super::code::{CodeCheck, CodeSource, check_code};
use super::{
    Enrolled, Enrollment, EnrollmentState, EventKind, NotMobileAnswer, PendingKind, PendingSetup,
    PhoneSetup, Sent, SetupChoice, finish, save, sent_of,
};
use crate::audit::AuditKind;
use crate::effect::{Effect, FactorChange, NotMobileDialog, Outcome, ProvisioningUri, Transition};
use crate::error::EnrollmentError;
use crate::method::{EnrolledMethod, Factor, MethodId, PhoneChannel, PhoneFactor, TotpFactor};
use crate::policy::{Context, LastMethod};
use crate::recovery::RecoveryCodes;
use crate::throttle::PassesSuspension;

impl Enrollment {
    pub(super) fn start_setup(
        &self,
        choice: SetupChoice,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        self.suspension_check()?;
        let adding = matches!(self.state, EnrollmentState::Enrolled(_));
        if adding {
            self.require_step_up(ctx, now)?;
        }
        let purpose = Purpose::Enrollment;
        let (pending, mut effects, message) = match choice {
            SetupChoice::App | SetupChoice::Push => {
                let secret = Secret::generate(rng, Algorithm::Sha1);
                let uri = KeyUri::totp(
                    ctx.issuer().as_str(),
                    self.display_name.as_str(),
                    secret.clone(),
                )
                .map_err(|_| EnrollmentError::KeyUri)?;
                let kind = if matches!(choice, SetupChoice::App) {
                    PendingKind::App { secret }
                } else {
                    PendingKind::Push {
                        secret,
                        request: None,
                    }
                };
                (
                    kind,
                    vec![Effect::ShowKeyUri(ProvisioningUri::new(uri))],
                    None,
                )
            }
            SetupChoice::Phone(phone) => {
                if let Some(dialog) = self.not_mobile_dialog(&phone, now) {
                    return Ok(Transition::Save(Outcome::new(self.clone(), dialog)));
                }
                let (kind, message) = self.issue_phone(phone, purpose, ctx, now, rng)?;
                (kind, Vec::new(), Some(message))
            }
            SetupChoice::Passkey(name) => {
                let (kind, options) = self.start_passkey(name, ctx, now)?;
                (kind, vec![Effect::ShowPasskeyCreation(options)], None)
            }
        };
        let method = pending.method();
        let setup = PendingSetup {
            kind: pending,
            started_at: now,
            failed_attempts: 0,
            replaces: None,
        };
        let mut audit = self.audit(AuditKind::EnrollmentStarted, now).method(method);
        if let PendingKind::Phone { number, .. } = &setup.kind {
            audit = audit.destination(&Destination::Phone(number.clone()));
        }
        effects.push(Effect::Audit(audit));
        let mut next = self.clone();
        next.replace_pending(setup);
        Ok(finish(next, effects, message))
    }

    /// The dialog effects when the number is not a known mobile and the
    /// user has not yet chosen to continue with voice.
    fn not_mobile_dialog(&self, phone: &PhoneSetup, now: DateTime<Utc>) -> Option<Vec<Effect>> {
        if !phone.line_type.recommends_app() {
            return None;
        }
        match (phone.answer, phone.channel) {
            (NotMobileAnswer::NotAsked, _) => Some(vec![
                Effect::ShowNotMobileDialog(NotMobileDialog {
                    line_type: phone.line_type,
                    recommended: Method::AuthenticatorApp,
                    alternative: PhoneChannel::Voice,
                }),
                Effect::Audit(
                    self.audit(AuditKind::NotMobileDialogShown, now)
                        .destination(&Destination::Phone(phone.number.clone())),
                ),
            ]),
            // `with_answer` has switched the channel to voice.
            (NotMobileAnswer::ContinueWithVoice, _) => None,
        }
    }

    fn issue_phone(
        &self,
        phone: PhoneSetup,
        purpose: Purpose,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<(PendingKind, Sent), EnrollmentError> {
        let mut request = ChallengeRequest::new(
            self.user.clone(),
            purpose,
            Destination::Phone(phone.number.clone()),
            phone.channel.code_channel(),
        );
        if let Some(email) = &self.email {
            request = request.with_fallback_email(email.clone());
        }
        let prepared = OobChallenge::issue(
            request,
            ctx.policy().challenge(),
            ctx.templates(),
            ctx.key(),
            now,
            rng,
        )
        .map_err(EnrollmentError::Issue)?;
        let message = sent_of(&prepared);
        let challenge = prepared.commit();
        Ok((
            PendingKind::Phone {
                number: phone.number,
                channel: phone.channel,
                line_type: phone.line_type,
                challenge,
            },
            message,
        ))
    }

    pub(super) fn pending_of(&self, event: EventKind) -> Result<&PendingSetup, EnrollmentError> {
        match &self.state {
            EnrollmentState::Pending(pending) => Ok(pending),
            EnrollmentState::Enrolled(Enrolled {
                change: Some(pending),
                ..
            }) => Ok(pending),
            _ => Err(self.not_allowed(event)),
        }
    }

    pub(super) fn replace_pending(&mut self, pending: PendingSetup) {
        match &mut self.state {
            EnrollmentState::Enrolled(enrolled) => enrolled.change = Some(pending),
            state => *state = EnrollmentState::Pending(pending),
        }
    }

    pub(super) fn submit_code(
        &self,
        code: &OneTimeCode,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        let pending = self.pending_of(EventKind::SubmitCode)?;
        self.gate(ctx, now, PassesSuspension::No)?;
        pending.check_not_expired(ctx, now)?;
        let max = ctx.policy().max_wrong_codes();
        if pending.failed_attempts >= max {
            return Err(EnrollmentError::TooManyWrongCodes);
        }
        let source = match &pending.kind {
            PendingKind::App { secret } | PendingKind::Push { secret, .. } => CodeSource::Totp {
                secret,
                last_step: None,
            },
            PendingKind::Phone { challenge, .. } => CodeSource::Challenge(challenge),
            PendingKind::Passkey { .. } => return Err(EnrollmentError::PasskeyExpected),
        };
        match check_code(source, code, ctx, now)? {
            CodeCheck::Wrong { challenge, .. } => {
                // A sent code keeps the challenge that counted the attempt.
                let kind = match (&pending.kind, challenge) {
                    (
                        PendingKind::Phone {
                            number,
                            channel,
                            line_type,
                            ..
                        },
                        Some(challenge),
                    ) => PendingKind::Phone {
                        number: number.clone(),
                        channel: *channel,
                        line_type: *line_type,
                        challenge,
                    },
                    (kind, _) => kind.clone(),
                };
                let method = kind.method();
                let (mut next, mut effects) =
                    self.with_failure(ctx, now, AuditKind::EnrollmentCodeRejected, Some(method));
                let failed_attempts = pending.failed_attempts.saturating_add(1);
                next.replace_pending(PendingSetup {
                    kind,
                    started_at: pending.started_at,
                    failed_attempts,
                    replaces: pending.replaces,
                });
                effects.insert(
                    0,
                    Effect::CodeRejected {
                        attempts_left: max.saturating_sub(failed_attempts),
                    },
                );
                Ok(save(next, effects))
            }
            CodeCheck::Accepted { step, .. } => self.activate(pending, step, ctx, now, rng),
        }
    }

    pub(super) fn activate(
        &self,
        pending: &PendingSetup,
        last_step: Option<u64>,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        let factor = match &pending.kind {
            PendingKind::App { secret } => Factor::App(TotpFactor {
                secret: secret.clone(),
                last_step,
            }),
            PendingKind::Push { secret, .. } => Factor::Push(TotpFactor {
                secret: secret.clone(),
                last_step,
            }),
            PendingKind::Phone {
                number, channel, ..
            } => Factor::Phone(PhoneFactor {
                number: number.clone(),
                channel: *channel,
            }),
            // A passkey is activated with the credential its registration
            // produced (`submit_passkey`), never by a code.
            PendingKind::Passkey { .. } => return Err(EnrollmentError::PasskeyExpected),
        };
        self.activate_factor(pending, factor, ctx, now, rng)
    }

    /// Activates `factor`, the proven method of `pending`: a first method
    /// enrolls the user (with recovery codes), another one is added, a
    /// new number replaces the old.
    pub(super) fn activate_factor(
        &self,
        pending: &PendingSetup,
        factor: Factor,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        let kind = factor.kind();
        let destination = match &factor {
            Factor::Phone(phone) => Some(Destination::Phone(phone.number.clone())),
            _ => None,
        };
        let mut next = self.clone();
        next.second_factor_passed(now);
        let mut effects = Vec::new();
        match &mut next.state {
            EnrollmentState::Enrolled(enrolled) => {
                enrolled.change = None;
                match pending.replaces {
                    Some(id) => {
                        let Some(method) = enrolled.method_mut(id) else {
                            return Err(EnrollmentError::UnknownMethod { id });
                        };
                        let old = match &method.factor {
                            Factor::Phone(phone) => Some(phone.number.clone()),
                            _ => None,
                        };
                        method.factor = factor;
                        method.enrolled_at = now;
                        method.last_used_at = Some(now);
                        let mut audit = self
                            .audit(AuditKind::NumberChanged, now)
                            .method(kind)
                            .method_id(id);
                        if let Some(d) = &destination {
                            audit = audit.destination(d);
                        }
                        effects.push(Effect::Audit(audit));
                        effects.push(self.notify(Notice::NumberChanged, old.as_ref()));
                        effects.push(Effect::FactorsChanged(FactorChange::NumberChanged));
                    }
                    None => {
                        let id = MethodId::new(enrolled.next_id);
                        enrolled.next_id = enrolled
                            .next_id
                            .checked_add(1)
                            .ok_or(EnrollmentError::TimeOutOfRange)?;
                        enrolled.methods.push(EnrolledMethod {
                            id,
                            factor,
                            enrolled_at: now,
                            last_used_at: Some(now),
                        });
                        let mut audit = self
                            .audit(AuditKind::EnrollmentVerified, now)
                            .method(kind)
                            .method_id(id);
                        if let Some(d) = &destination {
                            audit = audit.destination(d);
                        }
                        effects.push(Effect::Audit(audit));
                        // The contacts the user had before the addition.
                        let old_phone =
                            enrolled
                                .methods
                                .iter()
                                .filter(|m| m.id != id)
                                .find_map(|m| match &m.factor {
                                    Factor::Phone(phone) => Some(phone.number.clone()),
                                    _ => None,
                                });
                        effects.push(self.notify(Notice::MethodAdded, old_phone.as_ref()));
                        effects.push(Effect::FactorsChanged(FactorChange::MethodAdded));
                    }
                }
            }
            state => {
                let id = MethodId::new(1);
                let (recovery, sheet) = RecoveryCodes::generate(&self.user, ctx.key(), now, rng);
                *state = EnrollmentState::Enrolled(Enrolled {
                    methods: vec![EnrolledMethod {
                        id,
                        factor,
                        enrolled_at: now,
                        last_used_at: Some(now),
                    }],
                    primary: id,
                    enrolled_at: now,
                    recovery,
                    change: None,
                    next_id: 2,
                    login_challenge: None,
                    push_request: None,
                    passkey_login: None,
                });
                let mut audit = self
                    .audit(AuditKind::EnrollmentVerified, now)
                    .method(kind)
                    .method_id(id);
                if let Some(d) = &destination {
                    audit = audit.destination(d);
                }
                effects.push(Effect::ShowRecoveryCodes(sheet));
                effects.push(Effect::Audit(audit));
                effects.push(Effect::Audit(
                    self.audit(AuditKind::RecoveryCodesGenerated, now),
                ));
            }
        }
        Ok(save(next, effects))
    }

    pub(super) fn resend(
        &self,
        option: ResendOption,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        let pending = self.pending_of(EventKind::Resend)?;
        self.suspension_check()?;
        match (&pending.kind, option.plan()) {
            (PendingKind::App { .. } | PendingKind::Push { .. }, ResendPlan::ReadYourDevice) => {
                pending.check_not_expired(ctx, now)?;
                Ok(save(self.clone(), vec![Effect::ReadCodeFromDevice]))
            }
            (
                PendingKind::Phone {
                    number,
                    channel,
                    line_type,
                    challenge,
                },
                ResendPlan::FreshCode(code_channel),
            ) => {
                let prepared = challenge
                    .resend(
                        code_channel,
                        ctx.policy().challenge(),
                        ctx.templates(),
                        ctx.key(),
                        now,
                        rng,
                    )
                    .map_err(EnrollmentError::Resend)?;
                let message = sent_of(&prepared);
                let destination = match code_channel {
                    CodeChannel::Email => self.email.clone().map(Destination::Email),
                    _ => Some(Destination::Phone(number.clone())),
                };
                let challenge = prepared.commit();
                let mut next = self.clone();
                next.replace_pending(PendingSetup {
                    kind: PendingKind::Phone {
                        number: number.clone(),
                        channel: *channel,
                        line_type: *line_type,
                        challenge,
                    },
                    started_at: pending.started_at,
                    failed_attempts: pending.failed_attempts,
                    replaces: pending.replaces,
                });
                let mut audit = self
                    .audit(AuditKind::CodeResent, now)
                    .method(channel.kind());
                if let Some(d) = &destination {
                    audit = audit.destination(d);
                }
                Ok(finish(next, vec![Effect::Audit(audit)], Some(message)))
            }
            _ => Err(EnrollmentError::ResendNotApplicable),
        }
    }

    pub(super) fn defer(
        &self,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Transition, EnrollmentError> {
        match &self.state {
            EnrollmentState::NotEnrolled | EnrollmentState::Pending(_) => {}
            EnrollmentState::Deferred { until: running } => {
                if now < *running {
                    return Err(EnrollmentError::AlreadyDeferred { until: *running });
                }
            }
            EnrollmentState::Enrolled(_) => return Err(self.not_allowed(EventKind::Defer)),
        }
        if until <= now {
            return Err(EnrollmentError::TimeOutOfRange);
        }
        let mut next = self.clone();
        next.state = EnrollmentState::Deferred { until };
        next.deferrals_used = self.deferrals_used.saturating_add(1);
        Ok(save(
            next,
            vec![Effect::Audit(
                self.audit(AuditKind::EnrollmentDeferred, now),
            )],
        ))
    }

    pub(super) fn cancel(
        &self,
        event: EventKind,
        now: DateTime<Utc>,
    ) -> Result<Transition, EnrollmentError> {
        let mut next = self.clone();
        let method = match &mut next.state {
            EnrollmentState::Pending(pending) => {
                let method = pending.kind.method();
                next.state = EnrollmentState::NotEnrolled;
                method
            }
            EnrollmentState::Enrolled(enrolled) => match enrolled.change.take() {
                Some(change) => change.kind.method(),
                None => return Err(self.not_allowed(event)),
            },
            _ => return Err(self.not_allowed(event)),
        };
        Ok(save(
            next,
            vec![Effect::Audit(
                self.audit(AuditKind::EnrollmentCancelled, now)
                    .method(method),
            )],
        ))
    }

    pub(super) fn start_number_change(
        &self,
        id: MethodId,
        phone: PhoneSetup,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        let enrolled = self.enrolled(EventKind::StartNumberChange)?;
        let method = enrolled
            .method(id)
            .ok_or(EnrollmentError::UnknownMethod { id })?;
        let Factor::Phone(old) = &method.factor else {
            return Err(EnrollmentError::NotAPhoneMethod { id });
        };
        self.require_step_up(ctx, now)?;
        if let Some(dialog) = self.not_mobile_dialog(&phone, now) {
            return Ok(Transition::Save(Outcome::new(self.clone(), dialog)));
        }
        let new_destination = Destination::Phone(phone.number.clone());
        let (kind, message) =
            self.issue_phone(phone, Purpose::VerifyNewDestination, ctx, now, rng)?;
        let method_kind = kind.method();
        let mut next = self.clone();
        next.replace_pending(PendingSetup {
            kind,
            started_at: now,
            failed_attempts: 0,
            replaces: Some(id),
        });
        let effects = vec![
            Effect::Audit(
                self.audit(AuditKind::NumberChangeStarted, now)
                    .method(method_kind)
                    .method_id(id)
                    .destination(&new_destination),
            ),
            self.notify(Notice::NumberChangeStarted, Some(&old.number)),
        ];
        Ok(finish(next, effects, Some(message)))
    }

    pub(super) fn remove_method(
        &self,
        id: MethodId,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
    ) -> Result<Transition, EnrollmentError> {
        let enrolled = self.enrolled(EventKind::RemoveMethod)?;
        let method = enrolled
            .method(id)
            .ok_or(EnrollmentError::UnknownMethod { id })?;
        let last = enrolled.methods.len() <= 1;
        if last && ctx.last_method() == LastMethod::Kept {
            return Err(EnrollmentError::LastMethodUnderEnforcement);
        }
        self.require_step_up(ctx, now)?;
        let audit = self
            .audit(AuditKind::MethodRemoved, now)
            .method(method.kind())
            .method_id(id);
        // The removed phone, or else another phone of the user, hears of it.
        let phone = match &method.factor {
            Factor::Phone(phone) => Some(phone.number.clone()),
            _ => enrolled.methods.iter().find_map(|m| match &m.factor {
                Factor::Phone(phone) => Some(phone.number.clone()),
                _ => None,
            }),
        };
        let next = if last {
            let mut next = self.clone();
            next.state = EnrollmentState::NotEnrolled;
            next
        } else {
            self.edit_enrolled(|e| e.remove_method(id))
        };
        Ok(save(
            next,
            vec![
                Effect::Audit(audit),
                self.notify(Notice::MethodRemoved, phone.as_ref()),
                Effect::FactorsChanged(FactorChange::MethodRemoved),
            ],
        ))
    }
}
