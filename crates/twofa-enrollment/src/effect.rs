//! What a transition asks the caller to do, and the send-then-save
//! protocol.

use core::fmt;

use twofa_delivery::{Destination, LineType, MatchNumber, Notice, OutboundMessage, PushMessage};
use twofa_otp::{KeyUri, Zeroizing};
use twofa_passkey::{CreationOptions, RefusalReason, RequestOptions};
use twofa_types::Method;

use crate::audit::EnrollmentAudit;
use crate::error::EnrollmentError;
use crate::machine::Enrollment;
use crate::method::{MethodId, PhoneChannel};
use crate::recovery::RecoveryCodeSheet;

/// The `otpauth://` key URI of a new authenticator or push app, to show as
/// a QR code and as text.
///
/// # Security
///
/// Holds the shared secret: `Debug` redacts it, there is no `Display`,
/// the text comes only from [`ProvisioningUri::expose_secret`] and is
/// zeroized on drop.
#[derive(Debug, Clone)]
pub struct ProvisioningUri {
    uri: KeyUri,
}

impl ProvisioningUri {
    pub(crate) fn new(uri: KeyUri) -> Self {
        Self { uri }
    }

    /// The URI text.
    #[must_use]
    pub fn expose_secret(&self) -> Zeroizing<String> {
        self.uri.to_uri()
    }

    /// The parsed key URI (issuer, account, parameters; secret redacted in
    /// `Debug`).
    #[must_use]
    pub fn key_uri(&self) -> &KeyUri {
        &self.uri
    }

    /// The URI as an SVG QR code.
    ///
    /// # Errors
    ///
    /// [`twofa_otp::QrError`] when the URI does not fit a QR code.
    #[cfg(feature = "qr")]
    pub fn to_qr_svg(&self) -> Result<Zeroizing<String>, twofa_otp::QrError> {
        self.uri.to_qr_svg()
    }
}

/// The portal's dialog for a number that is not (known to be) a mobile:
/// recommend the app, allow a voice call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotMobileDialog {
    /// The line type that triggered the dialog.
    pub line_type: LineType,
    /// The recommended method (the app).
    pub recommended: Method,
    /// What the user may still choose with this number (a voice call).
    pub alternative: PhoneChannel,
}

// Why the user is notified is the delivery crate's notice vocabulary, so
// that a `Notification` renders without conversion.

/// A notification to send to the user: the notice goes to every
/// destination, each rendered with
/// [`MessageTemplates::render_notice`](twofa_delivery::MessageTemplates::render_notice)
/// and sent with a [`NoticeSender`](twofa_delivery::NoticeSender). It never
/// contains a code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notification {
    /// Why.
    pub notice: Notice,
    /// Where (masked in `Debug`).
    pub to: Vec<Destination>,
}

/// One thing for the caller to do after saving the record.
#[derive(Debug)]
#[non_exhaustive]
pub enum Effect {
    /// Show the key URI and its QR code (authenticator or push app set-up).
    ShowKeyUri(ProvisioningUri),
    /// Show the not-a-mobile dialog.
    ShowNotMobileDialog(NotMobileDialog),
    /// Hand these options to `navigator.credentials.create` (passkey
    /// set-up).
    ShowPasskeyCreation(CreationOptions),
    /// Hand these options to `navigator.credentials.get` (passkey login).
    ShowPasskeyRequest(RequestOptions),
    /// Tell the user to read a fresh code from the app (the app's
    /// "re-send").
    ReadCodeFromDevice,
    /// Show the recovery codes, once.
    ShowRecoveryCodes(RecoveryCodeSheet),
    /// Tell the user the code was wrong and how many tries are left in
    /// this verification before a restart (0: restart needed).
    CodeRejected {
        /// Tries left.
        attempts_left: u32,
    },
    /// The browser's answer to a passkey ceremony was refused, for this
    /// reason; the ceremony is over (start a new one to try again).
    PasskeyRefused(RefusalReason),
    /// Notify the user through other channels.
    Notify(Notification),
    /// Record this audit event.
    Audit(EnrollmentAudit),
    /// The user's second factors changed: whatever was earned with the old
    /// ones (a trusted-network grant, for one) ends. Emitted by every
    /// transition that adds, removes or replaces a factor, uses or replaces
    /// recovery codes, or clears the enrollment; the caller acts on it in
    /// one place.
    FactorsChanged(FactorChange),
}

/// Which change of the user's second factors a transition made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FactorChange {
    /// A method was added next to the enrolled ones.
    MethodAdded,
    /// A method was removed.
    MethodRemoved,
    /// The number of a phone method was replaced.
    NumberChanged,
    /// The recovery codes were replaced by a new set.
    RecoveryCodesReplaced,
    /// A recovery code was used.
    RecoveryCodeUsed,
    /// An administrator cleared the enrollment.
    Reset,
}

/// The result of a transition that sends nothing: save the record (with
/// compare-and-swap), then perform the effects.
#[derive(Debug)]
#[must_use = "save the record, then perform the effects"]
pub struct Outcome {
    record: Enrollment,
    effects: Vec<Effect>,
}

impl Outcome {
    pub(crate) fn new(record: Enrollment, effects: Vec<Effect>) -> Self {
        Self { record, effects }
    }

    /// The record to save.
    pub fn record(&self) -> &Enrollment {
        &self.record
    }

    /// The effects to perform after saving.
    pub fn effects(&self) -> &[Effect] {
        &self.effects
    }

    /// The record and the effects.
    pub fn into_parts(self) -> (Enrollment, Vec<Effect>) {
        (self.record, self.effects)
    }
}

/// A transition that must deliver a code before anything is saved.
///
/// Protocol: send [`Dispatch::message`]; only if the send succeeded call
/// [`Dispatch::sent`] and save the record of the returned [`Outcome`]. If
/// the send failed, drop this value: the stored record stays as it was
/// (no code counted as delivered, no send used), and the record to save is
/// unreachable without calling `sent`, so it cannot be saved by mistake.
#[must_use = "send the message, then call sent() and save the record"]
pub struct Dispatch {
    message: OutboundMessage,
    code: Zeroizing<String>,
    outcome: Outcome,
}

impl fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatch")
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl Dispatch {
    pub(crate) fn new(message: OutboundMessage, code: Zeroizing<String>, outcome: Outcome) -> Self {
        Self {
            message,
            code,
            outcome,
        }
    }

    /// The plain code, for an application that renders its own message.
    ///
    /// # Security
    ///
    /// Put it in the message and nowhere else.
    #[must_use]
    pub fn expose_code(&self) -> &str {
        &self.code
    }

    /// The message to send (its text holds the code; `Debug` redacts it).
    pub fn message(&self) -> &OutboundMessage {
        &self.message
    }

    /// Confirms the message was sent and releases the record to save.
    pub fn sent(self) -> Outcome {
        self.outcome
    }
}

/// A push prompt that must reach the device before anything is saved;
/// the same protocol as [`Dispatch`].
#[derive(Debug)]
#[must_use = "send the push, then call sent() and save the record"]
pub struct PushDispatch {
    message: PushMessage,
    match_number: MatchNumber,
    outcome: Outcome,
}

impl PushDispatch {
    pub(crate) fn new(message: PushMessage, match_number: MatchNumber, outcome: Outcome) -> Self {
        Self {
            message,
            match_number,
            outcome,
        }
    }

    /// The prompt to send to the device.
    pub fn message(&self) -> &PushMessage {
        &self.message
    }

    /// The number to show on the login page; the user picks it on the
    /// device.
    pub fn match_number(&self) -> MatchNumber {
        self.match_number
    }

    /// Confirms the push was sent and releases the record to save.
    pub fn sent(self) -> Outcome {
        self.outcome
    }
}

/// The second factor was accepted at login.
#[derive(Debug)]
#[must_use]
pub struct LoginAccepted {
    /// The record to save (compare-and-swap) before letting the user in:
    /// it burns the TOTP step or marks the code used.
    pub outcome: Outcome,
    /// The method that was used (`None` for a recovery code).
    pub method: Option<MethodId>,
}

/// The result of a successful transition.
#[derive(Debug)]
#[must_use = "save the record (after sending, for Send)"]
pub enum Transition {
    /// Nothing to send: save and perform the effects.
    Save(Outcome),
    /// Send a code first, then save.
    Send(Dispatch),
    /// Send the push prompt first, then save.
    SendPush(PushDispatch),
    /// The second factor of a login was accepted: save (compare-and-swap),
    /// and let the user in only if the save succeeded. That is what keeps a
    /// code single-use across servers.
    LoginAccepted(LoginAccepted),
    /// The second factor of a login was refused and the failure counted:
    /// save the record, then refuse the login.
    LoginRefused {
        /// Why.
        reason: EnrollmentError,
        /// The record with the failure counted.
        outcome: Outcome,
    },
}

impl Transition {
    /// The outcome, confirming a send if there was one. Convenient in
    /// tests and for senders that cannot fail; a server should match on
    /// the variants instead and call [`Dispatch::sent`] only on success.
    pub fn assume_sent(self) -> Outcome {
        match self {
            Self::Save(outcome) | Self::LoginRefused { outcome, .. } => outcome,
            Self::Send(dispatch) => dispatch.sent(),
            Self::SendPush(dispatch) => dispatch.sent(),
            Self::LoginAccepted(accepted) => accepted.outcome,
        }
    }

    /// The message to send, if any.
    pub fn message(&self) -> Option<&OutboundMessage> {
        match self {
            Self::Send(dispatch) => Some(dispatch.message()),
            Self::Save(_)
            | Self::SendPush(_)
            | Self::LoginAccepted(_)
            | Self::LoginRefused { .. } => None,
        }
    }
}
