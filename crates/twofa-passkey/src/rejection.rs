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

/// Why a passkey ceremony was refused, without the refusal's data: a
/// `Copy` value for errors, metrics and the audit trail (stable names from
/// [`RefusalReason::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum RefusalReason {
    /// The ceremony's state expired.
    Expired,
    /// The response could not be parsed.
    Malformed,
    /// The client data is of the other ceremony.
    WrongCeremony,
    /// The response answers another challenge (replay, or another state).
    ChallengeMismatch,
    /// The response was made for an origin that is not allowed: the
    /// look-alike site's refusal.
    WrongOrigin,
    /// The state or the response is for another relying party.
    WrongRelyingParty,
    /// The credential is not one of the user's.
    UnknownCredential,
    /// The credential belongs to another user.
    CredentialOfAnotherUser,
    /// The credential is already registered.
    AlreadyRegistered,
    /// The authenticator did not report user presence.
    UserNotPresent,
    /// User verification was required and not performed.
    UserNotVerified,
    /// The signature did not verify.
    BadSignature,
    /// The signature counter did not increase (possible clone).
    CounterRegression,
    /// The credential's backup eligibility changed.
    BackupEligibilityChanged,
    /// Anything else the WebAuthn library refused.
    Unverifiable,
}

impl RefusalReason {
    /// Stable lowercase name (`wrong_origin`, `challenge_mismatch`, …).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Malformed => "malformed",
            Self::WrongCeremony => "wrong_ceremony",
            Self::ChallengeMismatch => "challenge_mismatch",
            Self::WrongOrigin => "wrong_origin",
            Self::WrongRelyingParty => "wrong_relying_party",
            Self::UnknownCredential => "unknown_credential",
            Self::CredentialOfAnotherUser => "credential_of_another_user",
            Self::AlreadyRegistered => "already_registered",
            Self::UserNotPresent => "user_not_present",
            Self::UserNotVerified => "user_not_verified",
            Self::BadSignature => "bad_signature",
            Self::CounterRegression => "counter_regression",
            Self::BackupEligibilityChanged => "backup_eligibility_changed",
            Self::Unverifiable => "unverifiable",
        }
    }
}

impl core::fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RegistrationRejected {
    /// The reason, without the refusal's data.
    #[must_use]
    pub fn reason(&self) -> RefusalReason {
        match self {
            Self::Expired { .. } => RefusalReason::Expired,
            Self::Malformed => RefusalReason::Malformed,
            Self::WrongCeremony => RefusalReason::WrongCeremony,
            Self::ChallengeMismatch => RefusalReason::ChallengeMismatch,
            Self::WrongOrigin => RefusalReason::WrongOrigin,
            Self::WrongRelyingParty => RefusalReason::WrongRelyingParty,
            Self::UserNotPresent => RefusalReason::UserNotPresent,
            Self::UserNotVerified => RefusalReason::UserNotVerified,
            Self::AlreadyRegistered { .. } => RefusalReason::AlreadyRegistered,
            Self::Unverifiable => RefusalReason::Unverifiable,
        }
    }
}

impl PasskeyRejected {
    /// The reason, without the refusal's data.
    #[must_use]
    pub fn reason(&self) -> RefusalReason {
        match self {
            Self::Expired { .. } => RefusalReason::Expired,
            Self::Malformed => RefusalReason::Malformed,
            Self::WrongCeremony => RefusalReason::WrongCeremony,
            Self::ChallengeMismatch => RefusalReason::ChallengeMismatch,
            Self::WrongOrigin => RefusalReason::WrongOrigin,
            Self::WrongRelyingParty => RefusalReason::WrongRelyingParty,
            Self::UnknownCredential { .. } => RefusalReason::UnknownCredential,
            Self::CredentialOfAnotherUser { .. } => RefusalReason::CredentialOfAnotherUser,
            Self::UserNotPresent => RefusalReason::UserNotPresent,
            Self::UserNotVerified => RefusalReason::UserNotVerified,
            Self::BadSignature => RefusalReason::BadSignature,
            Self::CounterRegression { .. } => RefusalReason::CounterRegression,
            Self::BackupEligibilityChanged => RefusalReason::BackupEligibilityChanged,
            Self::Unverifiable => RefusalReason::Unverifiable,
        }
    }
}
