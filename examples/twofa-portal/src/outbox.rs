//! The demo's simulated outbox: every message goes to the in-process
//! recording [`Outbox`] (which tests and an embedding application read)
//! and, with a database, to a shared table as well, so the simulated phone
//! pages of every server show every server's messages.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use twofa::Clock;
use twofa::delivery::{
    EmailMessage, EmailSender, FailureCause, NoticeMessage, NoticeSender, Outbox, PushMessage,
    PushSender, SendError, SentMessage, SmsMessage, SmsSender, VoiceCaller, VoiceMessage,
};
use zeroize::Zeroizing;

use crate::postgres::SharedState;

/// One message as the device pages show it (codes in clear: the row is
/// sealed in the table, and the pages are for loopback clients in demo
/// mode only).
#[derive(Serialize, Deserialize)]
pub(crate) enum Entry {
    /// A text, a call script, an email or a security notice.
    Message {
        channel: String,
        to: String,
        subject: String,
        body: String,
    },
    /// A push prompt: a row of the outbox, and a prompt on the phone page
    /// until it expires.
    Push {
        user: String,
        request: String,
        issuer: String,
        /// Where the login comes from, as the phone shows it.
        from: String,
        /// When the login asked.
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    },
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Entry([REDACTED])")
    }
}

fn message(channel: &str, to: String, subject: String, body: String) -> Entry {
    Entry::Message {
        channel: channel.to_owned(),
        to,
        subject,
        body,
    }
}

/// The entry of a recorded message (nothing for a kind the pages do not
/// know).
pub(crate) fn entry_of(sent: &SentMessage) -> Option<Entry> {
    Some(match sent {
        SentMessage::Sms(sms) => message(
            "sms",
            sms.to.masked(),
            String::new(),
            sms.body.expose_secret().to_owned(),
        ),
        SentMessage::Voice(call) => message(
            "call",
            call.to.masked(),
            String::new(),
            call.script.expose_secret().to_owned(),
        ),
        SentMessage::Email(email) => message(
            "email",
            email.to.masked(),
            email.subject.expose_secret().to_owned(),
            email.body.expose_secret().to_owned(),
        ),
        SentMessage::Push(push) => Entry::Push {
            user: push.user.as_str().to_owned(),
            request: push.request.to_string(),
            issuer: push.issuer.as_str().to_owned(),
            from: push
                .client_address
                .map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string()),
            at: push.requested_at,
            expires_at: push.expires_at,
        },
        // Security notices: a class of their own, so a reader looking for
        // the latest code by channel never picks one up.
        SentMessage::Notice(NoticeMessage::Sms(sms)) => {
            message("notice", sms.to.masked(), String::new(), sms.text.clone())
        }
        SentMessage::Notice(NoticeMessage::Email(email)) => message(
            "notice",
            email.to.masked(),
            email.subject.clone(),
            email.body.clone(),
        ),
        _ => return None,
    })
}

/// The senders of demo mode.
pub(crate) struct DemoOutbox {
    local: Arc<Outbox>,
    shared: Option<SharedState>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DemoOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoOutbox")
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

impl DemoOutbox {
    pub(crate) fn new(
        local: Arc<Outbox>,
        shared: Option<SharedState>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            local,
            shared,
            clock,
        }
    }

    /// The messages to show, oldest first: the shared table's, or this
    /// process's.
    pub(crate) async fn entries(&self) -> Option<Vec<Entry>> {
        let Some(shared) = &self.shared else {
            return Some(self.local.sent().iter().filter_map(entry_of).collect());
        };
        let rows = shared.outbox().await.ok()?;
        Some(
            rows.iter()
                .filter_map(|plain| serde_json::from_slice(plain).ok())
                .collect(),
        )
    }

    async fn record(&self, sent: SentMessage) -> Result<(), SendError> {
        let entry = entry_of(&sent);
        self.local.record_message(sent).await?;
        if let (Some(shared), Some(entry)) = (&self.shared, entry) {
            let plain = Zeroizing::new(
                serde_json::to_vec(&entry)
                    .map_err(|_| SendError::Permanent(FailureCause::Rejected))?,
            );
            shared
                .push_outbox(self.clock.now(), &plain)
                .await
                .map_err(|_| SendError::Transient(FailureCause::ProviderUnavailable))?;
        }
        Ok(())
    }
}

/// Records a message in the in-process outbox through its own sender
/// traits (which also play out its scripted failures).
trait RecordMessage {
    fn record_message(&self, sent: SentMessage) -> Sending<'_>;
}

impl RecordMessage for Arc<Outbox> {
    fn record_message(&self, sent: SentMessage) -> Sending<'_> {
        Box::pin(async move {
            match &sent {
                SentMessage::Sms(m) => self.send_sms(m).await,
                SentMessage::Voice(m) => self.place_call(m).await,
                SentMessage::Email(m) => self.send_email(m).await,
                SentMessage::Push(m) => self.send_push(m).await,
                SentMessage::Notice(m) => self.send_notice(m).await,
                _ => Err(SendError::Permanent(FailureCause::NotConfigured)),
            }
        })
    }
}

impl SmsSender for DemoOutbox {
    fn send_sms<'a>(&'a self, message: &'a SmsMessage) -> Sending<'a> {
        Box::pin(self.record(SentMessage::Sms(message.clone())))
    }
}

impl VoiceCaller for DemoOutbox {
    fn place_call<'a>(&'a self, message: &'a VoiceMessage) -> Sending<'a> {
        Box::pin(self.record(SentMessage::Voice(message.clone())))
    }
}

impl EmailSender for DemoOutbox {
    fn send_email<'a>(&'a self, message: &'a EmailMessage) -> Sending<'a> {
        Box::pin(self.record(SentMessage::Email(message.clone())))
    }
}

impl PushSender for DemoOutbox {
    fn send_push<'a>(&'a self, message: &'a PushMessage) -> Sending<'a> {
        Box::pin(self.record(SentMessage::Push(message.clone())))
    }
}

impl NoticeSender for DemoOutbox {
    fn send_notice<'a>(&'a self, message: &'a NoticeMessage) -> Sending<'a> {
        Box::pin(self.record(SentMessage::Notice(message.clone())))
    }
}
