//! One sealed field: the associated data that binds it to its user and
//! its name, the stored forms of a ciphertext and of a phone number, and
//! the typed seal and open of each kind of secret value a record holds.

use std::fmt;

use rand::CryptoRng;
use twofa_delivery::{OobChallenge, PhoneNumber};
use twofa_enrollment::MethodId;
use twofa_otp::Secret;
use twofa_types::UserId;
use zeroize::Zeroizing;

use super::{SealError, Sealer};

/// Domain separation of the associated data. It names the crate that
/// first wrote sealed records: every stored ciphertext is bound to it.
const AAD_LABEL: &[u8] = b"twofa-enrollment/seal/v1";

/// Associated data: label, user id and field name, each length-prefixed.
fn associated_data(user: &UserId, field: &str) -> Vec<u8> {
    let mut aad = Vec::new();
    for part in [AAD_LABEL, user.as_str().as_bytes(), field.as_bytes()] {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        aad.extend_from_slice(&len.to_be_bytes());
        aad.extend_from_slice(part);
    }
    aad
}

/// A sealed field: `nonce ‖ ciphertext ‖ tag` (hex in serde).
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(super) struct SealedBytes(
    #[cfg_attr(feature = "serde", serde(with = "crate::hex::bytes"))] Vec<u8>,
);

impl fmt::Debug for SealedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedBytes({} bytes)", self.0.len())
    }
}

/// A phone number as stored: the E.164 form sealed, the masked form
/// readable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(super) struct SealedNumber {
    /// [`PhoneNumber::masked`] (`+44 ••• ••• 3456`), for reports and
    /// administration views that read the record without the key. It is
    /// not authenticated: opening ignores it, and every seal writes it
    /// afresh from the opened number.
    masked: String,
    /// The E.164 number.
    sealed: SealedBytes,
}

/// The associated-data field names of a pending verification's sealed
/// values.
#[derive(Clone, Copy)]
pub(super) struct PendingFields {
    pub(super) secret: &'static str,
    pub(super) number: &'static str,
    pub(super) challenge: &'static str,
    pub(super) passkey: &'static str,
}

/// A first method's set-up.
pub(super) const PENDING_FIELDS: PendingFields = PendingFields {
    secret: "pending/secret",
    number: "pending/number",
    challenge: "pending/challenge",
    passkey: "pending/passkey",
};

/// A method being added, or a number being changed, by an enrolled user.
pub(super) const CHANGE_FIELDS: PendingFields = PendingFields {
    secret: "change/secret",
    number: "change/number",
    challenge: "change/challenge",
    passkey: "change/passkey",
};

/// The outstanding login code.
pub(super) const LOGIN_CHALLENGE_FIELD: &str = "login/challenge";

/// The outstanding passkey login ceremony.
pub(super) const LOGIN_PASSKEY_FIELD: &str = "login/passkey";

/// The credential of enrolled passkey method `id`.
pub(super) fn method_passkey_field(id: MethodId) -> String {
    format!("method/{id}/passkey")
}

/// The secret of enrolled method `id`.
pub(super) fn method_secret_field(id: MethodId) -> String {
    format!("method/{id}/secret")
}

/// The number of enrolled method `id`.
pub(super) fn method_number_field(id: MethodId) -> String {
    format!("method/{id}/number")
}

/// Seals and opens the fields of one user's record.
pub(super) struct FieldSealer<'a> {
    pub(super) sealer: &'a dyn Sealer,
    pub(super) user: &'a UserId,
}

impl FieldSealer<'_> {
    fn seal_bytes(
        &self,
        field: &str,
        plaintext: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<SealedBytes, SealError> {
        self.sealer
            .seal(&associated_data(self.user, field), plaintext, rng)
            .map(SealedBytes)
    }

    fn open_bytes(
        &self,
        field: &str,
        sealed: &SealedBytes,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        self.sealer
            .open(&associated_data(self.user, field), &sealed.0)
    }

    pub(super) fn seal_secret(
        &self,
        field: &str,
        secret: &Secret,
        rng: &mut dyn CryptoRng,
    ) -> Result<SealedBytes, SealError> {
        self.seal_bytes(field, secret.expose_secret(), rng)
    }

    pub(super) fn open_secret(
        &self,
        field: &str,
        sealed: &SealedBytes,
    ) -> Result<Secret, SealError> {
        let bytes = self.open_bytes(field, sealed)?;
        Secret::from_bytes(&bytes).map_err(|_| SealError::InvalidSecret)
    }

    pub(super) fn seal_number(
        &self,
        field: &str,
        number: &PhoneNumber,
        rng: &mut dyn CryptoRng,
    ) -> Result<SealedNumber, SealError> {
        Ok(SealedNumber {
            masked: number.masked(),
            sealed: self.seal_bytes(field, number.expose_e164().as_bytes(), rng)?,
        })
    }

    pub(super) fn open_number(
        &self,
        field: &str,
        sealed: &SealedNumber,
    ) -> Result<PhoneNumber, SealError> {
        let bytes = self.open_bytes(field, &sealed.sealed)?;
        let text = core::str::from_utf8(&bytes).map_err(|_| SealError::InvalidPhoneNumber)?;
        // The stored-record reading: syntax checked, but a number whose
        // range a later numbering-plan update retired still opens.
        PhoneNumber::try_from(text.to_owned()).map_err(|_| SealError::InvalidPhoneNumber)
    }

    /// Seals a value's serde form: for values with no other encoding
    /// (out-of-band challenges, passkey credentials and ceremony states),
    /// sealed whole so that nothing of them (a full number, a keyed hash,
    /// a challenge, a public key) is readable in the record.
    fn seal_json<T: serde::Serialize>(
        &self,
        field: &str,
        value: &T,
        rng: &mut dyn CryptoRng,
    ) -> Result<SealedBytes, SealError> {
        let encoded = Zeroizing::new(serde_json::to_vec(value).map_err(|_| SealError::Seal)?);
        self.seal_bytes(field, &encoded, rng)
    }

    fn open_json<T: serde::de::DeserializeOwned>(
        &self,
        field: &str,
        sealed: &SealedBytes,
        invalid: SealError,
    ) -> Result<T, SealError> {
        let bytes = self.open_bytes(field, sealed)?;
        serde_json::from_slice(&bytes).map_err(|_| invalid)
    }

    pub(super) fn seal_challenge(
        &self,
        field: &str,
        challenge: &OobChallenge,
        rng: &mut dyn CryptoRng,
    ) -> Result<SealedBytes, SealError> {
        self.seal_json(field, challenge, rng)
    }

    pub(super) fn open_challenge(
        &self,
        field: &str,
        sealed: &SealedBytes,
    ) -> Result<OobChallenge, SealError> {
        self.open_json(field, sealed, SealError::InvalidChallenge)
    }

    /// Seals a passkey credential, or the state of a passkey ceremony.
    pub(super) fn seal_passkey<T: serde::Serialize>(
        &self,
        field: &str,
        value: &T,
        rng: &mut dyn CryptoRng,
    ) -> Result<SealedBytes, SealError> {
        self.seal_json(field, value, rng)
    }

    pub(super) fn open_passkey<T: serde::de::DeserializeOwned>(
        &self,
        field: &str,
        sealed: &SealedBytes,
    ) -> Result<T, SealError> {
        self.open_json(field, sealed, SealError::InvalidPasskey)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::seal::XChaChaSealer;

    fn parts() -> (XChaChaSealer, UserId, StdRng) {
        let mut rng = StdRng::seed_from_u64(3);
        (
            XChaChaSealer::generate(&mut rng),
            UserId::new("user-1").unwrap(),
            rng,
        )
    }

    #[test]
    fn a_sealed_number_opens_only_as_a_number() {
        let (sealer, user, mut rng) = parts();
        let fields = FieldSealer {
            sealer: &sealer,
            user: &user,
        };
        let number = PhoneNumber::from_e164("+447400123456").unwrap();
        let sealed = fields
            .seal_number("pending/number", &number, &mut rng)
            .unwrap();
        assert_eq!(sealed.masked, number.masked());
        assert_eq!(
            fields.open_number("pending/number", &sealed).unwrap(),
            number
        );
        assert_eq!(
            fields.open_number("change/number", &sealed).unwrap_err(),
            SealError::Open
        );
        // Authentic bytes that are not an E.164 number.
        for bytes in [&b"447400123456"[..], b"+44 not a number", &[0xff, 0xfe]] {
            let garbage = SealedNumber {
                masked: number.masked(),
                sealed: fields
                    .seal_bytes("pending/number", bytes, &mut rng)
                    .unwrap(),
            };
            assert_eq!(
                fields.open_number("pending/number", &garbage).unwrap_err(),
                SealError::InvalidPhoneNumber
            );
        }
    }

    #[test]
    fn a_sealed_challenge_opens_only_as_a_challenge() {
        let (sealer, user, mut rng) = parts();
        let fields = FieldSealer {
            sealer: &sealer,
            user: &user,
        };
        for bytes in [&b"{}"[..], b"null", b"\"+447400123456\"", &[0xff]] {
            let garbage = fields
                .seal_bytes("login/challenge", bytes, &mut rng)
                .unwrap();
            assert_eq!(
                fields
                    .open_challenge("login/challenge", &garbage)
                    .unwrap_err(),
                SealError::InvalidChallenge
            );
        }
    }

    #[test]
    fn associated_data_separates_users_and_fields() {
        let alice = UserId::new("alice").unwrap();
        let bob = UserId::new("bob").unwrap();
        let fields = [
            "pending/secret",
            "pending/number",
            "pending/challenge",
            "change/number",
            "change/challenge",
            "login/challenge",
            &method_number_field(MethodId::new(1)),
            &method_secret_field(MethodId::new(1)),
            &method_number_field(MethodId::new(2)),
        ];
        let mut seen = std::collections::HashSet::new();
        for user in [&alice, &bob] {
            for field in fields {
                assert!(seen.insert(associated_data(user, field)), "{field}");
            }
        }
    }
}
