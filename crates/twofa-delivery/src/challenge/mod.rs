//! Out-of-band one-time code challenges: issue, re-send, check.
//!
//! ```text
//!                 issue ──► PreparedSend ──commit──► Pending ─┬─ check(right code) ──► Used
//!                                                    ▲   │    ├─ check(wrong code) ──► Pending (failed_checks + 1)
//!                          resend (fresh code, ──────┘   │    └─ (failed_checks = max) ── every check refused
//!                          same failed_checks)  ◄────────┘
//! ```
//!
//! A challenge record never holds the plain code, only
//! HMAC-SHA-256(server key, challenge id, user, purpose, code). Every
//! transition takes the current record by reference and returns a new one,
//! so a caller that does not save the result (for instance because the
//! message could not be sent) keeps the record exactly as it was.
//!
//! This module holds the record and checking a code against it; issuing and
//! re-sending live in `issue`, the code and its keyed hash in `code`.

mod code;
mod issue;

use chrono::{DateTime, Utc};
use code::{CodeMac, normalise_candidate};
use twofa_types::{CodeChannel, UserId};

use crate::destination::{Destination, EmailAddress};
use crate::ids::{ChallengeId, TransactionId};
use crate::policy::{ChallengePolicy, CodeLength};
use crate::receipt::{DeliveryReceipt, DeliveryStatus};
use crate::secret::{OobCode, ServerKey};

pub use issue::{
    ChallengeRequest, IssueError, PreparedSend, ResendError, ResendOption, ResendPlan,
};

/// What a challenge is for. Part of the code MAC: a code issued for one
/// purpose never completes another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Purpose {
    /// Proving possession of the destination while setting up 2FA.
    Enrollment,
    /// Proving possession of a new phone number or address before it
    /// replaces the old one.
    VerifyNewDestination,
    /// The second factor of one login.
    Login {
        /// The login transaction the code approves.
        transaction: TransactionId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
enum ChallengeState {
    /// A code has been sent and may be checked.
    Pending {
        code_mac: CodeMac,
        code_length: CodeLength,
        expires_at: DateTime<Utc>,
    },
    /// The code was accepted; nothing more can happen.
    Used { used_at: DateTime<Utc> },
}

/// The state of a challenge at an instant, for display and decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChallengeStatus {
    /// A code is outstanding and may be checked until `expires_at`
    /// (exclusive).
    Active {
        /// The first instant the code is refused.
        expires_at: DateTime<Utc>,
    },
    /// The latest code has expired; a re-send may issue a fresh one.
    Expired {
        /// The instant it expired.
        expired_at: DateTime<Utc>,
    },
    /// Too many wrong checks: every further check is refused.
    Locked,
    /// The code was accepted.
    Used {
        /// When.
        used_at: DateTime<Utc>,
    },
}

/// An out-of-band code challenge: the record to persist.
///
/// It holds the binding (user, purpose, destination), the counters and the
/// keyed hash of the latest code, never the code. `Debug` masks the
/// destination and redacts the hash; the serde form (feature `serde`) holds
/// the hash and the full destination, as a store must, and never the code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OobChallenge {
    id: ChallengeId,
    user: UserId,
    purpose: Purpose,
    destination: Destination,
    fallback_email: Option<EmailAddress>,
    channel: CodeChannel,
    issued_at: DateTime<Utc>,
    last_sent_at: DateTime<Utc>,
    sends: u32,
    failed_checks: u32,
    state: ChallengeState,
    /// Whether the provider reported the latest send undelivered. Records
    /// saved before receipts existed have no such field: not reported.
    #[cfg_attr(feature = "serde", serde(default))]
    undelivered: bool,
}

/// A code was accepted. Save [`Verified::record`] (now used, so the code
/// cannot be accepted again) before acting on the success.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Verified {
    record: OobChallenge,
}

impl Verified {
    /// The updated record, in the used state.
    pub fn record(&self) -> &OobChallenge {
        &self.record
    }

    /// The updated record, in the used state.
    pub fn into_record(self) -> OobChallenge {
        self.record
    }

    /// Whom the code verified.
    pub fn user(&self) -> &UserId {
        &self.record.user
    }

    /// What the code was for.
    pub fn purpose(&self) -> &Purpose {
        &self.record.purpose
    }
}

/// Detailed reason a check was refused, for the audit trail only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditReason {
    /// The code did not match; the record now counts `failed_checks`.
    WrongCode {
        /// Wrong checks so far, this one included.
        failed_checks: u32,
    },
    /// The code expired at `expired_at`; the check was not evaluated.
    Expired {
        /// When the code expired.
        expired_at: DateTime<Utc>,
    },
    /// The challenge had already reached its limit of wrong checks; the
    /// check was not evaluated.
    TooManyFailedChecks,
    /// The challenge was already used.
    AlreadyUsed,
    /// The input was not a code of the expected length; not counted.
    Malformed,
}

/// What to tell the end user: deliberately coarse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndUserReason {
    /// "That code is not right; try again."
    IncorrectCode,
    /// "This code can no longer be used; request a new one." (expired,
    /// used, or too many attempts)
    NewCodeNeeded,
}

/// A check was refused. Save [`CheckRejected::record`]: a wrong code has
/// been counted in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("verification code not accepted")]
#[must_use]
pub struct CheckRejected {
    // Boxed: the record is large and this is the error side of a Result.
    record: Box<OobChallenge>,
    reason: AuditReason,
    max_failed_checks: u32,
}

impl CheckRejected {
    /// The record to save (unchanged unless a wrong code was counted).
    pub fn record(&self) -> &OobChallenge {
        &self.record
    }

    /// The record to save.
    pub fn into_record(self) -> OobChallenge {
        *self.record
    }

    /// The detailed reason, for the audit trail.
    pub fn audit_reason(&self) -> AuditReason {
        self.reason
    }

    /// The coarse reason, for the user: a wrong or malformed code with
    /// checks left is [`EndUserReason::IncorrectCode`], anything else
    /// [`EndUserReason::NewCodeNeeded`].
    pub fn end_user_reason(&self) -> EndUserReason {
        match self.reason {
            AuditReason::WrongCode { failed_checks } if failed_checks < self.max_failed_checks => {
                EndUserReason::IncorrectCode
            }
            AuditReason::Malformed => EndUserReason::IncorrectCode,
            _ => EndUserReason::NewCodeNeeded,
        }
    }
}

impl OobChallenge {
    /// Checks a code typed by the user, in constant time.
    ///
    /// The code is valid while `now < expires_at`; at `expires_at` it is
    /// expired. Spaces and hyphens in `candidate` are ignored. Refused
    /// without evaluation: a used challenge, one that already counts
    /// `max_failed_checks` wrong checks, an expired code, and input that is
    /// not a code of the right length (not counted as a wrong check).
    ///
    /// # Errors
    ///
    /// [`CheckRejected`] carries the record to save (a wrong code is
    /// counted in it) and the reasons for the user and the audit trail.
    pub fn check(
        &self,
        candidate: &str,
        policy: &ChallengePolicy,
        key: &ServerKey,
        now: DateTime<Utc>,
    ) -> Result<Verified, CheckRejected> {
        let reject = |record: Self, reason| CheckRejected {
            record: Box::new(record),
            reason,
            max_failed_checks: policy.max_failed_checks(),
        };
        let (code_mac, code_length, expires_at) = match &self.state {
            ChallengeState::Used { .. } => {
                return Err(reject(self.clone(), AuditReason::AlreadyUsed));
            }
            ChallengeState::Pending {
                code_mac,
                code_length,
                expires_at,
            } => (code_mac, *code_length, *expires_at),
        };
        if self.failed_checks >= policy.max_failed_checks() {
            return Err(reject(self.clone(), AuditReason::TooManyFailedChecks));
        }
        if now >= expires_at {
            return Err(reject(
                self.clone(),
                AuditReason::Expired {
                    expired_at: expires_at,
                },
            ));
        }
        let Some(digits) = normalise_candidate(candidate, code_length) else {
            return Err(reject(self.clone(), AuditReason::Malformed));
        };
        let candidate_mac = self.code_mac(key, &OobCode::new(digits));
        let mut record = self.clone();
        if candidate_mac == *code_mac {
            record.state = ChallengeState::Used { used_at: now };
            Ok(Verified { record })
        } else {
            record.failed_checks = self.failed_checks.saturating_add(1);
            let failed_checks = record.failed_checks;
            Err(reject(record, AuditReason::WrongCode { failed_checks }))
        }
    }

    /// The state at `now`.
    #[must_use]
    pub fn status(&self, policy: &ChallengePolicy, now: DateTime<Utc>) -> ChallengeStatus {
        match self.state {
            ChallengeState::Used { used_at } => ChallengeStatus::Used { used_at },
            ChallengeState::Pending { .. } if self.failed_checks >= policy.max_failed_checks() => {
                ChallengeStatus::Locked
            }
            ChallengeState::Pending { expires_at, .. } if now >= expires_at => {
                ChallengeStatus::Expired {
                    expired_at: expires_at,
                }
            }
            ChallengeState::Pending { expires_at, .. } => ChallengeStatus::Active { expires_at },
        }
    }

    /// The first instant a re-send is allowed, or `None` when the send cap
    /// is reached or the challenge is used.
    #[must_use]
    pub fn next_send_at(&self, policy: &ChallengePolicy) -> Option<DateTime<Utc>> {
        match self.state {
            ChallengeState::Used { .. } => None,
            ChallengeState::Pending { .. } if self.sends >= policy.max_sends() => None,
            ChallengeState::Pending { .. } => self
                .last_sent_at
                .checked_add_signed(policy.resend_cooldown()),
        }
    }

    /// The challenge id.
    #[must_use]
    pub fn id(&self) -> ChallengeId {
        self.id
    }

    /// The user the challenge is bound to.
    #[must_use]
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// What the challenge is for.
    #[must_use]
    pub fn purpose(&self) -> &Purpose {
        &self.purpose
    }

    /// The destination it was issued for.
    #[must_use]
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// The user's email for re-sends of a phone challenge, if given.
    #[must_use]
    pub fn fallback_email(&self) -> Option<&EmailAddress> {
        self.fallback_email.as_ref()
    }

    /// The channel of the latest send.
    #[must_use]
    pub fn channel(&self) -> CodeChannel {
        self.channel
    }

    /// When the challenge was first sent.
    #[must_use]
    pub fn issued_at(&self) -> DateTime<Utc> {
        self.issued_at
    }

    /// When the latest code was sent.
    #[must_use]
    pub fn last_sent_at(&self) -> DateTime<Utc> {
        self.last_sent_at
    }

    /// Sends so far, the first included.
    #[must_use]
    pub fn sends(&self) -> u32 {
        self.sends
    }

    /// Wrong checks so far.
    #[must_use]
    pub fn failed_checks(&self) -> u32 {
        self.failed_checks
    }

    /// Records a provider's delivery receipt, and returns the record to
    /// save.
    ///
    /// Only a receipt for this challenge's id that reports
    /// [`DeliveryStatus::Undelivered`] changes anything: the challenge then
    /// reports [`OobChallenge::undelivered`] until the next re-send. A
    /// receipt for another challenge, or one that reports progress or
    /// delivery, leaves the record as it is.
    ///
    /// A receipt names the challenge, not one send of it: a late
    /// "undelivered" about an earlier send that arrives after a re-send
    /// marks the re-sent code too. The flag is advice for the verification
    /// screen (offer another channel), never a reason to accept or refuse
    /// a code.
    ///
    /// # Security
    ///
    /// Build the receipt only from a callback whose origin was checked
    /// (for instance by the provider's request signature): anyone else
    /// could report a delivered code as undelivered.
    #[must_use]
    pub fn with_receipt(&self, receipt: &DeliveryReceipt) -> Self {
        let mut record = self.clone();
        if receipt.challenge == self.id && receipt.status == DeliveryStatus::Undelivered {
            record.undelivered = true;
        }
        record
    }

    /// Whether the provider reported the latest send undelivered (see
    /// [`OobChallenge::with_receipt`]).
    #[must_use]
    pub fn undelivered(&self) -> bool {
        self.undelivered
    }

    /// When the latest code expires (`None` once used).
    #[must_use]
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        match self.state {
            ChallengeState::Pending { expires_at, .. } => Some(expires_at),
            ChallengeState::Used { .. } => None,
        }
    }
}
