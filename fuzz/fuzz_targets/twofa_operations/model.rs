//! What the sequence has told the model: tickets, secrets shown, codes
//! sent, push prompts, recovery codes, the company's settings and the
//! second factors passed; and the checks that weigh an answer against more
//! than the step that gave it (codes, grants, budgets).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use twofa::LoginTicket;
use twofa::delivery::{ChallengeId, Outbox, SentMessage};
use twofa::enforcement::CompanyPolicy;
use twofa::enrollment::EnrollmentPolicy;
use twofa::otp::KeyUri;
use twofa::passkey::SoftAuthenticator;
use twofa::trusted_network::Cidr;
use twofa::types::{AccountKind, Method, OneTimeCode};

use crate::Pick;

#[derive(Debug)]
pub(crate) struct TicketModel {
    pub(crate) ticket: LoginTicket,
    pub(crate) issued: DateTime<Utc>,
    pub(crate) client_ip: Option<IpAddr>,
    /// "Remind me later" as the set-up screen offered it.
    pub(crate) deferral: Option<DateTime<Utc>>,
    pub(crate) completed: bool,
}

#[derive(Debug)]
pub(crate) struct PushModel {
    pub(crate) request: ChallengeId,
    pub(crate) ticket: LoginTicket,
    pub(crate) number: u8,
    pub(crate) approved: bool,
    pub(crate) refused: bool,
    pub(crate) consumed: bool,
}

#[derive(Debug)]
pub(crate) struct CodeMessage {
    pub(crate) challenge: ChallengeId,
    pub(crate) code: String,
    pub(crate) at: DateTime<Utc>,
}

/// A passkey ceremony the service started for a ticket: its options, and
/// whether an answer to it was accepted.
#[derive(Debug)]
pub(crate) struct CeremonyModel {
    pub(crate) ticket: LoginTicket,
    /// A registration (`navigator.credentials.create`) or a login.
    pub(crate) create: bool,
    pub(crate) options: String,
    pub(crate) accepted: bool,
}

/// A second factor passed from a client address at an instant: a trust
/// grant may have been issued for it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrantCandidate {
    pub(crate) ip: IpAddr,
    pub(crate) at: DateTime<Utc>,
}

pub(crate) struct Model {
    pub(crate) kind: AccountKind,
    pub(crate) tickets: Vec<TicketModel>,
    /// Key URIs shown to the user and the highest step accepted for each.
    pub(crate) secrets: Vec<(KeyUri, Option<u64>)>,
    pub(crate) codes: Vec<CodeMessage>,
    pub(crate) used_challenges: HashSet<ChallengeId>,
    pub(crate) sends: HashMap<ChallengeId, Vec<DateTime<Utc>>>,
    pub(crate) pushes: Vec<PushModel>,
    pub(crate) push_times: Vec<DateTime<Utc>>,
    pub(crate) seen_messages: usize,
    /// Unused recovery codes, as typed without separators.
    pub(crate) recovery: Vec<String>,
    pub(crate) last_accepted_code: Option<String>,
    pub(crate) deferral: Option<DateTime<Utc>>,
    pub(crate) deferrals_taken: u32,
    pub(crate) enforced: bool,
    pub(crate) policy: CompanyPolicy,
    pub(crate) allowlist: Vec<(Cidr, DateTime<Utc>)>,
    pub(crate) grants: Vec<GrantCandidate>,
    pub(crate) allowed: usize,
    /// Until when the administrator's last second factor is recent.
    pub(crate) admin_fresh_until: DateTime<Utc>,
    /// The time step of the administrator's last accepted code.
    pub(crate) admin_last_step: u64,
    /// The user's passkeys (a software authenticator), and the ceremonies
    /// the service started.
    pub(crate) authenticator: SoftAuthenticator,
    pub(crate) ceremonies: Vec<CeremonyModel>,
}

/// The code in a message: the digits after the first "code" and colon.
pub(crate) fn code_in(text: &str) -> Option<String> {
    let after = &text[text.find("code")?..];
    let colon = after.find(':')?;
    let code: String = after[colon..]
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    (code.len() == 6).then_some(code)
}

/// The 30-second step of the administrator's app at `now`.
pub(crate) fn admin_step(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp()).unwrap_or(0) / 30
}

pub(crate) fn styled(code: &str, style: u8) -> String {
    match style % 4 {
        0 => code.to_owned(),
        1 => format!(" {code}\n"),
        2 if code.len() == 6 => format!("{} {}", &code[..3], &code[3..]),
        _ if code.len() == 6 => format!("{}-{}", &code[..3], &code[3..]),
        _ => code.to_owned(),
    }
}

pub(crate) fn recovery_styled(code: &str, style: u8) -> String {
    // `code` is the 16 symbols without separators.
    let grouped: Vec<&str> = (0..4).map(|i| &code[i * 4..i * 4 + 4]).collect();
    match style % 4 {
        0 => grouped.join("-"),
        1 => grouped.join("-").to_lowercase(),
        2 => grouped.join(" "),
        _ => code.to_owned(),
    }
}

pub(crate) fn recovery_normalised(text: &str) -> Option<String> {
    (text.len() <= 64).then(|| {
        text.chars()
            .filter(|c| *c != '-' && *c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect()
    })
}

impl Model {
    pub(crate) fn new(kind: AccountKind) -> Self {
        Self {
            kind,
            tickets: Vec::new(),
            secrets: Vec::new(),
            codes: Vec::new(),
            used_challenges: HashSet::new(),
            sends: HashMap::new(),
            pushes: Vec::new(),
            push_times: Vec::new(),
            seen_messages: 0,
            recovery: Vec::new(),
            last_accepted_code: None,
            deferral: None,
            deferrals_taken: 0,
            enforced: false,
            policy: CompanyPolicy::default(),
            allowlist: Vec::new(),
            grants: Vec::new(),
            allowed: 0,
            admin_fresh_until: crate::harness::start() + TimeDelta::minutes(10),
            admin_last_step: admin_step(crate::harness::start()),
            authenticator: SoftAuthenticator::new(),
            ceremonies: Vec::new(),
        }
    }

    /// The ticket picked, and its index in the model when it was issued.
    pub(crate) fn pick(&self, pick: Pick, unknown: LoginTicket) -> (LoginTicket, Option<usize>) {
        if pick.0 == u8::MAX || self.tickets.is_empty() {
            return (unknown, None);
        }
        let back = usize::from(pick.0) % self.tickets.len();
        let index = self.tickets.len() - 1 - back;
        (self.tickets[index].ticket, Some(index))
    }

    /// Whether the ticket at `index` may still be used at `now`.
    pub(crate) fn usable(&self, index: Option<usize>, now: DateTime<Utc>) -> bool {
        index.is_some_and(|i| {
            let ticket = &self.tickets[i];
            !ticket.completed && now < ticket.issued + TimeDelta::minutes(30)
        })
    }

    /// Reads the messages the outbox received during the last step.
    pub(crate) fn read_outbox(&mut self, outbox: &Outbox, now: DateTime<Utc>) {
        let sent = outbox.sent();
        let policy = EnrollmentPolicy::default();
        let challenge_policy = policy.challenge();
        let push_policy = policy.push();
        for message in sent.iter().skip(self.seen_messages) {
            let (challenge, text) = match message {
                SentMessage::Sms(sms) => (sms.challenge, sms.body.expose_secret().to_owned()),
                SentMessage::Voice(call) => {
                    (call.challenge, call.script.expose_secret().to_owned())
                }
                SentMessage::Email(email) => {
                    (email.challenge, email.body.expose_secret().to_owned())
                }
                SentMessage::Push(_) => {
                    self.push_times.push(now);
                    let recent = self
                        .push_times
                        .iter()
                        .filter(|at| now < **at + push_policy.window())
                        .count();
                    assert!(
                        recent <= usize::try_from(push_policy.max_prompts()).unwrap_or(usize::MAX),
                        "{recent} push prompts within one window"
                    );
                    continue;
                }
                _ => continue,
            };
            let code = code_in(&text).unwrap_or_else(|| panic!("no code in a code message"));
            let sends = self.sends.entry(challenge).or_default();
            if let Some(last) = sends.last() {
                assert!(
                    now >= *last + challenge_policy.resend_cooldown(),
                    "a code re-sent within the cooldown"
                );
            }
            sends.push(now);
            assert!(
                sends.len() <= usize::try_from(challenge_policy.max_sends()).unwrap_or(usize::MAX),
                "a challenge sent more than its cap"
            );
            self.codes.push(CodeMessage {
                challenge,
                code,
                at: now,
            });
        }
        self.seen_messages = sent.len();
    }

    /// A code accepted at `now` was right: a fresh TOTP step of a secret
    /// the user was shown, or the latest unused code of a live challenge.
    /// Records what it used up.
    pub(crate) fn accept_code(&mut self, text: &str, method: Option<Method>, now: DateTime<Utc>) {
        let code = OneTimeCode::parse(text)
            .unwrap_or_else(|error| panic!("accepted a malformed code: {error}"));
        let digits = code.expose_secret();
        let seconds = u64::try_from(now.timestamp()).unwrap_or(0);
        let mut totp_matches = Vec::new();
        for (index, (uri, burned)) in self.secrets.iter().enumerate() {
            let Some(totp) = uri.to_totp() else { continue };
            let Ok(current) = totp.step_at(seconds) else {
                continue;
            };
            let fresh = (current.saturating_sub(1)..=current.saturating_add(1))
                .filter(|step| burned.is_none_or(|last| *step > last))
                .filter(|step| totp.generate_at_step(*step).expose_secret().as_str() == digits)
                .max();
            if let Some(step) = fresh {
                totp_matches.push((index, step));
            }
        }
        let lifetime = TimeDelta::minutes(10);
        let oob_matches: Vec<ChallengeId> = self
            .codes
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                m.code == digits
                    && now <= m.at + lifetime
                    && !self.used_challenges.contains(&m.challenge)
                    && !self.codes[i + 1..]
                        .iter()
                        .any(|later| later.challenge == m.challenge)
            })
            .map(|(_, m)| m.challenge)
            .collect();
        assert!(
            !totp_matches.is_empty() || !oob_matches.is_empty(),
            "accepted a code that is not right, or already used"
        );
        if let Some(method) = method {
            let totp_method = matches!(method, Method::AuthenticatorApp | Method::PushApp);
            assert!(
                if totp_method {
                    !totp_matches.is_empty()
                } else {
                    !oob_matches.is_empty()
                },
                "accepted for {method:?} a code of another kind of method"
            );
        }
        match (totp_matches.as_slice(), oob_matches.as_slice()) {
            ([(index, step)], []) => self.secrets[*index].1 = Some(*step),
            ([], [challenge]) => {
                self.used_challenges.insert(*challenge);
            }
            _ => {}
        }
        self.last_accepted_code = Some(text.to_owned());
    }

    /// A second factor completed the login of the ticket at `index`.
    pub(crate) fn second_factor_passed(&mut self, index: Option<usize>, now: DateTime<Utc>) {
        if let Some(ip) = index.and_then(|i| self.tickets[i].client_ip) {
            self.grants.push(GrantCandidate { ip, at: now });
        }
    }

    pub(crate) fn complete(&mut self, index: Option<usize>) {
        let index = index.unwrap_or_else(|| panic!("a login completed on an unknown ticket"));
        assert!(
            !self.tickets[index].completed,
            "a ticket completed a second login"
        );
        self.tickets[index].completed = true;
        self.allowed += 1;
    }

    /// The service started a passkey ceremony for `ticket`.
    pub(crate) fn ceremony(&mut self, ticket: LoginTicket, create: bool, options: &str) {
        self.ceremonies.push(CeremonyModel {
            ticket,
            create,
            options: options.to_owned(),
            accepted: false,
        });
    }

    /// The login of the ticket at `index` moved on to set-up: no
    /// "remind me later" there.
    pub(crate) fn set_up_instead(&mut self, index: Option<usize>) {
        if let Some(i) = index {
            self.tickets[i].deferral = None;
        }
    }

    /// A login skipped the prompt on `network` until `until`: the client
    /// is an employee on that listed network, with a grant still valid.
    pub(crate) fn check_trusted(
        &self,
        network: Cidr,
        until: DateTime<Utc>,
        ip: Option<IpAddr>,
        now: DateTime<Utc>,
    ) {
        assert_eq!(
            self.kind,
            AccountKind::PartnerEmployee,
            "a client account skipped the prompt"
        );
        let ip = ip.unwrap_or_else(|| panic!("skipped the prompt without a client address"));
        assert!(network.contains(ip), "skipped for {ip} outside {network}");
        assert!(
            self.allowlist.iter().any(|(listed, _)| *listed == network),
            "skipped the prompt on {network}, which is not listed"
        );
        // The grant may have been earned on another listed network of the
        // company; that entry must still be the one listed then.
        let reprompt = self.policy.trusted_network_reprompt();
        let earned_on_listed = |g: &&GrantCandidate| {
            self.allowlist
                .iter()
                .any(|(listed, added)| listed.contains(g.ip) && *added <= g.at)
        };
        let latest = self
            .grants
            .iter()
            .filter(earned_on_listed)
            .filter(|g| now < g.at + reprompt)
            .map(|g| g.at)
            .max()
            .unwrap_or_else(|| panic!("skipped the prompt on {network} without a grant"));
        assert!(
            now < until && until <= latest + reprompt,
            "grant runs to {until}"
        );
    }
}
