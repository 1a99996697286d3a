//! What can happen to an enrollment: the events a transition takes, and the
//! user's choices and codes they carry.

use core::fmt;
use core::net::IpAddr;

use chrono::{DateTime, Utc};
use twofa_delivery::{
    DeliveryReceipt, LineType, PhoneNumber, PushResponse, ResendOption, TransactionId,
};
use twofa_passkey::CredentialName;
use twofa_types::{CodeChannel, OneTimeCode};
use zeroize::Zeroizing;

use crate::method::{DisplayName, MethodId, PhoneChannel};

/// A recovery code typed by the user (one-time codes are
/// [`OneTimeCode`]s: recovery codes have a format of their own).
///
/// # Security
///
/// Zeroized on drop; `Debug` prints `[REDACTED]`; no `Display`.
#[derive(Clone)]
pub struct SubmittedCode(Zeroizing<String>);

impl SubmittedCode {
    /// Wraps the user's input as typed (case, spaces and hyphens are
    /// tolerated by the recovery-code check).
    #[must_use]
    pub fn new(text: &str) -> Self {
        Self(Zeroizing::new(text.to_owned()))
    }

    /// The input.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SubmittedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubmittedCode([REDACTED])")
    }
}

/// What the browser answered to a passkey ceremony: the JSON of the
/// `PublicKeyCredential` that `navigator.credentials.create` or `.get`
/// returned, as the page posted it. Parsed by `twofa-passkey` when the
/// ceremony is finished, never before.
///
/// Not secret (it holds a signature over a single-use challenge), but
/// `Debug` prints only its length: it names the credential and the user.
#[derive(Clone, PartialEq, Eq)]
pub struct PasskeyResponse(String);

impl PasskeyResponse {
    /// Wraps the posted JSON text.
    #[must_use]
    pub fn new(json: &str) -> Self {
        Self(json.to_owned())
    }

    /// The JSON text.
    #[must_use]
    pub fn as_json(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasskeyResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasskeyResponse({} bytes)", self.0.len())
    }
}

/// The user's answer to the not-a-mobile dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotMobileAnswer {
    /// The dialog has not been shown (or not answered) yet.
    NotAsked,
    /// The user chose "continue with a voice call".
    ContinueWithVoice,
}

/// A phone number to set up for SMS or voice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneSetup {
    pub(super) number: PhoneNumber,
    pub(super) line_type: LineType,
    pub(super) channel: PhoneChannel,
    pub(super) answer: NotMobileAnswer,
}

impl PhoneSetup {
    /// A number, its line type (from `twofa_delivery::classify_offline` or
    /// a carrier lookup) and the channel the user chose.
    #[must_use]
    pub fn new(number: PhoneNumber, line_type: LineType, channel: PhoneChannel) -> Self {
        Self {
            number,
            line_type,
            channel,
            answer: NotMobileAnswer::NotAsked,
        }
    }

    /// Records the user's answer to the not-a-mobile dialog.
    /// [`NotMobileAnswer::ContinueWithVoice`] selects the voice channel.
    #[must_use]
    pub fn with_answer(mut self, answer: NotMobileAnswer) -> Self {
        self.answer = answer;
        if answer == NotMobileAnswer::ContinueWithVoice {
            self.channel = PhoneChannel::Voice;
        }
        self
    }

    /// The number.
    #[must_use]
    pub fn number(&self) -> &PhoneNumber {
        &self.number
    }
}

/// The method the user picked in the set-up dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetupChoice {
    /// An authenticator app.
    App,
    /// A push/token app.
    Push,
    /// SMS or voice to a phone.
    Phone(PhoneSetup),
    /// A passkey, to carry this name.
    Passkey(CredentialName),
}

/// Something the user (or an administrator) did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// Begin set-up of a method (the first, another one when enrolled, or
    /// a restart of a pending one).
    StartSetup(SetupChoice),
    /// A code for the pending verification, parsed at the edge.
    SubmitCode(OneTimeCode),
    /// The browser's answer to the pending passkey registration. Any
    /// answer ends the ceremony: an accepted one activates the passkey, a
    /// refused one is counted as a failure and the set-up must start again.
    /// Text that does not parse as an answer is refused unevaluated
    /// (`PasskeyRefused(Malformed)`) and changes nothing.
    SubmitPasskey(PasskeyResponse),
    /// Start a passkey login ceremony for the login `transaction` with the
    /// user's passkeys (replacing any earlier one). Answers
    /// [`Transition::Save`](crate::Transition::Save) with
    /// [`Effect::ShowPasskeyRequest`](crate::Effect::ShowPasskeyRequest).
    StartPasskeyLogin {
        /// The login the ceremony is for.
        transaction: TransactionId,
    },
    /// "Re-send the code" (SMS, phone call, email) or, for an app, "read
    /// the new code from your device".
    Resend(ResendOption),
    /// "Remind me later", until the deadline the enforcement gate offered
    /// on the set-up screen. The machine records it; whether a deferral may
    /// be taken, and until when, is not its decision.
    Defer {
        /// The end (exclusive) of the deferral.
        until: DateTime<Utc>,
    },
    /// Abandon the pending set-up or change.
    Cancel,
    /// Change the name shown for the user's 2FA.
    ChangeDisplayName(DisplayName),
    /// Begin replacing the number of a phone method.
    StartNumberChange {
        /// The phone method.
        method: MethodId,
        /// The new number.
        phone: PhoneSetup,
    },
    /// Remove a method.
    RemoveMethod(MethodId),
    /// Make a method the primary one.
    SetPrimary(MethodId),
    /// Replace the recovery codes with a new set.
    RegenerateRecoveryCodes,
    /// Send the login code of an enrolled phone method for the login
    /// `transaction`: by the method's own channel, or by `channel` (SMS,
    /// voice or the user's email). A second one for the same transaction
    /// re-sends (fresh code, same failure count). Answers
    /// [`Transition::Send`](crate::Transition::Send).
    SendLoginCode {
        /// The phone method.
        method: MethodId,
        /// Another channel than the method's own.
        channel: Option<CodeChannel>,
        /// The login the code is for.
        transaction: TransactionId,
    },
    /// Prompt the paired push device: the one being set up, or an enrolled
    /// push method for the login `transaction`. Subject to the push rate
    /// limit. Answers [`Transition::SendPush`](crate::Transition::SendPush).
    SendPush {
        /// The device.
        target: PushTarget,
        /// The login (or set-up) the prompt is for.
        transaction: TransactionId,
        /// Where the login comes from, shown by the app.
        client_address: Option<IpAddr>,
    },
    /// The user's second factor at login: a code, a recovery code (which
    /// also lifts a suspension) or an approved push. Answers
    /// [`Transition::LoginAccepted`](crate::Transition::LoginAccepted), or
    /// [`Transition::LoginRefused`](crate::Transition::LoginRefused) when
    /// the failure was counted; an attempt refused unevaluated (throttled,
    /// suspended, malformed, no code outstanding) is an error and changes
    /// nothing.
    Login {
        /// What the user offered.
        attempt: LoginAttempt,
        /// The login it answers.
        transaction: TransactionId,
    },
    /// The paired push device answered the latest prompt (set-up or
    /// login).
    PushResponse(PushResponse),
    /// An administrator clears the enrollment.
    AdminReset,
    /// A provider reported that the message of an out-of-band challenge
    /// (set-up, login or change of number) was not delivered: the
    /// verification screen can offer another channel or method.
    DeliveryFailed(DeliveryReceipt),
}

/// The kind of an [`Event`], for errors and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// [`Event::StartSetup`].
    StartSetup,
    /// [`Event::SubmitCode`].
    SubmitCode,
    /// [`Event::SubmitPasskey`].
    SubmitPasskey,
    /// [`Event::StartPasskeyLogin`].
    StartPasskeyLogin,
    /// [`Event::Resend`].
    Resend,
    /// [`Event::Defer`].
    Defer,
    /// [`Event::Cancel`].
    Cancel,
    /// [`Event::ChangeDisplayName`].
    ChangeDisplayName,
    /// [`Event::StartNumberChange`].
    StartNumberChange,
    /// [`Event::RemoveMethod`].
    RemoveMethod,
    /// [`Event::SetPrimary`].
    SetPrimary,
    /// [`Event::RegenerateRecoveryCodes`].
    RegenerateRecoveryCodes,
    /// [`Event::SendLoginCode`].
    SendLoginCode,
    /// [`Event::SendPush`].
    SendPush,
    /// [`Event::Login`].
    Login,
    /// [`Event::PushResponse`].
    PushResponse,
    /// [`Event::AdminReset`].
    AdminReset,
    /// [`Event::DeliveryFailed`].
    DeliveryFailed,
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::StartSetup => "start set-up",
            Self::SubmitCode => "submit code",
            Self::SubmitPasskey => "submit passkey",
            Self::StartPasskeyLogin => "start passkey login",
            Self::Resend => "re-send",
            Self::Defer => "defer",
            Self::Cancel => "cancel",
            Self::ChangeDisplayName => "change display name",
            Self::StartNumberChange => "start number change",
            Self::RemoveMethod => "remove method",
            Self::SetPrimary => "set primary",
            Self::RegenerateRecoveryCodes => "regenerate recovery codes",
            Self::SendLoginCode => "send login code",
            Self::SendPush => "send push",
            Self::Login => "login",
            Self::PushResponse => "push response",
            Self::AdminReset => "admin reset",
            Self::DeliveryFailed => "delivery failed",
        })
    }
}

impl Event {
    /// The event's kind.
    #[must_use]
    pub fn kind(&self) -> EventKind {
        match self {
            Self::StartSetup(_) => EventKind::StartSetup,
            Self::SubmitCode(_) => EventKind::SubmitCode,
            Self::SubmitPasskey(_) => EventKind::SubmitPasskey,
            Self::StartPasskeyLogin { .. } => EventKind::StartPasskeyLogin,
            Self::Resend(_) => EventKind::Resend,
            Self::Defer { .. } => EventKind::Defer,
            Self::Cancel => EventKind::Cancel,
            Self::ChangeDisplayName(_) => EventKind::ChangeDisplayName,
            Self::StartNumberChange { .. } => EventKind::StartNumberChange,
            Self::RemoveMethod(_) => EventKind::RemoveMethod,
            Self::SetPrimary(_) => EventKind::SetPrimary,
            Self::RegenerateRecoveryCodes => EventKind::RegenerateRecoveryCodes,
            Self::SendLoginCode { .. } => EventKind::SendLoginCode,
            Self::SendPush { .. } => EventKind::SendPush,
            Self::Login { .. } => EventKind::Login,
            Self::PushResponse(_) => EventKind::PushResponse,
            Self::AdminReset => EventKind::AdminReset,
            Self::DeliveryFailed(_) => EventKind::DeliveryFailed,
        }
    }
}

/// What the user offers at login.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LoginAttempt {
    /// A one-time code of a method.
    Code {
        /// The method.
        method: MethodId,
        /// The code, parsed at the edge.
        code: OneTimeCode,
    },
    /// A recovery code.
    RecoveryCode(SubmittedCode),
    /// Approval of the push prompt sent by [`Event::SendPush`] for this
    /// login.
    Push {
        /// The push method.
        method: MethodId,
    },
    /// The browser's answer to the passkey ceremony started by
    /// [`Event::StartPasskeyLogin`] for this login; whichever of the
    /// user's passkeys signed it is the method used.
    Passkey(PasskeyResponse),
}

/// Where a push prompt goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PushTarget {
    /// The device being paired by a pending push set-up.
    PendingSetup,
    /// An enrolled push method, for a login.
    Method(MethodId),
}
