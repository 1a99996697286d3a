//! Arbitrary sequences of enrollment events, logins and clock jumps:
//! no panic, and the state machine's invariants hold after every step —
//! never enrolled without a correct code, a deferral is refused while one
//! runs, when enrolled or with a deadline not after now, and otherwise
//! records the deadline given and counts once, the last method is never
//! removed when the company enforces 2FA, a re-send never lowers the
//! failure count, a burned TOTP step never verifies again, a wrong code
//! never verifies, a passkey ceremony is answered at most once and never
//! by an arbitrary answer, and nothing printable holds the full phone
//! number.

#![no_main]

use arbitrary::Arbitrary;
use chrono::{DateTime, TimeDelta, Utc};
use libfuzzer_sys::fuzz_target;
use rand_core::{TryCryptoRng, TryRng};
use twofa_delivery::{
    Issuer, LineType, MatchNumber, MessageTemplates, NotMobileKind, PhoneNumber, PushResponse,
    ResendOption, ServerKey, TransactionId, UnknownReason,
};
use twofa_enrollment::PasskeyResponse;
use twofa_enrollment::{
    Context, DisplayName, Effect, Enrollment, EnrollmentError, EnrollmentPolicy, EnrollmentState,
    Event, EventKind, LastMethod, LoginAttempt, MethodId, NotMobileAnswer, Outcome, PendingKind,
    PhoneChannel, PhoneSetup, PushTarget, SetupChoice, StateKind, SubmittedCode, Transition,
};
use twofa_otp::{Algorithm, Secret, Totp};
use twofa_passkey::{
    CreationOptions, CredentialName, Origin, RelyingParty, RequestOptions, SoftAuthenticator,
};
use twofa_types::OneTimeCode;
use twofa_types::UserId;

/// A deterministic generator driven by the input (SplitMix64), so every
/// run of an input is reproducible.
struct FuzzRng(u64);

impl TryRng for FuzzRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Ok(z ^ (z >> 31))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

impl TryCryptoRng for FuzzRng {}

#[derive(Debug, Arbitrary)]
enum Op {
    StartApp,
    StartPush,
    StartPhone {
        line: u8,
        voice: bool,
        answered: bool,
    },
    SubmitRight,
    SubmitArbitrary(String),
    Resend(u8),
    /// Defer until this many seconds (modulo 400 000) after now; zero or
    /// less is refused.
    Defer(i32),
    Cancel,
    Advance(u32),
    AdvanceBack(u16),
    ChangeNumber {
        answered: bool,
    },
    Remove(u8),
    SetPrimary(u8),
    Regenerate,
    RecoverRight,
    RecoverArbitrary(String),
    Reset,
    LoginRight,
    LoginArbitrary(String),
    LoginReplay,
    SendLoginCode(u8),
    LoginOob,
    SendPush(u8),
    PushRespond {
        approve: bool,
        right: bool,
    },
    LoginPush(u8),
    KeepLastMethod,
    StartPasskey,
    SubmitPasskeyRight,
    SubmitPasskeyArbitrary(String),
    StartPasskeyLogin,
    LoginPasskeyRight,
    LoginPasskeyArbitrary(String),
}

#[derive(Debug, Arbitrary)]
struct Input {
    seed: u64,
    ops: Vec<Op>,
}

const NUMBER: &str = "+447400123456";
const ORIGIN: &str = "https://login.example.com";
const DIGITS: &str = "7400123456";

fn totp_code(secret: &Secret, at: DateTime<Utc>) -> Option<String> {
    let seconds = u64::try_from(at.timestamp()).ok()?;
    let code = Totp::new(secret, Algorithm::Sha1).generate(seconds).ok()?;
    Some(code.expose_secret().as_str().to_owned())
}

fn pending_of(record: &Enrollment) -> Option<&twofa_enrollment::PendingSetup> {
    match record.state() {
        EnrollmentState::Pending(p) => Some(p),
        EnrollmentState::Enrolled(e) => e.pending_change(),
        _ => None,
    }
}

struct Model {
    record: Enrollment,
    last_method: LastMethod,
    now: DateTime<Utc>,
    last_code: Option<String>,
    recovery: Vec<String>,
    burned: Option<(MethodId, String, DateTime<Utc>)>,
    push_number: Option<MatchNumber>,
    authenticator: SoftAuthenticator,
    creation: Option<CreationOptions>,
    request: Option<RequestOptions>,
}

/// The machine's answer to a login attempt: the record to save when it is
/// accepted, or the record with the failure counted (if one was) when not.
#[expect(
    clippy::result_large_err,
    reason = "both sides carry the same record, as the machine returns it"
)]
fn login(
    record: &Enrollment,
    attempt: &LoginAttempt,
    tx: &TransactionId,
    ctx: &Context<'_>,
    now: DateTime<Utc>,
) -> Result<Outcome, Option<Outcome>> {
    let event = Event::Login {
        attempt: attempt.clone(),
        transaction: tx.clone(),
    };
    // A login draws no randomness; the generator only fills the argument.
    let mut rng = FuzzRng(0);
    match record.apply(event, ctx, now, &mut rng) {
        Ok(Transition::LoginAccepted(accepted)) => Ok(accepted.outcome),
        Ok(Transition::LoginRefused { outcome, .. }) => Err(Some(outcome)),
        Ok(other) => panic!("a login answered {other:?}"),
        Err(_) => Err(None),
    }
}

fuzz_target!(|input: Input| {
    let issuer = Issuer::new("Fuzz Portal").unwrap();
    let templates = MessageTemplates::new(issuer.clone());
    let key = ServerKey::from_bytes(&[7; 32]).unwrap();
    let policy = EnrollmentPolicy::default();
    let number = PhoneNumber::from_e164(NUMBER).unwrap();
    let other = PhoneNumber::from_e164("+447400654321").unwrap();
    let tx = TransactionId::new("login").unwrap();
    let rp = RelyingParty::new(
        "example.com",
        "Fuzz Portal",
        [Origin::https(ORIGIN).unwrap()],
    )
    .unwrap();
    let mut rng = FuzzRng(input.seed);
    let mut model = Model {
        record: Enrollment::new(
            UserId::new("fuzz").unwrap(),
            DisplayName::new("Fuzz").unwrap(),
        )
        .with_email(twofa_delivery::EmailAddress::parse("fuzz@example.com").unwrap()),
        last_method: LastMethod::Removable,
        now: DateTime::from_timestamp(1_780_000_000, 0).unwrap(),
        last_code: None,
        recovery: Vec::new(),
        burned: None,
        push_number: None,
        authenticator: SoftAuthenticator::new(),
        creation: None,
        request: None,
    };
    for op in input.ops.iter().take(64) {
        let ctx =
            Context::new(model.last_method, &policy, &key, &templates, &issuer).with_passkeys(&rp);
        let before = model.record.clone();
        let was_enrolled = before.state().kind() == StateKind::Enrolled;
        let mut right = false;
        let phone = |line: u8, voice: bool, answered: bool, number: &PhoneNumber| {
            let line_type = match line % 3 {
                0 => LineType::Mobile,
                1 => LineType::NotMobile(NotMobileKind::FixedLine),
                _ => LineType::Unknown(UnknownReason::NumberingPlanCannotTell),
            };
            let channel = if voice {
                PhoneChannel::Voice
            } else {
                PhoneChannel::Sms
            };
            let setup = PhoneSetup::new(number.clone(), line_type, channel);
            if answered {
                setup.with_answer(NotMobileAnswer::ContinueWithVoice)
            } else {
                setup
            }
        };
        let event = match op {
            Op::Advance(s) => {
                model.now += TimeDelta::seconds(i64::from(*s % 400_000));
                continue;
            }
            Op::AdvanceBack(s) => {
                // Clocks of several servers disagree a little.
                model.now -= TimeDelta::seconds(i64::from(*s % 120));
                continue;
            }
            Op::KeepLastMethod => {
                model.last_method = LastMethod::Kept;
                continue;
            }
            Op::StartPasskey => {
                Event::StartSetup(SetupChoice::Passkey(CredentialName::new("Key").unwrap()))
            }
            Op::SubmitPasskeyRight | Op::SubmitPasskeyArbitrary(_) => {
                let json = match op {
                    Op::SubmitPasskeyArbitrary(text) => text.clone(),
                    _ => {
                        let Some(options) = &model.creation else {
                            continue;
                        };
                        right = true;
                        match model.authenticator.create(ORIGIN, options) {
                            Ok(json) => json,
                            Err(_) => continue,
                        }
                    }
                };
                Event::SubmitPasskey(PasskeyResponse::new(&json))
            }
            Op::StartPasskeyLogin => Event::StartPasskeyLogin {
                transaction: tx.clone(),
            },
            Op::LoginPasskeyRight | Op::LoginPasskeyArbitrary(_) => {
                let json = match op {
                    Op::LoginPasskeyArbitrary(text) => text.clone(),
                    _ => {
                        let Some(options) = &model.request else {
                            continue;
                        };
                        match model.authenticator.get(ORIGIN, options) {
                            Ok(json) => json,
                            Err(_) => continue,
                        }
                    }
                };
                let attempt = LoginAttempt::Passkey(PasskeyResponse::new(&json));
                match login(&model.record, &attempt, &tx, &ctx, model.now) {
                    Ok(accepted) => {
                        assert!(
                            matches!(op, Op::LoginPasskeyRight),
                            "an arbitrary passkey answer logged in"
                        );
                        assert!(
                            before.failures().suspended_since().is_none(),
                            "verified while suspended"
                        );
                        let (next, _) = accepted.into_parts();
                        // One ceremony completes one login.
                        assert!(login(&next, &attempt, &tx, &ctx, model.now).is_err());
                        model.record = next;
                    }
                    Err(counted) => {
                        if let Some(outcome) = counted {
                            let (next, _) = outcome.into_parts();
                            assert!(
                                next.failures().consecutive() > before.failures().consecutive()
                                    || next.failures().suspended_since().is_some()
                            );
                            model.record = next;
                        }
                    }
                }
                continue;
            }
            Op::StartApp => Event::StartSetup(SetupChoice::App),
            Op::StartPush => Event::StartSetup(SetupChoice::Push),
            Op::StartPhone {
                line,
                voice,
                answered,
            } => Event::StartSetup(SetupChoice::Phone(phone(*line, *voice, *answered, &number))),
            Op::ChangeNumber { answered } => Event::StartNumberChange {
                method: MethodId::new(1),
                phone: phone(0, false, *answered, &other),
            },
            Op::SubmitRight | Op::SubmitArbitrary(_) => {
                // The codes that may activate: the TOTP window's three
                // steps, or the latest out-of-band code.
                let valid: Vec<String> = match pending_of(&model.record).map(|p| p.kind()) {
                    Some(PendingKind::App { secret } | PendingKind::Push { secret, .. }) => {
                        [-30, 0, 30]
                            .iter()
                            .filter_map(|d| totp_code(secret, model.now + TimeDelta::seconds(*d)))
                            .collect()
                    }
                    Some(PendingKind::Phone { .. }) => model.last_code.iter().cloned().collect(),
                    _ => Vec::new(),
                };
                let text = match op {
                    Op::SubmitArbitrary(text) => text.clone(),
                    _ => match valid.get(1).or(valid.first()) {
                        Some(code) => code.clone(),
                        None => continue,
                    },
                };
                // Text that is no code is refused at the edge: no event.
                let Ok(code) = OneTimeCode::parse(&text) else {
                    continue;
                };
                right = valid.iter().any(|v| v == code.expose_secret());
                Event::SubmitCode(code)
            }
            Op::Resend(n) => Event::Resend(match n % 4 {
                0 => ResendOption::Sms,
                1 => ResendOption::Voice,
                2 => ResendOption::Email,
                _ => ResendOption::App,
            }),
            Op::Defer(offset) => Event::Defer {
                until: model.now + TimeDelta::seconds(i64::from(*offset % 400_000)),
            },
            Op::Cancel => Event::Cancel,
            Op::Remove(n) => Event::RemoveMethod(MethodId::new(u32::from(*n % 4))),
            Op::SetPrimary(n) => Event::SetPrimary(MethodId::new(u32::from(*n % 4))),
            Op::Regenerate => Event::RegenerateRecoveryCodes,
            Op::RecoverRight => {
                let Some(code) = model.recovery.first() else {
                    continue;
                };
                Event::Login {
                    attempt: LoginAttempt::RecoveryCode(SubmittedCode::new(code)),
                    transaction: tx.clone(),
                }
            }
            Op::RecoverArbitrary(text) => Event::Login {
                attempt: LoginAttempt::RecoveryCode(SubmittedCode::new(text)),
                transaction: tx.clone(),
            },
            Op::Reset => Event::AdminReset,
            Op::SendPush(n) => {
                let target = match n % 4 {
                    0 => PushTarget::PendingSetup,
                    m => PushTarget::Method(MethodId::new(u32::from(m))),
                };
                let event = Event::SendPush {
                    target,
                    transaction: tx.clone(),
                    client_address: None,
                };
                if let Ok(Transition::SendPush(dispatch)) =
                    model.record.apply(event, &ctx, model.now, &mut rng)
                {
                    model.push_number = Some(dispatch.match_number());
                    let (next, _) = dispatch.sent().into_parts();
                    assert_eq!(next.failures(), before.failures());
                    model.record = next;
                }
                continue;
            }
            Op::PushRespond {
                approve,
                right: wants_right,
            } => {
                let Some(number) = model.push_number else {
                    continue;
                };
                let response = match (approve, wants_right) {
                    (false, _) => PushResponse::Deny,
                    (true, true) => PushResponse::Approve { number },
                    (true, false) => PushResponse::Approve {
                        number: MatchNumber::new(if number.value() == 10 { 11 } else { 10 })
                            .unwrap(),
                    },
                };
                right = *approve && *wants_right;
                Event::PushResponse(response)
            }
            Op::LoginPush(n) => {
                let attempt = LoginAttempt::Push {
                    method: MethodId::new(u32::from(n % 4)),
                };
                match login(&model.record, &attempt, &tx, &ctx, model.now) {
                    Ok(accepted) => {
                        assert!(
                            before.failures().suspended_since().is_none(),
                            "verified while suspended"
                        );
                        let (next, _) = accepted.into_parts();
                        // One approval completes one login.
                        assert!(login(&next, &attempt, &tx, &ctx, model.now).is_err());
                        model.record = next;
                    }
                    Err(counted) => assert!(counted.is_none()),
                }
                continue;
            }
            Op::SendLoginCode(n) => {
                let id = MethodId::new(u32::from(*n % 4));
                let event = Event::SendLoginCode {
                    method: id,
                    channel: None,
                    transaction: tx.clone(),
                };
                if let Ok(Transition::Send(dispatch)) =
                    model.record.apply(event, &ctx, model.now, &mut rng)
                {
                    model.last_code = Some(dispatch.expose_code().to_owned());
                    let (next, _) = dispatch.sent().into_parts();
                    assert_eq!(next.failures(), before.failures());
                    model.record = next;
                }
                continue;
            }
            Op::LoginRight | Op::LoginArbitrary(_) | Op::LoginReplay | Op::LoginOob => {
                let EnrollmentState::Enrolled(e) = model.record.state() else {
                    continue;
                };
                let (id, code, burned_replay) = match op {
                    Op::LoginOob => {
                        let Some(m) = e.methods().iter().find(|m| m.factor().totp().is_none())
                        else {
                            continue;
                        };
                        let Some(code) = model.last_code.clone() else {
                            continue;
                        };
                        (m.id(), code, false)
                    }
                    Op::LoginReplay => {
                        let Some((id, code, at)) = model.burned.clone() else {
                            continue;
                        };
                        // Only within the window in which the code is otherwise valid.
                        if model.now < at || model.now - at > TimeDelta::seconds(30) {
                            continue;
                        }
                        (id, code, true)
                    }
                    _ => {
                        let Some(m) = e.methods().iter().find(|m| m.factor().totp().is_some())
                        else {
                            continue;
                        };
                        let secret = m.factor().totp().unwrap().expose_secret();
                        let code = match op {
                            Op::LoginArbitrary(text) => text.clone(),
                            _ => match totp_code(secret, model.now) {
                                Some(code) => code,
                                None => continue,
                            },
                        };
                        (m.id(), code, false)
                    }
                };
                let Ok(parsed) = OneTimeCode::parse(&code) else {
                    continue;
                };
                let attempt = LoginAttempt::Code {
                    method: id,
                    code: parsed,
                };
                match login(&model.record, &attempt, &tx, &ctx, model.now) {
                    Ok(accepted) => {
                        assert!(!burned_replay, "a burned step verified again");
                        assert!(
                            before.failures().suspended_since().is_none(),
                            "verified while suspended"
                        );
                        let (next, _) = accepted.into_parts();
                        assert_eq!(next.failures().consecutive(), 0);
                        assert_eq!(next.last_second_factor_at(), Some(model.now));
                        if matches!(op, Op::LoginRight | Op::LoginArbitrary(_)) {
                            model.burned = Some((id, code, model.now));
                        }
                        model.record = next;
                    }
                    Err(counted) => {
                        if let Some(outcome) = counted {
                            let (next, _) = outcome.into_parts();
                            assert!(
                                next.failures().consecutive() > before.failures().consecutive()
                            );
                            model.record = next;
                        }
                    }
                }
                continue;
            }
        };
        let is_resend = matches!(event, Event::Resend(_));
        let deferral = match event {
            Event::Defer { until } => Some(until),
            _ => None,
        };
        let result = model.record.apply(event, &ctx, model.now, &mut rng);
        if let Some(until) = deferral {
            let expected = match before.state() {
                EnrollmentState::Enrolled(_) => Some(EnrollmentError::NotAllowed {
                    state: StateKind::Enrolled,
                    event: EventKind::Defer,
                }),
                EnrollmentState::Deferred { until: running } if model.now < *running => {
                    Some(EnrollmentError::AlreadyDeferred { until: *running })
                }
                _ if until <= model.now => Some(EnrollmentError::TimeOutOfRange),
                _ => None,
            };
            match (&result, expected) {
                (Err(got), Some(want)) => assert_eq!(*got, want, "deferral refusal"),
                (Ok(_), None) => {}
                (got, want) => panic!("defer until {until}: got {got:?}, want {want:?}"),
            }
        }
        let Ok(transition) = result else {
            continue;
        };
        let (next, effects) = match transition {
            Transition::Save(outcome) | Transition::LoginRefused { outcome, .. } => {
                outcome.into_parts()
            }
            Transition::LoginAccepted(accepted) => accepted.outcome.into_parts(),
            Transition::Send(dispatch) => {
                model.last_code = Some(dispatch.expose_code().to_owned());
                dispatch.sent().into_parts()
            }
            Transition::SendPush(dispatch) => dispatch.sent().into_parts(),
        };
        for effect in &effects {
            match effect {
                Effect::ShowPasskeyCreation(options) => model.creation = Some(options.clone()),
                Effect::ShowPasskeyRequest(options) => model.request = Some(options.clone()),
                _ => {}
            }
        }
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
        if !was_enrolled && next.state().kind() == StateKind::Enrolled {
            assert!(right, "enrolled without a verified code by {op:?}");
        }
        if next.deferrals_used() != before.deferrals_used() {
            let Some(until) = deferral else {
                panic!("deferrals counted by {op:?}");
            };
            assert_eq!(
                next.deferrals_used(),
                before.deferrals_used().saturating_add(1)
            );
            assert!(
                matches!(next.state(), EnrollmentState::Deferred { until: recorded } if *recorded == until),
                "the deferral does not record the deadline given"
            );
        }
        if matches!(op, Op::Remove(_)) && model.last_method == LastMethod::Kept && was_enrolled {
            assert_eq!(
                next.state().kind(),
                StateKind::Enrolled,
                "last method removed under enforcement"
            );
        }
        if is_resend {
            assert!(next.failures().consecutive() >= before.failures().consecutive());
        }
        if let EnrollmentState::Enrolled(e) = next.state() {
            assert!(!e.methods().is_empty());
            assert!(e.method(e.primary()).is_some());
        }
        let printed = format!("{effects:?} {next:?}");
        assert!(!printed.contains(DIGITS), "full number printed");
        model.record = next;
    }
});
