//! A provider's report that a code it accepted never arrived.

use chrono::{DateTime, Utc};
use twofa_delivery::{DeliveryReceipt, DeliveryStatus, OobChallenge};

use super::{Enrollment, EnrollmentState, PendingKind, save};
use crate::audit::AuditKind;
use crate::effect::{Effect, Transition};
use crate::error::EnrollmentError;

impl Enrollment {
    /// Marks the challenge the receipt names as undelivered, wherever it
    /// is outstanding: a set-up, a login or a change of number.
    pub(super) fn delivery_failed(
        &self,
        receipt: &DeliveryReceipt,
        now: DateTime<Utc>,
    ) -> Result<Transition, EnrollmentError> {
        if receipt.status != DeliveryStatus::Undelivered {
            return Err(EnrollmentError::NoCodeOutstanding);
        }
        let mut next = self.clone();
        let marked = match &mut next.state {
            EnrollmentState::Pending(pending) => mark(&mut pending.kind, receipt),
            EnrollmentState::Enrolled(enrolled) => {
                let login = enrolled
                    .login_challenge
                    .as_mut()
                    .is_some_and(|challenge| mark_challenge(challenge, receipt));
                let change = enrolled
                    .change
                    .as_mut()
                    .is_some_and(|pending| mark(&mut pending.kind, receipt));
                login || change
            }
            EnrollmentState::NotEnrolled | EnrollmentState::Deferred { .. } => false,
        };
        if !marked {
            return Err(EnrollmentError::NoCodeOutstanding);
        }
        Ok(save(
            next,
            vec![Effect::Audit(self.audit(AuditKind::CodeUndelivered, now))],
        ))
    }
}

fn mark(kind: &mut PendingKind, receipt: &DeliveryReceipt) -> bool {
    match kind {
        PendingKind::Phone { challenge, .. } => mark_challenge(challenge, receipt),
        _ => false,
    }
}

/// Records the receipt in `challenge` if it names it and it is not marked
/// yet.
fn mark_challenge(challenge: &mut OobChallenge, receipt: &DeliveryReceipt) -> bool {
    if challenge.id() != receipt.challenge || challenge.undelivered() {
        return false;
    }
    *challenge = challenge.with_receipt(receipt);
    true
}
