#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod account;
mod code;
mod country;
mod deferral;
mod id;
mod method;
mod status;

pub use account::{AccountKind, TrustedNetworks};
pub use code::{CodeInputError, MAX_CODE_DIGITS, MAX_CODE_INPUT_LEN, MIN_CODE_DIGITS, OneTimeCode};
pub use country::{CountryCode, CountryCodeError, CountryCodeSet};
pub use deferral::{DeferralCap, DeferralsLeft};
pub use id::{CompanyId, IdError, MAX_ID_LEN, UserId};
pub use method::{Channel, ChannelSet, CodeChannel, CodeChannelSet, Method, MethodSet};
pub use status::EnrollmentStatus;
