#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod compose;
mod config;
mod connection_url;
mod mailer;
mod outcome;
mod tls;

pub use compose::MIN_DIGIT_RUN_IN_SUBJECT;
pub use config::{
    DEFAULT_TIMEOUT, MAX_SENDER_NAME_LEN, RELAY_PORT, SUBMISSION_PORT, SUBMISSIONS_PORT,
    SmtpConfig, SmtpConfigError, SmtpCredentials, SmtpSender, Tls,
};
pub use mailer::SmtpMailer;
