//! The check of a typed one-time code, shared by set-up verification and
//! login: a TOTP code against its secret, or a sent code against its
//! out-of-band challenge.

use chrono::{DateTime, Utc};
use twofa_delivery::{AuditReason, OobChallenge};
use twofa_otp::{Algorithm, CodeRejected, Secret, Totp};
use twofa_types::OneTimeCode;

use super::unix_seconds;
use crate::error::EnrollmentError;
use crate::policy::Context;

/// What a typed code is checked against.
pub(super) enum CodeSource<'a> {
    /// A TOTP secret and the last step it accepted, if any.
    Totp {
        secret: &'a Secret,
        last_step: Option<u64>,
    },
    /// A code sent by SMS, voice or email.
    Challenge(&'a OobChallenge),
}

/// The verdict on a well-formed code checked in time.
pub(super) enum CodeCheck {
    /// The code matched: the TOTP step to burn, or the challenge now
    /// marked used.
    Accepted {
        step: Option<u64>,
        challenge: Option<OobChallenge>,
    },
    /// The code did not match: the challenge with the wrong attempt
    /// counted (none for TOTP). `replayed` when it matched only a TOTP
    /// step already used: counted like any wrong code, reported apart.
    Wrong {
        challenge: Option<OobChallenge>,
        replayed: bool,
    },
}

/// Checks `code` against `source` (throttling already checked).
///
/// A malformed code, an expired challenge and a challenge out of attempts
/// are errors: they are refused without counting a failure.
pub(super) fn check_code(
    source: CodeSource<'_>,
    code: &OneTimeCode,
    ctx: &Context<'_>,
    now: DateTime<Utc>,
) -> Result<CodeCheck, EnrollmentError> {
    match source {
        CodeSource::Totp { secret, last_step } => {
            let seconds = unix_seconds(now)?;
            match Totp::new(secret, Algorithm::Sha1).verify(
                code.expose_secret(),
                seconds,
                last_step,
                ctx.policy().totp_window(),
            ) {
                Ok(accepted) => Ok(CodeCheck::Accepted {
                    step: Some(accepted.step),
                    challenge: None,
                }),
                Err(CodeRejected::Malformed(_)) => Err(EnrollmentError::MalformedCode),
                Err(rejected) => Ok(CodeCheck::Wrong {
                    challenge: None,
                    replayed: matches!(rejected, CodeRejected::Replayed),
                }),
            }
        }
        CodeSource::Challenge(challenge) => match challenge.check(
            code.expose_secret(),
            ctx.policy().challenge(),
            ctx.key(),
            now,
        ) {
            Ok(verified) => Ok(CodeCheck::Accepted {
                step: None,
                challenge: Some(verified.into_record()),
            }),
            Err(rejected) => match rejected.audit_reason() {
                AuditReason::Malformed => Err(EnrollmentError::MalformedCode),
                AuditReason::Expired { expired_at } => {
                    Err(EnrollmentError::PendingExpired { expired_at })
                }
                AuditReason::WrongCode { .. } => Ok(CodeCheck::Wrong {
                    challenge: Some(rejected.into_record()),
                    replayed: false,
                }),
                AuditReason::AlreadyUsed => Err(EnrollmentError::ReplayedCode),
                _ => Err(EnrollmentError::TooManyWrongCodes),
            },
        },
    }
}
