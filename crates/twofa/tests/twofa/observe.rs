//! What an operator sees: the events explain every refusal and send, the
//! metrics count them, and neither ever holds a code, a secret, a ticket,
//! a recovery code or a full phone number or email address.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use twofa::delivery::SentMessage;
use twofa::enrollment::PhoneChannel;
use twofa::types::{AccountKind, UserId};
use twofa::{MethodChoice, PhoneChoice};

use crate::{Now, Portal, challenge, home, into_allowed, set_up, totp_code};

/// A writer the subscriber formats every event into.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// The process-wide log of this test binary. A global subscriber rather
/// than a thread's: `tracing` caches per call site whether anyone listens,
/// and a thread-scoped subscriber can miss events whose call site another
/// test's thread registered first. Events of the other tests land here
/// too, and are held to the same rule: no secret in any of them.
fn captured() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    })
}

/// The value of a counter with exactly these labels, 0 when never
/// incremented.
fn counter(
    snapshot: &[(
        metrics_util::CompositeKey,
        Option<metrics::Unit>,
        Option<metrics::SharedString>,
        DebugValue,
    )],
    name: &str,
    labels: &[(&str, &str)],
) -> u64 {
    snapshot
        .iter()
        .filter(|(key, ..)| {
            let key = key.key();
            key.name() == name
                && labels.iter().all(|(label, value)| {
                    key.labels()
                        .any(|have| have.key() == *label && have.value() == *value)
                })
        })
        .map(|(.., value)| match value {
            DebugValue::Counter(count) => *count,
            _ => 0,
        })
        .sum()
}

#[tokio::test(flavor = "current_thread")]
async fn the_logs_say_why_a_login_failed_and_never_hold_a_secret() {
    let captured = captured();
    // This thread's recorder: the other tests of the binary, on other
    // threads, do not count here.
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _metrics = metrics::set_default_local_recorder(&recorder);

    let portal = Portal::new().await;
    // An unknown user.
    let nobody = UserId::new("nobody").unwrap();
    let refused = portal.twofa.begin_login(&nobody, &home()).await;
    assert!(refused.is_err());
    // An app user: enrolled, then a wrong code and a replayed one.
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, recovery) = portal.enroll_app(&bob).await;
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let wrong = portal
        .twofa
        .submit_code(&bob, &screen.ticket, "000000")
        .await;
    assert!(wrong.is_err());
    let used = totp_code(&uri, portal.clock.now());
    let replayed = portal.twofa.submit_code(&bob, &screen.ticket, &used).await;
    assert!(replayed.is_err());
    into_allowed(
        portal
            .twofa
            .use_recovery_code(&bob, &screen.ticket, &recovery[0])
            .await
            .unwrap(),
    );
    // An SMS user: a code sent, a re-send refused by the cooldown.
    let carol = portal.add_user("carol", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&carol, &home()).await.unwrap());
    let number = "+44 7400 123456";
    portal
        .twofa
        .choose_method(
            &carol,
            &screen.ticket,
            MethodChoice::Phone(PhoneChoice::new(number, PhoneChannel::Sms)),
        )
        .await
        .unwrap();
    let sms_code = portal.last_code();
    into_allowed(
        portal
            .twofa
            .submit_code(&carol, &screen.ticket, &sms_code)
            .await
            .unwrap(),
    );

    let log = captured.text();
    // Why each refusal happened, from the log alone.
    for expected in [
        "operation=\"begin_login\"",
        "user=nobody",
        "reason=\"unknown_user\"",
        "operation=\"submit_code\"",
        "user=bob",
        "reason=\"wrong_code\"",
        "reason=\"replayed\"",
        "outcome=\"allowed\"",
        "by=\"recovery_code\"",
        "channel=\"sms\"",
        "message sent",
        "latency_ms=",
    ] {
        assert!(log.contains(expected), "no {expected} in:\n{log}");
    }
    // Never a secret.
    let secret = uri.key_uri().secret().to_base32();
    let mut forbidden: Vec<String> = vec![
        used,
        sms_code,
        recovery[0].clone(),
        screen.ticket.to_string(),
        secret.as_str().to_owned(),
        "7400123456".to_owned(),
        "7400 123456".to_owned(),
        "carol@example.com".to_owned(),
        "bob@example.com".to_owned(),
    ];
    for message in portal.outbox.sent() {
        if let SentMessage::Sms(sms) = message {
            forbidden.push(sms.body.expose_secret().to_owned());
        }
    }
    for secret in &forbidden {
        assert!(
            !log.contains(secret.as_str()),
            "{secret} leaked into:\n{log}"
        );
    }

    let snapshot = snapshotter.snapshot().into_vec();
    let count = |name, labels: &[(&str, &str)]| counter(&snapshot, name, labels);
    assert_eq!(
        count("twofa_rejections_total", &[("reason", "unknown_user")]),
        1
    );
    assert_eq!(
        count("twofa_rejections_total", &[("reason", "wrong_code")]),
        1
    );
    assert_eq!(
        count("twofa_rejections_total", &[("reason", "replayed")]),
        1
    );
    assert_eq!(
        count("twofa_verifications_total", &[("result", "rejected")]),
        2
    );
    // Alice's set-up (the administrator's, when the portal is built),
    // Bob's set-up, his recovery code, Carol's set-up.
    assert_eq!(
        count("twofa_verifications_total", &[("result", "accepted")]),
        4
    );
    assert_eq!(
        count(
            "twofa_sends_total",
            &[("channel", "sms"), ("result", "sent")]
        ),
        1
    );
    assert_eq!(
        count(
            "twofa_operations_total",
            &[("operation", "submit_code"), ("outcome", "allowed")]
        ),
        3,
        "Alice's set-up, Bob's and Carol's"
    );
    assert!(count("twofa_logins_allowed_total", &[("by", "second_factor")]) >= 2);
}

/// An audit log that is down.
#[derive(Debug)]
struct DownAuditLog;

impl twofa::AuditLog for DownAuditLog {
    fn append<'a>(
        &'a self,
        _entry: twofa::AuditEntry,
    ) -> twofa::StoreFuture<'a, Result<(), twofa::StoreError>> {
        twofa::StoreFuture::ready(Err(twofa::StoreError::Unavailable))
    }

    fn read<'a>(
        &'a self,
        _skip: usize,
        _limit: usize,
    ) -> twofa::StoreFuture<'a, Result<Vec<twofa::AuditEntry>, twofa::StoreError>> {
        twofa::StoreFuture::ready(Err(twofa::StoreError::Unavailable))
    }

    fn purge_older_than<'a>(
        &'a self,
        _cutoff: chrono::DateTime<chrono::Utc>,
    ) -> twofa::StoreFuture<'a, Result<u64, twofa::StoreError>> {
        twofa::StoreFuture::ready(Err(twofa::StoreError::Unavailable))
    }
}

#[tokio::test(flavor = "current_thread")]
async fn an_audit_entry_the_log_cannot_take_goes_to_the_operator_log() {
    use twofa::memory::InMemoryStore;
    let captured = captured();
    let stores = twofa::Stores::new(
        Arc::new(InMemoryStore::<UserId, twofa::UserRecord>::new()),
        Arc::new(InMemoryStore::new()),
        Arc::new(InMemoryStore::new()),
        Arc::new(InMemoryStore::new()),
        Arc::new(DownAuditLog),
        Arc::new(twofa::memory::InMemorySendCounters::new()),
    );
    let portal = Portal::without_admin_factor(stores).await;
    let ghost = UserId::new("ghost-of-the-audit").unwrap();
    let refused = portal.twofa.begin_login(&ghost, &home()).await;
    // The refusal stands, and its audit entry is in the log.
    assert!(refused.is_err());
    let log = captured.text();
    let line = log
        .lines()
        .find(|line| {
            line.contains("audit entry not written") && line.contains("ghost-of-the-audit")
        })
        .unwrap_or_else(|| panic!("no unwritten audit entry in:\n{log}"));
    assert!(line.contains("UnknownUser"), "{line}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_send_the_budget_refuses_is_logged_and_counted_without_the_number() {
    let captured = captured();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _metrics = metrics::set_default_local_recorder(&recorder);

    let portal = Portal::new().await;
    let ivy = portal.add_user("ivy", AccountKind::PartnerEmployee).await;
    let choose = |number: String| {
        let portal = &portal;
        let ivy = &ivy;
        async move {
            let screen = set_up(portal.twofa.begin_login(ivy, &home()).await.unwrap());
            portal
                .twofa
                .choose_method(
                    ivy,
                    &screen.ticket,
                    MethodChoice::Phone(PhoneChoice::new(number, PhoneChannel::Sms)),
                )
                .await
        }
    };
    assert!(choose("+881 6 3198 7654".to_owned()).await.is_err());
    for i in 0..10 {
        choose(format!("+44 7400 55{i:04}")).await.unwrap();
    }
    assert!(choose("+44 7400 559999".to_owned()).await.is_err());

    let log = captured.text();
    for expected in [
        "send refused: country not allowed",
        "country=Some(881)",
        "send refused: budget exhausted",
        "scope=\"user_codes_per_hour\"",
        "what=\"set_up_code\"",
        "reason=\"send_budget_exhausted\"",
        "reason=\"country_not_allowed\"",
    ] {
        assert!(log.contains(expected), "no {expected} in:\n{log}");
    }
    for number in ["631987654", "6 3198 7654", "7400559999", "7400 559999"] {
        assert!(!log.contains(number), "{number} leaked into:\n{log}");
    }
    let snapshot = snapshotter.snapshot().into_vec();
    let count = |name, labels: &[(&str, &str)]| counter(&snapshot, name, labels);
    assert_eq!(
        count(
            "twofa_sends_total",
            &[("what", "code"), ("result", "budget_exhausted")]
        ),
        1
    );
    assert_eq!(
        count(
            "twofa_sends_total",
            &[("what", "code"), ("result", "country_refused")]
        ),
        1
    );
    assert_eq!(
        count(
            "twofa_send_budget_refusals_total",
            &[("what", "set_up_code"), ("scope", "user_codes_per_hour")]
        ),
        1
    );
    assert_eq!(
        count(
            "twofa_sends_total",
            &[("channel", "sms"), ("result", "sent")]
        ),
        10
    );
}
