#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(clippy::arithmetic_side_effects)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod base32;
mod code;
mod error;
mod hotp;
mod mac;
mod params;
#[cfg(feature = "qr")]
mod qr;
#[cfg(feature = "qr")]
pub use qr::{QrError, TerminalBackground};
mod secret;
mod swar;
mod totp;
#[cfg(feature = "alloc")]
mod uri;
mod verify;

pub use code::{Code, CodeText};
pub use error::{Base32Error, CodeError, CodeRejected, ConfigError, SecretError, TimeError};
pub use hotp::Hotp;
pub use params::{Algorithm, Digits, LookAhead, ResyncWindow, Step, Window};
pub use secret::{Secret, SecretStrength};
pub use totp::Totp;
#[cfg(feature = "alloc")]
pub use uri::{
    CompatibilityWarning, KeyDescription, KeyUri, OtpKind, ParseMode, UriError, UriPart,
};
pub use verify::{HotpAccepted, TotpAccepted};
#[cfg(feature = "alloc")]
pub use zeroize::Zeroizing;
