//! The compare-and-swap update of a user's enrollment: load, evaluate a
//! step, send, seal and save, again from the load after a conflict; and,
//! for an accepted second factor, the commit that completes the login with
//! the save.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use twofa_enrollment::{
    Context, Dispatch, Effect, Enrollment, EnrollmentError, LastMethod, Outcome, PushDispatch,
    Transition,
};
use twofa_types::{CompanyId, MethodSet, UserId};

use crate::audit::{AllowedBy, AuditEvent, RejectionDetail};
use crate::failure::{Failure, enrollment_failure};
use crate::grant::CredentialChange;
use crate::join::join;
use crate::records::{
    AuditEntry, CompanyRecord, LoginStage, LoginTicket, PendingLogin, UserRecord,
};
use crate::seal::SealedEnrollment;
use crate::service::Twofa;
use crate::steps::CodeSent;
use crate::store::{LoginCommit, SaveError, Version, Versioned};

/// What one evaluation of a user's enrollment asks the retry loop to do.
pub(crate) enum Change {
    /// Save this outcome, then succeed.
    Save(Outcome),
    /// Send, then save, then succeed.
    Send(Dispatch),
    /// Send the push prompt, then save, then succeed.
    Push(PushDispatch),
    /// Save the outcome if there is one (a counted failure), then refuse.
    Refuse(Option<Outcome>, Failure),
}

impl From<Result<Transition, EnrollmentError>> for Change {
    /// What the machine's answer asks of the retry loop: every transition
    /// is saved (after its send, if any); a refusal that counted a failure
    /// saves the count and refuses.
    fn from(answer: Result<Transition, EnrollmentError>) -> Self {
        match answer {
            Ok(Transition::Save(outcome)) => Self::Save(outcome),
            Ok(Transition::Send(dispatch)) => Self::Send(dispatch),
            Ok(Transition::SendPush(dispatch)) => Self::Push(dispatch),
            Ok(Transition::LoginAccepted(accepted)) => Self::Save(accepted.outcome),
            Ok(Transition::LoginRefused { reason, outcome }) => {
                Self::Refuse(Some(outcome), enrollment_failure(reason))
            }
            Err(error) => Self::Refuse(None, enrollment_failure(error)),
        }
    }
}

/// The result of a successful update of a user's enrollment.
pub(crate) struct Updated {
    pub(crate) record: Arc<Enrollment>,
    pub(crate) effects: Vec<Effect>,
    pub(crate) sent: Option<CodeSent>,
    /// The number to show with the push prompt that went out.
    pub(crate) push_match: Option<twofa_delivery::MatchNumber>,
    /// Set when the login went on in the same unit of work.
    pub(crate) next: Option<Next>,
}

/// How a login goes on once its second factor is accepted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Next {
    /// The login is complete.
    Allowed(AllowedBy),
    /// Every method the user answered with is switched off by the company:
    /// the pending login moves to set-up of one of these methods instead of
    /// completing.
    SetUp(MethodSet),
}

/// The user's record an update starts from.
pub(crate) struct First {
    pub(crate) user: Arc<Versioned<UserRecord>>,
    /// Its enrollment, already unsealed.
    pub(crate) enrollment: Option<Arc<Enrollment>>,
    /// From this server's cache (see [`crate::cache`]): only an accepted
    /// change is acted on, through the commit; anything else, and a
    /// conflict, is [`Failure::stale`].
    pub(crate) cached: bool,
}

impl First {
    /// A record just read from the store.
    pub(crate) fn loaded(user: Versioned<UserRecord>) -> Self {
        Self {
            user: Arc::new(user),
            enrollment: None,
            cached: false,
        }
    }
}

/// What [`Twofa::update_user_with`] needs to complete the login in the
/// same unit of work as an accepted change.
pub(crate) struct Finish<'f> {
    pub(crate) ticket: &'f LoginTicket,
    /// The pending login as last loaded.
    pub(crate) pending: Versioned<PendingLogin>,
    /// The version of the company whose policy decided: a commit decided
    /// on cached records fails if the company changed since.
    pub(crate) company: Version,
    /// How the login goes on, read from the updated enrollment (`None`:
    /// the record is inconsistent and nothing is saved).
    pub(crate) next: &'f (dyn Fn(&Enrollment) -> Option<Next> + Send + Sync),
}

impl Twofa {
    /// Loads the user's enrollment, evaluates `step` on it, performs the
    /// send if any, and saves with compare-and-swap; on a conflict it
    /// starts over from the load, at most `max_store_attempts` times.
    ///
    /// Nothing is saved when `step` refuses without a record, when the
    /// send fails, or when sealing fails.
    pub(crate) async fn update_enrollment(
        &self,
        user: &UserId,
        company: &CompanyRecord,
        now: DateTime<Utc>,
        step: impl FnMut(&Enrollment, &Context<'_>, &mut StdRng) -> Change + Send,
    ) -> Result<Updated, Failure> {
        self.update_user_with(user, company, now, None, None, step)
            .await
    }

    /// [`Twofa::update_enrollment`], starting from the record in `first` when
    /// given (re-loaded only after a conflict) and, with `finish`,
    /// completing the login in the same unit of work as the save of an
    /// accepted change (see [`UnitOfWork`](crate::UnitOfWork)).
    pub(crate) async fn update_user_with(
        &self,
        user: &UserId,
        company: &CompanyRecord,
        now: DateTime<Utc>,
        mut first: Option<First>,
        mut finish: Option<Finish<'_>>,
        mut step: impl FnMut(&Enrollment, &Context<'_>, &mut StdRng) -> Change + Send,
    ) -> Result<Updated, Failure> {
        let policy = self.policy_for(company)?;
        // The company's enforcement decides whether the last method may go.
        let last_method = if company.settings().is_enforced() {
            LastMethod::Kept
        } else {
            LastMethod::Removable
        };
        for _ in 0..self.max_store_attempts {
            let start = match (first.take(), finish.as_mut()) {
                (Some(start), _) => start,
                (None, None) => First::loaded(self.load_user(user).await?),
                (None, Some(finish)) => {
                    // After a conflict either record may have changed:
                    // both are read again, together.
                    let (pending, loaded) = join(
                        self.load_ticket_for(user, finish.ticket, now),
                        self.load_user(user),
                    )
                    .await;
                    finish.pending = pending?;
                    First::loaded(loaded?)
                }
            };
            let (loaded, cached) = (start.user, start.cached);
            let enrollment = match start.enrollment {
                Some(opened) => opened,
                None => Arc::new(self.open(&loaded.record)?),
            };
            let mut rng = self.rng()?;
            let change = {
                let ctx = Context::new(
                    last_method,
                    &policy,
                    &self.server_key,
                    &self.templates,
                    &self.issuer,
                );
                let ctx = match &self.passkeys {
                    Some(relying_party) => ctx.with_passkeys(relying_party),
                    None => ctx,
                };
                step(&enrollment, &ctx, &mut rng)
            };
            let mut push_match = None;
            if cached && !(finish.is_some() && matches!(change, Change::Save(_))) {
                // Only an acceptance is acted on from the cache.
                return Err(Failure::stale());
            }
            let (outcome, result, sent) = match change {
                Change::Save(outcome) => (outcome, Ok(()), None),
                Change::Push(dispatch) => {
                    // The same protocol as a code: nothing is saved unless
                    // the prompt went out.
                    self.send_push_prompt(dispatch.message(), now, company, user)
                        .await?;
                    push_match = Some(dispatch.match_number());
                    (dispatch.sent(), Ok(()), None)
                }
                Change::Send(dispatch) => {
                    // The send happens before the save (a code is never
                    // recorded as delivered unless it was). If the save then
                    // conflicts, the next attempt re-evaluates and may send
                    // again; only the code of the saved record verifies.
                    // The record to save tells what the code is for (and
                    // whether it is a re-send), which the budget counts.
                    let message = dispatch.message().clone();
                    let outcome = dispatch.sent();
                    let kind = crate::budget::code_kind(outcome.record(), &message);
                    let sent = self.send(&message, kind, now, company, user).await?;
                    (outcome, Ok(()), Some(sent))
                }
                Change::Refuse(Some(outcome), failure) => (outcome, Err(failure), None),
                Change::Refuse(None, failure) => return Err(failure),
            };
            let (record, effects) = outcome.into_parts();
            let sealed = SealedEnrollment::seal(&record, &*self.sealer, &mut rng)
                .map_err(|_| Failure::start_over(RejectionDetail::SealingFailed))?;
            let updated = loaded.record.resealed(sealed);
            let saved = match (&finish, &result) {
                (Some(finish), Ok(())) => {
                    let next = (finish.next)(&record)
                        .ok_or(Failure::start_over(RejectionDetail::InconsistentRecord))?;
                    let commit = Self::login_commit(
                        user,
                        company.company(),
                        (updated.clone(), loaded.version),
                        finish,
                        &effects,
                        next,
                        now,
                    );
                    // A decision taken on cached records also needs the
                    // company as it was cached (a fresh read is as recent
                    // as the user's and the pending login's).
                    let commit = match cached {
                        true => commit.with_company(company.company().clone(), finish.company),
                        false => commit,
                    };
                    let committed = self.stores.unit.commit_login(&self.stores, commit).await;
                    if committed.is_ok() {
                        self.cache.forget_pending(finish.ticket);
                    }
                    committed.map(|version| (version, Some(next)))
                }
                _ => self
                    .stores
                    .users
                    .save(user, updated.clone(), Some(loaded.version))
                    .await
                    .map(|version| (version, None)),
            };
            match saved {
                Ok((version, next)) => {
                    let record = Arc::new(record);
                    let saved = Versioned {
                        record: updated,
                        version,
                    };
                    self.cache.put_user(Arc::new(saved), record.clone(), now);
                    if let Some(change) = CredentialChange::among(&effects) {
                        self.credentials_changed(user, change, now).await?;
                    }
                    if let Some(Next::Allowed(by)) = &next {
                        crate::observe::allowed(by);
                    }
                    if next.is_none() {
                        self.record_effects(now, company, user, &effects).await;
                    } else {
                        // The commit wrote the audit entries with the
                        // record; the notices follow it.
                        self.send_notices(now, company, user, &effects).await;
                    }
                    return result.map(|()| Updated {
                        record,
                        effects,
                        sent,
                        push_match,
                        next,
                    });
                }
                Err(SaveError::Conflict) if cached => return Err(Failure::stale()),
                Err(SaveError::Conflict) => crate::observe::conflict(),
                Err(SaveError::Store(error)) => return Err(error.into()),
            }
        }
        Err(Failure::start_over(RejectionDetail::StoreContention))
    }

    /// The unit that saves the user's record, completes the login and
    /// audits both.
    fn login_commit(
        user: &UserId,
        company: &CompanyId,
        (record, version): (UserRecord, Version),
        finish: &Finish<'_>,
        effects: &[Effect],
        next: Next,
        now: DateTime<Utc>,
    ) -> LoginCommit {
        // A login whose methods are all switched off is not complete yet:
        // it goes on to set up a method the company allows.
        let next_stage = match next {
            Next::SetUp(methods) => LoginStage::SetUp {
                methods,
                deferral_until: None,
            },
            Next::Allowed(_) => LoginStage::Completed { at: now },
        };
        let completed = finish.pending.record.clone().with_stage(next_stage);
        let entry = |event| AuditEntry::new(now, Some(company.clone()), Some(user.clone()), event);
        let mut commit = LoginCommit::new(
            user.clone(),
            record,
            version,
            *finish.ticket,
            completed,
            finish.pending.version,
        );
        for effect in effects {
            if let Effect::Audit(event) = effect {
                commit = commit.with_audit(entry(AuditEvent::Enrollment(event.clone())));
            }
        }
        match next {
            Next::SetUp(_) => commit,
            Next::Allowed(by) => commit.with_audit(entry(AuditEvent::LoginAllowed { by })),
        }
    }

    async fn record_effects(
        &self,
        now: DateTime<Utc>,
        company: &CompanyRecord,
        user: &UserId,
        effects: &[Effect],
    ) {
        for effect in effects {
            if let Effect::Audit(event) = effect {
                self.audit_best_effort(
                    now,
                    company.company(),
                    user,
                    AuditEvent::Enrollment(event.clone()),
                )
                .await;
            }
        }
        self.send_notices(now, company, user, effects).await;
    }
}
