//! The push prompt (the login page, the user's device) and the company
//! administrator's operations, each checked against the model.

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use twofa::delivery::{MatchNumber, PushResponse, SentMessage};
use twofa::types::Method;
use twofa::{AdminError, AllowedBy, ClientContext, LoginStep, PushPoll};

use crate::Pick;
use crate::harness::{
    Harness, LABELS, NETWORKS, admin_code, block_on, cidr, policy, printed_safely,
};
use crate::model::{Model, PushModel, admin_step};

pub(crate) fn send_push(
    h: &Harness,
    m: &mut Model,
    now: DateTime<Utc>,
    pick: Pick,
) -> Option<String> {
    let (ticket, index) = m.pick(pick, h.unknown_ticket);
    let result = block_on(h.twofa().send_push(&h.bob, &ticket));
    if !m.usable(index, now) {
        assert!(result.is_err(), "an unusable ticket sent a push");
    }
    if let Ok(sent) = &result {
        let Some(SentMessage::Push(message)) = h.outbox.last() else {
            panic!("a push reported sent is not in the outbox");
        };
        let index = index.expect("a push for an unknown ticket was sent");
        assert_eq!(
            message.client_address, m.tickets[index].client_ip,
            "the prompt does not say where the login comes from"
        );
        m.pushes.push(PushModel {
            request: message.request,
            ticket,
            number: sent.match_number.value(),
            approved: false,
            refused: false,
            consumed: false,
        });
    }
    Some(format!("{result:?}"))
}

/// The device answers one of the prompts sent so far: approve with the
/// number shown, approve with another number, or deny.
pub(crate) fn respond_push(h: &Harness, m: &mut Model, which: u8, answer: u8) -> Option<String> {
    if m.pushes.is_empty() {
        return None;
    }
    let index = m.pushes.len() - 1 - usize::from(which) % m.pushes.len();
    let push = &m.pushes[index];
    let wrong = (push.number + 1) % 100;
    let (number, approves) = match answer % 3 {
        0 => (Some(push.number), true),
        1 => (Some(wrong), false),
        _ => (None, false),
    };
    let response = match number.map(MatchNumber::new) {
        Some(Ok(number)) => PushResponse::Approve { number },
        Some(Err(_)) => panic!("match numbers are two digits"),
        None => PushResponse::Deny,
    };
    let result = block_on(h.twofa().respond_to_push(&h.bob, push.request, response));
    if result.is_ok() {
        let push = &mut m.pushes[index];
        if approves {
            assert!(!push.refused, "a refused prompt approved later");
            push.approved = true;
        } else {
            assert!(!push.approved, "an approved prompt refused later");
            push.refused = true;
        }
    }
    Some(format!("{result:?}"))
}

pub(crate) fn poll_push(
    h: &Harness,
    m: &mut Model,
    now: DateTime<Utc>,
    pick: Pick,
) -> Option<String> {
    let (ticket, index) = m.pick(pick, h.unknown_ticket);
    let result = block_on(h.twofa().poll_push(&h.bob, &ticket));
    if !m.usable(index, now) {
        assert!(result.is_err(), "an unusable ticket polled a push");
    }
    if matches!(result, Ok(PushPoll::Allowed(_) | PushPoll::SetUp(_))) {
        let push = m
            .pushes
            .iter_mut()
            .rev()
            .find(|p| p.ticket == ticket && p.approved && !p.consumed)
            .unwrap_or_else(|| panic!("a push login without an unused approval"));
        push.consumed = true;
    }
    match &result {
        Ok(PushPoll::Allowed(allowed)) => {
            let by = AllowedBy::SecondFactor {
                method: Method::PushApp,
            };
            assert_eq!(allowed.by, by);
            m.second_factor_passed(index, now);
            m.complete(index);
        }
        Ok(PushPoll::SetUp(_)) => m.set_up_instead(index),
        _ => {}
    }
    Some(format!("{result:?}"))
}

/// Whether the administrator's last second factor is recent at `now`;
/// when it is not, `result` must be the step-up refusal.
fn fresh<T: std::fmt::Debug>(
    m: &Model,
    now: DateTime<Utc>,
    result: &Result<T, AdminError>,
) -> bool {
    let fresh = now < m.admin_fresh_until;
    if !fresh {
        assert!(
            matches!(result, Err(AdminError::StepUpRequired)),
            "a company operation without a recent second factor: {result:?}"
        );
    }
    fresh
}

/// The administrator confirms it is her with her app (when the current
/// step has not been used yet: a replay is the login tests' subject).
pub(crate) fn step_up(h: &Harness, m: &mut Model, now: DateTime<Utc>) -> Option<String> {
    let step = admin_step(now);
    if step <= m.admin_last_step {
        return None;
    }
    let alice = h.admin.user();
    let client = ClientContext::new(IpAddr::from([192, 0, 2, 1]));
    let screen = match block_on(h.twofa().begin_step_up(alice, &client)) {
        Ok(LoginStep::Challenge(screen)) => screen,
        other => panic!("a step-up is always a challenge: {other:?}"),
    };
    let code = admin_code(&h.admin_key, now)?;
    let result = block_on(h.twofa().submit_code(alice, &screen.ticket, &code));
    assert!(
        matches!(result, Ok(LoginStep::Allowed(_) | LoginStep::SetUp(_))),
        "the administrator's right code: {result:?}"
    );
    m.admin_last_step = step;
    m.admin_fresh_until = now + TimeDelta::minutes(10);
    Some(format!("{result:?}"))
}

pub(crate) fn enforce(
    h: &Harness,
    m: &mut Model,
    now: DateTime<Utc>,
    admin: bool,
) -> Option<String> {
    let actor = if admin { &h.admin } else { &h.member };
    let result = block_on(h.twofa().enforce_two_factor(actor));
    assert_eq!(
        result.is_ok(),
        admin && fresh(m, now, &result),
        "{result:?}"
    );
    if result.is_ok() {
        m.enforced = true;
    }
    Some(format!("{result:?}"))
}

pub(crate) fn set_policy(
    h: &Harness,
    m: &mut Model,
    now: DateTime<Utc>,
    admin: bool,
    choice: u8,
) -> Option<String> {
    let actor = if admin { &h.admin } else { &h.member };
    let chosen = policy(choice);
    let result = block_on(h.twofa().set_company_policy(actor, chosen));
    assert_eq!(
        result.is_ok(),
        admin && fresh(m, now, &result),
        "{result:?}"
    );
    if result.is_ok() {
        m.policy = chosen;
    }
    Some(format!("{result:?}"))
}

pub(crate) fn add_network(
    h: &Harness,
    m: &mut Model,
    now: DateTime<Utc>,
    network: u8,
    label: u8,
) -> Option<String> {
    let network = cidr(NETWORKS[usize::from(network) % NETWORKS.len()]);
    let label = LABELS[usize::from(label) % LABELS.len()];
    let result = block_on(h.twofa().add_trusted_network(&h.admin, network, label));
    let listed = m.allowlist.iter().any(|(n, _)| *n == network);
    // The service's default limit, over the union of the networks.
    let too_wide = !twofa::trusted_network::AddressSpaceLimit::default().allows(
        twofa::trusted_network::AddressSpace::of(
            m.allowlist.iter().map(|(n, _)| *n).chain([network]),
        ),
    );
    if !fresh(m, now, &result) {
        return Some(format!("{result:?}"));
    }
    if result.is_ok() {
        assert!(!listed, "a network listed twice");
        assert!(!too_wide, "more address space trusted than the limit");
        m.allowlist.push((network, now));
    } else if !label.chars().any(char::is_control) {
        assert!(listed || too_wide, "{result:?}");
    }
    Some(format!("{result:?}"))
}

pub(crate) fn remove_network(
    h: &Harness,
    m: &mut Model,
    now: DateTime<Utc>,
    network: u8,
) -> Option<String> {
    let network = cidr(NETWORKS[usize::from(network) % NETWORKS.len()]);
    let result = block_on(h.twofa().remove_trusted_network(&h.admin, network));
    if !fresh(m, now, &result) {
        return Some(format!("{result:?}"));
    }
    let listed = m.allowlist.iter().any(|(n, _)| *n == network);
    assert_eq!(result.is_ok(), listed, "{result:?}");
    m.allowlist.retain(|(n, _)| *n != network);
    Some(format!("{result:?}"))
}

pub(crate) fn revoke_grant(h: &Harness, m: &mut Model, now: DateTime<Utc>) -> Option<String> {
    let result = block_on(h.twofa().revoke_trust_grant(&h.admin, &h.bob));
    if !fresh(m, now, &result) {
        return Some(format!("{result:?}"));
    }
    if result.is_ok() {
        m.grants.clear();
    }
    Some(format!("{result:?}"))
}

pub(crate) fn reset_factor(h: &Harness, m: &mut Model, now: DateTime<Utc>) -> Option<String> {
    let result = block_on(h.twofa().reset_factor(&h.admin, &h.bob));
    if !fresh(m, now, &result) {
        return Some(format!("{result:?}"));
    }
    if result.is_ok() {
        m.grants.clear();
        m.recovery.clear();
        m.deferral = None;
    }
    Some(format!("{result:?}"))
}

pub(crate) fn report(h: &Harness) -> Option<String> {
    let report = block_on(h.twofa().enrollment_report(&h.admin))
        .unwrap_or_else(|error| panic!("report refused: {error}"));
    assert_eq!(
        report.totals().total,
        3,
        "the company has two users and the administrator"
    );
    printed_safely(&report.to_csv());
    Some(format!("{report:?}"))
}
