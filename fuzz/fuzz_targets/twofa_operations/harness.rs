//! The service under test: `Twofa` on in-memory stores, an outbox for
//! every channel, a manual clock and a seeded random source; one company
//! with two users, an administrator (who has set up an authenticator app)
//! and a member.

use std::cell::Cell;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, TimeDelta, Utc};
use twofa::delivery::{EmailAddress, Issuer, Outbox, Region, ServerKey};
use twofa::enforcement::{Actor, CompanyPolicy, CompanyRole};
use twofa::otp::KeyUri;
use twofa::passkey::{Origin, RelyingParty};
use twofa::trusted_network::{Cidr, TrustedProxies};
use twofa::types::{
    AccountKind, CodeChannel, CodeChannelSet, CompanyId, DeferralCap, Method, MethodSet, UserId,
};
use twofa::{
    Channels, ClientContext, CompanyRecord, LoginStep, LoginTicket, ManualClock, MethodChoice,
    SeededRandom, SetUpProgress, Stores, Twofa, TwofaBuilder, UserRecord, XChaChaSealer,
};

/// Polls a future of the in-memory service to completion. Every store and
/// channel answers at once, so a future that stays pending is a bug.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..16 {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
    panic!("an in-memory operation did not complete");
}

/// Networks an administrator may list.
pub(crate) const NETWORKS: [&str; 4] = [
    "198.51.100.0/24",
    "198.51.0.0/16",
    "2001:db8:1::/48",
    "203.0.113.0/25",
];

/// Client addresses: on one, two or none of the networks.
pub(crate) const PEERS: [&str; 6] = [
    "198.51.100.7",
    "198.51.7.7",
    "203.0.113.9",
    "203.0.113.200",
    "2001:db8:1::5",
    "192.0.2.55",
];

/// The reverse proxy whose forwarding headers the service believes, and
/// the address it connects from.
pub(crate) const PROXY: &str = "10.0.0.0/8";
pub(crate) const PROXY_PEER: &str = "10.0.0.1";

/// Numbers a user may type (mobile, national, North American, landline),
/// and the digits that must never be printed whole.
pub(crate) const NUMBERS: [(&str, &str); 4] = [
    ("+44 7400 123456", "7400123456"),
    ("07400 654321", "7400654321"),
    ("+1 416 555 0100", "4165550100"),
    ("020 7946 0018", "2079460018"),
];

/// Labels of a listed network; the last one is refused.
pub(crate) const LABELS: [&str; 3] = ["Office", "", "bad\u{7}label"];

/// The company policies an administrator may set. Every one keeps the
/// default trusted-network re-prompt interval.
pub(crate) fn policy(choice: u8) -> CompanyPolicy {
    let app_and_push = MethodSet::of(&[Method::AuthenticatorApp, Method::PushApp]);
    let phone = MethodSet::of(&[Method::Sms, Method::VoiceCall]);
    let email_only = CodeChannelSet::of(&[CodeChannel::Email]);
    let builder = CompanyPolicy::builder();
    let builder = match choice % 8 {
        0 => builder,
        1 => builder
            .with_allowed_methods(app_and_push)
            .with_resend_channels(email_only),
        2 => builder.with_allowed_methods(phone),
        3 => builder.with_deferral_cap(DeferralCap::AtMost(0)),
        4 => builder
            .with_deferral_cap(DeferralCap::AtMost(1))
            .with_deferral_length(TimeDelta::hours(1)),
        5 => builder
            .with_out_of_band_code_lifetime(TimeDelta::minutes(1))
            .with_attempts_per_challenge(1),
        6 => builder
            .with_allowed_methods(MethodSet::of(&[Method::AuthenticatorApp]))
            .with_resend_channels(email_only),
        _ => builder.with_deferral_cap(DeferralCap::Unlimited),
    };
    builder
        .build()
        .unwrap_or_else(|error| panic!("built-in policy {choice} refused: {error}"))
}

pub(crate) fn cidr(text: &str) -> Cidr {
    text.parse()
        .unwrap_or_else(|error| panic!("built-in network {text}: {error:?}"))
}

/// The administrator sets up an authenticator app at the start: company
/// operations need her recent second factor.
fn enroll_admin(twofa: &Twofa, alice: &UserId, acme: &CompanyId) -> KeyUri {
    let record = UserRecord::new(
        alice.clone(),
        acme.clone(),
        AccountKind::PartnerEmployee,
        "alice",
    );
    block_on(twofa.stores().users().save(alice, record, None))
        .unwrap_or_else(|error| panic!("admin not stored: {error:?}"));
    let client = ClientContext::new(IpAddr::from([192, 0, 2, 1]));
    let Ok(LoginStep::SetUp(screen)) = block_on(twofa.begin_login(alice, &client)) else {
        panic!("the administrator is asked to set up 2FA");
    };
    let choice = MethodChoice::AuthenticatorApp;
    let Ok(SetUpProgress::ScanQrCode(uri)) =
        block_on(twofa.choose_method(alice, &screen.ticket, choice))
    else {
        panic!("the administrator's app set-up");
    };
    let key = uri.key_uri().clone();
    let code = admin_code(&key, start()).unwrap_or_else(|| panic!("admin code"));
    let Ok(LoginStep::Allowed(_)) = block_on(twofa.submit_code(alice, &screen.ticket, &code))
    else {
        panic!("the administrator's first code");
    };
    key
}

/// The code the administrator's app shows at `now`.
pub(crate) fn admin_code(key: &KeyUri, now: DateTime<Utc>) -> Option<String> {
    let seconds = u64::try_from(now.timestamp()).ok()?;
    let code = key.to_totp()?.generate(seconds).ok()?;
    Some(code.expose_secret().as_str().to_owned())
}

/// The origin the portal's pages are served from: passkeys are registered
/// for it.
pub(crate) const PORTAL_ORIGIN: &str = "https://login.example.com";

/// An origin under the relying party's id that it does not list: the
/// authenticator signs for it, the service must refuse.
pub(crate) const UNLISTED_ORIGIN: &str = "https://old.example.com";

pub(crate) struct Harness {
    /// Two servers on the same stores, each with its own cache of recent
    /// logins; `serving` says which one takes the next step.
    servers: (Twofa, Twofa),
    serving: Cell<bool>,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) proxies: TrustedProxies,
    /// The user whose logins the sequence drives.
    pub(crate) bob: UserId,
    /// Another user of the company, who presents Bob's tickets.
    pub(crate) eve: UserId,
    pub(crate) acme: CompanyId,
    pub(crate) admin: Actor,
    /// The administrator's authenticator app.
    pub(crate) admin_key: KeyUri,
    pub(crate) member: Actor,
    /// A well-formed ticket the service never issued.
    pub(crate) unknown_ticket: LoginTicket,
}

pub(crate) fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_438_400, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

impl Harness {
    pub(crate) fn new(kind: AccountKind, default_region: bool) -> Self {
        let clock = Arc::new(ManualClock::new(start()));
        let outbox = Arc::new(Outbox::new());
        let proxies = TrustedProxies::new([cidr(PROXY)]);
        let stores = Stores::in_memory();
        // The same keys on both servers; each draws its own tickets and
        // secrets.
        let server = |seed: u8| {
            let (Ok(key), Ok(sealer), Ok(issuer)) = (
                ServerKey::from_bytes(&[7u8; 32]),
                XChaChaSealer::from_bytes(&[9u8; 32]),
                Issuer::new("Fuzz Portal"),
            ) else {
                panic!("built-in keys refused");
            };
            Self::server(
                Twofa::builder()
                    .stores(stores.clone())
                    .channels(Channels::outbox(&outbox))
                    .server_key(key)
                    .sealer(Arc::new(sealer))
                    .issuer(issuer)
                    .with_clock(clock.clone())
                    .with_random(Arc::new(SeededRandom::new([seed; 32])))
                    .with_trusted_proxies(proxies.clone()),
                default_region,
            )
        };
        let servers = (server(42), server(43));
        let twofa = &servers.0;
        let ids = (
            CompanyId::new("acme"),
            UserId::new("bob"),
            UserId::new("eve"),
            UserId::new("alice"),
            UserId::new("mallory"),
        );
        let (Ok(acme), Ok(bob), Ok(eve), Ok(alice), Ok(mallory)) = ids else {
            panic!("built-in ids refused");
        };
        let stores = twofa.stores().clone();
        block_on(
            stores
                .companies()
                .save(&acme, CompanyRecord::new(acme.clone()), None),
        )
        .unwrap_or_else(|error| panic!("company not stored: {error:?}"));
        for (user, kind) in [(&bob, kind), (&eve, AccountKind::PartnerEmployee)] {
            let Ok(email) = EmailAddress::parse(&format!("{}@example.com", user.as_str())) else {
                panic!("built-in address refused");
            };
            let record =
                UserRecord::new(user.clone(), acme.clone(), kind, user.as_str()).with_email(email);
            block_on(stores.users().save(user, record, None))
                .unwrap_or_else(|error| panic!("user not stored: {error:?}"));
        }
        let Ok(unknown_ticket) = "0123456789abcdef0123456789abcdef".parse() else {
            panic!("built-in ticket refused");
        };
        let admin_key = enroll_admin(twofa, &alice, &acme);
        Self {
            servers,
            serving: Cell::new(false),
            clock,
            outbox,
            proxies,
            bob,
            eve,
            admin: Actor::new(alice, acme.clone(), CompanyRole::Admin),
            admin_key,
            member: Actor::new(mallory, acme.clone(), CompanyRole::Member),
            acme,
            unknown_ticket,
        }
    }

    /// A server of the portal with the relying party and the region.
    fn server(builder: TwofaBuilder, default_region: bool) -> Twofa {
        let Ok(origin) = Origin::https(PORTAL_ORIGIN) else {
            panic!("built-in origin refused");
        };
        let Ok(relying_party) = RelyingParty::new("example.com", "Fuzz Portal", [origin]) else {
            panic!("built-in relying party refused");
        };
        let builder = builder.with_passkeys(relying_party);
        let builder = match (default_region, Region::new("GB")) {
            (true, Ok(region)) => builder.with_default_region(region),
            _ => builder,
        };
        let Ok(twofa) = builder.build() else {
            panic!("the harness's service is complete");
        };
        twofa
    }

    /// The server that takes the next step.
    pub(crate) fn twofa(&self) -> &Twofa {
        match self.serving.get() {
            false => &self.servers.0,
            true => &self.servers.1,
        }
    }

    /// The next steps go to the other server, or the first.
    pub(crate) fn serve_from(&self, second: bool) {
        self.serving.set(second);
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        twofa::Clock::now(&*self.clock)
    }

    /// Whether the stored company record says enforcement is on.
    pub(crate) fn enforced(&self) -> bool {
        let loaded = block_on(self.twofa().stores().companies().load(&self.acme))
            .unwrap_or_else(|error| panic!("company not loaded: {error:?}"))
            .unwrap_or_else(|| panic!("company record gone"));
        loaded.record.settings().is_enforced()
    }
}

/// Nothing printable holds a whole phone number.
pub(crate) fn printed_safely(printed: &str) {
    for (_, digits) in NUMBERS {
        assert!(
            !printed.contains(digits),
            "a full number printed: {printed}"
        );
    }
}
