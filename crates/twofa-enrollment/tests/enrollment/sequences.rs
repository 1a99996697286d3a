//! Random event sequences against a model of the record.

use super::*;

#[derive(Debug, Clone)]
enum Op {
    StartApp,
    StartSms,
    StartLandline(bool),
    SubmitRight,
    SubmitWrong,
    Resend(u8),
    /// Defer until this many seconds after now (zero or less: refused).
    Defer(i32),
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
    KeepLastMethod(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::StartApp),
        1 => Just(Op::StartSms),
        1 => any::<bool>().prop_map(Op::StartLandline),
        3 => Just(Op::SubmitRight),
        2 => Just(Op::SubmitWrong),
        1 => (0u8..4).prop_map(Op::Resend),
        1 => (-100i32..400_000).prop_map(Op::Defer),
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
        1 => any::<bool>().prop_map(Op::KeepLastMethod),
    ]
}

struct Model {
    record: Enrollment,
    last_method: LastMethod,
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
    let ctx = env.ctx(model.last_method);
    let before = model.record.clone();
    let was_enrolled = before.state().kind() == StateKind::Enrolled;
    let mut submitted_right = false;
    let result = match op {
        Op::Advance(s) => {
            model.now += secs(i64::from(*s));
            return;
        }
        Op::KeepLastMethod(on) => {
            // Enforcement never turns off once on.
            if *on {
                model.last_method = KEPT;
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
                    _ => before.failures().consecutive(),
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
        Op::Defer(offset) => {
            let until = model.now + secs(i64::from(*offset));
            let result = model
                .record
                .apply(Event::Defer { until }, &ctx, model.now, r);
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
                (Err(got), Some(want)) => assert_eq!(*got, want),
                (Ok(_), None) => {}
                (got, want) => panic!("defer until {until}: got {got:?}, want {want:?}"),
            }
            result
        }
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
            model.record.apply(use_recovery(&c), &ctx, model.now, r)
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
        Transition::Save(o) | Transition::LoginRefused { outcome: o, .. } => o.into_parts(),
        Transition::LoginAccepted(accepted) => accepted.outcome.into_parts(),
        Transition::Send(d) => {
            model.last_code = Some(d.expose_code().to_owned());
            d.sent().into_parts()
        }
        Transition::SendPush(d) => d.sent().into_parts(),
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
    // A deferral is counted only by a defer, once, and records the
    // deadline given, which lies after now.
    if next.deferrals_used() != before.deferrals_used() {
        let Op::Defer(offset) = op else {
            panic!("deferrals counted by {op:?}");
        };
        assert_eq!(next.deferrals_used(), before.deferrals_used() + 1);
        let until = model.now + secs(i64::from(*offset));
        assert!(until > model.now);
        assert_eq!(deferred_until(&next), Some(until));
    }
    // When the company enforces 2FA the user never removes the last method.
    if matches!(op, Op::Remove) && model.last_method == KEPT && was_enrolled {
        assert_eq!(next.state().kind(), StateKind::Enrolled);
    }
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
            last_method: REMOVABLE,
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
