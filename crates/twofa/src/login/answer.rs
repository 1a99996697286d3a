//! The answers on the verification and set-up screens: a typed code, a
//! recovery code, or a push approval checked against the challenge; an
//! accepted answer completes the login.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use twofa_enrollment::{
    Effect, Enrollment, EnrollmentState, Event, LoginAttempt, MethodId, PasskeyResponse,
    SubmittedCode, Transition,
};
use twofa_types::{MethodSet, OneTimeCode, UserId};

use super::{method_kind, transaction, usable_login, usable_ticket};
use crate::audit::{AllowedBy, AuditEvent, RejectionDetail};
use crate::failure::{Failure, enrollment_failure};
use crate::records::{CompanyRecord, LoginStage, LoginTicket, PendingLogin};
use crate::service::Twofa;
use crate::steps::{Allowed, LoginStep, Rejected, RetryAdvice, SetUpScreen};
use crate::store::{SaveError, Versioned};
use crate::update::{Change, Finish, First, Next};

/// The set-up screen that follows a challenge when every method of the
/// user is switched off: no "remind me later".
fn replacement_screen(
    ticket: LoginTicket,
    methods: MethodSet,
    enrollment: &Enrollment,
) -> SetUpScreen {
    let pending = match enrollment.state() {
        EnrollmentState::Enrolled(enrolled) => enrolled
            .pending_change()
            .map(|change| change.kind().method()),
        EnrollmentState::Pending(pending) => Some(pending.kind().method()),
        _ => None,
    };
    SetUpScreen {
        ticket,
        methods,
        remind_me_until: None,
        pending,
    }
}

fn is_enrolled(enrollment: &Enrollment) -> bool {
    matches!(enrollment.state(), EnrollmentState::Enrolled(_))
}

/// What the user answered on the set-up or verification screen: a typed
/// code, or the browser's answer to a passkey ceremony.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    Code(OneTimeCode),
    Passkey(PasskeyResponse),
}

impl Answer {
    /// The event that answers a pending set-up.
    pub(crate) fn setup_event(&self) -> Event {
        match self {
            Self::Code(code) => Event::SubmitCode(code.clone()),
            Self::Passkey(response) => Event::SubmitPasskey(response.clone()),
        }
    }

    /// The login attempt that answers a challenge of `method`.
    fn attempt(self, method: MethodId) -> LoginAttempt {
        match self {
            Self::Code(code) => LoginAttempt::Code { method, code },
            Self::Passkey(response) => LoginAttempt::Passkey(response),
        }
    }
}

/// The refusal a set-up answer was counted as, if it was: a wrong code
/// (with the tries left) or a refused passkey.
pub(crate) fn counted_refusal(effects: &[Effect]) -> Option<Failure> {
    effects.iter().find_map(|effect| match effect {
        Effect::CodeRejected { attempts_left } => {
            let advice = if *attempts_left == 0 {
                RetryAdvice::NewCodeNeeded
            } else {
                RetryAdvice::IncorrectCode
            };
            Some(Failure::new(RejectionDetail::WrongCode, advice))
        }
        Effect::PasskeyRefused(reason) => Some(Failure::new(
            RejectionDetail::PasskeyRefused { reason: *reason },
            RetryAdvice::PasskeyNotAccepted,
        )),
        _ => None,
    })
}

impl Twofa {
    /// The user typed a code: the first code of a method being set up
    /// (which activates it), or the second factor of the login.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for a wrong, replayed or expired code, throttling,
    /// suspension, an unusable ticket or a store failure. A wrong code is
    /// counted before the refusal is returned.
    ///
    /// # Security
    ///
    /// A code is accepted at most once, whatever the interleaving of
    /// requests: acceptance is the compare-and-swap save of the record
    /// that burns it.
    pub async fn submit_code(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        code: &str,
    ) -> Result<LoginStep, Rejected> {
        crate::observe::operation("submit_code", Some(user), async {
            let now = self.clock.now();
            self.answer(user, now, self.submit_code_inner(user, ticket, code, now))
                .await
        })
        .await
    }

    async fn submit_code_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<LoginStep, Failure> {
        // The typed text is parsed once, here, the same way for every
        // method; a malformed code is refused before any record is read.
        let submitted = OneTimeCode::parse(code).map_err(|_| {
            Failure::new(RejectionDetail::MalformedCode, RetryAdvice::IncorrectCode)
        })?;
        self.answer_inner(user, ticket, Answer::Code(submitted), now)
            .await
    }

    /// The browser answered a passkey ceremony: the registration of a
    /// passkey being set up (which activates it), or the second factor of
    /// the login. `response` is the JSON of the `PublicKeyCredential`
    /// that `navigator.credentials.create` or `.get` returned, binary
    /// fields in base64url (what `PublicKeyCredential.toJSON()` gives).
    ///
    /// # Errors
    ///
    /// [`Rejected`] with [`RejectionDetail::PasskeyRefused`] (and
    /// [`RetryAdvice::PasskeyNotAccepted`]) for an answer from another
    /// origin or relying party, to another or an expired challenge, by a
    /// credential that is not the user's, or without user verification
    /// when the relying party requires it: counted as a failure, and the
    /// ceremony is over. Also throttling, suspension, an unusable ticket
    /// or a store failure.
    ///
    /// # Security
    ///
    /// A ceremony is answered at most once, whatever the interleaving of
    /// requests: its state is taken out of the user's record by the same
    /// compare-and-swap save that accepts the answer.
    pub async fn submit_passkey(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        response: &str,
    ) -> Result<LoginStep, Rejected> {
        crate::observe::operation("submit_passkey", Some(user), async {
            let now = self.clock.now();
            let answer = Answer::Passkey(PasskeyResponse::new(response));
            self.answer(user, now, self.answer_inner(user, ticket, answer, now))
                .await
        })
        .await
    }

    async fn answer_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        submitted: Answer,
        now: DateTime<Utc>,
    ) -> Result<LoginStep, Failure> {
        // The records this server cached when it began the login, if it
        // did: an acceptance is then committed without a read first (see
        // `crate::cache`). Anything else is decided again, below, on
        // records read from the store.
        if let Some(cached) = self.cache.login(ticket, user, now) {
            if let Ok(pending) = usable_ticket(Some(cached.pending), user, now) {
                let first = First {
                    user: cached.user.user,
                    enrollment: Some(cached.user.enrollment),
                    cached: true,
                };
                let answer = submitted.clone();
                match self
                    .answer_records(ticket, pending, first, &cached.company, answer, now)
                    .await
                {
                    Ok(step) => {
                        crate::observe::cache("hit");
                        return Ok(step);
                    }
                    Err(_) => crate::observe::cache("stale"),
                }
            }
            self.cache
                .forget(ticket, user, cached.company.record.company());
        } else {
            crate::observe::cache("miss");
        }
        // Ticket, user and company in one read where the stores allow it;
        // the ticket is checked as `load_ticket_for` checks it.
        let records = self.stores.unit.load_login(&self.stores, ticket, user);
        let (pending, loaded, company) = usable_login(records.await?, user, now)?;
        let company = Arc::new(company);
        self.cache.put_company(company.clone(), now);
        let first = First::loaded(loaded);
        self.answer_records(ticket, pending, first, &company, submitted, now)
            .await
    }

    /// Answers the login of `ticket` on its records, read from the store
    /// or cached.
    async fn answer_records(
        &self,
        ticket: &LoginTicket,
        pending: Versioned<PendingLogin>,
        loaded: First,
        company: &Versioned<CompanyRecord>,
        submitted: Answer,
        now: DateTime<Utc>,
    ) -> Result<LoginStep, Failure> {
        let user = loaded.user.record.user().clone();
        let user = &user;
        let kind = loaded.user.record.kind();
        let login = pending.record.clone();
        let updated = match login.stage() {
            LoginStage::SetUp { .. } => {
                // The method just activated is the one enrolled last.
                let next = |e: &Enrollment| match e.state() {
                    EnrollmentState::Enrolled(enrolled) => enrolled
                        .methods()
                        .iter()
                        .max_by_key(|m| m.enrolled_at())
                        .map(|m| Next::Allowed(AllowedBy::SecondFactor { method: m.kind() })),
                    _ => None,
                };
                let finish = Finish {
                    ticket,
                    pending,
                    company: company.version,
                    next: &next,
                };
                self.update_user_with(
                    user,
                    &company.record,
                    now,
                    Some(loaded),
                    Some(finish),
                    |e, ctx, rng| match e.apply(submitted.setup_event(), ctx, now, rng) {
                        Ok(Transition::Save(outcome)) => match counted_refusal(outcome.effects()) {
                            Some(failure) => Change::Refuse(Some(outcome), failure),
                            None if is_enrolled(outcome.record()) => Change::Save(outcome),
                            None => Change::Refuse(
                                None,
                                Failure::start_over(RejectionDetail::InconsistentRecord),
                            ),
                        },
                        Ok(_) => Change::Refuse(
                            None,
                            Failure::start_over(RejectionDetail::InconsistentRecord),
                        ),
                        Err(error) => Change::Refuse(None, enrollment_failure(error)),
                    },
                )
                .await?
            }
            LoginStage::Challenge { method, .. } => {
                let attempt = submitted.attempt(*method);
                return self
                    .verify_challenge(ticket, pending, loaded, company, &attempt, now)
                    .await;
            }
            _ => return Err(Failure::start_over(RejectionDetail::WrongStage)),
        };
        let Some(Next::Allowed(by)) = updated.next else {
            return Err(Failure::start_over(RejectionDetail::InconsistentRecord));
        };
        // After the commit, best effort (see `issue_grant`).
        let status = updated.record.status(now);
        self.issue_grant(&login, &company.record, kind, &status, now)
            .await;
        let recovery_codes = updated.effects.into_iter().find_map(|effect| match effect {
            Effect::ShowRecoveryCodes(sheet) => Some(sheet),
            _ => None,
        });
        Ok(LoginStep::Allowed(Allowed { by, recovery_codes }))
    }

    /// Checks the answer to a challenge (a code or a push approval) and,
    /// in the same unit of work that accepts it, completes the login, or
    /// moves it on to set-up when the company has switched off every
    /// method the user has.
    pub(crate) async fn verify_challenge(
        &self,
        ticket: &LoginTicket,
        pending: Versioned<PendingLogin>,
        loaded: First,
        company: &Versioned<CompanyRecord>,
        attempt: &LoginAttempt,
        now: DateTime<Utc>,
    ) -> Result<LoginStep, Failure> {
        let LoginStage::Challenge {
            method,
            then_set_up,
            ..
        } = *pending.record.stage()
        else {
            return Err(Failure::start_over(RejectionDetail::WrongStage));
        };
        let allowed = self
            .user_policy(&company.record, &loaded.user.record)
            .allowed_methods();
        let next = |e: &Enrollment| {
            let method = method_kind(e, method)?;
            // The company may have switched the method off since the
            // challenge began: it still proves who the user is, but the
            // login then goes on to set up a method the company allows.
            let switched_off = (!allowed.contains(method)).then_some(allowed);
            Some(match then_set_up.or(switched_off) {
                Some(methods) => Next::SetUp(methods),
                None => Next::Allowed(AllowedBy::SecondFactor { method }),
            })
        };
        let user = loaded.user.record.user().clone();
        let kind = loaded.user.record.kind();
        let login = pending.record.clone();
        let transaction = transaction(ticket)?;
        let finish = Finish {
            ticket,
            pending,
            company: company.version,
            next: &next,
        };
        let updated = self
            .update_user_with(
                &user,
                &company.record,
                now,
                Some(loaded),
                Some(finish),
                |e, ctx, rng| {
                    let event = Event::Login {
                        attempt: attempt.clone(),
                        transaction: transaction.clone(),
                    };
                    Change::from(e.apply(event, ctx, now, rng))
                },
            )
            .await?;
        let by = match updated.next {
            Some(Next::Allowed(by)) => by,
            Some(Next::SetUp(methods)) => {
                return Ok(LoginStep::SetUp(replacement_screen(
                    *ticket,
                    methods,
                    &updated.record,
                )));
            }
            None => return Err(Failure::start_over(RejectionDetail::InconsistentRecord)),
        };
        // After the commit, best effort (see `issue_grant`).
        let status = updated.record.status(now);
        self.issue_grant(&login, &company.record, kind, &status, now)
            .await;
        Ok(LoginStep::Allowed(Allowed {
            by,
            recovery_codes: None,
        }))
    }

    /// The user typed a recovery code on the verification screen. A used
    /// code never works again; redeeming one lifts a suspension and ends
    /// the user's trusted-network grant.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for a code that is not one of the user's unused codes
    /// (counted as a failure), an unusable ticket or a store failure.
    pub async fn use_recovery_code(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        code: &str,
    ) -> Result<LoginStep, Rejected> {
        crate::observe::operation("use_recovery_code", Some(user), async {
            let now = self.clock.now();
            self.answer(user, now, self.recovery_inner(user, ticket, code, now))
                .await
        })
        .await
    }

    async fn recovery_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<LoginStep, Failure> {
        let records = self.stores.unit.load_login(&self.stores, ticket, user);
        let (pending, loaded, company) = usable_login(records.await?, user, now)?;
        let (pending, company) = (pending.record, company.record);
        let LoginStage::Challenge { then_set_up, .. } = *pending.stage() else {
            return Err(Failure::start_over(RejectionDetail::WrongStage));
        };
        let transaction = transaction(ticket)?;
        let attempt = LoginAttempt::RecoveryCode(SubmittedCode::new(code));
        let updated = self
            .update_user_with(
                user,
                &company,
                now,
                Some(First::loaded(loaded)),
                None,
                |e, ctx, rng| {
                    let event = Event::Login {
                        attempt: attempt.clone(),
                        transaction: transaction.clone(),
                    };
                    match Change::from(e.apply(event, ctx, now, rng)) {
                        Change::Refuse(counted, mut failure) => {
                            if failure.detail == RejectionDetail::WrongCode {
                                failure.detail = RejectionDetail::WrongRecoveryCode;
                            }
                            Change::Refuse(counted, failure)
                        }
                        change => change,
                    }
                },
            )
            .await?;
        if let Some(methods) = then_set_up {
            self.move_to_set_up(user, ticket, methods, now).await?;
            return Ok(LoginStep::SetUp(replacement_screen(
                *ticket,
                methods,
                &updated.record,
            )));
        }
        let by = self
            .finish_login(&pending, ticket, AllowedBy::RecoveryCode, now)
            .await?;
        Ok(LoginStep::Allowed(Allowed {
            by,
            recovery_codes: None,
        }))
    }

    /// Completes a login: the ticket is used up, a trusted-network grant
    /// is issued when the login came from one, and the allowance is
    /// audited. Any failure here refuses the login.
    pub(crate) async fn finish_login(
        &self,
        pending: &PendingLogin,
        ticket: &LoginTicket,
        by: AllowedBy,
        now: DateTime<Utc>,
    ) -> Result<AllowedBy, Failure> {
        self.complete_ticket(pending.user(), ticket, now).await?;
        if matches!(by, AllowedBy::SecondFactor { .. }) {
            self.load_and_issue_grant(pending, now).await;
        }
        self.audit_required(
            now,
            Some(pending.company()),
            Some(pending.user()),
            AuditEvent::LoginAllowed { by },
        )
        .await?;
        Ok(by)
    }

    /// Marks the ticket used, so it can complete no other login.
    async fn complete_ticket(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        now: DateTime<Utc>,
    ) -> Result<(), Failure> {
        for _ in 0..self.max_store_attempts {
            let loaded = self.load_ticket_for(user, ticket, now).await?;
            let done = loaded.record.with_stage(LoginStage::Completed { at: now });
            match self
                .stores
                .pending_logins
                .save(ticket, done, Some(loaded.version))
                .await
            {
                Ok(_) => return Ok(()),
                Err(SaveError::Conflict) => crate::observe::conflict(),
                Err(SaveError::Store(error)) => return Err(error.into()),
            }
        }
        Err(Failure::start_over(RejectionDetail::StoreContention))
    }
}
