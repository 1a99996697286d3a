//! The facade through its public API: store conformance, an end-to-end test
//! per portal feature, concurrency, failing stores and time edges.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions fail loudly by design"
)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use twofa::delivery::{
    FailureCause, Issuer, Outbox, ResendOption, SendError, SentMessage, ServerKey,
};
use twofa::enforcement::{AccountKind, Actor, CompanyId, CompanyRole, Method, StatusKind, UserId};
use twofa::enrollment::{
    EnrollmentPolicy, MethodKind, NotMobileAnswer, PhoneChannel, ProvisioningUri, ThrottlePolicy,
    XChaChaSealer,
};
use twofa::trusted_network::{Cidr, TrustGrantRecord};
use twofa::{
    AllowedBy, AuditEntry, AuditEvent, AuditLog, ChallengeStore, Channels, ClientContext,
    CompanyRecord, CompanyStore, LoginStep, LoginTicket, ManualClock, MethodChoice, PendingLogin,
    PhoneChoice, RejectionDetail, Resent, RetryAdvice, SaveError, SeededRandom, SetUpProgress,
    StoreError, Stores, TrustGrantStore, Twofa, UserRecord, UserStore, Version, Versioned,
};

const OFFICE: &str = "198.51.100.0/24";

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
    admin: Actor,
}

impl Portal {
    async fn new() -> Self {
        Self::with_stores(Stores::in_memory()).await
    }

    async fn with_stores(stores: Stores) -> Self {
        Self::with(stores, EnrollmentPolicy::default()).await
    }

    async fn with(stores: Stores, policy: EnrollmentPolicy) -> Self {
        let clock = Arc::new(ManualClock::new(start()));
        let outbox = Arc::new(Outbox::new());
        let twofa = Twofa::builder(
            stores,
            Channels::outbox(&outbox),
            ServerKey::from_bytes(&[7u8; 32]).unwrap(),
            Arc::new(XChaChaSealer::from_bytes(&[9u8; 32]).unwrap()),
            Issuer::new("Partner Portal").unwrap(),
        )
        .with_clock(clock.clone())
        .with_random(Arc::new(SeededRandom::new([42u8; 32])))
        .with_enrollment_policy(policy)
        .build();
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
            admin,
        };
        portal.add_user("alice", AccountKind::PartnerEmployee).await;
        portal
    }

    async fn add_user(&self, id: &str, kind: AccountKind) -> UserId {
        let user = UserId::new(id).unwrap();
        let email = twofa::delivery::EmailAddress::parse(&format!("{id}@example.com")).unwrap();
        let record = UserRecord::new(user.clone(), self.acme.clone(), kind, id).with_email(email);
        self.twofa
            .stores()
            .users()
            .save(&user, record, None)
            .await
            .unwrap();
        user
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

// --- Feature 1: set-up is asked for after the password -------------------

#[tokio::test]
async fn a_user_without_2fa_is_asked_to_set_it_up_after_the_password() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(screen.methods.contains(Method::AuthenticatorApp));
    assert!(screen.methods.contains(Method::Sms));
    assert_eq!(screen.remind_me_until, Some(start() + TimeDelta::hours(48)));
    assert_eq!(screen.pending, None);
}

#[tokio::test]
async fn unknown_users_are_refused_and_audited() {
    let portal = Portal::new().await;
    let ghost = UserId::new("ghost").unwrap();
    let error = portal.twofa.begin_login(&ghost, &home()).await.unwrap_err();
    assert_eq!(error.advice(), RetryAdvice::StartOver);
    let audit = portal.audit().await;
    assert!(audit.iter().any(|e| *e.event()
        == AuditEvent::Rejected {
            detail: RejectionDetail::UnknownUser
        }));
}

// --- Feature 2 and 4: the authenticator app, codes, replay ---------------

#[tokio::test]
async fn an_authenticator_app_is_enrolled_by_qr_code_and_its_codes_log_in_once() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, recovery) = portal.enroll_app(&bob).await;
    assert_eq!(recovery.len(), 10);
    let text = uri.expose_secret();
    assert!(
        text.starts_with("otpauth://totp/Partner%20Portal:bob?"),
        "{}",
        text.as_str()
    );

    portal.advance(TimeDelta::minutes(5));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(screen.method, MethodKind::App);
    assert_eq!(screen.resend, vec![ResendOption::App]);
    assert_eq!(
        portal
            .twofa
            .resend(&bob, &screen.ticket, ResendOption::App)
            .await
            .unwrap(),
        Resent::ReadYourDevice
    );
    // A wrong code first: refused, counted, the ticket stays usable.
    let wrong = portal
        .twofa
        .submit_code(&bob, &screen.ticket, "000000")
        .await
        .unwrap_err();
    assert_eq!(wrong.advice(), RetryAdvice::IncorrectCode);
    let code = totp_code(&uri, portal.clock.now());
    let allowed = into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    assert_eq!(
        allowed.by,
        AllowedBy::SecondFactor {
            method: Method::AuthenticatorApp
        }
    );
    // The ticket is used up.
    assert!(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .is_err()
    );

    // The same code on a new login is a replay.
    let again = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let replay = portal
        .twofa
        .submit_code(&bob, &again.ticket, &code)
        .await
        .unwrap_err();
    assert_eq!(replay.advice(), RetryAdvice::IncorrectCode);
    // The next step's code works.
    portal.advance(TimeDelta::seconds(30));
    let next = totp_code(&uri, portal.clock.now());
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &again.ticket, &next)
            .await
            .unwrap(),
    );
}

// --- Features 3 and 4: SMS and voice, the not-a-mobile dialog, re-sends ---

#[tokio::test]
async fn sms_enrollment_sends_a_code_and_a_resend_by_phone_call_replaces_it() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let progress = portal
        .twofa
        .choose_method(
            &bob,
            &screen.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap();
    let SetUpProgress::CodeSent(sent) = progress else {
        panic!("expected a code to be sent");
    };
    assert_eq!(sent.to, "+44 ••• ••• 3456");
    let sms_code = portal.last_code();
    assert!(matches!(portal.outbox.last(), Some(SentMessage::Sms(_))));

    // Within the re-send cooldown a call is refused.
    let early = portal
        .twofa
        .resend(&bob, &screen.ticket, ResendOption::Voice)
        .await
        .unwrap_err();
    assert_eq!(early.advice(), RetryAdvice::TryLater);
    portal.advance(TimeDelta::seconds(30));
    let Resent::CodeSent(call) = portal
        .twofa
        .resend(&bob, &screen.ticket, ResendOption::Voice)
        .await
        .unwrap()
    else {
        panic!("expected a call");
    };
    assert_eq!(call.channel, twofa::delivery::CodeChannel::Voice);
    let voice_code = portal.last_code();
    assert!(matches!(portal.outbox.last(), Some(SentMessage::Voice(_))));

    // The SMS code was replaced by the call's code.
    if sms_code != voice_code {
        assert!(
            portal
                .twofa
                .submit_code(&bob, &screen.ticket, &sms_code)
                .await
                .is_err()
        );
    }
    let allowed = into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &voice_code)
            .await
            .unwrap(),
    );
    assert_eq!(
        allowed.by,
        AllowedBy::SecondFactor {
            method: Method::Sms
        }
    );
    assert!(allowed.recovery_codes.is_some());

    // At the next login the code goes out by SMS at once; email re-send works.
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(login.method, MethodKind::Sms);
    assert_eq!(login.sent_to.as_deref(), Some("+44 ••• ••• 3456"));
    assert_eq!(
        login.resend,
        vec![ResendOption::Sms, ResendOption::Voice, ResendOption::Email]
    );
    portal.advance(TimeDelta::seconds(30));
    portal
        .twofa
        .resend(&bob, &login.ticket, ResendOption::Email)
        .await
        .unwrap();
    assert!(matches!(portal.outbox.last(), Some(SentMessage::Email(_))));
    let code = portal.last_code();
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &code)
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn fixed_lines_and_canadian_numbers_get_the_not_a_mobile_dialog() {
    let portal = Portal::new().await;
    for (n, number) in ["+44 121 234 5678", "+49 30 123456", "+1 506 234 5678"]
        .into_iter()
        .enumerate()
    {
        let user = portal
            .add_user(&format!("user{n}"), AccountKind::PartnerEmployee)
            .await;
        let screen = set_up(portal.twofa.begin_login(&user, &home()).await.unwrap());
        let sent_before = portal.outbox.len();
        let progress = portal
            .twofa
            .choose_method(
                &user,
                &screen.ticket,
                MethodChoice::Phone(PhoneChoice::new(number, PhoneChannel::Sms)),
            )
            .await
            .unwrap();
        let SetUpProgress::NotMobile(dialog) = progress else {
            panic!("expected the dialog for {number}");
        };
        assert_eq!(dialog.recommended, MethodKind::App);
        assert_eq!(dialog.alternative, PhoneChannel::Voice);
        assert_eq!(
            portal.outbox.len(),
            sent_before,
            "nothing sent before the answer"
        );
        // The user keeps the number with a phone call.
        let progress = portal
            .twofa
            .choose_method(
                &user,
                &screen.ticket,
                MethodChoice::Phone(
                    PhoneChoice::new(number, PhoneChannel::Sms)
                        .with_answer(NotMobileAnswer::ContinueWithVoice),
                ),
            )
            .await
            .unwrap();
        let SetUpProgress::CodeSent(sent) = progress else {
            panic!("expected a call");
        };
        assert_eq!(sent.channel, twofa::delivery::CodeChannel::Voice);
    }
}

#[tokio::test]
async fn a_failed_send_saves_nothing_and_never_allows() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    portal
        .outbox
        .fail_next(1, SendError::Transient(FailureCause::ProviderUnavailable));
    let before = portal
        .twofa
        .stores()
        .users()
        .load(&bob)
        .await
        .unwrap()
        .unwrap();
    let error = portal
        .twofa
        .choose_method(
            &bob,
            &screen.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap_err();
    assert_eq!(error.advice(), RetryAdvice::TryLater);
    let after = portal
        .twofa
        .stores()
        .users()
        .load(&bob)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before, after, "the user record is untouched");
}

#[tokio::test]
async fn a_login_whose_code_cannot_be_sent_is_refused() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    portal
        .twofa
        .choose_method(
            &bob,
            &screen.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap();
    let code = portal.last_code();
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    portal.advance(TimeDelta::minutes(1));
    portal
        .outbox
        .fail_next(1, SendError::Permanent(FailureCause::Unreachable));
    let refused = portal.twofa.begin_login(&bob, &home()).await.unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::TryLater);
    assert!(portal.audit().await.iter().any(|e| *e.event()
        == AuditEvent::Rejected {
            detail: RejectionDetail::ProviderFailed
        }));
}

#[tokio::test]
async fn invalid_phone_numbers_are_refused_as_input_errors() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let error = portal
        .twofa
        .choose_method(
            &bob,
            &screen.ticket,
            MethodChoice::Phone(PhoneChoice::new("not a number", PhoneChannel::Sms)),
        )
        .await
        .unwrap_err();
    assert_eq!(error.advice(), RetryAdvice::CheckInput);
}

// --- Feature 5: remind me in 48 hours --------------------------------------

#[tokio::test]
async fn a_deferral_lasts_exactly_48_hours() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let allowed = portal.twofa.defer(&bob, &screen.ticket).await.unwrap();
    let until = start() + TimeDelta::hours(48);
    assert_eq!(allowed.by, AllowedBy::Deferred { until });

    portal.clock.set(until - TimeDelta::seconds(1));
    let step = portal.twofa.begin_login(&bob, &home()).await.unwrap();
    assert!(
        matches!(step, LoginStep::Allowed(ref a) if a.by == AllowedBy::DeferralRunning { until }),
        "{step:?}"
    );
    portal.clock.set(until);
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(screen.remind_me_until, Some(until + TimeDelta::hours(48)));
    portal.clock.set(until + TimeDelta::seconds(1));
    set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
}

// --- Feature 7: enforcement ------------------------------------------------

#[tokio::test]
async fn enforcing_2fa_removes_the_deferral_and_voids_running_ones() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let carol = portal.add_user("carol", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    portal.twofa.defer(&bob, &screen.ticket).await.unwrap();
    // Carol's screen offered the deferral before enforcement.
    let carol_screen = set_up(portal.twofa.begin_login(&carol, &home()).await.unwrap());
    assert!(carol_screen.remind_me_until.is_some());

    // A member cannot enforce; the admin can, once and for good.
    let member = Actor::new(bob.clone(), portal.acme.clone(), CompanyRole::Member);
    assert_eq!(
        portal.twofa.enforce_two_factor(&member).await,
        Err(twofa::AdminError::NotCompanyAdmin)
    );
    portal
        .twofa
        .enforce_two_factor(&portal.admin)
        .await
        .unwrap();
    portal
        .twofa
        .enforce_two_factor(&portal.admin)
        .await
        .unwrap();

    portal.advance(TimeDelta::minutes(1));
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(
        screen.remind_me_until, None,
        "no remind-me under enforcement"
    );
    assert!(portal.twofa.defer(&bob, &screen.ticket).await.is_err());
    // The old screen's offer is void too.
    assert!(
        portal
            .twofa
            .defer(&carol, &carol_screen.ticket)
            .await
            .is_err()
    );
    let enforced = portal
        .audit()
        .await
        .iter()
        .filter(|e| matches!(e.event(), AuditEvent::EnforcementEnabled { .. }))
        .count();
    assert_eq!(enforced, 1);
}

#[tokio::test]
async fn the_status_report_lists_every_user() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let carol = portal.add_user("carol", AccountKind::EndUserClient).await;
    portal.enroll_app(&bob).await;
    let screen = set_up(portal.twofa.begin_login(&carol, &home()).await.unwrap());
    portal.twofa.defer(&carol, &screen.ticket).await.unwrap();
    let report = portal.twofa.enrollment_report(&portal.admin).await.unwrap();
    let totals = report.totals();
    assert_eq!(totals.total, 3);
    assert_eq!(totals.enrolled, 1);
    assert_eq!(totals.deferred, 1);
    assert_eq!(totals.not_enrolled, 1);
    let kinds: Vec<(String, StatusKind)> = report
        .rows()
        .iter()
        .map(|row| (row.user_id().as_str().to_owned(), row.kind()))
        .collect();
    assert!(kinds.contains(&("bob".to_owned(), StatusKind::Enrolled)));
    let member = Actor::new(bob, portal.acme.clone(), CompanyRole::Member);
    assert!(portal.twofa.enrollment_report(&member).await.is_err());
}

// --- Feature 8: trusted networks -------------------------------------------

#[tokio::test]
async fn a_trusted_network_skips_the_prompt_for_21_days_to_the_second() {
    let portal = Portal::new().await;
    portal
        .twofa
        .add_trusted_network(&portal.admin, Cidr::parse(OFFICE).unwrap(), "Head office")
        .await
        .unwrap();
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    portal.advance(TimeDelta::minutes(1));
    // Enrolling from the office completes a second factor there: grant.
    let (uri, _) = portal.enroll_app(&bob).await;
    let granted = portal.clock.now();
    let expiry = granted + TimeDelta::days(21);

    portal.clock.set(expiry - TimeDelta::seconds(1));
    let step = portal.twofa.begin_login(&bob, &office()).await.unwrap();
    let LoginStep::Allowed(allowed) = step else {
        panic!("expected no prompt 20 days later, got {step:?}");
    };
    assert!(matches!(allowed.by, AllowedBy::TrustedNetwork { until, .. } if until == expiry));
    // From home the prompt is there.
    challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());

    portal.clock.set(expiry + TimeDelta::seconds(1));
    challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
    portal.clock.set(expiry);
    let screen = challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
    let code = totp_code(&uri, portal.clock.now());
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    // The answer from the office earned a new grant.
    portal.advance(TimeDelta::days(20));
    assert!(matches!(
        portal.twofa.begin_login(&bob, &office()).await.unwrap(),
        LoginStep::Allowed(_)
    ));
    // The admin revokes it: prompted again.
    assert!(
        portal
            .twofa
            .revoke_trust_grant(&portal.admin, &bob)
            .await
            .unwrap()
    );
    challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
}

#[tokio::test]
async fn removing_a_network_ends_the_grants_earned_on_it() {
    let portal = Portal::new().await;
    let office_net = Cidr::parse(OFFICE).unwrap();
    portal
        .twofa
        .add_trusted_network(&portal.admin, office_net, "Head office")
        .await
        .unwrap();
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::days(1));
    assert!(matches!(
        portal.twofa.begin_login(&bob, &office()).await.unwrap(),
        LoginStep::Allowed(_)
    ));
    portal
        .twofa
        .remove_trusted_network(&portal.admin, office_net)
        .await
        .unwrap();
    portal
        .twofa
        .add_trusted_network(&portal.admin, office_net, "Head office again")
        .await
        .unwrap();
    challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
}

#[tokio::test]
async fn client_accounts_are_prompted_at_every_login_even_on_trusted_networks() {
    let portal = Portal::new().await;
    portal
        .twofa
        .add_trusted_network(&portal.admin, Cidr::parse(OFFICE).unwrap(), "Head office")
        .await
        .unwrap();
    let client = portal.add_user("dana", AccountKind::EndUserClient).await;
    let (uri, _) = portal.enroll_app(&client).await;
    for _ in 0..3 {
        portal.advance(TimeDelta::hours(1));
        let screen = challenge(portal.twofa.begin_login(&client, &office()).await.unwrap());
        let code = totp_code(&uri, portal.clock.now());
        into_allowed(
            portal
                .twofa
                .submit_code(&client, &screen.ticket, &code)
                .await
                .unwrap(),
        );
    }
    assert!(
        portal
            .twofa
            .stores()
            .grants()
            .load(&client)
            .await
            .unwrap()
            .is_none()
    );
}

// --- Recovery codes and admin reset ----------------------------------------

#[tokio::test]
async fn a_recovery_code_logs_in_once() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (_, recovery) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::hours(1));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, "AAAA-BBBB-CCCC-DDDD")
            .await
            .is_err()
    );
    let allowed = into_allowed(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, &recovery[0])
            .await
            .unwrap(),
    );
    assert_eq!(allowed.by, AllowedBy::RecoveryCode);
    let again = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(
        portal
            .twofa
            .use_recovery_code(&bob, &again.ticket, &recovery[0])
            .await
            .is_err()
    );
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

#[tokio::test]
async fn new_recovery_codes_replace_the_whole_set_and_need_a_recent_second_factor() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (_, old) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let sheet = portal.twofa.regenerate_recovery_codes(&bob).await.unwrap();
    let new: Vec<String> = sheet.expose_secret().map(str::to_owned).collect();
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|code| !old.contains(code)));
    assert_eq!(recovery_remaining(&portal, &bob).await, 10);
    let generated = portal
        .audit()
        .await
        .iter()
        .filter(|e| {
            matches!(e.event(), AuditEvent::Enrollment(event)
                if event.kind == twofa::enrollment::AuditKind::RecoveryCodesGenerated)
        })
        .count();
    assert_eq!(generated, 2, "one set at activation, one now");

    // An hour later the second factor is no longer recent: refused, and
    // the set just generated is still the one that works.
    portal.advance(TimeDelta::hours(1));
    let stale = portal
        .twofa
        .regenerate_recovery_codes(&bob)
        .await
        .unwrap_err();
    assert_eq!(stale.advice(), RetryAdvice::ReauthenticationRequired);
    assert_eq!(recovery_remaining(&portal, &bob).await, 10);

    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, &old[1])
            .await
            .is_err(),
        "a code of the old set"
    );
    let allowed = into_allowed(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, &new[0])
            .await
            .unwrap(),
    );
    assert_eq!(allowed.by, AllowedBy::RecoveryCode);
    assert_eq!(recovery_remaining(&portal, &bob).await, 9);
    let again = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(
        portal
            .twofa
            .use_recovery_code(&bob, &again.ticket, &new[0])
            .await
            .is_err(),
        "each code works once"
    );
}

#[tokio::test]
async fn a_suspended_factor_is_lifted_by_a_recovery_code_or_an_admin_reset() {
    let policy = EnrollmentPolicy::default().with_throttle(
        ThrottlePolicy::default()
            .with_free_failures(10)
            .with_suspend_after(3)
            .unwrap(),
    );
    let portal = Portal::with(Stores::in_memory(), policy).await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, recovery) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let right = totp_code(&uri, portal.clock.now());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    for _ in 0..3 {
        assert!(
            portal
                .twofa
                .submit_code(&bob, &screen.ticket, wrong)
                .await
                .is_err()
        );
    }
    let suspended = portal
        .twofa
        .submit_code(&bob, &screen.ticket, &right)
        .await
        .unwrap_err();
    assert_eq!(suspended.advice(), RetryAdvice::TryLater);
    // A recovery code still works and lifts the suspension.
    into_allowed(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, &recovery[1])
            .await
            .unwrap(),
    );
    portal.advance(TimeDelta::seconds(30));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let code = totp_code(&uri, portal.clock.now());
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );

    // Suspended again, then reset by the administrator.
    portal.advance(TimeDelta::seconds(30));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    for _ in 0..3 {
        assert!(
            portal
                .twofa
                .submit_code(&bob, &screen.ticket, wrong)
                .await
                .is_err()
        );
    }
    portal
        .twofa
        .reset_factor(&portal.admin, &bob)
        .await
        .unwrap();
    set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
}

#[tokio::test]
async fn an_admin_reset_sends_the_user_back_to_set_up() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    portal.enroll_app(&bob).await;
    portal
        .twofa
        .reset_factor(&portal.admin, &bob)
        .await
        .unwrap();
    set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
}

// --- Tickets ----------------------------------------------------------------

#[tokio::test]
async fn tickets_are_bound_to_their_user_and_expire() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let eve = portal.add_user("eve", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(portal.twofa.defer(&eve, &screen.ticket).await.is_err());
    // Usable until one second before the 30-minute lifetime ends.
    portal.advance(TimeDelta::minutes(30));
    assert!(portal.twofa.defer(&bob, &screen.ticket).await.is_err());
    portal.advance(TimeDelta::seconds(1));
    assert!(portal.twofa.defer(&bob, &screen.ticket).await.is_err());
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    portal.advance(TimeDelta::minutes(30) - TimeDelta::seconds(1));
    portal.twofa.defer(&bob, &screen.ticket).await.unwrap();
    let text = screen.ticket.to_string();
    assert_eq!(text.len(), 32);
    assert_eq!(text.parse::<LoginTicket>().unwrap(), screen.ticket);
    assert!("xyz".parse::<LoginTicket>().is_err());
}

// --- Concurrency --------------------------------------------------------------

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_submissions_of_one_code_are_accepted_once() {
    let portal = Arc::new(Portal::new().await);
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let mut tickets = Vec::new();
    for _ in 0..16 {
        tickets.push(challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap()).ticket);
    }
    let code = totp_code(&uri, portal.clock.now());
    let tasks: Vec<_> = tickets
        .into_iter()
        .map(|ticket| {
            let portal = portal.clone();
            let bob = bob.clone();
            let code = code.clone();
            tokio::spawn(
                async move { portal.twofa.submit_code(&bob, &ticket, &code).await.is_ok() },
            )
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        if task.await.unwrap() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_are_all_counted() {
    let policy =
        EnrollmentPolicy::default().with_throttle(ThrottlePolicy::default().with_free_failures(50));
    let portal = Arc::new(Portal::with(Stores::in_memory(), policy).await);
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let right = totp_code(&uri, portal.clock.now());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let portal = portal.clone();
            let bob = bob.clone();
            let ticket = screen.ticket;
            tokio::spawn(async move { portal.twofa.submit_code(&bob, &ticket, wrong).await })
        })
        .collect();
    for task in tasks {
        let refused = task.await.unwrap().unwrap_err();
        assert_eq!(refused.advice(), RetryAdvice::IncorrectCode);
    }
    assert_eq!(consecutive_failures(&portal, &bob).await, 16);
}

// --- Failing stores -----------------------------------------------------------

/// Fails every `every`-th call across all stores while armed. Half of the
/// failing saves fail before writing, half after (an ambiguous commit).
#[derive(Debug, Default)]
struct Flaky {
    every: AtomicUsize,
    calls: AtomicUsize,
}

enum Fault {
    None,
    Before,
    After,
}

impl Flaky {
    fn fault(&self) -> Fault {
        let every = self.every.load(Ordering::SeqCst);
        if every == 0 {
            return Fault::None;
        }
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if !call.is_multiple_of(every) {
            Fault::None
        } else if (call / every).is_multiple_of(2) {
            Fault::Before
        } else {
            Fault::After
        }
    }
}

type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug)]
struct FlakyStore<S: ?Sized> {
    inner: Arc<S>,
    flaky: Arc<Flaky>,
}

fn flaky_load<'a, T: Send + 'a>(
    flaky: &'a Flaky,
    inner: Fut<'a, Result<T, StoreError>>,
) -> Fut<'a, Result<T, StoreError>> {
    Box::pin(async move {
        match flaky.fault() {
            Fault::None => inner.await,
            _ => Err(StoreError::Unavailable),
        }
    })
}

fn flaky_save<'a, T: Send + 'a>(
    flaky: &'a Flaky,
    inner: Fut<'a, Result<T, SaveError>>,
) -> Fut<'a, Result<T, SaveError>> {
    Box::pin(async move {
        match flaky.fault() {
            Fault::None => inner.await,
            Fault::Before => Err(SaveError::Store(StoreError::Unavailable)),
            Fault::After => {
                let _ = inner.await;
                Err(SaveError::Store(StoreError::Unavailable))
            }
        }
    })
}

impl UserStore for FlakyStore<dyn UserStore> {
    fn load<'a>(
        &'a self,
        user: &'a UserId,
    ) -> Fut<'a, Result<Option<Versioned<UserRecord>>, StoreError>> {
        flaky_load(&self.flaky, self.inner.load(user))
    }
    fn save<'a>(
        &'a self,
        user: &'a UserId,
        record: UserRecord,
        expected: Option<Version>,
    ) -> Fut<'a, Result<Version, SaveError>> {
        flaky_save(&self.flaky, self.inner.save(user, record, expected))
    }
    fn list_company<'a>(
        &'a self,
        company: &'a CompanyId,
    ) -> Fut<'a, Result<Vec<Versioned<UserRecord>>, StoreError>> {
        flaky_load(&self.flaky, self.inner.list_company(company))
    }
}

impl CompanyStore for FlakyStore<dyn CompanyStore> {
    fn load<'a>(
        &'a self,
        company: &'a CompanyId,
    ) -> Fut<'a, Result<Option<Versioned<CompanyRecord>>, StoreError>> {
        flaky_load(&self.flaky, self.inner.load(company))
    }
    fn save<'a>(
        &'a self,
        company: &'a CompanyId,
        record: CompanyRecord,
        expected: Option<Version>,
    ) -> Fut<'a, Result<Version, SaveError>> {
        flaky_save(&self.flaky, self.inner.save(company, record, expected))
    }
}

impl ChallengeStore for FlakyStore<dyn ChallengeStore> {
    fn load<'a>(
        &'a self,
        ticket: &'a LoginTicket,
    ) -> Fut<'a, Result<Option<Versioned<PendingLogin>>, StoreError>> {
        flaky_load(&self.flaky, self.inner.load(ticket))
    }
    fn save<'a>(
        &'a self,
        ticket: &'a LoginTicket,
        record: PendingLogin,
        expected: Option<Version>,
    ) -> Fut<'a, Result<Version, SaveError>> {
        flaky_save(&self.flaky, self.inner.save(ticket, record, expected))
    }
    fn remove<'a>(
        &'a self,
        ticket: &'a LoginTicket,
        expected: Version,
    ) -> Fut<'a, Result<(), SaveError>> {
        flaky_save(&self.flaky, self.inner.remove(ticket, expected))
    }
    fn purge_expired<'a>(&'a self, now: DateTime<Utc>) -> Fut<'a, Result<u64, StoreError>> {
        flaky_load(&self.flaky, self.inner.purge_expired(now))
    }
}

impl TrustGrantStore for FlakyStore<dyn TrustGrantStore> {
    fn load<'a>(
        &'a self,
        user: &'a UserId,
    ) -> Fut<'a, Result<Option<Versioned<TrustGrantRecord>>, StoreError>> {
        flaky_load(&self.flaky, self.inner.load(user))
    }
    fn save<'a>(
        &'a self,
        user: &'a UserId,
        record: TrustGrantRecord,
        expected: Option<Version>,
    ) -> Fut<'a, Result<Version, SaveError>> {
        flaky_save(&self.flaky, self.inner.save(user, record, expected))
    }
}

impl AuditLog for FlakyStore<dyn AuditLog> {
    fn append<'a>(&'a self, entry: AuditEntry) -> Fut<'a, Result<(), StoreError>> {
        flaky_load(&self.flaky, self.inner.append(entry))
    }
    fn read<'a>(
        &'a self,
        skip: usize,
        limit: usize,
    ) -> Fut<'a, Result<Vec<AuditEntry>, StoreError>> {
        flaky_load(&self.flaky, self.inner.read(skip, limit))
    }
}

fn flaky_stores(flaky: &Arc<Flaky>) -> Stores {
    let inner = Stores::in_memory();
    Stores::new(
        Arc::new(FlakyStore {
            inner: inner.users().clone(),
            flaky: flaky.clone(),
        }),
        Arc::new(FlakyStore {
            inner: inner.companies().clone(),
            flaky: flaky.clone(),
        }),
        Arc::new(FlakyStore {
            inner: inner.challenges().clone(),
            flaky: flaky.clone(),
        }),
        Arc::new(FlakyStore {
            inner: inner.grants().clone(),
            flaky: flaky.clone(),
        }),
        Arc::new(FlakyStore {
            inner: inner.audit().clone(),
            flaky: flaky.clone(),
        }),
    )
}

#[tokio::test]
async fn failing_stores_never_grant_an_acceptance_and_leave_whole_records() {
    let mut accepted_total = 0;
    for every in [2, 3, 5, 7, 11] {
        let flaky = Arc::new(Flaky::default());
        let portal = Portal::with(
            flaky_stores(&flaky),
            EnrollmentPolicy::default()
                .with_throttle(ThrottlePolicy::default().with_free_failures(1000)),
        )
        .await;
        portal
            .twofa
            .add_trusted_network(&portal.admin, Cidr::parse(OFFICE).unwrap(), "Head office")
            .await
            .unwrap();
        let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
        let (uri, _) = portal.enroll_app(&bob).await;
        flaky.every.store(every, Ordering::SeqCst);
        let mut accepted_codes: Vec<String> = Vec::new();
        for round in 0..40 {
            portal.advance(TimeDelta::seconds(30));
            let client = if round % 3 == 0 { office() } else { home() };
            let Ok(step) = portal.twofa.begin_login(&bob, &client).await else {
                continue;
            };
            let LoginStep::Challenge(screen) = step else {
                continue;
            };
            let right = totp_code(&uri, portal.clock.now());
            let wrong = if right == "000000" {
                "111111"
            } else {
                "000000"
            };
            assert!(
                portal
                    .twofa
                    .submit_code(&bob, &screen.ticket, wrong)
                    .await
                    .is_err(),
                "a wrong code was accepted with every={every}"
            );
            // A replay of any code accepted before is never accepted.
            for old in &accepted_codes {
                assert!(
                    portal
                        .twofa
                        .submit_code(&bob, &screen.ticket, old)
                        .await
                        .is_err()
                );
            }
            if portal
                .twofa
                .submit_code(&bob, &screen.ticket, &right)
                .await
                .is_ok()
            {
                accepted_codes.push(right);
            }
        }
        flaky.every.store(0, Ordering::SeqCst);
        // Every record is whole: it loads, unseals and serves a login.
        let stored = portal
            .twofa
            .stores()
            .users()
            .load(&bob)
            .await
            .unwrap()
            .unwrap();
        stored.record.enrollment().unwrap().open(&sealer()).unwrap();
        portal.advance(TimeDelta::days(30));
        let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
        let code = totp_code(&uri, portal.clock.now());
        into_allowed(
            portal
                .twofa
                .submit_code(&bob, &screen.ticket, &code)
                .await
                .unwrap(),
        );
        accepted_total += accepted_codes.len();
    }
    // The faults are not so dense that nothing ever succeeds.
    assert!(accepted_total > 0);
}

// --- Feature 6: the name and number used for 2FA -------------------------------

#[tokio::test]
async fn a_new_number_is_verified_before_it_replaces_the_old_one() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    portal
        .twofa
        .choose_method(
            &bob,
            &screen.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap();
    let code = portal.last_code();
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    portal
        .twofa
        .change_display_name(&bob, "Bob B.")
        .await
        .unwrap();
    assert!(portal.twofa.change_display_name(&bob, "").await.is_err());

    // Just after a second factor, Bob starts the change: the code goes to
    // the new number.
    let SetUpProgress::CodeSent(sent) = portal
        .twofa
        .start_phone_change(&bob, PhoneChoice::new("+44 7400 654321", PhoneChannel::Sms))
        .await
        .unwrap()
    else {
        panic!("expected a code to the new number");
    };
    assert_eq!(sent.to, "+44 ••• ••• 4321");
    let new_code = portal.last_code();
    assert!(
        portal
            .twofa
            .confirm_phone_change(&bob, "000000")
            .await
            .is_err()
            || new_code == "000000"
    );
    portal
        .twofa
        .confirm_phone_change(&bob, &new_code)
        .await
        .unwrap();

    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(login.sent_to.as_deref(), Some("+44 ••• ••• 4321"));
}

#[tokio::test]
async fn a_number_change_needs_a_recent_second_factor_and_keeps_the_old_number_until_confirmed() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    portal
        .twofa
        .choose_method(
            &bob,
            &screen.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap();
    let code = portal.last_code();
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    portal
        .twofa
        .start_phone_change(&bob, PhoneChoice::new("+44 7400 654321", PhoneChannel::Sms))
        .await
        .unwrap();
    // Not confirmed: logins still go to the old number.
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(login.sent_to.as_deref(), Some("+44 ••• ••• 3456"));
    // An hour later the step-up is stale.
    portal.advance(TimeDelta::hours(1));
    let stale = portal
        .twofa
        .start_phone_change(&bob, PhoneChoice::new("+44 7400 999999", PhoneChannel::Sms))
        .await
        .unwrap_err();
    assert_eq!(stale.advice(), RetryAdvice::ReauthenticationRequired);
}

// --- Push approval ----------------------------------------------------------------

#[tokio::test]
async fn a_push_approval_with_the_right_number_completes_one_login() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let SetUpProgress::ScanQrCode(uri) = portal
        .twofa
        .choose_method(&bob, &screen.ticket, MethodChoice::PushApp)
        .await
        .unwrap()
    else {
        panic!("expected a QR code");
    };
    let code = totp_code(&uri, portal.clock.now());
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );

    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(login.method, MethodKind::Push);
    let sent = portal.twofa.send_push(&bob, &login.ticket).await.unwrap();
    let Some(SentMessage::Push(message)) = portal.outbox.last() else {
        panic!("expected a push message");
    };
    assert!(
        message
            .choices
            .iter()
            .any(|n| n.value() == sent.match_number)
    );
    assert!(matches!(
        portal.twofa.poll_push(&bob, &login.ticket).await.unwrap(),
        twofa::PushPoll::Waiting { .. }
    ));
    let number = twofa::delivery::MatchNumber::new(sent.match_number).unwrap();
    portal
        .twofa
        .respond_to_push(
            &bob,
            message.request,
            twofa::delivery::PushResponse::Approve { number },
        )
        .await
        .unwrap();
    let twofa::PushPoll::Allowed(allowed) =
        portal.twofa.poll_push(&bob, &login.ticket).await.unwrap()
    else {
        panic!("expected the login to complete");
    };
    assert_eq!(
        allowed.by,
        AllowedBy::SecondFactor {
            method: Method::PushApp
        }
    );
    // The approval completed that login only.
    assert!(portal.twofa.poll_push(&bob, &login.ticket).await.is_err());

    // A wrong number denies.
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let sent = portal.twofa.send_push(&bob, &login.ticket).await.unwrap();
    let Some(SentMessage::Push(message)) = portal.outbox.last() else {
        panic!("expected a push message");
    };
    let wrong = message
        .choices
        .iter()
        .find(|n| n.value() != sent.match_number)
        .copied()
        .unwrap();
    portal
        .twofa
        .respond_to_push(
            &bob,
            message.request,
            twofa::delivery::PushResponse::Approve { number: wrong },
        )
        .await
        .unwrap();
    assert!(portal.twofa.poll_push(&bob, &login.ticket).await.is_err());
}

/// Replaces the company's allowed methods (and keeps the re-send channels
/// consistent with them).
async fn allow_only(portal: &Portal, methods: &[Method]) {
    use twofa::enforcement::{CompanyPolicy, MethodSet, ResendChannel, ResendChannelSet};
    let set = MethodSet::of(methods);
    let mut channels = vec![ResendChannel::Email];
    if set.contains(Method::Sms) {
        channels.push(ResendChannel::Sms);
    }
    if set.contains(Method::VoiceCall) {
        channels.push(ResendChannel::VoiceCall);
    }
    let policy = CompanyPolicy::builder()
        .with_allowed_methods(set)
        .with_resend_channels(ResendChannelSet::of(&channels))
        .build()
        .unwrap();
    portal
        .twofa
        .set_company_policy(&portal.admin, policy)
        .await
        .unwrap();
}

#[tokio::test]
async fn only_an_admin_changes_the_company_policy_and_each_change_is_audited() {
    use twofa::enforcement::{CompanyPolicy, MethodSet};
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let employee = Actor::new(bob, portal.acme.clone(), CompanyRole::Member);
    let policy = CompanyPolicy::builder()
        .with_allowed_methods(MethodSet::of(&[Method::AuthenticatorApp]))
        .with_resend_channels(twofa::enforcement::ResendChannelSet::empty())
        .build()
        .unwrap();
    assert_eq!(
        portal.twofa.set_company_policy(&employee, policy).await,
        Err(twofa::AdminError::NotCompanyAdmin)
    );
    let stored = |portal: &Portal| {
        let companies = portal.twofa.stores().companies().clone();
        let acme = portal.acme.clone();
        async move {
            *companies
                .load(&acme)
                .await
                .unwrap()
                .unwrap()
                .record
                .policy()
        }
    };
    assert_eq!(stored(&portal).await, CompanyPolicy::default());
    let changes = |entries: &[AuditEntry]| {
        entries
            .iter()
            .filter(|e| matches!(e.event(), AuditEvent::PolicyChanged { .. }))
            .count()
    };
    portal
        .twofa
        .set_company_policy(&portal.admin, policy)
        .await
        .unwrap();
    assert_eq!(stored(&portal).await, policy);
    assert_eq!(changes(&portal.audit().await), 1);
    // The same policy again changes nothing and records nothing.
    portal
        .twofa
        .set_company_policy(&portal.admin, policy)
        .await
        .unwrap();
    assert_eq!(changes(&portal.audit().await), 1);
}

fn logins_allowed(entries: &[AuditEntry], user: &UserId) -> usize {
    entries
        .iter()
        .filter(|e| e.user() == Some(user) && matches!(e.event(), AuditEvent::LoginAllowed { .. }))
        .count()
}

#[tokio::test]
async fn a_user_whose_methods_are_all_switched_off_proves_it_then_sets_up_an_allowed_one() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    allow_only(&portal, &[Method::Sms, Method::VoiceCall]).await;

    // The switched-off app is still what proves it is Bob…
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &office()).await.unwrap());
    assert_eq!(login.method, MethodKind::App);
    let allowed_now = twofa::enforcement::MethodSet::of(&[Method::Sms, Method::VoiceCall]);
    assert_eq!(login.then_set_up, Some(allowed_now));
    assert!(login.other_methods.is_empty());
    let before = logins_allowed(&portal.audit().await, &bob);

    // …but the right code leads to set-up, not into the portal.
    let code = totp_code(&uri, portal.clock.now());
    let screen = set_up(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &code)
            .await
            .unwrap(),
    );
    assert_eq!(screen.ticket, login.ticket);
    assert_eq!(screen.methods, allowed_now);
    assert_eq!(screen.remind_me_until, None);
    assert_eq!(logins_allowed(&portal.audit().await, &bob), before);
    // No deferral, and the app cannot be set up again on this ticket.
    assert!(portal.twofa.defer(&bob, &login.ticket).await.is_err());
    let refused = portal
        .twofa
        .choose_method(&bob, &login.ticket, MethodChoice::AuthenticatorApp)
        .await
        .unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::CheckInput);

    // An SMS method is set up and its first code completes the login.
    let SetUpProgress::CodeSent(_) = portal
        .twofa
        .choose_method(
            &bob,
            &login.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap()
    else {
        panic!("expected a code to be sent");
    };
    let allowed = into_allowed(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &portal.last_code())
            .await
            .unwrap(),
    );
    assert_eq!(
        allowed.by,
        AllowedBy::SecondFactor {
            method: Method::Sms
        }
    );
    assert_eq!(logins_allowed(&portal.audit().await, &bob), before + 1);

    // The next login challenges with the allowed method, with nothing to
    // replace.
    portal.advance(TimeDelta::minutes(1));
    let next = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(next.method, MethodKind::Sms);
    assert_eq!(next.then_set_up, None);
    assert!(
        next.other_methods.is_empty(),
        "the app is still switched off"
    );
}

#[tokio::test]
async fn a_method_switched_off_during_the_challenge_still_leads_to_set_up() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(login.then_set_up, None);
    allow_only(&portal, &[Method::PushApp]).await;
    let code = totp_code(&uri, portal.clock.now());
    let screen = set_up(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &code)
            .await
            .unwrap(),
    );
    assert_eq!(
        screen.methods,
        twofa::enforcement::MethodSet::of(&[Method::PushApp])
    );
    assert_eq!(screen.remind_me_until, None);
}

#[tokio::test]
async fn the_verification_screen_offers_the_other_enrolled_methods() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    // Bob gains an SMS method the way the previous test shows, then the
    // company allows every method again.
    allow_only(&portal, &[Method::Sms, Method::VoiceCall]).await;
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    set_up(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &totp_code(&uri, portal.clock.now()))
            .await
            .unwrap(),
    );
    let SetUpProgress::CodeSent(_) = portal
        .twofa
        .choose_method(
            &bob,
            &login.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap()
    else {
        panic!("expected a code to be sent");
    };
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &portal.last_code())
            .await
            .unwrap(),
    );
    allow_only(
        &portal,
        &[
            Method::AuthenticatorApp,
            Method::PushApp,
            Method::Sms,
            Method::VoiceCall,
        ],
    )
    .await;

    // The primary method (the app) comes first; the SMS is offered.
    portal.advance(TimeDelta::minutes(1));
    let sent_before = portal.outbox.len();
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert_eq!(login.method, MethodKind::App);
    assert_eq!(portal.outbox.len(), sent_before, "no code for an app");
    assert_eq!(login.other_methods.len(), 1);
    let sms = login.other_methods[0].clone();
    assert_eq!(sms.kind, MethodKind::Sms);
    assert_eq!(sms.masked_number.as_deref(), Some("+44 ••• ••• 3456"));

    // A method Bob does not have is an input error and changes nothing.
    let unknown = twofa::enrollment::MethodId::new(99);
    let refused = portal
        .twofa
        .switch_method(&bob, &login.ticket, unknown)
        .await
        .unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::CheckInput);
    assert_eq!(portal.outbox.len(), sent_before);

    // Switching sends a code at once; the app's code no longer answers
    // this login, the SMS code does.
    let switched = portal
        .twofa
        .switch_method(&bob, &login.ticket, sms.id)
        .await
        .unwrap();
    assert_eq!(switched.ticket, login.ticket);
    assert_eq!(switched.method, MethodKind::Sms);
    assert_eq!(switched.sent_to.as_deref(), Some("+44 ••• ••• 3456"));
    assert_eq!(switched.other_methods.len(), 1);
    assert_eq!(switched.other_methods[0].kind, MethodKind::App);
    let sms_code = portal.last_code();
    assert!(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &totp_code(&uri, portal.clock.now()))
            .await
            .is_err()
    );
    let allowed = into_allowed(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &sms_code)
            .await
            .unwrap(),
    );
    assert_eq!(
        allowed.by,
        AllowedBy::SecondFactor {
            method: Method::Sms
        }
    );

    // A method the company has switched off is not offered, and cannot be
    // switched to.
    allow_only(&portal, &[Method::AuthenticatorApp, Method::PushApp]).await;
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    assert!(login.other_methods.is_empty());
    let refused = portal
        .twofa
        .switch_method(&bob, &login.ticket, sms.id)
        .await
        .unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::CheckInput);
}

#[tokio::test]
async fn a_push_approval_is_a_fresh_second_factor_and_a_denial_is_a_failure() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let SetUpProgress::ScanQrCode(uri) = portal
        .twofa
        .choose_method(&bob, &screen.ticket, MethodChoice::PushApp)
        .await
        .unwrap()
    else {
        panic!("expected a QR code");
    };
    let code = totp_code(&uri, portal.clock.now());
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &screen.ticket, &code)
            .await
            .unwrap(),
    );

    // A denied prompt counts as a failed second factor.
    portal.advance(TimeDelta::hours(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    portal.twofa.send_push(&bob, &login.ticket).await.unwrap();
    let Some(SentMessage::Push(message)) = portal.outbox.last() else {
        panic!("expected a push message");
    };
    portal
        .twofa
        .respond_to_push(&bob, message.request, twofa::delivery::PushResponse::Deny)
        .await
        .unwrap();
    assert_eq!(consecutive_failures(&portal, &bob).await, 1);
    assert!(portal.twofa.poll_push(&bob, &login.ticket).await.is_err());
    // An answer to a prompt that is no longer outstanding is refused.
    assert!(
        portal
            .twofa
            .respond_to_push(&bob, message.request, twofa::delivery::PushResponse::Deny)
            .await
            .is_err()
    );
    assert_eq!(consecutive_failures(&portal, &bob).await, 1);

    // An hour after set-up a sensitive change needs a fresh second factor…
    let stale = portal
        .twofa
        .regenerate_recovery_codes(&bob)
        .await
        .unwrap_err();
    assert_eq!(stale.advice(), RetryAdvice::ReauthenticationRequired);

    // …and an approved push is one.
    portal.advance(TimeDelta::seconds(30));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let sent = portal.twofa.send_push(&bob, &login.ticket).await.unwrap();
    let Some(SentMessage::Push(message)) = portal.outbox.last() else {
        panic!("expected a push message");
    };
    let number = twofa::delivery::MatchNumber::new(sent.match_number).unwrap();
    portal
        .twofa
        .respond_to_push(
            &bob,
            message.request,
            twofa::delivery::PushResponse::Approve { number },
        )
        .await
        .unwrap();
    let twofa::PushPoll::Allowed(_) = portal.twofa.poll_push(&bob, &login.ticket).await.unwrap()
    else {
        panic!("expected the login to complete");
    };
    assert_eq!(consecutive_failures(&portal, &bob).await, 0);
    assert!(portal.twofa.regenerate_recovery_codes(&bob).await.is_ok());
}

// --- Records for database stores ---------------------------------------------------

#[cfg(feature = "serde")]
#[tokio::test]
async fn stored_records_round_trip_through_serde_without_secrets() {
    let portal = Portal::new().await;
    portal
        .twofa
        .add_trusted_network(&portal.admin, Cidr::parse(OFFICE).unwrap(), "Head office")
        .await
        .unwrap();
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let stores = portal.twofa.stores();

    let user = stores.users().load(&bob).await.unwrap().unwrap().record;
    let json = serde_json::to_string(&user).unwrap();
    let secret = uri.key_uri().secret().to_base32();
    assert!(!json.contains(secret.as_str()), "the TOTP secret is sealed");
    assert_eq!(serde_json::from_str::<UserRecord>(&json).unwrap(), user);

    let company = stores
        .companies()
        .load(&portal.acme)
        .await
        .unwrap()
        .unwrap()
        .record;
    let json = serde_json::to_string(&company).unwrap();
    assert_eq!(
        serde_json::from_str::<CompanyRecord>(&json).unwrap(),
        company
    );

    let pending = stores
        .challenges()
        .load(&login.ticket)
        .await
        .unwrap()
        .unwrap()
        .record;
    let json = serde_json::to_string(&pending).unwrap();
    assert_eq!(
        serde_json::from_str::<PendingLogin>(&json).unwrap(),
        pending
    );

    let grant = stores.grants().load(&bob).await.unwrap().unwrap().record;
    let json = serde_json::to_string(&grant).unwrap();
    assert_eq!(
        serde_json::from_str::<TrustGrantRecord>(&json).unwrap(),
        grant
    );

    for entry in portal.audit().await {
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(serde_json::from_str::<AuditEntry>(&json).unwrap(), entry);
    }
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Twofa>();
    assert_send_sync::<Stores>();
    assert_send_sync::<Channels>();
    assert_send_sync::<LoginStep>();
    assert_send_sync::<twofa::Allowed>();
    assert_send_sync::<twofa::Rejected>();
    assert_send_sync::<SetUpProgress>();
    assert_send_sync::<twofa::PushPoll>();
    assert_send_sync::<UserRecord>();
    assert_send_sync::<PendingLogin>();
    assert_send_sync::<AuditEntry>();
    assert_send_sync::<twofa::AdminError>();
    assert_send_sync::<ManualClock>();
    assert_send_sync::<SeededRandom>();
}

// --- The store contract ----------------------------------------------------------

#[cfg(feature = "conformance")]
#[tokio::test]
async fn the_in_memory_stores_meet_the_conformance_suite() {
    use twofa::conformance;
    let stores = Stores::in_memory();
    conformance::user_store(&**stores.users()).await.unwrap();
    conformance::company_store(&**stores.companies())
        .await
        .unwrap();
    conformance::challenge_store(&**stores.challenges())
        .await
        .unwrap();
    conformance::trust_grant_store(&**stores.grants())
        .await
        .unwrap();
    conformance::audit_log(&**stores.audit()).await.unwrap();
    conformance::unit_of_work(&Stores::in_memory())
        .await
        .unwrap();
}

// --- Security notices ------------------------------------------------------------

use twofa::delivery::{Channel, Notice, NoticeMessage};

/// The notices among `sent`, each with its full destination; any other
/// message fails the test.
fn notices_in(sent: &[SentMessage]) -> Vec<(Notice, String)> {
    sent.iter()
        .map(|message| match message {
            SentMessage::Notice(NoticeMessage::Sms(sms)) => {
                (sms.notice, sms.to.expose_e164().to_owned())
            }
            SentMessage::Notice(NoticeMessage::Email(mail)) => {
                (mail.notice, mail.to.expose_address().to_owned())
            }
            other => panic!("expected only notices, got {other:?}"),
        })
        .collect()
}

/// The notices the outbox accepted from message number `from` on.
fn notices_since(portal: &Portal, from: usize) -> Vec<(Notice, String)> {
    notices_in(&portal.outbox.sent()[from..])
}

/// The notice entries of the audit trail, oldest first.
async fn notice_audit(portal: &Portal, user: &UserId) -> Vec<AuditEvent> {
    portal
        .audit()
        .await
        .into_iter()
        .filter(|e| e.user() == Some(user))
        .map(|e| e.event().clone())
        .filter(|event| {
            matches!(
                event,
                AuditEvent::NoticeSent { .. }
                    | AuditEvent::NoticeFailed { .. }
                    | AuditEvent::NoticeUndeliverable { .. }
            )
        })
        .collect()
}

/// Enrolls `user` with SMS to `number` and returns the recovery codes.
async fn enroll_sms(portal: &Portal, user: &UserId, number: &str) -> Vec<String> {
    let screen = set_up(portal.twofa.begin_login(user, &home()).await.unwrap());
    portal
        .twofa
        .choose_method(
            user,
            &screen.ticket,
            MethodChoice::Phone(PhoneChoice::new(number, PhoneChannel::Sms)),
        )
        .await
        .unwrap();
    let code = portal.last_code();
    let allowed = into_allowed(
        portal
            .twofa
            .submit_code(user, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    let sheet = allowed
        .recovery_codes
        .expect("recovery codes at activation");
    sheet.expose_secret().map(str::to_owned).collect()
}

const BOB_EMAIL: &str = "bob@example.com";

#[tokio::test]
async fn a_number_change_is_notified_to_the_old_number_and_the_email() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    enroll_sms(&portal, &bob, "+44 7400 123456").await;
    let before = portal.outbox.len();

    portal
        .twofa
        .start_phone_change(&bob, PhoneChoice::new("+44 7400 654321", PhoneChannel::Sms))
        .await
        .unwrap();
    // The code goes to the new number first; the notices, after the save,
    // to the old number and the email, never to the number not yet proven.
    let sent = portal.outbox.sent();
    let SentMessage::Sms(code_sms) = &sent[before] else {
        panic!("expected the code to the new number first");
    };
    assert_eq!(code_sms.to.expose_e164(), "+447400654321");
    assert_eq!(
        notices_in(&sent[before + 1..]),
        vec![
            (Notice::NumberChangeStarted, "+447400123456".to_owned()),
            (Notice::NumberChangeStarted, BOB_EMAIL.to_owned()),
        ]
    );
    let new_code = portal.last_code();

    // A wrong confirmation code changes nothing and notifies no one.
    let before = portal.outbox.len();
    let wrong = if new_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert!(
        portal
            .twofa
            .confirm_phone_change(&bob, wrong)
            .await
            .is_err()
    );
    assert_eq!(portal.outbox.len(), before);

    portal
        .twofa
        .confirm_phone_change(&bob, &new_code)
        .await
        .unwrap();
    assert_eq!(
        notices_since(&portal, before),
        vec![
            (Notice::NumberChanged, "+447400123456".to_owned()),
            (Notice::NumberChanged, BOB_EMAIL.to_owned()),
        ]
    );
    let Some(SentMessage::Notice(NoticeMessage::Email(mail))) = portal.outbox.last() else {
        panic!("expected the email notice last");
    };
    assert!(mail.body.contains(
        "phone number used for two-factor authentication on your Partner Portal account was changed"
    ));
    for notice in portal.outbox.notices() {
        let text = match notice {
            NoticeMessage::Sms(sms) => sms.text,
            NoticeMessage::Email(mail) => format!("{}\n{}", mail.subject, mail.body),
            other => panic!("{other:?}"),
        };
        assert!(!text.contains(|c: char| c.is_ascii_digit()), "{text}");
    }

    // One audit entry per destination, naming neither.
    let audited = notice_audit(&portal, &bob).await;
    let sent_entries = |notice| {
        audited
            .iter()
            .filter(
                |event| matches!(event, AuditEvent::NoticeSent { notice: n, .. } if *n == notice),
            )
            .count()
    };
    assert_eq!(sent_entries(Notice::NumberChangeStarted), 2);
    assert_eq!(sent_entries(Notice::NumberChanged), 2);
    assert!(audited.contains(&AuditEvent::NoticeSent {
        notice: Notice::NumberChanged,
        channel: Channel::Sms
    }));
    assert!(audited.contains(&AuditEvent::NoticeSent {
        notice: Notice::NumberChanged,
        channel: Channel::Email
    }));
    for event in &audited {
        let printed = format!("{event:?}");
        assert!(
            !printed.contains("7400") && !printed.contains('@'),
            "{printed}"
        );
    }
}

#[tokio::test]
async fn a_suspension_is_notified_once_when_it_starts() {
    let policy = EnrollmentPolicy::default().with_throttle(
        ThrottlePolicy::default()
            .with_free_failures(10)
            .with_suspend_after(3)
            .unwrap(),
    );
    let portal = Portal::with(Stores::in_memory(), policy).await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let right = totp_code(&uri, portal.clock.now());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let before = portal.outbox.len();
    for _ in 0..2 {
        let refused = portal
            .twofa
            .submit_code(&bob, &screen.ticket, wrong)
            .await
            .unwrap_err();
        assert_eq!(refused.advice(), RetryAdvice::IncorrectCode);
    }
    assert!(
        notices_since(&portal, before).is_empty(),
        "one short of the limit"
    );

    // The failure that suspends: the same refusal as without notices
    // (suspended: try later), and the notice goes to the email.
    let refused = portal
        .twofa
        .submit_code(&bob, &screen.ticket, wrong)
        .await
        .unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::TryLater);
    assert_eq!(
        notices_since(&portal, before),
        vec![(Notice::FactorSuspended, BOB_EMAIL.to_owned())]
    );
    // Refusals while suspended do not repeat it.
    for code in [wrong, right.as_str()] {
        assert!(
            portal
                .twofa
                .submit_code(&bob, &screen.ticket, code)
                .await
                .is_err()
        );
    }
    assert_eq!(notices_since(&portal, before).len(), 1);
    assert_eq!(
        notice_audit(&portal, &bob).await,
        vec![AuditEvent::NoticeSent {
            notice: Notice::FactorSuspended,
            channel: Channel::Email
        }]
    );
}

#[tokio::test]
async fn a_recovery_code_login_is_notified_with_the_count_left() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let recovery = enroll_sms(&portal, &bob, "+44 7400 123456").await;
    portal.advance(TimeDelta::hours(1));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let before = portal.outbox.len();
    assert!(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, "AAAA-BBBB-CCCC-DDDD")
            .await
            .is_err()
    );
    assert!(notices_since(&portal, before).is_empty());

    let allowed = into_allowed(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, &recovery[0])
            .await
            .unwrap(),
    );
    assert_eq!(allowed.by, AllowedBy::RecoveryCode);
    let used = Notice::RecoveryCodeUsed { remaining: 9 };
    assert_eq!(
        notices_since(&portal, before),
        vec![
            (used, "+447400123456".to_owned()),
            (used, BOB_EMAIL.to_owned()),
        ]
    );
    let Some(SentMessage::Notice(NoticeMessage::Email(mail))) = portal.outbox.last() else {
        panic!("expected the email notice last");
    };
    assert!(mail.body.contains("unused codes left: 9."), "{}", mail.body);
}

#[tokio::test]
async fn regenerated_recovery_codes_are_notified() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let before = portal.outbox.len();
    portal.twofa.regenerate_recovery_codes(&bob).await.unwrap();
    assert_eq!(
        notices_since(&portal, before),
        vec![(Notice::RecoveryCodesRegenerated, BOB_EMAIL.to_owned())]
    );
    // A refused regeneration (no recent second factor) notifies no one.
    portal.advance(TimeDelta::hours(1));
    assert!(portal.twofa.regenerate_recovery_codes(&bob).await.is_err());
    assert_eq!(notices_since(&portal, before).len(), 1);
}

#[tokio::test]
async fn an_admin_reset_is_notified() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    enroll_sms(&portal, &bob, "+44 7400 123456").await;
    let before = portal.outbox.len();
    let member = Actor::new(bob.clone(), portal.acme.clone(), CompanyRole::Member);
    assert!(portal.twofa.reset_factor(&member, &bob).await.is_err());
    assert!(notices_since(&portal, before).is_empty());

    portal
        .twofa
        .reset_factor(&portal.admin, &bob)
        .await
        .unwrap();
    assert_eq!(
        notices_since(&portal, before),
        vec![(Notice::AdminReset, BOB_EMAIL.to_owned())]
    );
}

#[tokio::test]
async fn a_method_added_while_logging_in_is_notified_after_the_login_commits() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    allow_only(&portal, &[Method::Sms]).await;
    portal.advance(TimeDelta::minutes(1));
    let login = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let code = totp_code(&uri, portal.clock.now());
    set_up(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &code)
            .await
            .unwrap(),
    );
    portal
        .twofa
        .choose_method(
            &bob,
            &login.ticket,
            MethodChoice::Phone(PhoneChoice::new("+44 7400 123456", PhoneChannel::Sms)),
        )
        .await
        .unwrap();
    let before = portal.outbox.len();
    into_allowed(
        portal
            .twofa
            .submit_code(&bob, &login.ticket, &portal.last_code())
            .await
            .unwrap(),
    );
    assert_eq!(
        notices_since(&portal, before),
        vec![(Notice::MethodAdded, BOB_EMAIL.to_owned())]
    );
    assert!(
        notice_audit(&portal, &bob)
            .await
            .contains(&AuditEvent::NoticeSent {
                notice: Notice::MethodAdded,
                channel: Channel::Email
            })
    );
}

#[tokio::test]
async fn a_failing_notice_channel_changes_no_result_and_is_audited() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    portal.enroll_app(&bob).await;
    portal.advance(TimeDelta::minutes(1));
    let error = SendError::Transient(FailureCause::ProviderUnavailable);
    portal.outbox.fail_next(1, error);
    let sheet = portal.twofa.regenerate_recovery_codes(&bob).await.unwrap();
    assert_eq!(sheet.expose_secret().count(), 10);
    assert_eq!(
        recovery_remaining(&portal, &bob).await,
        10,
        "the new set was saved"
    );
    assert!(portal.outbox.notices().is_empty());
    assert_eq!(
        notice_audit(&portal, &bob).await,
        vec![AuditEvent::NoticeFailed {
            notice: Notice::RecoveryCodesRegenerated,
            channel: Channel::Email,
            error,
        }]
    );
}

#[tokio::test]
async fn without_a_notice_sender_every_notice_is_audited_as_not_configured() {
    let outbox = Arc::new(Outbox::new());
    let channels = Channels::new(
        outbox.clone(),
        outbox.clone(),
        outbox.clone(),
        outbox.clone(),
    );
    let twofa = Twofa::builder(
        Stores::in_memory(),
        channels,
        ServerKey::from_bytes(&[7u8; 32]).unwrap(),
        Arc::new(XChaChaSealer::from_bytes(&[9u8; 32]).unwrap()),
        Issuer::new("Partner Portal").unwrap(),
    )
    .with_clock(Arc::new(ManualClock::new(start())))
    .with_random(Arc::new(SeededRandom::new([42u8; 32])))
    .build();
    let acme = CompanyId::new("acme").unwrap();
    let stores = twofa.stores().clone();
    stores
        .companies()
        .save(&acme, CompanyRecord::new(acme.clone()), None)
        .await
        .unwrap();
    let bob = UserId::new("bob").unwrap();
    let email = twofa::delivery::EmailAddress::parse(BOB_EMAIL).unwrap();
    let record = UserRecord::new(
        bob.clone(),
        acme.clone(),
        AccountKind::PartnerEmployee,
        "bob",
    )
    .with_email(email);
    stores.users().save(&bob, record, None).await.unwrap();
    let admin = Actor::new(
        UserId::new("alice").unwrap(),
        acme.clone(),
        CompanyRole::Admin,
    );

    twofa.reset_factor(&admin, &bob).await.unwrap();
    assert!(outbox.is_empty());
    let failed: Vec<AuditEvent> = stores
        .audit()
        .read(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event().clone())
        .filter(|event| matches!(event, AuditEvent::NoticeFailed { .. }))
        .collect();
    assert_eq!(
        failed,
        vec![AuditEvent::NoticeFailed {
            notice: Notice::AdminReset,
            channel: Channel::Email,
            error: SendError::Permanent(FailureCause::NotConfigured),
        }]
    );
}

#[tokio::test]
async fn a_notice_with_nowhere_to_go_is_audited() {
    let portal = Portal::new().await;
    let carol = UserId::new("carol").unwrap();
    let record = UserRecord::new(
        carol.clone(),
        portal.acme.clone(),
        AccountKind::PartnerEmployee,
        "carol",
    );
    portal
        .twofa
        .stores()
        .users()
        .save(&carol, record, None)
        .await
        .unwrap();
    portal
        .twofa
        .reset_factor(&portal.admin, &carol)
        .await
        .unwrap();
    assert!(portal.outbox.notices().is_empty());
    assert_eq!(
        notice_audit(&portal, &carol).await,
        vec![AuditEvent::NoticeUndeliverable {
            notice: Notice::AdminReset
        }]
    );
}
