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

use core::fmt;
use core::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::destination::{Destination, EmailAddress};
use crate::message::{EmailMessage, MessageTemplates, OutboundMessage, SmsMessage, VoiceMessage};
use twofa_types::{CodeChannel, UserId};

use crate::policy::{ChallengePolicy, Channel, CodeLength};
use crate::secret::{OobCode, ServerKey};

/// Longest accepted transaction identifier, in bytes.
pub const MAX_IDENTIFIER_LEN: usize = 128;

/// Domain separation for the code MAC, so a MAC computed here can never be
/// mistaken for one computed by another use of the same key.
const MAC_LABEL: &[u8] = b"twofa-delivery/oob-code/v1";

/// Why an identifier was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifierError {
    /// Empty, or longer than [`MAX_IDENTIFIER_LEN`] bytes.
    #[error("identifier must be 1 to {max} bytes")]
    Length {
        /// The longest accepted length.
        max: usize,
    },
    /// Contains a control character or whitespace.
    #[error("identifier contains a control character or whitespace")]
    Character,
    /// A challenge id that is not 32 lower- or upper-case hex digits.
    #[error("challenge id must be 32 hex digits")]
    ChallengeIdFormat,
}

fn check_identifier(text: &str) -> Result<(), IdentifierError> {
    if text.is_empty() || text.len() > MAX_IDENTIFIER_LEN {
        return Err(IdentifierError::Length {
            max: MAX_IDENTIFIER_LEN,
        });
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(IdentifierError::Character);
    }
    Ok(())
}

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(
            feature = "serde",
            derive(serde::Serialize, serde::Deserialize),
            serde(try_from = "String", into = "String")
        )]
        pub struct $name {
            id: String,
        }

        impl $name {
            /// Validates an identifier: 1 to 128 bytes, no whitespace or
            /// control characters.
            ///
            /// # Errors
            ///
            /// [`IdentifierError`] otherwise.
            pub fn new(id: &str) -> Result<Self, IdentifierError> {
                check_identifier(id)?;
                Ok(Self { id: id.to_owned() })
            }

            /// The identifier.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.id
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.id)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdentifierError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                check_identifier(&value)?;
                Ok(Self { id: value })
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.id
            }
        }
    };
}

opaque_id!(
    /// The application's opaque identifier of the login transaction a code
    /// approves, so a code issued for one login cannot complete another.
    TransactionId
);

/// A random 128-bit challenge or push-request identifier, printed as 32
/// lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub struct ChallengeId {
    bytes: [u8; 16],
}

impl ChallengeId {
    /// Draws a fresh identifier from `rng`.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self { bytes }
    }

    /// The raw bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.bytes
    }
}

impl fmt::Display for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.bytes {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChallengeId({self})")
    }
}

impl FromStr for ChallengeId {
    type Err = IdentifierError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let raw = s.as_bytes();
        if raw.len() != 32 {
            return Err(IdentifierError::ChallengeIdFormat);
        }
        let mut bytes = [0u8; 16];
        for (out, pair) in bytes.iter_mut().zip(raw.chunks_exact(2)) {
            let text =
                core::str::from_utf8(pair).map_err(|_| IdentifierError::ChallengeIdFormat)?;
            if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(IdentifierError::ChallengeIdFormat);
            }
            *out = u8::from_str_radix(text, 16).map_err(|_| IdentifierError::ChallengeIdFormat)?;
        }
        Ok(Self { bytes })
    }
}

impl TryFrom<String> for ChallengeId {
    type Error = IdentifierError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ChallengeId> for String {
    fn from(value: ChallengeId) -> Self {
        value.to_string()
    }
}

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

impl Purpose {
    fn mac_parts(&self) -> (&'static [u8], &[u8]) {
        match self {
            Self::Enrollment => (b"enrollment", b""),
            Self::VerifyNewDestination => (b"verify-new-destination", b""),
            Self::Login { transaction } => (b"login", transaction.as_str().as_bytes()),
        }
    }
}

/// HMAC-SHA-256 of a code. Compared only in constant time; `Debug` prints
/// `[REDACTED]` so records can be logged without handing out a value an
/// attacker could brute-force offline if the key leaked too.
#[derive(Clone)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
struct CodeMac {
    mac: [u8; 32],
}

impl PartialEq for CodeMac {
    fn eq(&self, other: &Self) -> bool {
        self.mac.ct_eq(&other.mac).into()
    }
}

impl Eq for CodeMac {}

impl fmt::Debug for CodeMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(feature = "serde")]
impl TryFrom<String> for CodeMac {
    type Error = IdentifierError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let raw = value.as_bytes();
        if raw.len() != 64 || !raw.iter().all(u8::is_ascii_hexdigit) {
            return Err(IdentifierError::ChallengeIdFormat);
        }
        let mut mac = [0u8; 32];
        for (out, pair) in mac.iter_mut().zip(raw.chunks_exact(2)) {
            let text =
                core::str::from_utf8(pair).map_err(|_| IdentifierError::ChallengeIdFormat)?;
            *out = u8::from_str_radix(text, 16).map_err(|_| IdentifierError::ChallengeIdFormat)?;
        }
        Ok(Self { mac })
    }
}

#[cfg(feature = "serde")]
impl From<CodeMac> for String {
    fn from(value: CodeMac) -> Self {
        value.mac.iter().map(|b| format!("{b:02x}")).collect()
    }
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

/// What the caller asks a challenge for: who, why, where and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRequest {
    user: UserId,
    purpose: Purpose,
    destination: Destination,
    channel: CodeChannel,
    fallback_email: Option<EmailAddress>,
}

impl ChallengeRequest {
    /// A request to send a code for `purpose` to `destination` through
    /// `channel` (SMS or voice for a phone, email for an address).
    #[must_use]
    pub fn new(
        user: UserId,
        purpose: Purpose,
        destination: Destination,
        channel: CodeChannel,
    ) -> Self {
        Self {
            user,
            purpose,
            destination,
            channel,
            fallback_email: None,
        }
    }

    /// The user's own email address, to which codes of a phone challenge
    /// may be re-sent with [`CodeChannel::Email`], as the portal's
    /// verification dialog offers.
    #[must_use]
    pub fn with_fallback_email(mut self, email: EmailAddress) -> Self {
        self.fallback_email = Some(email);
        self
    }
}

/// Why a challenge could not be issued. Nothing was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The policy has switched this channel off.
    #[error("channel {channel} is disabled by policy")]
    ChannelDisabled {
        /// The refused channel.
        channel: Channel,
    },
    /// The channel cannot reach the destination (SMS or voice to an email
    /// address, email to a phone).
    #[error("channel {channel} cannot reach this kind of destination")]
    ChannelDestinationMismatch {
        /// The refused channel.
        channel: CodeChannel,
    },
    /// `now` plus the lifetime is outside the representable time range.
    #[error("time out of range")]
    TimeOutOfRange,
}

/// Why a re-send was refused. The challenge is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ResendError {
    /// The policy has switched this channel off.
    #[error("channel {channel} is disabled by policy")]
    ChannelDisabled {
        /// The refused channel.
        channel: Channel,
    },
    /// The challenge has no destination this channel can reach (email for a
    /// phone challenge without a fallback email, SMS or voice for an email
    /// challenge).
    #[error("no destination for channel {channel}")]
    NoDestinationForChannel {
        /// The refused channel.
        channel: CodeChannel,
    },
    /// Too soon after the previous send.
    #[error("a code was sent moments ago; retry after {retry_after}")]
    CooldownActive {
        /// The first instant a re-send is accepted.
        retry_after: DateTime<Utc>,
    },
    /// The challenge has been sent the maximum number of times.
    #[error("send cap of {max_sends} reached for this challenge")]
    SendCapReached {
        /// The cap.
        max_sends: u32,
    },
    /// The code was already accepted.
    #[error("challenge already used")]
    AlreadyUsed,
    /// The challenge reached its limit of wrong checks; a fresh code would
    /// not make it checkable again.
    #[error("challenge locked after too many failed checks")]
    Locked,
    /// `now` plus the lifetime is outside the representable time range.
    #[error("time out of range")]
    TimeOutOfRange,
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

/// The button a user pressed in the "re-send code" part of the
/// verification dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResendOption {
    /// Send a new code by text message.
    Sms,
    /// Call and read a new code.
    Voice,
    /// Email a new code.
    Email,
    /// The user enrolled an authenticator or push app.
    App,
}

/// What a re-send request means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResendPlan {
    /// Nothing to send: the app shows a new code by itself; tell the user
    /// to read it from the device.
    ReadYourDevice,
    /// Call [`OobChallenge::resend`] with this channel.
    FreshCode(CodeChannel),
}

impl ResendOption {
    /// What to do for this option.
    #[must_use]
    pub fn plan(self) -> ResendPlan {
        match self {
            Self::Sms => ResendPlan::FreshCode(CodeChannel::Sms),
            Self::Voice => ResendPlan::FreshCode(CodeChannel::VoiceCall),
            Self::Email => ResendPlan::FreshCode(CodeChannel::Email),
            Self::App => ResendPlan::ReadYourDevice,
        }
    }
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
}

/// A challenge with its message, not yet committed.
///
/// Send [`PreparedSend::message`] through the channel adapter; only when
/// that succeeds call [`PreparedSend::commit`] and save the record it
/// returns. If sending fails, drop this value: the previous record (or no
/// record, for a first issue) stays exactly as it was, no send is counted
/// and no code is considered delivered.
#[derive(Debug)]
#[must_use = "send the message, then commit the record"]
pub struct PreparedSend {
    record: OobChallenge,
    message: OutboundMessage,
    code: OobCode,
}

impl PreparedSend {
    /// The message to send.
    pub fn message(&self) -> &OutboundMessage {
        &self.message
    }

    /// The plain code, for an application that renders its own message.
    ///
    /// # Security
    ///
    /// Put it in the message and nowhere else.
    pub fn code(&self) -> &OobCode {
        &self.code
    }

    /// The channel of this send.
    pub fn channel(&self) -> CodeChannel {
        self.record.channel
    }

    /// The challenge id.
    pub fn challenge_id(&self) -> ChallengeId {
        self.record.id
    }

    /// Accepts the send as delivered and returns the record to save.
    pub fn commit(self) -> OobChallenge {
        self.record
    }
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

/// The largest multiple of `modulus` not above 2^64: a 64-bit draw below it,
/// reduced modulo `modulus`, is exactly uniform; draws at or above it are
/// rejected and redrawn (the bias-free method of NIST SP 800-90A Rev. 1
/// §A.5.1 "The Simple Discard Method", applied to a range that is not a
/// power of two).
pub(crate) fn acceptance_bound(modulus: u64) -> u128 {
    let space: u128 = 1u128 << 64;
    let modulus = u128::from(modulus.max(1));
    space.saturating_sub(space % modulus)
}

/// Draws a uniform integer below `modulus` by rejection sampling.
pub(crate) fn uniform_below(modulus: u64, rng: &mut impl CryptoRng) -> u64 {
    let modulus = modulus.max(1);
    let bound = acceptance_bound(modulus);
    loop {
        let draw = rng.next_u64();
        if u128::from(draw) < bound {
            return draw % modulus;
        }
    }
}

fn generate_code(length: CodeLength, rng: &mut impl CryptoRng) -> OobCode {
    let value = uniform_below(length.modulus(), rng);
    let width = usize::from(length.digits());
    OobCode::new(Zeroizing::new(format!("{value:0width$}")))
}

/// Strips the spaces and hyphens people type inside codes and checks the
/// rest is exactly `length` ASCII digits.
fn normalise_candidate(candidate: &str, length: CodeLength) -> Option<Zeroizing<String>> {
    if candidate.len() > 64 {
        return None;
    }
    let digits: Zeroizing<String> = Zeroizing::new(
        candidate
            .chars()
            .filter(|c| *c != ' ' && *c != '-')
            .collect(),
    );
    (digits.len() == usize::from(length.digits()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

impl OobChallenge {
    /// Creates a challenge and renders its first message.
    ///
    /// Nothing exists until [`PreparedSend::commit`]; see [`PreparedSend`].
    ///
    /// # Errors
    ///
    /// [`IssueError`] for a disabled channel, a channel that cannot reach
    /// the destination, or a time out of range.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use rand::SeedableRng;
    /// use twofa_delivery::*;
    /// use twofa_types::{CodeChannel, UserId};
    ///
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    /// let key = ServerKey::generate(&mut rng);
    /// let templates = MessageTemplates::new(Issuer::new("Example Portal")?);
    /// let policy = ChallengePolicy::default();
    /// let now = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
    ///
    /// let phone = PhoneNumber::parse("07400 123456", Region::new("GB")?)?;
    /// let request = ChallengeRequest::new(
    ///     UserId::new("user-42")?,
    ///     Purpose::Enrollment,
    ///     Destination::Phone(phone),
    ///     CodeChannel::Sms,
    /// );
    /// let prepared = OobChallenge::issue(request, &policy, &templates, &key, now, &mut rng)?;
    /// let code = prepared.code().expose_secret().to_owned();
    /// // ... send prepared.message() through an SmsSender, then:
    /// let challenge = prepared.commit();
    ///
    /// let verified = challenge.check(&code, &policy, &key, now).expect("right code");
    /// assert!(matches!(
    ///     verified.record().status(&policy, now),
    ///     ChallengeStatus::Used { .. }
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn issue(
        request: ChallengeRequest,
        policy: &ChallengePolicy,
        templates: &MessageTemplates,
        key: &ServerKey,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<PreparedSend, IssueError> {
        let channel = request.channel;
        if !policy.enabled_channels().contains(channel.into()) {
            return Err(IssueError::ChannelDisabled {
                channel: channel.into(),
            });
        }
        let compatible = matches!(
            (&request.destination, channel),
            (
                Destination::Phone(_),
                CodeChannel::Sms | CodeChannel::VoiceCall
            ) | (Destination::Email(_), CodeChannel::Email)
        );
        if !compatible {
            return Err(IssueError::ChannelDestinationMismatch { channel });
        }
        let expires_at = now
            .checked_add_signed(policy.lifetime())
            .ok_or(IssueError::TimeOutOfRange)?;
        let id = ChallengeId::generate(rng);
        let code = generate_code(policy.code_length(), rng);
        let code_mac = code_mac(key, id, &request.user, &request.purpose, &code);
        let record = Self {
            id,
            user: request.user,
            purpose: request.purpose,
            destination: request.destination,
            fallback_email: request.fallback_email,
            channel,
            issued_at: now,
            last_sent_at: now,
            sends: 1,
            failed_checks: 0,
            state: ChallengeState::Pending {
                code_mac,
                code_length: policy.code_length(),
                expires_at,
            },
        };
        let Some(message) = record.render(channel, &code, policy.lifetime(), templates) else {
            return Err(IssueError::ChannelDestinationMismatch { channel });
        };
        Ok(PreparedSend {
            record,
            message,
            code,
        })
    }

    /// Prepares a fresh code through `channel`, invalidating every earlier
    /// code of this challenge once committed.
    ///
    /// SMS and voice go to the challenge's phone; email goes to the
    /// challenge's address, or for a phone challenge to the fallback email
    /// given at issue. The failed-check count carries over; the send count
    /// grows by one; the new code expires one lifetime after `now`.
    ///
    /// # Errors
    ///
    /// [`ResendError`]; in particular [`ResendError::CooldownActive`] with
    /// the instant a re-send becomes possible (a re-send at exactly that
    /// instant is accepted) and [`ResendError::SendCapReached`].
    pub fn resend(
        &self,
        channel: CodeChannel,
        policy: &ChallengePolicy,
        templates: &MessageTemplates,
        key: &ServerKey,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<PreparedSend, ResendError> {
        if let ChallengeState::Used { .. } = self.state {
            return Err(ResendError::AlreadyUsed);
        }
        if self.failed_checks >= policy.max_failed_checks() {
            return Err(ResendError::Locked);
        }
        if !policy.enabled_channels().contains(channel.into()) {
            return Err(ResendError::ChannelDisabled {
                channel: channel.into(),
            });
        }
        if self.destination_for(channel).is_none() {
            return Err(ResendError::NoDestinationForChannel { channel });
        }
        if self.sends >= policy.max_sends() {
            return Err(ResendError::SendCapReached {
                max_sends: policy.max_sends(),
            });
        }
        let retry_after = self
            .last_sent_at
            .checked_add_signed(policy.resend_cooldown())
            .ok_or(ResendError::TimeOutOfRange)?;
        if now < retry_after {
            return Err(ResendError::CooldownActive { retry_after });
        }
        let expires_at = now
            .checked_add_signed(policy.lifetime())
            .ok_or(ResendError::TimeOutOfRange)?;
        let code = generate_code(policy.code_length(), rng);
        let mut record = self.clone();
        record.channel = channel;
        record.last_sent_at = now;
        record.sends = self.sends.saturating_add(1);
        record.state = ChallengeState::Pending {
            code_mac: record.code_mac(key, &code),
            code_length: policy.code_length(),
            expires_at,
        };
        let Some(message) = record.render(channel, &code, policy.lifetime(), templates) else {
            return Err(ResendError::NoDestinationForChannel { channel });
        };
        Ok(PreparedSend {
            record,
            message,
            code,
        })
    }

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

    /// When the latest code expires (`None` once used).
    #[must_use]
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        match self.state {
            ChallengeState::Pending { expires_at, .. } => Some(expires_at),
            ChallengeState::Used { .. } => None,
        }
    }

    fn destination_for(&self, channel: CodeChannel) -> Option<Destination> {
        match (&self.destination, channel) {
            (Destination::Phone(phone), CodeChannel::Sms | CodeChannel::VoiceCall) => {
                Some(Destination::Phone(phone.clone()))
            }
            (Destination::Email(email), CodeChannel::Email) => {
                Some(Destination::Email(email.clone()))
            }
            (Destination::Phone(_), CodeChannel::Email) => {
                self.fallback_email.clone().map(Destination::Email)
            }
            (Destination::Email(_), CodeChannel::Sms | CodeChannel::VoiceCall) => None,
        }
    }

    fn render(
        &self,
        channel: CodeChannel,
        code: &OobCode,
        lifetime: TimeDelta,
        templates: &MessageTemplates,
    ) -> Option<OutboundMessage> {
        let challenge = self.id;
        Some(match (channel, self.destination_for(channel)?) {
            (CodeChannel::Sms, Destination::Phone(to)) => OutboundMessage::Sms(SmsMessage {
                challenge,
                to,
                body: templates.render_sms(code, lifetime),
            }),
            (CodeChannel::VoiceCall, Destination::Phone(to)) => {
                OutboundMessage::Voice(VoiceMessage {
                    challenge,
                    to,
                    script: templates.render_voice(code, lifetime),
                })
            }
            (CodeChannel::Email, Destination::Email(to)) => {
                let (subject, body) = templates.render_email(code, lifetime);
                OutboundMessage::Email(EmailMessage {
                    challenge,
                    to,
                    subject,
                    body,
                })
            }
            _ => return None,
        })
    }

    fn code_mac(&self, key: &ServerKey, code: &OobCode) -> CodeMac {
        code_mac(key, self.id, &self.user, &self.purpose, code)
    }
}

/// HMAC-SHA-256 over the challenge id, the user, the purpose and the code:
/// the id makes a code of one challenge useless for every other, and the
/// user and purpose make a copied hash useless in another binding.
fn code_mac(
    key: &ServerKey,
    id: ChallengeId,
    user: &UserId,
    purpose: &Purpose,
    code: &OobCode,
) -> CodeMac {
    let (purpose_tag, purpose_data) = purpose.mac_parts();
    CodeMac {
        mac: key.mac(&[
            MAC_LABEL,
            id.as_bytes(),
            user.as_str().as_bytes(),
            purpose_tag,
            purpose_data,
            code.expose_secret().as_bytes(),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::convert::Infallible;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    /// Replays scripted 64-bit values, so the sampler's accept/reject
    /// decisions can be observed exactly.
    struct Scripted(VecDeque<u64>);

    impl rand_core::TryRng for Scripted {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            Ok(u32::try_from(self.0.pop_front().unwrap() >> 32).unwrap())
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            Ok(self.0.pop_front().unwrap())
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            dst.fill(0);
            Ok(())
        }
    }

    impl rand_core::TryCryptoRng for Scripted {}

    #[test]
    fn bound_for_a_million_is_the_largest_multiple_below_two_to_the_64() {
        // 2^64 = 18446744073709551616; 2^64 mod 10^6 = 551616.
        let bound = acceptance_bound(1_000_000);
        assert_eq!(bound, 18_446_744_073_709_000_000);
        assert_eq!(bound % 1_000_000, 0);
        assert_eq!((1u128 << 64) - bound, 551_616);
    }

    #[test]
    fn power_of_two_modulus_accepts_every_draw() {
        assert_eq!(acceptance_bound(1 << 10), 1u128 << 64);
    }

    #[test]
    fn draws_at_or_above_the_bound_are_redrawn() {
        let bound = u64::try_from(acceptance_bound(1_000_000)).unwrap();
        let mut rng = Scripted(VecDeque::from([u64::MAX, bound, bound - 1]));
        // `bound - 1` is the first accepted draw: 18446744073708999999 mod 10^6.
        assert_eq!(uniform_below(1_000_000, &mut rng), 999_999);
        assert!(rng.0.is_empty());

        let mut rng = Scripted(VecDeque::from([bound, 1_234_567]));
        assert_eq!(uniform_below(1_000_000, &mut rng), 234_567);
    }

    #[test]
    fn codes_are_zero_padded_to_their_length() {
        let mut rng = Scripted(VecDeque::from([42]));
        let code = generate_code(CodeLength::new(8).unwrap(), &mut rng);
        assert_eq!(code.expose_secret(), "00000042");
    }

    #[test]
    fn candidates_ignore_spaces_and_hyphens_only() {
        let six = CodeLength::default();
        assert_eq!(
            normalise_candidate("123 456", six).unwrap().as_str(),
            "123456"
        );
        assert_eq!(
            normalise_candidate("123-456", six).unwrap().as_str(),
            "123456"
        );
        assert!(normalise_candidate("12345", six).is_none());
        assert!(normalise_candidate("1234567", six).is_none());
        assert!(normalise_candidate("12345a", six).is_none());
        assert!(normalise_candidate("١٢٣٤٥٦", six).is_none());
        assert!(normalise_candidate(&" ".repeat(100), six).is_none());
    }

    #[test]
    fn challenge_ids_round_trip_through_hex() {
        let id = ChallengeId { bytes: [0xab; 16] };
        assert_eq!(id.to_string(), "ab".repeat(16));
        assert_eq!(id.to_string().parse::<ChallengeId>().unwrap(), id);
        assert!("ab".parse::<ChallengeId>().is_err());
        assert!("zz".repeat(16).parse::<ChallengeId>().is_err());
        assert!("é".repeat(16).parse::<ChallengeId>().is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn bound_is_a_multiple_within_one_modulus_of_two_to_the_64(modulus in 1u64..=10_000_000_000) {
            let bound = acceptance_bound(modulus);
            prop_assert_eq!(bound % u128::from(modulus), 0);
            prop_assert!(bound <= 1u128 << 64);
            prop_assert!((1u128 << 64) - bound < u128::from(modulus));
        }

        #[test]
        fn accepted_draws_reduce_into_range(modulus in 1u64..=10_000_000_000, draw in any::<u64>()) {
            let bound = acceptance_bound(modulus);
            prop_assume!(u128::from(draw) < bound);
            let mut rng = Scripted(VecDeque::from([draw]));
            let value = uniform_below(modulus, &mut rng);
            prop_assert!(value < modulus);
            prop_assert_eq!(value, draw % modulus);
        }
    }
}
