//! The client and its implementations of the delivery traits.

use core::future::Future;
use core::pin::Pin;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use twofa_delivery::{
    CarrierLookup, ChallengeId, FailureCause, LineType, LookupError, NoticeMessage, NoticeSender,
    PhoneNumber, SendError, SmsMessage, SmsSender, VoiceCaller, VoiceMessage,
};
use twofa_types::UserId;
use zeroize::Zeroizing;

use crate::config::{TwilioConfig, TwilioConfigError, TwilioSender};
use crate::exchange::{Operation, Reply};
use crate::lookup::{line_type_from_answer, lookup_error};
use crate::provider::{error_code, send_error};
use crate::twiml::{MAX_TWIML_LEN, code_call};

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// Twilio's REST and Lookup APIs behind the `twofa-delivery` traits:
/// [`SmsSender`] (Messages API), [`VoiceCaller`] (Calls API with inline
/// TwiML), [`NoticeSender`] (text-message notices; email notices are not
/// served) and [`CarrierLookup`] (Lookup v2 Line Type Intelligence).
///
/// Build one per process and share it: it holds a connection pool. Its
/// futures need a Tokio runtime.
///
/// # Security
///
/// Requests go over HTTPS with rustls (the `aws-lc-rs` provider) and the
/// operating system's root certificates; redirects are not followed, so
/// credentials never leave for another host. See the crate documentation
/// for retries and logging.
#[derive(Debug)]
pub struct TwilioClient {
    config: TwilioConfig,
    http: reqwest::Client,
}

impl TwilioClient {
    /// Builds the HTTP client for `config`.
    ///
    /// # Errors
    ///
    /// [`TwilioConfigError::HttpClient`] when the HTTP client cannot be built,
    /// in particular when no root certificate could be loaded from the
    /// system (on Debian, install `ca-certificates`).
    pub fn new(config: TwilioConfig) -> Result<Self, TwilioConfigError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout())
            .timeout(config.request_timeout())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("twofa-twilio/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| TwilioConfigError::HttpClient)?;
        Ok(Self { config, http })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &TwilioConfig {
        &self.config
    }

    fn messages_url(&self) -> String {
        let account = self.config.account();
        self.config
            .api_url(&format!("/2010-04-01/Accounts/{account}/Messages.json"))
    }

    fn calls_url(&self) -> String {
        let account = self.config.account();
        self.config
            .api_url(&format!("/2010-04-01/Accounts/{account}/Calls.json"))
    }

    /// `POST` `form` to `url`, once accepted or retried as the rules say.
    async fn post(
        &self,
        operation: Operation,
        to: &PhoneNumber,
        url: &str,
        form: &Zeroizing<String>,
    ) -> Result<(), SendError> {
        let reply = self
            .exchange(operation, to, || {
                self.http
                    .post(url)
                    .header(CONTENT_TYPE, FORM)
                    .header(ACCEPT, JSON)
                    // The HTTP stack's copy of the body is not wiped; ours is.
                    .body(form.as_str().to_owned())
            })
            .await;
        match reply {
            Some(reply) if reply.accepted() => Ok(()),
            Some(Reply { status, body }) => Err(send_error(status, error_code(&body))),
            // Not answered: the request may or may not have been accepted,
            // and is not sent again (see the crate's retry rule).
            None => Err(SendError::Transient(FailureCause::ProviderUnavailable)),
        }
    }

    /// Sends a text message through the Messages API.
    async fn send_text(
        &self,
        operation: Operation,
        to: &PhoneNumber,
        text: &str,
        receipt_for: Option<(ChallengeId, &UserId)>,
    ) -> Result<(), SendError> {
        let sender = match self.config.sender() {
            TwilioSender::Number(number) => ("From", number.expose_e164()),
            TwilioSender::MessagingService(sid) => ("MessagingServiceSid", sid.as_str()),
        };
        let callback = receipt_for.and_then(|(id, user)| self.config.status_callback_for(id, user));
        let form = encode_form(&[
            ("To", to.expose_e164()),
            sender,
            ("Body", text),
            ("StatusCallback", callback.as_deref().unwrap_or("")),
        ]);
        self.post(operation, to, &self.messages_url(), &form).await
    }

    async fn call(&self, message: &VoiceMessage) -> Result<(), SendError> {
        let operation = Operation::Call;
        let Some(from) = self.config.voice_caller_id() else {
            tracing::warn!(
                target: "twofa_twilio",
                channel = operation.channel(),
                to = %message.to.masked(),
                "no caller id configured for voice calls"
            );
            return Err(SendError::Permanent(FailureCause::NotConfigured));
        };
        let twiml = code_call(message.script.expose_secret(), self.config.voice_language());
        if twiml.len() > MAX_TWIML_LEN {
            tracing::warn!(
                target: "twofa_twilio",
                channel = operation.channel(),
                to = %message.to.masked(),
                twiml_bytes = twiml.len(),
                "voice script too long for inline TwiML"
            );
            return Err(SendError::Permanent(FailureCause::Rejected));
        }
        let callback = self
            .config
            .status_callback_for(message.challenge, &message.user);
        let form = encode_form(&[
            ("To", message.to.expose_e164()),
            ("From", from.expose_e164()),
            ("Twiml", &twiml),
            ("StatusCallback", callback.as_deref().unwrap_or("")),
        ]);
        drop(twiml);
        self.post(operation, &message.to, &self.calls_url(), &form)
            .await
    }

    async fn lookup(&self, number: &PhoneNumber) -> Result<LineType, LookupError> {
        let url = self.config.lookup_url(&format!(
            "/v2/PhoneNumbers/{}?Fields=line_type_intelligence",
            number.expose_e164()
        ));
        let reply = self
            .exchange(Operation::Lookup, number, || {
                self.http.get(&url).header(ACCEPT, JSON)
            })
            .await;
        let line_type = match reply {
            Some(reply) if reply.accepted() => line_type_from_answer(&reply.body),
            Some(reply) => Err(lookup_error(reply.status)),
            None => Err(LookupError::Unavailable),
        };
        tracing::debug!(
            target: "twofa_twilio",
            channel = Operation::Lookup.channel(),
            to = %number.masked(),
            line_type = ?line_type,
            "line type looked up"
        );
        line_type
    }
}

/// Encodes form fields (`application/x-www-form-urlencoded`), leaving out
/// those with an empty value. The result may hold a code, so it is wiped
/// when dropped.
fn encode_form(fields: &[(&str, &str)]) -> Zeroizing<String> {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        if !value.is_empty() {
            serializer.append_pair(name, value);
        }
    }
    Zeroizing::new(serializer.finish())
}

impl SmsSender for TwilioClient {
    fn send_sms<'a>(
        &'a self,
        message: &'a SmsMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(self.send_text(
            Operation::Sms,
            &message.to,
            message.body.expose_secret(),
            Some((message.challenge, &message.user)),
        ))
    }
}

impl VoiceCaller for TwilioClient {
    fn place_call<'a>(
        &'a self,
        message: &'a VoiceMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(self.call(message))
    }
}

impl NoticeSender for TwilioClient {
    /// Sends a text-message notice (without a status callback: a notice
    /// belongs to no challenge). An email notice gets
    /// `Permanent(NotConfigured)`: send those through an email adapter.
    fn send_notice<'a>(
        &'a self,
        message: &'a NoticeMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        match message {
            NoticeMessage::Sms(sms) => {
                Box::pin(self.send_text(Operation::Notice, &sms.to, &sms.text, None))
            }
            _ => Box::pin(core::future::ready(Err(SendError::Permanent(
                FailureCause::NotConfigured,
            )))),
        }
    }
}

impl CarrierLookup for TwilioClient {
    fn line_type<'a>(
        &'a self,
        number: &'a PhoneNumber,
    ) -> Pin<Box<dyn Future<Output = Result<LineType, LookupError>> + Send + 'a>> {
        Box::pin(self.lookup(number))
    }
}
