//! Password-attempt limits (OWASP ASVS 4.0.3 V2.2.1): failures are
//! counted per account (the login as typed, known or not) and per client
//! address, in fixed windows that open at the first failure. Once an
//! account or an address has used its failures, the password form
//! refuses every attempt for it, right or wrong, until the window closes.
//! The counters live where the sessions live, so on PostgreSQL every
//! server counts into the same ones.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

use crate::postgres::SharedState;
use crate::session::SessionError;

/// How many wrong passwords are tolerated, and for how long they count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PasswordLimits {
    /// Failures per account in one window: 5.
    pub per_account: u32,
    /// Failures per client address (an IPv6 address counts for its /64)
    /// in one window: 50, for a shared office address.
    pub per_address: u32,
    /// How long failures count from the first one: 15 minutes.
    pub window: TimeDelta,
}

impl Default for PasswordLimits {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 50,
            window: TimeDelta::minutes(15),
        }
    }
}

impl PasswordLimits {
    /// The defaults: 5 per account and 50 per address in 15 minutes.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Failures per account in one window (at least 1).
    #[must_use]
    pub fn with_per_account(mut self, failures: u32) -> Self {
        self.per_account = failures.max(1);
        self
    }

    /// Failures per address in one window (at least 1).
    #[must_use]
    pub fn with_per_address(mut self, failures: u32) -> Self {
        self.per_address = failures.max(1);
        self
    }

    /// How long failures count (at least a second).
    #[must_use]
    pub fn with_window(mut self, window: TimeDelta) -> Self {
        self.window = window.max(TimeDelta::seconds(1));
        self
    }
}

/// Logins longer than this are no account's: their failures count for
/// the address only (the table never holds an attacker's megabyte).
const LONGEST_LOGIN: usize = 64;

/// At most this many counters in memory; expired ones go first, then the
/// oldest window.
const MEMORY_COUNTERS: usize = 100_000;

/// Why the password form is closed for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locked {
    /// This account had its failures; open again at `until`.
    Account { until: DateTime<Utc> },
    /// This address had its failures; open again at `until`.
    Address { until: DateTime<Utc> },
}

/// The counter keys of one password attempt.
#[derive(Debug, Clone)]
pub(crate) struct AttemptKeys {
    account: Option<String>,
    address: String,
}

impl AttemptKeys {
    pub(crate) fn new(login: &str, address: IpAddr) -> Self {
        let login = login.trim().to_lowercase();
        let account =
            (!login.is_empty() && login.len() <= LONGEST_LOGIN).then(|| format!("account:{login}"));
        let address = match address {
            IpAddr::V4(v4) => format!("address:{v4}"),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => format!("address:{v4}"),
                None => {
                    let s = v6.segments();
                    format!("address:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        };
        Self { account, address }
    }
}

#[derive(Debug)]
enum Counters {
    Memory(Mutex<HashMap<String, (u32, DateTime<Utc>)>>),
    Shared(SharedState),
}

/// The password-failure counters.
#[derive(Debug)]
pub(crate) struct PasswordLimiter {
    limits: PasswordLimits,
    counters: Counters,
}

impl PasswordLimiter {
    pub(crate) fn in_memory(limits: PasswordLimits) -> Self {
        Self {
            limits,
            counters: Counters::Memory(Mutex::new(HashMap::new())),
        }
    }

    pub(crate) fn shared(limits: PasswordLimits, state: SharedState) -> Self {
        Self {
            limits,
            counters: Counters::Shared(state),
        }
    }

    /// Whether the form is closed for these keys at `now`.
    pub(crate) async fn check(
        &self,
        keys: &AttemptKeys,
        now: DateTime<Utc>,
    ) -> Result<Option<Locked>, SessionError> {
        if let Some(account) = &keys.account
            && let Some((failures, until)) = self.failures(account, now).await?
            && failures >= self.limits.per_account
        {
            return Ok(Some(Locked::Account { until }));
        }
        if let Some((failures, until)) = self.failures(&keys.address, now).await?
            && failures >= self.limits.per_address
        {
            return Ok(Some(Locked::Address { until }));
        }
        Ok(None)
    }

    /// Counts a wrong password against the account and the address.
    pub(crate) async fn failed(
        &self,
        keys: &AttemptKeys,
        now: DateTime<Utc>,
    ) -> Result<(), SessionError> {
        if let Some(account) = &keys.account {
            self.record(account, now).await?;
        }
        self.record(&keys.address, now).await
    }

    /// A correct password: the account's failures are forgotten (the
    /// address's stay, so one known password does not reopen an address
    /// that is guessing others).
    pub(crate) async fn succeeded(&self, keys: &AttemptKeys) -> Result<(), SessionError> {
        let Some(account) = &keys.account else {
            return Ok(());
        };
        match &self.counters {
            Counters::Memory(map) => {
                map.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(account);
                Ok(())
            }
            Counters::Shared(state) => state.clear_failures(account).await,
        }
    }

    /// Removes counters whose window has closed.
    pub(crate) async fn purge(&self, now: DateTime<Utc>) -> Result<u64, SessionError> {
        match &self.counters {
            Counters::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
                let before = map.len();
                let window = self.limits.window;
                map.retain(|_, (_, start)| open_at(*start, window, now));
                Ok(u64::try_from(before.saturating_sub(map.len())).unwrap_or(0))
            }
            Counters::Shared(state) => state.purge_failures(self.limits.window, now).await,
        }
    }

    async fn failures(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(u32, DateTime<Utc>)>, SessionError> {
        let window = self.limits.window;
        match &self.counters {
            Counters::Memory(map) => {
                let map = map.lock().unwrap_or_else(PoisonError::into_inner);
                Ok(map
                    .get(key)
                    .filter(|(_, start)| open_at(*start, window, now))
                    .map(|(failures, start)| {
                        (
                            *failures,
                            start.checked_add_signed(window).unwrap_or(*start),
                        )
                    }))
            }
            Counters::Shared(state) => state.failures(key, window, now).await,
        }
    }

    async fn record(&self, key: &str, now: DateTime<Utc>) -> Result<(), SessionError> {
        let window = self.limits.window;
        match &self.counters {
            Counters::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
                if !map.contains_key(key) && map.len() >= MEMORY_COUNTERS {
                    map.retain(|_, (_, start)| open_at(*start, window, now));
                    if map.len() >= MEMORY_COUNTERS
                        && let Some(oldest) = map
                            .iter()
                            .min_by_key(|(_, (_, start))| *start)
                            .map(|(k, _)| k.clone())
                    {
                        map.remove(&oldest);
                    }
                }
                let entry = map.entry(key.to_owned()).or_insert((0, now));
                if open_at(entry.1, window, now) {
                    entry.0 = entry.0.saturating_add(1);
                } else {
                    *entry = (1, now);
                }
                Ok(())
            }
            Counters::Shared(state) => state.record_failure(key, window, now).await,
        }
    }
}

/// Whether a window that opened at `start` is still open at `now`.
fn open_at(start: DateTime<Utc>, window: TimeDelta, now: DateTime<Utc>) -> bool {
    start
        .checked_add_signed(window)
        .is_some_and(|end| now < end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn the_account_closes_at_its_fifth_failure_until_the_window_ends() {
        let limiter = PasswordLimiter::in_memory(PasswordLimits::new());
        let keys = AttemptKeys::new("alice", ip("192.0.2.1"));
        for n in 0..5 {
            assert_eq!(limiter.check(&keys, at(n)).await.unwrap(), None, "{n}");
            limiter.failed(&keys, at(n)).await.unwrap();
        }
        let until = at(15 * 60);
        let locked = Some(Locked::Account { until });
        assert_eq!(limiter.check(&keys, at(5)).await.unwrap(), locked);
        // Another address, the same account: closed as well (the login
        // is compared as typed, trimmed and in lower case).
        let elsewhere = AttemptKeys::new(" Alice", ip("198.51.100.1"));
        assert_eq!(limiter.check(&elsewhere, at(6)).await.unwrap(), locked);
        // Open again at the exact end of the window, not a second before.
        assert_eq!(limiter.check(&keys, at(15 * 60 - 1)).await.unwrap(), locked);
        assert_eq!(limiter.check(&keys, until).await.unwrap(), None);
        // A new window starts at the next failure.
        limiter.failed(&keys, until).await.unwrap();
        assert_eq!(limiter.check(&keys, until).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_correct_password_forgets_the_account_failures_only() {
        let limits = PasswordLimits::new().with_per_address(6);
        let limiter = PasswordLimiter::in_memory(limits);
        let keys = AttemptKeys::new("bob", ip("2001:db8:1:2:3:4:5:6"));
        for n in 0..4 {
            limiter.failed(&keys, at(n)).await.unwrap();
        }
        limiter.succeeded(&keys).await.unwrap();
        limiter.failed(&keys, at(10)).await.unwrap();
        // Account: one failure since; address (the /64): five.
        assert_eq!(limiter.check(&keys, at(11)).await.unwrap(), None);
        let neighbour = AttemptKeys::new("carol", ip("2001:db8:1:2:ffff::1"));
        limiter.failed(&neighbour, at(12)).await.unwrap();
        assert_eq!(
            limiter.check(&keys, at(13)).await.unwrap(),
            Some(Locked::Address { until: at(15 * 60) })
        );
        assert_eq!(limiter.purge(at(15 * 60 + 12)).await.unwrap(), 3);
        assert_eq!(limiter.check(&keys, at(15 * 60 + 12)).await.unwrap(), None);
    }

    #[test]
    fn overlong_logins_count_for_the_address_only() {
        let long = "x".repeat(LONGEST_LOGIN + 1);
        let keys = AttemptKeys::new(&long, ip("::ffff:192.0.2.9"));
        assert_eq!(keys.account, None);
        assert_eq!(keys.address, "address:192.0.2.9");
    }
}
