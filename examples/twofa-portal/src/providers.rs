//! Real providers, configured from the environment: Twilio for text
//! messages, calls and line types, an SMTP server for email. Without
//! either, the portal runs its demo outbox.
//!
//! | variable | meaning |
//! |---|---|
//! | `TWILIO_ACCOUNT_SID` | the account (`AC…`) |
//! | `TWILIO_AUTH_TOKEN` | its Auth Token (also checks status callbacks) |
//! | `TWILIO_FROM` or `TWILIO_MESSAGING_SERVICE_SID` | the sender: a number of the account (E.164), or a Messaging Service (`MG…`) |
//! | `TWILIO_STATUS_CALLBACK_URL` | optional: the public URL of this portal's `/hooks/twilio/status`, for delivery receipts |
//! | `TWILIO_API_BASE_URL`, `TWILIO_LOOKUP_BASE_URL` | optional: other endpoints (a local stand-in) |
//! | `TWOFA_SMTP_URL` | the mail server: `smtps://user:password@host:465` (implicit TLS) or `smtp://user:password@host:587` (STARTTLS required) |
//! | `TWOFA_SMTP_FROM` | the sender mailbox, `address` or `Name <address>` |

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use twofa::Channels;
use twofa::delivery::{CarrierLookup, FailureCause, PushMessage, PushSender, SendError};
use twofa_smtp::{SmtpConfig, SmtpMailer};
use twofa_twilio::{AccountSid, AuthToken, Credentials, TwilioClient, TwilioConfig};

/// A provider setting that is missing or refused. The value is never
/// repeated: it may be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProvidersError {
    /// Real channels need both providers: texts and calls, and email.
    #[error("{0} is not set (real channels need Twilio and an SMTP server)")]
    Missing(&'static str),
    /// A Twilio setting was refused.
    #[error("{variable}: {error}")]
    Twilio {
        /// The variable.
        variable: &'static str,
        /// Why.
        error: twofa_twilio::TwilioConfigError,
    },
    /// An SMTP setting was refused.
    #[error("{variable}: {error}")]
    Smtp {
        /// The variable.
        variable: &'static str,
        /// Why.
        error: twofa_smtp::SmtpConfigError,
    },
}

/// Where Twilio's signed status callbacks are checked.
#[derive(Clone)]
pub struct StatusCallback {
    pub(crate) token: AuthToken,
    /// The public URL Twilio calls, without its query.
    pub(crate) url: String,
}

impl fmt::Debug for StatusCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusCallback")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl StatusCallback {
    /// Callbacks signed with `token` and sent to `url` (the public URL of
    /// `/hooks/twilio/status`, as configured in the messages).
    #[must_use]
    pub fn new(token: AuthToken, url: &str) -> Self {
        let url = url.split_once('?').map_or(url, |(base, _)| base);
        Self {
            token,
            url: url.to_owned(),
        }
    }
}

/// The real channels, the carrier lookup and the callback check.
#[non_exhaustive]
pub struct Providers {
    /// Codes by Twilio (SMS, voice) and SMTP (email); notices split the
    /// same way; push refused (no push provider is configured).
    pub channels: Channels,
    /// Twilio Lookup.
    pub carrier: Arc<dyn CarrierLookup>,
    /// Set when `TWILIO_STATUS_CALLBACK_URL` is.
    pub status_callback: Option<StatusCallback>,
}

impl fmt::Debug for Providers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Providers")
            .field("status_callback", &self.status_callback)
            .finish_non_exhaustive()
    }
}

impl Providers {
    /// The providers named by the variables `var` reads, or `None` when
    /// neither `TWILIO_ACCOUNT_SID` nor `TWOFA_SMTP_URL` is set (the demo).
    ///
    /// # Errors
    ///
    /// [`ProvidersError`] for a missing or refused setting.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ProvidersError> {
        if var("TWILIO_ACCOUNT_SID").is_none() && var("TWOFA_SMTP_URL").is_none() {
            return Ok(None);
        }
        let required = |name: &'static str| var(name).ok_or(ProvidersError::Missing(name));
        let twilio = |variable| move |error| ProvidersError::Twilio { variable, error };
        let smtp = |variable| move |error| ProvidersError::Smtp { variable, error };

        let account = AccountSid::new(&required("TWILIO_ACCOUNT_SID")?)
            .map_err(twilio("TWILIO_ACCOUNT_SID"))?;
        let token =
            AuthToken::new(&required("TWILIO_AUTH_TOKEN")?).map_err(twilio("TWILIO_AUTH_TOKEN"))?;
        let sender = match (var("TWILIO_FROM"), var("TWILIO_MESSAGING_SERVICE_SID")) {
            (Some(number), _) => {
                twofa_twilio::TwilioSender::number(&number).map_err(twilio("TWILIO_FROM"))?
            }
            (None, Some(sid)) => twofa_twilio::TwilioSender::messaging_service(&sid)
                .map_err(twilio("TWILIO_MESSAGING_SERVICE_SID"))?,
            (None, None) => return Err(ProvidersError::Missing("TWILIO_FROM")),
        };
        let mut config = TwilioConfig::new(account, Credentials::AuthToken(token.clone()), sender);
        let mut status_callback = None;
        if let Some(url) = var("TWILIO_STATUS_CALLBACK_URL") {
            config = config
                .with_status_callback(&url)
                .map_err(twilio("TWILIO_STATUS_CALLBACK_URL"))?;
            status_callback = Some(StatusCallback::new(token, &url));
        }
        if let Some(url) = var("TWILIO_API_BASE_URL") {
            config = config
                .with_api_base_url(&url)
                .map_err(twilio("TWILIO_API_BASE_URL"))?;
        }
        if let Some(url) = var("TWILIO_LOOKUP_BASE_URL") {
            config = config
                .with_lookup_base_url(&url)
                .map_err(twilio("TWILIO_LOOKUP_BASE_URL"))?;
        }
        let twilio_client =
            Arc::new(TwilioClient::new(config).map_err(twilio("TWILIO_ACCOUNT_SID"))?);

        let from = required("TWOFA_SMTP_FROM")?;
        let (name, address) = match from.rsplit_once('<') {
            Some((name, address)) => (name.trim(), address.trim_end_matches('>').trim()),
            None => ("", from.trim()),
        };
        let sender = twofa_smtp::SmtpSender::new(name, address).map_err(smtp("TWOFA_SMTP_FROM"))?;
        let smtp_config = SmtpConfig::from_url(&required("TWOFA_SMTP_URL")?, sender)
            .map_err(smtp("TWOFA_SMTP_URL"))?;
        let mailer = Arc::new(SmtpMailer::new(smtp_config).map_err(smtp("TWOFA_SMTP_URL"))?);

        let channels = Channels::new(
            twilio_client.clone(),
            twilio_client.clone(),
            mailer.clone(),
            Arc::new(NoPushProvider),
        )
        .with_notice_senders(twilio_client.clone(), mailer);
        Ok(Some(Self {
            channels,
            carrier: twilio_client,
            status_callback,
        }))
    }
}

/// The push channel of a portal without a push provider: every prompt is
/// refused as not configured (and audited), and the app's code still
/// works.
struct NoPushProvider;

impl PushSender for NoPushProvider {
    fn send_push<'a>(
        &'a self,
        _message: &'a PushMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(std::future::ready(Err(SendError::Permanent(
            FailureCause::NotConfigured,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const FULL: [(&str, &str); 5] = [
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef"),
        ("TWILIO_FROM", "+15005550006"),
        (
            "TWOFA_SMTP_URL",
            "smtps://mailer:secret@smtp.example.com:465",
        ),
        (
            "TWOFA_SMTP_FROM",
            "Partner Portal <no-reply@portal.example.com>",
        ),
    ];

    #[tokio::test]
    async fn providers_come_from_the_environment_or_not_at_all() {
        assert!(Providers::from_env(env(&[])).unwrap().is_none());
        let full = Providers::from_env(env(&FULL)).unwrap().unwrap();
        assert!(full.status_callback.is_none());
        let mut with_callback = FULL.to_vec();
        with_callback.push((
            "TWILIO_STATUS_CALLBACK_URL",
            "https://portal.example.com/hooks/twilio/status",
        ));
        let providers = Providers::from_env(env(&with_callback)).unwrap().unwrap();
        assert_eq!(
            providers.status_callback.unwrap().url,
            "https://portal.example.com/hooks/twilio/status"
        );
        // Half a configuration is refused, naming what is missing.
        for missing in [
            "TWILIO_AUTH_TOKEN",
            "TWILIO_FROM",
            "TWOFA_SMTP_URL",
            "TWOFA_SMTP_FROM",
        ] {
            let partial: Vec<_> = FULL
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            assert_eq!(
                Providers::from_env(env(&partial)).err(),
                Some(ProvidersError::Missing(missing))
            );
        }
        let mut bad = FULL.to_vec();
        bad[0] = ("TWILIO_ACCOUNT_SID", "not-a-sid");
        let error = Providers::from_env(env(&bad)).err().unwrap();
        assert!(
            matches!(
                error,
                ProvidersError::Twilio {
                    variable: "TWILIO_ACCOUNT_SID",
                    ..
                }
            ),
            "{error:?}"
        );
        let mut plain = FULL.to_vec();
        plain[3] = (
            "TWOFA_SMTP_URL",
            "smtp://mailer:secret@smtp.example.com:25?tls=none",
        );
        let error = Providers::from_env(env(&plain)).err().unwrap();
        assert!(
            matches!(
                error,
                ProvidersError::Smtp {
                    variable: "TWOFA_SMTP_URL",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(!error.to_string().contains("secret"));
    }
}
