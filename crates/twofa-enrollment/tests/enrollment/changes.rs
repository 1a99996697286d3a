//! Changes to an enrolled user: a new number, and adding, removing and
//! choosing methods.

use super::*;

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
            &env.ctx(KEPT),
            at,
        )
        .unwrap(),
    );
    assert_eq!(one.summary(at).primary, Some(MethodId::new(1)));
    assert_eq!(
        apply(
            &one,
            Event::RemoveMethod(MethodId::new(1)),
            &env.ctx(KEPT),
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
