//! The [`Twofa`] service: stores, channels, keys and policies in one value,
//! and the plumbing every operation shares (loading, sealing, the
//! compare-and-swap retry loop, sending, auditing).

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use twofa_delivery::{
    CarrierLookup, CodeChannel, EmailSender, Issuer, MessageTemplates, NoticeSender,
    OutboundMessage, Outbox, PushPolicy, PushSender, Region, ServerKey, SmsSender, VoiceCaller,
};
use twofa_enforcement::{CompanyId, Method, MethodSet, UserId, UserStatus};
use twofa_enrollment::{
    Context, DeferralCap, Dispatch, Effect, Enforcement, Enrollment, EnrollmentError,
    EnrollmentPolicy, EnrollmentState, MethodKind, Outcome, PushDispatch, Sealer,
};
use twofa_trusted_network::{TrustPolicy, TrustedProxies};

use crate::audit::{AllowedBy, AuditEvent, RejectionDetail};
use crate::clock::{Clock, SystemClock};
use crate::join::join;
use crate::memory::{
    InMemoryAuditLog, InMemoryChallengeStore, InMemoryCompanyStore, InMemoryTrustGrantStore,
    InMemoryUnitOfWork, InMemoryUserStore,
};
use crate::notify::NoNoticeSender;
use crate::random::{OsRandom, RandomSource, operation_rng};
use crate::records::{
    AuditEntry, CompanyRecord, LoginStage, LoginTicket, PendingLogin, UserRecord,
};
use crate::steps::{CodeSent, Rejected, RetryAdvice};
use crate::store::{
    AuditLog, ChallengeStore, CompanyStore, InOrder, LoginCommit, SaveError, StoreError,
    TrustGrantStore, UnitOfWork, UserStore, Versioned,
};

/// The five stores the service works with.
#[derive(Debug, Clone)]
pub struct Stores {
    pub(crate) users: Arc<dyn UserStore>,
    pub(crate) companies: Arc<dyn CompanyStore>,
    pub(crate) challenges: Arc<dyn ChallengeStore>,
    pub(crate) grants: Arc<dyn TrustGrantStore>,
    pub(crate) audit: Arc<dyn AuditLog>,
    pub(crate) unit: Arc<dyn UnitOfWork>,
}

impl Stores {
    /// The given stores. Logins are completed by the individual store
    /// operations in order (see [`UnitOfWork`]); give stores that can do it
    /// as one unit theirs with [`Stores::with_unit_of_work`] (for in-memory
    /// stores, [`InMemoryUnitOfWork`]).
    #[must_use]
    pub fn new(
        users: Arc<dyn UserStore>,
        companies: Arc<dyn CompanyStore>,
        challenges: Arc<dyn ChallengeStore>,
        grants: Arc<dyn TrustGrantStore>,
        audit: Arc<dyn AuditLog>,
    ) -> Self {
        Self {
            users,
            companies,
            challenges,
            grants,
            audit,
            unit: Arc::new(InOrder),
        }
    }

    /// Commits the writes that complete a login with `unit` instead of
    /// the individual operations in order (see [`UnitOfWork`]).
    ///
    /// # Security
    ///
    /// `unit` must write to the same records as these stores.
    #[must_use]
    pub fn with_unit_of_work(mut self, unit: Arc<dyn UnitOfWork>) -> Self {
        self.unit = unit;
        self
    }

    /// Fresh in-memory stores, completing logins with the atomic
    /// [`InMemoryUnitOfWork`].
    #[must_use]
    pub fn in_memory() -> Self {
        let users = Arc::new(InMemoryUserStore::new());
        let challenges = Arc::new(InMemoryChallengeStore::new());
        let audit = Arc::new(InMemoryAuditLog::new());
        let unit = InMemoryUnitOfWork::new(users.clone(), challenges.clone(), audit.clone());
        Self::new(
            users,
            Arc::new(InMemoryCompanyStore::new()),
            challenges,
            Arc::new(InMemoryTrustGrantStore::new()),
            audit,
        )
        .with_unit_of_work(Arc::new(unit))
    }

    /// The user store (the application provisions users here).
    #[must_use]
    pub fn users(&self) -> &Arc<dyn UserStore> {
        &self.users
    }

    /// The company store (the application provisions companies here).
    #[must_use]
    pub fn companies(&self) -> &Arc<dyn CompanyStore> {
        &self.companies
    }

    /// The pending-login store.
    #[must_use]
    pub fn challenges(&self) -> &Arc<dyn ChallengeStore> {
        &self.challenges
    }

    /// The trust-grant store.
    #[must_use]
    pub fn grants(&self) -> &Arc<dyn TrustGrantStore> {
        &self.grants
    }

    /// The audit log.
    #[must_use]
    pub fn audit(&self) -> &Arc<dyn AuditLog> {
        &self.audit
    }

    /// The unit of work that completes a login.
    #[must_use]
    pub fn unit_of_work(&self) -> &Arc<dyn UnitOfWork> {
        &self.unit
    }
}

/// The delivery channels: SMS, voice, email and push adapters for codes
/// and prompts, and the adapter for security notices.
#[derive(Clone)]
pub struct Channels {
    pub(crate) sms: Arc<dyn SmsSender>,
    pub(crate) voice: Arc<dyn VoiceCaller>,
    pub(crate) email: Arc<dyn EmailSender>,
    pub(crate) push: Arc<dyn PushSender>,
    pub(crate) notice: Arc<dyn NoticeSender>,
}

impl fmt::Debug for Channels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channels").finish_non_exhaustive()
    }
}

impl Channels {
    /// The given adapters for codes and push prompts. Security notices
    /// need their own adapter: add it with [`Channels::with_notice_sender`].
    ///
    /// # Security
    ///
    /// Without a notice sender no security notice reaches the user (a
    /// changed number, a used recovery code, a suspension): each one is
    /// refused, and the audit trail records it as
    /// [`AuditEvent::NoticeFailed`] with
    /// `SendError::Permanent(FailureCause::NotConfigured)`, so a missing
    /// adapter shows in the audit log instead of passing unnoticed.
    #[must_use]
    pub fn new(
        sms: Arc<dyn SmsSender>,
        voice: Arc<dyn VoiceCaller>,
        email: Arc<dyn EmailSender>,
        push: Arc<dyn PushSender>,
    ) -> Self {
        Self {
            sms,
            voice,
            email,
            push,
            notice: Arc::new(NoNoticeSender),
        }
    }

    /// Sends security notices (texts and emails that report a change to
    /// the user's second factor) through `sender`.
    ///
    /// Notices go out after the change is saved, one per destination, and
    /// the operation waits for them; a sender that talks to a slow
    /// provider may queue them instead. A failed notice is audited and
    /// changes nothing else.
    #[must_use]
    pub fn with_notice_sender(mut self, sender: Arc<dyn NoticeSender>) -> Self {
        self.notice = sender;
        self
    }

    /// Every channel, security notices included, into one recording
    /// [`Outbox`] (tests and the demo).
    #[must_use]
    pub fn outbox(outbox: &Arc<Outbox>) -> Self {
        Self::new(
            outbox.clone(),
            outbox.clone(),
            outbox.clone(),
            outbox.clone(),
        )
        .with_notice_sender(outbox.clone())
    }
}

/// Builds a [`Twofa`] service.
pub struct TwofaBuilder {
    stores: Stores,
    channels: Channels,
    server_key: ServerKey,
    sealer: Arc<dyn Sealer>,
    issuer: Issuer,
    templates: Option<MessageTemplates>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    carrier: Option<Arc<dyn CarrierLookup>>,
    enrollment_policy: EnrollmentPolicy,
    proxies: TrustedProxies,
    region: Option<Region>,
    ticket_lifetime: TimeDelta,
    max_store_attempts: u32,
}

impl fmt::Debug for TwofaBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwofaBuilder")
            .field("stores", &self.stores)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl TwofaBuilder {
    /// Reads the time from `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Draws randomness from `random` instead of the operating system.
    #[must_use]
    pub fn with_random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }

    /// Asks `lookup` for the line type of a phone number being set up
    /// (otherwise the number alone decides, see
    /// `twofa_delivery::classify_offline`).
    #[must_use]
    pub fn with_carrier_lookup(mut self, lookup: Arc<dyn CarrierLookup>) -> Self {
        self.carrier = Some(lookup);
        self
    }

    /// The texts of SMS, calls and emails (default: English, naming the
    /// issuer).
    #[must_use]
    pub fn with_templates(mut self, templates: MessageTemplates) -> Self {
        self.templates = Some(templates);
        self
    }

    /// Code lifetimes, throttling and windows. The deferral length, the
    /// deferral cap and the code lifetime come from each company's policy.
    #[must_use]
    pub fn with_enrollment_policy(mut self, policy: EnrollmentPolicy) -> Self {
        self.enrollment_policy = policy;
        self
    }

    /// The push prompt lifetime and rate limit (default: 2 minutes, 3
    /// prompts per 10 minutes). Shorthand for the push policy of
    /// [`TwofaBuilder::with_enrollment_policy`]: set it after that one.
    #[must_use]
    pub fn with_push_policy(mut self, policy: PushPolicy) -> Self {
        self.enrollment_policy = self.enrollment_policy.with_push(policy);
        self
    }

    /// The reverse proxies whose forwarding headers are believed.
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// The region national phone numbers are read in (otherwise numbers
    /// must be typed in international form, `+44 …`).
    #[must_use]
    pub fn with_default_region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// How long a login ticket stays usable (default 30 minutes).
    #[must_use]
    pub fn with_ticket_lifetime(mut self, lifetime: TimeDelta) -> Self {
        if lifetime > TimeDelta::zero() {
            self.ticket_lifetime = lifetime;
        }
        self
    }

    /// How many times an operation re-loads and re-evaluates after a
    /// compare-and-swap conflict before it gives up (default 32, at least
    /// 1). Each conflict means another request's save succeeded, so with
    /// fewer concurrent requests per user than this bound no request runs
    /// out of attempts.
    #[must_use]
    pub fn with_max_store_attempts(mut self, attempts: u32) -> Self {
        self.max_store_attempts = attempts.max(1);
        self
    }

    /// The service.
    #[must_use]
    pub fn build(self) -> Twofa {
        let templates = self
            .templates
            .unwrap_or_else(|| MessageTemplates::new(self.issuer.clone()));
        Twofa {
            stores: self.stores,
            channels: self.channels,
            server_key: self.server_key,
            sealer: self.sealer,
            issuer: self.issuer,
            templates,
            clock: self.clock,
            random: self.random,
            carrier: self.carrier,
            enrollment_policy: self.enrollment_policy,
            proxies: self.proxies,
            region: self.region,
            ticket_lifetime: self.ticket_lifetime,
            max_store_attempts: self.max_store_attempts,
        }
    }
}

/// The two-factor service of a portal: the login flow after the password,
/// and the administrators' operations.
///
/// Build it once at start-up with [`Twofa::builder`] and share it (it is
/// `Send + Sync`; wrap it in an `Arc`).
pub struct Twofa {
    pub(crate) stores: Stores,
    pub(crate) channels: Channels,
    pub(crate) server_key: ServerKey,
    pub(crate) sealer: Arc<dyn Sealer>,
    pub(crate) issuer: Issuer,
    pub(crate) templates: MessageTemplates,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn RandomSource>,
    pub(crate) carrier: Option<Arc<dyn CarrierLookup>>,
    pub(crate) enrollment_policy: EnrollmentPolicy,
    pub(crate) proxies: TrustedProxies,
    pub(crate) region: Option<Region>,
    pub(crate) ticket_lifetime: TimeDelta,
    pub(crate) max_store_attempts: u32,
}

impl fmt::Debug for Twofa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Twofa")
            .field("stores", &self.stores)
            .field("issuer", &self.issuer)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// A refusal inside the service: the detail for the audit trail and the
/// advice for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) detail: RejectionDetail,
    pub(crate) advice: RetryAdvice,
}

impl Failure {
    pub(crate) const fn new(detail: RejectionDetail, advice: RetryAdvice) -> Self {
        Self { detail, advice }
    }

    pub(crate) const fn start_over(detail: RejectionDetail) -> Self {
        Self::new(detail, RetryAdvice::StartOver)
    }
}

impl From<StoreError> for Failure {
    fn from(_: StoreError) -> Self {
        Self::start_over(RejectionDetail::StoreFailed)
    }
}

/// Maps a refused enrollment transition to the audit detail and the
/// user's advice.
pub(crate) fn enrollment_failure(error: EnrollmentError) -> Failure {
    use twofa_delivery::ResendError;
    let (detail, advice) = match error {
        EnrollmentError::PendingExpired { .. } => {
            (RejectionDetail::CodeExpired, RetryAdvice::NewCodeNeeded)
        }
        EnrollmentError::TooManyWrongCodes => (
            RejectionDetail::TooManyFailedChecks,
            RetryAdvice::NewCodeNeeded,
        ),
        EnrollmentError::RetryAfter { .. } => (RejectionDetail::Throttled, RetryAdvice::TryLater),
        EnrollmentError::Suspended { .. } => (RejectionDetail::Suspended, RetryAdvice::TryLater),
        EnrollmentError::MalformedCode | EnrollmentError::WrongCode => {
            (RejectionDetail::WrongCode, RetryAdvice::IncorrectCode)
        }
        EnrollmentError::NoCodeOutstanding => {
            (RejectionDetail::WrongStage, RetryAdvice::NewCodeNeeded)
        }
        EnrollmentError::UnknownMethod { .. }
        | EnrollmentError::NotAPhoneMethod { .. }
        | EnrollmentError::NotACodeRecipient { .. }
        | EnrollmentError::Issue(_) => {
            (RejectionDetail::MethodNotAvailable, RetryAdvice::StartOver)
        }
        EnrollmentError::Resend(
            ResendError::CooldownActive { .. } | ResendError::SendCapReached { .. },
        ) => (RejectionDetail::ResendRefused, RetryAdvice::TryLater),
        EnrollmentError::Resend(_) | EnrollmentError::ResendNotApplicable => {
            (RejectionDetail::ResendRefused, RetryAdvice::NewCodeNeeded)
        }
        EnrollmentError::StepUpRequired => (
            RejectionDetail::StepUpRequired,
            RetryAdvice::ReauthenticationRequired,
        ),
        EnrollmentError::Push(_) => (RejectionDetail::PushRefused, RetryAdvice::TryLater),
        EnrollmentError::NotAPushMethod { .. } => {
            (RejectionDetail::MethodNotAvailable, RetryAdvice::StartOver)
        }
        EnrollmentError::PushAlreadyAnswered
        | EnrollmentError::NoPushOutstanding
        | EnrollmentError::PushPending
        | EnrollmentError::PushDenied => {
            (RejectionDetail::PushNotApproved, RetryAdvice::NewCodeNeeded)
        }
        EnrollmentError::TimeOutOfRange => {
            (RejectionDetail::TimeOutOfRange, RetryAdvice::StartOver)
        }
        EnrollmentError::KeyUri => (RejectionDetail::InconsistentRecord, RetryAdvice::StartOver),
        _ => (RejectionDetail::WrongStage, RetryAdvice::StartOver),
    };
    Failure::new(detail, advice)
}

/// What one evaluation of a user's enrollment asks the retry loop to do.
pub(crate) enum Change {
    /// Save this outcome, then succeed.
    Save(Outcome),
    /// Send, then save, then succeed.
    Send(Dispatch),
    /// Send the push prompt, then save, then succeed.
    Push(PushDispatch),
    /// Save the outcome if there is one (a counted failure), then refuse.
    Refuse(Option<Outcome>, Failure),
}

/// The result of a successful update of a user's enrollment.
pub(crate) struct Updated {
    pub(crate) record: Enrollment,
    pub(crate) effects: Vec<Effect>,
    pub(crate) sent: Option<CodeSent>,
    /// The number to show with the push prompt that went out.
    pub(crate) push_match: Option<u8>,
    /// Set when the login went on in the same unit of work.
    pub(crate) next: Option<Next>,
}

/// How a login goes on once its second factor is accepted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Next {
    /// The login is complete.
    Allowed(AllowedBy),
    /// Every method the user answered with is switched off by the company:
    /// the pending login moves to set-up of one of these methods instead of
    /// completing.
    SetUp(MethodSet),
}

/// What [`Twofa::update_user_with`] needs to complete the login in the
/// same unit of work as an accepted change.
pub(crate) struct Finish<'f> {
    pub(crate) ticket: &'f LoginTicket,
    /// The pending login as last loaded.
    pub(crate) pending: Versioned<PendingLogin>,
    /// How the login goes on, read from the updated enrollment (`None`:
    /// the record is inconsistent and nothing is saved).
    pub(crate) next: &'f (dyn Fn(&Enrollment) -> Option<Next> + Send + Sync),
}

/// The enforcement method of an enrollment method kind.
pub(crate) fn method_of(kind: MethodKind) -> Method {
    match kind {
        MethodKind::App => Method::AuthenticatorApp,
        MethodKind::Push => Method::PushApp,
        MethodKind::Voice => Method::VoiceCall,
        _ => Method::Sms,
    }
}

/// What the flow sends for a code channel.
pub(crate) fn masked_destination(message: &OutboundMessage) -> String {
    match message {
        OutboundMessage::Sms(sms) => sms.to.masked(),
        OutboundMessage::Voice(voice) => voice.to.masked(),
        OutboundMessage::Email(email) => email.to.masked(),
    }
}

/// The summary the enforcement gate takes, from an enrollment at `now`.
pub(crate) fn user_status(enrollment: &Enrollment, now: DateTime<Utc>) -> UserStatus {
    let summary = enrollment.summary(now);
    let deferrals_used = summary.deferrals_used;
    if summary.has_active_method() {
        let methods = summary
            .methods
            .iter()
            .fold(MethodSet::empty(), |set, m| set.with(method_of(m.kind)));
        let since = summary.methods.iter().map(|m| m.since).min().unwrap_or(now);
        return UserStatus::Enrolled { methods, since };
    }
    if let EnrollmentState::Pending(pending) = enrollment.state() {
        return UserStatus::Pending {
            method: method_of(pending.kind().method()),
            since: pending.started_at(),
            deferrals_used,
        };
    }
    match summary.deferred_until {
        Some(until) => UserStatus::Deferred {
            until,
            deferrals_used,
        },
        None => UserStatus::NotEnrolled { deferrals_used },
    }
}

impl Twofa {
    /// Starts building a service from its stores, channels, the server key
    /// (hashes of out-of-band and recovery codes), the sealer (secrets at
    /// rest) and the issuer name shown in authenticator apps and messages.
    ///
    /// Defaults: system clock, OS randomness, no carrier lookup, English
    /// templates, [`EnrollmentPolicy::default`], no trusted proxies,
    /// international phone numbers only, 30-minute tickets.
    #[must_use]
    pub fn builder(
        stores: Stores,
        channels: Channels,
        server_key: ServerKey,
        sealer: Arc<dyn Sealer>,
        issuer: Issuer,
    ) -> TwofaBuilder {
        TwofaBuilder {
            stores,
            channels,
            server_key,
            sealer,
            issuer,
            templates: None,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            carrier: None,
            enrollment_policy: EnrollmentPolicy::default(),
            proxies: TrustedProxies::none(),
            region: None,
            ticket_lifetime: TimeDelta::minutes(30),
            max_store_attempts: 32,
        }
    }

    /// The stores, for provisioning users and companies and reading the
    /// audit log.
    #[must_use]
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// The service's clock.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) fn rng(&self) -> Result<StdRng, Failure> {
        operation_rng(&*self.random)
            .map_err(|_| Failure::start_over(RejectionDetail::RandomUnavailable))
    }

    pub(crate) async fn load_user(&self, user: &UserId) -> Result<Versioned<UserRecord>, Failure> {
        self.stores
            .users
            .load(user)
            .await?
            .ok_or(Failure::start_over(RejectionDetail::UnknownUser))
    }

    pub(crate) async fn load_company(
        &self,
        company: &CompanyId,
    ) -> Result<Versioned<CompanyRecord>, Failure> {
        self.stores
            .companies
            .load(company)
            .await?
            .ok_or(Failure::start_over(RejectionDetail::UnknownCompany))
    }

    /// The user's enrollment, unsealed (a new one if never started).
    pub(crate) fn open(&self, record: &UserRecord) -> Result<Enrollment, Failure> {
        let inconsistent = Failure::start_over(RejectionDetail::InconsistentRecord);
        let enrollment = match record.enrollment() {
            Some(sealed) => sealed
                .open(&*self.sealer)
                .map_err(|_| Failure::start_over(RejectionDetail::SealingFailed))?,
            None => {
                let user = twofa_delivery::UserId::new(record.user().as_str())
                    .map_err(|_| inconsistent)?;
                let name = twofa_enrollment::DisplayName::new(record.display_name())
                    .or_else(|_| twofa_enrollment::DisplayName::new(record.user().as_str()))
                    .map_err(|_| inconsistent)?;
                let fresh = Enrollment::new(user, name);
                match record.email() {
                    Some(email) => fresh.with_email(email.clone()),
                    None => fresh,
                }
            }
        };
        if enrollment.user().as_str() != record.user().as_str() {
            return Err(inconsistent);
        }
        Ok(enrollment)
    }

    /// The enrollment policy for a company: the service's, with the
    /// company's deferral length, deferral cap and code lifetime.
    pub(crate) fn policy_for(&self, company: &CompanyRecord) -> EnrollmentPolicy {
        let policy = company.policy();
        let cap = match policy.deferral_cap() {
            twofa_enforcement::DeferralCap::AtMost(n) => DeferralCap::Limited(n),
            _ => DeferralCap::Unlimited,
        };
        let mut out = self.enrollment_policy.clone().with_deferral_cap(cap);
        if let Ok(with_deferral) = out.clone().with_deferral(policy.deferral_length()) {
            out = with_deferral;
        }
        if let Ok(challenge) = (*out.challenge()).with_lifetime(policy.out_of_band_code_lifetime())
        {
            out = out.with_challenge(challenge);
        }
        out
    }

    pub(crate) fn trust_policy_for(company: &CompanyRecord) -> TrustPolicy {
        TrustPolicy::new()
            .with_reprompt_interval(company.policy().trusted_network_reprompt())
            .unwrap_or_default()
    }

    /// Sends a message through its channel, auditing the result.
    pub(crate) async fn send(
        &self,
        message: &OutboundMessage,
        now: DateTime<Utc>,
        company: &CompanyId,
        user: &UserId,
    ) -> Result<CodeSent, Failure> {
        let channel = message.channel();
        let result = message
            .send_via(
                &*self.channels.sms,
                &*self.channels.voice,
                &*self.channels.email,
            )
            .await;
        let sent = CodeSent {
            channel,
            to: masked_destination(message),
        };
        match result {
            Ok(()) => {
                self.audit_best_effort(
                    now,
                    company,
                    user,
                    AuditEvent::CodeSent {
                        channel: channel.into(),
                    },
                )
                .await;
                Ok(sent)
            }
            Err(_) => {
                self.audit_best_effort(
                    now,
                    company,
                    user,
                    AuditEvent::SendFailed {
                        channel: channel.into(),
                    },
                )
                .await;
                Err(Failure::new(
                    RejectionDetail::ProviderFailed,
                    RetryAdvice::TryLater,
                ))
            }
        }
    }

    /// Delivers a push prompt, auditing the result.
    pub(crate) async fn send_push_prompt(
        &self,
        message: &twofa_delivery::PushMessage,
        now: DateTime<Utc>,
        company: &CompanyId,
        user: &UserId,
    ) -> Result<(), Failure> {
        if self.channels.push.send_push(message).await.is_ok() {
            self.audit_best_effort(now, company, user, AuditEvent::PushSent)
                .await;
            return Ok(());
        }
        self.audit_best_effort(
            now,
            company,
            user,
            AuditEvent::SendFailed {
                channel: twofa_delivery::Channel::Push,
            },
        )
        .await;
        Err(Failure::new(
            RejectionDetail::ProviderFailed,
            RetryAdvice::TryLater,
        ))
    }

    /// Loads the user's enrollment, evaluates `step` on it, performs the
    /// send if any, and saves with compare-and-swap; on a conflict it
    /// starts over from the load, at most `max_store_attempts` times.
    ///
    /// Nothing is saved when `step` refuses without a record, when the
    /// send fails, or when sealing fails.
    pub(crate) async fn update_user(
        &self,
        user: &UserId,
        company: &CompanyRecord,
        now: DateTime<Utc>,
        step: impl FnMut(&Enrollment, &Context<'_>, &mut StdRng) -> Change + Send,
    ) -> Result<Updated, Failure> {
        self.update_user_with(user, company, now, None, None, step)
            .await
    }

    /// [`Twofa::update_user`], starting from the record in `first` when
    /// given (re-loaded only after a conflict) and, with `finish`,
    /// completing the login in the same unit of work as the save of an
    /// accepted change (see [`UnitOfWork`]).
    pub(crate) async fn update_user_with(
        &self,
        user: &UserId,
        company: &CompanyRecord,
        now: DateTime<Utc>,
        mut first: Option<Versioned<UserRecord>>,
        mut finish: Option<Finish<'_>>,
        mut step: impl FnMut(&Enrollment, &Context<'_>, &mut StdRng) -> Change + Send,
    ) -> Result<Updated, Failure> {
        let policy = self.policy_for(company);
        let enforcement = if company.settings().is_enforced() {
            Enforcement::Required
        } else {
            Enforcement::Optional
        };
        for _ in 0..self.max_store_attempts {
            let loaded = match (first.take(), finish.as_mut()) {
                (Some(loaded), _) => loaded,
                (None, None) => self.load_user(user).await?,
                (None, Some(finish)) => {
                    // After a conflict either record may have changed:
                    // both are read again, together.
                    let (pending, loaded) = join(
                        self.load_ticket_for(user, finish.ticket, now),
                        self.load_user(user),
                    )
                    .await;
                    finish.pending = pending?;
                    loaded?
                }
            };
            let enrollment = self.open(&loaded.record)?;
            let mut rng = self.rng()?;
            let change = {
                let ctx = Context::new(
                    enforcement,
                    &policy,
                    &self.server_key,
                    &self.templates,
                    &self.issuer,
                );
                step(&enrollment, &ctx, &mut rng)
            };
            let mut push_match = None;
            let (outcome, result, sent) = match change {
                Change::Save(outcome) => (outcome, Ok(()), None),
                Change::Push(dispatch) => {
                    // The same protocol as a code: nothing is saved unless
                    // the prompt went out.
                    self.send_push_prompt(dispatch.message(), now, company.company(), user)
                        .await?;
                    push_match = Some(dispatch.match_number().value());
                    (dispatch.sent(), Ok(()), None)
                }
                Change::Send(dispatch) => {
                    // The send happens before the save (a code is never
                    // recorded as delivered unless it was). If the save then
                    // conflicts, the next attempt re-evaluates and may send
                    // again; only the code of the saved record verifies.
                    let sent = self
                        .send(dispatch.message(), now, company.company(), user)
                        .await?;
                    (dispatch.sent(), Ok(()), Some(sent))
                }
                Change::Refuse(Some(outcome), failure) => (outcome, Err(failure), None),
                Change::Refuse(None, failure) => return Err(failure),
            };
            let (record, effects) = outcome.into_parts();
            let sealed = record
                .seal(&*self.sealer, &mut rng)
                .map_err(|_| Failure::start_over(RejectionDetail::SealingFailed))?;
            let updated = loaded.record.clone().with_enrollment(Some(sealed));
            let saved = match (&finish, &result) {
                (Some(finish), Ok(())) => {
                    let next = (finish.next)(&record)
                        .ok_or(Failure::start_over(RejectionDetail::InconsistentRecord))?;
                    let commit = Self::login_commit(
                        user,
                        company.company(),
                        (updated, loaded.version),
                        finish,
                        &effects,
                        next,
                        now,
                    );
                    self.stores
                        .unit
                        .commit_login(&self.stores, commit)
                        .await
                        .map(|()| Some(next))
                }
                _ => self
                    .stores
                    .users
                    .save(user, updated, Some(loaded.version))
                    .await
                    .map(|_| None),
            };
            match saved {
                Ok(next) => {
                    if next.is_none() {
                        self.record_effects(now, company.company(), user, &effects)
                            .await;
                    } else {
                        // The commit wrote the audit entries with the
                        // record; the notices follow it.
                        self.send_notices(now, company.company(), user, &effects)
                            .await;
                    }
                    return result.map(|()| Updated {
                        record,
                        effects,
                        sent,
                        push_match,
                        next,
                    });
                }
                Err(SaveError::Conflict) => {}
                Err(SaveError::Store(error)) => return Err(error.into()),
            }
        }
        Err(Failure::start_over(RejectionDetail::StoreContention))
    }

    /// The unit that saves the user's record, completes the login and
    /// audits both.
    fn login_commit(
        user: &UserId,
        company: &CompanyId,
        (record, version): (UserRecord, crate::store::Version),
        finish: &Finish<'_>,
        effects: &[Effect],
        next: Next,
        now: DateTime<Utc>,
    ) -> LoginCommit {
        // A login whose methods are all switched off is not complete yet:
        // it goes on to set up a method the company allows.
        let next_stage = match next {
            Next::SetUp(methods) => LoginStage::SetUp {
                methods,
                deferral_offered: false,
            },
            Next::Allowed(_) => LoginStage::Completed { at: now },
        };
        let completed = finish.pending.record.clone().with_stage(next_stage);
        let entry = |event| AuditEntry::new(now, Some(company.clone()), Some(user.clone()), event);
        let mut commit = LoginCommit::new(
            user.clone(),
            record,
            version,
            *finish.ticket,
            completed,
            finish.pending.version,
        );
        for effect in effects {
            if let Effect::Audit(event) = effect {
                commit = commit.with_audit(entry(AuditEvent::Enrollment(event.clone())));
            }
        }
        match next {
            Next::SetUp(_) => commit,
            Next::Allowed(by) => commit.with_audit(entry(AuditEvent::LoginAllowed { by })),
        }
    }

    async fn record_effects(
        &self,
        now: DateTime<Utc>,
        company: &CompanyId,
        user: &UserId,
        effects: &[Effect],
    ) {
        for effect in effects {
            if let Effect::Audit(event) = effect {
                self.audit_best_effort(now, company, user, AuditEvent::Enrollment(event.clone()))
                    .await;
            }
        }
        self.send_notices(now, company, user, effects).await;
    }

    /// Appends an audit entry; a failure to append is not an answer the
    /// caller can act on, so it is dropped (the operation's own result
    /// stands). Entries that gate an `Allowed` use [`Twofa::audit_required`].
    pub(crate) async fn audit_best_effort(
        &self,
        now: DateTime<Utc>,
        company: &CompanyId,
        user: &UserId,
        event: AuditEvent,
    ) {
        // A failing audit log must not turn a refusal into anything else.
        let _ignored = self
            .audit_required(now, Some(company), Some(user), event)
            .await;
    }

    pub(crate) async fn audit_required(
        &self,
        now: DateTime<Utc>,
        company: Option<&CompanyId>,
        user: Option<&UserId>,
        event: AuditEvent,
    ) -> Result<(), Failure> {
        let entry = AuditEntry::new(now, company.cloned(), user.cloned(), event);
        self.stores.audit.append(entry).await.map_err(Failure::from)
    }

    /// Audits a refusal and turns it into what the user sees.
    pub(crate) async fn reject(
        &self,
        now: DateTime<Utc>,
        user: Option<&UserId>,
        failure: Failure,
    ) -> Rejected {
        let _ignored = self
            .audit_required(
                now,
                None,
                user,
                AuditEvent::Rejected {
                    detail: failure.detail,
                },
            )
            .await;
        Rejected::new(failure.advice)
    }

    /// The code channel of a phone method kind.
    pub(crate) fn code_channel(kind: MethodKind) -> Option<CodeChannel> {
        match kind {
            MethodKind::Sms => Some(CodeChannel::Sms),
            MethodKind::Voice => Some(CodeChannel::Voice),
            _ => None,
        }
    }
}
