//! The adapter: [`EmailSender`] and [`NoticeSender`] over lettre's pooled
//! async SMTP transport, with one deadline per send and one log event per
//! send.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use lettre::AsyncTransport;
use lettre::Tokio1Executor;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::Tls as LettreTls;
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{AsyncSmtpTransport, AsyncSmtpTransportBuilder, PoolConfig};
use tokio::runtime::Handle;
use twofa_delivery::{
    EmailAddress, EmailMessage, EmailSender, FailureCause, NoticeMessage, NoticeSender, SendError,
};

use crate::compose::{compose, has_digit_run};
use crate::config::{SmtpConfig, SmtpConfigError, SmtpSender, Tls};
use crate::outcome::{Failure, TIMEOUT, from_transport};
use crate::tls::parameters;

type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// Sends code emails ([`EmailSender`]) and email security notices
/// ([`NoticeSender`]) through an SMTP server.
///
/// Build it once at start-up from an [`SmtpConfig`] and share it (it is
/// `Send + Sync`); it keeps a pool of open connections. Every send is
/// bounded by the configured timeout, from connecting to the server's
/// answer, and logs one `tracing` event.
///
/// Must be used from a Tokio runtime with its I/O and time drivers on
/// (`enable_all`, as `#[tokio::main]` does): lettre's transport runs on
/// it. Outside any runtime a send fails with `Permanent(NotConfigured)`.
/// The pool is created on the first send, on the runtime that runs it, and
/// is dropped with the mailer or after a send that timed out (a connection
/// abandoned mid-command cannot be trusted again).
///
/// # Security
///
/// The log event of a send names the channel, the kind of message, the
/// recipient masked (`j•••@example.com`), the server's reply code, the
/// time taken and, on failure, the [`SendError`] and a fixed reason word.
/// It never holds the full address, the subject, the body, the code or any
/// text from the server (whose replies may quote the address).
pub struct SmtpMailer {
    sender: SmtpSender,
    message_id_domain: String,
    timeout: Duration,
    summary: String,
    builder: AsyncSmtpTransportBuilder,
    live: Mutex<Live>,
}

/// The transport in use, if a send created one.
#[derive(Default)]
struct Live {
    generation: u64,
    transport: Option<Pooled>,
}

/// A transport with the runtime its pool was created on.
struct Pooled {
    transport: Option<Transport>,
    runtime: Handle,
}

impl Drop for Pooled {
    fn drop(&mut self) {
        // Dropping lettre's pool spawns a task that closes its connections,
        // which needs a Tokio context: lend it the pool's runtime, so that
        // a mailer dropped outside any runtime does not panic.
        let _context = self.runtime.enter();
        drop(self.transport.take());
    }
}

/// What a message is, for the log event.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Code,
    Notice(twofa_delivery::NoticeKind),
}

impl SmtpMailer {
    /// Builds the mailer; no connection is made before the first send.
    ///
    /// # Errors
    ///
    /// [`SmtpConfigError::Tls`] when the TLS settings cannot be built.
    pub fn new(config: SmtpConfig) -> Result<Self, SmtpConfigError> {
        let tls = match config.tls {
            Tls::StartTls => LettreTls::Required(parameters(&config)?),
            Tls::Implicit => LettreTls::Wrapper(parameters(&config)?),
            Tls::None => LettreTls::None,
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
                .port(config.port)
                .tls(tls)
                .timeout(Some(config.timeout))
                .pool_config(
                    PoolConfig::new()
                        .max_size(config.pool_max_idle)
                        .idle_timeout(config.pool_idle_timeout),
                );
        if let Some(credentials) = &config.credentials {
            builder = builder
                .credentials(Credentials::new(
                    credentials.expose_user().to_owned(),
                    credentials.expose_secret().to_owned(),
                ))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        if let Some(name) = &config.hello_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        let summary = format!(
            "{}:{} ({:?}{})",
            config.host,
            config.port,
            config.tls,
            if config.credentials.is_some() {
                ", authenticated"
            } else {
                ""
            }
        );
        Ok(Self {
            sender: config.sender,
            message_id_domain: config.message_id_domain,
            timeout: config.timeout,
            summary,
            builder,
            live: Mutex::new(Live::default()),
        })
    }

    /// Sends one message; logs it.
    async fn send(
        &self,
        kind: Kind,
        to: &EmailAddress,
        subject: &str,
        body: &str,
    ) -> Result<(), SendError> {
        let started = Instant::now();
        let outcome = self.deliver(kind, to, subject, body).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let masked = to.masked();
        let notice = match kind {
            Kind::Code => None,
            Kind::Notice(notice) => Some(tracing::field::debug(notice)),
        };
        let kind = match kind {
            Kind::Code => "code",
            Kind::Notice(_) => "notice",
        };
        match outcome {
            Ok(code) => {
                tracing::debug!(
                    channel = "email",
                    kind,
                    notice,
                    to = %masked,
                    smtp_code = code,
                    latency_ms,
                    "email sent"
                );
                Ok(())
            }
            Err(failure) => {
                tracing::warn!(
                    channel = "email",
                    kind,
                    notice,
                    to = %masked,
                    smtp_code = failure.code,
                    latency_ms,
                    error = %failure.error,
                    reason = failure.reason,
                    "email not sent"
                );
                Err(failure.error)
            }
        }
    }

    /// Composes and transmits; the server's final reply code on success.
    async fn deliver(
        &self,
        kind: Kind,
        to: &EmailAddress,
        subject: &str,
        body: &str,
    ) -> Result<u16, Failure> {
        if matches!(kind, Kind::Code) && has_digit_run(subject) {
            return Err(Failure::local(
                SendError::Permanent(FailureCause::Rejected),
                "digits_in_subject",
            ));
        }
        let composed = compose(&self.sender, &self.message_id_domain, to, subject, body)?;
        let (generation, transport) = self.transport()?;
        let sending = transport.send_raw(&composed.envelope, &composed.bytes);
        match tokio::time::timeout(self.timeout, sending).await {
            Ok(Ok(response)) => Ok(u16::from(response.code())),
            Ok(Err(error)) => Err(from_transport(&error)),
            Err(_elapsed) => {
                self.discard(generation);
                Err(TIMEOUT)
            }
        }
    }

    /// The transport, created on the current runtime if there is none.
    fn transport(&self) -> Result<(u64, Transport), Failure> {
        let Ok(runtime) = Handle::try_current() else {
            return Err(Failure::local(
                SendError::Permanent(FailureCause::NotConfigured),
                "no_tokio_runtime",
            ));
        };
        let mut live = self.lock();
        if let Some(pooled) = &live.transport
            && let Some(transport) = &pooled.transport
        {
            return Ok((live.generation, transport.clone()));
        }
        let transport: Transport = self.builder.clone().build();
        live.generation = live.generation.wrapping_add(1);
        live.transport = Some(Pooled {
            transport: Some(transport.clone()),
            runtime,
        });
        Ok((live.generation, transport))
    }

    /// Drops the pool a timed-out send used, unless another send already
    /// replaced it: one of its connections was left mid-command, and lettre
    /// would otherwise hand it out again.
    fn discard(&self, generation: u64) {
        let stale = {
            let mut live = self.lock();
            if live.generation == generation {
                live.transport.take()
            } else {
                None
            }
        };
        drop(stale);
    }

    fn lock(&self) -> MutexGuard<'_, Live> {
        // The guarded value is replaced whole, never left half-updated.
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl EmailSender for SmtpMailer {
    /// Sends a code email.
    ///
    /// # Errors
    ///
    /// `Permanent(Rejected)` without contacting the server when the
    /// subject holds six digits or more in a row (a second guard, after
    /// the templates, against a code in the subject line); otherwise as
    /// mapped from the server's reply (see the crate documentation).
    fn send_email<'a>(
        &'a self,
        message: &'a EmailMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(self.send(
            Kind::Code,
            &message.to,
            message.subject.expose_secret(),
            message.body.expose_secret(),
        ))
    }
}

impl NoticeSender for SmtpMailer {
    /// Sends an email notice.
    ///
    /// # Errors
    ///
    /// `Permanent(NotConfigured)` for a text-message notice, which this
    /// adapter does not deliver; otherwise as for
    /// [`send_email`](EmailSender::send_email).
    fn send_notice<'a>(
        &'a self,
        message: &'a NoticeMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        match message {
            NoticeMessage::Email(email) => Box::pin(self.send(
                Kind::Notice(email.notice.kind()),
                &email.to,
                &email.subject,
                &email.body,
            )),
            _ => Box::pin(core::future::ready(Err(SendError::Permanent(
                FailureCause::NotConfigured,
            )))),
        }
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.summary)
            .field("sender", &self.sender)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
