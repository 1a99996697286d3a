//! Delivery receipts: what a provider reports, after accepting a message,
//! about whether it reached the phone.
//!
//! A provider accepts a text message or a call at once and reports its fate
//! later (through a status callback). The adapter of each provider maps its
//! own statuses onto [`DeliveryStatus`]; [`OobChallenge::with_receipt`]
//! records the outcome in the challenge, so the verification screen can
//! offer another channel when a code did not arrive.
//!
//! [`OobChallenge::with_receipt`]: crate::OobChallenge::with_receipt

use crate::ids::ChallengeId;

/// How far a message got, as its provider reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum DeliveryStatus {
    /// Accepted, queued, sent to the carrier or ringing: no outcome yet.
    InProgress,
    /// The carrier confirmed delivery, or the call was answered.
    Delivered,
    /// The message could not be delivered, or the call was not answered
    /// (busy, no answer, failed, canceled).
    Undelivered,
}

/// A provider's report on the message of one challenge.
///
/// Built by a provider adapter from a status callback that it has
/// authenticated; it carries no phone number and no message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DeliveryReceipt {
    /// The challenge the message belonged to.
    pub challenge: ChallengeId,
    /// What the provider reports.
    pub status: DeliveryStatus,
}

impl DeliveryReceipt {
    /// A receipt reporting `status` for the message of `challenge`.
    #[must_use]
    pub fn new(challenge: ChallengeId, status: DeliveryStatus) -> Self {
        Self { challenge, status }
    }
}
