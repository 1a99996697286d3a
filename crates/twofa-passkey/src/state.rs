//! What the server keeps between the two halves of a ceremony, and what
//! it hands to the browser.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};
use twofa_types::UserId;

use crate::credential::CredentialId;

/// A ceremony state's id: 16 bytes derived from its challenge, printed as
/// base64url. Not a secret; a store can key pending states by it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StateId([u8; 16]);

impl StateId {
    /// Derives the id from the challenge (SHA-256 under a label, truncated
    /// to 16 bytes): as unique as the challenge, and it does not reveal it.
    pub(crate) fn from_challenge(label: &[u8], challenge: &[u8]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"twofa-passkey state id\0")
            .chain_update(label)
            .chain_update(challenge)
            .finalize();
        let mut id = [0_u8; 16];
        for (slot, byte) in id.iter_mut().zip(digest.iter()) {
            *slot = *byte;
        }
        Self(id)
    }

    /// The id's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl core::fmt::Debug for StateId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "StateId({self})")
    }
}

impl core::fmt::Display for StateId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

/// The options for `navigator.credentials.create()`, as JSON
/// (`{"publicKey": {...}}`, binary fields in base64url: decode them in the
/// page before the call, or use `PublicKeyCredential.parseCreationOptionsFromJSON`).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreationOptions {
    pub(crate) json: String,
}

impl CreationOptions {
    /// The JSON text.
    #[must_use]
    pub fn as_json(&self) -> &str {
        &self.json
    }
}

impl core::fmt::Debug for CreationOptions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CreationOptions([REDACTED])")
    }
}

/// The options for `navigator.credentials.get()`, as JSON
/// (`{"publicKey": {...}}`, binary fields in base64url).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestOptions {
    pub(crate) json: String,
}

impl RequestOptions {
    /// The JSON text.
    #[must_use]
    pub fn as_json(&self) -> &str {
        &self.json
    }
}

impl core::fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RequestOptions([REDACTED])")
    }
}

/// A registration in progress, kept server side between
/// [`start_registration`](crate::RelyingParty::start_registration) and
/// [`finish_registration`](crate::RelyingParty::finish_registration).
///
/// ```text
/// start_registration ──> RegistrationState ──finish_registration(now < expires_at)──> PasskeyCredential
///                                 └──────────(now ≥ expires_at)──> Rejected: expired
/// ```
///
/// # Security
///
/// A state must be finished at most once: the caller stores it and
/// removes it with a compare-and-swap before (or while) finishing it. This
/// crate refuses a state at or after its `expires_at`. `Debug` leaves the
/// challenge out.
#[derive(Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct RegistrationState {
    pub(crate) id: StateId,
    pub(crate) rp_id: String,
    pub(crate) user: UserId,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) excluded: Vec<CredentialId>,
    pub(crate) inner: webauthn_rs_core::proto::RegistrationState,
}

impl RegistrationState {
    /// The state's id.
    #[must_use]
    pub fn id(&self) -> StateId {
        self.id
    }

    /// The user registering.
    #[must_use]
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The first instant at which the state is refused.
    #[must_use]
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
}

impl core::fmt::Debug for RegistrationState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RegistrationState")
            .field("id", &self.id)
            .field("rp_id", &self.rp_id)
            .field("user", &self.user)
            .field("expires_at", &self.expires_at)
            .field("excluded", &self.excluded.len())
            .field("challenge", &"[REDACTED]")
            .finish()
    }
}

/// An authentication in progress, kept server side between
/// [`start_authentication`](crate::RelyingParty::start_authentication) and
/// [`finish_authentication`](crate::RelyingParty::finish_authentication).
///
/// ```text
/// start_authentication ──> AuthenticationState ──finish_authentication(now < expires_at)──> PasskeyAccepted
///                                   └──────────(now ≥ expires_at)──> PasskeyRejected::Expired
/// ```
///
/// # Security
///
/// As for [`RegistrationState`]: single use is the caller's
/// compare-and-swap; expiry is enforced here; `Debug` leaves the challenge
/// and the credentials' keys out.
#[derive(Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct AuthenticationState {
    pub(crate) id: StateId,
    pub(crate) rp_id: String,
    pub(crate) user: UserId,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) allowed: Vec<CredentialId>,
    pub(crate) inner: webauthn_rs_core::proto::AuthenticationState,
}

impl AuthenticationState {
    /// The state's id.
    #[must_use]
    pub fn id(&self) -> StateId {
        self.id
    }

    /// The user authenticating.
    #[must_use]
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The first instant at which the state is refused.
    #[must_use]
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// The credentials the browser was offered.
    #[must_use]
    pub fn allowed_credentials(&self) -> &[CredentialId] {
        &self.allowed
    }
}

impl core::fmt::Debug for AuthenticationState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuthenticationState")
            .field("id", &self.id)
            .field("rp_id", &self.rp_id)
            .field("user", &self.user)
            .field("expires_at", &self.expires_at)
            .field("allowed", &self.allowed)
            .field("challenge", &"[REDACTED]")
            .finish()
    }
}
