//! The decision: which counters a send charges, and whether their counts
//! let it go.

use core::fmt;
use core::fmt::Write as _;

use chrono::{DateTime, TimeDelta, Utc};
use twofa_types::{Channel, CountryCodeSet, UserId};

use super::{BudgetScope, GeoRefused, SendBudgetPolicy};
use crate::{EmailAddress, NoticeMessage, OutboundMessage, PhoneNumber, ServerKey};

/// What is being sent, as the budget and the audit trail name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum SendKind {
    /// The code of a login challenge (the first one, or another method's).
    LoginCode,
    /// The code that verifies a method being set up.
    SetUpCode,
    /// A code sent again, on any channel.
    Resend,
    /// The code that verifies a new phone number.
    NumberChangeCode,
    /// A notice to a user's contacts (a factor changed); no code.
    Notice,
    /// A push prompt to the user's app.
    Push,
}

impl SendKind {
    /// Stable name for metrics, logs and audit records.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LoginCode => "login_code",
            Self::SetUpCode => "set_up_code",
            Self::Resend => "resend",
            Self::NumberChangeCode => "number_change_code",
            Self::Notice => "notice",
            Self::Push => "push",
        }
    }
}

impl fmt::Display for SendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    Phone(&'a PhoneNumber),
    Email(&'a EmailAddress),
    App,
}

/// A send about to happen: what, through which channel, for whom, to where.
#[derive(Debug, Clone, Copy)]
pub struct SendRequest<'a> {
    kind: SendKind,
    channel: Channel,
    user: &'a UserId,
    target: Target<'a>,
}

impl<'a> SendRequest<'a> {
    /// A code message (`kind` says which) for `user`.
    #[must_use]
    pub fn code(kind: SendKind, user: &'a UserId, message: &'a OutboundMessage) -> Self {
        let target = match message {
            OutboundMessage::Sms(sms) => Target::Phone(&sms.to),
            OutboundMessage::Voice(voice) => Target::Phone(&voice.to),
            OutboundMessage::Email(email) => Target::Email(&email.to),
        };
        Self {
            kind,
            channel: message.channel().into(),
            user,
            target,
        }
    }

    /// A notice about `user`.
    #[must_use]
    pub fn notice(user: &'a UserId, message: &'a NoticeMessage) -> Self {
        let (channel, target) = match message {
            NoticeMessage::Sms(sms) => (Channel::Sms, Target::Phone(&sms.to)),
            NoticeMessage::Email(email) => (Channel::Email, Target::Email(&email.to)),
        };
        Self {
            kind: SendKind::Notice,
            channel,
            user,
            target,
        }
    }

    /// A push prompt to `user`'s app.
    #[must_use]
    pub const fn push(user: &'a UserId) -> Self {
        Self {
            kind: SendKind::Push,
            channel: Channel::Push,
            user,
            target: Target::App,
        }
    }

    /// What is sent.
    #[must_use]
    pub const fn kind(&self) -> SendKind {
        self.kind
    }

    /// Through which channel.
    #[must_use]
    pub const fn channel(&self) -> Channel {
        self.channel
    }

    /// For whom.
    #[must_use]
    pub const fn user(&self) -> &UserId {
        self.user
    }
}

/// The name of one counter in one window, as a store keys it:
/// `scope/window start (Unix seconds)/subject`. The subject is a user id,
/// a country code, `all`, or, for a destination, a keyed hash of the number
/// or address (the store never holds a phone number).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CounterKey(String);

impl CounterKey {
    /// The key as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One counter a send charges: its key, scope, limit and window.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Counter {
    key: CounterKey,
    scope: BudgetScope,
    limit: u32,
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
}

impl Counter {
    /// The store's key.
    #[must_use]
    pub const fn key(&self) -> &CounterKey {
        &self.key
    }

    /// What it counts.
    #[must_use]
    pub const fn scope(&self) -> BudgetScope {
        self.scope
    }

    /// The count at which sends stop: a send is charged only while the
    /// count is below it.
    #[must_use]
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// The first second of the window.
    #[must_use]
    pub const fn window_start(&self) -> DateTime<Utc> {
        self.window_start
    }

    /// The second the window ends: the count no longer applies from here
    /// on, and a store may forget it.
    #[must_use]
    pub const fn window_end(&self) -> DateTime<Utc> {
        self.window_end
    }
}

/// A send the budget refuses: the scope that ran out and the second the
/// send can pass again (as far as that scope is concerned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BudgetExhausted {
    /// The scope whose count reached its limit.
    pub scope: BudgetScope,
    /// When its window ends.
    pub frees_at: DateTime<Utc>,
}

/// Whether a send may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
#[non_exhaustive]
pub enum BudgetDecision {
    /// Every counter was below its limit; the store charged them all.
    Allowed,
    /// A counter is at its limit; nothing was charged and nothing may be sent.
    Exhausted(BudgetExhausted),
}

/// The counters one send charges, in key order (the order a store takes
/// them in, so that two charges never wait on each other).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Charges {
    counters: Vec<Counter>,
}

impl Charges {
    /// The counters, in key order.
    #[must_use]
    pub fn counters(&self) -> &[Counter] {
        &self.counters
    }

    /// The decision for the current `counts` of [`Charges::counters`], in
    /// the same order: allowed when every count is below its limit;
    /// otherwise exhausted, naming the exhausted counter that frees last.
    ///
    /// Fails closed: counts that do not match the counters refuse.
    pub fn decide(&self, counts: &[u32]) -> BudgetDecision {
        if counts.len() != self.counters.len() {
            return self.refused_by(0);
        }
        self.counters
            .iter()
            .zip(counts)
            .filter(|(counter, count)| **count >= counter.limit)
            .max_by_key(|(counter, _)| (counter.window_end, counter.scope))
            .map_or(BudgetDecision::Allowed, |(counter, _)| {
                BudgetDecision::Exhausted(BudgetExhausted {
                    scope: counter.scope,
                    frees_at: counter.window_end,
                })
            })
    }

    /// The refusal by the counter at `index` (the first at its limit, for
    /// a store that stops there). An index past the end names the first
    /// counter; with no counters at all the send is allowed.
    pub fn refused_by(&self, index: usize) -> BudgetDecision {
        self.counters
            .get(index)
            .or_else(|| self.counters.first())
            .map_or(BudgetDecision::Allowed, |counter| {
                BudgetDecision::Exhausted(BudgetExhausted {
                    scope: counter.scope,
                    frees_at: counter.window_end,
                })
            })
    }
}

/// The fixed UTC window of `length_secs` holding `now`: its start and end.
fn window(now: DateTime<Utc>, length_secs: i64) -> (DateTime<Utc>, DateTime<Utc>) {
    let secs = now.timestamp();
    let start = secs.div_euclid(length_secs).saturating_mul(length_secs);
    let start = DateTime::from_timestamp(start, 0).unwrap_or(now);
    let end = start
        .checked_add_signed(TimeDelta::seconds(length_secs))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    (start, end)
}

fn destination_subject(key: &ServerKey, target: Target<'_>) -> Option<String> {
    let (kind, value): (&[u8], String) = match target {
        Target::Phone(phone) => (b"phone", phone.expose_e164().to_owned()),
        // Mailbox providers treat the local part without case; so does the
        // count, so that case variants share one budget.
        Target::Email(email) => (b"email", email.expose_address().to_ascii_lowercase()),
        Target::App => return None,
    };
    let mac = key.mac(&[b"twofa-send-budget-destination", kind, value.as_bytes()]);
    let mut hex = String::with_capacity(32);
    for byte in mac.iter().take(16) {
        let _infallible = write!(hex, "{byte:02x}");
    }
    Some(hex)
}

impl SendBudgetPolicy {
    /// The counters `request` must charge at `now`, for a user whose
    /// company lets phone codes go to `company_countries`
    /// (`twofa_enforcement::CompanyPolicy::phone_countries`); `key` hashes
    /// destinations into counter keys.
    ///
    /// - codes (login, set-up, re-send, number change): the user's code
    ///   budgets and the destination's;
    /// - push prompts: the user's code budgets;
    /// - notices: the user's notice budgets (separate, so that notices
    ///   cannot use up the codes the user needs to log in);
    /// - every SMS and call, code or notice: its country code's and the
    ///   service's hourly budgets, after the geo check.
    ///
    /// # Errors
    ///
    /// [`GeoRefused`] when the destination is a phone number the service or
    /// the company does not send to; nothing is to be sent then.
    pub fn charges(
        &self,
        request: &SendRequest<'_>,
        company_countries: &CountryCodeSet,
        key: &ServerKey,
        now: DateTime<Utc>,
    ) -> Result<Charges, GeoRefused> {
        let mut subjects: Vec<(BudgetScope, String)> = Vec::with_capacity(6);
        let user = request.user.as_str().to_owned();
        match request.kind {
            SendKind::Notice => {
                subjects.push((BudgetScope::UserNoticesPerHour, user.clone()));
                subjects.push((BudgetScope::UserNoticesPerDay, user));
            }
            SendKind::Push
            | SendKind::LoginCode
            | SendKind::SetUpCode
            | SendKind::Resend
            | SendKind::NumberChangeCode => {
                subjects.push((BudgetScope::UserCodesPerHour, user.clone()));
                subjects.push((BudgetScope::UserCodesPerDay, user));
                if request.kind != SendKind::Push
                    && let Some(hash) = destination_subject(key, request.target)
                {
                    subjects.push((BudgetScope::DestinationPerHour, hash.clone()));
                    subjects.push((BudgetScope::DestinationPerDay, hash));
                }
            }
        }
        if let Target::Phone(phone) = request.target {
            let country = self.geo.check(phone, company_countries)?;
            subjects.push((BudgetScope::CountryPerHour, country.get().to_string()));
            subjects.push((BudgetScope::ServicePerHour, "all".to_owned()));
        }
        let mut counters: Vec<Counter> = subjects
            .into_iter()
            .map(|(scope, subject)| {
                let (window_start, window_end) = window(now, scope.window().seconds());
                Counter {
                    key: CounterKey(format!(
                        "{}/{}/{subject}",
                        scope.as_str(),
                        window_start.timestamp()
                    )),
                    scope,
                    limit: self.limit(scope),
                    window_start,
                    window_end,
                }
            })
            .collect();
        counters.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Charges { counters })
    }
}

#[cfg(test)]
mod tests;
