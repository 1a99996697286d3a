//! What the login flow shows the user and what it accepts from them.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use twofa_delivery::ResendOption;
use twofa_enrollment::{
    MethodId, NotMobileAnswer, NotMobileDialog, PhoneChannel, ProvisioningUri, RecoveryCodeSheet,
};
use twofa_passkey::{CreationOptions, CredentialName, RequestOptions};
use twofa_types::{CodeChannel, Method, MethodSet};

use crate::audit::{AllowedBy, RejectionDetail};
use crate::records::LoginTicket;

/// Where a login request came from: the socket peer and the forwarding
/// headers, as the HTTP layer received them.
///
/// The service resolves the client address with its configured trusted
/// proxies; headers from anyone else are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientContext {
    pub(crate) peer: IpAddr,
    pub(crate) x_forwarded_for: Option<String>,
    pub(crate) forwarded: Option<String>,
}

impl ClientContext {
    /// A request from `peer` with no forwarding headers.
    #[must_use]
    pub fn new(peer: IpAddr) -> Self {
        Self {
            peer,
            x_forwarded_for: None,
            forwarded: None,
        }
    }

    /// The socket peer.
    #[must_use]
    pub fn peer(&self) -> IpAddr {
        self.peer
    }

    /// The `X-Forwarded-For` header line.
    #[must_use]
    pub fn with_x_forwarded_for(mut self, line: impl Into<String>) -> Self {
        self.x_forwarded_for = Some(line.into());
        self
    }

    /// The `Forwarded` header line (RFC 7239).
    #[must_use]
    pub fn with_forwarded(mut self, line: impl Into<String>) -> Self {
        self.forwarded = Some(line.into());
        self
    }
}

/// What the login must do next.
#[derive(Debug)]
#[must_use = "the login must follow the step"]
#[non_exhaustive]
pub enum LoginStep {
    /// The login is complete: let the user in.
    Allowed(Allowed),
    /// Show the set-up screen ("choose an authentication method").
    SetUp(SetUpScreen),
    /// Show the verification screen ("enter your code").
    Challenge(ChallengeScreen),
}

/// The login is complete.
#[derive(Debug)]
#[non_exhaustive]
pub struct Allowed {
    /// Why the user may in.
    pub by: AllowedBy,
    /// Recovery codes to show once, after the first method was activated.
    pub recovery_codes: Option<RecoveryCodeSheet>,
}

/// The set-up screen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetUpScreen {
    /// Keep it in the session; every answer names it.
    pub ticket: LoginTicket,
    /// The methods to offer.
    pub methods: MethodSet,
    /// When "remind me in 48 hours" is offered: the instant the deferral
    /// would end. `None`: the option is not shown.
    pub remind_me_until: Option<DateTime<Utc>>,
    /// A set-up the user began earlier and may finish.
    pub pending: Option<Method>,
}

/// The verification screen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChallengeScreen {
    /// Keep it in the session; every answer names it.
    pub ticket: LoginTicket,
    /// The method the code comes from.
    pub method: Method,
    /// Where a code was just sent (masked), for phone methods.
    pub sent_to: Option<String>,
    /// The re-send buttons to show.
    pub resend: Vec<ResendOption>,
    /// For a passkey: the options to hand to `navigator.credentials.get`;
    /// post its answer to
    /// [`Twofa::submit_passkey`](crate::Twofa::submit_passkey). Any of
    /// the user's passkeys may answer. `None` while the factor is
    /// suspended (a recovery code is then the way in).
    pub passkey: Option<RequestOptions>,
    /// The user's other methods this login may be answered with ("use
    /// another method"); pass one to
    /// [`Twofa::switch_method`](crate::Twofa::switch_method).
    pub other_methods: Vec<OtherMethod>,
    /// Set when every method the user has is switched off by the company:
    /// after this challenge the user must set up one of these methods
    /// before the login completes.
    pub then_set_up: Option<MethodSet>,
}

/// An enrolled method offered as an alternative on the verification
/// screen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtherMethod {
    /// Pass it to [`Twofa::switch_method`](crate::Twofa::switch_method).
    pub id: MethodId,
    /// Its kind.
    pub kind: Method,
    /// The masked number of a phone method (`+44 ••• ••• 3456`).
    pub masked_number: Option<String>,
    /// The name of a passkey ("Work laptop").
    pub name: Option<String>,
}

/// The user's choice on the set-up screen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MethodChoice {
    /// An authenticator app (scan a QR code).
    AuthenticatorApp,
    /// A push/token app (scan a QR code).
    PushApp,
    /// Codes by SMS or phone call.
    Phone(PhoneChoice),
    /// A passkey (security key, phone or computer), to carry this name.
    Passkey(CredentialName),
}

/// A phone number typed on the set-up screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneChoice {
    pub(crate) number: String,
    pub(crate) channel: PhoneChannel,
    pub(crate) answer: NotMobileAnswer,
}

impl PhoneChoice {
    /// The number as typed (national numbers are read in the service's
    /// default region) and the channel chosen.
    #[must_use]
    pub fn new(number: impl Into<String>, channel: PhoneChannel) -> Self {
        Self {
            number: number.into(),
            channel,
            answer: NotMobileAnswer::NotAsked,
        }
    }

    /// The user's answer to the not-a-mobile dialog shown for this number.
    #[must_use]
    pub fn with_answer(mut self, answer: NotMobileAnswer) -> Self {
        self.answer = answer;
        self
    }
}

/// A code went out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodeSent {
    /// By which channel.
    pub channel: CodeChannel,
    /// To where, masked (`+44 ••• ••• 3456`).
    pub to: String,
}

/// The screen after a set-up choice.
#[derive(Debug)]
#[non_exhaustive]
pub enum SetUpProgress {
    /// Show the key URI as a QR code; then ask for the first code.
    ScanQrCode(ProvisioningUri),
    /// A code was sent; ask for it.
    CodeSent(CodeSent),
    /// The number is likely not a mobile (or cannot be told): show the
    /// dialog recommending the app; the user may continue with a call.
    NotMobile(NotMobileDialog),
    /// Hand these options to `navigator.credentials.create` and post its
    /// answer to [`Twofa::submit_passkey`](crate::Twofa::submit_passkey)
    /// (or, from the settings page,
    /// [`Twofa::confirm_passkey`](crate::Twofa::confirm_passkey)).
    CreatePasskey(CreationOptions),
}

/// The result of a re-send request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resent {
    /// Nothing was sent: the app shows a new code by itself.
    ReadYourDevice,
    /// A fresh code went out.
    CodeSent(CodeSent),
}

/// What the end user may do after a refusal. Deliberately coarse: the
/// audit trail has the detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryAdvice {
    /// "That code is not right." Try again (or re-send).
    IncorrectCode,
    /// "Request a new code." The current one can no longer be used.
    NewCodeNeeded,
    /// "Too many attempts; try again later."
    TryLater,
    /// "Check what you typed" (a phone number that is not valid), or a
    /// passkey answer that is not one: nothing was evaluated or changed,
    /// and a passkey ceremony stays open.
    CheckInput,
    /// "Please log in again." The login cannot continue.
    StartOver,
    /// "Confirm it is you": the change needs a second factor completed in
    /// the last minutes. Sign the user in again (password and second
    /// factor), then let them retry the change.
    ReauthenticationRequired,
    /// "This way of sending a code is not available right now: use another
    /// method, or try again later." A send budget ran out (too many codes
    /// to this user, this number or this country in the last hour or day),
    /// or the number is in a country codes are not sent to. Nothing was
    /// sent and nothing changed.
    TryAnotherMethodOrLater,
    /// "Your passkey was not accepted: try again, or use another method."
    /// The ceremony is over; start a new one (on the verification screen,
    /// [`Twofa::switch_method`](crate::Twofa::switch_method) to the same
    /// method; during set-up, choose the passkey again).
    PasskeyNotAccepted,
    /// "Temporarily unavailable; try again in a moment." The stores did not
    /// answer in time: nothing was decided, no attempt was counted, and the
    /// login (its ticket) is still there to retry.
    TemporarilyUnavailable,
}

/// A refusal: coarse advice for the end user, and the exact reason for
/// the application's logs.
///
/// Show the end user only [`Rejected::advice`]: telling an unknown user
/// from a wrong code, or a missing company from a replayed code, would let
/// anyone who tries names learn which accounts exist. [`Rejected::reason`]
/// is the same detail the audit log records, for logs and metrics; its
/// `Display` (through this type's) names the reason in a few words and
/// never holds a code, a secret or a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("two-factor step not accepted: {reason}")]
#[must_use]
pub struct Rejected {
    advice: RetryAdvice,
    reason: RejectionDetail,
}

impl Rejected {
    pub(crate) fn new(advice: RetryAdvice, reason: RejectionDetail) -> Self {
        Self { advice, reason }
    }

    /// What to tell the end user.
    #[must_use]
    pub fn advice(&self) -> RetryAdvice {
        self.advice
    }

    /// Why, exactly: for logs and metrics, never for the end user (see the
    /// type's documentation).
    #[must_use]
    pub fn reason(&self) -> RejectionDetail {
        self.reason
    }
}
