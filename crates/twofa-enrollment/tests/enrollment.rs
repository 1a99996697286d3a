//! Integration tests of the enrollment state machine through its public API.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail the test on unexpected results"
)]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use twofa_delivery::{
    ChallengePolicy, CodeChannel, Destination, EmailAddress, Issuer, LineType, MatchNumber,
    MessageTemplates, NotMobileKind, OutboundMessage, PhoneNumber, PushResponse, ResendOption,
    ServerKey, TransactionId, UnknownReason, UserId,
};
use twofa_enrollment::*;
use twofa_otp::{Algorithm, Secret, Totp};

// ---------------------------------------------------------------- helpers

struct Env {
    key: ServerKey,
    issuer: Issuer,
    templates: MessageTemplates,
    policy: EnrollmentPolicy,
}

impl Env {
    fn new() -> Self {
        Self::with_policy(EnrollmentPolicy::default())
    }

    fn with_policy(policy: EnrollmentPolicy) -> Self {
        let issuer = Issuer::new("Example Portal").unwrap();
        Self {
            key: ServerKey::from_bytes(&[0x42; 32]).unwrap(),
            templates: MessageTemplates::new(issuer.clone()),
            issuer,
            policy,
        }
    }

    fn ctx(&self, enforcement: Enforcement) -> Context<'_> {
        Context::new(
            enforcement,
            &self.policy,
            &self.key,
            &self.templates,
            &self.issuer,
        )
    }

    fn optional(&self) -> Context<'_> {
        self.ctx(Enforcement::Optional)
    }
}

const OPTIONAL: Enforcement = Enforcement::Optional;
const REQUIRED: Enforcement = Enforcement::Required;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

/// A fresh generator per call: each transition draws different secrets,
/// as it would with an operating-system generator.
fn rng() -> StdRng {
    static NEXT: AtomicU64 = AtomicU64::new(2026);
    StdRng::seed_from_u64(NEXT.fetch_add(1, Ordering::Relaxed))
}

// Parsed once: validation against the numbering-plan metadata is slow in
// unoptimised builds.
fn mobile() -> PhoneNumber {
    static NUMBER: OnceLock<PhoneNumber> = OnceLock::new();
    NUMBER
        .get_or_init(|| PhoneNumber::from_e164("+447400123456").unwrap())
        .clone()
}

fn other_mobile() -> PhoneNumber {
    static NUMBER: OnceLock<PhoneNumber> = OnceLock::new();
    NUMBER
        .get_or_init(|| PhoneNumber::from_e164("+447400654321").unwrap())
        .clone()
}

fn email() -> EmailAddress {
    EmailAddress::parse("alice@example.com").unwrap()
}

fn record() -> Enrollment {
    Enrollment::new(
        UserId::new("user-1").unwrap(),
        DisplayName::new("Alice").unwrap(),
    )
    .with_email(email())
}

fn tx() -> TransactionId {
    TransactionId::new("login-1").unwrap()
}

fn unix(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp()).unwrap()
}

fn totp_code(secret: &Secret, at: DateTime<Utc>) -> String {
    Totp::new(secret, Algorithm::Sha1)
        .generate(unix(at))
        .unwrap()
        .expose_secret()
        .as_str()
        .to_owned()
}

/// A well-formed code that matches none of the steps in the ±1 window.
fn wrong_totp(secret: &Secret, at: DateTime<Utc>) -> String {
    let window: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|d| totp_code(secret, at + secs(*d)))
        .collect();
    (0..1000)
        .map(|n| format!("{:06}", 100_000 + n))
        .find(|c| !window.contains(c))
        .unwrap()
}

fn wrong_oob(code: &str) -> String {
    if code == "000000" {
        "111111".to_owned()
    } else {
        "000000".to_owned()
    }
}

fn code(text: &str) -> SubmittedCode {
    SubmittedCode::new(text)
}

fn apply(
    record: &Enrollment,
    event: Event,
    ctx: &Context<'_>,
    now: DateTime<Utc>,
) -> Result<Transition, EnrollmentError> {
    record.apply(event, ctx, now, &mut rng())
}

fn saved(transition: Transition) -> (Enrollment, Vec<Effect>) {
    match transition {
        Transition::Save(outcome) => outcome.into_parts(),
        Transition::Send(_) => panic!("expected a transition without a send"),
    }
}

fn sent(transition: Transition) -> (Enrollment, Vec<Effect>, String) {
    match transition {
        Transition::Send(dispatch) => {
            let code = dispatch.expose_code().to_owned();
            let (record, effects) = dispatch.sent().into_parts();
            (record, effects, code)
        }
        Transition::Save(_) => panic!("expected a send"),
    }
}

fn pending_secret(record: &Enrollment) -> Secret {
    let pending = match record.state() {
        EnrollmentState::Pending(p) => p,
        EnrollmentState::Enrolled(e) => e.pending_change().unwrap(),
        other => panic!("not pending: {other:?}"),
    };
    match pending.kind() {
        PendingKind::App { secret } | PendingKind::Push { secret, .. } => secret.clone(),
        other => panic!("not an app: {other:?}"),
    }
}

fn method_secret(record: &Enrollment, id: u32) -> Secret {
    let EnrollmentState::Enrolled(e) = record.state() else {
        panic!("not enrolled");
    };
    e.method(MethodId::new(id))
        .unwrap()
        .factor()
        .totp()
        .unwrap()
        .expose_secret()
        .clone()
}

fn audits(effects: &[Effect]) -> Vec<&'static str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Audit(a) => Some(a.kind.name()),
            _ => None,
        })
        .collect()
}

fn recovery_sheet(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::ShowRecoveryCodes(sheet) => {
                Some(sheet.expose_secret().map(str::to_owned).collect())
            }
            _ => None,
        })
        .expect("recovery codes shown")
}

fn start_app(env: &Env, at: DateTime<Utc>) -> Enrollment {
    saved(
        apply(
            &record(),
            Event::StartSetup(SetupChoice::App),
            &env.optional(),
            at,
        )
        .unwrap(),
    )
    .0
}

/// An app-enrolled record (activated at `at`) and its recovery codes.
fn enrolled_app(env: &Env, at: DateTime<Utc>) -> (Enrollment, Vec<String>) {
    let pending = start_app(env, at);
    let c = totp_code(&pending_secret(&pending), at);
    let (record, effects) =
        saved(apply(&pending, Event::SubmitCode(code(&c)), &env.optional(), at).unwrap());
    (record, recovery_sheet(&effects))
}

fn sms_setup() -> SetupChoice {
    SetupChoice::Phone(PhoneSetup::new(
        mobile(),
        LineType::Mobile,
        PhoneChannel::Sms,
    ))
}

fn start_sms(env: &Env, at: DateTime<Utc>) -> (Enrollment, String) {
    let (record, _, code) = sent(
        apply(
            &record(),
            Event::StartSetup(sms_setup()),
            &env.optional(),
            at,
        )
        .unwrap(),
    );
    (record, code)
}

fn enrolled_sms(env: &Env, at: DateTime<Utc>) -> Enrollment {
    let (pending, c) = start_sms(env, at);
    saved(apply(&pending, Event::SubmitCode(code(&c)), &env.optional(), at).unwrap()).0
}

fn login(
    record: &Enrollment,
    method: u32,
    c: &str,
    ctx: &Context<'_>,
    at: DateTime<Utc>,
) -> Result<LoginAccepted, LoginRejected> {
    record.verify_login(
        &LoginAttempt::Code {
            method: MethodId::new(method),
            code: code(c),
        },
        &tx(),
        ctx,
        at,
    )
}

/// Fails a login with a wrong code at `at`, returning the record to save.
fn fail_login(record: &Enrollment, env: &Env, at: DateTime<Utc>) -> Enrollment {
    let secret = method_secret(record, 1);
    let rejected = login(record, 1, &wrong_totp(&secret, at), &env.optional(), at).unwrap_err();
    rejected.outcome.expect("a counted failure").into_parts().0
}

// ---------------------------------------------------------------- happy paths

#[test]
fn app_setup_shows_key_uri_and_activates_with_a_valid_code() {
    let env = Env::new();
    let (pending, effects) = saved(
        apply(
            &record(),
            Event::StartSetup(SetupChoice::App),
            &env.optional(),
            t0(),
        )
        .unwrap(),
    );
    let uri = effects
        .iter()
        .find_map(|e| match e {
            Effect::ShowKeyUri(uri) => Some(uri.clone()),
            _ => None,
        })
        .unwrap();
    let text = uri.expose_secret();
    assert!(text.starts_with("otpauth://totp/Example%20Portal:Alice?"));
    assert!(!format!("{effects:?}").contains(&pending_secret(&pending).to_base32()[..]));
    assert_eq!(audits(&effects), ["enrollment.started"]);
    assert_eq!(pending.summary(t0()).pending, Some(MethodKind::App));
    assert!(!pending.summary(t0()).has_active_method());

    let c = totp_code(&pending_secret(&pending), t0());
    let (enrolled, effects) =
        saved(apply(&pending, Event::SubmitCode(code(&c)), &env.optional(), t0()).unwrap());
    let summary = enrolled.summary(t0());
    assert_eq!(summary.methods.len(), 1);
    assert_eq!(summary.methods[0].kind, MethodKind::App);
    assert_eq!(summary.last_second_factor_at, Some(t0()));
    assert_eq!(summary.recovery_codes_remaining, RECOVERY_CODE_COUNT);
    assert_eq!(recovery_sheet(&effects).len(), 10);
    assert!(audits(&effects).contains(&"enrollment.verified"));
}

#[test]
fn the_activating_code_is_burned_and_cannot_log_in() {
    let env = Env::new();
    let pending = start_app(&env, t0());
    let c = totp_code(&pending_secret(&pending), t0());
    let (enrolled, _) =
        saved(apply(&pending, Event::SubmitCode(code(&c)), &env.optional(), t0()).unwrap());
    let rejected = login(&enrolled, 1, &c, &env.optional(), t0() + secs(5)).unwrap_err();
    assert_eq!(rejected.reason, EnrollmentError::WrongCode);
    // The next step's code logs in, once.
    let later = t0() + secs(30);
    let next = totp_code(&pending_secret(&pending), later);
    let accepted = login(&enrolled, 1, &next, &env.optional(), later).unwrap();
    let (after, _) = accepted.outcome.into_parts();
    assert!(login(&after, 1, &next, &env.optional(), later).is_err());
}

#[test]
fn sms_setup_sends_a_code_that_activates_the_number() {
    let env = Env::new();
    let transition = apply(
        &record(),
        Event::StartSetup(sms_setup()),
        &env.optional(),
        t0(),
    )
    .unwrap();
    let Some(OutboundMessage::Sms(sms)) = transition.message() else {
        panic!("expected an SMS");
    };
    assert_eq!(sms.to, mobile());
    let (pending, effects, c) = sent(transition);
    let printed = format!("{effects:?} {pending:?}");
    assert!(
        !printed.contains("7400123456"),
        "full number leaked: {printed}"
    );
    assert!(!printed.contains(&c));
    let (enrolled, effects) = saved(
        apply(
            &pending,
            Event::SubmitCode(code(&c)),
            &env.optional(),
            t0() + secs(20),
        )
        .unwrap(),
    );
    assert_eq!(enrolled.summary(t0()).methods[0].kind, MethodKind::Sms);
    let audit = effects
        .iter()
        .find_map(|e| match e {
            Effect::Audit(a) if a.kind == AuditKind::EnrollmentVerified => Some(a.clone()),
            _ => None,
        })
        .unwrap();
    let masked = audit.destination.unwrap();
    assert!(masked.as_str().ends_with("3456"));
    assert!(!masked.as_str().contains("7400123456"));
}

#[test]
fn dropping_a_dispatch_leaves_the_record_as_it_was() {
    let env = Env::new();
    let before = record();
    let transition = apply(
        &before,
        Event::StartSetup(sms_setup()),
        &env.optional(),
        t0(),
    )
    .unwrap();
    drop(transition);
    assert_eq!(before.state().kind(), StateKind::NotEnrolled);
}

#[test]
fn not_mobile_numbers_get_the_dialog_then_voice() {
    let env = Env::new();
    for line_type in [
        LineType::NotMobile(NotMobileKind::FixedLine),
        LineType::Unknown(UnknownReason::NumberingPlanCannotTell),
    ] {
        let setup = PhoneSetup::new(mobile(), line_type, PhoneChannel::Sms);
        let (same, effects) = saved(
            apply(
                &record(),
                Event::StartSetup(SetupChoice::Phone(setup.clone())),
                &env.optional(),
                t0(),
            )
            .unwrap(),
        );
        assert_eq!(same.state().kind(), StateKind::NotEnrolled);
        let dialog = effects
            .iter()
            .find_map(|e| match e {
                Effect::ShowNotMobileDialog(d) => Some(*d),
                _ => None,
            })
            .unwrap();
        assert_eq!(dialog.recommended, MethodKind::App);
        assert_eq!(dialog.alternative, PhoneChannel::Voice);
        assert_eq!(dialog.line_type, line_type);
        assert_eq!(audits(&effects), ["enrollment.not_mobile_dialog"]);

        let voice = setup.with_answer(NotMobileAnswer::ContinueWithVoice);
        let transition = apply(
            &record(),
            Event::StartSetup(SetupChoice::Phone(voice)),
            &env.optional(),
            t0(),
        )
        .unwrap();
        assert!(matches!(
            transition.message(),
            Some(OutboundMessage::Voice(_))
        ));
        let (pending, _, c) = sent(transition);
        let (enrolled, _) =
            saved(apply(&pending, Event::SubmitCode(code(&c)), &env.optional(), t0()).unwrap());
        assert_eq!(enrolled.summary(t0()).methods[0].kind, MethodKind::Voice);
    }
}

#[test]
fn resend_by_sms_voice_and_email_issues_fresh_codes() {
    let env = Env::new();
    let (pending, first) = start_sms(&env, t0());
    // The cooldown (30 s by default) applies.
    assert!(matches!(
        apply(
            &pending,
            Event::Resend(ResendOption::Voice),
            &env.optional(),
            t0() + secs(29)
        ),
        Err(EnrollmentError::Resend(_))
    ));
    let transition = apply(
        &pending,
        Event::Resend(ResendOption::Voice),
        &env.optional(),
        t0() + secs(30),
    )
    .unwrap();
    assert!(matches!(
        transition.message(),
        Some(OutboundMessage::Voice(_))
    ));
    let (pending, effects, second) = sent(transition);
    assert_eq!(audits(&effects), ["enrollment.code_resent"]);
    let transition = apply(
        &pending,
        Event::Resend(ResendOption::Email),
        &env.optional(),
        t0() + secs(60),
    )
    .unwrap();
    let Some(OutboundMessage::Email(mail)) = transition.message() else {
        panic!("expected an email");
    };
    assert_eq!(mail.to, email());
    let (pending, _, third) = sent(transition);
    // Earlier codes are void once a fresh one is committed.
    for old in [&first, &second] {
        if *old != third {
            let (after, effects) = saved(
                apply(
                    &pending,
                    Event::SubmitCode(code(old)),
                    &env.optional(),
                    t0() + secs(61),
                )
                .unwrap(),
            );
            assert!(matches!(effects[0], Effect::CodeRejected { .. }));
            assert_eq!(after.state().kind(), StateKind::Pending);
        }
    }
    let (enrolled, _) = saved(
        apply(
            &pending,
            Event::SubmitCode(code(&third)),
            &env.optional(),
            t0() + secs(62),
        )
        .unwrap(),
    );
    assert_eq!(enrolled.state().kind(), StateKind::Enrolled);
    // The app's "re-send" is reading the device.
    let app = start_app(&env, t0());
    let (_, effects) = saved(
        apply(
            &app,
            Event::Resend(ResendOption::App),
            &env.optional(),
            t0(),
        )
        .unwrap(),
    );
    assert!(matches!(effects[..], [Effect::ReadCodeFromDevice]));
    assert_eq!(
        apply(
            &app,
            Event::Resend(ResendOption::Sms),
            &env.optional(),
            t0()
        )
        .unwrap_err(),
        EnrollmentError::ResendNotApplicable
    );
}

// ---------------------------------------------------------------- edges

#[test]
fn app_pending_expires_after_thirty_minutes_to_the_second() {
    let env = Env::new();
    let pending = start_app(&env, t0());
    let secret = pending_secret(&pending);
    let expiry = t0() + TimeDelta::minutes(30);
    for (at, ok) in [
        (expiry - secs(1), true),
        (expiry, false),
        (expiry + secs(1), false),
    ] {
        let result = apply(
            &pending,
            Event::SubmitCode(code(&totp_code(&secret, at))),
            &env.optional(),
            at,
        );
        if ok {
            assert_eq!(saved(result.unwrap()).0.state().kind(), StateKind::Enrolled);
        } else {
            assert_eq!(
                result.unwrap_err(),
                EnrollmentError::PendingExpired { expired_at: expiry }
            );
        }
    }
}

#[test]
fn oob_pending_expires_after_ten_minutes_to_the_second() {
    let env = Env::new();
    let (pending, c) = start_sms(&env, t0());
    let expiry = t0() + TimeDelta::minutes(10);
    let ok = apply(
        &pending,
        Event::SubmitCode(code(&c)),
        &env.optional(),
        expiry - secs(1),
    )
    .unwrap();
    assert_eq!(saved(ok).0.state().kind(), StateKind::Enrolled);
    for at in [expiry, expiry + secs(1)] {
        assert_eq!(
            apply(&pending, Event::SubmitCode(code(&c)), &env.optional(), at).unwrap_err(),
            EnrollmentError::PendingExpired { expired_at: expiry }
        );
    }
    // A re-send after expiry gives a fresh code with a fresh lifetime.
    let (renewed, _, fresh) = sent(
        apply(
            &pending,
            Event::Resend(ResendOption::Sms),
            &env.optional(),
            expiry,
        )
        .unwrap(),
    );
    let ok = apply(
        &renewed,
        Event::SubmitCode(code(&fresh)),
        &env.optional(),
        expiry + secs(1),
    )
    .unwrap();
    assert_eq!(saved(ok).0.state().kind(), StateKind::Enrolled);
}

#[test]
fn fifth_wrong_code_is_the_last_and_the_sixth_is_refused_unevaluated() {
    let env = Env::new();
    let (mut pending, c) = start_sms(&env, t0());
    let wrong = wrong_oob(&c);
    for n in 1..=5u32 {
        let (next, effects) = saved(
            apply(
                &pending,
                Event::SubmitCode(code(&wrong)),
                &env.optional(),
                t0(),
            )
            .unwrap(),
        );
        let Effect::CodeRejected { attempts_left } = effects[0] else {
            panic!("expected a rejection");
        };
        assert_eq!(attempts_left, 5 - n);
        assert_eq!(next.failures().consecutive(), n);
        pending = next;
    }
    // Even the right code is no longer evaluated.
    assert_eq!(
        apply(&pending, Event::SubmitCode(code(&c)), &env.optional(), t0()).unwrap_err(),
        EnrollmentError::TooManyWrongCodes
    );
    // A restart opens a fresh verification; the user's failures carry over.
    let (restarted, _, fresh) = sent(
        apply(
            &pending,
            Event::StartSetup(sms_setup()),
            &env.optional(),
            t0(),
        )
        .unwrap(),
    );
    assert_eq!(restarted.failures().consecutive(), 5);
    let (enrolled, _) = saved(
        apply(
            &restarted,
            Event::SubmitCode(code(&fresh)),
            &env.optional(),
            t0(),
        )
        .unwrap(),
    );
    assert_eq!(enrolled.failures().consecutive(), 0);
}

#[test]
fn malformed_codes_are_refused_without_counting() {
    let env = Env::new();
    let pending = start_app(&env, t0());
    for text in ["", "12345", "1234567", "abcdef"] {
        assert_eq!(
            apply(
                &pending,
                Event::SubmitCode(code(text)),
                &env.optional(),
                t0()
            )
            .unwrap_err(),
            EnrollmentError::MalformedCode
        );
    }
}

#[test]
fn deferral_lasts_48_hours_to_the_second_and_is_capped() {
    let env = Env::new();
    let ctx = env.optional();
    let (deferred, effects) = saved(apply(&record(), Event::Defer, &ctx, t0()).unwrap());
    assert_eq!(audits(&effects), ["enrollment.deferred"]);
    let until = t0() + TimeDelta::hours(48);
    assert_eq!(deferred.deferrals_used(), 1);
    let before = until - secs(1);
    assert_eq!(
        deferred.setup_prompt(OPTIONAL, &env.policy, before),
        SetupPrompt::Deferred { until }
    );
    assert_eq!(deferred.summary(before).deferred_until, Some(until));
    assert!(deferred.summary(before).deferral_running);
    assert_eq!(
        apply(&deferred, Event::Defer, &ctx, before).unwrap_err(),
        EnrollmentError::AlreadyDeferred { until }
    );
    for at in [until, until + secs(1)] {
        assert_eq!(
            deferred.setup_prompt(OPTIONAL, &env.policy, at),
            SetupPrompt::SetUp {
                pending: None,
                deferral: DeferralOffer::Available { remaining: Some(2) }
            }
        );
        assert!(!deferred.summary(at).deferral_running);
    }
    let (second, _) = saved(apply(&deferred, Event::Defer, &ctx, until).unwrap());
    let later = until + TimeDelta::hours(48);
    let (third, _) = saved(apply(&second, Event::Defer, &ctx, later).unwrap());
    let last = later + TimeDelta::hours(48);
    assert_eq!(
        third.setup_prompt(OPTIONAL, &env.policy, last),
        SetupPrompt::SetUp {
            pending: None,
            deferral: DeferralOffer::CapReached
        }
    );
    assert_eq!(
        apply(&third, Event::Defer, &ctx, last).unwrap_err(),
        EnrollmentError::DeferralCapReached { cap: 3 }
    );
    // Unlimited deferrals.
    let unlimited =
        Env::with_policy(EnrollmentPolicy::default().with_deferral_cap(DeferralCap::Unlimited));
    let ctx = unlimited.optional();
    let mut record = record();
    let mut at = t0();
    for _ in 0..10 {
        record = saved(apply(&record, Event::Defer, &ctx, at).unwrap()).0;
        at += TimeDelta::hours(48);
    }
    assert_eq!(record.deferrals_used(), 10);
}

#[test]
fn enforcement_removes_deferral_and_voids_an_active_one() {
    let env = Env::new();
    let required = env.ctx(REQUIRED);
    assert_eq!(
        apply(&record(), Event::Defer, &required, t0()).unwrap_err(),
        EnrollmentError::DeferralUnavailable
    );
    let (deferred, _) = saved(apply(&record(), Event::Defer, &env.optional(), t0()).unwrap());
    assert_eq!(
        deferred.setup_prompt(REQUIRED, &env.policy, t0() + secs(1)),
        SetupPrompt::SetUp {
            pending: None,
            deferral: DeferralOffer::Enforced
        }
    );
    let pending = start_app(&env, t0());
    assert_eq!(
        apply(&pending, Event::Defer, &required, t0()).unwrap_err(),
        EnrollmentError::DeferralUnavailable
    );
}

#[test]
fn throttling_delays_start_after_five_failures_and_double_to_the_cap() {
    let env = Env::new();
    let throttle = env.policy.throttle();
    let (mut record, _) = enrolled_app(&env, t0());
    let mut at = t0() + secs(60);
    for n in 1..=5u32 {
        record = fail_login(&record, &env, at);
        assert_eq!(record.failures().consecutive(), n);
        assert_eq!(record.failures().next_attempt_at(throttle), None);
    }
    // Failure 6 waits 1 s, 7 waits 2 s, 8 waits 4 s.
    for (n, wait) in [(6u32, 1i64), (7, 2), (8, 4)] {
        record = fail_login(&record, &env, at);
        assert_eq!(record.failures().consecutive(), n);
        let next = at + secs(wait);
        assert_eq!(record.failures().next_attempt_at(throttle), Some(next));
        let secret = method_secret(&record, 1);
        // One second early: refused without evaluating even the right code.
        let early = next - secs(1);
        let refused = login(
            &record,
            1,
            &totp_code(&secret, early),
            &env.optional(),
            early,
        )
        .unwrap_err();
        assert_eq!(refused.reason, EnrollmentError::RetryAfter { at: next });
        assert!(refused.outcome.is_none());
        at = next;
    }
    // At the instant and after, the code is evaluated.
    let secret = method_secret(&record, 1);
    let accepted = login(&record, 1, &totp_code(&secret, at), &env.optional(), at).unwrap();
    assert_eq!(accepted.outcome.record().failures().consecutive(), 0);
    // The delay is capped at 15 minutes.
    assert_eq!(throttle.delay_after(5), TimeDelta::zero());
    assert_eq!(throttle.delay_after(6), secs(1));
    assert_eq!(throttle.delay_after(15), secs(512));
    assert_eq!(throttle.delay_after(16), TimeDelta::minutes(15));
    assert_eq!(throttle.delay_after(99), TimeDelta::minutes(15));
    assert_eq!(throttle.delay_after(u32::MAX), TimeDelta::minutes(15));
}

#[test]
fn one_hundred_failures_suspend_until_a_recovery_code_or_admin_reset() {
    let env = Env::new();
    let throttle = env.policy.throttle();
    let (mut record, codes) = enrolled_app(&env, t0());
    let mut at = t0() + secs(60);
    for _ in 0..99 {
        record = fail_login(&record, &env, at);
        at = record.failures().next_attempt_at(throttle).unwrap_or(at);
    }
    assert_eq!(record.failures().suspended_since(), None);
    let secret = method_secret(&record, 1);
    let rejected = login(&record, 1, &wrong_totp(&secret, at), &env.optional(), at).unwrap_err();
    assert_eq!(rejected.reason, EnrollmentError::Suspended { since: at });
    let (record, effects) = rejected.outcome.unwrap().into_parts();
    assert!(audits(&effects).contains(&"factor.suspended"));
    assert_eq!(record.failures().consecutive(), MAX_CONSECUTIVE_FAILURES);
    // The right code is no longer evaluated, even after the delay.
    let later = at + TimeDelta::hours(1);
    let refused = login(
        &record,
        1,
        &totp_code(&secret, later),
        &env.optional(),
        later,
    )
    .unwrap_err();
    assert_eq!(refused.reason, EnrollmentError::Suspended { since: at });
    assert_eq!(
        apply(
            &record,
            Event::StartSetup(SetupChoice::App),
            &env.optional(),
            later
        )
        .unwrap_err(),
        EnrollmentError::Suspended { since: at }
    );
    // A recovery code lifts the suspension.
    let accepted = record
        .verify_login(
            &LoginAttempt::RecoveryCode(code(&codes[0])),
            &tx(),
            &env.optional(),
            later,
        )
        .unwrap();
    assert_eq!(accepted.method, None);
    let (lifted, effects) = accepted.outcome.into_parts();
    assert_eq!(lifted.failures().suspended_since(), None);
    assert!(audits(&effects).contains(&"enrollment.recovery_code_used"));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Notify(Notification {
            notice: Notice::RecoveryCodeUsed { remaining: 9 },
            ..
        })
    )));
    let next = later + secs(30);
    assert!(login(&lifted, 1, &totp_code(&secret, next), &env.optional(), next).is_ok());
    // Or an administrator resets the enrollment.
    let (reset, effects) =
        saved(apply(&record, Event::AdminReset, &env.optional(), later).unwrap());
    assert_eq!(reset.state().kind(), StateKind::NotEnrolled);
    assert_eq!(reset.failures().consecutive(), 0);
    assert_eq!(audits(&effects), ["enrollment.admin_reset"]);
}

#[test]
fn resend_never_resets_the_failure_count() {
    let env = Env::new();
    let (pending, c) = start_sms(&env, t0());
    let (pending, _) = saved(
        apply(
            &pending,
            Event::SubmitCode(code(&wrong_oob(&c))),
            &env.optional(),
            t0(),
        )
        .unwrap(),
    );
    let (after, _, _) = sent(
        apply(
            &pending,
            Event::Resend(ResendOption::Sms),
            &env.optional(),
            t0() + secs(30),
        )
        .unwrap(),
    );
    assert_eq!(after.failures().consecutive(), 1);
    let EnrollmentState::Pending(p) = after.state() else {
        panic!("still pending");
    };
    assert_eq!(p.failed_attempts(), 1);
}

// ---------------------------------------------------------------- recovery codes

#[test]
fn recovery_codes_are_single_use_and_regeneration_replaces_the_set() {
    let env = Env::new();
    let (record, codes) = enrolled_app(&env, t0());
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 19 && c.split('-').count() == 4)
    );
    let at = t0() + secs(60);
    let (used, effects) = saved(
        apply(
            &record,
            Event::UseRecoveryCode(code(&codes[3])),
            &env.optional(),
            at,
        )
        .unwrap(),
    );
    assert!(audits(&effects).contains(&"enrollment.recovery_code_used"));
    assert_eq!(used.summary(at).recovery_codes_remaining, 9);
    // Again: counted as a failure.
    let (again, effects) = saved(
        apply(
            &used,
            Event::UseRecoveryCode(code(&codes[3])),
            &env.optional(),
            at,
        )
        .unwrap(),
    );
    assert_eq!(again.failures().consecutive(), 1);
    assert!(audits(&effects).contains(&"enrollment.recovery_code_rejected"));
    // Regenerate (the recovery code was a fresh second factor).
    let (regenerated, effects) =
        saved(apply(&used, Event::RegenerateRecoveryCodes, &env.optional(), at).unwrap());
    let fresh = recovery_sheet(&effects);
    assert!(fresh.iter().all(|c| !codes.contains(c)));
    let (_, effects) = saved(
        apply(
            &regenerated,
            Event::UseRecoveryCode(code(&codes[0])),
            &env.optional(),
            at,
        )
        .unwrap(),
    );
    assert!(matches!(effects[0], Effect::CodeRejected { .. }));
    let (ok, _) = saved(
        apply(
            &regenerated,
            Event::UseRecoveryCode(code(&fresh[0].to_lowercase())),
            &env.optional(),
            at,
        )
        .unwrap(),
    );
    assert_eq!(ok.summary(at).recovery_codes_remaining, 9);
    // No code leaks into Debug.
    let printed = format!("{effects:?} {regenerated:?}");
    assert!(fresh.iter().all(|c| !printed.contains(c)));
}

// ---------------------------------------------------------------- changes

#[test]
fn number_change_needs_step_up_and_verification_and_notifies() {
    let env = Env::new();
    let record = enrolled_sms(&env, t0());
    let change = |at| {
        apply(
            &record,
            Event::StartNumberChange {
                method: MethodId::new(1),
                phone: PhoneSetup::new(other_mobile(), LineType::Mobile, PhoneChannel::Sms),
            },
            &env.optional(),
            at,
        )
    };
    let fresh_until = t0() + TimeDelta::minutes(10);
    assert_eq!(
        change(fresh_until).unwrap_err(),
        EnrollmentError::StepUpRequired
    );
    assert_eq!(
        change(fresh_until + secs(1)).unwrap_err(),
        EnrollmentError::StepUpRequired
    );
    let at = fresh_until - secs(1);
    let transition = change(at).unwrap();
    let Some(OutboundMessage::Sms(sms)) = transition.message() else {
        panic!("expected an SMS to the new number");
    };
    assert_eq!(sms.to, other_mobile());
    let (changing, effects, c) = sent(transition);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Notify(Notification { notice: Notice::NumberChangeStarted, to, .. })
            if to.contains(&Destination::Phone(mobile()))
    )));
    // The old number stays active until the new one is verified.
    let EnrollmentState::Enrolled(e) = changing.state() else {
        panic!("enrolled");
    };
    let Factor::Phone(phone) = e.method(MethodId::new(1)).unwrap().factor() else {
        panic!("phone");
    };
    assert_eq!(phone.number(), &mobile());
    assert_eq!(
        e.pending_change().unwrap().replaces(),
        Some(MethodId::new(1))
    );

    let done_at = at + secs(30);
    let (changed, effects) = saved(
        apply(
            &changing,
            Event::SubmitCode(code(&c)),
            &env.optional(),
            done_at,
        )
        .unwrap(),
    );
    let EnrollmentState::Enrolled(e) = changed.state() else {
        panic!("enrolled");
    };
    assert!(e.pending_change().is_none());
    let Factor::Phone(phone) = e.method(MethodId::new(1)).unwrap().factor() else {
        panic!("phone");
    };
    assert_eq!(phone.number(), &other_mobile());
    assert!(audits(&effects).contains(&"enrollment.number_changed"));
    let notified = effects
        .iter()
        .find_map(|e| match e {
            Effect::Notify(Notification {
                notice: Notice::NumberChanged,
                to,
                ..
            }) => Some(to.clone()),
            _ => None,
        })
        .unwrap();
    assert!(notified.contains(&Destination::Phone(mobile())));
    assert!(notified.contains(&Destination::Email(email())));
}

#[test]
fn adding_removing_and_choosing_methods() {
    let env = Env::new();
    let (record, _) = enrolled_app(&env, t0());
    let at = t0() + secs(60);
    let (adding, _, c) =
        sent(apply(&record, Event::StartSetup(sms_setup()), &env.optional(), at).unwrap());
    let (two, effects) =
        saved(apply(&adding, Event::SubmitCode(code(&c)), &env.optional(), at).unwrap());
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Notify(Notification {
            notice: Notice::MethodAdded,
            ..
        })
    )));
    assert_eq!(two.summary(at).methods.len(), 2);
    let (primary, _) = saved(
        apply(
            &two,
            Event::SetPrimary(MethodId::new(2)),
            &env.optional(),
            at,
        )
        .unwrap(),
    );
    assert_eq!(primary.summary(at).primary, Some(MethodId::new(2)));
    assert_eq!(
        apply(
            &two,
            Event::SetPrimary(MethodId::new(9)),
            &env.optional(),
            at
        )
        .unwrap_err(),
        EnrollmentError::UnknownMethod {
            id: MethodId::new(9)
        }
    );
    let (one, _) = saved(
        apply(
            &primary,
            Event::RemoveMethod(MethodId::new(2)),
            &env.ctx(REQUIRED),
            at,
        )
        .unwrap(),
    );
    assert_eq!(one.summary(at).primary, Some(MethodId::new(1)));
    assert_eq!(
        apply(
            &one,
            Event::RemoveMethod(MethodId::new(1)),
            &env.ctx(REQUIRED),
            at
        )
        .unwrap_err(),
        EnrollmentError::LastMethodUnderEnforcement
    );
    let (none, _) = saved(
        apply(
            &one,
            Event::RemoveMethod(MethodId::new(1)),
            &env.optional(),
            at,
        )
        .unwrap(),
    );
    assert_eq!(none.state().kind(), StateKind::NotEnrolled);
    // Without a fresh second factor, removal and additions are refused.
    let stale = at + TimeDelta::minutes(10);
    assert_eq!(
        apply(
            &two,
            Event::RemoveMethod(MethodId::new(2)),
            &env.optional(),
            stale
        )
        .unwrap_err(),
        EnrollmentError::StepUpRequired
    );
    assert_eq!(
        apply(
            &two,
            Event::StartSetup(SetupChoice::Push),
            &env.optional(),
            stale
        )
        .unwrap_err(),
        EnrollmentError::StepUpRequired
    );
    let (renamed, _) = saved(
        apply(
            &two,
            Event::ChangeDisplayName(DisplayName::new("Alice B").unwrap()),
            &env.optional(),
            stale,
        )
        .unwrap(),
    );
    assert_eq!(renamed.display_name().as_str(), "Alice B");
}

#[test]
fn sms_login_codes_are_bound_to_the_transaction_and_single_use() {
    let env = Env::new();
    let record = enrolled_sms(&env, t0());
    let at = t0() + TimeDelta::hours(1);
    let dispatch = record
        .send_login_code(
            MethodId::new(1),
            None,
            &tx(),
            &env.optional(),
            at,
            &mut rng(),
        )
        .unwrap();
    let c = dispatch.expose_code().to_owned();
    let (with_code, _) = dispatch.sent().into_parts();
    let other = TransactionId::new("login-2").unwrap();
    let refused = with_code
        .verify_login(
            &LoginAttempt::Code {
                method: MethodId::new(1),
                code: code(&c),
            },
            &other,
            &env.optional(),
            at,
        )
        .unwrap_err();
    assert_eq!(refused.reason, EnrollmentError::NoCodeOutstanding);
    let accepted = login(&with_code, 1, &c, &env.optional(), at).unwrap();
    let (after, effects) = accepted.outcome.into_parts();
    assert_eq!(audits(&effects), ["login.succeeded"]);
    assert_eq!(after.last_second_factor_at(), Some(at));
    assert!(login(&after, 1, &c, &env.optional(), at).is_err());
}

// ---------------------------------------------------------------- push

fn other_number(number: MatchNumber) -> MatchNumber {
    MatchNumber::new(if number.value() == 10 { 11 } else { 10 }).unwrap()
}

#[test]
fn push_setup_is_approved_on_the_paired_device() {
    let env = Env::new();
    let ctx = env.optional();
    let (pending, effects) =
        saved(apply(&record(), Event::StartSetup(SetupChoice::Push), &ctx, t0()).unwrap());
    assert!(effects.iter().any(|e| matches!(e, Effect::ShowKeyUri(_))));
    assert_eq!(
        apply(
            &pending,
            Event::PushResponse(PushResponse::Deny),
            &ctx,
            t0()
        )
        .unwrap_err(),
        EnrollmentError::NoPushOutstanding
    );
    let dispatch = pending
        .send_push(PushTarget::PendingSetup, &tx(), &ctx, t0(), &mut rng())
        .unwrap();
    let number = dispatch.match_number();
    assert!(dispatch.message().choices.contains(&number));
    let (prompted, effects) = dispatch.sent().into_parts();
    assert_eq!(audits(&effects), ["push.sent"]);
    // The wrong number counts as a failed attempt.
    let (denied, effects) = saved(
        apply(
            &prompted,
            Event::PushResponse(PushResponse::Approve {
                number: other_number(number),
            }),
            &ctx,
            t0() + secs(5),
        )
        .unwrap(),
    );
    assert!(matches!(
        effects[0],
        Effect::CodeRejected { attempts_left: 4 }
    ));
    assert_eq!(denied.failures().consecutive(), 1);
    assert_eq!(denied.state().kind(), StateKind::Pending);
    // A fresh prompt, approved with the right number, activates.
    let dispatch = denied
        .send_push(
            PushTarget::PendingSetup,
            &tx(),
            &ctx,
            t0() + secs(10),
            &mut rng(),
        )
        .unwrap();
    let number = dispatch.match_number();
    let (prompted, _) = dispatch.sent().into_parts();
    let (enrolled, effects) = saved(
        apply(
            &prompted,
            Event::PushResponse(PushResponse::Approve { number }),
            &ctx,
            t0() + secs(15),
        )
        .unwrap(),
    );
    assert_eq!(enrolled.summary(t0()).methods[0].kind, MethodKind::Push);
    assert_eq!(enrolled.failures().consecutive(), 0);
    assert!(audits(&effects).contains(&"enrollment.verified"));
    // The token works too.
    let at = t0() + secs(60);
    let c = totp_code(&method_secret(&enrolled, 1), at);
    assert!(login(&enrolled, 1, &c, &ctx, at).is_ok());
}

#[test]
fn push_login_needs_an_approval_for_this_transaction_and_consumes_it() {
    let env = Env::new();
    let ctx = env.optional();
    let pending =
        saved(apply(&record(), Event::StartSetup(SetupChoice::Push), &ctx, t0()).unwrap()).0;
    let c = totp_code(&pending_secret(&pending), t0());
    let enrolled = saved(apply(&pending, Event::SubmitCode(code(&c)), &ctx, t0()).unwrap()).0;
    let at = t0() + TimeDelta::hours(1);
    let push = LoginAttempt::Push {
        method: MethodId::new(1),
    };
    assert_eq!(
        enrolled
            .verify_login(&push, &tx(), &ctx, at)
            .unwrap_err()
            .reason,
        EnrollmentError::NoPushOutstanding
    );
    let dispatch = enrolled
        .send_push(
            PushTarget::Method(MethodId::new(1)),
            &tx(),
            &ctx,
            at,
            &mut rng(),
        )
        .unwrap();
    let number = dispatch.match_number();
    let (prompted, _) = dispatch.sent().into_parts();
    assert_eq!(
        prompted
            .verify_login(&push, &tx(), &ctx, at)
            .unwrap_err()
            .reason,
        EnrollmentError::PushPending
    );
    // The prompt lives two minutes: an answer at expiry is refused.
    let expiry = at + TimeDelta::minutes(2);
    assert_eq!(
        apply(
            &prompted,
            Event::PushResponse(PushResponse::Approve { number }),
            &ctx,
            expiry
        )
        .unwrap_err(),
        EnrollmentError::PendingExpired { expired_at: expiry }
    );
    let answered = saved(
        apply(
            &prompted,
            Event::PushResponse(PushResponse::Approve { number }),
            &ctx,
            expiry - secs(1),
        )
        .unwrap(),
    )
    .0;
    let other = TransactionId::new("login-2").unwrap();
    assert_eq!(
        answered
            .verify_login(&push, &other, &ctx, expiry - secs(1))
            .unwrap_err()
            .reason,
        EnrollmentError::NoPushOutstanding
    );
    let accepted = answered
        .verify_login(&push, &tx(), &ctx, expiry - secs(1))
        .unwrap();
    let (after, _) = accepted.outcome.into_parts();
    assert_eq!(after.last_second_factor_at(), Some(expiry - secs(1)));
    assert_eq!(
        after
            .verify_login(&push, &tx(), &ctx, expiry - secs(1))
            .unwrap_err()
            .reason,
        EnrollmentError::NoPushOutstanding
    );
    // A denial is a counted failure.
    let dispatch = after
        .send_push(
            PushTarget::Method(MethodId::new(1)),
            &tx(),
            &ctx,
            expiry,
            &mut rng(),
        )
        .unwrap();
    let (prompted, _) = dispatch.sent().into_parts();
    let (denied, effects) = saved(
        apply(
            &prompted,
            Event::PushResponse(PushResponse::Deny),
            &ctx,
            expiry,
        )
        .unwrap(),
    );
    assert_eq!(denied.failures().consecutive(), 1);
    assert_eq!(audits(&effects), ["login.failed"]);
    assert_eq!(
        denied
            .verify_login(&push, &tx(), &ctx, expiry)
            .unwrap_err()
            .reason,
        EnrollmentError::PushDenied
    );
}

// ---------------------------------------------------------------- sealing

#[test]
fn sealing_round_trips_and_detects_tampering_and_moves() {
    let env = Env::new();
    let mut r = rng();
    let sealer = XChaChaSealer::generate(&mut r);
    let (record, _) = enrolled_app(&env, t0());
    let secret = method_secret(&record, 1);
    let sealed = record.seal(&sealer, &mut r).unwrap();
    let printed = format!("{sealed:?}");
    assert!(!printed.contains(&secret.to_base32()[..]));
    let opened = sealed.open(&sealer).unwrap();
    assert!(method_secret(&opened, 1).ct_eq(&secret));
    assert_eq!(opened.failures(), record.failures());
    // The wrong key fails.
    let other = XChaChaSealer::generate(&mut r);
    assert_eq!(sealed.open(&other).unwrap_err(), SealError::Open);
    // Pending secrets are sealed too.
    let pending = start_app(&env, t0());
    let reopened = pending
        .seal(&sealer, &mut r)
        .unwrap()
        .open(&sealer)
        .unwrap();
    assert!(pending_secret(&reopened).ct_eq(&pending_secret(&pending)));
    assert_eq!(
        XChaChaSealer::from_bytes(&[0; 31]).unwrap_err(),
        SealError::KeyLength { expected: 32 }
    );
}

#[cfg(feature = "serde")]
#[test]
fn serialised_records_hold_no_raw_secret_and_tampering_fails() {
    let env = Env::new();
    let mut r = rng();
    let sealer = XChaChaSealer::from_bytes(&[9; 32]).unwrap();
    let (record, codes) = enrolled_app(&env, t0());
    let secret = method_secret(&record, 1);
    let json = serde_json::to_string(&record.seal(&sealer, &mut r).unwrap()).unwrap();
    assert!(!json.contains(&secret.to_base32()[..]));
    assert!(!json.contains(&codes[0]));
    let back: SealedEnrollment = serde_json::from_str(&json).unwrap();
    assert!(method_secret(&back.open(&sealer).unwrap(), 1).ct_eq(&secret));
    // Flip one hex digit of the ciphertext.
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let sealed = value["state"]["Enrolled"]["methods"][0]["factor"]["App"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut chars: Vec<char> = sealed.chars().collect();
    chars[60] = if chars[60] == '0' { '1' } else { '0' };
    value["state"]["Enrolled"]["methods"][0]["factor"]["App"]["secret"] =
        serde_json::Value::String(chars.into_iter().collect());
    let tampered: SealedEnrollment = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(tampered.open(&sealer).unwrap_err(), SealError::Open);
    // Move the ciphertext to another user.
    let mut moved: serde_json::Value = serde_json::from_str(&json).unwrap();
    moved["user"] = serde_json::Value::String("user-2".to_owned());
    let moved: SealedEnrollment = serde_json::from_value(moved).unwrap();
    assert_eq!(moved.open(&sealer).unwrap_err(), SealError::Open);
}

/// A generator with a fixed seed: the codes and the serialised records of
/// the phone sealing tests are the same on every run.
fn seeded(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Records holding phone numbers, sealed by the tests below.
struct PhoneRecords {
    /// A first SMS set-up awaiting its code.
    pending: Enrollment,
    pending_code: String,
    /// The SMS method activated with that code.
    enrolled: Enrollment,
    /// The same user with a login code outstanding.
    login: Enrollment,
    login_code: String,
    /// The same user changing the number, the login code still outstanding.
    change: Enrollment,
    change_code: String,
}

fn phone_records(env: &Env) -> PhoneRecords {
    let ctx = env.optional();
    let send = |record: &Enrollment, event: Event, at: DateTime<Utc>, seed: u64| {
        let transition = record.apply(event, &ctx, at, &mut seeded(seed)).unwrap();
        let (record, _, code) = sent(transition);
        (record, code)
    };
    let (pending, pending_code) = send(&record(), Event::StartSetup(sms_setup()), t0(), 11);
    let enrolled = saved(
        pending
            .apply(
                Event::SubmitCode(code(&pending_code)),
                &ctx,
                t0(),
                &mut seeded(12),
            )
            .unwrap(),
    )
    .0;
    let dispatch = enrolled
        .send_login_code(
            MethodId::new(1),
            None,
            &tx(),
            &ctx,
            t0() + secs(60),
            &mut seeded(13),
        )
        .unwrap();
    let login_code = dispatch.expose_code().to_owned();
    let login = dispatch.sent().into_parts().0;
    let (change, change_code) = send(
        &login,
        Event::StartNumberChange {
            method: MethodId::new(1),
            phone: PhoneSetup::new(other_mobile(), LineType::Mobile, PhoneChannel::Sms),
        },
        t0() + secs(120),
        14,
    );
    PhoneRecords {
        pending,
        pending_code,
        enrolled,
        login,
        login_code,
        change,
        change_code,
    }
}

/// The digit strings no stored record may contain: both numbers in E.164
/// digits and as national significant numbers (country code 44 removed).
const NUMBER_DIGITS: [&str; 4] = ["447400123456", "7400123456", "447400654321", "7400654321"];

/// Seals twice with the same generator: equal results mean every sealed
/// plaintext is equal too (same key, nonce and plaintext give the same
/// ciphertext), so the opened record is exactly the original.
fn assert_seals_exactly(record: &Enrollment, sealer: &XChaChaSealer) -> SealedEnrollment {
    let sealed = record.seal(sealer, &mut seeded(99)).unwrap();
    let reopened = sealed.open(sealer).unwrap();
    assert_eq!(reopened.seal(sealer, &mut seeded(99)).unwrap(), sealed);
    sealed
}

#[test]
fn phone_records_round_trip_exactly_and_keep_working() {
    let env = Env::new();
    let ctx = env.optional();
    let sealer = XChaChaSealer::from_bytes(&[7; 32]).unwrap();
    let records = phone_records(&env);
    let all = [
        &records.pending,
        &records.enrolled,
        &records.login,
        &records.change,
    ];
    for record in all {
        let sealed = assert_seals_exactly(record, &sealer);
        // Debug shows only masked numbers.
        let printed = format!("{sealed:?}");
        assert!(printed.contains(&mobile().masked()), "{printed}");
        for digits in NUMBER_DIGITS {
            assert!(!printed.contains(digits), "{printed}");
        }
    }
    let open = |record: &Enrollment| {
        record
            .seal(&sealer, &mut rng())
            .unwrap()
            .open(&sealer)
            .unwrap()
    };
    // The opened set-up takes its code and activates the number.
    let enrolled = saved(
        open(&records.pending)
            .apply(
                Event::SubmitCode(code(&records.pending_code)),
                &ctx,
                t0(),
                &mut rng(),
            )
            .unwrap(),
    )
    .0;
    let EnrollmentState::Enrolled(e) = enrolled.state() else {
        panic!("enrolled");
    };
    let Factor::Phone(phone) = e.method(MethodId::new(1)).unwrap().factor() else {
        panic!("phone");
    };
    assert_eq!(phone.number(), &mobile());
    // The opened login challenge takes its code, once.
    let at = t0() + secs(90);
    let accepted = login(&open(&records.login), 1, &records.login_code, &ctx, at).unwrap();
    let after = open(&accepted.outcome.into_parts().0);
    assert!(login(&after, 1, &records.login_code, &ctx, at).is_err());
    // The opened change takes its code and moves the method to the new number.
    let changed = saved(
        open(&records.change)
            .apply(
                Event::SubmitCode(code(&records.change_code)),
                &ctx,
                t0() + secs(150),
                &mut rng(),
            )
            .unwrap(),
    )
    .0;
    let EnrollmentState::Enrolled(e) = changed.state() else {
        panic!("enrolled");
    };
    let Factor::Phone(phone) = e.method(MethodId::new(1)).unwrap().factor() else {
        panic!("phone");
    };
    assert_eq!(phone.number(), &other_mobile());
}

#[cfg(feature = "serde")]
fn json_of(record: &Enrollment, sealer: &XChaChaSealer) -> serde_json::Value {
    serde_json::to_value(record.seal(sealer, &mut seeded(5)).unwrap()).unwrap()
}

#[cfg(feature = "serde")]
fn open_json(value: &serde_json::Value, sealer: &XChaChaSealer) -> Result<Enrollment, SealError> {
    serde_json::from_value::<SealedEnrollment>(value.clone())
        .unwrap()
        .open(sealer)
}

#[cfg(feature = "serde")]
#[test]
fn serialised_phone_records_hold_no_number_and_no_code() {
    let env = Env::new();
    let sealer = XChaChaSealer::from_bytes(&[9; 32]).unwrap();
    let records = phone_records(&env);
    let codes = [
        &records.pending_code,
        &records.login_code,
        &records.change_code,
    ];
    let cases = [
        ("enrolled SMS method", &records.enrolled),
        ("pending SMS set-up", &records.pending),
        ("login code outstanding", &records.login),
        ("change of number pending", &records.change),
    ];
    for (case, record) in cases {
        let sealed = record.seal(&sealer, &mut seeded(5)).unwrap();
        let json = serde_json::to_string(&sealed).unwrap();
        for digits in NUMBER_DIGITS {
            assert!(!json.contains(digits), "{case}: {json}");
        }
        for code in codes {
            assert!(!json.contains(code.as_str()), "{case}: {json}");
        }
        // Only the masked form is readable, for reports and admin views.
        assert!(json.contains(&mobile().masked()), "{case}: {json}");
        // The JSON round trip is exact.
        let back: SealedEnrollment = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sealed, "{case}");
        assert_seals_exactly(&back.open(&sealer).unwrap(), &sealer);
    }
    let change =
        serde_json::to_string(&records.change.seal(&sealer, &mut seeded(5)).unwrap()).unwrap();
    assert!(change.contains(&other_mobile().masked()), "{change}");
}

#[cfg(feature = "serde")]
#[test]
fn sealed_numbers_and_challenges_do_not_open_elsewhere() {
    use serde_json::Value;

    let env = Env::new();
    let sealer = XChaChaSealer::from_bytes(&[9; 32]).unwrap();
    let records = phone_records(&env);
    let enrolled = json_of(&records.enrolled, &sealer);
    let pending = json_of(&records.pending, &sealer);
    let login = json_of(&records.login, &sealer);
    let change = json_of(&records.change, &sealer);
    let method_number = "/state/Enrolled/methods/0/factor/Phone/number/sealed";
    let change_kind = "/state/Enrolled/change/kind/Phone";
    let login_challenge = "/state/Enrolled/login_challenge";
    let at = |value: &Value, path: &str| value.pointer(path).unwrap().clone();
    let with = |value: &Value, path: &str, new: Value| {
        let mut value = value.clone();
        *value.pointer_mut(path).unwrap() = new;
        value
    };
    for value in [&enrolled, &pending, &login, &change] {
        assert!(open_json(value, &sealer).is_ok());
    }

    // The same field of the same user opens in another record of theirs.
    let copied = with(&login, method_number, at(&enrolled, method_number));
    assert!(open_json(&copied, &sealer).is_ok());
    // Another user: the enrolled SMS record holds no sealed field but the
    // number, the pending one none but the number and the challenge.
    for value in [&enrolled, &pending] {
        let moved = with(value, "/user", Value::String("user-2".to_owned()));
        assert_eq!(open_json(&moved, &sealer).unwrap_err(), SealError::Open);
    }
    // Another field of the same user.
    let moves = [
        // method/1/number -> change/number
        (
            &change,
            format!("{change_kind}/number/sealed"),
            at(&change, method_number),
        ),
        // change/number -> method/1/number
        (
            &change,
            method_number.to_owned(),
            at(&change, &format!("{change_kind}/number/sealed")),
        ),
        // pending/number -> change/number
        (
            &change,
            format!("{change_kind}/number/sealed"),
            at(&pending, "/state/Pending/kind/Phone/number/sealed"),
        ),
        // pending/challenge -> change/challenge
        (
            &change,
            format!("{change_kind}/challenge"),
            at(&pending, "/state/Pending/kind/Phone/challenge"),
        ),
        // login/challenge -> change/challenge
        (
            &change,
            format!("{change_kind}/challenge"),
            at(&change, login_challenge),
        ),
        // change/challenge -> login/challenge
        (
            &change,
            login_challenge.to_owned(),
            at(&change, &format!("{change_kind}/challenge")),
        ),
        // change/challenge -> pending/challenge
        (
            &pending,
            "/state/Pending/kind/Phone/challenge".to_owned(),
            at(&change, &format!("{change_kind}/challenge")),
        ),
    ];
    for (value, path, moved) in moves {
        let tampered = with(value, &path, moved);
        assert_eq!(
            open_json(&tampered, &sealer).unwrap_err(),
            SealError::Open,
            "{path}"
        );
    }
    // One flipped hex digit.
    for path in [method_number, login_challenge] {
        let Value::String(hex) = at(&login, path) else {
            panic!("hex string at {path}");
        };
        let mut chars: Vec<char> = hex.chars().collect();
        chars[60] = if chars[60] == '0' { '1' } else { '0' };
        let tampered = with(&login, path, Value::String(chars.into_iter().collect()));
        assert_eq!(open_json(&tampered, &sealer).unwrap_err(), SealError::Open);
    }
    // The masked form is for display only: an edited one is ignored on
    // open and rewritten from the number at the next seal.
    let masked = "/state/Enrolled/methods/0/factor/Phone/number/masked";
    let edited = with(
        &enrolled,
        masked,
        Value::String("+1 ••• ••• 0000".to_owned()),
    );
    let resealed = json_of(&open_json(&edited, &sealer).unwrap(), &sealer);
    assert_eq!(at(&resealed, masked), Value::String(mobile().masked()));
}

// ---------------------------------------------------------------- the table

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Save,
    Send,
    Err(EnrollmentError),
}

fn outcome_of(result: Result<Transition, EnrollmentError>) -> Expect {
    match result {
        Ok(Transition::Save(_)) => Expect::Save,
        Ok(Transition::Send(_)) => Expect::Send,
        Err(e) => Expect::Err(e),
    }
}

fn all_events() -> Vec<Event> {
    vec![
        Event::StartSetup(SetupChoice::App),
        Event::SubmitCode(code("abc")),
        Event::Resend(ResendOption::Sms),
        Event::Defer,
        Event::Cancel,
        Event::ChangeDisplayName(DisplayName::new("Bob").unwrap()),
        Event::StartNumberChange {
            method: MethodId::new(1),
            phone: PhoneSetup::new(other_mobile(), LineType::Mobile, PhoneChannel::Sms),
        },
        Event::RemoveMethod(MethodId::new(1)),
        Event::SetPrimary(MethodId::new(1)),
        Event::RegenerateRecoveryCodes,
        Event::UseRecoveryCode(code("abc")),
        Event::AdminReset,
        Event::PushResponse(PushResponse::Deny),
    ]
}

#[test]
fn every_state_event_pair_has_its_expected_result() {
    use EnrollmentError as E;
    use Expect::{Err, Save, Send};
    let env = Env::new();
    let now = t0() + secs(60);
    let deferred = saved(apply(&record(), Event::Defer, &env.optional(), t0()).unwrap()).0;
    let until = t0() + TimeDelta::hours(48);
    let pending_app = start_app(&env, t0());
    let pending_sms = start_sms(&env, t0()).0;
    let enrolled = enrolled_sms(&env, t0());
    let changing = sent(
        apply(
            &enrolled,
            Event::StartNumberChange {
                method: MethodId::new(1),
                phone: PhoneSetup::new(other_mobile(), LineType::Mobile, PhoneChannel::Sms),
            },
            &env.optional(),
            t0(),
        )
        .unwrap(),
    )
    .0;
    let fresh = record();
    let not_allowed = |state, event| Err(E::NotAllowed { state, event });
    let ne = StateKind::NotEnrolled;
    let de = StateKind::Deferred;
    let en = StateKind::Enrolled;
    let pe = StateKind::Pending;
    let _ = pe;
    // Columns: StartSetup(App), SubmitCode(malformed), Resend(Sms), Defer,
    // Cancel, ChangeDisplayName, StartNumberChange, RemoveMethod, SetPrimary,
    // RegenerateRecoveryCodes, UseRecoveryCode(malformed), AdminReset,
    // PushResponse(Deny).
    let table: Vec<(&str, &Enrollment, [Expect; 13])> = vec![
        (
            "not enrolled",
            &fresh,
            [
                Save,
                not_allowed(ne, EventKind::SubmitCode),
                not_allowed(ne, EventKind::Resend),
                Save,
                not_allowed(ne, EventKind::Cancel),
                Save,
                not_allowed(ne, EventKind::StartNumberChange),
                not_allowed(ne, EventKind::RemoveMethod),
                not_allowed(ne, EventKind::SetPrimary),
                not_allowed(ne, EventKind::RegenerateRecoveryCodes),
                not_allowed(ne, EventKind::UseRecoveryCode),
                Save,
                not_allowed(ne, EventKind::PushResponse),
            ],
        ),
        (
            "deferred",
            &deferred,
            [
                Save,
                not_allowed(de, EventKind::SubmitCode),
                not_allowed(de, EventKind::Resend),
                Err(E::AlreadyDeferred { until }),
                not_allowed(de, EventKind::Cancel),
                Save,
                not_allowed(de, EventKind::StartNumberChange),
                not_allowed(de, EventKind::RemoveMethod),
                not_allowed(de, EventKind::SetPrimary),
                not_allowed(de, EventKind::RegenerateRecoveryCodes),
                not_allowed(de, EventKind::UseRecoveryCode),
                Save,
                not_allowed(de, EventKind::PushResponse),
            ],
        ),
        (
            "pending app",
            &pending_app,
            [
                Save,
                Err(E::MalformedCode),
                Err(E::ResendNotApplicable),
                Save,
                Save,
                Save,
                not_allowed(pe, EventKind::StartNumberChange),
                not_allowed(pe, EventKind::RemoveMethod),
                not_allowed(pe, EventKind::SetPrimary),
                not_allowed(pe, EventKind::RegenerateRecoveryCodes),
                not_allowed(pe, EventKind::UseRecoveryCode),
                Save,
                Err(E::NoPushOutstanding),
            ],
        ),
        (
            "pending sms",
            &pending_sms,
            [
                Save,
                Err(E::MalformedCode),
                Send,
                Save,
                Save,
                Save,
                not_allowed(pe, EventKind::StartNumberChange),
                not_allowed(pe, EventKind::RemoveMethod),
                not_allowed(pe, EventKind::SetPrimary),
                not_allowed(pe, EventKind::RegenerateRecoveryCodes),
                not_allowed(pe, EventKind::UseRecoveryCode),
                Save,
                Err(E::NoPushOutstanding),
            ],
        ),
        (
            "enrolled",
            &enrolled,
            [
                Save,
                not_allowed(en, EventKind::SubmitCode),
                not_allowed(en, EventKind::Resend),
                not_allowed(en, EventKind::Defer),
                not_allowed(en, EventKind::Cancel),
                Save,
                Send,
                Save,
                Save,
                Save,
                Err(E::MalformedCode),
                Save,
                Err(E::NoPushOutstanding),
            ],
        ),
        (
            "enrolled, changing number",
            &changing,
            [
                Save,
                Err(E::MalformedCode),
                Send,
                not_allowed(en, EventKind::Defer),
                Save,
                Save,
                Send,
                Save,
                Save,
                Save,
                Err(E::MalformedCode),
                Save,
                Err(E::NoPushOutstanding),
            ],
        ),
    ];
    for (name, state, expected) in &table {
        for (event, want) in all_events().into_iter().zip(expected) {
            let kind = event.kind();
            let got = outcome_of(apply(state, event, &env.optional(), now));
            assert_eq!(got, *want, "state {name}, event {kind:?}");
        }
    }
    // Under enforcement only deferral and removal of the last method change.
    for (name, state, expected) in &table {
        for (event, want) in all_events().into_iter().zip(expected) {
            let kind = event.kind();
            let want = match (kind, *want) {
                (EventKind::Defer, Save) => Err(E::DeferralUnavailable),
                (EventKind::RemoveMethod, Save) => Err(E::LastMethodUnderEnforcement),
                (_, other) => other,
            };
            let got = outcome_of(apply(state, event, &env.ctx(REQUIRED), now));
            assert_eq!(got, want, "enforced: state {name}, event {kind:?}");
        }
    }
}

// ---------------------------------------------------------------- policy values

#[test]
fn policy_values_are_validated() {
    assert!(
        EnrollmentPolicy::default()
            .with_deferral(TimeDelta::zero())
            .is_err()
    );
    assert!(EnrollmentPolicy::default().with_max_wrong_codes(0).is_err());
    assert_eq!(
        ThrottlePolicy::default()
            .with_suspend_after(101)
            .unwrap_err(),
        PolicyError::SuspensionThresholdTooHigh {
            failures: 101,
            max: 100
        }
    );
    assert!(
        ThrottlePolicy::default()
            .with_delays(secs(10), secs(5))
            .is_err()
    );
    assert!(DisplayName::new("a:b").is_err());
    assert!(DisplayName::new(" a").is_err());
    assert!(DisplayName::new("").is_err());
    let policy = EnrollmentPolicy::default();
    assert_eq!(policy.deferral(), TimeDelta::hours(48));
    assert_eq!(policy.challenge().lifetime(), TimeDelta::minutes(10));
    assert_eq!(policy.app_pending_lifetime(), TimeDelta::minutes(30));
    assert_eq!(policy.max_wrong_codes(), 5);
    assert_eq!(policy.step_up_freshness(), TimeDelta::minutes(10));
    let _ = (ChallengePolicy::default(), CodeChannel::Sms);
}

// ---------------------------------------------------------------- proptest

#[derive(Debug, Clone)]
enum Op {
    StartApp,
    StartSms,
    StartLandline(bool),
    SubmitRight,
    SubmitWrong,
    Resend(u8),
    Defer,
    Cancel,
    Advance(u32),
    Remove,
    Reset,
    RecoverRight,
    RecoverWrong,
    LoginRight,
    LoginWrong,
    LoginReplay,
    StartPush,
    SendPush(bool),
    PushAnswer(bool),
    Enforce(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::StartApp),
        1 => Just(Op::StartSms),
        1 => any::<bool>().prop_map(Op::StartLandline),
        3 => Just(Op::SubmitRight),
        2 => Just(Op::SubmitWrong),
        1 => (0u8..4).prop_map(Op::Resend),
        1 => Just(Op::Defer),
        1 => Just(Op::Cancel),
        2 => (0u32..200_000).prop_map(Op::Advance),
        1 => Just(Op::Remove),
        1 => Just(Op::Reset),
        1 => Just(Op::RecoverRight),
        1 => Just(Op::RecoverWrong),
        2 => Just(Op::LoginRight),
        2 => Just(Op::LoginWrong),
        1 => Just(Op::LoginReplay),
        1 => Just(Op::StartPush),
        1 => any::<bool>().prop_map(Op::SendPush),
        2 => any::<bool>().prop_map(Op::PushAnswer),
        1 => any::<bool>().prop_map(Op::Enforce),
    ]
}

struct Model {
    record: Enrollment,
    enforcement: Enforcement,
    now: DateTime<Utc>,
    last_code: Option<String>,
    recovery: Vec<String>,
    burned: Option<(String, DateTime<Utc>)>,
    push_number: Option<MatchNumber>,
}

fn right_code(model: &Model) -> Option<String> {
    let pending = match model.record.state() {
        EnrollmentState::Pending(p) => p,
        EnrollmentState::Enrolled(e) => e.pending_change()?,
        _ => return None,
    };
    match pending.kind() {
        PendingKind::App { secret } | PendingKind::Push { secret, .. } => {
            Some(totp_code(secret, model.now))
        }
        PendingKind::Phone { .. } => model.last_code.clone(),
        _ => None,
    }
}

fn step(model: &mut Model, op: &Op, env: &Env, r: &mut StdRng) {
    let ctx = env.ctx(model.enforcement);
    let before = model.record.clone();
    let was_enrolled = before.state().kind() == StateKind::Enrolled;
    let mut submitted_right = false;
    let result = match op {
        Op::Advance(s) => {
            model.now += secs(i64::from(*s));
            return;
        }
        Op::Enforce(on) => {
            // Enforcement never turns off once on.
            if *on {
                model.enforcement = REQUIRED;
            }
            return;
        }
        Op::StartApp => model
            .record
            .apply(Event::StartSetup(SetupChoice::App), &ctx, model.now, r),
        Op::StartSms => model
            .record
            .apply(Event::StartSetup(sms_setup()), &ctx, model.now, r),
        Op::StartLandline(answered) => {
            let mut setup = PhoneSetup::new(
                mobile(),
                LineType::NotMobile(NotMobileKind::FixedLine),
                PhoneChannel::Sms,
            );
            if *answered {
                setup = setup.with_answer(NotMobileAnswer::ContinueWithVoice);
            }
            model.record.apply(
                Event::StartSetup(SetupChoice::Phone(setup)),
                &ctx,
                model.now,
                r,
            )
        }
        Op::SubmitRight => {
            let Some(c) = right_code(model) else { return };
            submitted_right = true;
            model
                .record
                .apply(Event::SubmitCode(code(&c)), &ctx, model.now, r)
        }
        Op::SubmitWrong => {
            let c = match right_code(model) {
                Some(c) => {
                    let secret = match model.record.state() {
                        EnrollmentState::Pending(p) => match p.kind() {
                            PendingKind::App { secret } => Some(secret.clone()),
                            _ => None,
                        },
                        _ => None,
                    };
                    match secret {
                        Some(s) => wrong_totp(&s, model.now),
                        None => wrong_oob(&c),
                    }
                }
                None => "123456".to_owned(),
            };
            model
                .record
                .apply(Event::SubmitCode(code(&c)), &ctx, model.now, r)
        }
        Op::Resend(n) => {
            let option = [
                ResendOption::Sms,
                ResendOption::Voice,
                ResendOption::Email,
                ResendOption::App,
            ][usize::from(*n)];
            let result = model
                .record
                .apply(Event::Resend(option), &ctx, model.now, r);
            if let Ok(t) = &result {
                let after = match t {
                    Transition::Save(o) => o.record().failures().consecutive(),
                    Transition::Send(_) => before.failures().consecutive(),
                };
                assert!(
                    after >= before.failures().consecutive(),
                    "a re-send lowered the failure count"
                );
            }
            result
        }
        Op::StartPush => {
            model
                .record
                .apply(Event::StartSetup(SetupChoice::Push), &ctx, model.now, r)
        }
        Op::SendPush(login) => {
            let target = if *login {
                PushTarget::Method(MethodId::new(1))
            } else {
                PushTarget::PendingSetup
            };
            if let Ok(dispatch) = model.record.send_push(target, &tx(), &ctx, model.now, r) {
                model.push_number = Some(dispatch.match_number());
                let (next, _) = dispatch.sent().into_parts();
                assert_eq!(next.failures(), before.failures());
                model.record = next;
            }
            return;
        }
        Op::PushAnswer(right) => {
            let Some(number) = model.push_number else {
                return;
            };
            let number = if *right { number } else { other_number(number) };
            submitted_right = *right;
            model.record.apply(
                Event::PushResponse(PushResponse::Approve { number }),
                &ctx,
                model.now,
                r,
            )
        }
        Op::Defer => model.record.apply(Event::Defer, &ctx, model.now, r),
        Op::Cancel => model.record.apply(Event::Cancel, &ctx, model.now, r),
        Op::Remove => model
            .record
            .apply(Event::RemoveMethod(MethodId::new(1)), &ctx, model.now, r),
        Op::Reset => model.record.apply(Event::AdminReset, &ctx, model.now, r),
        Op::RecoverRight | Op::RecoverWrong => {
            let c = match (op, model.recovery.first()) {
                (Op::RecoverRight, Some(c)) => c.clone(),
                _ => "AAAA-AAAA-AAAA-AAAA".to_owned(),
            };
            model
                .record
                .apply(Event::UseRecoveryCode(code(&c)), &ctx, model.now, r)
        }
        Op::LoginRight | Op::LoginWrong | Op::LoginReplay => {
            let EnrollmentState::Enrolled(e) = model.record.state() else {
                return;
            };
            let Some(method) = e.methods().iter().find(|m| m.factor().totp().is_some()) else {
                return;
            };
            let secret = method.factor().totp().unwrap().expose_secret().clone();
            let id = method.id();
            let (c, at) = match op {
                Op::LoginRight => (totp_code(&secret, model.now), model.now),
                Op::LoginWrong => (wrong_totp(&secret, model.now), model.now),
                _ => match &model.burned {
                    Some((c, at)) => (c.clone(), *at),
                    None => return,
                },
            };
            if at != model.now && matches!(op, Op::LoginReplay) {
                // Replays only within the window of the burned code.
                if model.now - at > secs(30) {
                    return;
                }
            }
            let attempt = LoginAttempt::Code {
                method: id,
                code: code(&c),
            };
            match model.record.verify_login(&attempt, &tx(), &ctx, model.now) {
                Ok(accepted) => {
                    assert!(
                        !matches!(op, Op::LoginReplay),
                        "a burned step verified again"
                    );
                    assert!(!matches!(op, Op::LoginWrong), "a wrong code verified");
                    model.burned = Some((c, model.now));
                    model.record = accepted.outcome.into_parts().0;
                }
                Err(rejected) => {
                    if let Some(outcome) = rejected.outcome {
                        let (next, _) = outcome.into_parts();
                        assert!(
                            next.failures().consecutive() > before.failures().consecutive()
                                || next.failures().consecutive() == u32::MAX
                        );
                        model.record = next;
                    }
                }
            }
            return;
        }
    };
    let Ok(transition) = result else { return };
    let (next, effects) = match transition {
        Transition::Save(o) => o.into_parts(),
        Transition::Send(d) => {
            model.last_code = Some(d.expose_code().to_owned());
            d.sent().into_parts()
        }
    };
    if let Some(sheet) = effects.iter().find_map(|e| match e {
        Effect::ShowRecoveryCodes(s) => {
            Some(s.expose_secret().map(str::to_owned).collect::<Vec<_>>())
        }
        _ => None,
    }) {
        model.recovery = sheet;
    }
    if matches!(op, Op::RecoverRight)
        && next.failures().consecutive() == 0
        && !model.recovery.is_empty()
    {
        model.recovery.remove(0);
    }
    // Never enrolled without a verified code.
    if !was_enrolled && next.state().kind() == StateKind::Enrolled {
        assert!(submitted_right, "enrolled by {op:?}");
        assert!(audits(&effects).contains(&"enrollment.verified"));
    }
    // Deferral never granted under enforcement nor beyond the cap.
    if next.deferrals_used() > before.deferrals_used() {
        assert_eq!(model.enforcement, OPTIONAL);
        assert!(next.deferrals_used() <= 3);
        assert!(matches!(next.state(), EnrollmentState::Deferred { .. }));
    }
    assert!(next.deferrals_used() <= 3);
    // Nothing printable holds a full number or a code.
    let printed = format!("{effects:?} {next:?}");
    assert!(!printed.contains("7400123456"));
    if let Some(c) = &model.last_code {
        assert!(!printed.contains(&format!("\"{c}\"")));
    }
    model.record = next;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn random_event_sequences_keep_the_invariants(ops in proptest::collection::vec(op(), 1..40), seed in any::<u64>()) {
        let env = Env::new();
        let mut r = StdRng::seed_from_u64(seed);
        let mut model = Model {
            record: record(),
            enforcement: OPTIONAL,
            now: t0(),
            last_code: None,
            recovery: Vec::new(),
            burned: None,
            push_number: None,
        };
        for op in &ops {
            step(&mut model, op, &env, &mut r);
        }
    }
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Enrollment>();
    check::<SealedEnrollment>();
    check::<Transition>();
    check::<Dispatch>();
    check::<PushDispatch>();
    check::<Effect>();
    check::<Event>();
    check::<EnrollmentError>();
    check::<LoginAccepted>();
    check::<LoginRejected>();
    check::<XChaChaSealer>();
    check::<Context<'static>>();
    check::<EnrollmentSummary>();
    check::<RecoveryCodeSheet>();
    assert_eq!(
        format!("{:?}", XChaChaSealer::from_bytes(&[1; 32]).unwrap()),
        "XChaChaSealer([REDACTED])"
    );
}
