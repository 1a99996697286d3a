//! A software authenticator for tests and demonstrations: the browser's
//! and the authenticator's half of a ceremony, in process.
//!
//! It wraps `webauthn-authenticator-rs`'s software passkey, which keeps
//! its keys in memory and has no user presence test: never use it to
//! protect an account.

use core::fmt;

use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_core::proto::{CreationChallengeResponse, RequestChallengeResponse};

use crate::state::{CreationOptions, RequestOptions};

/// Why the software authenticator produced no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SoftAuthenticatorError {
    /// The origin is not an absolute URL.
    #[error("the origin is not a url")]
    Origin,
    /// The options are not the JSON a relying party hands to the browser.
    #[error("the options are not webauthn options")]
    Options,
    /// The authenticator refused (no credential for the request, an
    /// excluded credential, an origin outside the relying party).
    #[error("the authenticator refused the ceremony")]
    Refused,
    /// The response could not be written as JSON.
    #[error("the response could not be encoded")]
    Encoding,
}

/// An in-memory authenticator answering [`CreationOptions`] and
/// [`RequestOptions`] as a browser would: the response JSON that the page
/// posts back to the server.
///
/// `Debug` shows no key.
pub struct SoftAuthenticator {
    inner: SoftPasskey,
}

impl fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SoftAuthenticator([REDACTED])")
    }
}

impl Default for SoftAuthenticator {
    fn default() -> Self {
        Self::new()
    }
}

impl SoftAuthenticator {
    /// An authenticator that reports user verification (as a platform
    /// passkey unlocked by a fingerprint or PIN does).
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: SoftPasskey::new(true),
        }
    }

    /// An authenticator that reports user presence only (a security key
    /// without a PIN).
    #[must_use]
    pub fn without_user_verification() -> Self {
        Self {
            inner: SoftPasskey::new(false),
        }
    }

    /// Answers a registration as the page on `origin` would
    /// (`navigator.credentials.create`).
    ///
    /// # Errors
    ///
    /// [`SoftAuthenticatorError`].
    pub fn create(
        &mut self,
        origin: &str,
        options: &CreationOptions,
    ) -> Result<String, SoftAuthenticatorError> {
        self.create_json(origin, options.as_json())
    }

    /// [`SoftAuthenticator::create`] from the options' JSON text.
    ///
    /// # Errors
    ///
    /// [`SoftAuthenticatorError`].
    pub fn create_json(
        &mut self,
        origin: &str,
        options_json: &str,
    ) -> Result<String, SoftAuthenticatorError> {
        let origin = Url::parse(origin).map_err(|_| SoftAuthenticatorError::Origin)?;
        let options: CreationChallengeResponse =
            serde_json::from_str(options_json).map_err(|_| SoftAuthenticatorError::Options)?;
        let response = self
            .inner
            .do_registration(origin, options)
            .map_err(|_| SoftAuthenticatorError::Refused)?;
        serde_json::to_string(&response).map_err(|_| SoftAuthenticatorError::Encoding)
    }

    /// Answers an authentication as the page on `origin` would
    /// (`navigator.credentials.get`).
    ///
    /// # Errors
    ///
    /// [`SoftAuthenticatorError`].
    pub fn get(
        &mut self,
        origin: &str,
        options: &RequestOptions,
    ) -> Result<String, SoftAuthenticatorError> {
        self.get_json(origin, options.as_json())
    }

    /// [`SoftAuthenticator::get`] from the options' JSON text.
    ///
    /// # Errors
    ///
    /// [`SoftAuthenticatorError`].
    pub fn get_json(
        &mut self,
        origin: &str,
        options_json: &str,
    ) -> Result<String, SoftAuthenticatorError> {
        let origin = Url::parse(origin).map_err(|_| SoftAuthenticatorError::Origin)?;
        let options: RequestChallengeResponse =
            serde_json::from_str(options_json).map_err(|_| SoftAuthenticatorError::Options)?;
        let response = self
            .inner
            .do_authentication(origin, options)
            .map_err(|_| SoftAuthenticatorError::Refused)?;
        serde_json::to_string(&response).map_err(|_| SoftAuthenticatorError::Encoding)
    }
}
