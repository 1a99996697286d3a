//! Sending a code: the caller's request, the first issue and every re-send,
//! the rendered message awaiting commit, and why either was refused.

use chrono::{DateTime, TimeDelta, Utc};
use rand_core::CryptoRng;
use twofa_types::{Channel, CodeChannel, UserId};

use super::code::{code_mac, generate_code};
use super::{ChallengeState, OobChallenge, Purpose};
use crate::destination::{Destination, EmailAddress};
use crate::ids::ChallengeId;
use crate::message::{EmailMessage, MessageTemplates, OutboundMessage, SmsMessage, VoiceMessage};
use crate::policy::ChallengePolicy;
use crate::secret::{OobCode, ServerKey};

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
            undelivered: false,
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
    /// grows by one; the new code expires one lifetime after `now`; an
    /// earlier "undelivered" receipt no longer counts.
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
        // A fresh send has no receipt yet.
        record.undelivered = false;
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
                user: self.user.clone(),
                to,
                body: templates.render_sms(code, lifetime),
            }),
            (CodeChannel::VoiceCall, Destination::Phone(to)) => {
                OutboundMessage::Voice(VoiceMessage {
                    challenge,
                    user: self.user.clone(),
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
}
