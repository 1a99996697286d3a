//! Server-side sessions: random identifiers, the CSRF synchronizer token,
//! the authentication stage, rotation and expiry; kept in process memory
//! ([`memory`]) or in PostgreSQL ([`crate::postgres`]) so that several
//! servers share them.

mod memory;
pub(crate) mod record;

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use subtle::ConstantTimeEq;
use twofa::LoginTicket;
use twofa::enrollment::MethodId;
use twofa::types::Method;
use twofa::types::MethodSet;
use zeroize::Zeroizing;

use crate::accounts::DemoAccount;
use crate::postgres::SharedState;

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

impl Stage {
    /// Whether a password was accepted: such sessions live apart from
    /// the pre-login ones, which can never push them out.
    pub(crate) fn signed_in(&self) -> bool {
        !matches!(self, Self::Anonymous)
    }
}

/// A login between the password and the second factor.
#[derive(Debug, Clone)]
pub(crate) struct Partial {
    pub(crate) account: &'static DemoAccount,
    pub(crate) ticket: LoginTicket,
    pub(crate) screen: Screen,
    /// A step-up ("confirm it's you") rather than a login: where to go
    /// once the second factor is accepted.
    pub(crate) return_to: Option<ReturnTo>,
}

/// The page a step-up returns to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum ReturnTo {
    /// The user's settings.
    Settings,
    /// The company settings.
    Company,
}

impl ReturnTo {
    /// The page's path.
    pub(crate) const fn path(self) -> &'static str {
        match self {
            Self::Settings => "/settings",
            Self::Company => "/company",
        }
    }
}

/// The second-factor screen the partial login is on.
#[derive(Debug, Clone)]
pub(crate) enum Screen {
    /// Choose a method (and maybe "remind me in 48 hours").
    SetUp(SetUpView),
    /// Scan the QR code, then type the first code.
    ScanQr(QrView),
    /// Type the code that was sent or that the app shows (or, for a
    /// passkey, let the browser answer).
    Verify(VerifyView),
    /// Let the browser create the passkey being set up.
    CreatePasskey(PasskeyCreateView),
}

/// The options of a passkey ceremony (`{"publicKey": {...}}`) as the
/// facade wrote them, for the page's script. Not a secret, but a
/// challenge and a user handle: `Debug` leaves them out, as the facade's
/// own options types do.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CeremonyOptions(String);

impl CeremonyOptions {
    pub(crate) fn new(json: impl Into<String>) -> Self {
        Self(json.into())
    }

    /// The JSON text.
    pub(crate) fn as_json(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CeremonyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CeremonyOptions([REDACTED])")
    }
}

/// The passkey set-up screen's data: the options for
/// `navigator.credentials.create` (a registration ceremony is answered
/// once), and the set-up screen to go back to after a refusal.
#[derive(Debug, Clone)]
pub(crate) struct PasskeyCreateView {
    /// The options JSON (`{"publicKey": {...}}`), as the facade wrote it.
    pub(crate) options: CeremonyOptions,
    /// The set-up screen the passkey was chosen on.
    pub(crate) back: SetUpView,
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

/// The QR screen's data: the new key (as its `otpauth://` URI) until the
/// set-up is verified, so a reload, on any server, shows the same key.
/// The picture is drawn from it on each GET (it is far larger than the
/// URI).
#[derive(Clone)]
pub(crate) struct QrView {
    pub(crate) method: Method,
    pub(crate) key_uri: Zeroizing<String>,
}

impl fmt::Debug for QrView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QrView")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// One of the user's other methods, offered on the verification screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OtherMethodView {
    pub(crate) id: MethodId,
    pub(crate) kind: Method,
    /// The masked number of a phone method.
    pub(crate) masked_number: Option<String>,
    /// The name of a passkey.
    pub(crate) name: Option<String>,
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
    pub(crate) other_methods: Vec<OtherMethodView>,
    /// Every method of the user is switched off by the company: a new one
    /// is set up after this check.
    pub(crate) then_set_up: bool,
    /// A passkey challenge: the options for `navigator.credentials.get`
    /// (JSON) while the ceremony is open; `None` once it was answered
    /// (a new one starts with "try again").
    pub(crate) passkey: Option<CeremonyOptions>,
}

/// A fully logged-in session.
#[derive(Clone)]
pub(crate) struct LoggedIn {
    pub(crate) account: &'static DemoAccount,
    /// Recovery codes to show once, right after the first activation.
    pub(crate) recovery_codes: Option<Zeroizing<Vec<String>>>,
    /// A number change waiting for its code.
    pub(crate) phone_change_pending: bool,
    /// The not-a-mobile dialog for a new number.
    pub(crate) not_mobile: Option<NotMobileView>,
    /// A change was just refused because the last second factor is older
    /// than the step-up window: the settings page offers to confirm it is
    /// the user (once).
    pub(crate) sign_in_again: bool,
    /// An app being added from the settings page: its key, until its first
    /// code comes back.
    pub(crate) adding: Option<QrView>,
    /// A passkey being added from the settings page: the options for
    /// `navigator.credentials.create` (JSON), until the browser answers.
    pub(crate) adding_passkey: Option<CeremonyOptions>,
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
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) touched_at: DateTime<Utc>,
}

impl Session {
    fn new(now: DateTime<Utc>) -> Result<Self, SessionError> {
        Ok(Self {
            csrf: Token::generate().map_err(|_| SessionError::Random)?,
            stage: Stage::Anonymous,
            flash: None,
            created_at: now,
            touched_at: now,
        })
    }

    /// Whether the session is alive at `now` under `policy`.
    pub(crate) fn alive(&self, policy: &SessionPolicy, now: DateTime<Utc>) -> bool {
        let idle_end = self.touched_at.checked_add_signed(policy.idle);
        let absolute_end = self.created_at.checked_add_signed(policy.absolute);
        idle_end.is_some_and(|end| now < end)
            && absolute_end.is_some_and(|end| now < end)
            && now >= self.created_at
    }
}

/// How long sessions live, and how many are kept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionPolicy {
    /// Without a request for this long, the session ends.
    pub(crate) idle: TimeDelta,
    /// However active, the session ends this long after it began.
    pub(crate) absolute: TimeDelta,
    /// At most this many sessions after an accepted password; the least
    /// recently used go first (expired ones before them).
    pub(crate) signed_in_capacity: usize,
    /// At most this many sessions before the password (one per browser
    /// that opened a page); the oldest go first, and never a signed-in
    /// one.
    pub(crate) pre_login_capacity: usize,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: TimeDelta::minutes(30),
            absolute: TimeDelta::hours(12),
            signed_in_capacity: 100_000,
            pre_login_capacity: 10_000,
        }
    }
}

/// The session store failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SessionError {
    /// The operating system's generator failed.
    #[error("the random generator is unavailable")]
    Random,
    /// The database did not answer, or a row could not be read.
    #[error("the session store is unavailable")]
    Unavailable,
}

/// How many sessions a store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct SessionCounts {
    /// Sessions of browsers that have not given a password.
    pub pre_login: u64,
    /// Sessions after an accepted password (second factor pending, or
    /// fully logged in).
    pub signed_in: u64,
}

/// Where the sessions live.
#[derive(Debug)]
enum Backend {
    Memory(memory::MemorySessions),
    Shared(SharedState),
}

/// The server-side session store of one cookie jar.
#[derive(Debug)]
pub(crate) struct SessionStore {
    backend: Backend,
    policy: SessionPolicy,
    /// Which jar the sessions belong to (the shared table holds both).
    jar: u8,
}

impl SessionStore {
    /// Sessions in this process's memory.
    pub(crate) fn in_memory(policy: SessionPolicy, jar: u8) -> Self {
        Self {
            backend: Backend::Memory(memory::MemorySessions::default()),
            policy,
            jar,
        }
    }

    /// Sessions in PostgreSQL, shared by every server on the database.
    pub(crate) fn shared(state: SharedState, policy: SessionPolicy, jar: u8) -> Self {
        Self {
            backend: Backend::Shared(state),
            policy,
            jar,
        }
    }

    /// The session a browser presents, if it exists and has not expired
    /// (it is touched: its idle time starts again).
    pub(crate) async fn load(
        &self,
        id: &Token,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, SessionError> {
        match &self.backend {
            Backend::Memory(sessions) => Ok(sessions.load(id, &self.policy, now)),
            Backend::Shared(state) => state.load_session(self.jar, id, &self.policy, now).await,
        }
    }

    /// A new anonymous session.
    pub(crate) async fn create(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(Token, Session), SessionError> {
        let session = Session::new(now)?;
        let id = Token::generate().map_err(|_| SessionError::Random)?;
        self.insert((&id, None), &session, now).await?;
        Ok((id, session))
    }

    /// Stores the session's new state under its identifier (a session
    /// that has ended meanwhile stays ended).
    pub(crate) async fn save(&self, id: &Token, session: &Session) -> Result<(), SessionError> {
        match &self.backend {
            Backend::Memory(sessions) => {
                sessions.save(id, session, &self.policy);
                Ok(())
            }
            Backend::Shared(state) => state.save_session(self.jar, id, session).await,
        }
    }

    /// Moves the session to a fresh identifier and a fresh CSRF token
    /// (after each authentication step: a session fixed by an attacker
    /// before the login is worth nothing after it). Returns the new
    /// identifier and the session as stored.
    pub(crate) async fn rotate(
        &self,
        old: &Token,
        mut session: Session,
        now: DateTime<Utc>,
    ) -> Result<(Token, Session), SessionError> {
        let id = Token::generate().map_err(|_| SessionError::Random)?;
        session.csrf = Token::generate().map_err(|_| SessionError::Random)?;
        session.created_at = now;
        session.touched_at = now;
        self.insert((&id, Some(old)), &session, now).await?;
        Ok((id, session))
    }

    /// Ends a session.
    pub(crate) async fn remove(&self, id: &Token) -> Result<(), SessionError> {
        match &self.backend {
            Backend::Memory(sessions) => {
                sessions.remove(id);
                Ok(())
            }
            Backend::Shared(state) => state.remove_session(self.jar, id).await,
        }
    }

    /// How many sessions the store holds.
    pub(crate) async fn counts(&self) -> Result<SessionCounts, SessionError> {
        match &self.backend {
            Backend::Memory(sessions) => Ok(sessions.counts()),
            Backend::Shared(state) => state.session_counts(self.jar).await,
        }
    }

    /// Stores `session` under a new identifier; with `replacing`, the
    /// session it replaces ends at the same time.
    async fn insert(
        &self,
        (id, replacing): (&Token, Option<&Token>),
        session: &Session,
        now: DateTime<Utc>,
    ) -> Result<(), SessionError> {
        match &self.backend {
            Backend::Memory(sessions) => {
                if let Some(old) = replacing {
                    sessions.remove(old);
                }
                sessions.insert(id.clone(), session.clone(), &self.policy, now);
                Ok(())
            }
            Backend::Shared(state) => {
                state
                    .insert_session(self.jar, (id, replacing), session, &self.policy, now)
                    .await
            }
        }
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

    fn store() -> SessionStore {
        SessionStore::in_memory(SessionPolicy::default(), 0)
    }

    #[tokio::test]
    async fn idle_sessions_end_at_the_exact_second() {
        let store = store();
        let (id, _) = store.create(at(0)).await.unwrap();
        let idle = store.policy.idle.num_seconds();
        assert!(store.load(&id, at(idle - 1)).await.unwrap().is_some());
        // Touched at idle - 1: alive until 2 * idle - 1, gone at that second.
        assert!(store.load(&id, at(2 * idle - 2)).await.unwrap().is_some());
        assert!(
            store
                .load(&id, at(2 * idle - 2 + idle))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store.load(&id, at(0)).await.unwrap().is_none(),
            "removed once expired"
        );
    }

    #[tokio::test]
    async fn rotation_retires_the_old_identifier_and_token() {
        let store = store();
        let (old, session) = store.create(at(0)).await.unwrap();
        let old_csrf = session.csrf.clone();
        let (new, _) = store.rotate(&old, session, at(1)).await.unwrap();
        assert!(store.load(&old, at(2)).await.unwrap().is_none());
        let rotated = store.load(&new, at(2)).await.unwrap().unwrap();
        assert!(!rotated.csrf.matches(old_csrf.expose()));
    }
}
