#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod ceremony;
mod config;
mod credential;
mod rejection;
#[cfg(feature = "soft-authenticator")]
mod soft;
mod state;

pub use ceremony::{
    MAX_CLIENT_RESPONSE_LEN, MAX_DISPLAY_NAME_CHARS, PasskeyAccepted, client_response_credential_id,
};
pub use config::{
    CredentialDiscovery, MAX_CHALLENGE_LIFETIME, MAX_RP_NAME_CHARS, Origin, PasskeyConfigError,
    RelyingParty, UserVerification,
};
pub use credential::{
    CredentialId, CredentialIdError, CredentialName, CredentialNameError, MAX_CREDENTIAL_ID_LEN,
    MAX_CREDENTIAL_NAME_CHARS, PasskeyCredential, find_credential, remove_credential,
    replace_credential,
};
pub use rejection::{PasskeyRejected, RefusalReason, RegistrationRejected, StartError};
#[cfg(feature = "soft-authenticator")]
#[cfg_attr(docsrs, doc(cfg(feature = "soft-authenticator")))]
pub use soft::{SoftAuthenticator, SoftAuthenticatorError};
pub use state::{AuthenticationState, CreationOptions, RegistrationState, RequestOptions, StateId};
