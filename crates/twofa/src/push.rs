//! Push approval (the Authy-style "approve on your phone"), as an
//! alternative to typing the push app's token.

use chrono::{DateTime, Utc};
use twofa_delivery::{ChallengeId, PushRequest, PushResponse, PushStatus, TransactionId};
use twofa_enforcement::{Method, UserId};
use twofa_enrollment::{EnrollmentState, MethodKind};

use crate::audit::{AllowedBy, AuditEvent, RejectionDetail};
use crate::records::{LoginStage, LoginTicket};
use crate::service::{Failure, Twofa};
use crate::steps::{Allowed, Rejected, RetryAdvice};
use crate::store::SaveError;

/// A push prompt went to the user's devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PushSent {
    /// Show this number on the login page; the user picks the same one on
    /// the device (number matching against prompt bombing).
    pub match_number: u8,
    /// The prompt expires at this instant.
    pub expires_at: DateTime<Utc>,
}

/// The state of a login's push prompt.
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub enum PushPoll {
    /// No answer yet: poll again until `expires_at`.
    Waiting {
        /// When the prompt expires.
        expires_at: DateTime<Utc>,
    },
    /// Approved with the right number: the login is complete.
    Allowed(Allowed),
}

fn not_approved() -> Failure {
    Failure::new(RejectionDetail::PushNotApproved, RetryAdvice::NewCodeNeeded)
}

impl Twofa {
    /// The user pressed "send a push" on the verification screen of a
    /// push-app login.
    ///
    /// # Errors
    ///
    /// [`Rejected`] when the login's method is not the push app, the rate
    /// limit is reached ([`RetryAdvice::TryLater`]), the send failed
    /// (nothing is saved), the ticket is not usable or a store failed.
    pub async fn send_push(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
    ) -> Result<PushSent, Rejected> {
        let now = self.clock.now();
        match self.send_push_inner(user, ticket, now).await {
            Ok(sent) => Ok(sent),
            Err(failure) => Err(self.reject(now, Some(user), failure).await),
        }
    }

    async fn send_push_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        now: DateTime<Utc>,
    ) -> Result<PushSent, Failure> {
        let loaded = self.load_ticket_for(user, ticket, now).await?;
        let LoginStage::Challenge { method, .. } = *loaded.record.stage() else {
            return Err(Failure::start_over(RejectionDetail::WrongStage));
        };
        let delivery_user = twofa_delivery::UserId::new(user.as_str())
            .map_err(|_| Failure::start_over(RejectionDetail::InconsistentRecord))?;
        let transaction = TransactionId::new(&ticket.to_string())
            .map_err(|_| Failure::start_over(RejectionDetail::InconsistentRecord))?;
        for _ in 0..self.max_store_attempts {
            let stored = self.load_user(user).await?;
            let enrollment = self.open(&stored.record)?;
            let is_push = match enrollment.state() {
                EnrollmentState::Enrolled(enrolled) => enrolled
                    .method(method)
                    .is_some_and(|m| m.kind() == MethodKind::Push),
                _ => false,
            };
            if !is_push {
                return Err(Failure::start_over(RejectionDetail::MethodNotAvailable));
            }
            let mut rng = self.rng()?;
            let prepared = PushRequest::prepare(
                delivery_user.clone(),
                transaction.clone(),
                &self.issuer,
                &self.push_policy,
                stored.record.push_log(),
                now,
                &mut rng,
            )
            .map_err(|_| Failure::new(RejectionDetail::PushRefused, RetryAdvice::TryLater))?;
            if self
                .channels
                .push
                .send_push(prepared.message())
                .await
                .is_err()
            {
                self.audit_best_effort(
                    now,
                    stored.record.company(),
                    user,
                    AuditEvent::SendFailed {
                        channel: twofa_delivery::Channel::Push,
                    },
                )
                .await;
                return Err(Failure::new(
                    RejectionDetail::ProviderFailed,
                    RetryAdvice::TryLater,
                ));
            }
            let (request, log) = prepared.commit();
            let company = stored.record.company().clone();
            let updated = stored.record.with_push(log, *ticket);
            match self
                .stores
                .users
                .save(user, updated, Some(stored.version))
                .await
            {
                Ok(_) => {}
                Err(SaveError::Conflict) => continue,
                Err(SaveError::Store(error)) => return Err(error.into()),
            }
            let sent = PushSent {
                match_number: request.match_number().value(),
                expires_at: request.expires_at(),
            };
            self.set_push(user, ticket, request, now).await?;
            self.audit_best_effort(now, &company, user, AuditEvent::PushSent)
                .await;
            return Ok(sent);
        }
        Err(Failure::start_over(RejectionDetail::StoreContention))
    }

    /// Replaces the push request of a login (compare-and-swap).
    async fn set_push(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        request: PushRequest,
        now: DateTime<Utc>,
    ) -> Result<(), Failure> {
        for _ in 0..self.max_store_attempts {
            let loaded = self.load_ticket_for(user, ticket, now).await?;
            let LoginStage::Challenge { method, .. } = *loaded.record.stage() else {
                return Err(Failure::start_over(RejectionDetail::WrongStage));
            };
            let next = loaded.record.with_stage(LoginStage::Challenge {
                method,
                push: Some(request.clone()),
            });
            match self
                .stores
                .challenges
                .save(ticket, next, Some(loaded.version))
                .await
            {
                Ok(_) => return Ok(()),
                Err(SaveError::Conflict) => {}
                Err(SaveError::Store(error)) => return Err(error.into()),
            }
        }
        Err(Failure::start_over(RejectionDetail::StoreContention))
    }

    /// The user's device answered a push prompt (approve with the number
    /// it picked, or deny). Called by the application's push endpoint.
    ///
    /// # Errors
    ///
    /// [`Rejected`] when no such prompt is pending for the user (unknown,
    /// answered, expired), or a store failed.
    pub async fn respond_to_push(
        &self,
        user: &UserId,
        request: ChallengeId,
        response: PushResponse,
    ) -> Result<(), Rejected> {
        let now = self.clock.now();
        match self.respond_inner(user, request, response, now).await {
            Ok(()) => Ok(()),
            Err(failure) => Err(self.reject(now, Some(user), failure).await),
        }
    }

    async fn respond_inner(
        &self,
        user: &UserId,
        request: ChallengeId,
        response: PushResponse,
        now: DateTime<Utc>,
    ) -> Result<(), Failure> {
        let record = self.load_user(user).await?.record;
        let ticket = *record.push_ticket().ok_or_else(not_approved)?;
        for _ in 0..self.max_store_attempts {
            let loaded = self.load_ticket_for(user, &ticket, now).await?;
            let LoginStage::Challenge {
                method,
                push: Some(pending),
            } = loaded.record.stage()
            else {
                return Err(not_approved());
            };
            if pending.id() != request {
                return Err(not_approved());
            }
            let answered = pending.respond(response, now).map_err(|_| not_approved())?;
            let next = loaded.record.clone().with_stage(LoginStage::Challenge {
                method: *method,
                push: Some(answered),
            });
            match self
                .stores
                .challenges
                .save(&ticket, next, Some(loaded.version))
                .await
            {
                Ok(_) => return Ok(()),
                Err(SaveError::Conflict) => {}
                Err(SaveError::Store(error)) => return Err(error.into()),
            }
        }
        Err(Failure::start_over(RejectionDetail::StoreContention))
    }

    /// The login page asks whether the push prompt was answered.
    ///
    /// # Errors
    ///
    /// [`Rejected`] when the prompt was denied, expired or never sent, the
    /// ticket is not usable, or a store failed.
    ///
    /// # Security
    ///
    /// An approval completes one login only: completing the ticket is a
    /// compare-and-swap, so concurrent polls cannot both be allowed.
    pub async fn poll_push(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
    ) -> Result<PushPoll, Rejected> {
        let now = self.clock.now();
        match self.poll_inner(user, ticket, now).await {
            Ok(poll) => Ok(poll),
            Err(failure) => Err(self.reject(now, Some(user), failure).await),
        }
    }

    async fn poll_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        now: DateTime<Utc>,
    ) -> Result<PushPoll, Failure> {
        let loaded = self.load_ticket_for(user, ticket, now).await?;
        let LoginStage::Challenge {
            push: Some(request),
            ..
        } = loaded.record.stage()
        else {
            return Err(not_approved());
        };
        match request.status(now) {
            PushStatus::Pending { expires_at } => Ok(PushPoll::Waiting { expires_at }),
            PushStatus::Approved { .. } => {
                let by = AllowedBy::SecondFactor {
                    method: Method::PushApp,
                };
                let by = self.finish_login(&loaded.record, ticket, by, now).await?;
                Ok(PushPoll::Allowed(Allowed {
                    by,
                    recovery_codes: None,
                }))
            }
            _ => Err(not_approved()),
        }
    }
}
