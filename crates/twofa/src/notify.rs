//! Security notices: once an enrollment change is saved, each notice it
//! asks for goes to every destination through the notice channel, and each
//! attempt is audited.
//!
//! NIST SP 800-63B-4 §4 ("Authenticator Event Management") and OWASP ASVS
//! 5.0 V6 ask that the user hear of changes to an authentication factor,
//! through a channel other than the one being changed where there is one:
//! the old number and the email hear of a number change, the email of a new
//! method, a used recovery code, a suspension or a reset.
//!
//! Sending is best effort: the change already stands when the notice goes
//! out, so a failed notice is audited and never turns the operation's
//! answer into something else.

use chrono::{DateTime, Utc};
use twofa_delivery::SendRequest;
use twofa_enrollment::Effect;
use twofa_types::UserId;

use crate::audit::AuditEvent;
use crate::records::CompanyRecord;
use crate::service::Twofa;

impl Twofa {
    /// Sends the notices among `effects`, whose record was just saved, to
    /// each of their destinations, and audits every attempt.
    ///
    /// Called only after a successful save: a compare-and-swap conflict
    /// re-evaluates the change, and the notices of the attempt that lost
    /// are never sent.
    ///
    /// Each notice is charged to the send budget first (the user's notice
    /// budget, and for a text the country's and the service's): a refused
    /// one is not sent, and the refusal is audited instead.
    pub(crate) async fn send_notices(
        &self,
        now: DateTime<Utc>,
        company_record: &CompanyRecord,
        user: &UserId,
        effects: &[Effect],
    ) {
        let company = company_record.company();
        for effect in effects {
            let Effect::Notify(notification) = effect else {
                continue;
            };
            let notice = notification.notice;
            if notification.to.is_empty() {
                self.audit_best_effort(
                    now,
                    company,
                    user,
                    AuditEvent::NoticeUndeliverable { notice },
                )
                .await;
                continue;
            }
            for to in &notification.to {
                let message = self.templates.render_notice(notice, to);
                let request = SendRequest::notice(user, &message);
                if let Err(refusal) = self.charge_budget(&request, company_record, now).await {
                    if let crate::budget::SendRefusal::Store(error) = refusal {
                        // Not sent: a failing store fails closed.
                        crate::observe::store_error("send_counters", &error);
                    }
                    continue;
                }
                let channel = message.channel();
                let started = std::time::Instant::now();
                let result = self.channels.notice.send_notice(&message).await;
                crate::observe::sent(
                    "notice",
                    channel,
                    &message.masked_to(),
                    result.as_ref().err(),
                    started,
                );
                let event = match result {
                    Ok(()) => AuditEvent::NoticeSent { notice, channel },
                    Err(error) => AuditEvent::NoticeFailed {
                        notice,
                        channel,
                        error,
                    },
                };
                self.audit_best_effort(now, company, user, event).await;
            }
        }
    }
}
