//! The login steps a user's browser drives: each calls the service, checks
//! the answer against the model and returns it printed (`None` when the
//! step had nothing to send, such as a right code before any secret).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use twofa::delivery::ResendOption;
use twofa::enrollment::{MethodId, NotMobileAnswer, PhoneChannel};
use twofa::passkey::CredentialName;
use twofa::trusted_network::ForwardingHeaders;
use twofa::types::DeferralCap;
use twofa::{
    AllowedBy, ClientContext, LoginStep, MethodChoice, PhoneChoice, Resent, SetUpProgress,
};

use crate::harness::{
    Harness, NUMBERS, PEERS, PORTAL_ORIGIN, PROXY_PEER, UNLISTED_ORIGIN, block_on,
};
use crate::model::{Model, TicketModel, recovery_normalised, recovery_styled, styled};
use crate::{Choice, Pick};

pub(crate) fn begin(
    h: &Harness,
    m: &mut Model,
    now: DateTime<Utc>,
    peer: u8,
    forwarded: Option<u8>,
) -> Option<String> {
    let address = PEERS[usize::from(peer) % PEERS.len()];
    // Through the proxy, the client's address comes in a header; a header
    // the proxy could not fill leaves the client unknown.
    let line = forwarded.map(|f| match f % 4 {
        3 => "unknown, garbage",
        _ => address,
    });
    let peer_text = if line.is_some() { PROXY_PEER } else { address };
    let Ok(peer_ip) = peer_text.parse::<IpAddr>() else {
        panic!("built-in address refused");
    };
    let mut client = ClientContext::new(peer_ip);
    let mut headers = ForwardingHeaders::new();
    if let Some(line) = line {
        client = client.with_x_forwarded_for(line);
        headers = headers.with_x_forwarded_for(line);
    }
    let client_ip = h.proxies.resolve(peer_ip, &headers).ip();
    let result = block_on(h.twofa().begin_login(&h.bob, &client));
    let new_ticket = |ticket, deferral| TicketModel {
        ticket,
        issued: now,
        client_ip,
        deferral,
        completed: false,
    };
    match &result {
        Ok(LoginStep::Allowed(allowed)) => {
            match allowed.by {
                AllowedBy::DeferralRunning { until } => {
                    assert!(!m.enforced, "a deferral honoured under enforcement");
                    assert_eq!(m.deferral, Some(until), "an unknown deferral honoured");
                    assert!(now < until, "an ended deferral honoured");
                    assert!(until <= now + m.policy.deferral_length());
                }
                AllowedBy::TrustedNetwork { network, until } => {
                    m.check_trusted(network, until, client_ip, now);
                }
                other => panic!("begin_login allowed by {other:?}"),
            }
            m.allowed += 1;
        }
        Ok(LoginStep::SetUp(screen)) => {
            if m.enforced {
                assert_eq!(
                    screen.remind_me_until, None,
                    "deferral offered under enforcement"
                );
            }
            m.tickets
                .push(new_ticket(screen.ticket, screen.remind_me_until));
        }
        Ok(LoginStep::Challenge(screen)) => {
            m.tickets.push(new_ticket(screen.ticket, None));
            if let Some(options) = &screen.passkey {
                m.ceremony(screen.ticket, false, options.as_json());
            }
        }
        Ok(other) => panic!("unexpected step {other:?}"),
        Err(_) => {}
    }
    Some(format!("{result:?}"))
}

pub(crate) fn choose(
    h: &Harness,
    m: &mut Model,
    now: DateTime<Utc>,
    pick: Pick,
    choice: &Choice,
) -> Option<String> {
    let (ticket, index) = m.pick(pick, h.unknown_ticket);
    let choice = match choice {
        Choice::App => MethodChoice::AuthenticatorApp,
        Choice::Push => MethodChoice::PushApp,
        Choice::Phone {
            number,
            voice,
            answered,
        } => {
            let (text, _) = NUMBERS[usize::from(*number) % NUMBERS.len()];
            let channel = if *voice {
                PhoneChannel::Voice
            } else {
                PhoneChannel::Sms
            };
            let phone = PhoneChoice::new(text, channel);
            MethodChoice::Phone(if *answered {
                phone.with_answer(NotMobileAnswer::ContinueWithVoice)
            } else {
                phone
            })
        }
        Choice::PhoneText(text) => {
            MethodChoice::Phone(PhoneChoice::new(text.as_str(), PhoneChannel::Sms))
        }
        Choice::Passkey => {
            let Ok(name) = CredentialName::new("Key") else {
                panic!("built-in passkey name refused");
            };
            MethodChoice::Passkey(name)
        }
    };
    let result = block_on(h.twofa().choose_method(&h.bob, &ticket, choice));
    if !m.usable(index, now) {
        assert!(result.is_err(), "an unusable ticket chose a method");
    }
    match &result {
        Ok(SetUpProgress::ScanQrCode(uri)) => m.secrets.push((uri.key_uri().clone(), None)),
        Ok(SetUpProgress::CreatePasskey(options)) => m.ceremony(ticket, true, options.as_json()),
        _ => {}
    }
    Some(format!("{result:?}"))
}

/// A right code: what one of the apps set up shows now, or the last code
/// sent.
pub(crate) fn right_code(m: &Model, now: DateTime<Utc>, which: u8, style: u8) -> Option<String> {
    let seconds = u64::try_from(now.timestamp()).unwrap_or(0);
    let mut right: Vec<String> = m
        .secrets
        .iter()
        .rev()
        .filter_map(|(uri, _)| uri.to_totp()?.generate(seconds).ok())
        .map(|code| code.expose_secret().as_str().to_owned())
        .collect();
    right.extend(m.codes.last().map(|sent| sent.code.clone()));
    if right.is_empty() {
        return None;
    }
    Some(styled(&right[usize::from(which) % right.len()], style))
}

pub(crate) fn submit(
    h: &Harness,
    m: &mut Model,
    now: DateTime<Utc>,
    pick: Pick,
    text: &str,
) -> Option<String> {
    let (ticket, index) = m.pick(pick, h.unknown_ticket);
    let result = block_on(h.twofa().submit_code(&h.bob, &ticket, text));
    if !m.usable(index, now) {
        assert!(result.is_err(), "an unusable ticket took a code");
    }
    match &result {
        Ok(LoginStep::Allowed(allowed)) => {
            let AllowedBy::SecondFactor { method } = allowed.by else {
                panic!("a code allowed by {:?}", allowed.by);
            };
            m.accept_code(text, Some(method), now);
            m.second_factor_passed(index, now);
            m.complete(index);
            m.deferral = None;
            if let Some(sheet) = &allowed.recovery_codes {
                m.recovery = sheet
                    .expose_secret()
                    .map(|code| code.replace('-', ""))
                    .collect();
            }
        }
        Ok(LoginStep::SetUp(screen)) => {
            // The company switched the method off: the code still proved
            // who the user is, once, and the login goes on to set-up.
            m.accept_code(text, None, now);
            assert_eq!(Some(screen.ticket), index.map(|i| m.tickets[i].ticket));
            m.set_up_instead(index);
        }
        Ok(other) => panic!("a code answered {other:?}"),
        Err(_) => {}
    }
    Some(format!("{result:?}"))
}

pub(crate) fn resend(
    h: &Harness,
    m: &Model,
    now: DateTime<Utc>,
    pick: Pick,
    option: u8,
) -> Option<String> {
    let (ticket, index) = m.pick(pick, h.unknown_ticket);
    let option = match option % 4 {
        0 => ResendOption::Sms,
        1 => ResendOption::Voice,
        2 => ResendOption::Email,
        _ => ResendOption::App,
    };
    let result = block_on(h.twofa().resend(&h.bob, &ticket, option));
    if !m.usable(index, now) {
        assert!(result.is_err(), "an unusable ticket re-sent a code");
    }
    if let Ok(Resent::CodeSent(_)) = &result {
        assert_ne!(option, ResendOption::App, "a code sent for an app");
    }
    Some(format!("{result:?}"))
}

pub(crate) fn defer(h: &Harness, m: &mut Model, now: DateTime<Utc>, pick: Pick) -> Option<String> {
    let (ticket, index) = m.pick(pick, h.unknown_ticket);
    let result = block_on(h.twofa().defer(&h.bob, &ticket));
    if !m.usable(index, now) {
        assert!(result.is_err(), "an unusable ticket deferred");
    }
    if let Ok(allowed) = &result {
        let AllowedBy::Deferred { until } = allowed.by else {
            panic!("a deferral allowed by {:?}", allowed.by);
        };
        assert!(!m.enforced, "deferred under enforcement");
        let offered = index.and_then(|i| m.tickets[i].deferral);
        assert_eq!(offered, Some(until), "deferred to an instant not offered");
        assert!(now < until, "deferred to the past");
        m.deferrals_taken += 1;
        if let DeferralCap::AtMost(cap) = m.policy.deferral_cap() {
            assert!(m.deferrals_taken <= cap, "deferral cap exceeded");
        }
        m.deferral = Some(until);
        m.complete(index);
    }
    Some(format!("{result:?}"))
}

/// One of the unused recovery codes, spelled one of the ways users type it.
pub(crate) fn right_recovery(m: &Model, which: u8, style: u8) -> Option<String> {
    if m.recovery.is_empty() {
        return None;
    }
    let code = &m.recovery[usize::from(which) % m.recovery.len()];
    Some(recovery_styled(code, style))
}

pub(crate) fn recovery(
    h: &Harness,
    m: &mut Model,
    now: DateTime<Utc>,
    pick: Pick,
    text: &str,
) -> Option<String> {
    let (ticket, index) = m.pick(pick, h.unknown_ticket);
    let result = block_on(h.twofa().use_recovery_code(&h.bob, &ticket, text));
    if !m.usable(index, now) {
        assert!(result.is_err(), "an unusable ticket took a recovery code");
    }
    if let Ok(step) = &result {
        let normalised = recovery_normalised(text);
        let position = m
            .recovery
            .iter()
            .position(|code| Some(code) == normalised.as_ref())
            .unwrap_or_else(|| panic!("accepted a recovery code that is not unused"));
        m.recovery.remove(position);
        m.grants.clear();
        match step {
            LoginStep::Allowed(allowed) => {
                assert_eq!(allowed.by, AllowedBy::RecoveryCode);
                m.complete(index);
            }
            LoginStep::SetUp(_) => m.set_up_instead(index),
            other => panic!("a recovery code answered {other:?}"),
        }
    }
    Some(format!("{result:?}"))
}

pub(crate) fn switch(
    h: &Harness,
    m: &mut Model,
    now: DateTime<Utc>,
    pick: Pick,
    method: u8,
) -> Option<String> {
    let (ticket, index) = m.pick(pick, h.unknown_ticket);
    let method = MethodId::new(u32::from(method % 4));
    let result = block_on(h.twofa().switch_method(&h.bob, &ticket, method));
    if !m.usable(index, now) {
        assert!(result.is_err(), "an unusable ticket switched method");
    }
    if let Ok(screen) = &result
        && let Some(options) = &screen.passkey
    {
        m.ceremony(ticket, false, options.as_json());
    }
    Some(format!("{result:?}"))
}

/// The user's authenticator answers one of the ceremonies the service
/// started, on the portal's origin or on an origin the relying party does
/// not list (a page the attacker controls under the same domain), and the
/// answer goes to the ceremony's ticket.
pub(crate) fn passkey_answer(
    h: &Harness,
    m: &mut Model,
    now: DateTime<Utc>,
    which: u8,
    phished: bool,
) -> Option<String> {
    if m.ceremonies.is_empty() {
        return None;
    }
    let at = m.ceremonies.len() - 1 - usize::from(which) % m.ceremonies.len();
    let origin = if phished {
        UNLISTED_ORIGIN
    } else {
        PORTAL_ORIGIN
    };
    let ceremony = &m.ceremonies[at];
    let answer = if ceremony.create {
        m.authenticator.create_json(origin, &ceremony.options)
    } else {
        m.authenticator.get_json(origin, &ceremony.options)
    };
    // No passkey on the device for this request: nothing to post.
    let answer = answer.ok()?;
    let ticket = ceremony.ticket;
    let index = m.tickets.iter().position(|t| t.ticket == ticket);
    let result = block_on(h.twofa().submit_passkey(&h.bob, &ticket, &answer));
    if !m.usable(index, now) {
        assert!(result.is_err(), "an unusable ticket took a passkey");
    }
    if let Ok(step) = &result {
        assert!(
            !phished,
            "an answer made for an unlisted origin was accepted"
        );
        let ceremony = &mut m.ceremonies[at];
        assert!(!ceremony.accepted, "a passkey ceremony was answered twice");
        ceremony.accepted = true;
        // The service keeps the latest ceremony of each kind only.
        let create = ceremony.create;
        let latest = m.ceremonies.iter().rposition(|c| c.create == create);
        assert_eq!(
            latest,
            Some(at),
            "an answer to a replaced ceremony was accepted"
        );
        match step {
            LoginStep::Allowed(allowed) => {
                assert_eq!(
                    allowed.by,
                    AllowedBy::SecondFactor {
                        method: twofa::types::Method::Passkey
                    },
                    "a passkey allowed a login by another method"
                );
                m.second_factor_passed(index, now);
                m.complete(index);
                m.deferral = None;
                if let Some(sheet) = &allowed.recovery_codes {
                    m.recovery = sheet
                        .expose_secret()
                        .map(|code| code.replace('-', ""))
                        .collect();
                }
            }
            LoginStep::SetUp(_) => m.set_up_instead(index),
            other => panic!("a passkey answered {other:?}"),
        }
    }
    Some(format!("{result:?}"))
}

/// Text that is no answer of the user's authenticator: never accepted.
pub(crate) fn passkey_text(h: &Harness, m: &Model, pick: Pick, text: &str) -> Option<String> {
    let (ticket, _) = m.pick(pick, h.unknown_ticket);
    let result = block_on(h.twofa().submit_passkey(&h.bob, &ticket, text));
    assert!(result.is_err(), "an arbitrary passkey answer was accepted");
    Some(format!("{result:?}"))
}

/// Another user of the company presents Bob's ticket, with Bob's right
/// code or recovery code where the step takes one: always refused.
pub(crate) fn impostor(h: &Harness, m: &Model, now: DateTime<Utc>, pick: Pick, what: u8) {
    let (ticket, _) = m.pick(pick, h.unknown_ticket);
    let code = right_code(m, now, 0, 0).unwrap_or_else(|| "123456".to_owned());
    let (twofa, eve) = (&h.twofa(), &h.eve);
    let refused = match what % 5 {
        0 => block_on(twofa.submit_code(eve, &ticket, &code)).is_err(),
        1 => block_on(twofa.defer(eve, &ticket)).is_err(),
        2 => {
            let text = right_recovery(m, 0, 0).unwrap_or_default();
            block_on(twofa.use_recovery_code(eve, &ticket, &text)).is_err()
        }
        3 => block_on(twofa.poll_push(eve, &ticket)).is_err(),
        _ => block_on(twofa.choose_method(eve, &ticket, MethodChoice::AuthenticatorApp)).is_err(),
    };
    assert!(refused, "another user's ticket was accepted");
}
