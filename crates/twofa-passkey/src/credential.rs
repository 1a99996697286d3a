//! Registered passkeys: their ids, the names users give them, and the
//! record each one keeps.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use twofa_types::UserId;
use webauthn_rs_core::proto::Credential;

/// The longest credential id accepted, in bytes (WebAuthn Level 3, § 4:
/// a credential id is at most 1023 bytes).
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// The longest credential name accepted, in characters.
pub const MAX_CREDENTIAL_NAME_CHARS: usize = 64;

/// A credential id as the authenticator chose it: opaque bytes, printed
/// as unpadded base64url (the form browsers use). Not a secret.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub struct CredentialId(Vec<u8>);

/// Why a credential id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialIdError {
    /// Not unpadded base64url.
    #[error("credential id is not unpadded base64url")]
    NotBase64Url,
    /// Empty or longer than [`MAX_CREDENTIAL_ID_LEN`] bytes.
    #[error("credential id must be 1 to {MAX_CREDENTIAL_ID_LEN} bytes, not {len}")]
    Length {
        /// The decoded length.
        len: usize,
    },
}

impl CredentialId {
    /// A credential id from its bytes.
    ///
    /// # Errors
    ///
    /// [`CredentialIdError::Length`] when empty or longer than
    /// [`MAX_CREDENTIAL_ID_LEN`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CredentialIdError> {
        if bytes.is_empty() || bytes.len() > MAX_CREDENTIAL_ID_LEN {
            return Err(CredentialIdError::Length { len: bytes.len() });
        }
        Ok(Self(bytes.to_vec()))
    }

    /// A credential id from its unpadded base64url form.
    ///
    /// # Errors
    ///
    /// [`CredentialIdError`] when not base64url or of a refused length.
    pub fn from_base64url(text: &str) -> Result<Self, CredentialIdError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| CredentialIdError::NotBase64Url)?;
        Self::from_bytes(&bytes)
    }

    /// The id's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The unpadded base64url form.
    #[must_use]
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }
}

impl core::fmt::Debug for CredentialId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "CredentialId({})", self.to_base64url())
    }
}

impl core::fmt::Display for CredentialId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.to_base64url())
    }
}

impl TryFrom<String> for CredentialId {
    type Error = CredentialIdError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::from_base64url(&text)
    }
}

impl From<CredentialId> for String {
    fn from(id: CredentialId) -> Self {
        id.to_base64url()
    }
}

/// The name a user gives a passkey ("Work laptop", "YubiKey").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub struct CredentialName(String);

/// Why a credential name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialNameError {
    /// Empty after trimming white space, or longer than
    /// [`MAX_CREDENTIAL_NAME_CHARS`] characters.
    #[error("credential name must be 1 to {MAX_CREDENTIAL_NAME_CHARS} characters")]
    Length,
    /// Holds a control character (line breaks, tabs, NUL and the like).
    #[error("credential name contains a control character")]
    ControlCharacter,
}

impl CredentialName {
    /// A name, trimmed of surrounding white space.
    ///
    /// # Errors
    ///
    /// [`CredentialNameError`] when empty, too long or holding control
    /// characters.
    pub fn new(name: &str) -> Result<Self, CredentialNameError> {
        let name = name.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_CREDENTIAL_NAME_CHARS {
            return Err(CredentialNameError::Length);
        }
        if name.chars().any(char::is_control) {
            return Err(CredentialNameError::ControlCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Display for CredentialName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CredentialName {
    type Error = CredentialNameError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::new(&text)
    }
}

impl From<CredentialName> for String {
    fn from(name: CredentialName) -> Self {
        name.0
    }
}

/// One registered passkey of one user: what the caller stores after
/// registration and updates after each authentication.
///
/// It holds the credential's public key (inside the WebAuthn record), not
/// a secret, but `Debug` leaves the record out all the same.
#[derive(Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PasskeyCredential {
    pub(crate) id: CredentialId,
    pub(crate) user: UserId,
    pub(crate) name: CredentialName,
    pub(crate) record: Credential,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) last_used_at: Option<DateTime<Utc>>,
}

impl core::fmt::Debug for PasskeyCredential {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PasskeyCredential")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("name", &self.name)
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .field("sign_count", &self.sign_count())
            .field("backup_eligible", &self.backup_eligible())
            .field("backup_state", &self.backup_state())
            .field("record", &"[REDACTED]")
            .finish()
    }
}

impl PasskeyCredential {
    /// The credential id.
    #[must_use]
    pub fn id(&self) -> &CredentialId {
        &self.id
    }

    /// The user it belongs to.
    #[must_use]
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The name the user gave it.
    #[must_use]
    pub fn name(&self) -> &CredentialName {
        &self.name
    }

    /// When it was registered.
    #[must_use]
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// When it last completed an authentication, if ever.
    #[must_use]
    pub fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.last_used_at
    }

    /// The authenticator's signature counter as last seen (0 for
    /// authenticators that keep none, as most synced passkeys do).
    #[must_use]
    pub fn sign_count(&self) -> u32 {
        self.record.counter
    }

    /// Whether the authenticator said the key may be backed up or synced
    /// to other devices.
    #[must_use]
    pub fn backup_eligible(&self) -> bool {
        self.record.backup_eligible
    }

    /// Whether the authenticator said the key is backed up now.
    #[must_use]
    pub fn backup_state(&self) -> bool {
        self.record.backup_state
    }

    /// Whether the user was verified (PIN, biometrics) at registration.
    #[must_use]
    pub fn user_verified_at_registration(&self) -> bool {
        self.record.user_verified
    }

    /// The same credential under another name.
    #[must_use]
    pub fn renamed(&self, name: CredentialName) -> Self {
        Self {
            name,
            ..self.clone()
        }
    }
}

/// Finds the credential with id `id` in `credentials`.
#[must_use]
pub fn find_credential<'a>(
    credentials: &'a [PasskeyCredential],
    id: &CredentialId,
) -> Option<&'a PasskeyCredential> {
    credentials.iter().find(|credential| credential.id == *id)
}

/// Removes the credential with id `id` from `credentials` and returns it.
/// Removing a passkey is the caller's decision; this only edits its list.
pub fn remove_credential(
    credentials: &mut Vec<PasskeyCredential>,
    id: &CredentialId,
) -> Option<PasskeyCredential> {
    let index = credentials
        .iter()
        .position(|credential| credential.id == *id)?;
    Some(credentials.remove(index))
}

/// Replaces, in `credentials`, the credential with the same id as
/// `updated` (after an authentication or a rename). Returns whether one was
/// replaced.
pub fn replace_credential(
    credentials: &mut [PasskeyCredential],
    updated: PasskeyCredential,
) -> bool {
    match credentials
        .iter_mut()
        .find(|credential| credential.id == updated.id)
    {
        Some(slot) => {
            *slot = updated;
            true
        }
        None => false,
    }
}
