//! The adapter interface to real providers, and an in-memory recorder.
//!
//! Each trait is small, object-safe and `Send + Sync`; its method returns a
//! boxed `Send` future, which works on any async runtime and needs no extra
//! dependency. The logic of this crate never calls them: it returns the
//! messages, and the application sends them.

use core::future::Future;
use core::pin::Pin;
use std::sync::{Mutex, PoisonError};

use crate::message::{EmailMessage, SmsMessage, VoiceMessage};
use crate::notice::NoticeMessage;
use crate::push::PushMessage;

/// What went wrong with a failing provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum FailureCause {
    /// The provider could not be reached or timed out.
    ProviderUnavailable,
    /// The provider throttled the request.
    Throttled,
    /// The destination cannot receive this channel (a landline for SMS, an
    /// unreachable mailbox).
    Unreachable,
    /// The provider refused the message (content, account, blocklist).
    Rejected,
    /// No adapter is configured for this kind of message.
    NotConfigured,
}

impl core::fmt::Display for FailureCause {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::ProviderUnavailable => "provider unavailable",
            Self::Throttled => "provider throttled the request",
            Self::Unreachable => "destination unreachable on this channel",
            Self::Rejected => "provider rejected the message",
            Self::NotConfigured => "no adapter configured for this message",
        })
    }
}

/// A send that did not happen.
///
/// Either way the caller drops the prepared send, so the challenge stays as
/// it was; a transient failure may be retried as is, a permanent one calls
/// for another channel or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum SendError {
    /// Worth retrying later.
    #[error("transient send failure: {0}")]
    Transient(FailureCause),
    /// Retrying the same message will fail again.
    #[error("permanent send failure: {0}")]
    Permanent(FailureCause),
}

/// Sends text messages.
pub trait SmsSender: Send + Sync {
    /// Sends `message`.
    ///
    /// # Errors
    ///
    /// [`SendError`] when the message was not accepted by the provider.
    fn send_sms<'a>(
        &'a self,
        message: &'a SmsMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;
}

/// Places voice calls that read a script.
pub trait VoiceCaller: Send + Sync {
    /// Places the call.
    ///
    /// # Errors
    ///
    /// [`SendError`] when the call could not be placed.
    fn place_call<'a>(
        &'a self,
        message: &'a VoiceMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;
}

/// Sends email.
pub trait EmailSender: Send + Sync {
    /// Sends `message`.
    ///
    /// # Errors
    ///
    /// [`SendError`] when the message was not accepted by the provider.
    fn send_email<'a>(
        &'a self,
        message: &'a EmailMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;
}

/// Delivers push notifications to a user's enrolled apps.
///
/// This one is the application's own adapter: a push reaches an app
/// through the app vendor's service (APNs or FCM for an app of your own),
/// and the push APIs of third-party authenticator apps are not open to
/// other services. The adapter hands the prompt over and returns; the
/// user's answer comes back later through the application's endpoint, which
/// calls `twofa::Twofa::respond_to_push`.
///
/// Return `Ok(())` only once the push service accepted the prompt; a
/// refusal leaves the stored request as it was (the login page can offer
/// the app's code instead). The prompt carries no secret: the request id,
/// the user, the issuer, the three numbers to pick from and the expiry.
///
/// A worked example: the prompts go onto a queue that a background worker
/// of the application drains towards its push service; a full queue is a
/// transient failure, a stopped worker a permanent one.
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
///
/// use twofa_delivery::{FailureCause, PushMessage, PushSender, SendError};
///
/// /// What the worker sends to the app vendor's push service: ids and
/// /// numbers, nothing secret.
/// struct Prompt {
///     request: String,
///     user: String,
///     from: Option<std::net::IpAddr>,
/// }
///
/// struct QueuedPush {
///     queue: SyncSender<Prompt>,
/// }
///
/// impl PushSender for QueuedPush {
///     fn send_push<'a>(
///         &'a self,
///         message: &'a PushMessage,
///     ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
///         let prompt = Prompt {
///             request: message.request.to_string(),
///             user: message.user.as_str().to_owned(),
///             from: message.client_address,
///         };
///         let queued = match self.queue.try_send(prompt) {
///             Ok(()) => Ok(()),
///             Err(TrySendError::Full(_)) => {
///                 Err(SendError::Transient(FailureCause::Throttled))
///             }
///             Err(TrySendError::Disconnected(_)) => {
///                 Err(SendError::Permanent(FailureCause::ProviderUnavailable))
///             }
///         };
///         Box::pin(std::future::ready(queued))
///     }
/// }
///
/// let (queue, worker) = sync_channel(1024);
/// let sender = QueuedPush { queue };
/// # let _ = (sender, worker);
/// ```
pub trait PushSender: Send + Sync {
    /// Delivers `message`.
    ///
    /// # Errors
    ///
    /// [`SendError`] when the notification was not accepted.
    fn send_push<'a>(
        &'a self,
        message: &'a PushMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;
}

/// Sends security notices (a text message or an email that reports a
/// change to the user's second factor; never a code).
///
/// One trait for both channels, apart from [`SmsSender`] and
/// [`EmailSender`]: a notice belongs to no challenge and holds no secret,
/// and it is sent after the change it reports was saved, on a best-effort
/// basis. An adapter may hand it to the same providers as code messages,
/// or to a queue that delivers it in the background.
pub trait NoticeSender: Send + Sync {
    /// Sends `message` (match on [`NoticeMessage`] for the channel).
    ///
    /// # Errors
    ///
    /// [`SendError`] when the message was not accepted; for a channel the
    /// adapter does not serve,
    /// `SendError::Permanent(FailureCause::NotConfigured)`.
    fn send_notice<'a>(
        &'a self,
        message: &'a NoticeMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;
}

/// A message the [`Outbox`] accepted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SentMessage {
    /// A text message.
    Sms(SmsMessage),
    /// A voice call.
    Voice(VoiceMessage),
    /// An email.
    Email(EmailMessage),
    /// A push notification.
    Push(PushMessage),
    /// A security notice (text message or email, without a code).
    Notice(NoticeMessage),
}

#[derive(Debug, Default)]
struct OutboxState {
    sent: Vec<SentMessage>,
    failures: Vec<SendError>,
}

/// An in-memory implementation of every channel trait that records each
/// accepted message, for tests and demos.
///
/// [`Outbox::fail_next`] makes the next sends fail, in order, to exercise
/// failure handling; a failed send is not recorded.
#[derive(Debug, Default)]
pub struct Outbox {
    state: Mutex<OutboxState>,
}

impl Outbox {
    /// An empty outbox.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `count` sends (on any channel) fail with `error`.
    pub fn fail_next(&self, count: usize, error: SendError) {
        let mut state = self.lock();
        state.failures.extend(core::iter::repeat_n(error, count));
    }

    /// Every accepted message, oldest first.
    #[must_use]
    pub fn sent(&self) -> Vec<SentMessage> {
        self.lock().sent.clone()
    }

    /// The most recent accepted message.
    #[must_use]
    pub fn last(&self) -> Option<SentMessage> {
        self.lock().sent.last().cloned()
    }

    /// Every accepted security notice, oldest first.
    #[must_use]
    pub fn notices(&self) -> Vec<NoticeMessage> {
        self.lock()
            .sent
            .iter()
            .filter_map(|message| match message {
                SentMessage::Notice(notice) => Some(notice.clone()),
                _ => None,
            })
            .collect()
    }

    /// How many messages were accepted.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().sent.len()
    }

    /// Whether nothing was accepted yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lock().sent.is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OutboxState> {
        // A panic elsewhere while holding the lock leaves a plain Vec behind,
        // which is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, message: SentMessage) -> Result<(), SendError> {
        let mut state = self.lock();
        if !state.failures.is_empty() {
            return Err(state.failures.remove(0));
        }
        state.sent.push(message);
        Ok(())
    }
}

impl SmsSender for Outbox {
    fn send_sms<'a>(
        &'a self,
        message: &'a SmsMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(core::future::ready(
            self.record(SentMessage::Sms(message.clone())),
        ))
    }
}

impl VoiceCaller for Outbox {
    fn place_call<'a>(
        &'a self,
        message: &'a VoiceMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(core::future::ready(
            self.record(SentMessage::Voice(message.clone())),
        ))
    }
}

impl EmailSender for Outbox {
    fn send_email<'a>(
        &'a self,
        message: &'a EmailMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(core::future::ready(
            self.record(SentMessage::Email(message.clone())),
        ))
    }
}

impl PushSender for Outbox {
    fn send_push<'a>(
        &'a self,
        message: &'a PushMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(core::future::ready(
            self.record(SentMessage::Push(message.clone())),
        ))
    }
}

impl NoticeSender for Outbox {
    fn send_notice<'a>(
        &'a self,
        message: &'a NoticeMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(core::future::ready(
            self.record(SentMessage::Notice(message.clone())),
        ))
    }
}
