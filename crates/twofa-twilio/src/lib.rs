#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod config;
mod exchange;
mod ids;
mod lookup;
mod provider;
mod receipt;
mod retry;
mod signature;
mod twiml;

pub use client::TwilioClient;
pub use config::{
    Credentials, DEFAULT_API_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_LOOKUP_BASE_URL,
    DEFAULT_REQUEST_TIMEOUT, TwilioConfig, TwilioConfigError, TwilioSender, UrlRole, VoiceLanguage,
};
pub use ids::{AccountSid, ApiKeySecret, ApiKeySid, AuthToken, MessagingServiceSid, SidKind};
pub use receipt::{ProviderReceipt, ReceiptError, parse_status_callback};
pub use retry::{MAX_ATTEMPTS, RetryPolicy};
pub use signature::{SignatureError, verify_signature};
