//! Public-API tests: the one-way switch, permissions, the login gate at its
//! edges, policy validation, and the enrollment report with its exports.
//!
//! This file holds the fixtures and helpers shared by the topic modules.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "helpers outside #[test] functions build fixed fixtures and fail the test on bad input"
)]

mod gate;
mod policy;
mod removal;
mod report;
#[cfg(feature = "serde")]
mod serde_records;
mod switch;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use twofa_enforcement::{
    Actor, CompanyEvent, CompanyPolicy, CompanyPolicyError, CompanyRole, CompanySettings,
    DeferralOffer, DurationSetting, EmployeeRecord, EnforceError, EnforceOutcome, Enforcement,
    EnrollmentReport, GateDecision, LoadError, PhishingResistance, PhoneHint, ReportError,
    SetupRequired, StatusKind, gate,
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

fn all_methods() -> MethodSet {
    MethodSet::of(&[
        Method::AuthenticatorApp,
        Method::PushApp,
        Method::Sms,
        Method::VoiceCall,
        Method::Passkey,
    ])
}

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

/// The trusted-network answer for an account, as `twofa-trusted-network`
/// gives it (partner employees only): the report only shows it.
fn networks(kind: AccountKind) -> TrustedNetworks {
    match kind {
        AccountKind::PartnerEmployee => TrustedNetworks::Apply,
        AccountKind::EndUserClient => TrustedNetworks::DoNotApply,
    }
}
