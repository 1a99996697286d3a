//! The send budget at the service: the store of its counters, shared by
//! every server, and the one charge every send goes through before it is
//! sent.
//!
//! Whether a send may go is decided by `twofa_delivery`'s
//! [`SendBudgetPolicy`]: it names the counters to charge, each with its
//! window and limit. A [`SendCounterStore`] charges all of them or none, as
//! one atomic operation, so that the limits are exact however many servers
//! send at once; it compares numbers and knows no rule.

use std::fmt;

use chrono::{DateTime, Utc};
use twofa_delivery::PhoneNumber;
use twofa_delivery::{
    BudgetDecision, BudgetExhausted, ChallengeId, Charges, GeoRefused, OobChallenge,
    OutboundMessage, Purpose, SendBudgetPolicy, SendKind, SendRequest,
};
use twofa_enrollment::{Enrollment, EnrollmentState, PendingKind};
use twofa_types::{Channel, UserId};

use crate::audit::{AuditEvent, RejectionDetail};
use crate::failure::Failure;
use crate::records::CompanyRecord;
use crate::service::Twofa;
use crate::steps::RetryAdvice;
use crate::store::{StoreError, StoreFuture};

/// The counters of the send budget: one number per counter key and window.
///
/// - `charge(charges, now)` looks at every counter of `charges`
///   ([`Charges::counters`]; a counter not stored, or whose window ended at
///   or before `now`, counts 0). When every count is below its counter's
///   limit it adds 1 to each and answers [`BudgetDecision::Allowed`];
///   otherwise it changes nothing and answers the refusal
///   ([`Charges::decide`] on the counts, or [`Charges::refused_by`] the first
///   counter found at its limit). All of it is one atomic operation: of
///   concurrent charges against a counter with `n` left, exactly `n`
///   succeed.
/// - `purge_expired(now)` forgets every counter whose window ended at or
///   before `now`, and returns how many.
///
/// A store takes the counters in the order given (key order), so that two
/// charges never wait on each other.
pub trait SendCounterStore: Send + Sync + fmt::Debug {
    /// Charges every counter of `charges`, or none.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails; nothing is charged then (and
    /// the service sends nothing).
    fn charge<'a>(
        &'a self,
        charges: &'a Charges,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, Result<BudgetDecision, StoreError>>;

    /// Forgets the counters whose window ended at or before `now`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails; nothing is removed then.
    fn purge_expired<'a>(&'a self, now: DateTime<Utc>) -> StoreFuture<'a, Result<u64, StoreError>>;
}

/// Why the budget let a send not go.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SendRefusal {
    Exhausted(BudgetExhausted),
    Geo(GeoRefused),
    Store(StoreError),
}

impl SendRefusal {
    /// What the caller of a code or push send gets.
    pub(crate) fn failure(self, kind: SendKind) -> Failure {
        match self {
            Self::Exhausted(exhausted) => Failure::new(
                RejectionDetail::SendBudgetExhausted {
                    scope: exhausted.scope,
                },
                RetryAdvice::TryAnotherMethodOrLater,
            ),
            // A number typed at set-up or for a change: the user types
            // another one (or picks the app). A number already enrolled:
            // another method.
            Self::Geo(_) => Failure::new(
                RejectionDetail::CountryNotAllowed,
                match kind {
                    SendKind::SetUpCode | SendKind::NumberChangeCode => RetryAdvice::CheckInput,
                    _ => RetryAdvice::TryAnotherMethodOrLater,
                },
            ),
            Self::Store(error) => Failure::from(error),
        }
    }
}

impl Twofa {
    /// Charges the send budget for `request`, before anything is sent:
    /// the geo check, then every counter at once. A refusal is audited,
    /// logged and counted here; the caller sends nothing.
    pub(crate) async fn charge_budget(
        &self,
        request: &SendRequest<'_>,
        company: &CompanyRecord,
        now: DateTime<Utc>,
    ) -> Result<(), SendRefusal> {
        let countries = company.policy().phone_countries();
        let refusal = match self
            .send_budget
            .charges(request, &countries, &self.server_key, now)
        {
            Err(geo) => SendRefusal::Geo(geo),
            Ok(charges) => match self.stores.counters.charge(&charges, now).await {
                Ok(BudgetDecision::Exhausted(exhausted)) => SendRefusal::Exhausted(exhausted),
                // Anything else a future store may answer refuses too.
                Ok(BudgetDecision::Allowed) => return Ok(()),
                Ok(_) => SendRefusal::Store(StoreError::Corrupt),
                Err(error) => SendRefusal::Store(error),
            },
        };
        self.report_refusal(
            (request.kind(), request.channel()),
            request.user(),
            company,
            refusal,
            now,
        )
        .await;
        Err(refusal)
    }

    /// Refuses a number typed at set-up or for a change whose country code
    /// the service or the company does not send to, before anything else
    /// is done with it (no carrier lookup, no code): the user is asked for
    /// another number ([`RetryAdvice::CheckInput`]). The same check runs
    /// again in the charge of every send.
    pub(crate) async fn check_country(
        &self,
        number: &PhoneNumber,
        (kind, channel): (SendKind, Channel),
        company: &CompanyRecord,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<(), Failure> {
        let countries = company.policy().phone_countries();
        let Err(geo) = self.send_budget.geo().check(number, &countries) else {
            return Ok(());
        };
        let refusal = SendRefusal::Geo(geo);
        self.report_refusal((kind, channel), user, company, refusal, now)
            .await;
        Err(refusal.failure(kind))
    }

    /// Logs, counts and audits a refused send.
    async fn report_refusal(
        &self,
        (what, channel): (SendKind, Channel),
        user: &UserId,
        company: &CompanyRecord,
        refusal: SendRefusal,
        now: DateTime<Utc>,
    ) {
        crate::observe::send_refused(what, channel, &refusal);
        let event = match refusal {
            SendRefusal::Exhausted(exhausted) => Some(AuditEvent::SendBudgetExhausted {
                what,
                channel,
                scope: exhausted.scope,
                frees_at: exhausted.frees_at,
            }),
            SendRefusal::Geo(geo) => Some(AuditEvent::SendCountryRefused {
                what,
                channel,
                country: geo.country(),
            }),
            // The refusal the caller audits says it: the store failed.
            SendRefusal::Store(_) => None,
        };
        if let Some(event) = event {
            self.audit_best_effort(now, company.company(), user, event)
                .await;
        }
    }

    /// The service's send budget.
    #[must_use]
    pub fn send_budget(&self) -> &SendBudgetPolicy {
        &self.send_budget
    }
}

/// What a code message is, read from the record it will be saved with:
/// the purpose of its challenge, and whether it was sent before.
pub(crate) fn code_kind(record: &Enrollment, message: &OutboundMessage) -> SendKind {
    let id = match message {
        OutboundMessage::Sms(sms) => sms.challenge,
        OutboundMessage::Voice(voice) => voice.challenge,
        OutboundMessage::Email(email) => email.challenge,
    };
    let Some(challenge) = find_challenge(record, id) else {
        return SendKind::LoginCode;
    };
    if challenge.sends() > 1 {
        return SendKind::Resend;
    }
    match challenge.purpose() {
        Purpose::Enrollment => SendKind::SetUpCode,
        Purpose::VerifyNewDestination => SendKind::NumberChangeCode,
        _ => SendKind::LoginCode,
    }
}

fn find_challenge(record: &Enrollment, id: ChallengeId) -> Option<&OobChallenge> {
    let candidates: [Option<&OobChallenge>; 2] = match record.state() {
        EnrollmentState::Pending(pending) => [phone(pending.kind()), None],
        EnrollmentState::Enrolled(enrolled) => [
            enrolled.login_challenge(),
            enrolled.pending_change().and_then(|p| phone(p.kind())),
        ],
        _ => [None, None],
    };
    candidates
        .into_iter()
        .flatten()
        .find(|challenge| challenge.id() == id)
}

fn phone(kind: &PendingKind) -> Option<&OobChallenge> {
    match kind {
        PendingKind::Phone { challenge, .. } => Some(challenge),
        _ => None,
    }
}

/// The channel label of a refused send, for logs and metrics.
pub(crate) fn refusal_label(refusal: &SendRefusal) -> &'static str {
    match refusal {
        SendRefusal::Exhausted(_) => "budget_exhausted",
        SendRefusal::Geo(_) => "country_refused",
        SendRefusal::Store(_) => "budget_store_failed",
    }
}
