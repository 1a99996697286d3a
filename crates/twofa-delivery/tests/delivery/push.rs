//! Push approval: number matching, expiry on the exact second, the per-user
//! rate limit, and switching push off.

use super::*;

fn push_prepare(
    log: &PushSendLog,
    now: DateTime<Utc>,
    seed: u64,
) -> Result<PreparedPush, PushPrepareError> {
    PushRequest::prepare(
        user(),
        TransactionId::new("login-7").unwrap(),
        &PushOrigin::new(Issuer::new("Example Portal").unwrap())
            .with_client_address("203.0.113.9".parse().unwrap()),
        &PushPolicy::default(),
        log,
        now,
        &mut rng(seed),
    )
}

#[test]
fn push_approval_needs_the_number_shown_on_the_login_page() {
    let prepared = push_prepare(&PushSendLog::new(), t0(), 120).unwrap();
    let shown = prepared.match_number();
    assert!(shown.value() <= 99);
    let message = prepared.message().clone();
    // The prompt says where the login comes from, not which number to pick.
    assert_eq!(message.issuer.as_str(), "Example Portal");
    assert_eq!(message.client_address, Some("203.0.113.9".parse().unwrap()));
    assert_eq!(message.requested_at, t0());
    assert_eq!(message.expires_at, t0() + TimeDelta::minutes(2));
    let (request, log) = prepared.commit();
    assert_eq!(log.recent(&PushPolicy::default(), t0()), vec![t0()]);
    assert_eq!(
        request.status(t0()),
        PushStatus::Pending {
            expires_at: t0() + TimeDelta::minutes(2)
        }
    );
    assert!(request.approval(t0()).is_err());

    let approved = request
        .respond(PushResponse::Approve { number: shown }, t0() + secs(5))
        .unwrap();
    assert_eq!(
        approved.status(t0() + secs(5)),
        PushStatus::Approved { at: t0() + secs(5) }
    );
    assert_eq!(
        approved.approval(t0() + TimeDelta::hours(1)).unwrap().at,
        t0() + secs(5)
    );
    assert_eq!(
        approved
            .respond(PushResponse::Deny, t0() + secs(6))
            .unwrap_err(),
        PushError::AlreadyAnswered
    );

    let wrong = MatchNumber::new(if shown.value() == 99 {
        0
    } else {
        shown.value() + 1
    })
    .unwrap();
    let refused = request
        .respond(PushResponse::Approve { number: wrong }, t0() + secs(5))
        .unwrap();
    assert_eq!(
        refused.status(t0() + secs(5)),
        PushStatus::Denied {
            at: t0() + secs(5),
            reason: DenyReason::NumberMismatch
        }
    );
    assert!(refused.approval(t0() + secs(5)).is_err());
    // One try: the right number afterwards does not help.
    assert_eq!(
        refused
            .respond(PushResponse::Approve { number: shown }, t0() + secs(6))
            .unwrap_err(),
        PushError::AlreadyAnswered
    );

    let denied = request.respond(PushResponse::Deny, t0() + secs(5)).unwrap();
    assert_eq!(
        denied.approval(t0() + secs(5)).unwrap_err().status,
        PushStatus::Denied {
            at: t0() + secs(5),
            reason: DenyReason::UserDenied
        }
    );
}

#[test]
fn push_request_expires_at_the_exact_second() {
    let prepared = push_prepare(&PushSendLog::new(), t0(), 121).unwrap();
    let shown = prepared.match_number();
    let (request, _) = prepared.commit();
    let expires_at = t0() + TimeDelta::minutes(2);
    let approve = PushResponse::Approve { number: shown };
    assert!(request.respond(approve, expires_at - secs(1)).is_ok());
    for at in [expires_at, expires_at + secs(1)] {
        assert_eq!(
            request.respond(approve, at).unwrap_err(),
            PushError::Expired {
                expired_at: expires_at
            }
        );
        assert_eq!(
            request.status(at),
            PushStatus::Expired {
                expired_at: expires_at
            }
        );
        assert!(request.approval(at).is_err());
    }
}

#[test]
fn push_prompts_are_rate_limited_per_user() {
    let policy = PushPolicy::default();
    let mut log = PushSendLog::new();
    let times = [
        t0(),
        t0() + TimeDelta::minutes(1),
        t0() + TimeDelta::minutes(2),
    ];
    for (seed, at) in times.iter().enumerate() {
        let (_, next) = push_prepare(&log, *at, seed as u64).unwrap().commit();
        log = next;
    }
    // The 4th prompt inside the window waits until the first leaves it.
    let retry_after = t0() + TimeDelta::minutes(10);
    let error = push_prepare(&log, t0() + TimeDelta::minutes(3), 9).unwrap_err();
    assert_eq!(error, PushPrepareError::RateLimited { retry_after });
    assert!(
        error
            .to_string()
            .starts_with("too many push prompts; retry after")
    );
    assert_eq!(
        push_prepare(&log, retry_after - secs(1), 9).unwrap_err(),
        PushPrepareError::RateLimited { retry_after }
    );
    let (_, after) = push_prepare(&log, retry_after, 9).unwrap().commit();
    assert_eq!(after.recent(&policy, retry_after).len(), 3);
}

#[test]
fn a_failed_push_send_consumes_no_quota() {
    let outbox = Outbox::new();
    let log = PushSendLog::new();
    for _ in 0..5 {
        outbox.fail_next(1, SendError::Transient(FailureCause::ProviderUnavailable));
        let prepared = push_prepare(&log, t0(), 130).unwrap();
        assert!(block_on(outbox.send_push(prepared.message())).is_err());
    }
    assert_eq!(log, PushSendLog::new());
    let prepared = push_prepare(&log, t0(), 131).unwrap();
    block_on(outbox.send_push(prepared.message())).unwrap();
    assert!(matches!(outbox.last(), Some(SentMessage::Push(_))));
}

#[test]
fn push_can_be_switched_off() {
    let policy =
        PushPolicy::default().with_enabled_channels(ChannelSet::all().without(Channel::Push));
    let result = PushRequest::prepare(
        user(),
        TransactionId::new("login-8").unwrap(),
        &PushOrigin::new(Issuer::new("Example Portal").unwrap()),
        &policy,
        &PushSendLog::new(),
        t0(),
        &mut rng(140),
    );
    assert_eq!(result.unwrap_err(), PushPrepareError::ChannelDisabled);
    assert!(MatchNumber::new(100).is_err());
}

#[test]
fn match_numbers_are_two_typed_digits_from_00_to_99() {
    assert_eq!(MatchNumber::new(0).unwrap().to_string(), "00");
    assert_eq!(MatchNumber::new(7).unwrap().to_string(), "07");
    assert_eq!(MatchNumber::new(99).unwrap().to_string(), "99");
    assert_eq!(MatchNumber::parse("07").unwrap().value(), 7);
    assert_eq!(MatchNumber::parse(" 42 ").unwrap().value(), 42);
    for typed in ["7", "007", "4 2", "-1", "ab", "", "４２", "1e"] {
        assert!(MatchNumber::parse(typed).is_err(), "{typed:?}");
    }
}

#[test]
fn a_blind_approval_is_right_one_time_in_a_hundred() {
    // Every one of the hundred values is drawn, and each about equally
    // often: guessing cannot do better than one in a hundred.
    let mut seen = [0_u32; 100];
    for seed in 0..20_000_u64 {
        let shown = push_prepare(&PushSendLog::new(), t0(), seed)
            .unwrap()
            .match_number();
        seen[usize::from(shown.value())] += 1;
    }
    let (least, most) = (seen.iter().min().unwrap(), seen.iter().max().unwrap());
    assert!(*least > 120 && *most < 290, "{least}..{most}");
}
