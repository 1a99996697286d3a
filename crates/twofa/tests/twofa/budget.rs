//! Send budgets through the facade: what reaches the channels when a
//! password holder floods logins, set-ups and number changes; the edges of
//! a budget's window; where codes may go.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::TimeDelta;
use twofa::delivery::{
    BudgetScope, CarrierLookup, GeoPermissions, Issuer, LineType, LookupError, Outbox, PhoneNumber,
    SendBudgetPolicy, SentMessage, ServerKey,
};
use twofa::enforcement::CompanyPolicy;
use twofa::enrollment::{EnrollmentPolicy, PhoneChannel};
use twofa::types::{AccountKind, CountryCode, CountryCodeSet, UserId};
use twofa::{
    AuditEvent, Channels, ManualClock, MethodChoice, PhoneChoice, Rejected, RejectionDetail,
    RetryAdvice, SeededRandom, SetUpProgress, Stores, Twofa, XChaChaSealer,
};

use crate::{Portal, home, into_allowed, set_up, start};

/// What the outbox received, by kind.
#[derive(Debug, Default, PartialEq, Eq)]
struct Received {
    sms: usize,
    calls: usize,
    notices: usize,
    other: usize,
}

fn received(outbox: &Outbox) -> Received {
    let mut counts = Received::default();
    for message in outbox.sent() {
        match message {
            SentMessage::Sms(_) => counts.sms += 1,
            SentMessage::Voice(_) => counts.calls += 1,
            SentMessage::Notice(_) => counts.notices += 1,
            _ => counts.other += 1,
        }
    }
    counts
}

fn sms_to(outbox: &Outbox, e164: &str) -> usize {
    outbox
        .sent()
        .iter()
        .filter(|m| matches!(m, SentMessage::Sms(sms) if sms.to.expose_e164() == e164))
        .count()
}

fn phone(number: &str) -> MethodChoice {
    MethodChoice::Phone(PhoneChoice::new(number, PhoneChannel::Sms))
}

/// A fresh login of `user` and a set-up to `number`.
async fn set_up_to(
    portal: &Portal,
    user: &UserId,
    number: &str,
) -> Result<SetUpProgress, Rejected> {
    let screen = set_up(portal.twofa.begin_login(user, &home()).await.unwrap());
    portal
        .twofa
        .choose_method(user, &screen.ticket, phone(number))
        .await
}

async fn enroll_sms(portal: &Portal, user: &UserId, number: &str) {
    let screen = set_up(portal.twofa.begin_login(user, &home()).await.unwrap());
    portal
        .twofa
        .choose_method(user, &screen.ticket, phone(number))
        .await
        .unwrap();
    let code = portal.last_code();
    into_allowed(
        portal
            .twofa
            .submit_code(user, &screen.ticket, &code)
            .await
            .unwrap(),
    );
}

fn exhausted(scope: BudgetScope) -> RejectionDetail {
    RejectionDetail::SendBudgetExhausted { scope }
}

#[tokio::test]
async fn three_floods_reach_the_channels_only_up_to_the_budget() {
    // 1. 50 password logins of one enrolled user: the number gets the
    //    set-up code and 4 login codes (5 an hour to one number), then
    //    every login is refused with "another method or later".
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    enroll_sms(&portal, &bob, "+44 7400 123456").await;
    let mut refused = 0;
    for _ in 0..50 {
        match portal.twofa.begin_login(&bob, &home()).await {
            Ok(_) => {}
            Err(rejected) => {
                assert_eq!(rejected.advice(), RetryAdvice::TryAnotherMethodOrLater);
                assert_eq!(
                    rejected.reason(),
                    exhausted(BudgetScope::DestinationPerHour)
                );
                refused += 1;
            }
        }
    }
    assert_eq!(sms_to(&portal.outbox, "+447400123456"), 5);
    assert_eq!(refused, 46);
    assert_eq!(
        received(&portal.outbox),
        Received {
            sms: 5,
            ..Received::default()
        }
    );

    // 2. 50 set-ups by an account without 2FA, to 50 numbers of its
    //    choice, satellite numbers among them: 10 codes an hour to one
    //    user, none to +881.
    let portal = Portal::new().await;
    let carol = portal.add_user("carol", AccountKind::PartnerEmployee).await;
    let mut satellite_refused = 0;
    for i in 0..50 {
        let number = if i % 10 == 0 {
            format!("+88163123{i:04}")
        } else {
            format!("+4474009{i:05}")
        };
        match set_up_to(&portal, &carol, &number).await {
            Ok(_) => {}
            Err(rejected) if rejected.reason() == RejectionDetail::CountryNotAllowed => {
                assert_eq!(rejected.advice(), RetryAdvice::CheckInput);
                satellite_refused += 1;
            }
            Err(rejected) => {
                assert_eq!(rejected.advice(), RetryAdvice::TryAnotherMethodOrLater);
                assert_eq!(rejected.reason(), exhausted(BudgetScope::UserCodesPerHour));
            }
        }
    }
    assert_eq!(satellite_refused, 5);
    assert_eq!(
        received(&portal.outbox),
        Received {
            sms: 10,
            ..Received::default()
        }
    );
    assert!(
        portal
            .outbox
            .sent()
            .iter()
            .all(|m| !matches!(m, SentMessage::Sms(sms) if sms.to.country_code() == 881))
    );

    // 3. 50 number changes within the step-up window, SMS and calls to
    //    chosen numbers: the user's 10 codes an hour (one went to set-up),
    //    and 5 notices an hour to the old number and the email.
    let portal = Portal::new().await;
    let dave = portal.add_user("dave", AccountKind::PartnerEmployee).await;
    enroll_sms(&portal, &dave, "+44 7400 111111").await;
    for i in 0..50 {
        let channel = if i % 2 == 0 {
            PhoneChannel::Sms
        } else {
            PhoneChannel::Voice
        };
        let result = portal
            .twofa
            .start_phone_change(&dave, PhoneChoice::new(format!("+4474008{i:05}"), channel))
            .await;
        if let Err(rejected) = result {
            assert_eq!(rejected.advice(), RetryAdvice::TryAnotherMethodOrLater);
            assert_eq!(rejected.reason(), exhausted(BudgetScope::UserCodesPerHour));
        }
    }
    let got = received(&portal.outbox);
    assert_eq!(got.sms + got.calls, 10, "{got:?}");
    assert_eq!(got.notices, 5, "{got:?}");
    assert_eq!(got.other, 0, "{got:?}");
}

#[tokio::test]
async fn the_tenth_code_in_an_hour_passes_the_eleventh_waits_for_the_next_hour() {
    // The portal's clock starts at 08:00:00 UTC; every code goes to
    // another number, so only the user's budget is in play.
    let portal = Portal::new().await;
    let erin = portal.add_user("erin", AccountKind::PartnerEmployee).await;
    for i in 0..10 {
        set_up_to(&portal, &erin, &format!("+4474007{i:05}"))
            .await
            .unwrap();
    }
    portal.advance(TimeDelta::minutes(59) + TimeDelta::seconds(59));
    let before = portal.twofa.stores().users().load(&erin).await.unwrap();
    let refused = set_up_to(&portal, &erin, "+447400700010")
        .await
        .unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::TryAnotherMethodOrLater);
    assert_eq!(refused.reason(), exhausted(BudgetScope::UserCodesPerHour));
    // Nothing was sent and the user's record did not change.
    assert_eq!(received(&portal.outbox).sms, 10);
    let after = portal.twofa.stores().users().load(&erin).await.unwrap();
    assert_eq!(before, after);
    let audit = portal.audit().await;
    assert!(audit.iter().any(|entry| matches!(
        entry.event(),
        AuditEvent::SendBudgetExhausted {
            scope: BudgetScope::UserCodesPerHour,
            frees_at,
            ..
        } if *frees_at == start() + TimeDelta::hours(1)
    )));
    // 09:00:00, the second the window ends: it passes again.
    portal.advance(TimeDelta::seconds(1));
    set_up_to(&portal, &erin, "+447400700011").await.unwrap();
    assert_eq!(received(&portal.outbox).sms, 11);
}

/// A service with the given budget and a fresh clock and outbox.
async fn service(budget: SendBudgetPolicy) -> (Twofa, Arc<Outbox>, UserId) {
    service_with(budget, Arc::new(CountingLookup::default())).await
}

/// A carrier lookup that counts its calls (each one a paid request to a
/// real provider) and answers "mobile".
#[derive(Debug, Default)]
struct CountingLookup(AtomicUsize);

impl CarrierLookup for CountingLookup {
    fn line_type<'a>(
        &'a self,
        _number: &'a PhoneNumber,
    ) -> Pin<Box<dyn Future<Output = Result<LineType, LookupError>> + Send + 'a>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(Ok(LineType::Mobile)))
    }
}

async fn service_with(
    budget: SendBudgetPolicy,
    lookup: Arc<CountingLookup>,
) -> (Twofa, Arc<Outbox>, UserId) {
    let outbox = Arc::new(Outbox::new());
    let twofa = Twofa::builder()
        .with_carrier_lookup(lookup)
        .stores(Stores::in_memory())
        .channels(Channels::outbox(&outbox))
        .server_key(ServerKey::from_bytes(&[7u8; 32]).unwrap())
        .sealer(Arc::new(XChaChaSealer::from_bytes(&[9u8; 32]).unwrap()))
        .issuer(Issuer::new("Partner Portal").unwrap())
        .with_clock(Arc::new(ManualClock::new(start())))
        .with_random(Arc::new(SeededRandom::new([42u8; 32])))
        .with_enrollment_policy(EnrollmentPolicy::default())
        .with_send_budget(budget)
        .build()
        .unwrap();
    let acme = twofa::types::CompanyId::new("acme").unwrap();
    twofa
        .stores()
        .companies()
        .save(&acme, twofa::CompanyRecord::new(acme.clone()), None)
        .await
        .unwrap();
    let user = UserId::new("frank").unwrap();
    let record = twofa::UserRecord::new(user.clone(), acme, AccountKind::PartnerEmployee, "Frank");
    twofa
        .stores()
        .users()
        .save(&user, record, None)
        .await
        .unwrap();
    (twofa, outbox, user)
}

async fn choose(twofa: &Twofa, user: &UserId, number: &str) -> Result<SetUpProgress, Rejected> {
    let screen = set_up(twofa.begin_login(user, &home()).await.unwrap());
    twofa
        .choose_method(user, &screen.ticket, phone(number))
        .await
}

const IRIDIUM: &str = "+881631234567";

#[tokio::test]
async fn satellite_numbers_are_refused_unless_the_service_lists_them() {
    let (twofa, outbox, frank) = service(SendBudgetPolicy::default()).await;
    let refused = choose(&twofa, &frank, IRIDIUM).await.unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::CountryNotAllowed);
    assert_eq!(refused.advice(), RetryAdvice::CheckInput);
    assert!(outbox.sent().is_empty());
    let audit = twofa.stores().audit().read(0, 100).await.unwrap();
    let gmss = CountryCode::new(881).unwrap();
    assert!(audit.iter().any(|entry| matches!(
        entry.event(),
        AuditEvent::SendCountryRefused { country: Some(country), .. } if *country == gmss
    )));
    // Nothing in the audit trail holds the number.
    assert!(!format!("{audit:?}").contains("631234567"));

    let listed = SendBudgetPolicy::default().with_geo(GeoPermissions::default().allowing(gmss));
    let (twofa, outbox, frank) = service(listed).await;
    assert!(matches!(
        choose(&twofa, &frank, IRIDIUM).await.unwrap(),
        SetUpProgress::CodeSent(_) | SetUpProgress::NotMobile(_)
    ));
    assert!(matches!(outbox.sent().as_slice(), [SentMessage::Sms(_)]));
}

#[tokio::test]
async fn a_refused_country_costs_no_carrier_lookup() {
    let lookup = Arc::new(CountingLookup::default());
    let (twofa, outbox, frank) = service_with(SendBudgetPolicy::default(), lookup.clone()).await;
    let refused = choose(&twofa, &frank, IRIDIUM).await.unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::CountryNotAllowed);
    assert_eq!(lookup.0.load(Ordering::SeqCst), 0);
    assert!(outbox.sent().is_empty());
    choose(&twofa, &frank, "+44 7400 123456").await.unwrap();
    assert_eq!(lookup.0.load(Ordering::SeqCst), 1);
    assert_eq!(outbox.sent().len(), 1);
}

#[tokio::test]
async fn a_company_narrows_the_countries_and_cannot_widen_them() {
    let portal = Portal::new().await;
    let uk = CountryCode::new(44).unwrap();
    let france = CountryCode::new(33).unwrap();
    let gmss = CountryCode::new(881).unwrap();
    let policy = CompanyPolicy::builder()
        .with_phone_countries(CountryCodeSet::of(&[france, gmss]))
        .build()
        .unwrap();
    portal
        .twofa
        .set_company_policy(portal.admin().await, policy)
        .await
        .unwrap();
    let gina = portal.add_user("gina", AccountKind::PartnerEmployee).await;
    let refused = set_up_to(&portal, &gina, "+44 7400 123456")
        .await
        .unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::CountryNotAllowed);
    // Listed by the company, refused by the service.
    let refused = set_up_to(&portal, &gina, IRIDIUM).await.unwrap_err();
    assert_eq!(refused.reason(), RejectionDetail::CountryNotAllowed);
    assert!(portal.outbox.sent().is_empty());
    set_up_to(&portal, &gina, "+33 6 12 34 56 78")
        .await
        .unwrap();
    assert_eq!(received(&portal.outbox).sms, 1);
    let audit = portal.audit().await;
    assert!(audit.iter().any(|entry| matches!(
        entry.event(),
        AuditEvent::SendCountryRefused { country: Some(country), .. } if *country == uk
    )));
}

#[tokio::test]
async fn push_prompts_count_in_the_users_budget() {
    let portal = Portal::new().await;
    let jo = portal.add_user("jo", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&jo, &home()).await.unwrap());
    let SetUpProgress::ScanQrCode(uri) = portal
        .twofa
        .choose_method(&jo, &screen.ticket, MethodChoice::PushApp)
        .await
        .unwrap()
    else {
        panic!("expected a QR code");
    };
    let code = crate::totp_code(&uri, crate::Now::now(&*portal.clock));
    into_allowed(
        portal
            .twofa
            .submit_code(&jo, &screen.ticket, &code)
            .await
            .unwrap(),
    );
    // The push policy lets 3 prompts out every 10 minutes: 10 prompts by
    // 08:30, all in the 08:00 hour.
    let mut sent = 0;
    while sent < 10 {
        let login = crate::challenge(portal.twofa.begin_login(&jo, &home()).await.unwrap());
        for _ in 0..3 {
            if sent < 10 {
                portal.twofa.send_push(&jo, &login.ticket).await.unwrap();
                sent += 1;
            }
        }
        portal.advance(TimeDelta::minutes(10));
    }
    let pushes = |outbox: &Outbox| {
        outbox
            .sent()
            .iter()
            .filter(|m| matches!(m, SentMessage::Push(_)))
            .count()
    };
    assert_eq!(pushes(&portal.outbox), 10);
    let login = crate::challenge(portal.twofa.begin_login(&jo, &home()).await.unwrap());
    let refused = portal
        .twofa
        .send_push(&jo, &login.ticket)
        .await
        .unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::TryAnotherMethodOrLater);
    assert_eq!(refused.reason(), exhausted(BudgetScope::UserCodesPerHour));
    assert_eq!(pushes(&portal.outbox), 10);
}
