//! Building and exporting the enrollment report for a large company.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(clippy::unwrap_used, reason = "bench set-up with fixed, valid inputs")]

use std::hint::black_box;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use twofa_enforcement::{CompanySettings, EmployeeRecord, EnrollmentReport, PhoneHint};
use twofa_types::{
    AccountKind, CompanyId, EnrollmentStatus, Method, MethodSet, TrustedNetworks, UserId,
};

const EMPLOYEES: u32 = 100_000;

fn employees(now: DateTime<Utc>) -> Vec<EmployeeRecord> {
    (0..EMPLOYEES)
        .map(|i| {
            let at = now - TimeDelta::seconds(i64::from(i) * 37);
            let status = match i % 4 {
                0 => EnrollmentStatus::NotEnrolled {
                    deferrals_used: i % 3,
                },
                1 => EnrollmentStatus::Deferred {
                    until: now + TimeDelta::seconds(i64::from(i % 1000)),
                    deferrals_used: 1,
                },
                2 => EnrollmentStatus::Pending {
                    method: Method::Sms,
                    since: at,
                    deferrals_used: 0,
                },
                _ => EnrollmentStatus::Enrolled {
                    methods: MethodSet::of(&[Method::AuthenticatorApp, Method::Sms]),
                    since: at,
                },
            };
            let kind = if i % 10 == 0 {
                AccountKind::EndUserClient
            } else {
                AccountKind::PartnerEmployee
            };
            // Names repeat so the sort has to fall back to the user id.
            EmployeeRecord::new(
                UserId::new(format!("user-{i:06}")).unwrap(),
                format!("Employee {}", (i * 7919) % 20_000),
                format!("employee{i}@example.com"),
                kind,
                networks(kind),
                status,
            )
            .with_last_second_factor(at)
            .with_phone_hint(PhoneHint::from_last_digits(&format!("{:04}", i % 10_000)).unwrap())
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let settings = CompanySettings::new(CompanyId::new("acme").unwrap());
    let input = employees(now);

    c.bench_function("build_100k", |b| {
        b.iter_batched(
            || input.clone(),
            |input| EnrollmentReport::build(&settings, input, black_box(now)).unwrap(),
            BatchSize::LargeInput,
        );
    });

    let report = EnrollmentReport::build(&settings, input, now).unwrap();
    c.bench_function("csv_100k", |b| b.iter(|| black_box(&report).to_csv()));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);

/// The trusted-network answer for an account, as `twofa-trusted-network`
/// gives it (partner employees only): the report only shows it.
fn networks(kind: AccountKind) -> TrustedNetworks {
    match kind {
        AccountKind::PartnerEmployee => TrustedNetworks::Apply,
        AccountKind::EndUserClient => TrustedNetworks::DoNotApply,
    }
}
