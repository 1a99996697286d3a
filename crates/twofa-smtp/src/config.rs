//! What the mailer is told: the server, how the connection is secured, who
//! signs in and who the mail is from. Everything is validated here, once, so
//! that a mailer built from a configuration has no configuration left to
//! refuse.

use core::fmt;
use std::net::IpAddr;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::client::Certificate;
use twofa_delivery::EmailAddress;
use zeroize::Zeroizing;

use crate::tls::check_roots;

/// Longest accepted sender display name, in characters.
pub const MAX_SENDER_NAME_LEN: usize = 64;

/// The port for message submission with STARTTLS (RFC 6409 §3.1).
pub const SUBMISSION_PORT: u16 = 587;
/// The port for message submission over implicit TLS (RFC 8314 §3.3).
pub const SUBMISSIONS_PORT: u16 = 465;
/// The port of plain SMTP relays (RFC 5321 §4.5.4.2).
pub const RELAY_PORT: u16 = 25;

/// How long one send may take, from connecting to the server's answer to
/// the message, unless [`SmtpConfig::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a configuration was refused.
///
/// No variant carries the input: a configuration error may be logged, and
/// an SMTP URL or a credential holds a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SmtpConfigError {
    /// The server is neither a DNS host name nor an IP address.
    #[error("smtp host must be a dns host name or an ip address")]
    Host,
    /// Port 0.
    #[error("smtp port must be 1 to 65535")]
    Port,
    /// The sender address does not follow the address grammar of
    /// [`EmailAddress::parse`].
    #[error("sender address is not a valid email address")]
    SenderAddress,
    /// The sender name is empty, too long or has a control character.
    #[error("sender name must be 1 to {max} characters without control characters")]
    SenderName {
        /// The longest accepted length, in characters.
        max: usize,
    },
    /// The Message-ID domain is not a DNS host name.
    #[error("message-id domain must be a dns host name")]
    MessageIdDomain,
    /// The EHLO name is not a DNS host name.
    #[error("hello name must be a dns host name")]
    HelloName,
    /// An empty user name, or a NUL character (the PLAIN mechanism's
    /// separator, RFC 4616 §2) in the user name or the password.
    #[error("smtp credentials need a user name and no nul character")]
    Credentials,
    /// A setting that only makes sense over TLS, with [`Tls::None`].
    #[error("{setting} requires tls")]
    RequiresTls {
        /// `"credentials"` or `"root certificate"`.
        setting: &'static str,
    },
    /// The PEM text holds no certificate, or one that cannot be a trust
    /// anchor.
    #[error("root certificate must be a pem-encoded x.509 certificate")]
    RootCertificate,
    /// The TLS client settings could not be built from this configuration.
    #[error("tls settings cannot be built")]
    Tls,
    /// A zero timeout.
    #[error("timeout must be longer than zero")]
    Timeout,
    /// A pool that keeps no connection.
    #[error("the connection pool must keep at least one connection")]
    PoolSize,
    /// The SMTP URL cannot be parsed.
    #[error("smtp url cannot be parsed")]
    UrlSyntax,
    /// The SMTP URL's scheme is neither `smtp` nor `smtps`.
    #[error("smtp url scheme must be smtp or smtps")]
    UrlScheme,
    /// The SMTP URL's `tls` parameter is neither `required` nor `none`.
    #[error("smtp url tls parameter must be required or none")]
    UrlTls,
    /// The SMTP URL has a path, a fragment or a query parameter other than
    /// `tls`.
    #[error("smtp url may only hold credentials, a host, a port and the tls parameter")]
    UrlUnsupported,
}

/// How the connection to the server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tls {
    /// Plain connection upgraded with STARTTLS (RFC 3207), which the server
    /// must offer: without it nothing is sent. Default port 587.
    StartTls,
    /// TLS from the first byte (RFC 8314 §3.3, "SMTPS"). Default port 465.
    Implicit,
    /// No encryption at all: codes and notices cross the network in clear.
    /// Only for a relay on the same host or a test server on loopback.
    /// Default port 25.
    None,
}

impl Tls {
    /// The port this mode uses unless told otherwise.
    #[must_use]
    pub const fn default_port(self) -> u16 {
        match self {
            Self::StartTls => SUBMISSION_PORT,
            Self::Implicit => SUBMISSIONS_PORT,
            Self::None => RELAY_PORT,
        }
    }
}

/// The `From` of every message: a display name and an address, e.g.
/// `Example Portal <no-reply@portal.example.com>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSender {
    mailbox: Mailbox,
}

impl SmtpSender {
    /// Validates a display name (1 to [`MAX_SENDER_NAME_LEN`] characters,
    /// no control character) and an address (the grammar of
    /// [`EmailAddress::parse`]).
    ///
    /// # Errors
    ///
    /// [`SmtpConfigError::SenderName`] or [`SmtpConfigError::SenderAddress`].
    ///
    /// # Example
    ///
    /// ```
    /// use twofa_smtp::SmtpSender;
    ///
    /// let sender = SmtpSender::new("Example Portal", "no-reply@portal.example.com")?;
    /// assert_eq!(sender.address(), "no-reply@portal.example.com");
    /// # Ok::<(), twofa_smtp::SmtpConfigError>(())
    /// ```
    pub fn new(name: &str, address: &str) -> Result<Self, SmtpConfigError> {
        let count = name.chars().count();
        if count == 0
            || count > MAX_SENDER_NAME_LEN
            || name.trim().is_empty()
            || name.chars().any(char::is_control)
        {
            return Err(SmtpConfigError::SenderName {
                max: MAX_SENDER_NAME_LEN,
            });
        }
        let parsed = EmailAddress::parse(address).map_err(|_| SmtpConfigError::SenderAddress)?;
        let address = parsed
            .expose_address()
            .parse()
            .map_err(|_| SmtpConfigError::SenderAddress)?;
        Ok(Self {
            mailbox: Mailbox::new(Some(name.to_owned()), address),
        })
    }

    /// The display name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.mailbox.name.as_deref().unwrap_or("")
    }

    /// The address, e.g. `no-reply@portal.example.com`.
    #[must_use]
    pub fn address(&self) -> &str {
        self.mailbox.email.as_ref()
    }

    /// The address's domain, lower case.
    #[must_use]
    pub fn domain(&self) -> &str {
        self.mailbox.email.domain()
    }

    pub(crate) fn mailbox(&self) -> &Mailbox {
        &self.mailbox
    }
}

impl fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The sender's own address is configuration, not a user's: it may
        // print.
        write!(f, "SmtpSender({:?} <{}>)", self.name(), self.address())
    }
}

/// The user name and password the mailer signs in with (SMTP AUTH, RFC
/// 4954, with the PLAIN or LOGIN mechanism).
///
/// # Security
///
/// Both are zeroized on drop and `Debug` prints `[REDACTED]`; there is no
/// `Display`. The transport keeps its own copy for as long as the mailer
/// lives (lettre's, not zeroized), to sign in again on new connections.
#[derive(Clone)]
pub struct SmtpCredentials {
    user: Zeroizing<String>,
    password: Zeroizing<String>,
}

impl SmtpCredentials {
    /// Wraps a user name and a password.
    ///
    /// # Errors
    ///
    /// [`SmtpConfigError::Credentials`] for an empty user name or a NUL
    /// character in either.
    pub fn new(user: &str, password: &str) -> Result<Self, SmtpConfigError> {
        if user.is_empty() || user.contains('\0') || password.contains('\0') {
            return Err(SmtpConfigError::Credentials);
        }
        Ok(Self {
            user: Zeroizing::new(user.to_owned()),
            password: Zeroizing::new(password.to_owned()),
        })
    }

    /// The user name.
    ///
    /// # Security
    ///
    /// Often an email address: keep it out of logs.
    #[must_use]
    pub fn expose_user(&self) -> &str {
        &self.user
    }

    /// The password.
    ///
    /// # Security
    ///
    /// Only for handing to the transport.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SmtpCredentials([REDACTED])")
    }
}

/// Everything an [`SmtpMailer`](crate::SmtpMailer) needs, validated.
///
/// Built with [`SmtpConfig::new`] or [`SmtpConfig::from_url`], then
/// refined with the `with_*` options. Defaults: the port of the TLS mode,
/// the Mozilla root certificates (compiled in, so no system certificate
/// store is read), no authentication, a 30-second limit per send, lettre's
/// pool (up to 10 idle connections, closed after 60 idle seconds), the
/// sender's domain in Message-IDs and the machine's host name in EHLO.
#[derive(Clone)]
pub struct SmtpConfig {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: Tls,
    pub(crate) sender: SmtpSender,
    pub(crate) credentials: Option<SmtpCredentials>,
    pub(crate) roots: Vec<Certificate>,
    pub(crate) timeout: Duration,
    pub(crate) pool_max_idle: u32,
    pub(crate) pool_idle_timeout: Duration,
    pub(crate) message_id_domain: String,
    pub(crate) hello_name: Option<String>,
}

impl SmtpConfig {
    /// A server, how to secure the connection to it, and the sender.
    ///
    /// # Errors
    ///
    /// [`SmtpConfigError::Host`] when `host` is neither a DNS host name nor an
    /// IP address (IPv6 with or without brackets).
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use twofa_smtp::{SmtpSender, SmtpConfig, SmtpCredentials, Tls};
    ///
    /// let config = SmtpConfig::new(
    ///     "smtp.example.com",
    ///     Tls::StartTls,
    ///     SmtpSender::new("Example Portal", "no-reply@portal.example.com")?,
    /// )?
    /// .with_credentials(SmtpCredentials::new("portal", "s3cret")?)?
    /// .with_timeout(Duration::from_secs(10))?;
    /// assert_eq!(config.port(), 587);
    /// assert!(!format!("{config:?}").contains("s3cret"));
    /// # Ok::<(), twofa_smtp::SmtpConfigError>(())
    /// ```
    pub fn new(host: &str, tls: Tls, sender: SmtpSender) -> Result<Self, SmtpConfigError> {
        let host = validate_host(host).ok_or(SmtpConfigError::Host)?;
        let message_id_domain = sender.domain().to_owned();
        Ok(Self {
            host,
            port: tls.default_port(),
            tls,
            sender,
            credentials: None,
            roots: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            pool_max_idle: 10,
            pool_idle_timeout: Duration::from_secs(60),
            message_id_domain,
            hello_name: None,
        })
    }

    /// Connects to `port` instead of the TLS mode's default.
    ///
    /// # Errors
    ///
    /// [`SmtpConfigError::Port`] for port 0.
    pub fn with_port(mut self, port: u16) -> Result<Self, SmtpConfigError> {
        if port == 0 {
            return Err(SmtpConfigError::Port);
        }
        self.port = port;
        Ok(self)
    }

    /// Signs in with `credentials`, with PLAIN or LOGIN, whichever the
    /// server offers (PLAIN first).
    ///
    /// # Errors
    ///
    /// [`SmtpConfigError::RequiresTls`] with [`Tls::None`]: a password is never
    /// sent in clear.
    pub fn with_credentials(
        mut self,
        credentials: SmtpCredentials,
    ) -> Result<Self, SmtpConfigError> {
        if self.tls == Tls::None {
            return Err(SmtpConfigError::RequiresTls {
                setting: "credentials",
            });
        }
        self.credentials = Some(credentials);
        Ok(self)
    }

    /// Trusts the certificate authority in `pem` (one or more PEM
    /// `CERTIFICATE` blocks) and only the authorities given this way: the
    /// first call replaces the built-in Mozilla roots, for a server whose
    /// certificate comes from a private authority.
    ///
    /// # Errors
    ///
    /// [`SmtpConfigError::RootCertificate`] when `pem` holds no certificate or
    /// one that cannot be a trust anchor; [`SmtpConfigError::RequiresTls`] with
    /// [`Tls::None`].
    pub fn with_root_certificate(mut self, pem: &[u8]) -> Result<Self, SmtpConfigError> {
        if self.tls == Tls::None {
            return Err(SmtpConfigError::RequiresTls {
                setting: "root certificate",
            });
        }
        let certificate =
            Certificate::from_pem(pem).map_err(|_| SmtpConfigError::RootCertificate)?;
        check_roots(pem, &certificate)?;
        self.roots.push(certificate);
        Ok(self)
    }

    /// Gives up on a send after `timeout`, from connecting to the server's
    /// answer to the message (default 30 seconds).
    ///
    /// # Errors
    ///
    /// [`SmtpConfigError::Timeout`] for zero.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, SmtpConfigError> {
        if timeout.is_zero() {
            return Err(SmtpConfigError::Timeout);
        }
        self.timeout = timeout;
        Ok(self)
    }

    /// Keeps up to `max_idle` connections open between sends, each closed
    /// after `idle_timeout` unused (defaults 10 and 60 seconds).
    ///
    /// # Errors
    ///
    /// [`SmtpConfigError::PoolSize`] for `max_idle` 0.
    pub fn with_pool(
        mut self,
        max_idle: u32,
        idle_timeout: Duration,
    ) -> Result<Self, SmtpConfigError> {
        if max_idle == 0 {
            return Err(SmtpConfigError::PoolSize);
        }
        self.pool_max_idle = max_idle;
        self.pool_idle_timeout = idle_timeout;
        Ok(self)
    }

    /// Ends every Message-ID with `domain` instead of the sender's domain
    /// (RFC 5322 §3.6.4: the right side names the host that made the id).
    ///
    /// # Errors
    ///
    /// [`SmtpConfigError::MessageIdDomain`] unless `domain` is a DNS host name.
    pub fn with_message_id_domain(mut self, domain: &str) -> Result<Self, SmtpConfigError> {
        self.message_id_domain =
            validate_dns_name(domain).ok_or(SmtpConfigError::MessageIdDomain)?;
        Ok(self)
    }

    /// Introduces the client as `name` in EHLO (RFC 5321 §4.1.1.1) instead
    /// of the machine's host name.
    ///
    /// # Errors
    ///
    /// [`SmtpConfigError::HelloName`] unless `name` is a DNS host name.
    pub fn with_hello_name(mut self, name: &str) -> Result<Self, SmtpConfigError> {
        self.hello_name = Some(validate_dns_name(name).ok_or(SmtpConfigError::HelloName)?);
        Ok(self)
    }

    /// The server's host name or IP address.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The server's port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How the connection is secured.
    #[must_use]
    pub fn tls(&self) -> Tls {
        self.tls
    }

    /// The sender.
    #[must_use]
    pub fn sender(&self) -> &SmtpSender {
        &self.sender
    }

    /// The limit on one send.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The domain that ends every Message-ID.
    #[must_use]
    pub fn message_id_domain(&self) -> &str {
        &self.message_id_domain
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("sender", &self.sender)
            .field("credentials", &self.credentials)
            .field("root_certificates", &self.roots.len())
            .field("timeout", &self.timeout)
            .field("pool_max_idle", &self.pool_max_idle)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("message_id_domain", &self.message_id_domain)
            .field("hello_name", &self.hello_name)
            .finish()
    }
}

/// A DNS host name (lower-cased) or an IP address (IPv6 without brackets).
fn validate_host(host: &str) -> Option<String> {
    let bare = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    validate_dns_name(host)
}

/// RFC 1035 §2.3.1 labels with the RFC 1123 §2.1 relaxation (a label may
/// start with a digit), at most 253 bytes, stored lower case; a single
/// label such as `localhost` is accepted.
pub(crate) fn validate_dns_name(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        // An all-numeric last label would read as an IPv4 address.
        && name
            .rsplit('.')
            .next()
            .is_some_and(|top| !top.bytes().all(|b| b.is_ascii_digit()));
    valid.then(|| name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_names_or_addresses() {
        assert_eq!(
            validate_host("SMTP.Example.com").as_deref(),
            Some("smtp.example.com")
        );
        assert_eq!(validate_host("localhost").as_deref(), Some("localhost"));
        assert_eq!(validate_host("127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(validate_host("[::1]").as_deref(), Some("::1"));
        assert_eq!(validate_host("::1").as_deref(), Some("::1"));
        for bad in [
            "",
            "smtp example.com",
            "-smtp.example.com",
            "smtp..example.com",
            "smtp.example.com:25",
            "1.2.3",
            "user@smtp.example.com",
        ] {
            assert_eq!(validate_host(bad), None, "{bad}");
        }
        assert!(validate_dns_name(&"a".repeat(64)).is_none());
        assert!(validate_dns_name(&"a".repeat(63)).is_some());
    }
}
