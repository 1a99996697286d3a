//! `smtps://user:password@host:port` and friends: the whole server
//! configuration in one setting.

use percent_encoding::percent_decode_str;
use url::Url;
use zeroize::Zeroizing;

use crate::config::{SmtpConfig, SmtpConfigError, SmtpCredentials, SmtpSender, Tls};

impl SmtpConfig {
    /// Reads the server, its port, the TLS mode and the credentials from a
    /// URL:
    ///
    /// | URL | TLS | default port |
    /// |---|---|---|
    /// | `smtps://host` | [`Tls::Implicit`] | 465 |
    /// | `smtp://host`, `smtp://host?tls=required` | [`Tls::StartTls`] (required) | 587 |
    /// | `smtp://host?tls=none` | [`Tls::None`] | 25 |
    ///
    /// `user:password@` before the host sets the credentials, each
    /// percent-decoded (`%40` for `@`, `%3A` for `:`). Unlike lettre's own
    /// URL reader, a bare `smtp://` requires STARTTLS: plain text must be
    /// asked for. Other settings are the `with_*` options.
    ///
    /// # Errors
    ///
    /// [`SmtpConfigError::UrlSyntax`], [`SmtpConfigError::UrlScheme`],
    /// [`SmtpConfigError::UrlTls`] (`tls=opportunistic` included: a server
    /// that silently drops STARTTLS would get the codes in clear),
    /// [`SmtpConfigError::UrlUnsupported`], and the errors of
    /// [`SmtpConfig::new`], [`SmtpConfig::with_port`] and
    /// [`SmtpConfig::with_credentials`]. No error holds the URL.
    ///
    /// # Example
    ///
    /// ```
    /// use twofa_smtp::{SmtpSender, SmtpConfig, Tls};
    ///
    /// let sender = SmtpSender::new("Example Portal", "no-reply@portal.example.com")?;
    /// let config = SmtpConfig::from_url("smtps://portal:s3cret@smtp.example.com", sender)?;
    /// assert_eq!((config.host(), config.port(), config.tls()), ("smtp.example.com", 465, Tls::Implicit));
    /// # Ok::<(), twofa_smtp::SmtpConfigError>(())
    /// ```
    pub fn from_url(url: &str, sender: SmtpSender) -> Result<Self, SmtpConfigError> {
        let url = Url::parse(url).map_err(|_| SmtpConfigError::UrlSyntax)?;
        let mut tls_parameter = None;
        for (key, value) in url.query_pairs() {
            if key != "tls" || tls_parameter.is_some() {
                return Err(SmtpConfigError::UrlUnsupported);
            }
            tls_parameter = Some(value.into_owned());
        }
        let tls = match (url.scheme(), tls_parameter.as_deref()) {
            ("smtps", None) => Tls::Implicit,
            ("smtp", None | Some("required")) => Tls::StartTls,
            ("smtp", Some("none")) => Tls::None,
            ("smtp" | "smtps", Some(_)) => return Err(SmtpConfigError::UrlTls),
            _ => return Err(SmtpConfigError::UrlScheme),
        };
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err(SmtpConfigError::UrlUnsupported);
        }
        let host = url.host_str().ok_or(SmtpConfigError::Host)?;
        let mut config = Self::new(host, tls, sender)?;
        if let Some(port) = url.port() {
            config = config.with_port(port)?;
        }
        match (url.username(), url.password()) {
            ("", None) => {}
            (user, Some(password)) => {
                let user = decode(user)?;
                let password = decode(password)?;
                config = config.with_credentials(SmtpCredentials::new(&user, &password)?)?;
            }
            (_, None) => return Err(SmtpConfigError::Credentials),
        }
        Ok(config)
    }
}

fn decode(text: &str) -> Result<Zeroizing<String>, SmtpConfigError> {
    let bytes = Zeroizing::new(percent_decode_str(text).collect::<Vec<u8>>());
    let text = core::str::from_utf8(&bytes).map_err(|_| SmtpConfigError::Credentials)?;
    Ok(Zeroizing::new(text.to_owned()))
}
