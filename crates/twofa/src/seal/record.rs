//! The stored form of an enrollment: a mirror of every enrollment type
//! with its secrets and phone numbers sealed, and the two conversions,
//! [`SealedEnrollment::seal`] and [`SealedEnrollment::open`].
//!
//! The mirror types and their field and variant names are the serialised
//! format of stored records: renaming one changes what a store reads.

use chrono::{DateTime, Utc};
use rand::CryptoRng;
use twofa_delivery::{EmailAddress, LineType, PushRequest, PushSendLog, TransactionId};
use twofa_enrollment::{
    DisplayName, Enrolled, EnrolledMethod, Enrollment, EnrollmentState, Factor, Failures, MethodId,
    PasskeyFactor, PasskeyLogin, PendingKind, PendingSetup, PhoneChannel, PhoneFactor,
    RecoveryCodes, TotpFactor,
};
use twofa_passkey::CredentialName;
use twofa_types::UserId;

use super::field::{
    CHANGE_FIELDS, FieldSealer, LOGIN_CHALLENGE_FIELD, LOGIN_PASSKEY_FIELD, PENDING_FIELDS,
    PendingFields, SealedBytes, SealedNumber, method_number_field, method_passkey_field,
    method_secret_field,
};
use super::{SealError, Sealer};

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
    Passkey {
        name: CredentialName,
        /// The registration ceremony's state (its challenge).
        registration: SealedBytes,
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
    Passkey {
        /// The name the user gave it, readable for the settings page.
        name: CredentialName,
        /// The whole credential: its id, public key, counter and flags.
        credential: SealedBytes,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct SealedPasskeyLogin {
    transaction: TransactionId,
    /// The authentication ceremony's state (its challenge).
    state: SealedBytes,
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
    /// Absent in records written before passkeys.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    passkey_login: Option<SealedPasskeyLogin>,
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
/// numbers (`method/<id>/number`, `pending/number`, `change/number`),
/// out-of-band challenges (`pending/challenge`, `change/challenge`,
/// `login/challenge`), which hold a keyed hash of the code and the full
/// number or email address it went to, passkey credentials
/// (`method/<id>/passkey`: id, public key, counter) and passkey ceremony
/// states (`pending/passkey`, `change/passkey`, `login/passkey`). Recovery codes are stored as keyed
/// hashes. Readable: the user id, display name and email address, each
/// phone number's masked form ([`PhoneNumber::masked`]), method ids,
/// kinds and channels, line types, times and counters, passkey names, and
/// push prompts (transaction id and the match number shown on the login
/// page).
///
/// [`PhoneNumber::masked`]: twofa_delivery::PhoneNumber::masked
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

impl SealedEnrollment {
    /// The record with every secret and phone number sealed, ready to
    /// serialise (see [`SealedEnrollment`] for what stays readable).
    ///
    /// # Errors
    ///
    /// [`SealError::Seal`] when the sealer fails, or when the record holds
    /// a kind of state, method or verification with no sealed form here.
    pub fn seal(
        record: &Enrollment,
        sealer: &dyn Sealer,
        rng: &mut impl CryptoRng,
    ) -> Result<Self, SealError> {
        let fields = FieldSealer {
            sealer,
            user: record.user(),
        };
        let state = match record.state() {
            EnrollmentState::NotEnrolled => SealedState::NotEnrolled,
            EnrollmentState::Deferred { until } => SealedState::Deferred { until: *until },
            EnrollmentState::Pending(pending) => {
                SealedState::Pending(seal_pending(&fields, PENDING_FIELDS, pending, rng)?)
            }
            EnrollmentState::Enrolled(enrolled) => {
                SealedState::Enrolled(seal_enrolled(&fields, enrolled, rng)?)
            }
            // The enrollment's enums may grow: a state without a sealed
            // form here fails rather than being stored unsealed.
            _ => return Err(SealError::Seal),
        };
        Ok(Self {
            user: record.user().clone(),
            display_name: record.display_name().clone(),
            email: record.email().cloned(),
            state,
            deferrals_used: record.deferrals_used(),
            failures: *record.failures(),
            last_second_factor_at: record.last_second_factor_at(),
            push_log: record.push_log().clone(),
        })
    }

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
        let fields = FieldSealer {
            sealer,
            user: &self.user,
        };
        let state = match &self.state {
            SealedState::NotEnrolled => EnrollmentState::NotEnrolled,
            SealedState::Deferred { until } => EnrollmentState::Deferred { until: *until },
            SealedState::Pending(pending) => {
                EnrollmentState::Pending(open_pending(&fields, PENDING_FIELDS, pending)?)
            }
            SealedState::Enrolled(enrolled) => {
                EnrollmentState::Enrolled(open_enrolled(&fields, enrolled)?)
            }
        };
        let record = Enrollment::restore(
            self.user.clone(),
            self.display_name.clone(),
            state,
            self.deferrals_used,
            self.failures,
            self.last_second_factor_at,
            self.push_log.clone(),
        );
        Ok(match &self.email {
            Some(email) => record.with_email(email.clone()),
            None => record,
        })
    }
}

fn seal_enrolled(
    fields: &FieldSealer<'_>,
    enrolled: &Enrolled,
    rng: &mut dyn CryptoRng,
) -> Result<SealedEnrolled, SealError> {
    let mut methods = Vec::with_capacity(enrolled.methods().len());
    for method in enrolled.methods() {
        let factor = match method.factor() {
            Factor::App(totp) => SealedFactor::App {
                secret: fields.seal_secret(
                    &method_secret_field(method.id()),
                    totp.expose_secret(),
                    rng,
                )?,
                last_step: totp.last_step(),
            },
            Factor::Push(totp) => SealedFactor::Push {
                secret: fields.seal_secret(
                    &method_secret_field(method.id()),
                    totp.expose_secret(),
                    rng,
                )?,
                last_step: totp.last_step(),
            },
            Factor::Phone(phone) => SealedFactor::Phone {
                number: fields.seal_number(
                    &method_number_field(method.id()),
                    phone.number(),
                    rng,
                )?,
                channel: phone.channel(),
            },
            Factor::Passkey(passkey) => SealedFactor::Passkey {
                name: passkey.name().clone(),
                credential: fields.seal_passkey(
                    &method_passkey_field(method.id()),
                    passkey.credential(),
                    rng,
                )?,
            },
            // A method without a sealed form here fails rather than being
            // stored unsealed.
            _ => return Err(SealError::Seal),
        };
        methods.push(SealedMethod {
            id: method.id(),
            factor,
            enrolled_at: method.enrolled_at(),
            last_used_at: method.last_used_at(),
        });
    }
    let change = match enrolled.pending_change() {
        Some(change) => Some(seal_pending(fields, CHANGE_FIELDS, change, rng)?),
        None => None,
    };
    let login_challenge = match enrolled.login_challenge() {
        Some(challenge) => Some(fields.seal_challenge(LOGIN_CHALLENGE_FIELD, challenge, rng)?),
        None => None,
    };
    let passkey_login = match enrolled.passkey_login() {
        Some(login) => Some(SealedPasskeyLogin {
            transaction: login.transaction().clone(),
            state: fields.seal_passkey(LOGIN_PASSKEY_FIELD, login.state(), rng)?,
        }),
        None => None,
    };
    Ok(SealedEnrolled {
        methods,
        primary: enrolled.primary(),
        enrolled_at: enrolled.enrolled_at(),
        recovery: enrolled.recovery_codes().clone(),
        change,
        next_id: enrolled.next_id(),
        login_challenge,
        push_request: enrolled.push_request().cloned(),
        passkey_login,
    })
}

fn open_enrolled(
    fields: &FieldSealer<'_>,
    enrolled: &SealedEnrolled,
) -> Result<Enrolled, SealError> {
    let mut methods = Vec::with_capacity(enrolled.methods.len());
    for method in &enrolled.methods {
        let factor = match &method.factor {
            SealedFactor::App { secret, last_step } => Factor::App(TotpFactor::restore(
                fields.open_secret(&method_secret_field(method.id), secret)?,
                *last_step,
            )),
            SealedFactor::Push { secret, last_step } => Factor::Push(TotpFactor::restore(
                fields.open_secret(&method_secret_field(method.id), secret)?,
                *last_step,
            )),
            SealedFactor::Phone { number, channel } => Factor::Phone(PhoneFactor::new(
                fields.open_number(&method_number_field(method.id), number)?,
                *channel,
            )),
            SealedFactor::Passkey { credential, .. } => Factor::Passkey(PasskeyFactor::restore(
                fields.open_passkey(&method_passkey_field(method.id), credential)?,
            )),
        };
        methods.push(EnrolledMethod::restore(
            method.id,
            factor,
            method.enrolled_at,
            method.last_used_at,
        ));
    }
    // The methods are checked before the change and the login code are
    // opened: an inconsistent record fails as such, whatever else it holds.
    let mut restored = Enrolled::restore(
        methods,
        enrolled.primary,
        enrolled.enrolled_at,
        enrolled.recovery.clone(),
        enrolled.next_id,
    )
    .map_err(|_| SealError::Inconsistent)?;
    if let Some(change) = &enrolled.change {
        restored = restored.with_pending_change(open_pending(fields, CHANGE_FIELDS, change)?);
    }
    if let Some(sealed) = &enrolled.login_challenge {
        restored =
            restored.with_login_challenge(fields.open_challenge(LOGIN_CHALLENGE_FIELD, sealed)?);
    }
    if let Some(request) = &enrolled.push_request {
        restored = restored.with_push_request(request.clone());
    }
    if let Some(login) = &enrolled.passkey_login {
        restored = restored.with_passkey_login(PasskeyLogin::restore(
            login.transaction.clone(),
            fields.open_passkey(LOGIN_PASSKEY_FIELD, &login.state)?,
        ));
    }
    Ok(restored)
}

fn seal_pending(
    fields: &FieldSealer<'_>,
    names: PendingFields,
    pending: &PendingSetup,
    rng: &mut dyn CryptoRng,
) -> Result<SealedPending, SealError> {
    let kind = match pending.kind() {
        PendingKind::App { secret } => SealedPendingKind::App {
            secret: fields.seal_secret(names.secret, secret, rng)?,
        },
        PendingKind::Push { secret, request } => SealedPendingKind::Push {
            secret: fields.seal_secret(names.secret, secret, rng)?,
            request: request.clone(),
        },
        PendingKind::Phone {
            number,
            channel,
            line_type,
            challenge,
        } => SealedPendingKind::Phone {
            number: fields.seal_number(names.number, number, rng)?,
            channel: *channel,
            line_type: *line_type,
            challenge: fields.seal_challenge(names.challenge, challenge, rng)?,
        },
        PendingKind::Passkey { name, registration } => SealedPendingKind::Passkey {
            name: name.clone(),
            registration: fields.seal_passkey(names.passkey, registration, rng)?,
        },
        // A verification without a sealed form here fails rather than
        // being stored unsealed.
        _ => return Err(SealError::Seal),
    };
    Ok(SealedPending {
        kind,
        started_at: pending.started_at(),
        failed_attempts: pending.failed_attempts(),
        replaces: pending.replaces(),
    })
}

fn open_pending(
    fields: &FieldSealer<'_>,
    names: PendingFields,
    pending: &SealedPending,
) -> Result<PendingSetup, SealError> {
    let kind = match &pending.kind {
        SealedPendingKind::App { secret } => PendingKind::App {
            secret: fields.open_secret(names.secret, secret)?,
        },
        SealedPendingKind::Push { secret, request } => PendingKind::Push {
            secret: fields.open_secret(names.secret, secret)?,
            request: request.clone(),
        },
        SealedPendingKind::Phone {
            number,
            channel,
            line_type,
            challenge,
        } => PendingKind::Phone {
            number: fields.open_number(names.number, number)?,
            channel: *channel,
            line_type: *line_type,
            challenge: fields.open_challenge(names.challenge, challenge)?,
        },
        SealedPendingKind::Passkey { name, registration } => PendingKind::Passkey {
            name: name.clone(),
            registration: fields.open_passkey(names.passkey, registration)?,
        },
    };
    Ok(PendingSetup::restore(
        kind,
        pending.started_at,
        pending.failed_attempts,
        pending.replaces,
    ))
}
