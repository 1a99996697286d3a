//! The facade through its public API: store conformance, an end-to-end test
//! per portal feature, concurrency, failing stores and time edges, one
//! module per topic. This file holds the portal the tests drive and the
//! helpers they share.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions fail loudly by design"
)]

mod account;
mod admin;
mod budget;
mod cache;
mod edge;
mod factors;
mod login;
mod notices;
mod observe;
mod passkeys;
mod policy;
mod provision;
mod push;
mod receipts;
mod recovery;
mod seal;
mod setup;
mod stores;
mod tap;
mod trusted;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use twofa::delivery::{Issuer, Outbox, SentMessage, ServerKey};
use twofa::enforcement::{Actor, CompanyRole};
use twofa::enrollment::{EnrollmentPolicy, ProvisioningUri};
use twofa::types::{AccountKind, CompanyId, Method, UserId};
use twofa::{
    AuditEntry, Channels, ClientContext, CompanyRecord, LoginStep, ManualClock, MethodChoice,
    SeededRandom, SetUpProgress, Stores, Twofa, UserRecord, XChaChaSealer,
};

const OFFICE: &str = "198.51.100.0/24";

/// The origin the portal's pages are served from: the one passkeys are
/// registered for.
const PORTAL_ORIGIN: &str = "https://login.example.com";

/// The portal's WebAuthn relying party.
fn relying_party() -> twofa::passkey::RelyingParty {
    twofa::passkey::RelyingParty::new(
        "example.com",
        "Partner Portal",
        [twofa::passkey::Origin::https(PORTAL_ORIGIN).unwrap()],
    )
    .unwrap()
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

fn office() -> ClientContext {
    ClientContext::new("198.51.100.7".parse().unwrap())
}

fn home() -> ClientContext {
    ClientContext::new("203.0.113.9".parse().unwrap())
}

/// A portal with one company, its administrator and in-memory stores.
struct Portal {
    twofa: Twofa,
    clock: Arc<ManualClock>,
    outbox: Arc<Outbox>,
    acme: CompanyId,
    admin_actor: Actor,
    /// The administrator's authenticator app.
    admin_key: std::sync::OnceLock<ProvisioningUri>,
    /// Until when the administrator's last second factor is fresh.
    admin_fresh_until: std::sync::Mutex<DateTime<Utc>>,
}

impl Portal {
    async fn new() -> Self {
        Self::with_stores(Stores::in_memory()).await
    }

    async fn with_stores(stores: Stores) -> Self {
        Self::with(stores, EnrollmentPolicy::default()).await
    }

    /// A portal whose administrator has no second factor (for stores that
    /// refuse the set-up).
    async fn without_admin_factor(stores: Stores) -> Self {
        Self::build(stores, EnrollmentPolicy::default(), false, true).await
    }

    async fn with(stores: Stores, policy: EnrollmentPolicy) -> Self {
        Self::build(stores, policy, true, true).await
    }

    /// A portal: `admin_factor`, whether the administrator has an app;
    /// `passkeys`, whether the service has a WebAuthn relying party.
    async fn build(
        stores: Stores,
        policy: EnrollmentPolicy,
        admin_factor: bool,
        passkeys: bool,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(start()));
        let outbox = Arc::new(Outbox::new());
        let builder = Twofa::builder()
            .stores(stores)
            .channels(Channels::outbox(&outbox))
            .server_key(ServerKey::from_bytes(&[7u8; 32]).unwrap())
            .sealer(Arc::new(XChaChaSealer::from_bytes(&[9u8; 32]).unwrap()))
            .issuer(Issuer::new("Partner Portal").unwrap())
            .with_clock(clock.clone())
            .with_random(Arc::new(SeededRandom::new([42u8; 32])))
            .with_enrollment_policy(policy);
        let builder = match passkeys {
            true => builder.with_passkeys(relying_party()),
            false => builder,
        };
        let twofa = builder.build().unwrap();
        let acme = CompanyId::new("acme").unwrap();
        let stores = twofa.stores().clone();
        stores
            .companies()
            .save(&acme, CompanyRecord::new(acme.clone()), None)
            .await
            .unwrap();
        let admin = Actor::new(
            UserId::new("alice").unwrap(),
            acme.clone(),
            CompanyRole::Admin,
        );
        let portal = Self {
            twofa,
            clock,
            outbox,
            acme,
            admin_actor: admin,
            admin_key: std::sync::OnceLock::new(),
            admin_fresh_until: std::sync::Mutex::new(start()),
        };
        let alice = portal.add_user("alice", AccountKind::PartnerEmployee).await;
        if admin_factor {
            // Company operations need the administrator's recent second
            // factor: Alice uses an authenticator app.
            let (key, _) = Box::pin(portal.enroll_app(&alice)).await;
            portal.admin_key.set(key).unwrap();
            *portal.admin_fresh_until.lock().unwrap() = portal.clock.now() + TimeDelta::minutes(10);
        }
        portal
    }

    /// The administrator, with a second factor completed within the
    /// step-up window (a step-up with her app when the last one is older).
    async fn admin(&self) -> &Actor {
        let now = self.clock.now();
        if now >= *self.admin_fresh_until.lock().unwrap() {
            let actor = &self.admin_actor;
            let step = Box::pin(self.twofa.begin_step_up(actor.user(), &home()))
                .await
                .unwrap();
            let screen = challenge(step);
            let code = totp_code(self.admin_key.get().unwrap(), now);
            let submitted = self.twofa.submit_code(actor.user(), &screen.ticket, &code);
            into_allowed(Box::pin(submitted).await.unwrap());
            *self.admin_fresh_until.lock().unwrap() = now + TimeDelta::minutes(10);
        }
        &self.admin_actor
    }

    async fn add_user(&self, id: &str, kind: AccountKind) -> UserId {
        let user = UserId::new(id).unwrap();
        let local = id.replace(' ', ".");
        let email = twofa::delivery::EmailAddress::parse(&format!("{local}@example.com")).unwrap();
        let record = UserRecord::new(user.clone(), self.acme.clone(), kind, id).with_email(email);
        self.twofa
            .stores()
            .users()
            .save(&user, record, None)
            .await
            .unwrap();
        user
    }

    /// The administrator lists the office network as trusted.
    async fn trust_office(&self) {
        let office = twofa::trusted_network::Cidr::parse(OFFICE).unwrap();
        self.twofa
            .add_trusted_network(self.admin().await, office, "Head office")
            .await
            .unwrap();
    }

    fn advance(&self, delta: TimeDelta) {
        self.clock.advance(delta);
    }

    /// The code in the last message the outbox accepted, security notices
    /// (which follow the change they report) aside.
    fn last_code(&self) -> String {
        let mut sent = self.outbox.sent().into_iter().rev();
        let last = sent.find(|m| !matches!(m, SentMessage::Notice(_)));
        let text = match last.expect("a message was sent") {
            SentMessage::Sms(sms) => sms.body.expose_secret().to_owned(),
            SentMessage::Voice(call) => call.script.expose_secret().to_owned(),
            SentMessage::Email(email) => email.body.expose_secret().to_owned(),
            other => panic!("no code in {other:?}"),
        };
        code_in(&text)
    }

    /// Enrolls an authenticator app for `user` from the office network and
    /// returns the key URI (the simulated phone) and the recovery codes.
    async fn enroll_app(&self, user: &UserId) -> (ProvisioningUri, Vec<String>) {
        let LoginStep::SetUp(screen) = self.twofa.begin_login(user, &office()).await.unwrap()
        else {
            panic!("expected set-up");
        };
        let SetUpProgress::ScanQrCode(uri) = self
            .twofa
            .choose_method(user, &screen.ticket, MethodChoice::AuthenticatorApp)
            .await
            .unwrap()
        else {
            panic!("expected a QR code");
        };
        let code = totp_code(&uri, self.clock.now());
        let allowed = into_allowed(
            self.twofa
                .submit_code(user, &screen.ticket, &code)
                .await
                .unwrap(),
        );
        let sheet = allowed
            .recovery_codes
            .expect("recovery codes after activation");
        let codes = sheet.expose_secret().map(str::to_owned).collect();
        (uri, codes)
    }

    async fn audit(&self) -> Vec<AuditEntry> {
        self.twofa.stores().audit().read(0, 10_000).await.unwrap()
    }
}

trait Now {
    fn now(&self) -> DateTime<Utc>;
}

impl Now for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        twofa::Clock::now(self)
    }
}

/// The code of a message: the digits after the first "code" and colon.
fn code_in(text: &str) -> String {
    let start = text.find("code").expect("message names the code");
    let after = &text[start..];
    let colon = after.find(':').expect("a colon before the code");
    after[colon..]
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect()
}

/// What an authenticator app shows at `now` for this key.
fn totp_code(uri: &ProvisioningUri, now: DateTime<Utc>) -> String {
    let totp = uri.key_uri().to_totp().unwrap();
    let seconds = u64::try_from(now.timestamp()).unwrap();
    totp.generate(seconds)
        .unwrap()
        .expose_secret()
        .as_str()
        .to_owned()
}

fn challenge(step: LoginStep) -> twofa::ChallengeScreen {
    match step {
        LoginStep::Challenge(screen) => screen,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

fn into_allowed(step: LoginStep) -> twofa::Allowed {
    match step {
        LoginStep::Allowed(allowed) => allowed,
        other => panic!("expected the login to be allowed, got {other:?}"),
    }
}

fn set_up(step: LoginStep) -> twofa::SetUpScreen {
    match step {
        LoginStep::SetUp(screen) => screen,
        other => panic!("expected set-up, got {other:?}"),
    }
}

fn sealer() -> XChaChaSealer {
    XChaChaSealer::from_bytes(&[9u8; 32]).unwrap()
}

/// The user's consecutive failure count, read from the sealed record.
async fn consecutive_failures(portal: &Portal, user: &UserId) -> u32 {
    let stored = portal
        .twofa
        .stores()
        .users()
        .load(user)
        .await
        .unwrap()
        .unwrap();
    let enrollment = stored.record.enrollment().unwrap().open(&sealer()).unwrap();
    enrollment.failures().consecutive()
}

/// The user's unused recovery codes, read from the sealed record.
async fn recovery_remaining(portal: &Portal, user: &UserId) -> usize {
    let stored = portal
        .twofa
        .stores()
        .users()
        .load(user)
        .await
        .unwrap()
        .unwrap();
    let enrollment = stored.record.enrollment().unwrap().open(&sealer()).unwrap();
    enrollment
        .summary(portal.clock.now())
        .recovery_codes_remaining
}

/// Replaces the company's allowed methods (and keeps the re-send channels
/// consistent with them).
async fn allow_only(portal: &Portal, methods: &[Method]) {
    use twofa::enforcement::CompanyPolicy;
    use twofa::types::{CodeChannel, CodeChannelSet, MethodSet};
    let set = MethodSet::of(methods);
    let mut channels = vec![CodeChannel::Email];
    if set.contains(Method::Sms) {
        channels.push(CodeChannel::Sms);
    }
    if set.contains(Method::VoiceCall) {
        channels.push(CodeChannel::VoiceCall);
    }
    let policy = CompanyPolicy::builder()
        .with_allowed_methods(set)
        .with_resend_channels(CodeChannelSet::of(&channels))
        .build()
        .unwrap();
    portal
        .twofa
        .set_company_policy(portal.admin().await, policy)
        .await
        .unwrap();
}
