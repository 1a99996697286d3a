//! Server-side sessions: random identifiers, the CSRF synchronizer token,
//! the authentication stage, rotation and expiry.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use subtle::ConstantTimeEq;
use twofa::types::Method;
use twofa::types::MethodSet;
use twofa::{LoginTicket, OtherMethod};

use crate::accounts::DemoAccount;

/// Bytes of randomness in a session identifier and in a CSRF token
/// (256 bits: far beyond guessing, OWASP asks for at least 64).
const TOKEN_BYTES: usize = 32;

/// A random token, hex-encoded. Used for session identifiers and CSRF
/// tokens.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Token(String);

impl Token {
    /// A fresh token from the operating system's generator.
    pub(crate) fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0_u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)?;
        let mut text = String::with_capacity(TOKEN_BYTES * 2);
        for byte in bytes {
            text.push(hex_digit(byte >> 4));
            text.push(hex_digit(byte & 0x0f));
        }
        Ok(Self(text))
    }

    /// Reads a token presented by the browser; anything but the exact
    /// shape of a generated token is refused before any lookup.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let well_formed = text.len() == TOKEN_BYTES * 2
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| Self(text.to_owned()))
    }

    /// The token as it goes into a cookie or a hidden form field.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a submitted value.
    pub(crate) fn matches(&self, submitted: &str) -> bool {
        // Lengths are public (every token has the same length); the
        // contents are compared without an early exit.
        bool::from(self.0.as_bytes().ct_eq(submitted.as_bytes()))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from(
        b"0123456789abcdef"
            .get(usize::from(nibble))
            .copied()
            .unwrap_or(b'0'),
    )
}

/// Where the session stands in the login.
#[derive(Debug, Clone)]
pub(crate) enum Stage {
    /// Nobody has logged in.
    Anonymous,
    /// The password was accepted, the second factor not yet: only the
    /// second-factor screens are reachable.
    SecondFactor(Partial),
    /// Fully logged in.
    LoggedIn(LoggedIn),
}

/// A login between the password and the second factor.
#[derive(Debug, Clone)]
pub(crate) struct Partial {
    pub(crate) account: &'static DemoAccount,
    pub(crate) ticket: LoginTicket,
    pub(crate) screen: Screen,
}

/// The second-factor screen the partial login is on.
#[derive(Debug, Clone)]
pub(crate) enum Screen {
    /// Choose a method (and maybe "remind me in 48 hours").
    SetUp(SetUpView),
    /// Scan the QR code, then type the first code.
    ScanQr(QrView),
    /// Type the code that was sent or that the app shows.
    Verify(VerifyView),
}

/// The set-up screen's data.
#[derive(Debug, Clone)]
pub(crate) struct SetUpView {
    pub(crate) methods: MethodSet,
    pub(crate) remind_me_until: Option<DateTime<Utc>>,
    pub(crate) pending: Option<Method>,
    /// The not-a-mobile dialog for a number just typed.
    pub(crate) not_mobile: Option<NotMobileView>,
}

/// The not-a-mobile dialog.
#[derive(Clone)]
pub(crate) struct NotMobileView {
    /// The number as typed, to continue with a call.
    pub(crate) number: String,
    /// Why the dialog is shown, in words.
    pub(crate) reason: String,
}

impl fmt::Debug for NotMobileView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotMobileView")
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// The QR screen's data: it holds the new key until the set-up is
/// verified, so a reload shows the same key.
#[derive(Clone)]
pub(crate) struct QrView {
    pub(crate) method: Method,
    pub(crate) svg: String,
    pub(crate) key_groups: String,
}

impl fmt::Debug for QrView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QrView")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// The verification screen's data.
#[derive(Debug, Clone)]
pub(crate) struct VerifyView {
    pub(crate) method: Method,
    pub(crate) sent_to: Option<String>,
    pub(crate) resend: Vec<twofa::delivery::ResendOption>,
    /// A set-up being verified (not a login of an enrolled user).
    pub(crate) setting_up: bool,
    /// The number to show while a push prompt waits.
    pub(crate) push_number: Option<u8>,
    /// The user's other methods this login may be answered with.
    pub(crate) other_methods: Vec<OtherMethod>,
    /// Every method of the user is switched off by the company: a new one
    /// is set up after this check.
    pub(crate) then_set_up: bool,
}

/// A fully logged-in session.
#[derive(Clone)]
pub(crate) struct LoggedIn {
    pub(crate) account: &'static DemoAccount,
    /// Recovery codes to show once, right after the first activation.
    pub(crate) recovery_codes: Option<Vec<String>>,
    /// A number change waiting for its code.
    pub(crate) phone_change_pending: bool,
    /// The not-a-mobile dialog for a new number.
    pub(crate) not_mobile: Option<NotMobileView>,
    /// A change was just refused because the last second factor is older
    /// than the step-up window: the settings page offers to sign in again
    /// (once).
    pub(crate) sign_in_again: bool,
}

impl fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggedIn")
            .field("account", &self.account.login)
            .field("phone_change_pending", &self.phone_change_pending)
            .finish_non_exhaustive()
    }
}

/// One session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) csrf: Token,
    pub(crate) stage: Stage,
    /// A message for the next page (a rejection, a confirmation).
    pub(crate) flash: Option<String>,
    created_at: DateTime<Utc>,
    touched_at: DateTime<Utc>,
}

impl Session {
    fn new(now: DateTime<Utc>) -> Result<Self, getrandom::Error> {
        Ok(Self {
            csrf: Token::generate()?,
            stage: Stage::Anonymous,
            flash: None,
            created_at: now,
            touched_at: now,
        })
    }
}

/// How long sessions live.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionPolicy {
    /// Without a request for this long, the session ends.
    pub(crate) idle: TimeDelta,
    /// However active, the session ends this long after it began.
    pub(crate) absolute: TimeDelta,
    /// At most this many sessions are kept; the oldest go first.
    pub(crate) capacity: usize,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: TimeDelta::minutes(30),
            absolute: TimeDelta::hours(12),
            capacity: 100_000,
        }
    }
}

/// The server-side session store.
#[derive(Debug, Default)]
pub(crate) struct SessionStore {
    sessions: Mutex<HashMap<Token, Session>>,
    policy: SessionPolicy,
}

impl SessionStore {
    /// The session a browser presents, if it exists and has not expired.
    pub(crate) fn load(&self, id: &Token, now: DateTime<Utc>) -> Option<Session> {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let session = sessions.get_mut(id)?;
        let idle_end = session.touched_at.checked_add_signed(self.policy.idle);
        let absolute_end = session.created_at.checked_add_signed(self.policy.absolute);
        let alive = idle_end.is_some_and(|end| now < end)
            && absolute_end.is_some_and(|end| now < end)
            && now >= session.created_at;
        if !alive {
            sessions.remove(id);
            return None;
        }
        session.touched_at = now;
        Some(session.clone())
    }

    /// A new anonymous session.
    pub(crate) fn create(&self, now: DateTime<Utc>) -> Result<(Token, Session), getrandom::Error> {
        let session = Session::new(now)?;
        let id = Token::generate()?;
        self.insert(id.clone(), session.clone(), now);
        Ok((id, session))
    }

    /// Stores the session's new state under its identifier.
    pub(crate) fn save(&self, id: &Token, session: Session) {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = sessions.get_mut(id) {
            *slot = session;
        }
    }

    /// Moves the session to a fresh identifier and a fresh CSRF token
    /// (after each authentication step: a session fixed by an attacker
    /// before the login is worth nothing after it).
    pub(crate) fn rotate(
        &self,
        old: &Token,
        mut session: Session,
        now: DateTime<Utc>,
    ) -> Result<Token, getrandom::Error> {
        let id = Token::generate()?;
        session.csrf = Token::generate()?;
        session.created_at = now;
        session.touched_at = now;
        {
            let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
            sessions.remove(old);
        }
        self.insert(id.clone(), session, now);
        Ok(id)
    }

    /// Ends a session.
    pub(crate) fn remove(&self, id: &Token) {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.remove(id);
    }

    fn insert(&self, id: Token, session: Session, now: DateTime<Utc>) {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        if sessions.len() >= self.policy.capacity {
            // Expired sessions go first; if none has expired, the least
            // recently used one.
            let idle = self.policy.idle;
            sessions.retain(|_, s| {
                s.touched_at
                    .checked_add_signed(idle)
                    .is_some_and(|end| now < end)
            });
            if sessions.len() >= self.policy.capacity
                && let Some(oldest) = sessions
                    .iter()
                    .min_by_key(|(_, s)| s.touched_at)
                    .map(|(k, _)| k.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(id, session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn tokens_are_distinct_and_parse_back() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(Token::parse(a.expose()), Some(a.clone()));
        assert!(a.matches(a.expose()));
        assert!(!a.matches(b.expose()));
        assert!(!a.matches(""));
        assert_eq!(format!("{a:?}"), "Token([REDACTED])");
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = Token::generate().unwrap();
        let upper = good.expose().to_uppercase();
        let short = &good.expose()[1..];
        for bad in ["", "x", short, upper.as_str()] {
            assert_eq!(Token::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn idle_sessions_end_at_the_exact_second() {
        let store = SessionStore::default();
        let (id, _) = store.create(at(0)).unwrap();
        let idle = store.policy.idle.num_seconds();
        assert!(store.load(&id, at(idle - 1)).is_some());
        // Touched at idle - 1: alive until 2 * idle - 1, gone at that second.
        assert!(store.load(&id, at(2 * idle - 2)).is_some());
        assert!(store.load(&id, at(2 * idle - 2 + idle)).is_none());
        assert!(store.load(&id, at(0)).is_none(), "removed once expired");
    }

    #[test]
    fn rotation_retires_the_old_identifier_and_token() {
        let store = SessionStore::default();
        let (old, session) = store.create(at(0)).unwrap();
        let old_csrf = session.csrf.clone();
        let new = store.rotate(&old, session, at(1)).unwrap();
        assert!(store.load(&old, at(2)).is_none());
        let rotated = store.load(&new, at(2)).unwrap();
        assert!(!rotated.csrf.matches(old_csrf.expose()));
    }
}
