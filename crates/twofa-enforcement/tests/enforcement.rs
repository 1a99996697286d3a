//! Public-API tests: the one-way switch, permissions, the login gate at its
//! edges, policy validation, and the enrollment report with its exports.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "helpers outside #[test] functions build fixed fixtures and fail the test on bad input"
)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use twofa_enforcement::{
    Actor, CompanyEvent, CompanyPolicy, CompanyPolicyError, CompanyRole, CompanySettings,
    DeferralOffer, DurationSetting, EmployeeRecord, EnforceError, EnforceOutcome, Enforcement,
    EnrollmentReport, GateDecision, LoadError, PhoneHint, ReportError, SetupRequired, StatusKind,
    gate,
};
use twofa_types::{
    AccountKind, CodeChannel, CodeChannelSet, CompanyId, DeferralCap, DeferralsLeft,
    EnrollmentStatus, Method, MethodSet, TrustedNetworks, UserId,
};

/// 2026-03-01T09:00:00Z.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn secs(s: i64) -> TimeDelta {
    TimeDelta::seconds(s)
}

fn acme() -> CompanyId {
    CompanyId::new("acme").unwrap()
}

fn user(id: &str) -> UserId {
    UserId::new(id).unwrap()
}

fn admin(id: &str) -> Actor {
    Actor::new(user(id), acme(), CompanyRole::Admin)
}

fn member(id: &str) -> Actor {
    Actor::new(user(id), acme(), CompanyRole::Member)
}

fn enforced() -> CompanySettings {
    CompanySettings::restore(
        acme(),
        Enforcement::Enforced {
            by: user("alice"),
            at: t0(),
        },
    )
}

fn not_enforced() -> CompanySettings {
    CompanySettings::new(acme())
}

const H48: i64 = 48 * 3600;

// ---------------------------------------------------------------------------
// The one-way switch
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Policy validation
// ---------------------------------------------------------------------------

#[test]
fn policy_defaults_are_the_portals() {
    let p = CompanyPolicy::default();
    assert_eq!(p.deferral_length(), secs(H48));
    assert_eq!(p.deferral_cap(), DeferralCap::AtMost(3));
    assert_eq!(p.trusted_network_reprompt(), secs(21 * 24 * 3600));
    assert_eq!(p.out_of_band_code_lifetime(), secs(600));
    assert_eq!(p.pending_setup_lifetime(), secs(1800));
    assert_eq!(p.attempts_per_challenge(), 5);
    assert_eq!(p.allowed_methods().len(), 4);
    assert_eq!(p.resend_channels().len(), 3);
}

#[test]
fn invalid_policies_are_refused_with_specific_errors() {
    let b = CompanyPolicy::builder();
    assert_eq!(
        b.with_allowed_methods(MethodSet::empty()).build(),
        Err(CompanyPolicyError::NoMethodAllowed)
    );
    assert_eq!(
        b.with_deferral_length(TimeDelta::zero()).build(),
        Err(CompanyPolicyError::NotPositive {
            setting: DurationSetting::DeferralLength
        })
    );
    assert_eq!(
        b.with_trusted_network_reprompt(secs(-1)).build(),
        Err(CompanyPolicyError::NotPositive {
            setting: DurationSetting::TrustedNetworkReprompt
        })
    );
    assert_eq!(
        b.with_out_of_band_code_lifetime(secs(601)).build(),
        Err(CompanyPolicyError::TooLong {
            setting: DurationSetting::OutOfBandCodeLifetime,
            max_seconds: 600
        })
    );
    assert!(b.with_out_of_band_code_lifetime(secs(600)).build().is_ok());
    assert!(b.with_out_of_band_code_lifetime(secs(599)).build().is_ok());
    assert_eq!(
        b.with_pending_setup_lifetime(TimeDelta::zero()).build(),
        Err(CompanyPolicyError::NotPositive {
            setting: DurationSetting::PendingSetupLifetime
        })
    );
    assert_eq!(
        b.with_attempts_per_challenge(0).build(),
        Err(CompanyPolicyError::ZeroAttempts)
    );
    // An admin who switches off SMS and voice must drop those re-sends too.
    let app_only = MethodSet::of(&[Method::AuthenticatorApp, Method::PushApp]);
    assert_eq!(
        b.with_allowed_methods(app_only).build(),
        Err(CompanyPolicyError::ResendWithoutMethod {
            channel: CodeChannel::Sms
        })
    );
    let policy = b
        .with_allowed_methods(app_only)
        .with_resend_channels(CodeChannelSet::of(&[CodeChannel::Email]))
        .build()
        .unwrap();
    assert_eq!(policy.allowed_methods(), app_only);
    // Switching off e-mail re-send is allowed.
    assert!(
        b.with_resend_channels(CodeChannelSet::all().without(CodeChannel::Email))
            .build()
            .is_ok()
    );
}

// ---------------------------------------------------------------------------
// The gate
// ---------------------------------------------------------------------------

fn all_methods() -> MethodSet {
    MethodSet::of(&[
        Method::AuthenticatorApp,
        Method::PushApp,
        Method::Sms,
        Method::VoiceCall,
    ])
}

#[test]
fn enrolled_users_are_challenged_not_waved_through() {
    let status = EnrollmentStatus::Enrolled {
        methods: MethodSet::of(&[Method::Sms, Method::AuthenticatorApp]),
        since: t0() - secs(86_400),
    };
    for settings in [not_enforced(), enforced()] {
        assert_eq!(
            gate(&status, &settings, &CompanyPolicy::default(), t0()),
            GateDecision::ChallengeSecondFactor {
                methods: MethodSet::of(&[Method::Sms, Method::AuthenticatorApp])
            }
        );
    }
    // Only allowed methods are offered for the challenge.
    let no_sms = CompanyPolicy::builder()
        .with_allowed_methods(all_methods().without(Method::Sms))
        .with_resend_channels(CodeChannelSet::of(&[
            CodeChannel::VoiceCall,
            CodeChannel::Email,
        ]))
        .build()
        .unwrap();
    assert_eq!(
        gate(&status, &enforced(), &no_sms, t0()),
        GateDecision::ChallengeSecondFactor {
            methods: MethodSet::of(&[Method::AuthenticatorApp])
        }
    );
}

#[test]
fn users_whose_only_method_was_switched_off_must_replace_it() {
    let policy = CompanyPolicy::builder()
        .with_allowed_methods(MethodSet::of(&[Method::AuthenticatorApp]))
        .with_resend_channels(CodeChannelSet::of(&[CodeChannel::Email]))
        .build()
        .unwrap();
    let status = EnrollmentStatus::Enrolled {
        methods: MethodSet::of(&[Method::Sms]),
        since: t0(),
    };
    assert_eq!(
        gate(&status, &not_enforced(), &policy, t0()),
        GateDecision::ChallengeThenReplaceMethod {
            challenge_with: MethodSet::of(&[Method::Sms]),
            set_up_one_of: MethodSet::of(&[Method::AuthenticatorApp]),
        }
    );
}

#[test]
fn not_enrolled_user_is_offered_setup_with_a_48_hour_deferral() {
    let decision = gate(
        &EnrollmentStatus::NotEnrolled { deferrals_used: 0 },
        &not_enforced(),
        &CompanyPolicy::default(),
        t0(),
    );
    let GateDecision::OfferSetup { methods, deferral } = decision else {
        panic!("expected OfferSetup, got {decision:?}");
    };
    assert_eq!(methods, all_methods());
    assert_eq!(
        deferral.until,
        Utc.with_ymd_and_hms(2026, 3, 3, 9, 0, 0).unwrap()
    );
    assert_eq!(deferral.deferrals_used, 1);
    assert_eq!(deferral.remaining, DeferralsLeft::AtMost(2));
}

#[test]
fn deferral_ends_at_its_until_second() {
    let until = t0();
    let status = EnrollmentStatus::Deferred {
        until,
        deferrals_used: 1,
    };
    let policy = CompanyPolicy::default();
    assert_eq!(
        gate(&status, &not_enforced(), &policy, until - secs(1)),
        GateDecision::DeferralRunning { until }
    );
    for now in [until, until + secs(1)] {
        let decision = gate(&status, &not_enforced(), &policy, now);
        assert!(
            matches!(
                decision,
                GateDecision::OfferSetup {
                    deferral: DeferralOffer {
                        deferrals_used: 2,
                        remaining: DeferralsLeft::AtMost(1),
                        ..
                    },
                    ..
                }
            ),
            "at {now}: {decision:?}"
        );
    }
}

#[test]
fn enforcement_voids_a_running_deferral_at_the_next_login() {
    let status = EnrollmentStatus::Deferred {
        until: t0() + secs(H48),
        deferrals_used: 1,
    };
    assert_eq!(
        gate(
            &status,
            &not_enforced(),
            &CompanyPolicy::default(),
            t0() + secs(1)
        ),
        GateDecision::DeferralRunning {
            until: t0() + secs(H48)
        }
    );
    for status in [
        status,
        EnrollmentStatus::NotEnrolled { deferrals_used: 0 },
        EnrollmentStatus::Pending {
            method: Method::Sms,
            since: t0(),
            deferrals_used: 0,
        },
    ] {
        assert_eq!(
            gate(
                &status,
                &enforced(),
                &CompanyPolicy::default(),
                t0() + secs(1)
            ),
            GateDecision::RequireSetup {
                methods: all_methods(),
                reason: SetupRequired::CompanyEnforces
            }
        );
    }
}

#[test]
fn the_deferral_cap_is_counted_to_the_last_one() {
    let policy = CompanyPolicy::default();
    let at = |used| {
        gate(
            &EnrollmentStatus::NotEnrolled {
                deferrals_used: used,
            },
            &not_enforced(),
            &policy,
            t0(),
        )
    };
    assert!(matches!(
        at(2),
        GateDecision::OfferSetup {
            deferral: DeferralOffer {
                deferrals_used: 3,
                remaining: DeferralsLeft::AtMost(0),
                ..
            },
            ..
        }
    ));
    for used in [3, 4, u32::MAX] {
        assert_eq!(
            at(used),
            GateDecision::RequireSetup {
                methods: all_methods(),
                reason: SetupRequired::DeferralCapReached { used, cap: 3 }
            }
        );
    }
    let unlimited = CompanyPolicy::builder()
        .with_deferral_cap(DeferralCap::Unlimited)
        .build()
        .unwrap();
    assert!(matches!(
        gate(
            &EnrollmentStatus::NotEnrolled {
                deferrals_used: u32::MAX
            },
            &not_enforced(),
            &unlimited,
            t0()
        ),
        GateDecision::OfferSetup {
            deferral: DeferralOffer {
                deferrals_used: u32::MAX,
                remaining: DeferralsLeft::Unlimited,
                ..
            },
            ..
        }
    ));
    let none = CompanyPolicy::builder()
        .with_deferral_cap(DeferralCap::AtMost(0))
        .build()
        .unwrap();
    assert_eq!(
        gate(
            &EnrollmentStatus::NotEnrolled { deferrals_used: 0 },
            &not_enforced(),
            &none,
            t0()
        ),
        GateDecision::RequireSetup {
            methods: all_methods(),
            reason: SetupRequired::DeferralSwitchedOff
        }
    );
}

#[test]
fn pending_users_are_offered_setup_like_the_unenrolled() {
    let status = EnrollmentStatus::Pending {
        method: Method::AuthenticatorApp,
        since: t0() - secs(60),
        deferrals_used: 3,
    };
    assert_eq!(
        gate(&status, &not_enforced(), &CompanyPolicy::default(), t0()),
        GateDecision::RequireSetup {
            methods: all_methods(),
            reason: SetupRequired::DeferralCapReached { used: 3, cap: 3 }
        }
    );
}

#[test]
fn a_deferral_longer_than_the_policy_allows_is_not_honoured() {
    let policy = CompanyPolicy::default();
    let longest = EnrollmentStatus::Deferred {
        until: t0() + secs(H48),
        deferrals_used: 1,
    };
    assert_eq!(
        gate(&longest, &not_enforced(), &policy, t0()),
        GateDecision::DeferralRunning {
            until: t0() + secs(H48)
        }
    );
    let forged = EnrollmentStatus::Deferred {
        until: t0() + secs(H48 + 1),
        deferrals_used: 1,
    };
    assert!(matches!(
        gate(&forged, &not_enforced(), &policy, t0()),
        GateDecision::OfferSetup { .. }
    ));
}

#[test]
fn edges_of_time_and_records_fail_closed() {
    let policy = CompanyPolicy::default();
    let end_of_time = DateTime::<Utc>::MAX_UTC;
    assert_eq!(
        gate(
            &EnrollmentStatus::NotEnrolled { deferrals_used: 0 },
            &not_enforced(),
            &policy,
            end_of_time
        ),
        GateDecision::RequireSetup {
            methods: all_methods(),
            reason: SetupRequired::DeferralOutOfRange
        }
    );
    let empty = EnrollmentStatus::Enrolled {
        methods: MethodSet::empty(),
        since: t0(),
    };
    assert_eq!(
        gate(&empty, &not_enforced(), &policy, t0()),
        GateDecision::RequireSetup {
            methods: all_methods(),
            reason: SetupRequired::EnrolledWithoutMethod
        }
    );
}

fn any_status() -> impl Strategy<Value = EnrollmentStatus> {
    let time = (-400_000_i64..400_000).prop_map(|s| t0() + secs(s));
    let method = prop::sample::select(vec![
        Method::AuthenticatorApp,
        Method::PushApp,
        Method::Sms,
        Method::VoiceCall,
    ]);
    prop_oneof![
        (0_u32..6).prop_map(|deferrals_used| EnrollmentStatus::NotEnrolled { deferrals_used }),
        (method, time.clone(), 0_u32..6).prop_map(|(method, since, deferrals_used)| {
            EnrollmentStatus::Pending {
                method,
                since,
                deferrals_used,
            }
        }),
        (time.clone(), 0_u32..6).prop_map(|(until, deferrals_used)| EnrollmentStatus::Deferred {
            until,
            deferrals_used
        }),
        (0_u8..16, time).prop_map(|(bits, since)| EnrollmentStatus::Enrolled {
            methods: Method::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, m)| m)
                .collect(),
            since
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Under enforcement no login ends without a second factor or set-up, and
    /// no deferral is offered.
    #[test]
    fn enforcement_leaves_no_way_around(status in any_status(), offset in -400_000_i64..400_000) {
        let decision = gate(&status, &enforced(), &CompanyPolicy::default(), t0() + secs(offset));
        prop_assert!(
            !matches!(decision, GateDecision::DeferralRunning { .. } | GateDecision::OfferSetup { .. }),
            "{:?}", decision
        );
    }

    /// Whatever the policy allows, a challenge uses only allowed methods.
    #[test]
    fn challenges_use_allowed_methods(status in any_status(), drop_sms in any::<bool>()) {
        let policy = if drop_sms {
            CompanyPolicy::builder()
                .with_allowed_methods(all_methods().without(Method::Sms))
                .with_resend_channels(CodeChannelSet::of(&[CodeChannel::Email]))
                .build()
                .unwrap()
        } else {
            CompanyPolicy::default()
        };
        if let GateDecision::ChallengeSecondFactor { methods } = gate(&status, &not_enforced(), &policy, t0()) {
            prop_assert!(!methods.is_empty());
            prop_assert_eq!(methods.intersection(policy.allowed_methods()), methods);
        }
    }
}

// ---------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------

fn roster() -> Vec<EmployeeRecord> {
    vec![
        EmployeeRecord::new(
            user("u3"),
            "carol",
            "carol@example.com",
            AccountKind::PartnerEmployee,
            networks(AccountKind::PartnerEmployee),
            EnrollmentStatus::Enrolled {
                methods: MethodSet::of(&[Method::Sms, Method::AuthenticatorApp]),
                since: Utc.with_ymd_and_hms(2026, 1, 5, 8, 30, 0).unwrap(),
            },
        )
        .with_last_second_factor(Utc.with_ymd_and_hms(2026, 2, 28, 17, 45, 12).unwrap())
        .with_phone_hint(PhoneHint::from_number("+1 555 010 4567").unwrap()),
        EmployeeRecord::new(
            user("u1"),
            "=HYPERLINK(\"http://x\")",
            "@evil.example",
            AccountKind::EndUserClient,
            networks(AccountKind::EndUserClient),
            EnrollmentStatus::NotEnrolled { deferrals_used: 0 },
        ),
        EmployeeRecord::new(
            user("u2"),
            "Bob, Jr.",
            "bob@example.com",
            AccountKind::PartnerEmployee,
            networks(AccountKind::PartnerEmployee),
            EnrollmentStatus::Deferred {
                until: t0() + secs(3600),
                deferrals_used: 2,
            },
        ),
        EmployeeRecord::new(
            user("u5"),
            "alice",
            "alice@example.com",
            AccountKind::PartnerEmployee,
            networks(AccountKind::PartnerEmployee),
            EnrollmentStatus::Pending {
                method: Method::VoiceCall,
                since: t0() - secs(120),
                deferrals_used: 1,
            },
        )
        .with_phone_hint(PhoneHint::from_last_digits("89").unwrap()),
        // "Carol" and u3's "carol" are equal ignoring case; the exact name
        // then puts "Carol" first.
        EmployeeRecord::new(
            user("u4"),
            "Carol",
            "carol2@example.com",
            AccountKind::EndUserClient,
            networks(AccountKind::EndUserClient),
            EnrollmentStatus::Enrolled {
                methods: MethodSet::of(&[Method::PushApp]),
                since: Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap(),
            },
        ),
        // A deferral that ends exactly now is over.
        EmployeeRecord::new(
            user("u6"),
            "dave",
            "dave@example.com",
            AccountKind::PartnerEmployee,
            networks(AccountKind::PartnerEmployee),
            EnrollmentStatus::Deferred {
                until: t0(),
                deferrals_used: 3,
            },
        ),
    ]
}

#[test]
fn report_sorts_by_status_then_name_then_id_and_counts() {
    let report = EnrollmentReport::build(&enforced(), roster(), t0()).unwrap();
    let order: Vec<&str> = report.rows().iter().map(|r| r.user_id().as_str()).collect();
    assert_eq!(order, ["u1", "u6", "u2", "u5", "u4", "u3"]);
    let kinds: Vec<StatusKind> = report.rows().iter().map(|r| r.kind()).collect();
    assert_eq!(
        kinds,
        [
            StatusKind::NotEnrolled,
            StatusKind::NotEnrolled,
            StatusKind::Deferred,
            StatusKind::PendingVerification,
            StatusKind::Enrolled,
            StatusKind::Enrolled,
        ]
    );
    let totals = report.totals();
    assert_eq!(
        (
            totals.not_enrolled,
            totals.deferred,
            totals.pending_verification,
            totals.enrolled,
            totals.total
        ),
        (2, 1, 1, 2, 6)
    );
    assert_eq!(totals.of(StatusKind::Enrolled), 2);
    assert_eq!(
        report.rows()[1].status(),
        &EnrollmentStatus::NotEnrolled { deferrals_used: 3 }
    );
    assert_eq!(
        report.rows()[0].trusted_networks(),
        TrustedNetworks::DoNotApply
    );
    assert_eq!(report.rows()[5].trusted_networks(), TrustedNetworks::Apply);
    assert_eq!(report.enforcement(), enforced().enforcement());
    assert_eq!(report.company(), &acme());
    assert_eq!(report.generated_at(), t0());
}

#[test]
fn deferral_in_the_report_ends_at_its_until_second() {
    let row = |now| {
        let employee = EmployeeRecord::new(
            user("u"),
            "x",
            "x@example.com",
            AccountKind::PartnerEmployee,
            networks(AccountKind::PartnerEmployee),
            EnrollmentStatus::Deferred {
                until: t0(),
                deferrals_used: 1,
            },
        );
        EnrollmentReport::build(&not_enforced(), [employee], now)
            .unwrap()
            .rows()[0]
            .kind()
    };
    assert_eq!(row(t0() - secs(1)), StatusKind::Deferred);
    assert_eq!(row(t0()), StatusKind::NotEnrolled);
    assert_eq!(row(t0() + secs(1)), StatusKind::NotEnrolled);
}

#[test]
fn duplicate_users_are_refused() {
    let mut employees = roster();
    employees.push(EmployeeRecord::new(
        user("u2"),
        "Someone else",
        "else@example.com",
        AccountKind::PartnerEmployee,
        networks(AccountKind::PartnerEmployee),
        EnrollmentStatus::NotEnrolled { deferrals_used: 0 },
    ));
    assert_eq!(
        EnrollmentReport::build(&enforced(), employees, t0()),
        Err(ReportError::DuplicateUser {
            user_id: user("u2")
        })
    );
}

#[test]
fn csv_export_is_quoted_neutralised_and_masked() {
    let report = EnrollmentReport::build(&enforced(), roster(), t0()).unwrap();
    let expected = concat!(
        "\"status\",\"display_name\",\"user_id\",\"email\",\"account_kind\",\"methods\",\"since\",",
        "\"deferred_until\",\"deferrals_used\",\"last_second_factor\",\"phone\",\"trusted_networks\"\r\n",
        "\"not_enrolled\",\"'=HYPERLINK(\"\"http://x\"\")\",\"u1\",\"'@evil.example\",\"end_user_client\",",
        "\"\",\"\",\"\",\"0\",\"\",\"\",\"do not apply\"\r\n",
        "\"not_enrolled\",\"dave\",\"u6\",\"dave@example.com\",\"partner_employee\",",
        "\"\",\"\",\"\",\"3\",\"\",\"\",\"apply\"\r\n",
        "\"deferred\",\"Bob, Jr.\",\"u2\",\"bob@example.com\",\"partner_employee\",",
        "\"\",\"\",\"2026-03-01T10:00:00Z\",\"2\",\"\",\"\",\"apply\"\r\n",
        "\"pending_verification\",\"alice\",\"u5\",\"alice@example.com\",\"partner_employee\",",
        "\"voice_call\",\"2026-03-01T08:58:00Z\",\"\",\"1\",\"\",\"•••• 89\",\"apply\"\r\n",
        "\"enrolled\",\"Carol\",\"u4\",\"carol2@example.com\",\"end_user_client\",",
        "\"push_app\",\"2025-12-01T00:00:00Z\",\"\",\"\",\"\",\"\",\"do not apply\"\r\n",
        "\"enrolled\",\"carol\",\"u3\",\"carol@example.com\",\"partner_employee\",",
        "\"authenticator_app;sms\",\"2026-01-05T08:30:00Z\",\"\",\"\",\"2026-02-28T17:45:12Z\",",
        "\"•••• 4567\",\"apply\"\r\n",
    );
    assert_eq!(report.to_csv(), expected);
    assert!(!report.to_csv().contains("555"));
}

#[test]
fn report_does_not_depend_on_input_order() {
    let forward = EnrollmentReport::build(&enforced(), roster(), t0()).unwrap();
    let mut reversed_input = roster();
    reversed_input.reverse();
    let reversed = EnrollmentReport::build(&enforced(), reversed_input, t0()).unwrap();
    assert_eq!(forward, reversed);
    assert_eq!(forward.to_csv(), reversed.to_csv());
}

#[test]
fn phone_hints_never_hold_a_full_number() {
    let hint = PhoneHint::from_number("+1 (555) 010-4567").unwrap();
    assert_eq!(hint.to_string(), "•••• 4567");
    assert!(!format!("{hint:?}").contains("555"));
    assert_eq!(
        PhoneHint::from_number("12345").unwrap().to_string(),
        "•••• 45"
    );
    assert!(PhoneHint::from_last_digits("01234").is_err());
}

/// Parses RFC 4180 text whose fields are all quoted, as the export writes it.
fn parse_quoted_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut field = String::new();
                loop {
                    match chars.next().unwrap() {
                        '"' if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        '"' => break,
                        other => field.push(other),
                    }
                }
                record.push(field);
            }
            ',' => {}
            '\r' => {
                assert_eq!(chars.next(), Some('\n'));
                records.push(std::mem::take(&mut record));
            }
            other => panic!("unexpected {other:?} outside a quoted field"),
        }
    }
    assert!(record.is_empty());
    records
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any name and e-mail survive the CSV export, only gaining a `'` when
    /// they start like a formula; no cell ever starts like one.
    #[test]
    fn csv_round_trips_and_neutralises(name in "\\PC{0,12}|[=+\\-@\t\r\n\",;]{1,4}\\PC{0,4}", email in "[=+@a-z\",\r\n]{0,8}") {
        let employee = EmployeeRecord::new(
            user("u"),
            name.clone(),
            email.clone(),
            AccountKind::PartnerEmployee, networks(AccountKind::PartnerEmployee),
            EnrollmentStatus::NotEnrolled { deferrals_used: 0 },
        );
        let report = EnrollmentReport::build(&not_enforced(), [employee], t0()).unwrap();
        let records = parse_quoted_csv(&report.to_csv());
        prop_assert_eq!(records.len(), 2);
        prop_assert_eq!(records[1].len(), 12);
        for record in &records {
            for cell in record {
                prop_assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{:?}", cell);
            }
        }
        let expect = |s: &str| {
            if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() }
        };
        prop_assert_eq!(&records[1][1], &expect(&name));
        prop_assert_eq!(&records[1][3], &expect(&email));
    }
}

#[cfg(feature = "serde")]
mod serde_records {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn json_export_has_the_documented_shape() {
        let report = EnrollmentReport::build(&enforced(), roster(), t0()).unwrap();
        let value: Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
        assert_eq!(value["company"], json!("acme"));
        assert_eq!(value["generated_at"], json!("2026-03-01T09:00:00Z"));
        assert_eq!(
            value["enforcement"],
            json!({"state": "enforced", "by": "alice", "at": "2026-03-01T09:00:00Z"})
        );
        assert_eq!(
            value["totals"],
            json!({"not_enrolled": 2, "deferred": 1, "pending_verification": 1, "enrolled": 2, "total": 6})
        );
        let employees = value["employees"].as_array().unwrap();
        assert_eq!(employees.len(), 6);
        assert_eq!(
            employees[5],
            json!({
                "user_id": "u3",
                "display_name": "carol",
                "email": "carol@example.com",
                "account_kind": "partner_employee",
                "status": {
                    "state": "enrolled",
                    "methods": ["authenticator_app", "sms"],
                    "since": "2026-01-05T08:30:00Z"
                },
                "last_second_factor": "2026-02-28T17:45:12Z",
                "phone": "•••• 4567",
                "trusted_networks": "apply"
            })
        );
        assert_eq!(
            employees[3]["status"],
            json!({"state": "pending_verification", "method": "voice_call", "since": "2026-03-01T08:58:00Z", "deferrals_used": 1})
        );
        assert_eq!(employees[0]["trusted_networks"], json!("do_not_apply"));
        assert_eq!(employees[0]["phone"], Value::Null);
    }

    #[test]
    fn settings_round_trip_and_invalid_records_are_refused() {
        for settings in [not_enforced(), enforced()] {
            let text = serde_json::to_string(&settings).unwrap();
            assert_eq!(
                serde_json::from_str::<CompanySettings>(&text).unwrap(),
                settings
            );
        }
        assert_eq!(
            serde_json::to_value(enforced()).unwrap(),
            json!({"company": "acme", "enforcement": {"state": "enforced", "by": "alice", "at": "2026-03-01T09:00:00Z"}})
        );
        for bad in [
            // Enforced without who or when.
            r#"{"company":"acme","enforcement":{"state":"enforced"}}"#,
            // An unknown state.
            r#"{"company":"acme","enforcement":{"state":"disabled"}}"#,
            // An invalid identifier.
            r#"{"company":"","enforcement":{"state":"not_enforced"}}"#,
            r#"{"company":"acme","enforcement":{"state":"enforced","by":"a\nb","at":"2026-03-01T09:00:00Z"}}"#,
            // Fields that would smuggle in another meaning.
            r#"{"company":"acme","enforcement":{"state":"not_enforced"},"enforced":false}"#,
            r#"{"company":"acme","enforcement":{"state":"not_enforced","by":"alice"}}"#,
        ] {
            assert!(
                serde_json::from_str::<CompanySettings>(bad).is_err(),
                "{bad}"
            );
        }
        // A record that decodes fine may still go back: the load check refuses it.
        let loaded: CompanySettings =
            serde_json::from_str(r#"{"company":"acme","enforcement":{"state":"not_enforced"}}"#)
                .unwrap();
        assert_eq!(
            CompanySettings::accept_loaded(&enforced(), loaded),
            Err(LoadError::EnforcementReverted)
        );
    }

    #[test]
    fn audit_event_has_a_stable_name() {
        let event = CompanyEvent::EnforcementEnabled {
            company: acme(),
            actor: user("alice"),
            at: t0(),
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"event": "company.2fa_enforced", "company": "acme", "actor": "alice", "at": "2026-03-01T09:00:00Z"})
        );
    }

    #[test]
    fn policy_records_are_validated_when_read() {
        let policy = CompanyPolicy::default();
        let value = serde_json::to_value(policy).unwrap();
        assert_eq!(
            value,
            json!({
                "allowed_methods": ["authenticator_app", "push_app", "sms", "voice_call"],
                "resend_channels": ["sms", "voice_call", "email"],
                "deferral_length_secs": 172_800,
                "deferral_cap": {"at_most": 3},
                "trusted_network_reprompt_secs": 1_814_400,
                "out_of_band_code_lifetime_secs": 600,
                "pending_setup_lifetime_secs": 1800,
                "attempts_per_challenge": 5
            })
        );
        assert_eq!(
            serde_json::from_value::<CompanyPolicy>(value.clone()).unwrap(),
            policy
        );
        for (field, bad) in [
            ("allowed_methods", json!([])),
            ("deferral_length_secs", json!(0)),
            ("out_of_band_code_lifetime_secs", json!(601)),
            ("attempts_per_challenge", json!(0)),
            ("deferral_length_secs", json!(i64::MAX)),
            ("deferral_cap", json!("sometimes")),
        ] {
            let mut record = value.clone();
            record[field] = bad;
            assert!(
                serde_json::from_value::<CompanyPolicy>(record).is_err(),
                "{field}"
            );
        }
        let mut unlimited = value;
        unlimited["deferral_cap"] = json!("unlimited");
        assert_eq!(
            serde_json::from_value::<CompanyPolicy>(unlimited)
                .unwrap()
                .deferral_cap(),
            DeferralCap::Unlimited
        );
    }

    #[test]
    fn user_status_round_trips() {
        for status in [
            EnrollmentStatus::NotEnrolled { deferrals_used: 2 },
            EnrollmentStatus::Deferred {
                until: t0(),
                deferrals_used: 1,
            },
            EnrollmentStatus::Pending {
                method: Method::Sms,
                since: t0(),
                deferrals_used: 0,
            },
            EnrollmentStatus::Enrolled {
                methods: all_methods(),
                since: t0(),
            },
        ] {
            let text = serde_json::to_string(&status).unwrap();
            assert_eq!(
                serde_json::from_str::<EnrollmentStatus>(&text).unwrap(),
                status
            );
        }
    }
}

/// The trusted-network answer for an account, as `twofa-trusted-network`
/// gives it (partner employees only): the report only shows it.
fn networks(kind: AccountKind) -> TrustedNetworks {
    match kind {
        AccountKind::PartnerEmployee => TrustedNetworks::Apply,
        AccountKind::EndUserClient => TrustedNetworks::DoNotApply,
    }
}
