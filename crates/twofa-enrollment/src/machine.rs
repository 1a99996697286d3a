//! The enrollment record and its transitions.

use core::fmt;

use chrono::{DateTime, Utc};
use rand_core::CryptoRng;
use twofa_delivery::{
    AuditReason, ChallengeRequest, ChallengeStatus, CodeChannel, Destination, EmailAddress,
    LineType, OobChallenge, OutboundMessage, PhoneNumber, PreparedSend, Purpose, ResendOption,
    ResendPlan, TransactionId, UserId,
};
use twofa_delivery::{PushError, PushRequest, PushResponse, PushSendLog, PushStatus};
use twofa_otp::{Algorithm, KeyUri, Rejected, Secret, Totp};
use zeroize::Zeroizing;

use crate::audit::{AuditEvent, AuditKind};
use crate::effect::{
    Dispatch, Effect, NotMobileDialog, Notice, Notification, Outcome, ProvisioningUri,
    PushDispatch, Transition,
};
use crate::error::EnrollmentError;
use crate::method::{
    DisplayName, EnrolledMethod, Factor, MethodId, MethodKind, PhoneChannel, PhoneFactor,
    TotpFactor,
};
use crate::policy::{Context, Enforcement};
use crate::recovery::{RecoveryCodes, RecoveryRejection};
use crate::throttle::{Failures, Gate, PassesSuspension};

/// A code typed by the user (one-time code or recovery code).
///
/// # Security
///
/// Zeroized on drop; `Debug` prints `[REDACTED]`; no `Display`.
#[derive(Clone)]
pub struct SubmittedCode(Zeroizing<String>);

impl SubmittedCode {
    /// Wraps the user's input as typed (spaces and hyphens are tolerated).
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
    number: PhoneNumber,
    line_type: LineType,
    channel: PhoneChannel,
    answer: NotMobileAnswer,
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
}

/// Something the user (or an administrator) did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// Begin set-up of a method (the first, another one when enrolled, or
    /// a restart of a pending one).
    StartSetup(SetupChoice),
    /// A code for the pending verification.
    SubmitCode(SubmittedCode),
    /// "Re-send the code" (SMS, phone call, email) or, for an app, "read
    /// the new code from your device".
    Resend(ResendOption),
    /// "Remind me later".
    Defer,
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
    /// Redeem a recovery code (lifts a suspension).
    UseRecoveryCode(SubmittedCode),
    /// The paired push device answered the latest prompt (set-up or
    /// login).
    PushResponse(PushResponse),
    /// An administrator clears the enrollment.
    AdminReset,
}

/// The kind of an [`Event`], for errors and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// [`Event::StartSetup`].
    StartSetup,
    /// [`Event::SubmitCode`].
    SubmitCode,
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
    /// [`Event::UseRecoveryCode`].
    UseRecoveryCode,
    /// [`Event::PushResponse`].
    PushResponse,
    /// [`Event::AdminReset`].
    AdminReset,
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::StartSetup => "start set-up",
            Self::SubmitCode => "submit code",
            Self::Resend => "re-send",
            Self::Defer => "defer",
            Self::Cancel => "cancel",
            Self::ChangeDisplayName => "change display name",
            Self::StartNumberChange => "start number change",
            Self::RemoveMethod => "remove method",
            Self::SetPrimary => "set primary",
            Self::RegenerateRecoveryCodes => "regenerate recovery codes",
            Self::UseRecoveryCode => "use recovery code",
            Self::PushResponse => "push response",
            Self::AdminReset => "admin reset",
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
            Self::Resend(_) => EventKind::Resend,
            Self::Defer => EventKind::Defer,
            Self::Cancel => EventKind::Cancel,
            Self::ChangeDisplayName(_) => EventKind::ChangeDisplayName,
            Self::StartNumberChange { .. } => EventKind::StartNumberChange,
            Self::RemoveMethod(_) => EventKind::RemoveMethod,
            Self::SetPrimary(_) => EventKind::SetPrimary,
            Self::RegenerateRecoveryCodes => EventKind::RegenerateRecoveryCodes,
            Self::UseRecoveryCode(_) => EventKind::UseRecoveryCode,
            Self::PushResponse(_) => EventKind::PushResponse,
            Self::AdminReset => EventKind::AdminReset,
        }
    }
}

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
}

impl PendingKind {
    /// The method being set up.
    #[must_use]
    pub fn method(&self) -> MethodKind {
        match self {
            Self::App { .. } => MethodKind::App,
            Self::Push { .. } => MethodKind::Push,
            Self::Phone { channel, .. } => channel.kind(),
        }
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
    /// start for an app, the current code's expiry for SMS and voice.
    #[must_use]
    pub fn expires_at(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        match &self.kind {
            PendingKind::App { .. } | PendingKind::Push { .. } => self
                .started_at
                .checked_add_signed(ctx.policy().app_pending_lifetime()),
            PendingKind::Phone { challenge, .. } => challenge.expires_at(),
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
}

impl Enrolled {
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

    fn method_mut(&mut self, id: MethodId) -> Option<&mut EnrolledMethod> {
        self.methods.iter_mut().find(|m| m.id == id)
    }
}

/// Where a user stands.
///
/// ```text
///                       Defer (not enforced, under the cap)
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
/// ([`Failures`]): after 100 the second factor is *suspended* (an overlay
/// on the state, not a state of its own) until an administrator resets
/// it or a recovery code is redeemed.
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

/// One user's 2FA enrollment record: the state plus what persists across
/// states (deferrals used, failures, the last second factor).
///
/// Transitions ([`Enrollment::apply`]) take the record by reference and
/// return a new one; an error means nothing changed.
#[derive(Debug, Clone)]
pub struct Enrollment {
    pub(crate) user: UserId,
    pub(crate) display_name: DisplayName,
    pub(crate) email: Option<EmailAddress>,
    pub(crate) state: EnrollmentState,
    pub(crate) deferrals_used: u32,
    pub(crate) failures: Failures,
    pub(crate) last_second_factor_at: Option<DateTime<Utc>>,
    pub(crate) push_log: PushSendLog,
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

/// The second factor was refused at login.
#[derive(Debug)]
#[must_use]
pub struct LoginRejected {
    /// Why.
    pub reason: EnrollmentError,
    /// The record to save when the failure was counted (`None` when the
    /// attempt was refused unevaluated and nothing changed).
    pub outcome: Option<Box<Outcome>>,
}

/// What the user offers at login.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LoginAttempt {
    /// A one-time code of a method.
    Code {
        /// The method.
        method: MethodId,
        /// The code.
        code: SubmittedCode,
    },
    /// A recovery code.
    RecoveryCode(SubmittedCode),
    /// Approval of the push prompt sent by [`Enrollment::send_push`] for
    /// this login.
    Push {
        /// The push method.
        method: MethodId,
    },
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

/// The result of evaluating a code against a pending verification.
#[expect(
    clippy::large_enum_variant,
    reason = "short-lived value inside one transition"
)]
enum CodeCheck {
    Accepted { last_step: Option<u64> },
    Wrong { kind: PendingKind },
}

impl Enrollment {
    /// A new record: not enrolled, no deferrals used.
    #[must_use]
    pub fn new(user: UserId, display_name: DisplayName) -> Self {
        Self {
            user,
            display_name,
            email: None,
            state: EnrollmentState::NotEnrolled,
            deferrals_used: 0,
            failures: Failures::default(),
            last_second_factor_at: None,
            push_log: PushSendLog::new(),
        }
    }

    /// The user's email address: the email re-send channel of phone codes
    /// and the destination of security notifications.
    #[must_use]
    pub fn with_email(mut self, email: EmailAddress) -> Self {
        self.email = Some(email);
        self
    }

    /// The user.
    #[must_use]
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The display name.
    #[must_use]
    pub fn display_name(&self) -> &DisplayName {
        &self.display_name
    }

    /// The user's email, if known.
    #[must_use]
    pub fn email(&self) -> Option<&EmailAddress> {
        self.email.as_ref()
    }

    /// The state.
    #[must_use]
    pub fn state(&self) -> &EnrollmentState {
        &self.state
    }

    /// Deferrals used so far.
    #[must_use]
    pub fn deferrals_used(&self) -> u32 {
        self.deferrals_used
    }

    /// Consecutive failures and suspension.
    #[must_use]
    pub fn failures(&self) -> &Failures {
        &self.failures
    }

    /// When the user last completed a second factor.
    #[must_use]
    pub fn last_second_factor_at(&self) -> Option<DateTime<Utc>> {
        self.last_second_factor_at
    }

    /// Recent push prompts, for the push rate limit.
    #[must_use]
    pub fn push_log(&self) -> &PushSendLog {
        &self.push_log
    }

    /// Applies `event` at `now`.
    ///
    /// # Errors
    ///
    /// [`EnrollmentError`] when the event is refused; the record is then
    /// unchanged. A wrong code is not an error: it returns a record with
    /// the failure counted (save it) and an [`Effect::CodeRejected`].
    ///
    /// # Security
    ///
    /// Save the returned record with compare-and-swap on its version;
    /// for [`Transition::Send`], only after the message was sent.
    pub fn apply(
        &self,
        event: Event,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        let kind = event.kind();
        match event {
            Event::StartSetup(choice) => self.start_setup(choice, ctx, now, rng),
            Event::SubmitCode(code) => self.submit_code(&code, ctx, now, rng),
            Event::Resend(option) => self.resend(option, ctx, now, rng),
            Event::Defer => self.defer(ctx, now),
            Event::Cancel => self.cancel(kind, now),
            Event::ChangeDisplayName(name) => {
                let mut next = self.clone();
                next.display_name = name;
                Ok(save(
                    next,
                    vec![Effect::Audit(
                        self.audit(AuditKind::DisplayNameChanged, now),
                    )],
                ))
            }
            Event::StartNumberChange { method, phone } => {
                self.start_number_change(method, phone, ctx, now, rng)
            }
            Event::RemoveMethod(id) => self.remove_method(id, ctx, now),
            Event::SetPrimary(id) => {
                let enrolled = self.enrolled(kind)?;
                let method = enrolled
                    .method(id)
                    .ok_or(EnrollmentError::UnknownMethod { id })?;
                let audit = self
                    .audit(AuditKind::PrimaryChanged, now)
                    .method(method.kind())
                    .method_id(id);
                let mut next = self.clone();
                if let EnrollmentState::Enrolled(e) = &mut next.state {
                    e.primary = id;
                }
                Ok(save(next, vec![Effect::Audit(audit)]))
            }
            Event::RegenerateRecoveryCodes => {
                self.enrolled(kind)?;
                self.require_step_up(ctx, now)?;
                let (codes, sheet) = RecoveryCodes::generate(&self.user, ctx.key(), now, rng);
                let mut next = self.clone();
                if let EnrollmentState::Enrolled(e) = &mut next.state {
                    e.recovery = codes;
                }
                let effects = vec![
                    Effect::ShowRecoveryCodes(sheet),
                    Effect::Audit(self.audit(AuditKind::RecoveryCodesGenerated, now)),
                    self.notify(Notice::RecoveryCodesRegenerated, None),
                ];
                Ok(save(next, effects))
            }
            Event::UseRecoveryCode(code) => {
                self.enrolled(kind)?;
                match self.redeem_recovery(&code, ctx, now) {
                    Ok(outcome) => Ok(Transition::Save(outcome)),
                    Err(LoginRejected {
                        outcome: Some(outcome),
                        ..
                    }) => Ok(Transition::Save(*outcome)),
                    Err(LoginRejected { reason, .. }) => Err(reason),
                }
            }
            Event::PushResponse(response) => self.push_response(response, ctx, now, rng),
            Event::AdminReset => {
                let mut next = self.clone();
                next.state = EnrollmentState::NotEnrolled;
                next.failures = Failures::default();
                let effects = vec![
                    Effect::Audit(self.audit(AuditKind::AdminReset, now)),
                    self.notify(Notice::AdminReset, None),
                ];
                Ok(save(next, effects))
            }
        }
    }

    fn audit(&self, kind: AuditKind, now: DateTime<Utc>) -> AuditEvent {
        AuditEvent::new(kind, &self.user, now)
    }

    /// A notification to the email and, if given, a phone.
    fn notify(&self, notice: Notice, phone: Option<&PhoneNumber>) -> Effect {
        let mut to = Vec::new();
        if let Some(phone) = phone {
            to.push(Destination::Phone(phone.clone()));
        }
        if let Some(email) = &self.email {
            to.push(Destination::Email(email.clone()));
        }
        Effect::Notify(Notification { notice, to })
    }

    fn not_allowed(&self, event: EventKind) -> EnrollmentError {
        EnrollmentError::NotAllowed {
            state: self.state.kind(),
            event,
        }
    }

    fn enrolled(&self, event: EventKind) -> Result<&Enrolled, EnrollmentError> {
        match &self.state {
            EnrollmentState::Enrolled(enrolled) => Ok(enrolled),
            _ => Err(self.not_allowed(event)),
        }
    }

    fn gate(
        &self,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        passes: PassesSuspension,
    ) -> Result<(), EnrollmentError> {
        self.failures
            .gate(ctx.policy().throttle(), now, passes)
            .map_err(|gate| match gate {
                Gate::RetryAfter(at) => EnrollmentError::RetryAfter { at },
                Gate::Suspended(since) => EnrollmentError::Suspended { since },
            })
    }

    fn suspension_check(&self) -> Result<(), EnrollmentError> {
        match self.failures.suspended_since() {
            Some(since) => Err(EnrollmentError::Suspended { since }),
            None => Ok(()),
        }
    }

    /// A second factor completed within the step-up freshness window
    /// (exclusive end).
    fn require_step_up(
        &self,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), EnrollmentError> {
        self.suspension_check()?;
        let fresh_until = self
            .last_second_factor_at
            .and_then(|at| at.checked_add_signed(ctx.policy().step_up_freshness()));
        match fresh_until {
            Some(until) if now < until && self.last_second_factor_at <= Some(now) => Ok(()),
            _ => Err(EnrollmentError::StepUpRequired),
        }
    }

    /// Records a failure and returns the record plus the audit effects.
    fn with_failure(
        &self,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        kind: AuditKind,
        method: Option<MethodKind>,
    ) -> (Self, Vec<Effect>) {
        let mut next = self.clone();
        next.failures = self.failures.after_failure(ctx.policy().throttle(), now);
        let mut audit = self.audit(kind, now).failures(next.failures.consecutive());
        if let Some(method) = method {
            audit = audit.method(method);
        }
        let mut effects = vec![Effect::Audit(audit)];
        if next.failures.newly_suspended(&self.failures) {
            effects.push(Effect::Audit(
                self.audit(AuditKind::Suspended, now)
                    .failures(next.failures.consecutive()),
            ));
            effects.push(self.notify(Notice::FactorSuspended, None));
        }
        (next, effects)
    }

    fn start_setup(
        &self,
        choice: SetupChoice,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        self.suspension_check()?;
        let adding = matches!(self.state, EnrollmentState::Enrolled(_));
        if adding {
            self.require_step_up(ctx, now)?;
        }
        let purpose = Purpose::Enrollment;
        let (pending, mut effects, message) = match choice {
            SetupChoice::App | SetupChoice::Push => {
                let secret = Secret::generate(rng, Algorithm::Sha1);
                let uri = KeyUri::totp(
                    ctx.issuer().as_str(),
                    self.display_name.as_str(),
                    secret.clone(),
                )
                .map_err(|_| EnrollmentError::KeyUri)?;
                let kind = if matches!(choice, SetupChoice::App) {
                    PendingKind::App { secret }
                } else {
                    PendingKind::Push {
                        secret,
                        request: None,
                    }
                };
                (
                    kind,
                    vec![Effect::ShowKeyUri(ProvisioningUri::new(uri))],
                    None,
                )
            }
            SetupChoice::Phone(phone) => {
                if let Some(dialog) = self.not_mobile_dialog(&phone, now) {
                    return Ok(Transition::Save(Outcome::new(self.clone(), dialog)));
                }
                let (kind, message) = self.issue_phone(phone, purpose, ctx, now, rng)?;
                (kind, Vec::new(), Some(message))
            }
        };
        let method = pending.method();
        let setup = PendingSetup {
            kind: pending,
            started_at: now,
            failed_attempts: 0,
            replaces: None,
        };
        let mut audit = self.audit(AuditKind::EnrollmentStarted, now).method(method);
        if let PendingKind::Phone { number, .. } = &setup.kind {
            audit = audit.destination(&Destination::Phone(number.clone()));
        }
        effects.push(Effect::Audit(audit));
        let mut next = self.clone();
        match &mut next.state {
            EnrollmentState::Enrolled(enrolled) => enrolled.change = Some(setup),
            state => *state = EnrollmentState::Pending(setup),
        }
        Ok(finish(next, effects, message))
    }

    /// The dialog effects when the number is not a known mobile and the
    /// user has not yet chosen to continue with voice.
    fn not_mobile_dialog(&self, phone: &PhoneSetup, now: DateTime<Utc>) -> Option<Vec<Effect>> {
        if !phone.line_type.recommends_app() {
            return None;
        }
        match (phone.answer, phone.channel) {
            (NotMobileAnswer::NotAsked, _) => Some(vec![
                Effect::ShowNotMobileDialog(NotMobileDialog {
                    line_type: phone.line_type,
                    recommended: MethodKind::App,
                    alternative: PhoneChannel::Voice,
                }),
                Effect::Audit(
                    self.audit(AuditKind::NotMobileDialogShown, now)
                        .destination(&Destination::Phone(phone.number.clone())),
                ),
            ]),
            // `with_answer` has switched the channel to voice.
            (NotMobileAnswer::ContinueWithVoice, _) => None,
        }
    }

    fn issue_phone(
        &self,
        phone: PhoneSetup,
        purpose: Purpose,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<(PendingKind, Sent), EnrollmentError> {
        let mut request = ChallengeRequest::new(
            self.user.clone(),
            purpose,
            Destination::Phone(phone.number.clone()),
            phone.channel.code_channel(),
        );
        if let Some(email) = &self.email {
            request = request.with_fallback_email(email.clone());
        }
        let prepared = OobChallenge::issue(
            request,
            ctx.policy().challenge(),
            ctx.templates(),
            ctx.key(),
            now,
            rng,
        )
        .map_err(EnrollmentError::Issue)?;
        let message = sent_of(&prepared);
        let challenge = prepared.commit();
        Ok((
            PendingKind::Phone {
                number: phone.number,
                channel: phone.channel,
                line_type: phone.line_type,
                challenge,
            },
            message,
        ))
    }

    fn pending_of(&self, event: EventKind) -> Result<&PendingSetup, EnrollmentError> {
        match &self.state {
            EnrollmentState::Pending(pending) => Ok(pending),
            EnrollmentState::Enrolled(Enrolled {
                change: Some(pending),
                ..
            }) => Ok(pending),
            _ => Err(self.not_allowed(event)),
        }
    }

    fn replace_pending(&mut self, pending: PendingSetup) {
        match &mut self.state {
            EnrollmentState::Enrolled(enrolled) => enrolled.change = Some(pending),
            state => *state = EnrollmentState::Pending(pending),
        }
    }

    fn submit_code(
        &self,
        code: &SubmittedCode,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        let pending = self.pending_of(EventKind::SubmitCode)?;
        self.gate(ctx, now, PassesSuspension::No)?;
        if let Some(expires_at) = pending.expires_at(ctx)
            && now >= expires_at
        {
            return Err(EnrollmentError::PendingExpired {
                expired_at: expires_at,
            });
        }
        let max = ctx.policy().max_wrong_codes();
        if pending.failed_attempts >= max {
            return Err(EnrollmentError::TooManyWrongCodes);
        }
        match check_pending(pending, code, ctx, now)? {
            CodeCheck::Wrong { kind } => {
                let method = kind.method();
                let (mut next, mut effects) =
                    self.with_failure(ctx, now, AuditKind::EnrollmentCodeRejected, Some(method));
                let failed_attempts = pending.failed_attempts.saturating_add(1);
                next.replace_pending(PendingSetup {
                    kind,
                    started_at: pending.started_at,
                    failed_attempts,
                    replaces: pending.replaces,
                });
                effects.insert(
                    0,
                    Effect::CodeRejected {
                        attempts_left: max.saturating_sub(failed_attempts),
                    },
                );
                Ok(save(next, effects))
            }
            CodeCheck::Accepted { last_step } => self.activate(pending, last_step, ctx, now, rng),
        }
    }

    fn activate(
        &self,
        pending: &PendingSetup,
        last_step: Option<u64>,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        let factor = match &pending.kind {
            PendingKind::App { secret } => Factor::App(TotpFactor {
                secret: secret.clone(),
                last_step,
            }),
            PendingKind::Push { secret, .. } => Factor::Push(TotpFactor {
                secret: secret.clone(),
                last_step,
            }),
            PendingKind::Phone {
                number, channel, ..
            } => Factor::Phone(PhoneFactor {
                number: number.clone(),
                channel: *channel,
            }),
        };
        let kind = factor.kind();
        let destination = match &factor {
            Factor::Phone(phone) => Some(Destination::Phone(phone.number.clone())),
            _ => None,
        };
        let mut next = self.clone();
        next.failures = Failures::default();
        next.last_second_factor_at = Some(now);
        let mut effects = Vec::new();
        match &mut next.state {
            EnrollmentState::Enrolled(enrolled) => {
                enrolled.change = None;
                match pending.replaces {
                    Some(id) => {
                        let Some(method) = enrolled.method_mut(id) else {
                            return Err(EnrollmentError::UnknownMethod { id });
                        };
                        let old = match &method.factor {
                            Factor::Phone(phone) => Some(phone.number.clone()),
                            _ => None,
                        };
                        method.factor = factor;
                        method.enrolled_at = now;
                        method.last_used_at = Some(now);
                        let mut audit = self
                            .audit(AuditKind::NumberChanged, now)
                            .method(kind)
                            .method_id(id);
                        if let Some(d) = &destination {
                            audit = audit.destination(d);
                        }
                        effects.push(Effect::Audit(audit));
                        effects.push(self.notify(Notice::NumberChanged, old.as_ref()));
                    }
                    None => {
                        let id = MethodId::new(enrolled.next_id);
                        enrolled.next_id = enrolled
                            .next_id
                            .checked_add(1)
                            .ok_or(EnrollmentError::TimeOutOfRange)?;
                        enrolled.methods.push(EnrolledMethod {
                            id,
                            factor,
                            enrolled_at: now,
                            last_used_at: Some(now),
                        });
                        let mut audit = self
                            .audit(AuditKind::EnrollmentVerified, now)
                            .method(kind)
                            .method_id(id);
                        if let Some(d) = &destination {
                            audit = audit.destination(d);
                        }
                        effects.push(Effect::Audit(audit));
                        effects.push(self.notify(Notice::MethodAdded, None));
                    }
                }
            }
            state => {
                let id = MethodId::new(1);
                let (recovery, sheet) = RecoveryCodes::generate(&self.user, ctx.key(), now, rng);
                *state = EnrollmentState::Enrolled(Enrolled {
                    methods: vec![EnrolledMethod {
                        id,
                        factor,
                        enrolled_at: now,
                        last_used_at: Some(now),
                    }],
                    primary: id,
                    enrolled_at: now,
                    recovery,
                    change: None,
                    next_id: 2,
                    login_challenge: None,
                    push_request: None,
                });
                let mut audit = self
                    .audit(AuditKind::EnrollmentVerified, now)
                    .method(kind)
                    .method_id(id);
                if let Some(d) = &destination {
                    audit = audit.destination(d);
                }
                effects.push(Effect::ShowRecoveryCodes(sheet));
                effects.push(Effect::Audit(audit));
                effects.push(Effect::Audit(
                    self.audit(AuditKind::RecoveryCodesGenerated, now),
                ));
            }
        }
        Ok(save(next, effects))
    }

    fn resend(
        &self,
        option: ResendOption,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        let pending = self.pending_of(EventKind::Resend)?;
        self.suspension_check()?;
        match (&pending.kind, option.plan()) {
            (PendingKind::App { .. } | PendingKind::Push { .. }, ResendPlan::ReadYourDevice) => {
                if let Some(expires_at) = pending.expires_at(ctx)
                    && now >= expires_at
                {
                    return Err(EnrollmentError::PendingExpired {
                        expired_at: expires_at,
                    });
                }
                Ok(save(self.clone(), vec![Effect::ReadCodeFromDevice]))
            }
            (
                PendingKind::Phone {
                    number,
                    channel,
                    line_type,
                    challenge,
                },
                ResendPlan::FreshCode(code_channel),
            ) => {
                let prepared = challenge
                    .resend(
                        code_channel,
                        ctx.policy().challenge(),
                        ctx.templates(),
                        ctx.key(),
                        now,
                        rng,
                    )
                    .map_err(EnrollmentError::Resend)?;
                let message = sent_of(&prepared);
                let destination = match code_channel {
                    CodeChannel::Email => self.email.clone().map(Destination::Email),
                    _ => Some(Destination::Phone(number.clone())),
                };
                let challenge = prepared.commit();
                let mut next = self.clone();
                next.replace_pending(PendingSetup {
                    kind: PendingKind::Phone {
                        number: number.clone(),
                        channel: *channel,
                        line_type: *line_type,
                        challenge,
                    },
                    started_at: pending.started_at,
                    failed_attempts: pending.failed_attempts,
                    replaces: pending.replaces,
                });
                let mut audit = self
                    .audit(AuditKind::CodeResent, now)
                    .method(channel.kind());
                if let Some(d) = &destination {
                    audit = audit.destination(d);
                }
                Ok(finish(next, vec![Effect::Audit(audit)], Some(message)))
            }
            _ => Err(EnrollmentError::ResendNotApplicable),
        }
    }

    fn defer(&self, ctx: &Context<'_>, now: DateTime<Utc>) -> Result<Transition, EnrollmentError> {
        match &self.state {
            EnrollmentState::NotEnrolled | EnrollmentState::Pending(_) => {}
            EnrollmentState::Deferred { until } => {
                if now < *until {
                    return Err(EnrollmentError::AlreadyDeferred { until: *until });
                }
            }
            EnrollmentState::Enrolled(_) => return Err(self.not_allowed(EventKind::Defer)),
        }
        if ctx.enforcement() == Enforcement::Required {
            return Err(EnrollmentError::DeferralUnavailable);
        }
        let cap = ctx.policy().deferral_cap();
        if !cap.allows_another(self.deferrals_used) {
            let crate::policy::DeferralCap::Limited(cap) = cap else {
                return Err(EnrollmentError::TimeOutOfRange);
            };
            return Err(EnrollmentError::DeferralCapReached { cap });
        }
        let until = now
            .checked_add_signed(ctx.policy().deferral())
            .ok_or(EnrollmentError::TimeOutOfRange)?;
        let mut next = self.clone();
        next.state = EnrollmentState::Deferred { until };
        next.deferrals_used = self.deferrals_used.saturating_add(1);
        Ok(save(
            next,
            vec![Effect::Audit(
                self.audit(AuditKind::EnrollmentDeferred, now),
            )],
        ))
    }

    fn cancel(&self, event: EventKind, now: DateTime<Utc>) -> Result<Transition, EnrollmentError> {
        let mut next = self.clone();
        let method = match &mut next.state {
            EnrollmentState::Pending(pending) => {
                let method = pending.kind.method();
                next.state = EnrollmentState::NotEnrolled;
                method
            }
            EnrollmentState::Enrolled(enrolled) => match enrolled.change.take() {
                Some(change) => change.kind.method(),
                None => return Err(self.not_allowed(event)),
            },
            _ => return Err(self.not_allowed(event)),
        };
        Ok(save(
            next,
            vec![Effect::Audit(
                self.audit(AuditKind::EnrollmentCancelled, now)
                    .method(method),
            )],
        ))
    }

    fn start_number_change(
        &self,
        id: MethodId,
        phone: PhoneSetup,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        let enrolled = self.enrolled(EventKind::StartNumberChange)?;
        let method = enrolled
            .method(id)
            .ok_or(EnrollmentError::UnknownMethod { id })?;
        let Factor::Phone(old) = &method.factor else {
            return Err(EnrollmentError::NotAPhoneMethod { id });
        };
        self.require_step_up(ctx, now)?;
        if let Some(dialog) = self.not_mobile_dialog(&phone, now) {
            return Ok(Transition::Save(Outcome::new(self.clone(), dialog)));
        }
        let new_destination = Destination::Phone(phone.number.clone());
        let (kind, message) =
            self.issue_phone(phone, Purpose::VerifyNewDestination, ctx, now, rng)?;
        let method_kind = kind.method();
        let mut next = self.clone();
        next.replace_pending(PendingSetup {
            kind,
            started_at: now,
            failed_attempts: 0,
            replaces: Some(id),
        });
        let effects = vec![
            Effect::Audit(
                self.audit(AuditKind::NumberChangeStarted, now)
                    .method(method_kind)
                    .method_id(id)
                    .destination(&new_destination),
            ),
            self.notify(Notice::NumberChangeStarted, Some(&old.number)),
        ];
        Ok(finish(next, effects, Some(message)))
    }

    fn remove_method(
        &self,
        id: MethodId,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
    ) -> Result<Transition, EnrollmentError> {
        let enrolled = self.enrolled(EventKind::RemoveMethod)?;
        let method = enrolled
            .method(id)
            .ok_or(EnrollmentError::UnknownMethod { id })?;
        let last = enrolled.methods.len() <= 1;
        if last && ctx.enforcement() == Enforcement::Required {
            return Err(EnrollmentError::LastMethodUnderEnforcement);
        }
        self.require_step_up(ctx, now)?;
        let audit = self
            .audit(AuditKind::MethodRemoved, now)
            .method(method.kind())
            .method_id(id);
        let mut next = self.clone();
        if last {
            next.state = EnrollmentState::NotEnrolled;
        } else if let EnrollmentState::Enrolled(e) = &mut next.state {
            e.methods.retain(|m| m.id != id);
            if e.primary == id
                && let Some(first) = e.methods.first()
            {
                e.primary = first.id;
            }
            if e.change.as_ref().and_then(|c| c.replaces) == Some(id) {
                e.change = None;
            }
        }
        Ok(save(
            next,
            vec![
                Effect::Audit(audit),
                self.notify(Notice::MethodRemoved, None),
            ],
        ))
    }

    fn redeem_recovery(
        &self,
        code: &SubmittedCode,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, LoginRejected> {
        let refuse = |reason| LoginRejected {
            reason,
            outcome: None,
        };
        let enrolled = self.enrolled(EventKind::UseRecoveryCode).map_err(refuse)?;
        self.gate(ctx, now, PassesSuspension::Yes).map_err(refuse)?;
        match enrolled
            .recovery
            .redeem(&self.user, ctx.key(), code.expose_secret(), now)
        {
            Err(RecoveryRejection::Malformed) => Err(refuse(EnrollmentError::MalformedCode)),
            Err(RecoveryRejection::NoMatch) => {
                let (next, mut effects) =
                    self.with_failure(ctx, now, AuditKind::RecoveryCodeRejected, None);
                effects.insert(0, Effect::CodeRejected { attempts_left: 0 });
                Err(LoginRejected {
                    reason: EnrollmentError::WrongCode,
                    outcome: Some(Box::new(Outcome::new(next, effects))),
                })
            }
            Ok(recovery) => {
                let remaining = recovery.remaining();
                let primary_phone = enrolled.methods.iter().find_map(|m| match &m.factor {
                    Factor::Phone(p) => Some(p.number.clone()),
                    _ => None,
                });
                let mut next = self.clone();
                next.failures = Failures::default();
                next.last_second_factor_at = Some(now);
                if let EnrollmentState::Enrolled(e) = &mut next.state {
                    e.recovery = recovery;
                }
                let effects = vec![
                    Effect::Audit(self.audit(AuditKind::RecoveryCodeUsed, now)),
                    self.notify(
                        Notice::RecoveryCodeUsed { remaining },
                        primary_phone.as_ref(),
                    ),
                ];
                Ok(Outcome::new(next, effects))
            }
        }
    }

    /// Sends a login code to a phone method (SMS or voice as enrolled, or
    /// `channel` to override: SMS, voice or the user's email) for the
    /// login `transaction`. A second call for the same transaction re-sends
    /// (fresh code, same failure count); for another transaction it starts
    /// a new challenge.
    ///
    /// # Errors
    ///
    /// [`EnrollmentError`]: not enrolled, unknown or non-phone method,
    /// suspension, or the delivery crate's issue/re-send refusals.
    pub fn send_login_code(
        &self,
        id: MethodId,
        channel: Option<CodeChannel>,
        transaction: &TransactionId,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Dispatch, EnrollmentError> {
        let enrolled = self.enrolled(EventKind::Resend)?;
        self.suspension_check()?;
        let method = enrolled
            .method(id)
            .ok_or(EnrollmentError::UnknownMethod { id })?;
        let Factor::Phone(phone) = &method.factor else {
            return Err(EnrollmentError::NotACodeRecipient { id });
        };
        let channel = channel.unwrap_or(phone.channel.code_channel());
        let destination = Destination::Phone(phone.number.clone());
        let purpose = Purpose::Login {
            transaction: transaction.clone(),
        };
        let existing = enrolled.login_challenge.as_ref().filter(|c| {
            *c.purpose() == purpose
                && *c.destination() == destination
                && !matches!(
                    c.status(ctx.policy().challenge(), now),
                    ChallengeStatus::Used { .. }
                )
        });
        let prepared = match existing {
            Some(challenge) => challenge
                .resend(
                    channel,
                    ctx.policy().challenge(),
                    ctx.templates(),
                    ctx.key(),
                    now,
                    rng,
                )
                .map_err(EnrollmentError::Resend)?,
            None => {
                let mut request =
                    ChallengeRequest::new(self.user.clone(), purpose, destination.clone(), channel);
                if let Some(email) = &self.email {
                    request = request.with_fallback_email(email.clone());
                }
                OobChallenge::issue(
                    request,
                    ctx.policy().challenge(),
                    ctx.templates(),
                    ctx.key(),
                    now,
                    rng,
                )
                .map_err(EnrollmentError::Issue)?
            }
        };
        let (message, code) = sent_of(&prepared);
        let challenge = prepared.commit();
        let mut next = self.clone();
        if let EnrollmentState::Enrolled(e) = &mut next.state {
            e.login_challenge = Some(challenge);
        }
        let audit = self
            .audit(AuditKind::LoginCodeSent, now)
            .method(method.kind())
            .method_id(id)
            .destination(&destination);
        Ok(Dispatch::new(
            message,
            code,
            Outcome::new(next, vec![Effect::Audit(audit)]),
        ))
    }

    /// Verifies a second factor at login: a TOTP code of an app or push
    /// method (its step is then burned), the code sent by
    /// [`Enrollment::send_login_code`] for `transaction`, or a recovery
    /// code.
    ///
    /// # Errors
    ///
    /// [`LoginRejected`] with the reason; when the failure was counted it
    /// carries the record to save. Throttled and suspended attempts are
    /// refused without looking at the code.
    ///
    /// # Security
    ///
    /// Save the record of [`LoginAccepted`] with compare-and-swap and let
    /// the user in only if the save succeeded: that is what keeps a TOTP
    /// code single-use across servers.
    pub fn verify_login(
        &self,
        attempt: &LoginAttempt,
        transaction: &TransactionId,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
    ) -> Result<LoginAccepted, LoginRejected> {
        let refuse = |reason| LoginRejected {
            reason,
            outcome: None,
        };
        let (id, code) = match attempt {
            LoginAttempt::RecoveryCode(code) => {
                return self
                    .redeem_recovery(code, ctx, now)
                    .map(|outcome| LoginAccepted {
                        outcome,
                        method: None,
                    });
            }
            LoginAttempt::Code { method, code } => (*method, code),
            LoginAttempt::Push { method } => {
                return self.verify_push(*method, transaction, now).map_err(refuse);
            }
        };
        let enrolled = self.enrolled(EventKind::SubmitCode).map_err(refuse)?;
        let method = enrolled
            .method(id)
            .ok_or(EnrollmentError::UnknownMethod { id })
            .map_err(refuse)?;
        self.gate(ctx, now, PassesSuspension::No).map_err(refuse)?;
        let kind = method.kind();
        let accepted = match &method.factor {
            Factor::App(totp) | Factor::Push(totp) => {
                let seconds = unix_seconds(now).map_err(refuse)?;
                match Totp::new(&totp.secret, Algorithm::Sha1).verify(
                    code.expose_secret(),
                    seconds,
                    totp.last_step,
                    ctx.policy().totp_window(),
                ) {
                    Ok(accepted) => Ok((Some(accepted.step), None)),
                    Err(Rejected::Malformed(_)) => {
                        return Err(refuse(EnrollmentError::MalformedCode));
                    }
                    Err(_) => Err(None),
                }
            }
            Factor::Phone(phone) => {
                let purpose = Purpose::Login {
                    transaction: transaction.clone(),
                };
                let destination = Destination::Phone(phone.number.clone());
                let challenge = enrolled
                    .login_challenge
                    .as_ref()
                    .filter(|c| *c.purpose() == purpose && *c.destination() == destination)
                    .ok_or(EnrollmentError::NoCodeOutstanding)
                    .map_err(refuse)?;
                match challenge.check(
                    code.expose_secret(),
                    ctx.policy().challenge(),
                    ctx.key(),
                    now,
                ) {
                    Ok(verified) => Ok((None, Some(verified.into_record()))),
                    Err(rejected) => match rejected.audit_reason() {
                        AuditReason::Malformed => {
                            return Err(refuse(EnrollmentError::MalformedCode));
                        }
                        AuditReason::Expired { expired_at } => {
                            return Err(refuse(EnrollmentError::PendingExpired { expired_at }));
                        }
                        AuditReason::WrongCode { .. } => Err(Some(rejected.into_record())),
                        _ => return Err(refuse(EnrollmentError::TooManyWrongCodes)),
                    },
                }
            }
        };
        match accepted {
            Ok((step, challenge)) => {
                let mut next = self.clone();
                next.failures = Failures::default();
                next.last_second_factor_at = Some(now);
                if let EnrollmentState::Enrolled(e) = &mut next.state {
                    if let Some(challenge) = challenge {
                        e.login_challenge = Some(challenge);
                    }
                    if let Some(m) = e.method_mut(id) {
                        m.last_used_at = Some(now);
                        if let (Some(totp), Some(step)) = (m.factor.totp_mut(), step) {
                            totp.last_step = Some(step);
                        }
                    }
                }
                let audit = self
                    .audit(AuditKind::LoginSucceeded, now)
                    .method(kind)
                    .method_id(id);
                Ok(LoginAccepted {
                    outcome: Outcome::new(next, vec![Effect::Audit(audit)]),
                    method: Some(id),
                })
            }
            Err(challenge) => {
                let (mut next, effects) =
                    self.with_failure(ctx, now, AuditKind::LoginFailed, Some(kind));
                if let (EnrollmentState::Enrolled(e), Some(challenge)) =
                    (&mut next.state, challenge)
                {
                    e.login_challenge = Some(challenge);
                }
                let reason = match next.failures.suspended_since() {
                    Some(since) => EnrollmentError::Suspended { since },
                    None => EnrollmentError::WrongCode,
                };
                Err(LoginRejected {
                    reason,
                    outcome: Some(Box::new(Outcome::new(next, effects))),
                })
            }
        }
    }
}

impl Enrollment {
    /// Prepares a push prompt to the paired device: the one being set up
    /// ([`PushTarget::PendingSetup`]) or an enrolled push method for a
    /// login. Subject to the push rate limit of the policy.
    ///
    /// # Errors
    ///
    /// [`EnrollmentError`]: no such push method or set-up, suspension, or
    /// the delivery crate's refusal ([`EnrollmentError::Push`]).
    pub fn send_push(
        &self,
        target: PushTarget,
        transaction: &TransactionId,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<PushDispatch, EnrollmentError> {
        self.suspension_check()?;
        let method_id = match target {
            PushTarget::PendingSetup => {
                let pending = self.pending_of(EventKind::PushResponse)?;
                if !matches!(pending.kind, PendingKind::Push { .. }) {
                    return Err(EnrollmentError::NotAPushMethod { id: None });
                }
                if let Some(expires_at) = pending.expires_at(ctx)
                    && now >= expires_at
                {
                    return Err(EnrollmentError::PendingExpired {
                        expired_at: expires_at,
                    });
                }
                None
            }
            PushTarget::Method(id) => {
                let enrolled = self.enrolled(EventKind::PushResponse)?;
                let method = enrolled
                    .method(id)
                    .ok_or(EnrollmentError::UnknownMethod { id })?;
                if !matches!(method.factor, Factor::Push(_)) {
                    return Err(EnrollmentError::NotAPushMethod { id: Some(id) });
                }
                Some(id)
            }
        };
        let prepared = PushRequest::prepare(
            self.user.clone(),
            transaction.clone(),
            ctx.issuer(),
            ctx.policy().push(),
            &self.push_log,
            now,
            rng,
        )
        .map_err(EnrollmentError::Push)?;
        let message = prepared.message().clone();
        let match_number = prepared.match_number();
        let (request, log) = prepared.commit();
        let mut next = self.clone();
        next.push_log = log;
        match (&mut next.state, method_id) {
            (EnrollmentState::Enrolled(e), Some(_)) => e.push_request = Some(request),
            (EnrollmentState::Pending(p), None)
            | (
                EnrollmentState::Enrolled(Enrolled {
                    change: Some(p), ..
                }),
                None,
            ) => {
                if let PendingKind::Push { request: slot, .. } = &mut p.kind {
                    *slot = Some(request);
                }
            }
            _ => return Err(self.not_allowed(EventKind::PushResponse)),
        }
        let mut audit = self
            .audit(AuditKind::PushSent, now)
            .method(MethodKind::Push);
        if let Some(id) = method_id {
            audit = audit.method_id(id);
        }
        Ok(PushDispatch::new(
            message,
            match_number,
            Outcome::new(next, vec![Effect::Audit(audit)]),
        ))
    }

    fn push_response(
        &self,
        response: PushResponse,
        ctx: &Context<'_>,
        now: DateTime<Utc>,
        rng: &mut impl CryptoRng,
    ) -> Result<Transition, EnrollmentError> {
        self.suspension_check()?;
        let map_push = |error| match error {
            PushError::Expired { expired_at } => EnrollmentError::PendingExpired { expired_at },
            _ => EnrollmentError::PushAlreadyAnswered,
        };
        // A pending push set-up takes the answer first.
        if let Ok(pending) = self.pending_of(EventKind::PushResponse)
            && let PendingKind::Push {
                secret,
                request: Some(request),
            } = &pending.kind
        {
            if let Some(expires_at) = pending.expires_at(ctx)
                && now >= expires_at
            {
                return Err(EnrollmentError::PendingExpired {
                    expired_at: expires_at,
                });
            }
            let answered = request.respond(response, now).map_err(map_push)?;
            if matches!(answered.status(now), PushStatus::Approved { .. }) {
                return self.activate(pending, None, ctx, now, rng);
            }
            let (mut next, mut effects) = self.with_failure(
                ctx,
                now,
                AuditKind::EnrollmentCodeRejected,
                Some(MethodKind::Push),
            );
            let failed_attempts = pending.failed_attempts.saturating_add(1);
            next.replace_pending(PendingSetup {
                kind: PendingKind::Push {
                    secret: secret.clone(),
                    request: Some(answered),
                },
                started_at: pending.started_at,
                failed_attempts,
                replaces: pending.replaces,
            });
            effects.insert(
                0,
                Effect::CodeRejected {
                    attempts_left: ctx
                        .policy()
                        .max_wrong_codes()
                        .saturating_sub(failed_attempts),
                },
            );
            return Ok(save(next, effects));
        }
        let EnrollmentState::Enrolled(Enrolled {
            push_request: Some(request),
            ..
        }) = &self.state
        else {
            return Err(match self.state {
                EnrollmentState::Pending(_) | EnrollmentState::Enrolled(_) => {
                    EnrollmentError::NoPushOutstanding
                }
                _ => self.not_allowed(EventKind::PushResponse),
            });
        };
        let answered = request.respond(response, now).map_err(map_push)?;
        let approved = matches!(answered.status(now), PushStatus::Approved { .. });
        let (mut next, effects) = if approved {
            // The login consumes the approval (`verify_login`).
            (self.clone(), Vec::new())
        } else {
            self.with_failure(ctx, now, AuditKind::LoginFailed, Some(MethodKind::Push))
        };
        if let EnrollmentState::Enrolled(e) = &mut next.state {
            e.push_request = Some(answered);
        }
        Ok(save(next, effects))
    }

    fn verify_push(
        &self,
        id: MethodId,
        transaction: &TransactionId,
        now: DateTime<Utc>,
    ) -> Result<LoginAccepted, EnrollmentError> {
        let enrolled = self.enrolled(EventKind::PushResponse)?;
        let method = enrolled
            .method(id)
            .ok_or(EnrollmentError::UnknownMethod { id })?;
        if !matches!(method.factor, Factor::Push(_)) {
            return Err(EnrollmentError::NotAPushMethod { id: Some(id) });
        }
        self.suspension_check()?;
        let request = enrolled
            .push_request
            .as_ref()
            .filter(|r| r.transaction() == transaction)
            .ok_or(EnrollmentError::NoPushOutstanding)?;
        match request.status(now) {
            PushStatus::Approved { .. } => {}
            PushStatus::Pending { .. } => return Err(EnrollmentError::PushPending),
            PushStatus::Expired { expired_at } => {
                return Err(EnrollmentError::PendingExpired { expired_at });
            }
            _ => return Err(EnrollmentError::PushDenied),
        }
        let mut next = self.clone();
        next.failures = Failures::default();
        next.last_second_factor_at = Some(now);
        if let EnrollmentState::Enrolled(e) = &mut next.state {
            // Consumed: one approval completes one login.
            e.push_request = None;
            if let Some(m) = e.method_mut(id) {
                m.last_used_at = Some(now);
            }
        }
        let audit = self
            .audit(AuditKind::LoginSucceeded, now)
            .method(MethodKind::Push)
            .method_id(id);
        Ok(LoginAccepted {
            outcome: Outcome::new(next, vec![Effect::Audit(audit)]),
            method: Some(id),
        })
    }
}

fn unix_seconds(now: DateTime<Utc>) -> Result<u64, EnrollmentError> {
    u64::try_from(now.timestamp()).map_err(|_| EnrollmentError::TimeOutOfRange)
}

fn save(record: Enrollment, effects: Vec<Effect>) -> Transition {
    Transition::Save(Outcome::new(record, effects))
}

/// A message to send and its plain code.
type Sent = (OutboundMessage, Zeroizing<String>);

fn sent_of(prepared: &PreparedSend) -> Sent {
    (
        prepared.message().clone(),
        Zeroizing::new(prepared.code().expose_secret().to_owned()),
    )
}

fn finish(record: Enrollment, effects: Vec<Effect>, message: Option<Sent>) -> Transition {
    let outcome = Outcome::new(record, effects);
    match message {
        Some((message, code)) => Transition::Send(Dispatch::new(message, code, outcome)),
        None => Transition::Save(outcome),
    }
}

/// Evaluates `code` against a pending verification (throttling, expiry and
/// the wrong-code limit already checked).
fn check_pending(
    pending: &PendingSetup,
    code: &SubmittedCode,
    ctx: &Context<'_>,
    now: DateTime<Utc>,
) -> Result<CodeCheck, EnrollmentError> {
    match &pending.kind {
        PendingKind::App { secret } | PendingKind::Push { secret, .. } => {
            let seconds = unix_seconds(now)?;
            match Totp::new(secret, Algorithm::Sha1).verify(
                code.expose_secret(),
                seconds,
                None,
                ctx.policy().totp_window(),
            ) {
                Ok(accepted) => Ok(CodeCheck::Accepted {
                    last_step: Some(accepted.step),
                }),
                Err(Rejected::Malformed(_)) => Err(EnrollmentError::MalformedCode),
                Err(_) => Ok(CodeCheck::Wrong {
                    kind: pending.kind.clone(),
                }),
            }
        }
        PendingKind::Phone {
            number,
            channel,
            line_type,
            challenge,
        } => match challenge.check(
            code.expose_secret(),
            ctx.policy().challenge(),
            ctx.key(),
            now,
        ) {
            Ok(_) => Ok(CodeCheck::Accepted { last_step: None }),
            Err(rejected) => match rejected.audit_reason() {
                AuditReason::Malformed => Err(EnrollmentError::MalformedCode),
                AuditReason::Expired { expired_at } => {
                    Err(EnrollmentError::PendingExpired { expired_at })
                }
                AuditReason::WrongCode { .. } => Ok(CodeCheck::Wrong {
                    kind: PendingKind::Phone {
                        number: number.clone(),
                        channel: *channel,
                        line_type: *line_type,
                        challenge: rejected.into_record(),
                    },
                }),
                _ => Err(EnrollmentError::TooManyWrongCodes),
            },
        },
    }
}
