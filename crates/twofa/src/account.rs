//! The user's own settings: the name and the phone number used for 2FA.
//!
//! These run on the account settings page of a user who is logged in; a
//! change of number needs a recent second factor (the enrollment policy's
//! step-up freshness, 10 minutes by default) and takes effect only once a
//! code sent to the new number comes back. A new set of recovery codes
//! needs the same recent second factor and replaces the whole old set.

use chrono::{DateTime, Utc};
use twofa_delivery::SendKind;
use twofa_enrollment::{
    DisplayName, Effect, EnrollmentState, Event, Factor, RecoveryCodeSheet, Transition,
};
use twofa_types::{OneTimeCode, UserId};

use crate::audit::{AuditEvent, RejectionDetail};
use crate::failure::Failure;
use crate::grant::CredentialChange;
use crate::login::{Answer, counted_refusal, progress};
use crate::service::Twofa;
use crate::steps::{PhoneChoice, Rejected, RetryAdvice, SetUpProgress};
use crate::update::Change;

impl Twofa {
    /// Changes the name shown for the user in authenticator apps set up
    /// from now on, in notifications and in reports of the enrollment.
    ///
    /// # Errors
    ///
    /// [`Rejected`] with [`RetryAdvice::CheckInput`] for an empty or
    /// over-long name or one with control characters; on store failure.
    pub async fn change_display_name(&self, user: &UserId, name: &str) -> Result<(), Rejected> {
        crate::observe::operation("change_display_name", Some(user), async {
            let now = self.clock.now();
            let result = async {
                let name = DisplayName::new(name).map_err(|_| {
                    Failure::new(RejectionDetail::InvalidDestination, RetryAdvice::CheckInput)
                })?;
                let record = self.load_user(user).await?.record;
                let company = self.load_company(record.company()).await?.record;
                self.update_enrollment(user, &company, now, |e, ctx, rng| {
                    Change::from(e.apply(Event::ChangeDisplayName(name.clone()), ctx, now, rng))
                })
                .await
                .map(|_| ())
            }
            .await;
            self.settle(user, now, result).await
        })
        .await
    }

    /// Starts replacing the number of the user's phone method: a code goes
    /// to the new number (or the not-a-mobile dialog comes back). The old
    /// number keeps working until [`Twofa::confirm_phone_change`].
    ///
    /// # Errors
    ///
    /// [`Rejected`]: no phone method, no second factor in the last minutes
    /// ([`RetryAdvice::ReauthenticationRequired`]), an invalid number, a
    /// failed send (nothing is saved), a store failure.
    pub async fn start_phone_change(
        &self,
        user: &UserId,
        phone: PhoneChoice,
    ) -> Result<SetUpProgress, Rejected> {
        crate::observe::operation("start_phone_change", Some(user), async {
            let now = self.clock.now();
            let result = async {
                let record = self.load_user(user).await?.record;
                let company = self.load_company(record.company()).await?.record;
                let enrollment = self.open(&record)?;
                let method = match enrollment.state() {
                    EnrollmentState::Enrolled(enrolled) => enrolled
                        .methods()
                        .iter()
                        .find(|m| matches!(m.factor(), Factor::Phone(_)))
                        .map(|m| m.id()),
                    _ => None,
                }
                .ok_or(Failure::start_over(RejectionDetail::MethodNotAvailable))?;
                let for_change = (user, &company, SendKind::NumberChangeCode, now);
                let setup = self.phone_setup(&phone, for_change).await?;
                let updated = self
                    .update_enrollment(user, &company, now, |e, ctx, rng| {
                        let event = Event::StartNumberChange {
                            method,
                            phone: setup.clone(),
                        };
                        Change::from(e.apply(event, ctx, now, rng))
                    })
                    .await?;
                progress(updated)
            }
            .await;
            self.settle(user, now, result).await
        })
        .await
    }

    /// Replaces the user's recovery codes with a new set of ten: every
    /// code of the old set, used or not, stops working. The new codes
    /// come back once, in the sheet; only their hashes are kept.
    ///
    /// # Errors
    ///
    /// [`Rejected`]: no method set up, no second factor in the last
    /// minutes ([`RetryAdvice::ReauthenticationRequired`]), or a store
    /// failure. Nothing is changed.
    ///
    /// # Security
    ///
    /// Show the sheet once (a page that is not cached) and do not keep it.
    pub async fn regenerate_recovery_codes(
        &self,
        user: &UserId,
    ) -> Result<RecoveryCodeSheet, Rejected> {
        crate::observe::operation("regenerate_recovery_codes", Some(user), async {
            let now = self.clock.now();
            let result = async {
                let record = self.load_user(user).await?.record;
                let company = self.load_company(record.company()).await?.record;
                let updated = self
                    .update_enrollment(user, &company, now, |e, ctx, rng| {
                        Change::from(e.apply(Event::RegenerateRecoveryCodes, ctx, now, rng))
                    })
                    .await?;
                updated
                    .effects
                    .into_iter()
                    .find_map(|effect| match effect {
                        Effect::ShowRecoveryCodes(sheet) => Some(sheet),
                        _ => None,
                    })
                    .ok_or(Failure::start_over(RejectionDetail::InconsistentRecord))
            }
            .await;
            self.settle(user, now, result).await
        })
        .await
    }

    /// The code sent to the new number came back: the new number replaces
    /// the old one, and the user's trusted-network grant ends (the next
    /// login from a trusted network is prompted, as after any change of a
    /// factor).
    ///
    /// # Errors
    ///
    /// [`Rejected`] for a wrong (counted) or expired code, no change in
    /// progress, or a store failure.
    pub async fn confirm_phone_change(&self, user: &UserId, code: &str) -> Result<(), Rejected> {
        crate::observe::operation("confirm_phone_change", Some(user), async {
            let now = self.clock.now();
            let result = self.confirm_pending(user, code, now).await;
            self.settle(user, now, result).await
        })
        .await
    }

    /// Submits the code of a pending change (a number change or a method
    /// being added); a wrong code is counted and refused.
    /// The pending change (a method being added, a new number) answered
    /// with a typed code.
    pub(crate) async fn confirm_pending(
        &self,
        user: &UserId,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Failure> {
        let submitted = OneTimeCode::parse(code).map_err(|_| {
            Failure::new(RejectionDetail::MalformedCode, RetryAdvice::IncorrectCode)
        })?;
        self.confirm_pending_with(user, Answer::Code(submitted), now)
            .await
    }

    /// The pending change answered: a wrong code or a refused passkey is
    /// counted and refused, a right one activates the change.
    pub(crate) async fn confirm_pending_with(
        &self,
        user: &UserId,
        answer: Answer,
        now: DateTime<Utc>,
    ) -> Result<(), Failure> {
        let record = self.load_user(user).await?.record;
        let company = self.load_company(record.company()).await?.record;
        self.update_enrollment(user, &company, now, |e, ctx, rng| {
            match e.apply(answer.setup_event(), ctx, now, rng) {
                Ok(Transition::Save(outcome)) => match counted_refusal(outcome.effects()) {
                    Some(failure) => Change::Refuse(Some(outcome), failure),
                    None => Change::Save(outcome),
                },
                other => Change::from(other),
            }
        })
        .await
        .map(|_| ())
    }

    /// The application changed the user's password (a reset, or the user's
    /// own change): the user's trusted-network grant ends, so the next
    /// login from a trusted network asks for the second factor too, and the
    /// audit log records it.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for an unknown user or a store failure.
    pub async fn password_changed(&self, user: &UserId) -> Result<(), Rejected> {
        crate::observe::operation("password_changed", Some(user), async {
            let now = self.clock.now();
            let result = async {
                let record = self.load_user(user).await?.record;
                self.credentials_changed(user, CredentialChange::Password, now)
                    .await?;
                self.audit_required(
                    now,
                    Some(record.company()),
                    Some(user),
                    AuditEvent::PasswordChanged,
                )
                .await
            }
            .await;
            self.settle(user, now, result).await
        })
        .await
    }

    pub(crate) async fn settle<T>(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        result: Result<T, Failure>,
    ) -> Result<T, Rejected> {
        match result {
            Ok(value) => Ok(value),
            Err(failure) => Err(self.reject(now, Some(user), failure).await),
        }
    }
}
