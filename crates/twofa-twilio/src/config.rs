//! The client's configuration: account, credentials, sender, endpoints,
//! timeouts and retries, each validated when it is set.

use core::fmt;
use core::time::Duration;
use std::net::IpAddr;

use reqwest::Url;
use twofa_delivery::{ChallengeId, DestinationError, PhoneNumber};
use twofa_types::UserId;

use crate::ids::{AccountSid, ApiKeySecret, ApiKeySid, AuthToken, MessagingServiceSid, SidKind};
use crate::retry::RetryPolicy;

/// Twilio's REST API (Messages, Calls).
pub const DEFAULT_API_BASE_URL: &str = "https://api.twilio.com";
/// Twilio's Lookup API.
pub const DEFAULT_LOOKUP_BASE_URL: &str = "https://lookups.twilio.com";
/// How long to wait for a TCP and TLS connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one request may take, connection included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest accepted URL, in bytes.
const MAX_URL_LEN: usize = 2048;
/// Longest accepted voice language tag, in bytes (BCP 47 tags in practice
/// stay far below RFC 5646 §4.4.1's 35-character advice).
const MAX_LANGUAGE_LEN: usize = 35;

/// A configured URL a [`TwilioConfigError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UrlRole {
    /// The REST API base URL.
    Api,
    /// The Lookup API base URL.
    Lookup,
    /// The status callback URL.
    StatusCallback,
}

impl fmt::Display for UrlRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Api => "API base URL",
            Self::Lookup => "lookup base URL",
            Self::StatusCallback => "status callback URL",
        })
    }
}

/// A configuration value was refused, or the HTTP client could not be
/// built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum TwilioConfigError {
    /// A SID does not have its prefix and 32 hex digits.
    #[error("malformed {kind}")]
    MalformedSid {
        /// Which SID.
        kind: SidKind,
    },
    /// A secret is empty, too long or not printable ASCII.
    #[error("secret must be 1 to {max} printable ASCII characters")]
    MalformedSecret {
        /// The longest accepted length.
        max: usize,
    },
    /// The sender or caller id is not a valid E.164 phone number.
    #[error("sender must be a valid E.164 phone number")]
    SenderNumber(#[source] DestinationError),
    /// A URL could not be read, has a query or fragment where none is
    /// allowed, or is longer than 2048 bytes.
    #[error("malformed {role}")]
    MalformedUrl {
        /// Which URL.
        role: UrlRole,
    },
    /// A URL is not `https`, and not `http` to a loopback address either.
    #[error("{role} must use https (plain http only to a loopback address)")]
    InsecureUrl {
        /// Which URL.
        role: UrlRole,
    },
    /// The voice language is not a language tag such as `en-US`.
    #[error("voice language must be a language tag such as en-US")]
    VoiceLanguage,
    /// A timeout is zero, or the connect timeout exceeds the request
    /// timeout.
    #[error("timeouts must be non-zero, the connect timeout at most the request timeout")]
    Timeouts,
    /// The retry policy allows fewer than 1 or more than `max` attempts.
    #[error("attempts must be 1 to {max}")]
    RetryAttempts {
        /// The most attempts allowed.
        max: u32,
    },
    /// The backoff's base delay is zero or exceeds its maximum.
    #[error("backoff base delay must be non-zero and at most the maximum delay")]
    Backoff,
    /// The HTTP client could not be built, for instance because no root
    /// certificate was found on the system.
    #[error("HTTP client could not be built (are the system's CA certificates installed?)")]
    HttpClient,
}

/// How requests are authenticated (HTTP Basic).
///
/// Twilio recommends API keys in production: one can be revoked without
/// changing the Auth Token. Callbacks are signed with the Auth Token either
/// way; see [`verify_signature`](crate::verify_signature).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// The account SID and its Auth Token.
    AuthToken(AuthToken),
    /// An API key of the account.
    ApiKey {
        /// The key's SID (the user name).
        sid: ApiKeySid,
        /// The key's secret (the password).
        secret: ApiKeySecret,
    },
}

/// Where text messages come from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TwilioSender {
    /// A Twilio phone number of the account (field `From`).
    Number(PhoneNumber),
    /// A Messaging Service, which picks a number from its pool (field
    /// `MessagingServiceSid`).
    MessagingService(MessagingServiceSid),
}

impl TwilioSender {
    /// A sender number in E.164 form (`+15005550006`).
    ///
    /// # Errors
    ///
    /// [`TwilioConfigError::SenderNumber`] when the number is not valid E.164.
    pub fn number(e164: &str) -> Result<Self, TwilioConfigError> {
        PhoneNumber::from_e164(e164)
            .map(Self::Number)
            .map_err(TwilioConfigError::SenderNumber)
    }

    /// A Messaging Service by SID (`MG` + 32 hex digits).
    ///
    /// # Errors
    ///
    /// [`TwilioConfigError::MalformedSid`] for a malformed SID.
    pub fn messaging_service(sid: &str) -> Result<Self, TwilioConfigError> {
        MessagingServiceSid::new(sid).map(Self::MessagingService)
    }
}

/// The language the voice call is read in: the `language` attribute of
/// TwiML's `<Say>` (`en-US` by default). The script itself comes from the
/// voice template, so a language other than English needs a translated
/// template too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VoiceLanguage {
    tag: String,
}

impl VoiceLanguage {
    /// A language tag (`en-US`, `fr-FR`, `de-DE`): letters, digits and
    /// hyphens, starting with a letter, at most 35 bytes.
    ///
    /// # Errors
    ///
    /// [`TwilioConfigError::VoiceLanguage`] otherwise.
    pub fn new(tag: &str) -> Result<Self, TwilioConfigError> {
        let well_formed = !tag.is_empty()
            && tag.len() <= MAX_LANGUAGE_LEN
            && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && tag.split('-').all(|part| !part.is_empty())
            && tag.bytes().next().is_some_and(|b| b.is_ascii_alphabetic());
        if well_formed {
            Ok(Self {
                tag: tag.to_owned(),
            })
        } else {
            Err(TwilioConfigError::VoiceLanguage)
        }
    }

    /// The tag.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.tag
    }
}

impl Default for VoiceLanguage {
    /// `en-US`, the language of the default voice template.
    fn default() -> Self {
        Self {
            tag: "en-US".to_owned(),
        }
    }
}

/// A validated URL, kept as written (a status callback must be the exact
/// string Twilio signs).
#[derive(Debug, Clone, PartialEq, Eq)]
struct CheckedUrl {
    text: String,
}

fn check_url(
    text: &str,
    role: UrlRole,
    query_allowed: bool,
) -> Result<CheckedUrl, TwilioConfigError> {
    let malformed = TwilioConfigError::MalformedUrl { role };
    if text.len() > MAX_URL_LEN || text.trim() != text {
        return Err(malformed);
    }
    let url = Url::parse(text).map_err(|_| malformed)?;
    if url.fragment().is_some()
        || (!query_allowed && url.query().is_some())
        || url.cannot_be_a_base()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(malformed);
    }
    let host = url.host_str().ok_or(malformed)?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(TwilioConfigError::InsecureUrl { role }),
    }
    Ok(CheckedUrl {
        text: text.to_owned(),
    })
}

/// Everything a [`TwilioClient`](crate::TwilioClient) needs.
///
/// Built with [`TwilioConfig::new`] and refined with `with_*` options;
/// every option validates its value.
///
/// ```
/// use core::time::Duration;
/// use twofa_twilio::{AccountSid, AuthToken, Credentials, TwilioSender, TwilioConfig, VoiceLanguage};
///
/// let config = TwilioConfig::new(
///     AccountSid::new("AC0123456789abcdef0123456789abcdef")?,
///     Credentials::AuthToken(AuthToken::new("your-auth-token")?),
///     TwilioSender::number("+15017122661")?,
/// )
/// .with_voice_language(VoiceLanguage::new("en-GB")?)
/// .with_status_callback("https://portal.example.com/twilio/status")?
/// .with_timeouts(Duration::from_secs(2), Duration::from_secs(8))?;
/// assert!(!format!("{config:?}").contains("your-auth-token"));
/// # Ok::<(), twofa_twilio::TwilioConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    account: AccountSid,
    credentials: Credentials,
    sender: TwilioSender,
    caller_id: Option<PhoneNumber>,
    voice_language: VoiceLanguage,
    status_callback: Option<CheckedUrl>,
    api_base: CheckedUrl,
    lookup_base: CheckedUrl,
    connect_timeout: Duration,
    request_timeout: Duration,
    retry: RetryPolicy,
}

impl TwilioConfig {
    /// A configuration with Twilio's public endpoints, a 3 s connect and
    /// 10 s request timeout, the default [`RetryPolicy`], `en-US` voice,
    /// no status callback, and calls placed from the sender number.
    #[must_use]
    pub fn new(account: AccountSid, credentials: Credentials, sender: TwilioSender) -> Self {
        Self {
            account,
            credentials,
            sender,
            caller_id: None,
            voice_language: VoiceLanguage::default(),
            status_callback: None,
            api_base: CheckedUrl {
                text: DEFAULT_API_BASE_URL.to_owned(),
            },
            lookup_base: CheckedUrl {
                text: DEFAULT_LOOKUP_BASE_URL.to_owned(),
            },
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }

    /// The number voice calls come from (field `From` of a call). Needed
    /// when the sender is a Messaging Service; otherwise calls come from
    /// the sender number.
    #[must_use]
    pub fn with_voice_caller_id(mut self, number: PhoneNumber) -> Self {
        self.caller_id = Some(number);
        self
    }

    /// The language voice calls are read in.
    #[must_use]
    pub fn with_voice_language(mut self, language: VoiceLanguage) -> Self {
        self.voice_language = language;
        self
    }

    /// Asks Twilio to report each message's and call's fate to `url`, with
    /// `challenge=<challenge id>` added to its query. Read the reports with
    /// [`verify_signature`](crate::verify_signature) and
    /// [`parse_status_callback`](crate::parse_status_callback).
    ///
    /// # Errors
    ///
    /// [`TwilioConfigError::MalformedUrl`] for a URL that cannot be read, has a
    /// fragment, user information or a `challenge` parameter already;
    /// [`TwilioConfigError::InsecureUrl`] unless it is `https` (or `http` to a
    /// loopback address, for tests).
    pub fn with_status_callback(mut self, url: &str) -> Result<Self, TwilioConfigError> {
        let role = UrlRole::StatusCallback;
        let checked = check_url(url, role, true)?;
        let parsed = Url::parse(url).map_err(|_| TwilioConfigError::MalformedUrl { role })?;
        if parsed.query_pairs().any(|(name, _)| name == "challenge") {
            return Err(TwilioConfigError::MalformedUrl { role });
        }
        self.status_callback = Some(checked);
        Ok(self)
    }

    /// Replaces the REST API base URL (`https://api.twilio.com`), for a
    /// regional edge, a proxy or a test server.
    ///
    /// # Errors
    ///
    /// As [`TwilioConfig::with_status_callback`]; a query is refused too.
    pub fn with_api_base_url(mut self, url: &str) -> Result<Self, TwilioConfigError> {
        self.api_base = check_url(url, UrlRole::Api, false)?;
        Ok(self)
    }

    /// Replaces the Lookup API base URL (`https://lookups.twilio.com`).
    ///
    /// # Errors
    ///
    /// As [`TwilioConfig::with_api_base_url`].
    pub fn with_lookup_base_url(mut self, url: &str) -> Result<Self, TwilioConfigError> {
        self.lookup_base = check_url(url, UrlRole::Lookup, false)?;
        Ok(self)
    }

    /// Sets the connect timeout and the whole-request timeout.
    ///
    /// # Errors
    ///
    /// [`TwilioConfigError::Timeouts`] when either is zero or `connect` exceeds
    /// `request`.
    pub fn with_timeouts(
        mut self,
        connect: Duration,
        request: Duration,
    ) -> Result<Self, TwilioConfigError> {
        if connect.is_zero() || request.is_zero() || connect > request {
            return Err(TwilioConfigError::Timeouts);
        }
        self.connect_timeout = connect;
        self.request_timeout = request;
        Ok(self)
    }

    /// Replaces the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The account.
    #[must_use]
    pub fn account(&self) -> &AccountSid {
        &self.account
    }

    /// The sender of text messages.
    #[must_use]
    pub fn sender(&self) -> &TwilioSender {
        &self.sender
    }

    /// The number calls come from: the caller id if set, else the sender
    /// number; `None` when the sender is a Messaging Service and no caller
    /// id was set (calls then fail as not configured).
    #[must_use]
    pub fn voice_caller_id(&self) -> Option<&PhoneNumber> {
        match (&self.caller_id, &self.sender) {
            (Some(number), _) | (None, TwilioSender::Number(number)) => Some(number),
            (None, TwilioSender::MessagingService(_)) => None,
        }
    }

    /// The language calls are read in.
    #[must_use]
    pub fn voice_language(&self) -> &VoiceLanguage {
        &self.voice_language
    }

    /// The status callback URL sent with the message or call of
    /// `challenge` for `user` (the configured URL with `challenge=<id>` and
    /// `user=<id, percent-encoded>` added to its query), or `None` without
    /// a configured callback. This is the URL Twilio calls and signs, so
    /// neither value can be altered on the way back.
    ///
    /// # Security
    ///
    /// The user id travels to the provider in this URL: use ids that are
    /// not personal data (not an email address) where that matters.
    #[must_use]
    pub fn status_callback_for(&self, challenge: ChallengeId, user: &UserId) -> Option<String> {
        let base = &self.status_callback.as_ref()?.text;
        let separator = match base.split_once('?') {
            None => "?",
            Some((_, "")) => "",
            Some((_, query)) if query.ends_with('&') => "",
            Some(_) => "&",
        };
        let user: String = form_urlencoded::byte_serialize(user.as_str().as_bytes()).collect();
        Some(format!(
            "{base}{separator}challenge={challenge}&user={user}"
        ))
    }

    /// The connect timeout.
    #[must_use]
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The whole-request timeout.
    #[must_use]
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The retry policy.
    #[must_use]
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    pub(crate) fn credentials(&self) -> (&str, &str) {
        match &self.credentials {
            Credentials::AuthToken(token) => (self.account.as_str(), token.expose_secret()),
            Credentials::ApiKey { sid, secret } => (sid.as_str(), secret.expose_secret()),
        }
    }

    pub(crate) fn api_url(&self, path: &str) -> String {
        join(&self.api_base.text, path)
    }

    pub(crate) fn lookup_url(&self, path: &str) -> String {
        join(&self.lookup_base.text, path)
    }
}

fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TwilioConfig {
        TwilioConfig::new(
            AccountSid::new(&format!("AC{}", "a".repeat(32))).unwrap(),
            Credentials::AuthToken(AuthToken::new("token").unwrap()),
            TwilioSender::number("+447400123456").unwrap(),
        )
    }

    fn id() -> ChallengeId {
        "0f".repeat(16).parse().unwrap()
    }

    #[test]
    fn urls_must_be_https_or_loopback_http() {
        for good in [
            "https://api.twilio.com",
            "https://proxy.example.com/twilio/",
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
        ] {
            assert!(config().with_api_base_url(good).is_ok(), "{good}");
        }
        let insecure = TwilioConfigError::InsecureUrl { role: UrlRole::Api };
        for bad in [
            "http://api.twilio.com",
            "ftp://127.0.0.1",
            "http://10.0.0.1",
        ] {
            assert_eq!(
                config().with_api_base_url(bad).err(),
                Some(insecure),
                "{bad}"
            );
        }
        let malformed = TwilioConfigError::MalformedUrl { role: UrlRole::Api };
        for bad in [
            "",
            "api.twilio.com",
            " https://api.twilio.com",
            "https://api.twilio.com?x=1",
            "https://api.twilio.com/#frag",
            "https://user:pass@api.twilio.com",
            "mailto:ops@example.com",
        ] {
            assert_eq!(
                config().with_api_base_url(bad).err(),
                Some(malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn api_paths_join_the_base_without_a_double_slash() {
        let config = config()
            .with_api_base_url("https://proxy.example.com/twilio/")
            .unwrap();
        assert_eq!(
            config.api_url("/2010-04-01/x"),
            "https://proxy.example.com/twilio/2010-04-01/x"
        );
        assert_eq!(
            config.lookup_url("/v2/PhoneNumbers/+1"),
            "https://lookups.twilio.com/v2/PhoneNumbers/+1"
        );
    }

    #[test]
    fn the_status_callback_carries_the_challenge_and_the_user() {
        let user = UserId::new("bob smith@example.com").unwrap();
        assert_eq!(config().status_callback_for(id(), &user), None);
        let hex = "0f".repeat(16);
        let query = format!("challenge={hex}&user=bob+smith%40example.com");
        for (base, expected) in [
            (
                "https://p.example.com/cb",
                format!("https://p.example.com/cb?{query}"),
            ),
            (
                "https://p.example.com/cb?",
                format!("https://p.example.com/cb?{query}"),
            ),
            (
                "https://p.example.com/cb?tenant=7",
                format!("https://p.example.com/cb?tenant=7&{query}"),
            ),
        ] {
            let config = config().with_status_callback(base).unwrap();
            assert_eq!(config.status_callback_for(id(), &user), Some(expected));
        }
        assert_eq!(
            config()
                .with_status_callback("https://p.example.com/cb?challenge=1")
                .err(),
            Some(TwilioConfigError::MalformedUrl {
                role: UrlRole::StatusCallback
            })
        );
    }

    #[test]
    fn timeouts_and_languages_are_checked() {
        let second = Duration::from_secs(1);
        assert!(config().with_timeouts(second, second).is_ok());
        for (connect, request) in [
            (Duration::ZERO, second),
            (second, Duration::ZERO),
            (second * 2, second),
        ] {
            assert_eq!(
                config().with_timeouts(connect, request).err(),
                Some(TwilioConfigError::Timeouts)
            );
        }
        for good in ["en-US", "fr-FR", "cmn-Hans-CN", "de"] {
            assert_eq!(VoiceLanguage::new(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "-en",
            "en-",
            "en--US",
            "en US",
            "en\"",
            "1en",
            &"a".repeat(36),
        ] {
            assert_eq!(
                VoiceLanguage::new(bad),
                Err(TwilioConfigError::VoiceLanguage),
                "{bad:?}"
            );
        }
        assert_eq!(VoiceLanguage::default().as_str(), "en-US");
    }

    #[test]
    fn calls_come_from_the_caller_id_or_the_sender_number() {
        let number = PhoneNumber::from_e164("+447400123456").unwrap();
        assert_eq!(config().voice_caller_id(), Some(&number));
        let service = TwilioConfig::new(
            AccountSid::new(&format!("AC{}", "a".repeat(32))).unwrap(),
            Credentials::AuthToken(AuthToken::new("token").unwrap()),
            TwilioSender::messaging_service(&format!("MG{}", "b".repeat(32))).unwrap(),
        );
        assert_eq!(service.voice_caller_id(), None);
        let other = PhoneNumber::from_e164("+14155552671").unwrap();
        assert_eq!(
            service
                .with_voice_caller_id(other.clone())
                .voice_caller_id(),
            Some(&other)
        );
        assert!(matches!(
            TwilioSender::number("447400123456"),
            Err(TwilioConfigError::SenderNumber(
                DestinationError::PhoneNotE164
            ))
        ));
    }
}
