//! Sealing of secret and personal fields for storage.
//!
//! A record's serialised form never contains a raw secret, a code or a
//! full phone number: TOTP secrets, phone numbers and whole out-of-band
//! challenges (whose destination is the full number) are encrypted with
//! an AEAD under a key the application holds, with the user id and the
//! field's name as associated data, so a ciphertext moved to another user
//! or another field fails to open. A phone number keeps only its masked
//! form readable, for reports and administration views.

use core::fmt;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use rand_core::CryptoRng;
use twofa_delivery::{EmailAddress, LineType, OobChallenge, PhoneNumber, PushRequest, PushSendLog};
use twofa_otp::Secret;
use twofa_types::UserId;
use zeroize::Zeroizing;

use crate::machine::{Enrolled, Enrollment, EnrollmentState, PendingKind, PendingSetup};
use crate::method::{
    DisplayName, EnrolledMethod, Factor, MethodId, PhoneChannel, PhoneFactor, TotpFactor,
};
use crate::recovery::RecoveryCodes;
use crate::throttle::Failures;

/// Domain separation of the associated data.
const AAD_LABEL: &[u8] = b"twofa-enrollment/seal/v1";

/// XChaCha20-Poly1305 nonce length: 192 bits, large enough to draw at
/// random for every seal without a practical risk of reuse
/// (draft-irtf-cfrg-xchacha §1).
const NONCE_LEN: usize = 24;

/// Poly1305 tag length.
const TAG_LEN: usize = 16;

/// Why sealing or opening failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The sealing key has the wrong length.
    #[error("sealing key must be {expected} bytes")]
    KeyLength {
        /// The required length.
        expected: usize,
    },
    /// Encryption failed (input too long for the AEAD), or a challenge
    /// could not be encoded for sealing.
    #[error("sealing failed")]
    Seal,
    /// The ciphertext did not authenticate: wrong key, tampered, or moved
    /// to another user or field.
    #[error("sealed field did not authenticate")]
    Open,
    /// The sealed value is too short to be a ciphertext.
    #[error("sealed field is malformed")]
    Malformed,
    /// The opened bytes are not a valid secret.
    #[error("opened field is not a valid secret")]
    InvalidSecret,
    /// The opened bytes are not a phone number in E.164 form.
    #[error("opened field is not a valid phone number")]
    InvalidPhoneNumber,
    /// The opened bytes are not an out-of-band challenge.
    #[error("opened field is not a valid challenge")]
    InvalidChallenge,
    /// The record refers to something it does not hold.
    #[error("sealed record is inconsistent")]
    Inconsistent,
}

/// Encrypts and authenticates record fields under an application key.
///
/// Implementations must be an AEAD with a fresh nonce per call, and must
/// fail [`Sealer::open`] whenever the associated data differs from that
/// given to [`Sealer::seal`].
pub trait Sealer: Send + Sync {
    /// Seals `plaintext` bound to `associated_data`.
    ///
    /// # Errors
    ///
    /// [`SealError::Seal`] when encryption fails.
    fn seal(
        &self,
        associated_data: &[u8],
        plaintext: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Vec<u8>, SealError>;

    /// Opens a value sealed with the same associated data.
    ///
    /// # Errors
    ///
    /// [`SealError::Open`] or [`SealError::Malformed`].
    fn open(&self, associated_data: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError>;
}

/// [`Sealer`] on XChaCha20-Poly1305: a 256-bit key, a random 192-bit nonce
/// per seal, output `nonce ‖ ciphertext ‖ tag`.
///
/// # Security
///
/// The key is zeroized on drop and `Debug` prints `[REDACTED]`.
#[derive(Clone)]
pub struct XChaChaSealer {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for XChaChaSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("XChaChaSealer([REDACTED])")
    }
}

impl XChaChaSealer {
    /// Key length in bytes.
    pub const KEY_LEN: usize = 32;

    /// A sealer with a 32-byte key.
    ///
    /// # Errors
    ///
    /// [`SealError::KeyLength`] for any other length.
    pub fn from_bytes(key: &[u8]) -> Result<Self, SealError> {
        let cipher = XChaCha20Poly1305::new_from_slice(key).map_err(|_| SealError::KeyLength {
            expected: Self::KEY_LEN,
        })?;
        Ok(Self { cipher })
    }

    /// A sealer with a fresh random key (for tests and key generation; the
    /// key cannot be read back, so persist keys made elsewhere).
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key.as_mut());
        Self {
            cipher: XChaCha20Poly1305::new(&(*key).into()),
        }
    }
}

impl Sealer for XChaChaSealer {
    fn seal(
        &self,
        associated_data: &[u8],
        plaintext: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: associated_data,
                },
            )
            .map_err(|_| SealError::Seal)?;
        let mut out = Vec::with_capacity(NONCE_LEN.saturating_add(ciphertext.len()));
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    fn open(&self, associated_data: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < NONCE_LEN.saturating_add(TAG_LEN) {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| SealError::Malformed)?;
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: associated_data,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Open)
    }
}

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
struct SealedBytes(#[cfg_attr(feature = "serde", serde(with = "crate::hex::bytes"))] Vec<u8>);

impl fmt::Debug for SealedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedBytes({} bytes)", self.0.len())
    }
}

/// A phone number as stored: the E.164 form sealed, the masked form
/// readable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct SealedNumber {
    /// [`PhoneNumber::masked`] (`+44 ••• ••• 3456`), for reports and
    /// administration views that read the record without the key. It is
    /// not authenticated: opening ignores it, and every seal writes it
    /// afresh from the opened number.
    masked: String,
    /// The E.164 number.
    sealed: SealedBytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
enum SealedPendingKind {
    App {
        secret: SealedBytes,
    },
    Push {
        secret: SealedBytes,
        request: Option<PushRequest>,
    },
    Phone {
        number: SealedNumber,
        channel: PhoneChannel,
        line_type: LineType,
        /// The whole challenge: its destination is the full number.
        challenge: SealedBytes,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct SealedPending {
    kind: SealedPendingKind,
    started_at: DateTime<Utc>,
    failed_attempts: u32,
    replaces: Option<MethodId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
enum SealedFactor {
    App {
        secret: SealedBytes,
        last_step: Option<u64>,
    },
    Push {
        secret: SealedBytes,
        last_step: Option<u64>,
    },
    Phone {
        number: SealedNumber,
        channel: PhoneChannel,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct SealedMethod {
    id: MethodId,
    factor: SealedFactor,
    enrolled_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct SealedEnrolled {
    methods: Vec<SealedMethod>,
    primary: MethodId,
    enrolled_at: DateTime<Utc>,
    recovery: RecoveryCodes,
    change: Option<SealedPending>,
    next_id: u32,
    login_challenge: Option<SealedBytes>,
    push_request: Option<PushRequest>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[expect(
    clippy::large_enum_variant,
    reason = "mirrors the record's own layout; converted once per load or save"
)]
enum SealedState {
    NotEnrolled,
    Deferred { until: DateTime<Utc> },
    Pending(SealedPending),
    Enrolled(SealedEnrolled),
}

/// An [`Enrollment`] with every secret and phone number sealed: the form
/// to store.
///
/// Serialisable with serde (feature `serde`).
///
/// # Security
///
/// Sealed (AEAD, bound to the user id and the field): TOTP secrets, phone
/// numbers (`method/<id>/number`, `pending/number`, `change/number`) and
/// out-of-band challenges (`pending/challenge`, `change/challenge`,
/// `login/challenge`), which hold a keyed hash of the code and the full
/// number or email address it went to. Recovery codes are stored as keyed
/// hashes. Readable: the user id, display name and email address, each
/// phone number's masked form ([`PhoneNumber::masked`]), method ids,
/// kinds and channels, line types, times and counters, and push prompts
/// (transaction id and the match number shown on the login page).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SealedEnrollment {
    user: UserId,
    display_name: DisplayName,
    email: Option<EmailAddress>,
    state: SealedState,
    deferrals_used: u32,
    failures: Failures,
    last_second_factor_at: Option<DateTime<Utc>>,
    push_log: PushSendLog,
}

struct SealCtx<'a> {
    sealer: &'a dyn Sealer,
    user: &'a UserId,
}

impl SealCtx<'_> {
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

    fn seal_secret(
        &self,
        field: &str,
        secret: &Secret,
        rng: &mut dyn CryptoRng,
    ) -> Result<SealedBytes, SealError> {
        self.seal_bytes(field, secret.expose_secret(), rng)
    }

    fn open_secret(&self, field: &str, sealed: &SealedBytes) -> Result<Secret, SealError> {
        let bytes = self.open_bytes(field, sealed)?;
        Secret::from_bytes(&bytes).map_err(|_| SealError::InvalidSecret)
    }

    fn seal_number(
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

    fn open_number(&self, field: &str, sealed: &SealedNumber) -> Result<PhoneNumber, SealError> {
        let bytes = self.open_bytes(field, &sealed.sealed)?;
        let text = core::str::from_utf8(&bytes).map_err(|_| SealError::InvalidPhoneNumber)?;
        // The stored-record reading: syntax checked, but a number whose
        // range a later numbering-plan update retired still opens.
        PhoneNumber::try_from(text.to_owned()).map_err(|_| SealError::InvalidPhoneNumber)
    }

    /// Seals the challenge's serde form. The type has no other encoding,
    /// and sealing it whole keeps its destination (the full number) and
    /// the keyed hash of its code out of the readable record alike.
    fn seal_challenge(
        &self,
        field: &str,
        challenge: &OobChallenge,
        rng: &mut dyn CryptoRng,
    ) -> Result<SealedBytes, SealError> {
        let encoded = Zeroizing::new(serde_json::to_vec(challenge).map_err(|_| SealError::Seal)?);
        self.seal_bytes(field, &encoded, rng)
    }

    fn open_challenge(&self, field: &str, sealed: &SealedBytes) -> Result<OobChallenge, SealError> {
        let bytes = self.open_bytes(field, sealed)?;
        serde_json::from_slice(&bytes).map_err(|_| SealError::InvalidChallenge)
    }

    fn seal_pending(
        &self,
        fields: PendingFields,
        pending: &PendingSetup,
        rng: &mut dyn CryptoRng,
    ) -> Result<SealedPending, SealError> {
        let kind = match &pending.kind {
            PendingKind::App { secret } => SealedPendingKind::App {
                secret: self.seal_secret(fields.secret, secret, rng)?,
            },
            PendingKind::Push { secret, request } => SealedPendingKind::Push {
                secret: self.seal_secret(fields.secret, secret, rng)?,
                request: request.clone(),
            },
            PendingKind::Phone {
                number,
                channel,
                line_type,
                challenge,
            } => SealedPendingKind::Phone {
                number: self.seal_number(fields.number, number, rng)?,
                channel: *channel,
                line_type: *line_type,
                challenge: self.seal_challenge(fields.challenge, challenge, rng)?,
            },
        };
        Ok(SealedPending {
            kind,
            started_at: pending.started_at,
            failed_attempts: pending.failed_attempts,
            replaces: pending.replaces,
        })
    }

    fn open_pending(
        &self,
        fields: PendingFields,
        pending: &SealedPending,
    ) -> Result<PendingSetup, SealError> {
        let kind = match &pending.kind {
            SealedPendingKind::App { secret } => PendingKind::App {
                secret: self.open_secret(fields.secret, secret)?,
            },
            SealedPendingKind::Push { secret, request } => PendingKind::Push {
                secret: self.open_secret(fields.secret, secret)?,
                request: request.clone(),
            },
            SealedPendingKind::Phone {
                number,
                channel,
                line_type,
                challenge,
            } => PendingKind::Phone {
                number: self.open_number(fields.number, number)?,
                channel: *channel,
                line_type: *line_type,
                challenge: self.open_challenge(fields.challenge, challenge)?,
            },
        };
        Ok(PendingSetup {
            kind,
            started_at: pending.started_at,
            failed_attempts: pending.failed_attempts,
            replaces: pending.replaces,
        })
    }
}

/// The associated-data field names of a pending verification's sealed
/// values.
#[derive(Clone, Copy)]
struct PendingFields {
    secret: &'static str,
    number: &'static str,
    challenge: &'static str,
}

/// A first method's set-up.
const PENDING_FIELDS: PendingFields = PendingFields {
    secret: "pending/secret",
    number: "pending/number",
    challenge: "pending/challenge",
};

/// A method being added, or a number being changed, by an enrolled user.
const CHANGE_FIELDS: PendingFields = PendingFields {
    secret: "change/secret",
    number: "change/number",
    challenge: "change/challenge",
};

/// The outstanding login code.
const LOGIN_CHALLENGE_FIELD: &str = "login/challenge";

fn method_secret_field(id: MethodId) -> String {
    format!("method/{id}/secret")
}

fn method_number_field(id: MethodId) -> String {
    format!("method/{id}/number")
}

impl Enrollment {
    /// The record with every secret and phone number sealed, ready to
    /// serialise (see [`SealedEnrollment`] for what stays readable).
    ///
    /// # Errors
    ///
    /// [`SealError::Seal`] when the sealer fails.
    pub fn seal(
        &self,
        sealer: &dyn Sealer,
        rng: &mut impl CryptoRng,
    ) -> Result<SealedEnrollment, SealError> {
        let ctx = SealCtx {
            sealer,
            user: &self.user,
        };
        let state = match &self.state {
            EnrollmentState::NotEnrolled => SealedState::NotEnrolled,
            EnrollmentState::Deferred { until } => SealedState::Deferred { until: *until },
            EnrollmentState::Pending(pending) => {
                SealedState::Pending(ctx.seal_pending(PENDING_FIELDS, pending, rng)?)
            }
            EnrollmentState::Enrolled(enrolled) => {
                let mut methods = Vec::with_capacity(enrolled.methods.len());
                for method in &enrolled.methods {
                    let factor = match &method.factor {
                        Factor::App(totp) => SealedFactor::App {
                            secret: ctx.seal_secret(
                                &method_secret_field(method.id),
                                &totp.secret,
                                rng,
                            )?,
                            last_step: totp.last_step,
                        },
                        Factor::Push(totp) => SealedFactor::Push {
                            secret: ctx.seal_secret(
                                &method_secret_field(method.id),
                                &totp.secret,
                                rng,
                            )?,
                            last_step: totp.last_step,
                        },
                        Factor::Phone(phone) => SealedFactor::Phone {
                            number: ctx.seal_number(
                                &method_number_field(method.id),
                                &phone.number,
                                rng,
                            )?,
                            channel: phone.channel,
                        },
                    };
                    methods.push(SealedMethod {
                        id: method.id,
                        factor,
                        enrolled_at: method.enrolled_at,
                        last_used_at: method.last_used_at,
                    });
                }
                let change = match &enrolled.change {
                    Some(change) => Some(ctx.seal_pending(CHANGE_FIELDS, change, rng)?),
                    None => None,
                };
                let login_challenge = match &enrolled.login_challenge {
                    Some(challenge) => {
                        Some(ctx.seal_challenge(LOGIN_CHALLENGE_FIELD, challenge, rng)?)
                    }
                    None => None,
                };
                SealedState::Enrolled(SealedEnrolled {
                    methods,
                    primary: enrolled.primary,
                    enrolled_at: enrolled.enrolled_at,
                    recovery: enrolled.recovery.clone(),
                    change,
                    next_id: enrolled.next_id,
                    login_challenge,
                    push_request: enrolled.push_request.clone(),
                })
            }
        };
        Ok(SealedEnrollment {
            user: self.user.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            state,
            deferrals_used: self.deferrals_used,
            failures: self.failures,
            last_second_factor_at: self.last_second_factor_at,
            push_log: self.push_log.clone(),
        })
    }
}

impl SealedEnrollment {
    /// The user the record belongs to (readable without the key).
    #[must_use]
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// Opens every sealed field.
    ///
    /// # Errors
    ///
    /// [`SealError::Open`] when a field does not authenticate (wrong key,
    /// tampering, or a ciphertext moved between users or fields),
    /// [`SealError::InvalidSecret`], [`SealError::InvalidPhoneNumber`],
    /// [`SealError::InvalidChallenge`], [`SealError::Malformed`], or
    /// [`SealError::Inconsistent`] for a record that violates the state
    /// invariants (no methods, unknown primary).
    pub fn open(&self, sealer: &dyn Sealer) -> Result<Enrollment, SealError> {
        let ctx = SealCtx {
            sealer,
            user: &self.user,
        };
        let state = match &self.state {
            SealedState::NotEnrolled => EnrollmentState::NotEnrolled,
            SealedState::Deferred { until } => EnrollmentState::Deferred { until: *until },
            SealedState::Pending(pending) => {
                EnrollmentState::Pending(ctx.open_pending(PENDING_FIELDS, pending)?)
            }
            SealedState::Enrolled(enrolled) => {
                let mut methods = Vec::with_capacity(enrolled.methods.len());
                for method in &enrolled.methods {
                    let factor = match &method.factor {
                        SealedFactor::App { secret, last_step } => Factor::App(TotpFactor {
                            secret: ctx.open_secret(&method_secret_field(method.id), secret)?,
                            last_step: *last_step,
                        }),
                        SealedFactor::Push { secret, last_step } => Factor::Push(TotpFactor {
                            secret: ctx.open_secret(&method_secret_field(method.id), secret)?,
                            last_step: *last_step,
                        }),
                        SealedFactor::Phone { number, channel } => Factor::Phone(PhoneFactor {
                            number: ctx.open_number(&method_number_field(method.id), number)?,
                            channel: *channel,
                        }),
                    };
                    methods.push(EnrolledMethod {
                        id: method.id,
                        factor,
                        enrolled_at: method.enrolled_at,
                        last_used_at: method.last_used_at,
                    });
                }
                let consistent = !methods.is_empty()
                    && methods.iter().any(|m| m.id == enrolled.primary)
                    && methods.iter().all(|m| m.id.get() < enrolled.next_id);
                if !consistent {
                    return Err(SealError::Inconsistent);
                }
                let change = match &enrolled.change {
                    Some(change) => Some(ctx.open_pending(CHANGE_FIELDS, change)?),
                    None => None,
                };
                let login_challenge = match &enrolled.login_challenge {
                    Some(sealed) => Some(ctx.open_challenge(LOGIN_CHALLENGE_FIELD, sealed)?),
                    None => None,
                };
                EnrollmentState::Enrolled(Enrolled {
                    methods,
                    primary: enrolled.primary,
                    enrolled_at: enrolled.enrolled_at,
                    recovery: enrolled.recovery.clone(),
                    change,
                    next_id: enrolled.next_id,
                    login_challenge,
                    push_request: enrolled.push_request.clone(),
                })
            }
        };
        Ok(Enrollment {
            user: self.user.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            state,
            deferrals_used: self.deferrals_used,
            failures: self.failures,
            last_second_factor_at: self.last_second_factor_at,
            push_log: self.push_log.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn ctx_parts() -> (XChaChaSealer, UserId, StdRng) {
        let mut rng = StdRng::seed_from_u64(3);
        (
            XChaChaSealer::generate(&mut rng),
            UserId::new("user-1").unwrap(),
            rng,
        )
    }

    #[test]
    fn a_sealed_number_opens_only_as_a_number() {
        let (sealer, user, mut rng) = ctx_parts();
        let ctx = SealCtx {
            sealer: &sealer,
            user: &user,
        };
        let number = PhoneNumber::from_e164("+447400123456").unwrap();
        let sealed = ctx
            .seal_number("pending/number", &number, &mut rng)
            .unwrap();
        assert_eq!(sealed.masked, number.masked());
        assert_eq!(ctx.open_number("pending/number", &sealed).unwrap(), number);
        assert_eq!(
            ctx.open_number("change/number", &sealed).unwrap_err(),
            SealError::Open
        );
        // Authentic bytes that are not an E.164 number.
        for bytes in [&b"447400123456"[..], b"+44 not a number", &[0xff, 0xfe]] {
            let garbage = SealedNumber {
                masked: number.masked(),
                sealed: ctx.seal_bytes("pending/number", bytes, &mut rng).unwrap(),
            };
            assert_eq!(
                ctx.open_number("pending/number", &garbage).unwrap_err(),
                SealError::InvalidPhoneNumber
            );
        }
    }

    #[test]
    fn a_sealed_challenge_opens_only_as_a_challenge() {
        let (sealer, user, mut rng) = ctx_parts();
        let ctx = SealCtx {
            sealer: &sealer,
            user: &user,
        };
        for bytes in [&b"{}"[..], b"null", b"\"+447400123456\"", &[0xff]] {
            let garbage = ctx.seal_bytes("login/challenge", bytes, &mut rng).unwrap();
            assert_eq!(
                ctx.open_challenge("login/challenge", &garbage).unwrap_err(),
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
