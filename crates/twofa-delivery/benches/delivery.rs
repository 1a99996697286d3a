//! Out-of-band codes and message texts: issuing a challenge (code, keyed
//! hash, SMS text), checking a right and a wrong code, and rendering the
//! code messages and security notices.

#![allow(missing_docs, reason = "criterion generates the bench entry point")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "fixed bench data cannot fail"
)]

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use twofa_delivery::{
    ChallengePolicy, ChallengeRequest, Destination, EmailAddress, Issuer, MessageTemplates, Notice,
    OobChallenge, OriginHost, PhoneNumber, Purpose, ServerKey,
};
use twofa_types::{CodeChannel, UserId};

fn templates() -> MessageTemplates {
    MessageTemplates::new(Issuer::new("Example Portal").unwrap())
        .with_origin_host(OriginHost::new("portal.example.com").unwrap())
}

fn phone() -> PhoneNumber {
    PhoneNumber::from_e164("+447400123456").unwrap()
}

fn request(channel: CodeChannel) -> ChallengeRequest {
    ChallengeRequest::new(
        UserId::new("user-1").unwrap(),
        Purpose::Enrollment,
        Destination::Phone(phone()),
        channel,
    )
}

fn challenges(c: &mut Criterion) {
    let policy = ChallengePolicy::default();
    let templates = templates();
    let key = ServerKey::from_bytes(&[7u8; 32]).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let mut rng = StdRng::seed_from_u64(1);

    let mut group = c.benchmark_group("challenge");
    for (name, channel) in [
        ("issue_sms", CodeChannel::Sms),
        ("issue_voice", CodeChannel::VoiceCall),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                OobChallenge::issue(
                    black_box(request(channel)),
                    &policy,
                    &templates,
                    &key,
                    now,
                    &mut rng,
                )
                .unwrap()
            });
        });
    }

    let prepared = OobChallenge::issue(
        request(CodeChannel::Sms),
        &policy,
        &templates,
        &key,
        now,
        &mut rng,
    )
    .unwrap();
    let code = prepared.code().expose_secret().to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let challenge = prepared.commit();
    group.bench_function("check_right_code", |b| {
        b.iter_batched(
            || challenge.clone(),
            |stored| stored.check(black_box(&code), &policy, &key, now).is_ok(),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("check_wrong_code", |b| {
        b.iter_batched(
            || challenge.clone(),
            |stored| stored.check(black_box(wrong), &policy, &key, now).is_err(),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn notices(c: &mut Criterion) {
    let templates = templates();
    let sms = Destination::Phone(phone());
    let email = Destination::Email(EmailAddress::parse("jane.doe@example.com").unwrap());
    let notice = Notice::RecoveryCodeUsed { remaining: 7 };

    let mut group = c.benchmark_group("notice");
    group.bench_function("render_sms", |b| {
        b.iter(|| templates.render_notice(black_box(notice), &sms));
    });
    group.bench_function("render_email", |b| {
        b.iter(|| templates.render_notice(black_box(notice), &email));
    });
    group.finish();
}

criterion_group!(benches, challenges, notices);
criterion_main!(benches);
