//! The one-way switch: only an admin of the company turns enforcement on, it
//! never turns off (also over random action sequences), and a loaded record
//! that goes back is refused; errors and `Send + Sync`.

use super::*;

#[test]
fn admin_enables_enforcement_and_an_event_is_emitted() {
    let outcome = not_enforced().enforce(&admin("alice"), t0()).unwrap();
    assert_eq!(
        outcome,
        EnforceOutcome::Enabled {
            settings: enforced(),
            event: CompanyEvent::EnforcementEnabled {
                company: acme(),
                actor: user("alice"),
                at: t0(),
            },
        }
    );
    assert_eq!(outcome.event().unwrap().name(), "company.2fa_enforced");
    assert!(outcome.settings().is_enforced());
}

#[test]
fn enabling_twice_is_a_no_op_without_a_second_event() {
    let again = enforced().enforce(&admin("bob"), t0() + secs(60)).unwrap();
    assert_eq!(
        again,
        EnforceOutcome::AlreadyEnforced {
            settings: enforced()
        }
    );
    assert_eq!(again.event(), None);
}

#[test]
fn non_admins_get_a_permission_error_and_nothing_changes() {
    let settings = not_enforced();
    assert_eq!(
        settings.enforce(&member("mallory"), t0()),
        Err(EnforceError::NotCompanyAdmin {
            role: CompanyRole::Member
        })
    );
    let foreign_admin = Actor::new(
        user("eve"),
        CompanyId::new("globex").unwrap(),
        CompanyRole::Admin,
    );
    assert_eq!(
        settings.enforce(&foreign_admin, t0()),
        Err(EnforceError::OtherCompany)
    );
    assert_eq!(settings, not_enforced());
    // Permission is checked even when there is nothing left to change.
    assert_eq!(
        enforced().enforce(&member("mallory"), t0()),
        Err(EnforceError::NotCompanyAdmin {
            role: CompanyRole::Member
        })
    );
}

#[test]
fn errors_read_as_lowercase_sentences_without_secrets() {
    let err = not_enforced()
        .enforce(&member("mallory"), t0())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "only a company administrator may require 2fa, the actor is a member"
    );
    assert_eq!(
        LoadError::EnforcementReverted.to_string(),
        "loaded settings turn 2fa enforcement off, which is never allowed"
    );
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<CompanySettings>();
    check::<EnforceOutcome>();
    check::<EnforceError>();
    check::<LoadError>();
    check::<CompanyPolicy>();
    check::<CompanyPolicyError>();
    check::<GateDecision>();
    check::<EnrollmentReport>();
    check::<EmployeeRecord>();
    check::<PhoneHint>();
    check::<ReportError>();
}

#[test]
fn a_loaded_record_that_goes_back_is_refused() {
    assert_eq!(
        CompanySettings::accept_loaded(&enforced(), not_enforced()),
        Err(LoadError::EnforcementReverted)
    );
    let other_time = CompanySettings::restore(
        acme(),
        Enforcement::Enforced {
            by: user("alice"),
            at: t0() + secs(1),
        },
    );
    assert_eq!(
        CompanySettings::accept_loaded(&enforced(), other_time),
        Err(LoadError::EnforcementRewritten)
    );
    let other_admin = CompanySettings::restore(
        acme(),
        Enforcement::Enforced {
            by: user("bob"),
            at: t0(),
        },
    );
    assert_eq!(
        CompanySettings::accept_loaded(&enforced(), other_admin),
        Err(LoadError::EnforcementRewritten)
    );
    assert_eq!(
        CompanySettings::accept_loaded(
            &not_enforced(),
            CompanySettings::new(CompanyId::new("globex").unwrap())
        ),
        Err(LoadError::OtherCompany)
    );
    assert_eq!(
        CompanySettings::accept_loaded(&not_enforced(), enforced()),
        Ok(enforced())
    );
    assert_eq!(
        CompanySettings::accept_loaded(&enforced(), enforced()),
        Ok(enforced())
    );
}

#[derive(Debug, Clone)]
struct Action {
    user: u8,
    role: CompanyRole,
    own_company: bool,
    after: i64,
}

fn action() -> impl Strategy<Value = Action> {
    (
        0_u8..4,
        prop_oneof![Just(CompanyRole::Admin), Just(CompanyRole::Member)],
        prop::bool::weighted(0.8),
        0_i64..100_000,
    )
        .prop_map(|(user, role, own_company, after)| Action {
            user,
            role,
            own_company,
            after,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Over any sequence of actions: enforcement never turns off, only the
    /// first accepted admin action of the company changes anything, exactly
    /// one event is emitted, and every step is accepted as a loaded successor
    /// while no later state accepts an earlier "not enforced".
    #[test]
    fn enforcement_never_turns_off(actions in prop::collection::vec(action(), 0..40)) {
        let mut settings = not_enforced();
        let mut history = vec![settings.clone()];
        let mut events = Vec::new();
        let mut now = t0();
        for a in &actions {
            now += secs(a.after);
            let company = if a.own_company { acme() } else { CompanyId::new("globex").unwrap() };
            let actor = Actor::new(user(&format!("u{}", a.user)), company, a.role);
            let before = settings.clone();
            match settings.enforce(&actor, now) {
                Ok(outcome) => {
                    prop_assert!(a.own_company && a.role == CompanyRole::Admin);
                    if let Some(event) = outcome.event() {
                        prop_assert!(!before.is_enforced());
                        prop_assert_eq!(
                            event,
                            &CompanyEvent::EnforcementEnabled { company: acme(), actor: actor.user().clone(), at: now }
                        );
                        events.push(event.clone());
                    } else {
                        prop_assert_eq!(outcome.settings(), &before);
                    }
                    prop_assert!(outcome.settings().is_enforced());
                    settings = outcome.settings().clone();
                }
                Err(_) => {
                    prop_assert!(!(a.own_company && a.role == CompanyRole::Admin));
                    prop_assert_eq!(&settings, &before);
                }
            }
            prop_assert!(!before.is_enforced() || settings == before);
            prop_assert_eq!(CompanySettings::accept_loaded(&before, settings.clone()), Ok(settings.clone()));
            history.push(settings.clone());
        }
        let first_admin = actions.iter().position(|a| a.own_company && a.role == CompanyRole::Admin);
        prop_assert_eq!(events.len(), usize::from(first_admin.is_some()));
        prop_assert_eq!(settings.is_enforced(), first_admin.is_some());
        for later in history.iter().filter(|s| s.is_enforced()) {
            prop_assert_eq!(
                CompanySettings::accept_loaded(later, not_enforced()),
                Err(LoadError::EnforcementReverted)
            );
        }
    }
}
