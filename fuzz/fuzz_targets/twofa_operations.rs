//! The facade's entry points (two `Twofa` servers on the same in-memory
//! stores, each with its own cache of recent logins, an outbox, a manual
//! clock that only moves forward and seeded random sources) driven
//! by arbitrary sequences of login steps, push answers, administrator
//! operations and clock moves. A model built only from what the operations
//! returned and what the outbox received checks, after every step:
//!
//! - no panic, and every future completes at once on in-memory stores;
//! - no login is allowed without a reason the model can justify: a correct
//!   factor (a TOTP code of a secret the user was shown, at a step inside
//!   the window and after every step already accepted for that secret; or
//!   the latest code of a sent challenge, within its lifetime, whose
//!   challenge was not used yet; or an approval, with the number shown, of
//!   the push prompt of that very login, used once), an unused recovery
//!   code, a deferral the user took while enforcement was off and which is
//!   still running, or a trust grant: an employee, on a listed network,
//!   less than the re-prompt interval after passing a second factor from
//!   a network of the company that was listed then and still is, with no
//!   revocation since (recovery code, factor reset, administrator);
//! - no code is accepted twice: a TOTP step, an out-of-band challenge, a
//!   push approval, a passkey ceremony and a recovery code each complete at
//!   most one login, and a ticket completes at most one login; a passkey
//!   answer is accepted only for the latest ceremony of its kind, never
//!   when made for an origin the relying party does not list, never when
//!   it is arbitrary text;
//! - a ticket that is unknown, completed, expired or presented by another
//!   user is refused by every step;
//! - enforcement is never off once an administrator turned it on (the
//!   stored company record says so after every step), only an
//!   administrator turns it on or changes the policy, and once on no
//!   deferral is offered, taken or honoured;
//! - budgets are never exceeded: a deferral is taken only within the
//!   company's cap, a challenge's codes go out at most `max_sends` times
//!   and never closer than the re-send cooldown, and at most `max_prompts`
//!   push prompts reach the user within any push window;
//! - every allowed login is in the audit log, once, and nothing the flow
//!   returns or audits holds a full phone number.

#![no_main]

#[path = "twofa_operations/admin.rs"]
mod admin;
#[path = "twofa_operations/harness.rs"]
mod harness;
#[path = "twofa_operations/login.rs"]
mod login;
#[path = "twofa_operations/model.rs"]
mod model;

use arbitrary::Arbitrary;
use chrono::TimeDelta;
use libfuzzer_sys::fuzz_target;
use twofa::AuditEvent;
use twofa::types::AccountKind;

use crate::harness::{Harness, block_on, printed_safely};
use crate::model::Model;

#[derive(Debug, Arbitrary)]
enum Choice {
    App,
    Push,
    Phone {
        number: u8,
        voice: bool,
        answered: bool,
    },
    PhoneText(String),
    Passkey,
}

#[derive(Debug, Arbitrary)]
enum Advance {
    Seconds(u8),
    Minutes(u8),
    Hours(u8),
    Days(u8),
}

/// A ticket picked by how many tickets back it was issued (0: the latest);
/// 255 picks a ticket that was never issued.
#[derive(Debug, Clone, Copy, Arbitrary)]
struct Pick(u8);

#[derive(Debug, Arbitrary)]
enum Op {
    Begin {
        peer: u8,
        forwarded: Option<u8>,
    },
    Choose {
        ticket: Pick,
        choice: Choice,
    },
    SubmitRight {
        ticket: Pick,
        which: u8,
        style: u8,
    },
    SubmitReplay {
        ticket: Pick,
    },
    SubmitText {
        ticket: Pick,
        text: String,
    },
    Resend {
        ticket: Pick,
        option: u8,
    },
    Defer {
        ticket: Pick,
    },
    Recovery {
        ticket: Pick,
        which: u8,
        style: u8,
    },
    RecoveryText {
        ticket: Pick,
        text: String,
    },
    Switch {
        ticket: Pick,
        method: u8,
    },
    SendPush {
        ticket: Pick,
    },
    RespondPush {
        which: u8,
        answer: u8,
    },
    PollPush {
        ticket: Pick,
    },
    Enforce {
        admin: bool,
    },
    SetPolicy {
        admin: bool,
        policy: u8,
    },
    AddNetwork {
        network: u8,
        label: u8,
    },
    RemoveNetwork {
        network: u8,
    },
    RevokeGrant,
    ResetFactor,
    Report,
    AdminStepUp,
    Impostor {
        ticket: Pick,
        what: u8,
    },
    PasskeyAnswer {
        which: u8,
        phished: bool,
    },
    PasskeyText {
        ticket: Pick,
        text: String,
    },
    Advance(Advance),
    /// The next steps go to the second server (`true`) or the first.
    Server(bool),
}

#[derive(Debug, Arbitrary)]
struct Input {
    client_account: bool,
    default_region: bool,
    ops: Vec<Op>,
}

fn step(h: &Harness, m: &mut Model, op: &Op) -> Option<String> {
    let now = h.now();
    match op {
        Op::Server(second) => {
            h.serve_from(*second);
            None
        }
        Op::Advance(by) => {
            // The clock only moves forward, by up to 29 days a step.
            h.clock.advance(match *by {
                Advance::Seconds(s) => TimeDelta::seconds(i64::from(s)),
                Advance::Minutes(m) => TimeDelta::minutes(i64::from(m % 60)),
                Advance::Hours(h) => TimeDelta::hours(i64::from(h % 48)),
                Advance::Days(d) => TimeDelta::days(i64::from(d % 30)),
            });
            None
        }
        Op::Begin { peer, forwarded } => login::begin(h, m, now, *peer, *forwarded),
        Op::Choose { ticket, choice } => login::choose(h, m, now, *ticket, choice),
        Op::SubmitRight {
            ticket,
            which,
            style,
        } => {
            let code = login::right_code(m, now, *which, *style)?;
            login::submit(h, m, now, *ticket, &code)
        }
        Op::SubmitReplay { ticket } => {
            let code = m.last_accepted_code.clone()?;
            login::submit(h, m, now, *ticket, &code)
        }
        Op::SubmitText { ticket, text } => login::submit(h, m, now, *ticket, text),
        Op::Resend { ticket, option } => login::resend(h, m, now, *ticket, *option),
        Op::Defer { ticket } => login::defer(h, m, now, *ticket),
        Op::Recovery {
            ticket,
            which,
            style,
        } => {
            let code = login::right_recovery(m, *which, *style)?;
            login::recovery(h, m, now, *ticket, &code)
        }
        Op::RecoveryText { ticket, text } => login::recovery(h, m, now, *ticket, text),
        Op::Switch { ticket, method } => login::switch(h, m, now, *ticket, *method),
        Op::PasskeyAnswer { which, phished } => login::passkey_answer(h, m, now, *which, *phished),
        Op::PasskeyText { ticket, text } => login::passkey_text(h, m, *ticket, text),
        Op::Impostor { ticket, what } => {
            login::impostor(h, m, now, *ticket, *what);
            None
        }
        Op::SendPush { ticket } => admin::send_push(h, m, now, *ticket),
        Op::RespondPush { which, answer } => admin::respond_push(h, m, *which, *answer),
        Op::PollPush { ticket } => admin::poll_push(h, m, now, *ticket),
        Op::Enforce { admin } => admin::enforce(h, m, now, *admin),
        Op::SetPolicy { admin, policy } => admin::set_policy(h, m, now, *admin, *policy),
        Op::AddNetwork { network, label } => admin::add_network(h, m, now, *network, *label),
        Op::RemoveNetwork { network } => admin::remove_network(h, m, now, *network),
        Op::RevokeGrant => admin::revoke_grant(h, m, now),
        Op::ResetFactor => admin::reset_factor(h, m, now),
        Op::AdminStepUp => admin::step_up(h, m, now),
        Op::Report => admin::report(h),
    }
}

fn run(input: &Input) {
    let kind = if input.client_account {
        AccountKind::EndUserClient
    } else {
        AccountKind::PartnerEmployee
    };
    let h = Harness::new(kind, input.default_region);
    let mut m = Model::new(kind);
    // Each step and its answer, to read a reproducer with.
    let trace = std::env::var_os("TWOFA_FUZZ_TRACE").is_some();

    for op in input.ops.iter().take(48) {
        let now = h.now();
        let printed = step(&h, &mut m, op);
        if trace {
            eprintln!("{now} {op:?}\n    => {printed:?}");
        }
        if let Some(printed) = printed {
            printed_safely(&printed);
        }
        m.read_outbox(&h.outbox, now);
        assert_eq!(h.enforced(), m.enforced, "enforcement changed by {op:?}");
    }

    let entries = block_on(h.twofa().stores().audit().read(0, 100_000))
        .unwrap_or_else(|error| panic!("audit log unreadable: {error:?}"));
    let allowed = entries
        .iter()
        .filter(|entry| entry.user() != Some(h.admin.user()))
        .filter(|entry| matches!(entry.event(), AuditEvent::LoginAllowed { .. }))
        .count();
    assert_eq!(
        allowed, m.allowed,
        "allowed logins and their audit entries differ"
    );
    printed_safely(&format!("{entries:?}"));
}

fuzz_target!(|input: Input| run(&input));
