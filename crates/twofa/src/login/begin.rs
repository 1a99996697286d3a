//! The first step after the password: the gate's decision, a new ticket,
//! the set-up or verification screen, and "use another method".

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use twofa_enforcement::{GateDecision, gate};
use twofa_enrollment::{Effect, Enrollment, EnrollmentState, Event, Factor, MethodId};
use twofa_trusted_network::{ClientAddress, Decision, ForwardingHeaders, LoginFacts};
use twofa_types::{Method, MethodSet, UserId};

use super::{method_kind, transaction};
use crate::audit::{AllowedBy, AuditEvent, RejectionDetail};
use crate::failure::Failure;
use crate::join::join;
use crate::records::{CompanyRecord, LoginStage, LoginTicket, PendingLogin, UserRecord};
use crate::service::Twofa;
use crate::steps::{
    Allowed, ChallengeScreen, ClientContext, LoginStep, OtherMethod, Rejected, RetryAdvice,
    SetUpScreen,
};
use crate::store::SaveError;
use crate::update::Change;

/// What a challenge may be answered with, and what follows it.
#[derive(Debug, Clone, Copy)]
struct Challenge {
    /// The kinds of enrolled method the user may answer with.
    usable: MethodSet,
    /// Set up one of these after the challenge (every method of the user
    /// is switched off by the company).
    then_set_up: Option<MethodSet>,
}

/// The primary method of an enrolled user: its id and kind.
fn primary(enrollment: &Enrollment) -> Option<(MethodId, Method)> {
    let EnrollmentState::Enrolled(enrolled) = enrollment.state() else {
        return None;
    };
    let id = enrolled.primary();
    enrolled.method(id).map(|method| (id, method.kind()))
}

/// The method a challenge starts with: the primary one if its kind is in
/// `usable`, otherwise the first enrolled method whose kind is.
fn first_usable(enrollment: &Enrollment, usable: MethodSet) -> Option<(MethodId, Method)> {
    let EnrollmentState::Enrolled(enrolled) = enrollment.state() else {
        return None;
    };
    primary(enrollment)
        .filter(|(_, kind)| usable.contains(*kind))
        .or_else(|| {
            enrolled
                .methods()
                .iter()
                .find(|m| usable.contains(m.kind()))
                .map(|m| (m.id(), m.kind()))
        })
}

/// The enrolled methods other than `current` whose kind is in `usable`,
/// for "use another method".
fn other_methods(
    enrollment: &Enrollment,
    usable: MethodSet,
    current: MethodId,
) -> Vec<OtherMethod> {
    let EnrollmentState::Enrolled(enrolled) = enrollment.state() else {
        return Vec::new();
    };
    // A passkey ceremony asks for every passkey of the user at once: the
    // passkeys are one way in, offered once (as the first of them) and not
    // at all when the current method is a passkey.
    let first_passkey = enrolled
        .methods()
        .iter()
        .find(|m| m.kind() == Method::Passkey)
        .map(|m| m.id());
    let current_kind = enrolled.method(current).map(|m| m.kind());
    enrolled
        .methods()
        .iter()
        .filter(|m| m.id() != current && usable.contains(m.kind()))
        .filter(|m| {
            m.kind() != Method::Passkey
                || (current_kind != Some(Method::Passkey) && Some(m.id()) == first_passkey)
        })
        .map(|m| OtherMethod {
            id: m.id(),
            kind: m.kind(),
            masked_number: match m.factor() {
                Factor::Phone(phone) => Some(phone.number().masked()),
                _ => None,
            },
            name: m.factor().passkey().map(|p| p.name().as_str().to_owned()),
        })
        .collect()
}

impl Twofa {
    fn resolve_client(&self, client: &ClientContext) -> ClientAddress {
        let mut headers = ForwardingHeaders::new();
        if let Some(line) = &client.x_forwarded_for {
            headers = headers.with_x_forwarded_for(line.as_str());
        }
        if let Some(line) = &client.forwarded {
            headers = headers.with_forwarded(line.as_str());
        }
        self.proxies.resolve(client.peer, &headers)
    }

    /// Begins the second-factor part of a login, after the application
    /// accepted the password of `user`.
    ///
    /// Returns what to show: nothing ([`LoginStep::Allowed`]: a trusted
    /// network grant or a running deferral covers the login), the set-up
    /// screen, or the verification screen (a code is sent at once to a
    /// phone method). Keep the ticket of the screen in the session.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for an unknown user or company, a store, sealing or
    /// provider failure; the audit log has the detail.
    ///
    /// # Security
    ///
    /// Fails closed: no failure yields [`LoginStep::Allowed`].
    pub async fn begin_login(
        &self,
        user: &UserId,
        client: &ClientContext,
    ) -> Result<LoginStep, Rejected> {
        crate::observe::operation("begin_login", Some(user), async {
            let now = self.clock.now();
            match self.begin_login_inner(user, client, false, now).await {
                Ok(step) => Ok(step),
                Err(failure) => Err(self.reject(now, Some(user), failure).await),
            }
        })
        .await
    }

    /// Begins a step-up: the user, already logged in, must complete a
    /// second factor now, before a sensitive operation (a company
    /// administrator's, or a change of the user's own factors) whose
    /// refusal asked for one ([`AdminError::StepUpRequired`],
    /// [`RetryAdvice::ReauthenticationRequired`]).
    ///
    /// The same screens and operations as [`Twofa::begin_login`] follow,
    /// but nothing skips the second factor: not a trusted network, not a
    /// running deferral ("remind me later" is not offered; a user without
    /// a method sets one up). Completing it makes the step-up fresh for the
    /// enrollment policy's step-up window.
    ///
    /// # Errors
    ///
    /// As for [`Twofa::begin_login`].
    ///
    /// [`AdminError::StepUpRequired`]: crate::AdminError::StepUpRequired
    pub async fn begin_step_up(
        &self,
        user: &UserId,
        client: &ClientContext,
    ) -> Result<LoginStep, Rejected> {
        crate::observe::operation("begin_step_up", Some(user), async {
            let now = self.clock.now();
            match self.begin_login_inner(user, client, true, now).await {
                Ok(step) => Ok(step),
                Err(failure) => Err(self.reject(now, Some(user), failure).await),
            }
        })
        .await
    }

    async fn begin_login_inner(
        &self,
        user: &UserId,
        client: &ClientContext,
        step_up: bool,
        now: DateTime<Utc>,
    ) -> Result<LoginStep, Failure> {
        let loaded = self.load_user(user).await?;
        let loaded_company = self.load_company(loaded.record.company()).await?;
        let (record, company) = (&loaded.record, &loaded_company.record);
        let enrollment = self.open(record)?;
        let status = enrollment.status(now);
        let address = self.resolve_client(client);
        let client_ip = address.ip();
        let policy = self.user_policy(company, record);
        match gate(&status, company.settings(), &policy, now) {
            decision @ (GateDecision::ChallengeSecondFactor { .. }
            | GateDecision::ChallengeThenReplaceMethod { .. }) => {
                // A suspended factor, or methods the company has switched
                // off, are never skipped by a trusted network.
                // A step-up is never skipped either.
                let never_skip = step_up
                    || enrollment.failures().suspended_since().is_some()
                    || matches!(decision, GateDecision::ChallengeThenReplaceMethod { .. });
                let grant = self.stores.grants.load(user).await?;
                let facts = LoginFacts::new(record.kind(), status, company.allowlist(), &address);
                let facts = match &grant {
                    Some(stored) => facts.with_grant(&stored.record),
                    None => facts,
                };
                let policy = Self::trust_policy_for(company)?;
                if let (
                    Decision::Skip {
                        next_prompt_at,
                        network,
                    },
                    false,
                ) = (policy.decide(&facts, now), never_skip)
                {
                    let by = AllowedBy::TrustedNetwork {
                        network,
                        until: next_prompt_at,
                    };
                    self.audit_required(
                        now,
                        Some(company.company()),
                        Some(user),
                        AuditEvent::LoginAllowed { by },
                    )
                    .await?;
                    return Ok(LoginStep::Allowed(Allowed {
                        by,
                        recovery_codes: None,
                    }));
                }
                let (usable, then_set_up) = match decision {
                    GateDecision::ChallengeThenReplaceMethod {
                        challenge_with,
                        set_up_one_of,
                    } => (challenge_with, Some(set_up_one_of)),
                    GateDecision::ChallengeSecondFactor { methods } => (methods, None),
                    _ => return Err(Failure::start_over(RejectionDetail::WrongStage)),
                };
                let challenge = Challenge {
                    usable,
                    then_set_up,
                };
                let screen = self
                    .start_challenge(record, company, &enrollment, challenge, client_ip, now)
                    .await?;
                // The answer usually comes back to this server: it can
                // then be committed without reading these again.
                self.cache.put_company(Arc::new(loaded_company), now);
                self.cache
                    .put_user(Arc::new(loaded), Arc::new(enrollment), now);
                Ok(LoginStep::Challenge(screen))
            }
            GateDecision::DeferralRunning { .. } if step_up => self
                .start_setup(
                    record,
                    &enrollment,
                    policy.allowed_methods(),
                    None,
                    client_ip,
                    now,
                )
                .await
                .map(LoginStep::SetUp),
            GateDecision::DeferralRunning { until } => {
                let by = AllowedBy::DeferralRunning { until };
                self.audit_required(
                    now,
                    Some(company.company()),
                    Some(user),
                    AuditEvent::LoginAllowed { by },
                )
                .await?;
                Ok(LoginStep::Allowed(Allowed {
                    by,
                    recovery_codes: None,
                }))
            }
            GateDecision::OfferSetup { methods, deferral } => self
                .start_setup(
                    record,
                    &enrollment,
                    methods,
                    (!step_up).then_some(deferral.until),
                    client_ip,
                    now,
                )
                .await
                .map(LoginStep::SetUp),
            GateDecision::RequireSetup { methods, .. } => self
                .start_setup(record, &enrollment, methods, None, client_ip, now)
                .await
                .map(LoginStep::SetUp),
            _ => Err(Failure::start_over(RejectionDetail::WrongStage)),
        }
    }

    async fn new_ticket(
        &self,
        record: &UserRecord,
        stage: LoginStage,
        client_ip: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<LoginTicket, Failure> {
        let expires_at = now
            .checked_add_signed(self.ticket_lifetime)
            .ok_or(Failure::start_over(RejectionDetail::TimeOutOfRange))?;
        let mut rng = self.rng()?;
        let ticket = LoginTicket::generate(&mut rng);
        let pending = PendingLogin::new(
            record.user().clone(),
            record.company().clone(),
            now,
            expires_at,
            client_ip,
            stage,
        );
        match self
            .stores
            .pending_logins
            .save(&ticket, pending.clone(), None)
            .await
        {
            Ok(version) => {
                self.cache.put_pending(ticket, pending, version, now);
                Ok(ticket)
            }
            // 128 random bits do not collide; a conflict means a broken
            // random source or store, and the login cannot go on.
            Err(SaveError::Conflict) => Err(Failure::start_over(RejectionDetail::StoreFailed)),
            Err(SaveError::Store(error)) => Err(error.into()),
        }
    }

    async fn start_setup(
        &self,
        record: &UserRecord,
        enrollment: &Enrollment,
        methods: MethodSet,
        remind_me_until: Option<DateTime<Utc>>,
        client_ip: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<SetUpScreen, Failure> {
        let stage = LoginStage::SetUp {
            methods,
            deferral_until: remind_me_until,
        };
        let ticket = self.new_ticket(record, stage, client_ip, now).await?;
        let pending = match enrollment.state() {
            EnrollmentState::Pending(pending) => Some(pending.kind().method()),
            _ => None,
        };
        Ok(SetUpScreen {
            ticket,
            methods,
            remind_me_until,
            pending,
        })
    }

    async fn start_challenge(
        &self,
        record: &UserRecord,
        company: &CompanyRecord,
        enrollment: &Enrollment,
        challenge: Challenge,
        client_ip: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<ChallengeScreen, Failure> {
        let (method, _) = first_usable(enrollment, challenge.usable)
            .ok_or(Failure::start_over(RejectionDetail::MethodNotAvailable))?;
        let stage = LoginStage::Challenge {
            method,
            usable: challenge.usable,
            then_set_up: challenge.then_set_up,
        };
        let ticket = self.new_ticket(record, stage, client_ip, now).await?;
        self.challenge_screen(record, company, enrollment, ticket, method, challenge, now)
            .await
    }

    /// The verification screen for `method`, sending the first code of a
    /// phone method (unless the factor is suspended: a recovery code is
    /// then the only way in, and no code should go out).
    #[expect(
        clippy::too_many_arguments,
        reason = "one private step of the flow, called from two places"
    )]
    async fn challenge_screen(
        &self,
        record: &UserRecord,
        company: &CompanyRecord,
        enrollment: &Enrollment,
        ticket: LoginTicket,
        method: MethodId,
        challenge: Challenge,
        now: DateTime<Utc>,
    ) -> Result<ChallengeScreen, Failure> {
        let kind = method_kind(enrollment, method)
            .ok_or(Failure::start_over(RejectionDetail::InconsistentRecord))?;
        let suspended = enrollment.failures().suspended_since().is_some();
        let mut sent_to = None;
        let mut passkey = None;
        if kind == Method::Passkey && !suspended {
            let transaction = transaction(&ticket)?;
            let updated = self
                .update_enrollment(record.user(), company, now, |e, ctx, rng| {
                    let event = Event::StartPasskeyLogin {
                        transaction: transaction.clone(),
                    };
                    Change::from(e.apply(event, ctx, now, rng))
                })
                .await?;
            passkey = updated.effects.into_iter().find_map(|effect| match effect {
                Effect::ShowPasskeyRequest(options) => Some(options),
                _ => None,
            });
        }
        if kind.code_channel().is_some() && !suspended {
            let transaction = transaction(&ticket)?;
            let updated = self
                .update_enrollment(record.user(), company, now, |e, ctx, rng| {
                    let event = Event::SendLoginCode {
                        method,
                        channel: None,
                        transaction: transaction.clone(),
                    };
                    Change::from(e.apply(event, ctx, now, rng))
                })
                .await?;
            sent_to = updated.sent.map(|sent| sent.to);
        }
        Ok(ChallengeScreen {
            ticket,
            method: kind,
            sent_to,
            resend: Self::resend_options(company, record, kind),
            passkey,
            other_methods: other_methods(enrollment, challenge.usable, method),
            then_set_up: challenge.then_set_up,
        })
    }

    /// "Use another method" on the verification screen: the login goes on
    /// with another of the user's enrolled methods (a code goes out at
    /// once to a phone method). The ticket stays the same.
    ///
    /// # Errors
    ///
    /// [`Rejected`]: the method is not one of the user's methods this
    /// login may use ([`RetryAdvice::CheckInput`]), the ticket is not
    /// usable, a send or a store failed.
    pub async fn switch_method(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        method: MethodId,
    ) -> Result<ChallengeScreen, Rejected> {
        crate::observe::operation("switch_method", Some(user), async {
            let now = self.clock.now();
            self.answer(
                user,
                now,
                self.switch_method_inner(user, ticket, method, now),
            )
            .await
        })
        .await
    }

    async fn switch_method_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        method: MethodId,
        now: DateTime<Utc>,
    ) -> Result<ChallengeScreen, Failure> {
        let not_offered =
            Failure::new(RejectionDetail::MethodNotAvailable, RetryAdvice::CheckInput);
        for _ in 0..self.max_store_attempts {
            let (pending, loaded) = join(
                self.load_ticket_for(user, ticket, now),
                self.load_user(user),
            )
            .await;
            let (pending, loaded) = (pending?, loaded?);
            let LoginStage::Challenge {
                usable,
                then_set_up,
                ..
            } = *pending.record.stage()
            else {
                return Err(Failure::start_over(RejectionDetail::WrongStage));
            };
            let enrollment = self.open(&loaded.record)?;
            let kind = method_kind(&enrollment, method).ok_or(not_offered)?;
            if !usable.contains(kind) {
                return Err(not_offered);
            }
            let next = pending.record.clone().with_stage(LoginStage::Challenge {
                method,
                usable,
                then_set_up,
            });
            match self
                .stores
                .pending_logins
                .save(ticket, next, Some(pending.version))
                .await
            {
                Ok(_) => {}
                Err(SaveError::Conflict) => {
                    crate::observe::conflict();
                    continue;
                }
                Err(SaveError::Store(error)) => return Err(error.into()),
            }
            let company = self.load_company(pending.record.company()).await?.record;
            let challenge = Challenge {
                usable,
                then_set_up,
            };
            return self
                .challenge_screen(
                    &loaded.record,
                    &company,
                    &enrollment,
                    *ticket,
                    method,
                    challenge,
                    now,
                )
                .await;
        }
        Err(Failure::start_over(RejectionDetail::StoreContention))
    }
}
