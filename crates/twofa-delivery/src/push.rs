//! Push approvals in the style of Authy: a login asks the enrolled app to
//! approve, with number matching and a per-user rate limit.
//!
//! The login page shows a two-digit number; the app shows where the login
//! comes from (application, client address, time) and asks the user to
//! type the number. A blind approval, typed without looking at the login
//! page, is right one time in a hundred, and a wrong number denies the
//! request.
//!
//! ```text
//!   prepare ──► PreparedPush ──commit──► Pending ─┬─ Approve(right number) ──► Approved
//!                                                 ├─ Approve(wrong number) ──► Denied(NumberMismatch)
//!                                                 ├─ Deny ───────────────────► Denied(UserDenied)
//!                                                 └─ (now >= expires_at) ────► reads as Expired
//! ```

use core::fmt;
use core::net::IpAddr;

use chrono::{DateTime, Utc};
use rand_core::CryptoRng;
use twofa_types::{Channel, UserId};

use crate::ids::{ChallengeId, TransactionId, uniform_below};
use crate::policy::PushPolicy;
use crate::template::Issuer;

/// The number shown on the login page that the user must type on the
/// device: two digits, `00` to `99` (a hundred values, so a blind guess is
/// right one time in a hundred). Shown and typed with both digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "u8", into = "u8")
)]
pub struct MatchNumber {
    value: u8,
}

/// A number outside 0 to 99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("match number must be 0 to 99, got {value}")]
#[non_exhaustive]
pub struct MatchNumberOutOfRange {
    /// The value given.
    pub value: u8,
}

impl MatchNumber {
    /// Validates a number the device sent back.
    ///
    /// # Errors
    ///
    /// [`MatchNumberOutOfRange`] above 99.
    pub fn new(value: u8) -> Result<Self, MatchNumberOutOfRange> {
        if value <= 99 {
            Ok(Self { value })
        } else {
            Err(MatchNumberOutOfRange { value })
        }
    }

    /// The number.
    #[must_use]
    pub fn value(self) -> u8 {
        self.value
    }

    /// Reads the number as the user typed it on the device: exactly two
    /// ASCII digits (`"07"`, not `"7"`), surrounding white space ignored.
    ///
    /// # Errors
    ///
    /// [`MatchNumberSyntax`] for anything else.
    pub fn parse(typed: &str) -> Result<Self, MatchNumberSyntax> {
        match typed.trim().as_bytes() {
            [tens @ b'0'..=b'9', ones @ b'0'..=b'9'] => Ok(Self {
                value: (tens - b'0') * 10 + (ones - b'0'),
            }),
            _ => Err(MatchNumberSyntax),
        }
    }

    fn generate(rng: &mut impl CryptoRng) -> Self {
        Self {
            value: u8::try_from(uniform_below(100, rng)).unwrap_or(0),
        }
    }
}

/// A typed match number that is not two digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("type the two digits shown on the login page")]
#[non_exhaustive]
pub struct MatchNumberSyntax;

impl TryFrom<u8> for MatchNumber {
    type Error = MatchNumberOutOfRange;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<MatchNumber> for u8 {
    fn from(value: MatchNumber) -> Self {
        value.value
    }
}

impl fmt::Display for MatchNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.value)
    }
}

/// Why a request was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum DenyReason {
    /// The user pressed "deny".
    UserDenied,
    /// The user approved with a number other than the one shown on the login
    /// page: a sign of a prompt the user did not start.
    NumberMismatch,
}

/// The answer from the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushResponse {
    /// Approve, with the number the user typed.
    Approve {
        /// The typed number.
        number: MatchNumber,
    },
    /// Deny.
    Deny,
}

/// The state of a request at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PushStatus {
    /// Waiting for the device until `expires_at` (exclusive).
    Pending {
        /// The first instant the request is expired.
        expires_at: DateTime<Utc>,
    },
    /// Approved with the right number.
    Approved {
        /// When.
        at: DateTime<Utc>,
    },
    /// Denied.
    Denied {
        /// When.
        at: DateTime<Utc>,
        /// Why.
        reason: DenyReason,
    },
    /// No answer before the expiry.
    Expired {
        /// When it expired.
        expired_at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
enum PushState {
    Pending,
    Approved {
        at: DateTime<Utc>,
    },
    Denied {
        at: DateTime<Utc>,
        reason: DenyReason,
    },
}

/// A transition the request cannot make; the request is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The request was already approved or denied.
    #[error("push request already answered")]
    AlreadyAnswered,
    /// The request expired before the answer.
    #[error("push request expired at {expired_at}")]
    Expired {
        /// When it expired.
        expired_at: DateTime<Utc>,
    },
}

/// Why a push prompt was not prepared; nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum PushPrepareError {
    /// The policy has switched push off.
    #[error("push channel is disabled by policy")]
    ChannelDisabled,
    /// The user already got the maximum number of prompts in the window.
    #[error("too many push prompts; retry after {retry_after}")]
    RateLimited {
        /// The first instant another prompt is allowed.
        retry_after: DateTime<Utc>,
    },
    /// `now` plus the lifetime is outside the representable time range.
    #[error("time out of range")]
    TimeOutOfRange,
}

/// The recent push prompts of one user, for the rate limit. A record to
/// persist next to the user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PushSendLog {
    sent: Vec<DateTime<Utc>>,
}

impl PushSendLog {
    /// An empty log.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The prompts still inside the window at `now`, oldest first.
    #[must_use]
    pub fn recent(&self, policy: &PushPolicy, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        self.sent
            .iter()
            .copied()
            .filter(|sent| in_window(*sent, policy, now))
            .collect()
    }

    /// Admits one more prompt at `now`, or says when the next is allowed.
    ///
    /// A prompt sent at `t` counts against the limit while `now < t +
    /// window`.
    ///
    /// # Errors
    ///
    /// [`PushPrepareError::RateLimited`] with the first instant a prompt is
    /// allowed.
    pub fn admit(&self, policy: &PushPolicy, now: DateTime<Utc>) -> Result<Self, PushPrepareError> {
        let mut recent = self.recent(policy, now);
        let max = usize::try_from(policy.max_prompts()).unwrap_or(usize::MAX);
        if recent.len() >= max {
            // The prompt that frees a slot is the one `max` places from the
            // newest; with the log sorted that is index len - max.
            let freeing = recent
                .get(recent.len().saturating_sub(max))
                .copied()
                .unwrap_or(now);
            let retry_after = freeing
                .checked_add_signed(policy.window())
                .ok_or(PushPrepareError::TimeOutOfRange)?;
            return Err(PushPrepareError::RateLimited { retry_after });
        }
        recent.push(now);
        recent.sort_unstable();
        Ok(Self { sent: recent })
    }
}

fn in_window(sent: DateTime<Utc>, policy: &PushPolicy, now: DateTime<Utc>) -> bool {
    sent.checked_add_signed(policy.window())
        .is_none_or(|end| now < end)
}

/// Where a login that asks for a push approval comes from: what the app
/// shows so that the user can tell their own login from someone else's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushOrigin {
    /// The application the user is logging in to.
    pub application: Issuer,
    /// The client's address, as the login's server resolved it.
    pub client_address: Option<IpAddr>,
}

impl PushOrigin {
    /// A login to `application` from an unknown address.
    #[must_use]
    pub fn new(application: Issuer) -> Self {
        Self {
            application,
            client_address: None,
        }
    }

    /// The client's address.
    #[must_use]
    pub fn with_client_address(mut self, address: IpAddr) -> Self {
        self.client_address = Some(address);
        self
    }
}

/// The notification to deliver to the user's app.
///
/// It carries no match number: the app asks the user to type the number
/// shown on the login page, so that approving needs a look at that page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushMessage {
    /// The request to answer.
    pub request: ChallengeId,
    /// The user whose devices get the prompt.
    pub user: UserId,
    /// Who asks (the application's name).
    pub issuer: Issuer,
    /// The client's address, when known.
    pub client_address: Option<IpAddr>,
    /// When the login asked.
    pub requested_at: DateTime<Utc>,
    /// When the request expires.
    pub expires_at: DateTime<Utc>,
}

/// A push approval request: the record to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PushRequest {
    id: ChallengeId,
    user: UserId,
    transaction: TransactionId,
    match_number: MatchNumber,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    state: PushState,
}

/// A push request with its updated send log and message, not yet
/// committed. Send the message; only on success [`PreparedPush::commit`]
/// and save both records. On failure drop it: the log is unchanged.
#[derive(Debug)]
#[must_use = "send the message, then commit the records"]
pub struct PreparedPush {
    request: PushRequest,
    log: PushSendLog,
    message: PushMessage,
}

impl PreparedPush {
    /// The notification to send.
    pub fn message(&self) -> &PushMessage {
        &self.message
    }

    /// The number to show on the login page.
    pub fn match_number(&self) -> MatchNumber {
        self.request.match_number
    }

    /// Accepts the send: returns the request and the send log to save.
    pub fn commit(self) -> (PushRequest, PushSendLog) {
        (self.request, self.log)
    }
}

/// The request was approved with the right number, before expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct PushApproved {
    /// When it was approved.
    pub at: DateTime<Utc>,
}

/// The request is not (or not yet) approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("push request not approved")]
#[must_use]
#[non_exhaustive]
pub struct PushNotApproved {
    /// The status that is not an approval.
    pub status: PushStatus,
}

impl PushRequest {
    /// Prepares a push prompt for `user`'s login `transaction`, coming from
    /// `origin`.
    ///
    /// # Errors
    ///
    /// [`PushPrepareError::ChannelDisabled`] when the policy switched push
    /// off, [`PushPrepareError::RateLimited`] when the user had
    /// `max_prompts` prompts in the window.
    pub fn prepare(
        user: UserId,
        transaction: TransactionId,
        origin: &PushOrigin,
        policy: &PushPolicy,
        log: &PushSendLog,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<PreparedPush, PushPrepareError> {
        if !policy.enabled_channels().contains(Channel::Push) {
            return Err(PushPrepareError::ChannelDisabled);
        }
        let log = log.admit(policy, now)?;
        let expires_at = now
            .checked_add_signed(policy.lifetime())
            .ok_or(PushPrepareError::TimeOutOfRange)?;
        let id = ChallengeId::generate(rng);
        let match_number = MatchNumber::generate(rng);
        let request = Self {
            id,
            user: user.clone(),
            transaction,
            match_number,
            created_at: now,
            expires_at,
            state: PushState::Pending,
        };
        let message = PushMessage {
            request: id,
            user,
            issuer: origin.application.clone(),
            client_address: origin.client_address,
            requested_at: now,
            expires_at,
        };
        Ok(PreparedPush {
            request,
            log,
            message,
        })
    }

    /// Applies the device's answer at `now`.
    ///
    /// Approving with the wrong number denies the request
    /// ([`DenyReason::NumberMismatch`]): a user guessing gets one try, right
    /// one time in a hundred.
    ///
    /// # Errors
    ///
    /// [`PushError::AlreadyAnswered`] or [`PushError::Expired`] (at or after
    /// `expires_at`); the request is unchanged.
    pub fn respond(&self, response: PushResponse, now: DateTime<Utc>) -> Result<Self, PushError> {
        if self.state != PushState::Pending {
            return Err(PushError::AlreadyAnswered);
        }
        if now >= self.expires_at {
            return Err(PushError::Expired {
                expired_at: self.expires_at,
            });
        }
        let state = match response {
            PushResponse::Approve { number } if number == self.match_number => {
                PushState::Approved { at: now }
            }
            PushResponse::Approve { .. } => PushState::Denied {
                at: now,
                reason: DenyReason::NumberMismatch,
            },
            PushResponse::Deny => PushState::Denied {
                at: now,
                reason: DenyReason::UserDenied,
            },
        };
        Ok(Self {
            state,
            ..self.clone()
        })
    }

    /// The state at `now`.
    #[must_use]
    pub fn status(&self, now: DateTime<Utc>) -> PushStatus {
        match self.state {
            PushState::Approved { at } => PushStatus::Approved { at },
            PushState::Denied { at, reason } => PushStatus::Denied { at, reason },
            PushState::Pending if now >= self.expires_at => PushStatus::Expired {
                expired_at: self.expires_at,
            },
            PushState::Pending => PushStatus::Pending {
                expires_at: self.expires_at,
            },
        }
    }

    /// Whether the login may proceed: only an approval with the right number.
    ///
    /// # Errors
    ///
    /// [`PushNotApproved`] with the current status otherwise.
    pub fn approval(&self, now: DateTime<Utc>) -> Result<PushApproved, PushNotApproved> {
        match self.status(now) {
            PushStatus::Approved { at } => Ok(PushApproved { at }),
            status => Err(PushNotApproved { status }),
        }
    }

    /// The request id.
    #[must_use]
    pub fn id(&self) -> ChallengeId {
        self.id
    }

    /// The user.
    #[must_use]
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The login transaction.
    #[must_use]
    pub fn transaction(&self) -> &TransactionId {
        &self.transaction
    }

    /// The number to show on the login page.
    #[must_use]
    pub fn match_number(&self) -> MatchNumber {
        self.match_number
    }

    /// When the request was created.
    #[must_use]
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// When the request expires.
    #[must_use]
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
}
