//! The [`Twofa`] service: stores, channels, keys and policies in one value,
//! its builder, and the plumbing every operation shares (loading,
//! unsealing, sending, auditing).

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use twofa_delivery::{
    CarrierLookup, Issuer, MessageTemplates, OutboundMessage, PushPolicy, Region, SendBudgetPolicy,
    SendKind, SendRequest, ServerKey,
};
use twofa_enforcement::CompanyPolicy;
use twofa_enrollment::{Enrollment, EnrollmentPolicy};
use twofa_passkey::RelyingParty;
use twofa_trusted_network::{AddressSpaceLimit, TrustPolicy, TrustedProxies};
use twofa_types::{CompanyId, Method, MethodSet, UserId};

use crate::audit::{AuditEvent, RejectionDetail};
use crate::cache::LoginCache;
use crate::channels::Channels;
use crate::clock::{Clock, SystemClock};
use crate::failure::Failure;
use crate::keys::Keys;
use crate::random::{OsRandom, RandomSource, operation_rng};
use crate::records::{AuditEntry, CompanyRecord, UserRecord};
use crate::seal::Sealer;
use crate::steps::{CodeSent, Rejected, RetryAdvice};
use crate::store::{Stores, Versioned};

/// Builds a [`Twofa`] service: the five required parts by name, then any
/// options, then [`TwofaBuilder::build`].
///
/// ```
/// use std::sync::Arc;
/// use twofa::delivery::{Issuer, Outbox};
/// use twofa::{Channels, Keys, Stores, Twofa};
///
/// let outbox = Arc::new(Outbox::new());
/// let twofa = Twofa::builder()
///     .stores(Stores::in_memory())
///     .channels(Channels::outbox(&outbox))
///     .keys(Keys::generate()?)
///     .issuer(Issuer::new("Partner Portal")?)
///     .build()?;
/// # let _ = twofa;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct TwofaBuilder {
    stores: Option<Stores>,
    channels: Option<Channels>,
    server_key: Option<ServerKey>,
    sealer: Option<Arc<dyn Sealer>>,
    issuer: Option<Issuer>,
    templates: Option<MessageTemplates>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    carrier: Option<Arc<dyn CarrierLookup>>,
    enrollment_policy: EnrollmentPolicy,
    proxies: TrustedProxies,
    region: Option<Region>,
    ticket_lifetime: TimeDelta,
    max_store_attempts: u32,
    cache_capacity: NonZeroUsize,
    address_limit: AddressSpaceLimit,
    send_budget: SendBudgetPolicy,
    passkeys: Option<RelyingParty>,
}

impl fmt::Debug for TwofaBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwofaBuilder")
            .field("stores", &self.stores)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// A part [`TwofaBuilder::build`] needs and was not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequiredPart {
    /// [`TwofaBuilder::stores`].
    Stores,
    /// [`TwofaBuilder::channels`].
    Channels,
    /// [`TwofaBuilder::keys`] or [`TwofaBuilder::server_key`].
    ServerKey,
    /// [`TwofaBuilder::keys`] or [`TwofaBuilder::sealer`].
    Sealer,
    /// [`TwofaBuilder::issuer`].
    Issuer,
}

impl fmt::Display for RequiredPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Stores => "stores: call .stores(Stores::in_memory()) or pass a database's stores",
            Self::Channels => {
                "channels: call .channels(Channels::new(sms, voice, email, push)), or \
                 Channels::outbox(&outbox) in tests"
            }
            Self::ServerKey => {
                "a server key: call .keys(Keys::from_hex(server, sealing)?) or .server_key(key)"
            }
            Self::Sealer => {
                "a sealer: call .keys(Keys::from_hex(server, sealing)?) or .sealer(sealer)"
            }
            Self::Issuer => "an issuer name: call .issuer(Issuer::new(\"Example Portal\")?)",
        })
    }
}

/// The builder was not given what a service needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A required part is missing.
    #[error("the twofa builder needs {0}")]
    Missing(RequiredPart),
    /// The ticket lifetime is zero or negative.
    #[error("the login ticket lifetime must be positive")]
    TicketLifetime,
    /// The store attempts are zero: no operation could ever save.
    #[error("the store attempts must be at least 1")]
    MaxStoreAttempts,
}

impl TwofaBuilder {
    /// The stores: [`Stores::in_memory`] for one process, or a database's.
    pub fn stores(mut self, stores: Stores) -> Self {
        self.stores = Some(stores);
        self
    }

    /// The SMS, voice, email and push adapters ([`Channels::new`];
    /// [`Channels::outbox`] in tests and demos).
    pub fn channels(mut self, channels: Channels) -> Self {
        self.channels = Some(channels);
        self
    }

    /// The server key and the sealing key ([`Keys`]).
    pub fn keys(mut self, keys: Keys) -> Self {
        let (server_key, sealer) = keys.into_parts();
        self.server_key = Some(server_key);
        self.sealer = Some(sealer);
        self
    }

    /// The key that hashes one-time and recovery codes, when the keys do
    /// not come as [`Keys`].
    pub fn server_key(mut self, key: ServerKey) -> Self {
        self.server_key = Some(key);
        self
    }

    /// The sealer that encrypts secrets at rest, when it is not the
    /// shipped one from [`Keys`] (a key management service, say).
    pub fn sealer(mut self, sealer: Arc<dyn Sealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// The name shown in authenticator apps and in messages.
    pub fn issuer(mut self, issuer: Issuer) -> Self {
        self.issuer = Some(issuer);
        self
    }

    /// Reads the time from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Draws randomness from `random` instead of the operating system.
    pub fn with_random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }

    /// Asks `lookup` for the line type of a phone number being set up
    /// (otherwise the number alone decides, see
    /// `twofa_delivery::classify_offline`).
    pub fn with_carrier_lookup(mut self, lookup: Arc<dyn CarrierLookup>) -> Self {
        self.carrier = Some(lookup);
        self
    }

    /// The texts of SMS, calls and emails (default: English, naming the
    /// issuer).
    pub fn with_templates(mut self, templates: MessageTemplates) -> Self {
        self.templates = Some(templates);
        self
    }

    /// Code lifetimes, throttling and windows. The deferral length, the
    /// deferral cap and the code lifetime come from each company's policy.
    pub fn with_enrollment_policy(mut self, policy: EnrollmentPolicy) -> Self {
        self.enrollment_policy = policy;
        self
    }

    /// The push prompt lifetime and rate limit (default: 2 minutes, 3
    /// prompts per 10 minutes). Shorthand for the push policy of
    /// [`TwofaBuilder::with_enrollment_policy`]: set it after that one.
    pub fn with_push_policy(mut self, policy: PushPolicy) -> Self {
        self.enrollment_policy = self.enrollment_policy.with_push(policy);
        self
    }

    /// The reverse proxies whose forwarding headers are believed.
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// How much address space a company's trusted networks may cover
    /// (default: a `/16` of IPv4 and a `/48` of IPv6, counted over their
    /// union); [`Twofa::add_trusted_network_beyond_limit`] is the audited
    /// override.
    pub fn with_trusted_address_limit(mut self, limit: AddressSpaceLimit) -> Self {
        self.address_limit = limit;
        self
    }

    /// Passkeys: the WebAuthn relying party (its id, the origins the login
    /// pages are served from, user verification) that passkeys are
    /// registered with and checked against. Without one, passkeys are
    /// offered to nobody, whatever a company allows.
    pub fn with_passkeys(mut self, relying_party: RelyingParty) -> Self {
        self.passkeys = Some(relying_party);
        self
    }

    /// The send budget: how many codes, notices and push prompts may go
    /// out per user, destination, country code and service, and to which
    /// country codes (default: [`SendBudgetPolicy::default`]). A company
    /// narrows the country codes in its policy.
    pub fn with_send_budget(mut self, budget: SendBudgetPolicy) -> Self {
        self.send_budget = budget;
        self
    }

    /// The region national phone numbers are read in (otherwise numbers
    /// must be typed in international form, `+44 …`).
    pub fn with_default_region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// How long a login ticket stays usable (default 30 minutes).
    pub fn with_ticket_lifetime(mut self, lifetime: TimeDelta) -> Self {
        self.ticket_lifetime = lifetime;
        self
    }

    /// How many times an operation re-loads and re-evaluates after a
    /// compare-and-swap conflict before it gives up (default 32; 0 is
    /// refused by [`TwofaBuilder::build`]). Each conflict means another request's save succeeded, so with
    /// fewer concurrent requests per user than this bound no request runs
    /// out of attempts.
    pub fn with_max_store_attempts(mut self, attempts: u32) -> Self {
        self.max_store_attempts = attempts;
        self
    }

    /// How many logins, users and companies this server keeps in its cache
    /// of recent logins, each (default 10,000). With them cached, the usual
    /// verification writes without reading the store first; a record
    /// changed by any server since it was cached makes the commit conflict,
    /// and the answer is then evaluated on records read from the store.
    pub fn with_cache_capacity(mut self, capacity: NonZeroUsize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// The service.
    ///
    /// # Errors
    ///
    /// [`BuildError`]: a required part is missing (the error says which
    /// call adds it), or an option is out of range.
    pub fn build(self) -> Result<Twofa, BuildError> {
        let stores = self
            .stores
            .ok_or(BuildError::Missing(RequiredPart::Stores))?;
        let channels = self
            .channels
            .ok_or(BuildError::Missing(RequiredPart::Channels))?;
        let server_key = self
            .server_key
            .ok_or(BuildError::Missing(RequiredPart::ServerKey))?;
        let sealer = self
            .sealer
            .ok_or(BuildError::Missing(RequiredPart::Sealer))?;
        let issuer = self
            .issuer
            .ok_or(BuildError::Missing(RequiredPart::Issuer))?;
        if self.ticket_lifetime <= TimeDelta::zero() {
            return Err(BuildError::TicketLifetime);
        }
        if self.max_store_attempts == 0 {
            return Err(BuildError::MaxStoreAttempts);
        }
        let templates = self
            .templates
            .unwrap_or_else(|| MessageTemplates::new(issuer.clone()));
        Ok(Twofa {
            stores,
            channels,
            server_key,
            sealer,
            issuer,
            templates,
            clock: self.clock,
            random: self.random,
            carrier: self.carrier,
            enrollment_policy: self.enrollment_policy,
            proxies: self.proxies,
            region: self.region,
            ticket_lifetime: self.ticket_lifetime,
            max_store_attempts: self.max_store_attempts,
            cache: LoginCache::new(self.cache_capacity),
            address_limit: self.address_limit,
            send_budget: self.send_budget,
            passkeys: self.passkeys,
        })
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
    pub(crate) cache: LoginCache,
    pub(crate) address_limit: AddressSpaceLimit,
    pub(crate) send_budget: SendBudgetPolicy,
    pub(crate) passkeys: Option<RelyingParty>,
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
    /// Starts building a service. Required, by name: the stores, the
    /// channels, the keys (the server key, which hashes out-of-band and
    /// recovery codes, and the sealer, which encrypts secrets at rest) and
    /// the issuer name shown in authenticator apps and messages.
    ///
    /// Defaults: system clock, OS randomness, no carrier lookup, English
    /// templates, [`EnrollmentPolicy::default`], no trusted proxies,
    /// international phone numbers only, 30-minute tickets.
    pub fn builder() -> TwofaBuilder {
        TwofaBuilder {
            stores: None,
            channels: None,
            server_key: None,
            sealer: None,
            issuer: None,
            templates: None,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            carrier: None,
            enrollment_policy: EnrollmentPolicy::default(),
            proxies: TrustedProxies::none(),
            region: None,
            ticket_lifetime: TimeDelta::minutes(30),
            max_store_attempts: 32,
            cache_capacity: crate::cache::DEFAULT_CAPACITY,
            address_limit: AddressSpaceLimit::default(),
            send_budget: SendBudgetPolicy::default(),
            passkeys: None,
        }
    }

    /// The methods this service can offer: every method, but passkeys only
    /// with a relying party ([`TwofaBuilder::with_passkeys`]).
    pub(crate) fn offered_methods(&self) -> MethodSet {
        match self.passkeys {
            Some(_) => MethodSet::all(),
            None => MethodSet::all().without(Method::Passkey),
        }
    }

    /// The company's policy as it applies to `record`'s user: the methods
    /// narrowed to those this service offers and, where the company
    /// requires it of the user's role, to the phishing-resistant ones.
    /// Every decision about which methods a user may set up, keep or be
    /// challenged with takes this policy.
    pub(crate) fn user_policy(
        &self,
        company: &CompanyRecord,
        record: &UserRecord,
    ) -> CompanyPolicy {
        company
            .policy()
            .for_user(record.role(), self.offered_methods())
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
    /// company's code lifetime, wrong codes per challenge and set-up
    /// lifetime. Deferral is not the machine's decision: the enforcement
    /// gate makes it.
    ///
    /// A company value the lower crates refuse fails the operation (as an
    /// inconsistent record) rather than falling back to a default: every
    /// value the company set is applied, or nothing is.
    pub(crate) fn policy_for(&self, company: &CompanyRecord) -> Result<EnrollmentPolicy, Failure> {
        let refused = Failure::start_over(RejectionDetail::InconsistentRecord);
        let policy = company.policy();
        let challenge = (*self.enrollment_policy.challenge())
            .with_lifetime(policy.out_of_band_code_lifetime())
            .and_then(|challenge| challenge.with_max_failed_checks(policy.attempts_per_challenge()))
            .map_err(|_| refused)?;
        self.enrollment_policy
            .clone()
            .with_challenge(challenge)
            .with_app_pending_lifetime(policy.pending_setup_lifetime())
            .and_then(|enrollment| enrollment.with_max_wrong_codes(policy.attempts_per_challenge()))
            .map_err(|_| refused)
    }

    /// The trust policy for a company: its re-prompt interval, or a failure
    /// (never the default in its place).
    pub(crate) fn trust_policy_for(company: &CompanyRecord) -> Result<TrustPolicy, Failure> {
        TrustPolicy::new()
            .with_reprompt_interval(company.policy().trusted_network_reprompt())
            .map_err(|_| Failure::start_over(RejectionDetail::InconsistentRecord))
    }

    /// Charges the send budget, then sends a message through its channel,
    /// auditing the result. A refused charge sends nothing.
    pub(crate) async fn send(
        &self,
        message: &OutboundMessage,
        kind: SendKind,
        now: DateTime<Utc>,
        company_record: &CompanyRecord,
        user: &UserId,
    ) -> Result<CodeSent, Failure> {
        self.charge_budget(&SendRequest::code(kind, user, message), company_record, now)
            .await
            .map_err(|refusal| refusal.failure(kind))?;
        let company = company_record.company();
        let channel = message.channel();
        let started = std::time::Instant::now();
        let result = match message {
            OutboundMessage::Sms(sms) => self.channels.sms.send_sms(sms).await,
            OutboundMessage::Voice(voice) => self.channels.voice.place_call(voice).await,
            OutboundMessage::Email(email) => self.channels.email.send_email(email).await,
        };
        let sent = CodeSent {
            channel,
            to: masked_destination(message),
        };
        crate::observe::sent(
            "code",
            channel.into(),
            &sent.to,
            result.as_ref().err(),
            started,
        );
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

    /// Charges the send budget, then delivers a push prompt, auditing the
    /// result. A refused charge sends nothing.
    pub(crate) async fn send_push_prompt(
        &self,
        message: &twofa_delivery::PushMessage,
        now: DateTime<Utc>,
        company_record: &CompanyRecord,
        user: &UserId,
    ) -> Result<(), Failure> {
        self.charge_budget(&SendRequest::push(user), company_record, now)
            .await
            .map_err(|refusal| refusal.failure(SendKind::Push))?;
        let company = company_record.company();
        let started = std::time::Instant::now();
        let result = self.channels.push.send_push(message).await;
        crate::observe::sent(
            "push",
            twofa_types::Channel::Push,
            "the user's push app",
            result.as_ref().err(),
            started,
        );
        if result.is_ok() {
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
        if let AuditEvent::LoginAllowed { by } = &event {
            crate::observe::allowed(by);
        }
        let entry = AuditEntry::new(now, company.cloned(), user.cloned(), event);
        let kept = entry.clone();
        self.stores.audit.append(entry).await.map_err(|error| {
            // Not lost silently: the entry goes to the log (ids, kinds and
            // times only, as every audit entry).
            tracing::error!(
                at = %kept.at(),
                company = ?kept.company().map(CompanyId::as_str),
                user = ?kept.user().map(UserId::as_str),
                event = ?kept.event(),
                "audit entry not written"
            );
            Failure::from(error)
        })
    }

    /// Audits a refusal and turns it into what the user sees.
    pub(crate) async fn reject(
        &self,
        now: DateTime<Utc>,
        user: Option<&UserId>,
        failure: Failure,
    ) -> Rejected {
        crate::observe::rejected(failure.detail);
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
        Rejected::new(failure.advice, failure.detail)
    }
}
