//! Delivery receipts: a provider's report that a code it accepted did not
//! arrive, recorded so that the verification screen offers another way.

use twofa_delivery::{DeliveryReceipt, DeliveryStatus, OobChallenge};
use twofa_enrollment::{EnrollmentState, Event, PendingKind};
use twofa_types::UserId;

use crate::audit::RejectionDetail;
use crate::login::usable_ticket;
use crate::records::LoginTicket;
use crate::service::Twofa;
use crate::steps::Rejected;
use crate::update::Change;

impl Twofa {
    /// Records a provider's delivery receipt for a code sent to `user`
    /// (the status callback of an SMS or a call, authenticated by the
    /// provider's adapter). Returns whether an outstanding code was marked
    /// undelivered; a receipt that reports progress or delivery, or that
    /// names no outstanding code (an older one, an unknown user), changes
    /// nothing and returns `false`.
    ///
    /// The verification screen then learns it from
    /// [`Twofa::code_undelivered`]; a fresh send of the code clears it.
    ///
    /// # Errors
    ///
    /// [`Rejected`] when the stores fail.
    pub async fn record_delivery(
        &self,
        user: &UserId,
        receipt: &DeliveryReceipt,
    ) -> Result<bool, Rejected> {
        crate::observe::operation("record_delivery", Some(user), async {
            if receipt.status != DeliveryStatus::Undelivered {
                return Ok(false);
            }
            let now = self.clock.now();
            let result = async {
                let record = self.load_user(user).await?.record;
                let company = self.load_company(record.company()).await?.record;
                self.update_enrollment(user, &company, now, |e, ctx, rng| {
                    Change::from(e.apply(Event::DeliveryFailed(*receipt), ctx, now, rng))
                })
                .await
            }
            .await;
            match result {
                Ok(_) => {
                    tracing::warn!(challenge = %receipt.challenge, "code undelivered");
                    Ok(true)
                }
                Err(failure)
                    if matches!(
                        failure.detail,
                        RejectionDetail::WrongStage
                            | RejectionDetail::UnknownUser
                            | RejectionDetail::UnknownCompany
                    ) =>
                {
                    Ok(false)
                }
                Err(failure) => Err(self.reject(now, Some(user), failure).await),
            }
        })
        .await
    }

    /// Whether the code of this login (or of the user's set-up, or change
    /// of number) was reported undelivered: show "the code did not arrive"
    /// and the other ways to answer ("use another method", a re-send by
    /// another channel).
    ///
    /// # Errors
    ///
    /// [`Rejected`] for an unknown, expired or used ticket, or when the
    /// stores fail.
    pub async fn code_undelivered(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
    ) -> Result<bool, Rejected> {
        crate::observe::operation("code_undelivered", Some(user), async {
            let now = self.clock.now();
            let result = async {
                let loaded = self.stores.pending_logins.load(ticket).await?;
                usable_ticket(loaded, user, now)?;
                let record = self.load_user(user).await?.record;
                let enrollment = self.open(&record)?;
                let undelivered = |challenge: Option<&OobChallenge>| {
                    challenge.is_some_and(OobChallenge::undelivered)
                };
                Ok(match enrollment.state() {
                    EnrollmentState::Pending(pending) => undelivered(phone(pending.kind())),
                    EnrollmentState::Enrolled(enrolled) => {
                        undelivered(enrolled.login_challenge())
                            || undelivered(enrolled.pending_change().and_then(|p| phone(p.kind())))
                    }
                    _ => false,
                })
            }
            .await;
            match result {
                Ok(undelivered) => Ok(undelivered),
                Err(failure) => Err(self.reject(now, Some(user), failure).await),
            }
        })
        .await
    }
}

/// The challenge of a phone set-up or change of number.
fn phone(kind: &PendingKind) -> Option<&OobChallenge> {
    match kind {
        PendingKind::Phone { challenge, .. } => Some(challenge),
        _ => None,
    }
}
