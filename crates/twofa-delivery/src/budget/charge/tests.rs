use chrono::TimeZone;
use twofa_types::CountryCode;

use super::*;
use crate::budget::{BudgetWindow, GeoPermissions};
use crate::{ChallengeId, EmailMessage, MessageText, Notice, SmsMessage, SmsNotice, VoiceMessage};

fn key() -> ServerKey {
    ServerKey::from_bytes(&[7; 32]).unwrap()
}

fn user(id: &str) -> UserId {
    UserId::new(id).unwrap()
}

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, h, m, s).unwrap()
}

fn sms(to: &str) -> OutboundMessage {
    OutboundMessage::Sms(SmsMessage {
        challenge: ChallengeId::generate(&mut rand::rng()),
        user: user("u1"),
        to: PhoneNumber::from_e164(to).unwrap(),
        body: MessageText::new("code".to_owned()),
    })
}

fn voice(to: &str) -> OutboundMessage {
    OutboundMessage::Voice(VoiceMessage {
        challenge: ChallengeId::generate(&mut rand::rng()),
        user: user("u1"),
        to: PhoneNumber::from_e164(to).unwrap(),
        script: MessageText::new("code".to_owned()),
    })
}

fn email(to: &str) -> OutboundMessage {
    OutboundMessage::Email(EmailMessage {
        challenge: ChallengeId::generate(&mut rand::rng()),
        to: EmailAddress::parse(to).unwrap(),
        subject: MessageText::new("subject".to_owned()),
        body: MessageText::new("code".to_owned()),
    })
}

fn scopes(charges: &Charges) -> Vec<BudgetScope> {
    let mut scopes: Vec<_> = charges.counters().iter().map(Counter::scope).collect();
    scopes.sort();
    scopes
}

const UK: &str = "+447400123456";

/// Counts every charge like a store: the decision on the counts, then
/// every counter plus one when allowed.
#[derive(Default)]
struct Tally(std::collections::HashMap<CounterKey, u32>);

impl Tally {
    fn charge(&mut self, charges: &Charges) -> BudgetDecision {
        let counts: Vec<u32> = charges
            .counters()
            .iter()
            .map(|c| self.0.get(c.key()).copied().unwrap_or(0))
            .collect();
        let decision = charges.decide(&counts);
        if decision == BudgetDecision::Allowed {
            for counter in charges.counters() {
                *self.0.entry(counter.key().clone()).or_default() += 1;
            }
        }
        decision
    }
}

#[test]
fn each_kind_charges_its_scopes() {
    let policy = SendBudgetPolicy::default();
    let every = CountryCodeSet::all();
    let u = user("u1");
    let message = sms(UK);
    for kind in [
        SendKind::LoginCode,
        SendKind::SetUpCode,
        SendKind::Resend,
        SendKind::NumberChangeCode,
    ] {
        let request = SendRequest::code(kind, &u, &message);
        let charges = policy
            .charges(&request, &every, &key(), at(10, 0, 0))
            .unwrap();
        assert_eq!(
            scopes(&charges),
            vec![
                BudgetScope::UserCodesPerHour,
                BudgetScope::UserCodesPerDay,
                BudgetScope::DestinationPerHour,
                BudgetScope::DestinationPerDay,
                BudgetScope::CountryPerHour,
                BudgetScope::ServicePerHour,
            ]
        );
    }
    let mail = email("ada@example.com");
    let charges = policy
        .charges(
            &SendRequest::code(SendKind::Resend, &u, &mail),
            &every,
            &key(),
            at(10, 0, 0),
        )
        .unwrap();
    assert_eq!(
        scopes(&charges),
        vec![
            BudgetScope::UserCodesPerHour,
            BudgetScope::UserCodesPerDay,
            BudgetScope::DestinationPerHour,
            BudgetScope::DestinationPerDay,
        ]
    );
    let charges = policy
        .charges(&SendRequest::push(&u), &every, &key(), at(10, 0, 0))
        .unwrap();
    assert_eq!(
        scopes(&charges),
        vec![BudgetScope::UserCodesPerHour, BudgetScope::UserCodesPerDay]
    );
    let notice = NoticeMessage::Sms(SmsNotice {
        notice: Notice::NumberChangeStarted,
        to: PhoneNumber::from_e164(UK).unwrap(),
        text: "notice".to_owned(),
    });
    let charges = policy
        .charges(
            &SendRequest::notice(&u, &notice),
            &every,
            &key(),
            at(10, 0, 0),
        )
        .unwrap();
    assert_eq!(
        scopes(&charges),
        vec![
            BudgetScope::UserNoticesPerHour,
            BudgetScope::UserNoticesPerDay,
            BudgetScope::CountryPerHour,
            BudgetScope::ServicePerHour,
        ]
    );
}

#[test]
fn keys_are_sorted_name_the_window_and_never_the_number() {
    let u = user("u1");
    let message = voice(UK);
    let charges = SendBudgetPolicy::default()
        .charges(
            &SendRequest::code(SendKind::LoginCode, &u, &message),
            &CountryCodeSet::all(),
            &key(),
            at(10, 59, 59),
        )
        .unwrap();
    let keys: Vec<&str> = charges
        .counters()
        .iter()
        .map(|c| c.key().as_str())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    let hour = at(10, 0, 0).timestamp();
    let day = at(0, 0, 0).timestamp();
    assert!(keys.contains(&format!("user_codes_per_hour/{hour}/u1").as_str()));
    assert!(keys.contains(&format!("user_codes_per_day/{day}/u1").as_str()));
    assert!(keys.contains(&format!("country_per_hour/{hour}/44").as_str()));
    assert!(keys.contains(&format!("service_per_hour/{hour}/all").as_str()));
    for text in &keys {
        assert!(!text.contains("7400123456"), "{text}");
    }
    // The same number by SMS shares the destination counters; another
    // server key gives other keys.
    let by_sms = sms(UK);
    let again = SendBudgetPolicy::default()
        .charges(
            &SendRequest::code(SendKind::Resend, &u, &by_sms),
            &CountryCodeSet::all(),
            &key(),
            at(10, 0, 0),
        )
        .unwrap();
    assert_eq!(again, charges);
    let other_key = SendBudgetPolicy::default()
        .charges(
            &SendRequest::code(SendKind::Resend, &u, &by_sms),
            &CountryCodeSet::all(),
            &ServerKey::from_bytes(&[8; 32]).unwrap(),
            at(10, 0, 0),
        )
        .unwrap();
    assert_ne!(other_key, charges);
}

#[test]
fn the_tenth_code_in_an_hour_passes_the_eleventh_waits_for_the_next_hour() {
    // Ten destinations so that only the user's budget is in play.
    let policy = SendBudgetPolicy::default();
    let u = user("u1");
    let every = CountryCodeSet::all();
    let mut tally = Tally::default();
    let numbers: Vec<String> = (0..12).map(|i| format!("+4474001234{i:02}")).collect();
    let send = |tally: &mut Tally, i: usize, now| {
        let message = sms(&numbers[i]);
        let request = SendRequest::code(SendKind::LoginCode, &u, &message);
        tally.charge(&policy.charges(&request, &every, &key(), now).unwrap())
    };
    for i in 0..10 {
        assert_eq!(
            send(&mut tally, i, at(10, 0, 0)),
            BudgetDecision::Allowed,
            "{i}"
        );
    }
    let refused = BudgetDecision::Exhausted(BudgetExhausted {
        scope: BudgetScope::UserCodesPerHour,
        frees_at: at(11, 0, 0),
    });
    assert_eq!(send(&mut tally, 10, at(10, 0, 0)), refused);
    // One second before the window ends: still refused.
    assert_eq!(send(&mut tally, 10, at(10, 59, 59)), refused);
    // The second it ends: passes.
    assert_eq!(send(&mut tally, 10, at(11, 0, 0)), BudgetDecision::Allowed);
}

#[test]
fn the_daily_limit_holds_across_hours_until_midnight_utc() {
    let policy = SendBudgetPolicy::default();
    let u = user("u1");
    let every = CountryCodeSet::all();
    let mut tally = Tally::default();
    let mut n = 0;
    let mut send = |tally: &mut Tally, now| {
        n += 1;
        let message = sms(&format!("+4474001{n:05}"));
        let request = SendRequest::code(SendKind::SetUpCode, &u, &message);
        tally.charge(&policy.charges(&request, &every, &key(), now).unwrap())
    };
    for _ in 0..10 {
        assert_eq!(send(&mut tally, at(21, 30, 0)), BudgetDecision::Allowed);
    }
    for _ in 0..10 {
        assert_eq!(send(&mut tally, at(22, 30, 0)), BudgetDecision::Allowed);
    }
    let refused = BudgetDecision::Exhausted(BudgetExhausted {
        scope: BudgetScope::UserCodesPerDay,
        frees_at: Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap(),
    });
    assert_eq!(send(&mut tally, at(23, 0, 0)), refused);
    assert_eq!(send(&mut tally, at(23, 59, 59)), refused);
    let midnight = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    assert_eq!(send(&mut tally, midnight), BudgetDecision::Allowed);
}

#[test]
fn a_destination_budget_holds_across_users() {
    let policy = SendBudgetPolicy::default();
    let every = CountryCodeSet::all();
    let mut tally = Tally::default();
    let message = sms(UK);
    for i in 0..7 {
        let u = user(&format!("u{i}"));
        let request = SendRequest::code(SendKind::SetUpCode, &u, &message);
        let decision = tally.charge(
            &policy
                .charges(&request, &every, &key(), at(9, 15, 0))
                .unwrap(),
        );
        if i < 5 {
            assert_eq!(decision, BudgetDecision::Allowed, "{i}");
        } else {
            assert_eq!(
                decision,
                BudgetDecision::Exhausted(BudgetExhausted {
                    scope: BudgetScope::DestinationPerHour,
                    frees_at: at(10, 0, 0)
                })
            );
        }
    }
}

#[test]
fn country_and_service_ceilings() {
    let policy = SendBudgetPolicy::default()
        .with_limit(BudgetScope::CountryPerHour, 3)
        .unwrap()
        .with_limit(BudgetScope::ServicePerHour, 5)
        .unwrap();
    let every = CountryCodeSet::all();
    let mut tally = Tally::default();
    let send = |tally: &mut Tally, i: usize, number: &str| {
        let u = user(&format!("u{i}"));
        let message = sms(number);
        let request = SendRequest::code(SendKind::LoginCode, &u, &message);
        tally.charge(
            &policy
                .charges(&request, &every, &key(), at(8, 0, 0))
                .unwrap(),
        )
    };
    for i in 0..3 {
        assert_eq!(
            send(&mut tally, i, &format!("+44740012345{i}")),
            BudgetDecision::Allowed
        );
    }
    assert_eq!(
        send(&mut tally, 3, "+447400123453"),
        BudgetDecision::Exhausted(BudgetExhausted {
            scope: BudgetScope::CountryPerHour,
            frees_at: at(9, 0, 0)
        })
    );
    assert_eq!(send(&mut tally, 4, "+12015550123"), BudgetDecision::Allowed);
    assert_eq!(send(&mut tally, 5, "+12015550124"), BudgetDecision::Allowed);
    assert_eq!(
        send(&mut tally, 6, "+33612345678"),
        BudgetDecision::Exhausted(BudgetExhausted {
            scope: BudgetScope::ServicePerHour,
            frees_at: at(9, 0, 0)
        })
    );
}

#[test]
fn geo_is_checked_before_any_counter() {
    let u = user("u1");
    let iridium = sms("+881631234567");
    let request = SendRequest::code(SendKind::SetUpCode, &u, &iridium);
    let every = CountryCodeSet::all();
    let gmss = CountryCode::new(881).unwrap();
    assert_eq!(
        SendBudgetPolicy::default().charges(&request, &every, &key(), at(1, 0, 0)),
        Err(GeoRefused::Service { country: gmss })
    );
    let allowing = SendBudgetPolicy::default().with_geo(GeoPermissions::default().allowing(gmss));
    assert!(
        allowing
            .charges(&request, &every, &key(), at(1, 0, 0))
            .is_ok()
    );
    let uk_only = CountryCodeSet::of(&[CountryCode::new(44).unwrap()]);
    assert_eq!(
        allowing.charges(&request, &uk_only, &key(), at(1, 0, 0)),
        Err(GeoRefused::Company { country: gmss })
    );
}

#[test]
fn decide_names_the_scope_that_frees_last_and_fails_closed() {
    let u = user("u1");
    let message = sms(UK);
    let charges = SendBudgetPolicy::default()
        .charges(
            &SendRequest::code(SendKind::LoginCode, &u, &message),
            &CountryCodeSet::all(),
            &key(),
            at(12, 30, 0),
        )
        .unwrap();
    let full: Vec<u32> = charges.counters().iter().map(Counter::limit).collect();
    match charges.decide(&full) {
        BudgetDecision::Exhausted(exhausted) => {
            assert_eq!(exhausted.scope.window(), BudgetWindow::Day);
            assert_eq!(
                exhausted.frees_at,
                Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
            );
        }
        BudgetDecision::Allowed => panic!("full counters must refuse"),
    }
    assert!(matches!(charges.decide(&[]), BudgetDecision::Exhausted(_)));
    let below: Vec<u32> = full.iter().map(|l| l - 1).collect();
    assert_eq!(charges.decide(&below), BudgetDecision::Allowed);
    assert!(matches!(
        charges.refused_by(99),
        BudgetDecision::Exhausted(_)
    ));
}

#[test]
fn windows_at_the_edges_of_time() {
    let (start, end) = window(DateTime::<Utc>::MIN_UTC, 3_600);
    assert!(start <= end);
    let (start, end) = window(DateTime::<Utc>::MAX_UTC, 86_400);
    assert!(start <= end);
    let before_epoch = Utc.with_ymd_and_hms(1969, 12, 31, 23, 30, 0).unwrap();
    let (start, end) = window(before_epoch, 3_600);
    assert_eq!(start, Utc.with_ymd_and_hms(1969, 12, 31, 23, 0, 0).unwrap());
    assert_eq!(end, Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap());
}
