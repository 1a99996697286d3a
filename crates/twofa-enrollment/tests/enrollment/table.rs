//! The result of every event in every state.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Save,
    Send,
    Err(EnrollmentError),
}

fn outcome_of(result: Result<Transition, EnrollmentError>) -> Expect {
    match result {
        Ok(
            Transition::Save(_) | Transition::LoginAccepted(_) | Transition::LoginRefused { .. },
        ) => Expect::Save,
        Ok(Transition::Send(_) | Transition::SendPush(_)) => Expect::Send,
        Err(e) => Expect::Err(e),
    }
}

/// The events of the table's columns; `now` is the instant they are
/// applied at.
fn all_events(now: DateTime<Utc>) -> Vec<Event> {
    vec![
        Event::StartSetup(SetupChoice::App),
        // Well-formed input, but 8 digits for a 6-digit code.
        Event::SubmitCode(code("12345678")),
        Event::Resend(ResendOption::Sms),
        Event::Defer {
            until: now + TimeDelta::hours(48),
        },
        Event::Cancel,
        Event::ChangeDisplayName(DisplayName::new("Bob").unwrap()),
        Event::StartNumberChange {
            method: MethodId::new(1),
            phone: PhoneSetup::new(other_mobile(), LineType::Mobile, PhoneChannel::Sms),
        },
        Event::RemoveMethod(MethodId::new(1)),
        Event::SetPrimary(MethodId::new(1)),
        Event::RegenerateRecoveryCodes,
        use_recovery("abc"),
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
    let until = t0() + TimeDelta::hours(48);
    let deferred =
        saved(apply(&record(), Event::Defer { until }, &env.optional(), t0()).unwrap()).0;
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
    // Columns: StartSetup(App), SubmitCode(8 digits), Resend(Sms), Defer,
    // Cancel, ChangeDisplayName, StartNumberChange, RemoveMethod, SetPrimary,
    // RegenerateRecoveryCodes, Login(malformed recovery code), AdminReset,
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
                not_allowed(ne, EventKind::Login),
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
                not_allowed(de, EventKind::Login),
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
                not_allowed(pe, EventKind::Login),
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
                not_allowed(pe, EventKind::Login),
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
        for (event, want) in all_events(now).into_iter().zip(expected) {
            let kind = event.kind();
            let got = outcome_of(apply(state, event, &env.optional(), now));
            assert_eq!(got, *want, "state {name}, event {kind:?}");
        }
    }
    // When the company enforces 2FA only removal of the last method changes
    // (deferral is the enforcement gate's decision, not the machine's).
    for (name, state, expected) in &table {
        for (event, want) in all_events(now).into_iter().zip(expected) {
            let kind = event.kind();
            let want = match (kind, *want) {
                (EventKind::RemoveMethod, Save) => Err(E::LastMethodUnderEnforcement),
                (_, other) => other,
            };
            let got = outcome_of(apply(state, event, &env.ctx(KEPT), now));
            assert_eq!(got, want, "last method kept: state {name}, event {kind:?}");
        }
    }
}
