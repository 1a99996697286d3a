//! The [`Twofa`] service: stores, channels, keys and policies in one value,
//! its builder, and the plumbing every operation shares (loading,
//! unsealing, sending, auditing).

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use twofa_delivery::{
    CarrierLookup, Issuer, MessageTemplates, OutboundMessage, PushPolicy, Region, ServerKey,
};
use twofa_enrollment::{Enrollment, EnrollmentPolicy};
use twofa_trusted_network::{TrustPolicy, TrustedProxies};
use twofa_types::{CompanyId, UserId};

use crate::audit::{AuditEvent, RejectionDetail};
use crate::channels::Channels;
use crate::clock::{Clock, SystemClock};
use crate::failure::Failure;
use crate::random::{OsRandom, RandomSource, operation_rng};
use crate::records::{AuditEntry, CompanyRecord, UserRecord};
use crate::seal::Sealer;
use crate::steps::{CodeSent, Rejected, RetryAdvice};
use crate::store::{Stores, Versioned};

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

/// What the flow sends for a code channel.
pub(crate) fn masked_destination(message: &OutboundMessage) -> String {
    match message {
        OutboundMessage::Sms(sms) => sms.to.masked(),
        OutboundMessage::Voice(voice) => voice.to.masked(),
        OutboundMessage::Email(email) => email.to.masked(),
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
                let user = record.user().clone();
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
        if enrollment.user() != record.user() {
            return Err(inconsistent);
        }
        Ok(enrollment)
    }

    /// The enrollment policy for a company: the service's, with the
    /// company's code lifetime. Deferral is not the machine's decision: the
    /// enforcement gate makes it.
    pub(crate) fn policy_for(&self, company: &CompanyRecord) -> EnrollmentPolicy {
        let lifetime = company.policy().out_of_band_code_lifetime();
        match (*self.enrollment_policy.challenge()).with_lifetime(lifetime) {
            Ok(challenge) => self.enrollment_policy.clone().with_challenge(challenge),
            Err(_) => self.enrollment_policy.clone(),
        }
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
        let result = match message {
            OutboundMessage::Sms(sms) => self.channels.sms.send_sms(sms).await,
            OutboundMessage::Voice(voice) => self.channels.voice.place_call(voice).await,
            OutboundMessage::Email(email) => self.channels.email.send_email(email).await,
        };
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
                channel: twofa_types::Channel::Push,
            },
        )
        .await;
        Err(Failure::new(
            RejectionDetail::ProviderFailed,
            RetryAdvice::TryLater,
        ))
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
}
