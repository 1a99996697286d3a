//! The delivery channels the service sends through: the adapters for
//! codes and push prompts, and the one for security notices.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use twofa_delivery::{
    EmailSender, FailureCause, NoticeMessage, NoticeSender, Outbox, PushSender, SendError,
    SmsSender, VoiceCaller,
};

/// The delivery channels: SMS, voice, email and push adapters for codes
/// and prompts, and the adapter for security notices.
#[derive(Clone)]
pub struct Channels {
    pub(crate) sms: Arc<dyn SmsSender>,
    pub(crate) voice: Arc<dyn VoiceCaller>,
    pub(crate) email: Arc<dyn EmailSender>,
    pub(crate) push: Arc<dyn PushSender>,
    pub(crate) notice: Arc<dyn NoticeSender>,
}

impl fmt::Debug for Channels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channels").finish_non_exhaustive()
    }
}

impl Channels {
    /// The given adapters for codes and push prompts. Security notices
    /// need their own adapter: add it with [`Channels::with_notice_sender`].
    ///
    /// # Security
    ///
    /// Without a notice sender no security notice reaches the user (a
    /// changed number, a used recovery code, a suspension): each one is
    /// refused, and the audit trail records it as
    /// [`AuditEvent::NoticeFailed`](crate::AuditEvent::NoticeFailed) with
    /// `SendError::Permanent(FailureCause::NotConfigured)`, so a missing
    /// adapter shows in the audit log instead of passing unnoticed.
    #[must_use]
    pub fn new(
        sms: Arc<dyn SmsSender>,
        voice: Arc<dyn VoiceCaller>,
        email: Arc<dyn EmailSender>,
        push: Arc<dyn PushSender>,
    ) -> Self {
        Self {
            sms,
            voice,
            email,
            push,
            notice: Arc::new(NoNoticeSender),
        }
    }

    /// Sends security notices (texts and emails that report a change to
    /// the user's second factor) through `sender`.
    ///
    /// Notices go out after the change is saved, one per destination, and
    /// the operation waits for them; a sender that talks to a slow
    /// provider may queue them instead. A failed notice is audited and
    /// changes nothing else.
    #[must_use]
    pub fn with_notice_sender(mut self, sender: Arc<dyn NoticeSender>) -> Self {
        self.notice = sender;
        self
    }

    /// Security notices by text message through `sms` and by email
    /// through `email`: for an SMS provider and a mail server that are two
    /// adapters (each refuses the other channel's notices).
    #[must_use]
    pub fn with_notice_senders(
        self,
        sms: Arc<dyn NoticeSender>,
        email: Arc<dyn NoticeSender>,
    ) -> Self {
        self.with_notice_sender(Arc::new(SplitNotices { sms, email }))
    }

    /// Every channel, security notices included, into one recording
    /// [`Outbox`] (tests and the demo).
    #[must_use]
    pub fn outbox(outbox: &Arc<Outbox>) -> Self {
        Self::new(
            outbox.clone(),
            outbox.clone(),
            outbox.clone(),
            outbox.clone(),
        )
        .with_notice_sender(outbox.clone())
    }
}

/// The notice channel of [`Channels::new`] until one
/// is set: it refuses every notice, so each is audited as
/// [`AuditEvent::NoticeFailed`](crate::AuditEvent::NoticeFailed) with
/// `Permanent(FailureCause::NotConfigured)` instead of vanishing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoNoticeSender;

impl NoticeSender for NoNoticeSender {
    fn send_notice<'a>(
        &'a self,
        _message: &'a NoticeMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(std::future::ready(Err(SendError::Permanent(
            FailureCause::NotConfigured,
        ))))
    }
}

/// Notices routed by channel to two adapters.
struct SplitNotices {
    sms: Arc<dyn NoticeSender>,
    email: Arc<dyn NoticeSender>,
}

impl NoticeSender for SplitNotices {
    fn send_notice<'a>(
        &'a self,
        message: &'a NoticeMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        match message {
            NoticeMessage::Sms(_) => self.sms.send_notice(message),
            NoticeMessage::Email(_) => self.email.send_notice(message),
            // A channel added to notices later has no adapter here.
            _ => Box::pin(std::future::ready(Err(SendError::Permanent(
                FailureCause::NotConfigured,
            )))),
        }
    }
}

#[cfg(test)]
mod tests {
    use twofa_delivery::{
        Destination, EmailAddress, Issuer, MessageTemplates, Notice, PhoneNumber, SentMessage,
    };

    use super::*;

    #[tokio::test]
    async fn split_notices_go_to_the_adapter_of_their_channel() {
        let (texts, mails) = (Arc::new(Outbox::new()), Arc::new(Outbox::new()));
        let channels = Channels::outbox(&Arc::new(Outbox::new()))
            .with_notice_senders(texts.clone(), mails.clone());
        let templates = MessageTemplates::new(Issuer::new("Partner Portal").unwrap());
        let phone = Destination::Phone(PhoneNumber::from_e164("+447400123456").unwrap());
        let email = Destination::Email(EmailAddress::parse("bob@example.com").unwrap());
        for to in [&phone, &email, &email] {
            let message = templates.render_notice(Notice::NumberChanged, to);
            channels.notice.send_notice(&message).await.unwrap();
        }
        assert_eq!(texts.notices().len(), 1);
        assert_eq!(mails.notices().len(), 2);
        assert!(matches!(
            texts.sent().first(),
            Some(SentMessage::Notice(NoticeMessage::Sms(_)))
        ));
        assert!(
            mails
                .notices()
                .iter()
                .all(|notice| matches!(notice, NoticeMessage::Email(_)))
        );
    }
}
