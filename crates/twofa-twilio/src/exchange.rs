//! One request to Twilio, with its retries and its log events.
//!
//! Every attempt emits one `tracing` event (target `twofa_twilio`):
//! `debug` when Twilio accepted the request, `warn` otherwise. Its fields:
//! `channel` (`sms`, `sms_notice`, `voice`, `lookup`), `to` (the masked
//! number, `+44 ••• ••• 3456`), `attempt`, `latency_ms`, `http_status` and
//! `provider_code` when Twilio answered, `outcome`, `retrying`, and on
//! success `provider_sid`. No event holds a full phone number, a message
//! body, a code, a credential or Twilio's error text (which may quote the
//! number).

use std::time::Instant;

use rand::RngExt;
use reqwest::RequestBuilder;
use reqwest::header::RETRY_AFTER;
use twofa_delivery::PhoneNumber;

use crate::client::TwilioClient;
use crate::provider::{created_sid, error_code};
use crate::retry::{AttemptOutcome, Effect, Next, next_step, parse_retry_after};

/// What a request does, for the retry rule and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// `POST Messages.json` with a code.
    Sms,
    /// `POST Messages.json` with a security notice.
    Notice,
    /// `POST Calls.json`.
    Call,
    /// `GET /v2/PhoneNumbers/…`.
    Lookup,
}

impl Operation {
    pub(crate) fn channel(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Notice => "sms_notice",
            Self::Call => "voice",
            Self::Lookup => "lookup",
        }
    }

    fn effect(self) -> Effect {
        match self {
            Self::Lookup => Effect::ReadOnly,
            Self::Sms | Self::Notice | Self::Call => Effect::Creates,
        }
    }
}

/// Twilio's final answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn accepted(&self) -> bool {
        (200..=299).contains(&self.status)
    }
}

impl TwilioClient {
    /// Sends the request `build` makes, retrying as [`crate::retry`] says.
    /// `None` when no answer came.
    pub(crate) async fn exchange<F>(
        &self,
        operation: Operation,
        to: &PhoneNumber,
        build: F,
    ) -> Option<Reply>
    where
        F: Fn() -> RequestBuilder + Send + Sync,
    {
        let (user, password) = self.config().credentials();
        let policy = *self.config().retry();
        let masked = to.masked();
        let mut attempt: u32 = 1;
        loop {
            let started = Instant::now();
            let result = build().basic_auth(user, Some(password)).send().await;
            let (outcome, reply) = match result {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|value| value.to_str().ok())
                        .and_then(parse_retry_after);
                    // A body lost after the status line still leaves the
                    // status: an accepted message stays accepted.
                    let body = response
                        .bytes()
                        .await
                        .map(|b| b.to_vec())
                        .unwrap_or_default();
                    (
                        AttemptOutcome::Answered {
                            status,
                            retry_after,
                        },
                        Some(Reply { status, body }),
                    )
                }
                Err(error) if error.is_connect() => (AttemptOutcome::NotSent, None),
                Err(_) => (AttemptOutcome::Lost, None),
            };
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let http_status = reply.as_ref().map(|reply| reply.status);

            if reply.as_ref().is_some_and(Reply::accepted) {
                let provider_sid = reply.as_ref().and_then(|reply| created_sid(&reply.body));
                tracing::debug!(
                    target: "twofa_twilio",
                    channel = operation.channel(),
                    to = %masked,
                    attempt,
                    latency_ms,
                    http_status,
                    provider_sid,
                    "twilio request accepted"
                );
                return reply;
            }

            let provider_code = reply.as_ref().and_then(|reply| error_code(&reply.body));
            let jitter: u64 = rand::rng().random();
            let next = next_step(&policy, attempt, outcome, operation.effect(), jitter);
            tracing::warn!(
                target: "twofa_twilio",
                channel = operation.channel(),
                to = %masked,
                attempt,
                latency_ms,
                http_status,
                provider_code,
                outcome = outcome_name(outcome),
                retrying = matches!(next, Next::Retry(_)),
                "twilio request failed"
            );
            match next {
                Next::Stop => return reply,
                Next::Retry(wait) => {
                    tokio::time::sleep(wait).await;
                    attempt = attempt.saturating_add(1);
                }
            }
        }
    }
}

fn outcome_name(outcome: AttemptOutcome) -> &'static str {
    match outcome {
        AttemptOutcome::Answered { .. } => "answered",
        AttemptOutcome::NotSent => "not_sent",
        AttemptOutcome::Lost => "no_answer",
    }
}
