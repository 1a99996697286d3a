//! The enrollment record and its transitions: the record itself, the one
//! dispatch on [`Event`], and the guards every transition shares.

mod code;
mod event;
mod login;
mod passkey;
mod push;
mod receipt;
mod setup;
mod state;

use chrono::{DateTime, Utc};
use rand_core::CryptoRng;
use twofa_delivery::{
    Destination, EmailAddress, Notice, OutboundMessage, PhoneNumber, PreparedSend, PushSendLog,
};
use zeroize::Zeroizing;

pub use event::{
    Event, EventKind, LoginAttempt, NotMobileAnswer, PasskeyResponse, PhoneSetup, PushTarget,
    SetupChoice, SubmittedCode,
};
use login::LoginRejected;
pub use state::{Enrolled, EnrollmentState, PasskeyLogin, PendingKind, PendingSetup, StateKind};
use twofa_types::{Method, UserId};

use crate::audit::{AuditKind, EnrollmentAudit};
use crate::effect::{Dispatch, Effect, FactorChange, Notification, Outcome, Transition};
use crate::error::EnrollmentError;
use crate::method::DisplayName;
use crate::policy::{Context, EnrollmentPolicy};
use crate::recovery::RecoveryCodes;
use crate::throttle::{Failures, Gate, PassesSuspension};

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

    /// Rebuilds a stored record from its parts: the user, the display
    /// name, the state, the deferrals used, the failures, the last second
    /// factor and the recent push prompts; the email is added with
    /// [`Enrollment::with_email`].
    ///
    /// For a store's codec (the `twofa` facade's sealed records): a record
    /// otherwise changes only through its transitions. The state's own
    /// parts are validated where they are built
    /// ([`Enrolled::restore`]).
    #[must_use]
    pub fn restore(
        user: UserId,
        display_name: DisplayName,
        state: EnrollmentState,
        deferrals_used: u32,
        failures: Failures,
        last_second_factor_at: Option<DateTime<Utc>>,
        push_log: PushSendLog,
    ) -> Self {
        Self {
            user,
            display_name,
            email: None,
            state,
            deferrals_used,
            failures,
            last_second_factor_at,
            push_log,
        }
    }

    /// The user's email address: the email re-send channel of phone codes
    /// and the destination of security notifications.
    #[must_use]
    pub fn with_email(mut self, email: EmailAddress) -> Self {
        self.email = Some(email);
        self
    }

    /// The record without an email address: codes can no longer be re-sent
    /// by email, and notices go to the phone only.
    #[must_use]
    pub fn without_email(mut self) -> Self {
        self.email = None;
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

    /// Applies `event` at `now`: the machine's one input. Set-up and account
    /// events answer [`Transition::Save`] or [`Transition::Send`];
    /// [`Event::SendLoginCode`] answers [`Transition::Send`],
    /// [`Event::SendPush`] [`Transition::SendPush`], and [`Event::Login`]
    /// [`Transition::LoginAccepted`] or [`Transition::LoginRefused`].
    ///
    /// # Errors
    ///
    /// [`EnrollmentError`] when the event is refused; the record is then
    /// unchanged. A wrong code is not an error: it returns a record with
    /// the failure counted (save it): an [`Effect::CodeRejected`] during
    /// set-up, [`Transition::LoginRefused`] at login.
    ///
    /// # Security
    ///
    /// Save the returned record with compare-and-swap on its version;
    /// for the sending transitions, only after the message was sent; let a
    /// login in only once the record of [`Transition::LoginAccepted`] is
    /// saved.
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
            Event::SubmitPasskey(response) => self.submit_passkey(&response, ctx, now, rng),
            Event::StartPasskeyLogin { transaction } => {
                self.start_passkey_login(transaction, ctx, now)
            }
            Event::Resend(option) => self.resend(option, ctx, now, rng),
            Event::Defer { until } => self.defer(until, now),
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
                let next = self.edit_enrolled(|e| e.primary = id);
                Ok(save(next, vec![Effect::Audit(audit)]))
            }
            Event::RegenerateRecoveryCodes => {
                self.enrolled(kind)?;
                self.require_step_up(ctx, now)?;
                let (codes, sheet) = RecoveryCodes::generate(&self.user, ctx.key(), now, rng);
                let next = self.edit_enrolled(|e| e.recovery = codes);
                let effects = vec![
                    Effect::ShowRecoveryCodes(sheet),
                    Effect::Audit(self.audit(AuditKind::RecoveryCodesGenerated, now)),
                    self.notify(Notice::RecoveryCodesRegenerated, None),
                    Effect::FactorsChanged(FactorChange::RecoveryCodesReplaced),
                ];
                Ok(save(next, effects))
            }
            Event::SendLoginCode {
                method,
                channel,
                transaction,
            } => self
                .send_login_code(method, channel, &transaction, ctx, now, rng)
                .map(Transition::Send),
            Event::SendPush {
                target,
                transaction,
                client_address,
            } => self
                .send_push(target, &transaction, client_address, ctx, now, rng)
                .map(Transition::SendPush),
            Event::Login {
                attempt,
                transaction,
            } => match self.verify_login(&attempt, &transaction, ctx, now) {
                Ok(accepted) => Ok(Transition::LoginAccepted(accepted)),
                Err(LoginRejected {
                    reason,
                    outcome: Some(outcome),
                }) => Ok(Transition::LoginRefused {
                    reason,
                    outcome: *outcome,
                }),
                Err(LoginRejected {
                    reason,
                    outcome: None,
                }) => Err(reason),
            },
            Event::PushResponse(response) => self.push_response(response, ctx, now, rng),
            Event::AdminReset => {
                let mut next = self.clone();
                next.state = EnrollmentState::NotEnrolled;
                next.failures = Failures::default();
                let effects = vec![
                    Effect::Audit(self.audit(AuditKind::AdminReset, now)),
                    self.notify(Notice::AdminReset, None),
                    Effect::FactorsChanged(FactorChange::Reset),
                ];
                Ok(save(next, effects))
            }
            Event::DeliveryFailed(receipt) => self.delivery_failed(&receipt, now),
        }
    }

    fn audit(&self, kind: AuditKind, now: DateTime<Utc>) -> EnrollmentAudit {
        EnrollmentAudit::new(kind, &self.user, now)
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
        self.check_step_up(ctx.policy(), now)
    }

    /// Whether the user completed a second factor within the policy's
    /// step-up window before `now` (its end exclusive) and the factor is
    /// not suspended: what a sensitive operation outside the enrollment
    /// (a company administrator's, for one) requires too.
    ///
    /// # Errors
    ///
    /// [`EnrollmentError::StepUpRequired`] when the last second factor is
    /// older, later than `now`, or missing;
    /// [`EnrollmentError::Suspended`] while suspended.
    pub fn check_step_up(
        &self,
        policy: &EnrollmentPolicy,
        now: DateTime<Utc>,
    ) -> Result<(), EnrollmentError> {
        self.suspension_check()?;
        let fresh_until = self
            .last_second_factor_at
            .and_then(|at| at.checked_add_signed(policy.step_up_freshness()));
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
        method: Option<Method>,
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

    /// The enrolled data, when the state is enrolled.
    fn enrolled_mut(&mut self) -> Option<&mut Enrolled> {
        match &mut self.state {
            EnrollmentState::Enrolled(enrolled) => Some(enrolled),
            _ => None,
        }
    }

    /// A copy of the record with `edit` applied to its enrolled data (the
    /// callers have checked that the state is enrolled).
    fn edit_enrolled(&self, edit: impl FnOnce(&mut Enrolled)) -> Self {
        let mut next = self.clone();
        if let Some(enrolled) = next.enrolled_mut() {
            edit(enrolled);
        }
        next
    }

    /// Records a completed second factor: the failure count starts over
    /// and step-up is fresh from `now`.
    fn second_factor_passed(&mut self, now: DateTime<Utc>) {
        self.failures = Failures::default();
        self.last_second_factor_at = Some(now);
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
