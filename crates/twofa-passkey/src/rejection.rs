//! Why a ceremony could not start, or why its result was refused.

use chrono::{DateTime, Utc};
use webauthn_rs_core::error::WebauthnError;

use crate::credential::CredentialId;

/// Why a ceremony could not start (a caller mistake, not a refusal of
/// untrusted input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The display name is empty, longer than 64 characters or holds
    /// control characters.
    #[error("user display name must be 1 to 64 printable characters")]
    InvalidDisplayName,
    /// Authentication was started without any credential.
    #[error("the user has no passkey to authenticate with")]
    NoCredentials,
    /// The credentials given to start an authentication belong to more
    /// than one user.
    #[error("the credentials belong to more than one user")]
    CredentialsOfSeveralUsers,
    /// `now` plus the challenge lifetime is beyond the calendar.
    #[error("the state's expiry is out of range")]
    ExpiryOutOfRange,
    /// The WebAuthn library refused to build the challenge.
    #[error("the webauthn library could not build the challenge")]
    Challenge,
}

/// Why a registration response was refused. The message is for the audit
/// trail; show the end user only that the passkey could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[must_use]
#[non_exhaustive]
pub enum RegistrationRejected {
    /// The state was finished at or after its `expires_at`.
    #[error("registration state expired at {expires_at}")]
    Expired {
        /// When it expired.
        expires_at: DateTime<Utc>,
    },
    /// The response is not a well-formed registration response (JSON,
    /// base64, CBOR or client data).
    #[error("malformed registration response")]
    Malformed,
    /// The client data is of another ceremony (`webauthn.get`).
    #[error("client data is not of a registration")]
    WrongCeremony,
    /// The response answers another challenge (another or an older state).
    #[error("challenge mismatch")]
    ChallengeMismatch,
    /// The browser ran the ceremony on an origin that is not allowed.
    #[error("origin not allowed")]
    WrongOrigin,
    /// The authenticator signed for another relying-party id, or the
    /// state was started by another relying party.
    #[error("wrong relying party")]
    WrongRelyingParty,
    /// The authenticator did not report user presence.
    #[error("user presence missing")]
    UserNotPresent,
    /// User verification is required and the authenticator did not
    /// verify the user.
    #[error("user verification missing")]
    UserNotVerified,
    /// The credential is already registered (to this user or another).
    #[error("credential {id} is already registered")]
    AlreadyRegistered {
        /// The credential's id.
        id: CredentialId,
    },
    /// The attestation, key or algorithm did not verify.
    #[error("attestation or credential key did not verify")]
    Unverifiable,
}

impl RegistrationRejected {
    pub(crate) fn from_webauthn(error: &WebauthnError) -> Self {
        match error {
            WebauthnError::ParseBase64Failure(_)
            | WebauthnError::ParseCBORFailure(_)
            | WebauthnError::ParseJSONFailure(_)
            | WebauthnError::ParseNOMFailure
            | WebauthnError::ParseInsufficientBytesAvailable
            | WebauthnError::MissingAttestationCredentialData => Self::Malformed,
            WebauthnError::InvalidClientDataType => Self::WrongCeremony,
            WebauthnError::MismatchedChallenge => Self::ChallengeMismatch,
            WebauthnError::InvalidRPOrigin | WebauthnError::CredentialCrossOrigin => {
                Self::WrongOrigin
            }
            WebauthnError::InvalidRPIDHash => Self::WrongRelyingParty,
            WebauthnError::UserNotPresent => Self::UserNotPresent,
            WebauthnError::UserNotVerified => Self::UserNotVerified,
            _ => Self::Unverifiable,
        }
    }
}

/// Why an authentication response was refused: each reason its own
/// variant, for the audit trail. Show the end user only that the passkey
/// was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[must_use]
#[non_exhaustive]
pub enum PasskeyRejected {
    /// The state was finished at or after its `expires_at`.
    #[error("authentication state expired at {expires_at}")]
    Expired {
        /// When it expired.
        expires_at: DateTime<Utc>,
    },
    /// The response is not a well-formed authentication response.
    #[error("malformed authentication response")]
    Malformed,
    /// The client data is of another ceremony (`webauthn.create`).
    #[error("client data is not of an authentication")]
    WrongCeremony,
    /// The response answers another challenge: a replayed or older
    /// response, or one made for another state.
    #[error("challenge mismatch")]
    ChallengeMismatch,
    /// The browser ran the ceremony on an origin that is not allowed.
    #[error("origin not allowed")]
    WrongOrigin,
    /// The authenticator signed for another relying-party id, or the
    /// state was started by another relying party.
    #[error("wrong relying party")]
    WrongRelyingParty,
    /// The response names a credential the caller does not know, or one
    /// the state did not offer.
    #[error("unknown credential {id}")]
    UnknownCredential {
        /// The credential id the response named.
        id: CredentialId,
    },
    /// The credential belongs to another user than the state's.
    #[error("credential {id} belongs to another user")]
    CredentialOfAnotherUser {
        /// The credential id the response named.
        id: CredentialId,
    },
    /// The authenticator did not report user presence.
    #[error("user presence missing")]
    UserNotPresent,
    /// User verification is required (by the policy, or because the
    /// credential was registered with it) and was not performed.
    #[error("user verification missing")]
    UserNotVerified,
    /// The signature did not verify with the credential's key.
    #[error("signature did not verify")]
    BadSignature,
    /// The signature counter did not increase: the authenticator may
    /// have been cloned, or an old response was replayed.
    #[error("signature counter did not increase past {stored} (possible clone)")]
    CounterRegression {
        /// The counter on record.
        stored: u32,
    },
    /// The authenticator changed its backup eligibility, which it may not.
    #[error("backup eligibility changed")]
    BackupEligibilityChanged,
    /// The credential's key or the response's data did not verify for
    /// another reason.
    #[error("credential did not verify")]
    Unverifiable,
}

impl PasskeyRejected {
    pub(crate) fn from_webauthn(error: &WebauthnError, id: &CredentialId, stored: u32) -> Self {
        match error {
            WebauthnError::ParseBase64Failure(_)
            | WebauthnError::ParseCBORFailure(_)
            | WebauthnError::ParseJSONFailure(_)
            | WebauthnError::ParseNOMFailure
            | WebauthnError::ParseInsufficientBytesAvailable => Self::Malformed,
            WebauthnError::InvalidClientDataType => Self::WrongCeremony,
            WebauthnError::MismatchedChallenge => Self::ChallengeMismatch,
            WebauthnError::InvalidRPOrigin | WebauthnError::CredentialCrossOrigin => {
                Self::WrongOrigin
            }
            WebauthnError::InvalidRPIDHash => Self::WrongRelyingParty,
            WebauthnError::CredentialNotFound => Self::UnknownCredential { id: id.clone() },
            WebauthnError::UserNotPresent => Self::UserNotPresent,
            WebauthnError::UserNotVerified => Self::UserNotVerified,
            WebauthnError::AuthenticationFailure | WebauthnError::SignatureInvalid => {
                Self::BadSignature
            }
            WebauthnError::CredentialPossibleCompromise => Self::CounterRegression { stored },
            WebauthnError::CredentialBackupEligibilityInconsistent
            | WebauthnError::CredentialMayNotBeHardwareBound => Self::BackupEligibilityChanged,
            _ => Self::Unverifiable,
        }
    }
}
