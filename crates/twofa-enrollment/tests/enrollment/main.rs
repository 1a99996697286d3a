//! Integration tests of the enrollment state machine through its public API.
//!
//! This file holds the fixtures and helpers shared by the topic modules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail the test on unexpected results"
)]

mod changes;
mod login;
mod passkey;
mod push;
mod recovery;
mod sequences;
mod setup;
mod table;
mod throttle;
mod types;

use std::net::IpAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use twofa_delivery::{
    ChallengePolicy, Destination, EmailAddress, Issuer, LineType, MatchNumber, MessageTemplates,
    NotMobileKind, Notice, OutboundMessage, PhoneNumber, PushResponse, ResendOption, ServerKey,
    TransactionId, UnknownReason,
};
use twofa_enrollment::*;
use twofa_otp::{Algorithm, Secret, Totp};
use twofa_types::{CodeChannel, CodeInputError, EnrollmentStatus, Method, OneTimeCode, UserId};

struct Env {
    key: ServerKey,
    issuer: Issuer,
    templates: MessageTemplates,
    policy: EnrollmentPolicy,
    rp: twofa_passkey::RelyingParty,
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
            rp: twofa_passkey::RelyingParty::new(
                "example.com",
                "Example Portal",
                [twofa_passkey::Origin::https(PORTAL_ORIGIN).unwrap()],
            )
            .unwrap(),
        }
    }

    /// The context of an optional company, with passkeys configured.
    fn passkeys(&self) -> Context<'_> {
        self.optional().with_passkeys(&self.rp)
    }

    fn ctx(&self, last_method: LastMethod) -> Context<'_> {
        Context::new(
            last_method,
            &self.policy,
            &self.key,
            &self.templates,
            &self.issuer,
        )
    }

    /// The context of a company that leaves 2FA optional: the last method
    /// may be removed.
    fn optional(&self) -> Context<'_> {
        self.ctx(REMOVABLE)
    }
}

/// The portal's origin, the one passkeys are registered for.
const PORTAL_ORIGIN: &str = "https://login.example.com";

/// The company leaves 2FA optional.
const REMOVABLE: LastMethod = LastMethod::Removable;
/// The company requires 2FA: the last method is kept.
const KEPT: LastMethod = LastMethod::Kept;

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

/// A one-time code as the edge parses it (the text must parse).
fn code(text: &str) -> OneTimeCode {
    OneTimeCode::parse(text).unwrap()
}

/// A recovery code as typed.
fn recovery_code(text: &str) -> SubmittedCode {
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
        Transition::Save(outcome) | Transition::LoginRefused { outcome, .. } => {
            outcome.into_parts()
        }
        Transition::LoginAccepted(accepted) => accepted.outcome.into_parts(),
        other => panic!("expected a transition without a send, got {other:?}"),
    }
}

fn sent(transition: Transition) -> (Enrollment, Vec<Effect>, String) {
    match transition {
        Transition::Send(dispatch) => {
            let code = dispatch.expose_code().to_owned();
            let (record, effects) = dispatch.sent().into_parts();
            (record, effects, code)
        }
        other => panic!("expected a send, got {other:?}"),
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

/// The end of the record's deferral, if it is in the deferred state.
fn deferred_until(record: &Enrollment) -> Option<DateTime<Utc>> {
    match record.state() {
        EnrollmentState::Deferred { until } => Some(*until),
        _ => None,
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

/// "Use a recovery code" at the login `tx()`.
fn use_recovery(text: &str) -> Event {
    Event::Login {
        attempt: LoginAttempt::RecoveryCode(recovery_code(text)),
        transaction: tx(),
    }
}

/// A refused login attempt: why, and the record to save when the failure
/// was counted.
#[derive(Debug)]
struct LoginRejected {
    reason: EnrollmentError,
    outcome: Option<Box<Outcome>>,
}

/// The login events of `Enrollment::apply`, read back into the value each
/// one answers, so the tests say what they check.
trait LoginInputs {
    fn verify_login(
        &self,
        attempt: &LoginAttempt,
        transaction: &TransactionId,
        ctx: &Context<'_>,
        at: DateTime<Utc>,
    ) -> Result<LoginAccepted, LoginRejected>;

    fn send_login_code(
        &self,
        method: MethodId,
        channel: Option<CodeChannel>,
        transaction: &TransactionId,
        ctx: &Context<'_>,
        at: DateTime<Utc>,
        rng: &mut StdRng,
    ) -> Result<Dispatch, EnrollmentError>;

    fn send_push(
        &self,
        target: PushTarget,
        transaction: &TransactionId,
        ctx: &Context<'_>,
        at: DateTime<Utc>,
        rng: &mut StdRng,
    ) -> Result<PushDispatch, EnrollmentError>;
}

impl LoginInputs for Enrollment {
    fn verify_login(
        &self,
        attempt: &LoginAttempt,
        transaction: &TransactionId,
        ctx: &Context<'_>,
        at: DateTime<Utc>,
    ) -> Result<LoginAccepted, LoginRejected> {
        let event = Event::Login {
            attempt: attempt.clone(),
            transaction: transaction.clone(),
        };
        match self.apply(event, ctx, at, &mut rng()) {
            Ok(Transition::LoginAccepted(accepted)) => Ok(accepted),
            Ok(Transition::LoginRefused { reason, outcome }) => Err(LoginRejected {
                reason,
                outcome: Some(Box::new(outcome)),
            }),
            Ok(other) => panic!("a login answers with acceptance or refusal, not {other:?}"),
            Err(reason) => Err(LoginRejected {
                reason,
                outcome: None,
            }),
        }
    }

    fn send_login_code(
        &self,
        method: MethodId,
        channel: Option<CodeChannel>,
        transaction: &TransactionId,
        ctx: &Context<'_>,
        at: DateTime<Utc>,
        rng: &mut StdRng,
    ) -> Result<Dispatch, EnrollmentError> {
        let event = Event::SendLoginCode {
            method,
            channel,
            transaction: transaction.clone(),
        };
        match self.apply(event, ctx, at, rng)? {
            Transition::Send(dispatch) => Ok(dispatch),
            other => panic!("a login code is sent, not {other:?}"),
        }
    }

    fn send_push(
        &self,
        target: PushTarget,
        transaction: &TransactionId,
        ctx: &Context<'_>,
        at: DateTime<Utc>,
        rng: &mut StdRng,
    ) -> Result<PushDispatch, EnrollmentError> {
        let event = Event::SendPush {
            target,
            transaction: transaction.clone(),
            client_address: Some(IpAddr::from([198, 51, 100, 4])),
        };
        match self.apply(event, ctx, at, rng)? {
            Transition::SendPush(dispatch) => Ok(dispatch),
            other => panic!("a push prompt is sent, not {other:?}"),
        }
    }
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

/// A match number other than the one the push prompt shows.
fn other_number(number: MatchNumber) -> MatchNumber {
    MatchNumber::new(if number.value() == 10 { 11 } else { 10 }).unwrap()
}
