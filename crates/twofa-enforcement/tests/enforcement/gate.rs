//! The login gate at its edges: challenges, set-up, deferrals ending at their
//! until second, the deferral cap, and failing closed.

use super::*;

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
