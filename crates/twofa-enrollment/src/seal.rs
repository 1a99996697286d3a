//! Sealing of secret fields for storage (issue item 9).
//!
//! A record's serialised form never contains a raw secret: every TOTP
//! secret is encrypted with an AEAD under a key the application holds,
//! with the user id and the field's name as associated data, so a
//! ciphertext moved to another user or another field fails to open.

use core::fmt;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use rand_core::CryptoRng;
use twofa_delivery::{
    EmailAddress, LineType, OobChallenge, PhoneNumber, PushRequest, PushSendLog, UserId,
};
use twofa_otp::Secret;
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
    /// Encryption failed (input too long for the AEAD).
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

/// A sealed secret: `nonce ‖ ciphertext ‖ tag` (hex in serde).
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct SealedBytes(#[cfg_attr(feature = "serde", serde(with = "crate::hex::bytes"))] Vec<u8>);

impl fmt::Debug for SealedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedBytes({} bytes)", self.0.len())
    }
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
        number: PhoneNumber,
        channel: PhoneChannel,
        line_type: LineType,
        challenge: OobChallenge,
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
        number: PhoneNumber,
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
    login_challenge: Option<OobChallenge>,
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

/// An [`Enrollment`] with every secret sealed: the form to store.
///
/// Serialisable with serde (feature `serde`). Phone numbers, email and
/// the out-of-band challenge (which holds only a keyed hash of its code)
/// stay readable so that a store can index and display them; recovery
/// codes are stored as keyed hashes.
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
    fn seal(
        &self,
        field: &str,
        secret: &Secret,
        rng: &mut dyn CryptoRng,
    ) -> Result<SealedBytes, SealError> {
        self.sealer
            .seal(
                &associated_data(self.user, field),
                secret.expose_secret(),
                rng,
            )
            .map(SealedBytes)
    }

    fn open(&self, field: &str, sealed: &SealedBytes) -> Result<Secret, SealError> {
        let bytes = self
            .sealer
            .open(&associated_data(self.user, field), &sealed.0)?;
        Secret::from_bytes(&bytes).map_err(|_| SealError::InvalidSecret)
    }

    fn seal_pending(
        &self,
        field: &str,
        pending: &PendingSetup,
        rng: &mut dyn CryptoRng,
    ) -> Result<SealedPending, SealError> {
        let kind = match &pending.kind {
            PendingKind::App { secret } => SealedPendingKind::App {
                secret: self.seal(field, secret, rng)?,
            },
            PendingKind::Push { secret, request } => SealedPendingKind::Push {
                secret: self.seal(field, secret, rng)?,
                request: request.clone(),
            },
            PendingKind::Phone {
                number,
                channel,
                line_type,
                challenge,
            } => SealedPendingKind::Phone {
                number: number.clone(),
                channel: *channel,
                line_type: *line_type,
                challenge: challenge.clone(),
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
        field: &str,
        pending: &SealedPending,
    ) -> Result<PendingSetup, SealError> {
        let kind = match &pending.kind {
            SealedPendingKind::App { secret } => PendingKind::App {
                secret: self.open(field, secret)?,
            },
            SealedPendingKind::Push { secret, request } => PendingKind::Push {
                secret: self.open(field, secret)?,
                request: request.clone(),
            },
            SealedPendingKind::Phone {
                number,
                channel,
                line_type,
                challenge,
            } => PendingKind::Phone {
                number: number.clone(),
                channel: *channel,
                line_type: *line_type,
                challenge: challenge.clone(),
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

fn method_field(id: MethodId) -> String {
    format!("method/{id}/secret")
}

const PENDING_FIELD: &str = "pending/secret";
const CHANGE_FIELD: &str = "change/secret";

impl Enrollment {
    /// The record with every secret sealed, ready to serialise.
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
                SealedState::Pending(ctx.seal_pending(PENDING_FIELD, pending, rng)?)
            }
            EnrollmentState::Enrolled(enrolled) => {
                let mut methods = Vec::with_capacity(enrolled.methods.len());
                for method in &enrolled.methods {
                    let field = method_field(method.id);
                    let factor = match &method.factor {
                        Factor::App(totp) => SealedFactor::App {
                            secret: ctx.seal(&field, &totp.secret, rng)?,
                            last_step: totp.last_step,
                        },
                        Factor::Push(totp) => SealedFactor::Push {
                            secret: ctx.seal(&field, &totp.secret, rng)?,
                            last_step: totp.last_step,
                        },
                        Factor::Phone(phone) => SealedFactor::Phone {
                            number: phone.number.clone(),
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
                    Some(change) => Some(ctx.seal_pending(CHANGE_FIELD, change, rng)?),
                    None => None,
                };
                SealedState::Enrolled(SealedEnrolled {
                    methods,
                    primary: enrolled.primary,
                    enrolled_at: enrolled.enrolled_at,
                    recovery: enrolled.recovery.clone(),
                    change,
                    next_id: enrolled.next_id,
                    login_challenge: enrolled.login_challenge.clone(),
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
    /// [`SealError::InvalidSecret`], [`SealError::Malformed`], or
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
                EnrollmentState::Pending(ctx.open_pending(PENDING_FIELD, pending)?)
            }
            SealedState::Enrolled(enrolled) => {
                let mut methods = Vec::with_capacity(enrolled.methods.len());
                for method in &enrolled.methods {
                    let field = method_field(method.id);
                    let factor = match &method.factor {
                        SealedFactor::App { secret, last_step } => Factor::App(TotpFactor {
                            secret: ctx.open(&field, secret)?,
                            last_step: *last_step,
                        }),
                        SealedFactor::Push { secret, last_step } => Factor::Push(TotpFactor {
                            secret: ctx.open(&field, secret)?,
                            last_step: *last_step,
                        }),
                        SealedFactor::Phone { number, channel } => Factor::Phone(PhoneFactor {
                            number: number.clone(),
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
                    Some(change) => Some(ctx.open_pending(CHANGE_FIELD, change)?),
                    None => None,
                };
                EnrollmentState::Enrolled(Enrolled {
                    methods,
                    primary: enrolled.primary,
                    enrolled_at: enrolled.enrolled_at,
                    recovery: enrolled.recovery.clone(),
                    change,
                    next_id: enrolled.next_id,
                    login_challenge: enrolled.login_challenge.clone(),
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
