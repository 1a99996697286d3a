//! Second-factor methods: what a user can enroll and what an enrolled
//! method keeps.

use core::fmt;

use chrono::{DateTime, Utc};
use twofa_delivery::PhoneNumber;
use twofa_otp::Secret;
use twofa_passkey::{CredentialName, PasskeyCredential};
use twofa_types::{CodeChannel, Method};

/// How codes reach a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PhoneChannel {
    /// Text message.
    Sms,
    /// Phone call.
    Voice,
}

impl PhoneChannel {
    /// The method kind this channel makes.
    #[must_use]
    pub fn kind(self) -> Method {
        match self {
            Self::Sms => Method::Sms,
            Self::Voice => Method::VoiceCall,
        }
    }

    /// The delivery channel.
    #[must_use]
    pub fn code_channel(self) -> CodeChannel {
        match self {
            Self::Sms => CodeChannel::Sms,
            Self::Voice => CodeChannel::VoiceCall,
        }
    }
}

/// The identifier of an enrolled method within one record (1, 2, …; never
/// reused within the record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MethodId(u32);

impl MethodId {
    /// Wraps a number, for instance one read from a form.
    #[must_use]
    pub fn new(id: u32) -> Self {
        Self(id)
    }

    /// The number.
    #[must_use]
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for MethodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// Why a display name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DisplayNameError {
    /// Empty or only white space.
    #[error("display name is empty")]
    Empty,
    /// Longer than [`MAX_DISPLAY_NAME_CHARS`].
    #[error("display name is longer than {max} characters")]
    TooLong {
        /// The longest accepted length.
        max: usize,
    },
    /// Contains a control character, or a colon (which separates issuer
    /// and account in a key URI label, Key URI Format "Label").
    #[error("display name contains a control character or a colon")]
    Character,
    /// Leading or trailing white space.
    #[error("display name has leading or trailing white space")]
    Untrimmed,
}

/// The name under which the user's 2FA appears: the account label in the
/// authenticator app and in the portal's settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub struct DisplayName(String);

impl DisplayName {
    /// Validates a display name: 1 to 64 characters, trimmed, no control
    /// characters, no colon.
    ///
    /// # Errors
    ///
    /// [`DisplayNameError`].
    pub fn new(name: &str) -> Result<Self, DisplayNameError> {
        if name.trim().is_empty() {
            return Err(DisplayNameError::Empty);
        }
        if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(DisplayNameError::TooLong {
                max: MAX_DISPLAY_NAME_CHARS,
            });
        }
        if name.chars().any(|c| c.is_control() || c == ':') {
            return Err(DisplayNameError::Character);
        }
        if name.trim() != name {
            return Err(DisplayNameError::Untrimmed);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DisplayName {
    type Error = DisplayNameError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<DisplayName> for String {
    fn from(value: DisplayName) -> Self {
        value.0
    }
}

/// A TOTP factor (authenticator app or the token of a push app).
///
/// `Debug` prints the secret as `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct TotpFactor {
    pub(crate) secret: Secret,
    pub(crate) last_step: Option<u64>,
}

impl TotpFactor {
    /// Rebuilds a stored factor: the secret and the highest step accepted
    /// so far.
    ///
    /// For a store's codec; a new factor comes from a verified set-up.
    #[must_use]
    pub fn restore(secret: Secret, last_step: Option<u64>) -> Self {
        Self { secret, last_step }
    }

    /// The shared secret.
    ///
    /// # Security
    ///
    /// Only for computing or verifying codes; never log or send it.
    #[must_use]
    pub fn expose_secret(&self) -> &Secret {
        &self.secret
    }

    /// The highest time step accepted so far (RFC 6238 §5.2: a code is
    /// accepted at most once); no code at or below it verifies again.
    #[must_use]
    pub fn last_step(&self) -> Option<u64> {
        self.last_step
    }
}

/// A phone factor: the number and how codes reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneFactor {
    pub(crate) number: PhoneNumber,
    pub(crate) channel: PhoneChannel,
}

impl PhoneFactor {
    /// A phone factor: the number and the channel its codes take.
    #[must_use]
    pub fn new(number: PhoneNumber, channel: PhoneChannel) -> Self {
        Self { number, channel }
    }

    /// The number (masked in `Debug` and `Display`).
    #[must_use]
    pub fn number(&self) -> &PhoneNumber {
        &self.number
    }

    /// SMS or voice.
    #[must_use]
    pub fn channel(&self) -> PhoneChannel {
        self.channel
    }
}

/// A passkey factor: one WebAuthn credential with its name, public key,
/// signature counter and backup flags (no secret: the private key never
/// leaves the authenticator).
#[derive(Debug, Clone)]
pub struct PasskeyFactor {
    // Boxed: a credential (its public key and flags) is several times the
    // size of the other factors.
    pub(crate) credential: Box<PasskeyCredential>,
}

impl PasskeyFactor {
    /// Rebuilds a stored factor from its credential.
    ///
    /// For a store's codec; a new factor comes from a verified
    /// registration.
    #[must_use]
    pub fn restore(credential: PasskeyCredential) -> Self {
        Self {
            credential: Box::new(credential),
        }
    }

    /// The credential.
    #[must_use]
    pub fn credential(&self) -> &PasskeyCredential {
        &self.credential
    }

    /// The name the user gave it ("Work laptop").
    #[must_use]
    pub fn name(&self) -> &CredentialName {
        self.credential.name()
    }
}

/// The data of an enrolled method.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Factor {
    /// Authenticator app.
    App(TotpFactor),
    /// Push/token app.
    Push(TotpFactor),
    /// SMS or voice.
    Phone(PhoneFactor),
    /// A passkey (one credential; a user may enroll several).
    Passkey(PasskeyFactor),
}

impl Factor {
    /// The method kind.
    #[must_use]
    pub fn kind(&self) -> Method {
        match self {
            Self::App(_) => Method::AuthenticatorApp,
            Self::Push(_) => Method::PushApp,
            Self::Phone(phone) => phone.channel.kind(),
            Self::Passkey(_) => Method::Passkey,
        }
    }

    /// The TOTP data of an app or push method.
    #[must_use]
    pub fn totp(&self) -> Option<&TotpFactor> {
        match self {
            Self::App(totp) | Self::Push(totp) => Some(totp),
            Self::Phone(_) | Self::Passkey(_) => None,
        }
    }

    pub(crate) fn totp_mut(&mut self) -> Option<&mut TotpFactor> {
        match self {
            Self::App(totp) | Self::Push(totp) => Some(totp),
            Self::Phone(_) | Self::Passkey(_) => None,
        }
    }

    /// The credential of a passkey method.
    #[must_use]
    pub fn passkey(&self) -> Option<&PasskeyFactor> {
        match self {
            Self::Passkey(passkey) => Some(passkey),
            _ => None,
        }
    }
}

/// An active method of an enrolled user.
#[derive(Debug, Clone)]
pub struct EnrolledMethod {
    pub(crate) id: MethodId,
    pub(crate) factor: Factor,
    pub(crate) enrolled_at: DateTime<Utc>,
    pub(crate) last_used_at: Option<DateTime<Utc>>,
}

impl EnrolledMethod {
    /// Rebuilds a stored method: its id, its data, when it was activated
    /// and when it was last used.
    ///
    /// For a store's codec; a new method comes from a verified set-up.
    #[must_use]
    pub fn restore(
        id: MethodId,
        factor: Factor,
        enrolled_at: DateTime<Utc>,
        last_used_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            id,
            factor,
            enrolled_at,
            last_used_at,
        }
    }

    /// The method's identifier in this record.
    #[must_use]
    pub fn id(&self) -> MethodId {
        self.id
    }

    /// The method kind.
    #[must_use]
    pub fn kind(&self) -> Method {
        self.factor.kind()
    }

    /// The method's data.
    #[must_use]
    pub fn factor(&self) -> &Factor {
        &self.factor
    }

    /// When the method was activated (or its number last replaced).
    #[must_use]
    pub fn enrolled_at(&self) -> DateTime<Utc> {
        self.enrolled_at
    }

    /// When it last completed a second factor, if ever since activation.
    #[must_use]
    pub fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.last_used_at
    }
}
