//! Push approval (the Authy-style "approve on your phone"), as an
//! alternative to typing the push app's token.
//!
//! The prompt lives in the user's enrollment, like a code sent by SMS: the
//! enrollment's rate limit, its failure count (a denial counts) and its
//! last-second-factor time all apply, and the approval completes the login
//! in the same unit of work that consumes it.

use chrono::{DateTime, Utc};
use twofa_delivery::{ChallengeId, MatchNumber, PushRequest, PushResponse, PushStatus};
use twofa_enrollment::{EnrollmentState, Event, LoginAttempt, PushTarget, Transition};
use twofa_types::UserId;

use crate::audit::RejectionDetail;
use crate::failure::{Failure, enrollment_failure};
use crate::login::{transaction, usable_login};
use crate::records::{LoginStage, LoginTicket};
use crate::service::Twofa;
use crate::steps::{Allowed, LoginStep, Rejected, RetryAdvice, SetUpScreen};
use crate::update::{Change, First};

/// A push prompt went to the user's devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PushSent {
    /// Show this number on the login page (both digits: its `Display`);
    /// the user types it on the device (number matching against prompt
    /// bombing: a blind approval is right one time in a hundred).
    pub match_number: MatchNumber,
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
    /// Approved, but the company has switched off every method the user
    /// has: show the set-up screen before the login completes.
    SetUp(SetUpScreen),
}

fn not_approved() -> Failure {
    Failure::new(RejectionDetail::PushNotApproved, RetryAdvice::NewCodeNeeded)
}

/// The push request of an enrolled user, if it belongs to `ticket`'s login.
fn login_request<'e>(
    enrollment: &'e twofa_enrollment::Enrollment,
    ticket: &LoginTicket,
) -> Result<&'e PushRequest, Failure> {
    let transaction = transaction(ticket)?;
    match enrollment.state() {
        EnrollmentState::Enrolled(enrolled) => enrolled
            .push_request()
            .filter(|request| *request.transaction() == transaction)
            .ok_or_else(not_approved),
        _ => Err(not_approved()),
    }
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
        crate::observe::operation("send_push", Some(user), async {
            let now = self.clock.now();
            match self.send_push_inner(user, ticket, now).await {
                Ok(sent) => Ok(sent),
                Err(failure) => Err(self.reject(now, Some(user), failure).await),
            }
        })
        .await
    }

    async fn send_push_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        now: DateTime<Utc>,
    ) -> Result<PushSent, Failure> {
        let pending = self.load_ticket_for(user, ticket, now).await?.record;
        let LoginStage::Challenge { method, .. } = *pending.stage() else {
            return Err(Failure::start_over(RejectionDetail::WrongStage));
        };
        let company = self.load_company(pending.company()).await?.record;
        let transaction = transaction(ticket)?;
        let updated = self
            .update_enrollment(user, &company, now, |e, ctx, rng| {
                let event = Event::SendPush {
                    target: PushTarget::Method(method),
                    transaction: transaction.clone(),
                    client_address: pending.client_ip(),
                };
                Change::from(e.apply(event, ctx, now, rng))
            })
            .await?;
        let inconsistent = Failure::start_over(RejectionDetail::InconsistentRecord);
        let match_number = updated.push_match.ok_or(inconsistent)?;
        match login_request(&updated.record, ticket)?.status(now) {
            PushStatus::Pending { expires_at } => Ok(PushSent {
                match_number,
                expires_at,
            }),
            _ => Err(inconsistent),
        }
    }

    /// The user's device answered a push prompt (approve with the number
    /// it picked, or deny). Called by the application's push endpoint.
    ///
    /// A denial, or an approval with the wrong number, counts as a failed
    /// second factor (toward throttling and suspension).
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
        crate::observe::operation("respond_to_push", Some(user), async {
            let now = self.clock.now();
            match self.respond_inner(user, request, response, now).await {
                Ok(()) => Ok(()),
                Err(failure) => Err(self.reject(now, Some(user), failure).await),
            }
        })
        .await
    }

    async fn respond_inner(
        &self,
        user: &UserId,
        request: ChallengeId,
        response: PushResponse,
        now: DateTime<Utc>,
    ) -> Result<(), Failure> {
        let record = self.load_user(user).await?.record;
        let company = self.load_company(record.company()).await?.record;
        self.update_enrollment(user, &company, now, |e, ctx, rng| {
            // The answer must be for the login prompt outstanding now, not
            // an older one.
            let current = match e.state() {
                EnrollmentState::Enrolled(enrolled) => enrolled.push_request().map(|r| r.id()),
                _ => None,
            };
            if current != Some(request) {
                return Change::Refuse(None, not_approved());
            }
            match e.apply(Event::PushResponse(response), ctx, now, rng) {
                Ok(Transition::Save(outcome)) => Change::Save(outcome),
                Ok(_) => Change::Refuse(
                    None,
                    Failure::start_over(RejectionDetail::InconsistentRecord),
                ),
                Err(error) => Change::Refuse(None, enrollment_failure(error)),
            }
        })
        .await
        .map(|_| ())
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
    /// An approval completes one login only: it is consumed by the
    /// compare-and-swap that completes the ticket, so concurrent polls
    /// cannot both be allowed.
    pub async fn poll_push(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
    ) -> Result<PushPoll, Rejected> {
        crate::observe::operation("poll_push", Some(user), async {
            let now = self.clock.now();
            match self.poll_inner(user, ticket, now).await {
                Ok(poll) => Ok(poll),
                Err(failure) => Err(self.reject(now, Some(user), failure).await),
            }
        })
        .await
    }

    async fn poll_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        now: DateTime<Utc>,
    ) -> Result<PushPoll, Failure> {
        let records = self.stores.unit.load_login(&self.stores, ticket, user);
        let (pending, loaded, company) = usable_login(records.await?, user, now)?;
        let LoginStage::Challenge { method, .. } = *pending.record.stage() else {
            return Err(not_approved());
        };
        let enrollment = self.open(&loaded.record)?;
        match login_request(&enrollment, ticket)?.status(now) {
            PushStatus::Pending { expires_at } => Ok(PushPoll::Waiting { expires_at }),
            PushStatus::Approved { .. } => {
                let attempt = LoginAttempt::Push { method };
                let loaded = First::loaded(loaded);
                let step = self
                    .verify_challenge(ticket, pending, loaded, &company, &attempt, now)
                    .await?;
                match step {
                    LoginStep::Allowed(allowed) => Ok(PushPoll::Allowed(allowed)),
                    LoginStep::SetUp(screen) => Ok(PushPoll::SetUp(screen)),
                    LoginStep::Challenge(_) => Err(not_approved()),
                }
            }
            _ => Err(not_approved()),
        }
    }
}
