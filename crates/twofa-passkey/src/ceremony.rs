//! The two ceremonies, each in two halves: start (options for the browser,
//! state for the server) and finish (the browser's response checked
//! against the state).

use chrono::{DateTime, Utc};
use twofa_types::UserId;
use webauthn_rs_core::proto::{
    PublicKeyCredential, PublicKeyCredentialDescriptor, RegisterPublicKeyCredential,
};

use crate::config::{CredentialDiscovery, RelyingParty};
use crate::credential::{CredentialId, CredentialName, PasskeyCredential, find_credential};
use crate::rejection::{PasskeyRejected, RegistrationRejected, StartError};
use crate::state::{
    AuthenticationState, CreationOptions, RegistrationState, RequestOptions, StateId,
};

/// The largest client response accepted, in bytes. Real responses are a
/// few kilobytes (attestation certificates included); the limit bounds
/// the work a hostile request can cause.
pub const MAX_CLIENT_RESPONSE_LEN: usize = 64 * 1024;

/// The longest user display name accepted, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// A successful authentication: which credential, and the credential
/// updated (signature counter, backup state, last use) for the caller to
/// store in place of the old one.
#[derive(Debug, Clone)]
#[must_use]
#[non_exhaustive]
pub struct PasskeyAccepted {
    /// The credential that signed.
    pub credential_id: CredentialId,
    /// The credential as it must now be stored.
    pub credential: PasskeyCredential,
    /// Whether the authenticator verified the user this time.
    pub user_verified: bool,
}

impl RelyingParty {
    /// Starts registering a passkey for `user`.
    ///
    /// `existing_credentials` are the user's passkeys: the browser is told
    /// to exclude their authenticators, and a response from one of them is
    /// refused. The user handle given to the authenticator is `user`'s id
    /// bytes, and the account name shown is the id itself.
    ///
    /// Returns the options to hand to `navigator.credentials.create()` and
    /// the state to keep server side until `now + challenge_lifetime`.
    ///
    /// # Errors
    ///
    /// [`StartError`] for an invalid display name or an out-of-range expiry.
    ///
    /// # Security
    ///
    /// The 32-byte challenge is drawn by `webauthn-rs-core` from `rand`'s
    /// thread-local generator (ChaCha12 seeded from the operating system),
    /// not from an argument: the ceremony's only randomness.
    pub fn start_registration(
        &self,
        user: &UserId,
        user_display_name: &str,
        existing_credentials: &[PasskeyCredential],
        now: DateTime<Utc>,
    ) -> Result<(CreationOptions, RegistrationState), StartError> {
        let chars = user_display_name.chars().count();
        if chars == 0
            || chars > MAX_DISPLAY_NAME_CHARS
            || user_display_name.chars().any(char::is_control)
        {
            return Err(StartError::InvalidDisplayName);
        }
        let expires_at = now
            .checked_add_signed(self.challenge_lifetime)
            .ok_or(StartError::ExpiryOutOfRange)?;
        let builder = self
            .core
            .new_challenge_register_builder(
                user.as_str().as_bytes(),
                user.as_str(),
                user_display_name,
            )
            .map_err(|_| StartError::Challenge)?
            .user_verification_policy(self.user_verification.to_webauthn())
            .require_resident_key(self.discovery == CredentialDiscovery::Required);
        let (mut options, inner) = self
            .core
            .generate_challenge_register(builder)
            .map_err(|_| StartError::Challenge)?;
        // Exclusion is checked here after verification (with its own
        // refusal), so the library's state carries none; the browser still
        // receives the list so that it can steer the user away.
        let excluded: Vec<CredentialId> = existing_credentials
            .iter()
            .map(|credential| credential.id.clone())
            .collect();
        if !excluded.is_empty() {
            options.public_key.exclude_credentials = Some(
                excluded
                    .iter()
                    .map(|id| PublicKeyCredentialDescriptor {
                        type_: "public-key".to_owned(),
                        id: id.as_bytes().to_vec(),
                        transports: None,
                    })
                    .collect(),
            );
        }
        let id = StateId::from_challenge(b"registration", &options.public_key.challenge);
        let json = serde_json::to_string(&options).map_err(|_| StartError::Challenge)?;
        let state = RegistrationState {
            id,
            rp_id: self.id().to_owned(),
            user: user.clone(),
            expires_at,
            excluded,
            inner,
        };
        Ok((CreationOptions { json }, state))
    }

    /// Finishes a registration: checks the browser's response against
    /// `state` and returns the new credential, named `credential_name`,
    /// for the caller to store.
    ///
    /// `is_registered` tells whether a credential id is already stored
    /// for anyone; such a credential is refused, as is one of the user's
    /// own credentials excluded at start.
    ///
    /// # Errors
    ///
    /// [`RegistrationRejected`] names the reason: an expired state
    /// (`now ≥ expires_at`), a malformed response, the wrong origin or
    /// relying party, another challenge, missing user verification when
    /// required, an already registered credential, an attestation that
    /// does not verify.
    pub fn finish_registration(
        &self,
        state: &RegistrationState,
        client_response_json: &str,
        credential_name: CredentialName,
        is_registered: impl Fn(&CredentialId) -> bool,
        now: DateTime<Utc>,
    ) -> Result<PasskeyCredential, RegistrationRejected> {
        if now >= state.expires_at {
            return Err(RegistrationRejected::Expired {
                expires_at: state.expires_at,
            });
        }
        if state.rp_id != self.id() {
            return Err(RegistrationRejected::WrongRelyingParty);
        }
        if client_response_json.len() > MAX_CLIENT_RESPONSE_LEN {
            return Err(RegistrationRejected::Malformed);
        }
        let response: RegisterPublicKeyCredential = serde_json::from_str(client_response_json)
            .map_err(|_| RegistrationRejected::Malformed)?;
        let record = self
            .core
            .register_credential(&response, &state.inner, None)
            .map_err(|error| RegistrationRejected::from_webauthn(&error))?;
        let id = CredentialId::from_bytes(&record.cred_id)
            .map_err(|_| RegistrationRejected::Malformed)?;
        if state.excluded.contains(&id) || is_registered(&id) {
            return Err(RegistrationRejected::AlreadyRegistered { id });
        }
        Ok(PasskeyCredential {
            id,
            user: state.user.clone(),
            name: credential_name,
            record,
            created_at: now,
            last_used_at: None,
        })
    }

    /// Starts authenticating the owner of `user_credentials` (all of one
    /// user's passkeys).
    ///
    /// Returns the options to hand to `navigator.credentials.get()` and
    /// the state to keep server side until `now + challenge_lifetime`.
    ///
    /// # Errors
    ///
    /// [`StartError::NoCredentials`] for an empty list,
    /// [`StartError::CredentialsOfSeveralUsers`] when the credentials are
    /// not all one user's.
    ///
    /// # Security
    ///
    /// The challenge comes from `webauthn-rs-core`, as for registration.
    pub fn start_authentication(
        &self,
        user_credentials: &[PasskeyCredential],
        now: DateTime<Utc>,
    ) -> Result<(RequestOptions, AuthenticationState), StartError> {
        let user = user_credentials
            .first()
            .map(|credential| credential.user.clone())
            .ok_or(StartError::NoCredentials)?;
        if user_credentials
            .iter()
            .any(|credential| credential.user != user)
        {
            return Err(StartError::CredentialsOfSeveralUsers);
        }
        let expires_at = now
            .checked_add_signed(self.challenge_lifetime)
            .ok_or(StartError::ExpiryOutOfRange)?;
        let records = user_credentials
            .iter()
            .map(|credential| credential.record.clone())
            .collect();
        let builder = self
            .core
            .new_challenge_authenticate_builder(records, Some(self.user_verification.to_webauthn()))
            .map_err(|_| StartError::Challenge)?;
        let (options, inner) = self
            .core
            .generate_challenge_authenticate(builder)
            .map_err(|_| StartError::Challenge)?;
        let id = StateId::from_challenge(b"authentication", &options.public_key.challenge);
        let json = serde_json::to_string(&options).map_err(|_| StartError::Challenge)?;
        let state = AuthenticationState {
            id,
            rp_id: self.id().to_owned(),
            user,
            expires_at,
            allowed: user_credentials
                .iter()
                .map(|credential| credential.id.clone())
                .collect(),
            inner,
        };
        Ok((RequestOptions { json }, state))
    }

    /// Finishes an authentication: checks the browser's response against
    /// `state` and the signing credential as stored now.
    ///
    /// `credentials` are the credentials the caller holds: the user's, or
    /// the one found by [`client_response_credential_id`]. The signing
    /// credential is looked up there (so its current counter is used, not
    /// the one at start), must be the state's user's and must have been
    /// offered at start.
    ///
    /// # Errors
    ///
    /// [`PasskeyRejected`] names the reason, each its own variant: expired
    /// state (`now ≥ expires_at`), malformed response, wrong origin, wrong
    /// relying party, challenge mismatch (a replayed or older response),
    /// unknown credential, another user's credential, missing user
    /// verification, bad signature, counter regression.
    pub fn finish_authentication(
        &self,
        state: &AuthenticationState,
        client_response_json: &str,
        credentials: &[PasskeyCredential],
        now: DateTime<Utc>,
    ) -> Result<PasskeyAccepted, PasskeyRejected> {
        if now >= state.expires_at {
            return Err(PasskeyRejected::Expired {
                expires_at: state.expires_at,
            });
        }
        if state.rp_id != self.id() {
            return Err(PasskeyRejected::WrongRelyingParty);
        }
        let response = parse_assertion(client_response_json)?;
        let id =
            CredentialId::from_bytes(&response.raw_id).map_err(|_| PasskeyRejected::Malformed)?;
        let credential = find_credential(credentials, &id)
            .ok_or_else(|| PasskeyRejected::UnknownCredential { id: id.clone() })?;
        let handle_is_other = response
            .response
            .user_handle
            .as_ref()
            .is_some_and(|handle| handle.as_slice() != state.user.as_str().as_bytes());
        if credential.user != state.user || handle_is_other {
            return Err(PasskeyRejected::CredentialOfAnotherUser { id });
        }
        if !state.allowed.contains(&id) {
            return Err(PasskeyRejected::UnknownCredential { id });
        }
        let stored = credential.record.counter;
        let result = self
            .core
            .authenticate_single_credential(&response, &state.inner, &credential.record)
            .map_err(|error| PasskeyRejected::from_webauthn(&error, &id, stored))?;
        let mut updated = credential.clone();
        updated.record.counter = result.counter().max(stored);
        updated.record.backup_state = result.backup_state();
        updated.record.backup_eligible = result.backup_eligible();
        updated.last_used_at = Some(now);
        Ok(PasskeyAccepted {
            credential_id: id,
            credential: updated,
            user_verified: result.user_verified(),
        })
    }
}

fn parse_assertion(json: &str) -> Result<PublicKeyCredential, PasskeyRejected> {
    if json.len() > MAX_CLIENT_RESPONSE_LEN {
        return Err(PasskeyRejected::Malformed);
    }
    serde_json::from_str(json).map_err(|_| PasskeyRejected::Malformed)
}

/// The credential id an authentication response names, so that the
/// caller can look the credential up (for example across all users, to
/// tell an unknown credential from another user's).
///
/// # Errors
///
/// [`PasskeyRejected::Malformed`] when the response cannot be read.
pub fn client_response_credential_id(
    client_response_json: &str,
) -> Result<CredentialId, PasskeyRejected> {
    let response = parse_assertion(client_response_json)?;
    CredentialId::from_bytes(&response.raw_id).map_err(|_| PasskeyRejected::Malformed)
}
