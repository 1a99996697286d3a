//! Where a user stands: the state enum with the data valid in each state,
//! and the pending and enrolled records it holds.

use core::fmt;

use chrono::{DateTime, Utc};
use twofa_delivery::TransactionId;
use twofa_delivery::{LineType, OobChallenge, PhoneNumber, PushRequest};
use twofa_otp::Secret;
use twofa_passkey::{AuthenticationState, CredentialName, RegistrationState};
use twofa_types::Method;

use crate::error::{EnrollmentError, RestoreError};
use crate::method::{EnrolledMethod, MethodId, PhoneChannel};
use crate::policy::Context;
use crate::recovery::RecoveryCodes;

/// The kind of an [`EnrollmentState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StateKind {
    /// [`EnrollmentState::NotEnrolled`].
    NotEnrolled,
    /// [`EnrollmentState::Deferred`].
    Deferred,
    /// [`EnrollmentState::Pending`].
    Pending,
    /// [`EnrollmentState::Enrolled`].
    Enrolled,
}

impl fmt::Display for StateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotEnrolled => "not enrolled",
            Self::Deferred => "deferred",
            Self::Pending => "pending verification",
            Self::Enrolled => "enrolled",
        })
    }
}

/// What a pending verification is verifying.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PendingKind {
    /// An authenticator app: the new secret, shown once as a key URI.
    App {
        /// The secret (redacted in `Debug`).
        secret: Secret,
    },
    /// A push/token app: the token secret, and the approval prompt sent
    /// to the paired device, if any.
    Push {
        /// The secret (redacted in `Debug`).
        secret: Secret,
        /// The latest approval prompt.
        request: Option<PushRequest>,
    },
    /// SMS or voice: the out-of-band challenge sent to the number.
    Phone {
        /// The number (masked in `Debug`).
        number: PhoneNumber,
        /// The method's channel.
        channel: PhoneChannel,
        /// The number's line type at set-up.
        line_type: LineType,
        /// The challenge (holds a keyed hash of the code, never the code).
        challenge: OobChallenge,
    },
    /// A passkey: the registration ceremony the browser must answer,
    /// once, before it expires.
    Passkey {
        /// The name the credential will carry.
        name: CredentialName,
        /// The ceremony's server-side state (its challenge).
        registration: RegistrationState,
    },
}

impl PendingKind {
    /// The method being set up.
    #[must_use]
    pub fn method(&self) -> Method {
        match self {
            Self::App { .. } => Method::AuthenticatorApp,
            Self::Push { .. } => Method::PushApp,
            Self::Phone { channel, .. } => channel.kind(),
            Self::Passkey { .. } => Method::Passkey,
        }
    }
}

/// A passkey login ceremony in progress: the login it belongs to and the
/// state the browser's answer is checked against. Answered once: any
/// answer, accepted or not, ends it.
#[derive(Debug, Clone)]
pub struct PasskeyLogin {
    pub(crate) transaction: TransactionId,
    pub(crate) state: AuthenticationState,
}

impl PasskeyLogin {
    /// Rebuilds a stored ceremony. For a store's codec; a new one comes
    /// from [`Event::StartPasskeyLogin`](crate::Event::StartPasskeyLogin).
    #[must_use]
    pub fn restore(transaction: TransactionId, state: AuthenticationState) -> Self {
        Self { transaction, state }
    }

    /// The login it belongs to.
    #[must_use]
    pub fn transaction(&self) -> &TransactionId {
        &self.transaction
    }

    /// The ceremony's server-side state.
    #[must_use]
    pub fn state(&self) -> &AuthenticationState {
        &self.state
    }
}

/// A method awaiting proof of possession.
#[derive(Debug, Clone)]
pub struct PendingSetup {
    pub(crate) kind: PendingKind,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) failed_attempts: u32,
    pub(crate) replaces: Option<MethodId>,
}

impl PendingSetup {
    /// Rebuilds a stored verification: what it verifies, when it began,
    /// the wrong codes so far and, for a change of number, the method it
    /// replaces.
    ///
    /// For a store's codec; a new verification comes from
    /// [`Event::StartSetup`](crate::Event::StartSetup) or
    /// [`Event::StartNumberChange`](crate::Event::StartNumberChange).
    #[must_use]
    pub fn restore(
        kind: PendingKind,
        started_at: DateTime<Utc>,
        failed_attempts: u32,
        replaces: Option<MethodId>,
    ) -> Self {
        Self {
            kind,
            started_at,
            failed_attempts,
            replaces,
        }
    }

    /// What is being verified.
    #[must_use]
    pub fn kind(&self) -> &PendingKind {
        &self.kind
    }

    /// When set-up began.
    #[must_use]
    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    /// Wrong codes so far in this verification.
    #[must_use]
    pub fn failed_attempts(&self) -> u32 {
        self.failed_attempts
    }

    /// For a change of number: the method whose number this replaces.
    #[must_use]
    pub fn replaces(&self) -> Option<MethodId> {
        self.replaces
    }

    /// When this verification expires: 30 minutes (by default) after the
    /// start for an app, the current code's expiry for SMS and voice, the
    /// ceremony's expiry for a passkey.
    #[must_use]
    pub fn expires_at(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        match &self.kind {
            PendingKind::App { .. } | PendingKind::Push { .. } => self
                .started_at
                .checked_add_signed(ctx.policy().app_pending_lifetime()),
            PendingKind::Phone { challenge, .. } => challenge.expires_at(),
            PendingKind::Passkey { registration, .. } => Some(registration.expires_at()),
        }
    }

    /// Refuses a verification that has expired at `now` (its expiry is the
    /// first instant it no longer counts).
    pub(super) fn check_not_expired(
        &self,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), EnrollmentError> {
        match self.expires_at(ctx) {
            Some(expired_at) if now >= expired_at => {
                Err(EnrollmentError::PendingExpired { expired_at })
            }
            _ => Ok(()),
        }
    }
}

/// The data of an enrolled user.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub(crate) methods: Vec<EnrolledMethod>,
    pub(crate) primary: MethodId,
    pub(crate) enrolled_at: DateTime<Utc>,
    pub(crate) recovery: RecoveryCodes,
    pub(crate) change: Option<PendingSetup>,
    pub(crate) next_id: u32,
    pub(crate) login_challenge: Option<OobChallenge>,
    pub(crate) push_request: Option<PushRequest>,
    pub(crate) passkey_login: Option<PasskeyLogin>,
}

impl Enrolled {
    /// Rebuilds a stored enrolled record from its methods, its primary,
    /// when it was first activated, its recovery codes and the next method
    /// id; a pending change, a login code and a push prompt are added with
    /// the `with_*` methods.
    ///
    /// For a store's codec; a user becomes enrolled through a verified
    /// set-up.
    ///
    /// # Errors
    ///
    /// [`RestoreError`] when the parts break what every enrolled record
    /// keeps: at least one method, the primary among them, and every id
    /// below `next_id` (ids are never reused).
    pub fn restore(
        methods: Vec<EnrolledMethod>,
        primary: MethodId,
        enrolled_at: DateTime<Utc>,
        recovery: RecoveryCodes,
        next_id: u32,
    ) -> Result<Self, RestoreError> {
        if methods.is_empty() {
            return Err(RestoreError::NoMethods);
        }
        if !methods.iter().any(|m| m.id == primary) {
            return Err(RestoreError::UnknownPrimary { primary });
        }
        if let Some(m) = methods.iter().find(|m| m.id.get() >= next_id) {
            return Err(RestoreError::IdNotBelowNext { id: m.id, next_id });
        }
        Ok(Self {
            methods,
            primary,
            enrolled_at,
            recovery,
            change: None,
            next_id,
            login_challenge: None,
            push_request: None,
            passkey_login: None,
        })
    }

    /// The record with a method being added or a number being changed.
    #[must_use]
    pub fn with_pending_change(mut self, change: PendingSetup) -> Self {
        self.change = Some(change);
        self
    }

    /// The record with a login code outstanding.
    #[must_use]
    pub fn with_login_challenge(mut self, challenge: OobChallenge) -> Self {
        self.login_challenge = Some(challenge);
        self
    }

    /// The record with a login push prompt outstanding.
    #[must_use]
    pub fn with_push_request(mut self, request: PushRequest) -> Self {
        self.push_request = Some(request);
        self
    }

    /// The record with a passkey login ceremony outstanding.
    #[must_use]
    pub fn with_passkey_login(mut self, login: PasskeyLogin) -> Self {
        self.passkey_login = Some(login);
        self
    }

    /// The outstanding passkey login ceremony, if any.
    #[must_use]
    pub fn passkey_login(&self) -> Option<&PasskeyLogin> {
        self.passkey_login.as_ref()
    }

    /// The active methods (never empty).
    #[must_use]
    pub fn methods(&self) -> &[EnrolledMethod] {
        &self.methods
    }

    /// The method used by default at login.
    #[must_use]
    pub fn primary(&self) -> MethodId {
        self.primary
    }

    /// When the first method was activated.
    #[must_use]
    pub fn enrolled_at(&self) -> DateTime<Utc> {
        self.enrolled_at
    }

    /// The stored recovery codes.
    #[must_use]
    pub fn recovery_codes(&self) -> &RecoveryCodes {
        &self.recovery
    }

    /// A method being added or a number being changed, if any.
    #[must_use]
    pub fn pending_change(&self) -> Option<&PendingSetup> {
        self.change.as_ref()
    }

    /// The id the next added method gets (ids are never reused within a
    /// record).
    #[must_use]
    pub fn next_id(&self) -> u32 {
        self.next_id
    }

    /// The outstanding login code challenge, if any.
    #[must_use]
    pub fn login_challenge(&self) -> Option<&OobChallenge> {
        self.login_challenge.as_ref()
    }

    /// The outstanding login push prompt, if any.
    #[must_use]
    pub fn push_request(&self) -> Option<&PushRequest> {
        self.push_request.as_ref()
    }

    /// The method with this id.
    #[must_use]
    pub fn method(&self, id: MethodId) -> Option<&EnrolledMethod> {
        self.methods.iter().find(|m| m.id == id)
    }

    pub(super) fn method_mut(&mut self, id: MethodId) -> Option<&mut EnrolledMethod> {
        self.methods.iter_mut().find(|m| m.id == id)
    }

    /// Stamps a login with method `id` at `now` and burns the TOTP `step`
    /// it matched, so that code cannot log in again.
    pub(super) fn record_use(&mut self, id: MethodId, now: DateTime<Utc>, step: Option<u64>) {
        if let Some(m) = self.method_mut(id) {
            m.last_used_at = Some(now);
            if let (Some(totp), Some(step)) = (m.factor.totp_mut(), step) {
                totp.last_step = Some(step);
            }
        }
    }

    /// Drops method `id` (never the last one: that leaves the state), moves
    /// the primary to the first remaining method if it was `id`, and
    /// abandons a change of its number.
    pub(super) fn remove_method(&mut self, id: MethodId) {
        self.methods.retain(|m| m.id != id);
        if self.primary == id
            && let Some(first) = self.methods.first()
        {
            self.primary = first.id;
        }
        if self.change.as_ref().and_then(|c| c.replaces) == Some(id) {
            self.change = None;
        }
    }
}

/// Where a user stands.
///
/// ```text
///                       Defer { until } (as the gate offered)
///            ┌───────────────────────────────────────────┐
///            ▼                                           │
///   ┌─────────────┐  StartSetup   ┌─────────┐ SubmitCode ok ┌──────────┐
///   │ NotEnrolled │──────────────►│ Pending │──────────────►│ Enrolled │
///   └─────────────┘◄──────────────└─────────┘               └──────────┘
///     ▲  │  ▲        Cancel        │  ▲   │ wrong code: failed_attempts+1,
///     │  │  │                      │  └───┘ re-send: fresh code
///     │  │  └── Deferred ◄─────────┘ Defer          │ StartSetup / StartNumberChange
///     │  │       │  ▲                               │ → pending change inside Enrolled,
///     │  └─Defer─┘  │ StartSetup → Pending          │   verified by SubmitCode
///     │                                             │
///     └──── AdminReset (any state), RemoveMethod of the last method ──┘
/// ```
///
/// Across all states the record keeps the user's consecutive failures
/// ([`Failures`](crate::Failures)): after 100 the second factor is
/// *suspended* (an overlay on the state, not a state of its own) until an
/// administrator resets it or a recovery code is redeemed.
#[derive(Debug, Clone)]
#[non_exhaustive]
#[expect(
    clippy::large_enum_variant,
    reason = "one record per user, cloned once per transition; boxing would only move the bytes"
)]
pub enum EnrollmentState {
    /// No method, not deferred.
    NotEnrolled,
    /// Set-up deferred ("remind me later") until `until`.
    Deferred {
        /// The end of the deferral (exclusive).
        until: DateTime<Utc>,
    },
    /// A first method awaits proof of possession.
    Pending(PendingSetup),
    /// At least one active method.
    Enrolled(Enrolled),
}

impl EnrollmentState {
    /// The state's kind.
    #[must_use]
    pub fn kind(&self) -> StateKind {
        match self {
            Self::NotEnrolled => StateKind::NotEnrolled,
            Self::Deferred { .. } => StateKind::Deferred,
            Self::Pending(_) => StateKind::Pending,
            Self::Enrolled(_) => StateKind::Enrolled,
        }
    }
}
