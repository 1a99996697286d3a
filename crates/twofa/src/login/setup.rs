//! The set-up screen and its neighbours: choosing a method, reading a phone
//! number, re-sending a code, "remind me later", and moving a challenged
//! login on to set-up.

use chrono::{DateTime, Utc};
use twofa_delivery::{PhoneNumber, ResendOption, ResendPlan, SendKind, classify_offline, resolve};
use twofa_enforcement::{GateDecision, gate};
use twofa_enrollment::{
    EnrollmentState, Event, NotMobileAnswer, PhoneSetup, SetupChoice, Transition,
};
use twofa_types::{Channel, Method, MethodSet, UserId};

use super::{method_kind, progress, transaction};
use crate::audit::{AllowedBy, AuditEvent, RejectionDetail};
use crate::failure::{Failure, enrollment_failure};
use crate::join::join;
use crate::records::{CompanyRecord, LoginStage, LoginTicket};
use crate::service::Twofa;
use crate::steps::{
    Allowed, MethodChoice, PhoneChoice, Rejected, Resent, RetryAdvice, SetUpProgress,
};
use crate::store::SaveError;
use crate::update::Change;

impl Twofa {
    /// The user chose a method on the set-up screen.
    ///
    /// For an app, returns the key URI to show as a QR code; for a phone,
    /// sends the first code (or returns the not-a-mobile dialog, after
    /// which the user picks the app or answers it with
    /// [`PhoneChoice::with_answer`](crate::PhoneChoice::with_answer)).
    ///
    /// # Errors
    ///
    /// [`Rejected`]: the ticket is not usable, the method is not offered,
    /// the number is not valid ([`RetryAdvice::CheckInput`]), the send
    /// failed (nothing is saved then), or a store failed.
    pub async fn choose_method(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        choice: MethodChoice,
    ) -> Result<SetUpProgress, Rejected> {
        crate::observe::operation("choose_method", Some(user), async {
            let now = self.clock.now();
            self.answer(
                user,
                now,
                self.choose_method_inner(user, ticket, choice, now),
            )
            .await
        })
        .await
    }

    async fn choose_method_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        choice: MethodChoice,
        now: DateTime<Utc>,
    ) -> Result<SetUpProgress, Failure> {
        let pending = self.load_ticket_for(user, ticket, now).await?.record;
        let LoginStage::SetUp { methods, .. } = *pending.stage() else {
            return Err(Failure::start_over(RejectionDetail::WrongStage));
        };
        let (company, record) =
            join(self.load_company(pending.company()), self.load_user(user)).await;
        let (company, record) = (company?.record, record?.record);
        let allowed = methods.intersection(self.user_policy(&company, &record).allowed_methods());
        let for_setup = (user, &company, SendKind::SetUpCode, now);
        let setup = self.setup_choice(choice, allowed, for_setup).await?;
        let updated = self
            .update_enrollment(user, &company, now, |e, ctx, rng| {
                Change::from(e.apply(Event::StartSetup(setup.clone()), ctx, now, rng))
            })
            .await?;
        progress(updated)
    }

    /// The user's choice as the enrollment takes it, if its kind is among
    /// `allowed` (a phone number is parsed, checked against the geo
    /// permissions for `for_setup` and classified here).
    pub(crate) async fn setup_choice(
        &self,
        choice: MethodChoice,
        allowed: MethodSet,
        for_setup: (&UserId, &CompanyRecord, SendKind, DateTime<Utc>),
    ) -> Result<SetupChoice, Failure> {
        let not_offered =
            Failure::new(RejectionDetail::MethodNotAvailable, RetryAdvice::CheckInput);
        Ok(match choice {
            MethodChoice::AuthenticatorApp if allowed.contains(Method::AuthenticatorApp) => {
                SetupChoice::App
            }
            MethodChoice::PushApp if allowed.contains(Method::PushApp) => SetupChoice::Push,
            MethodChoice::Passkey(name) if allowed.contains(Method::Passkey) => {
                SetupChoice::Passkey(name)
            }
            MethodChoice::Phone(phone) => {
                // "Call me instead" in the dialog turns the choice into a
                // voice method.
                let kind = match phone.answer {
                    NotMobileAnswer::ContinueWithVoice => Method::VoiceCall,
                    _ => phone.channel.kind(),
                };
                if !allowed.contains(kind) {
                    return Err(not_offered);
                }
                SetupChoice::Phone(self.phone_setup(&phone, for_setup).await?)
            }
            _ => return Err(not_offered),
        })
    }

    /// Parses a phone number typed by the user, refuses it if its country
    /// code may not be sent to (for `user` of `company`, as a `kind` code),
    /// and classifies it.
    pub(crate) async fn phone_setup(
        &self,
        phone: &PhoneChoice,
        (user, company, kind, now): (&UserId, &CompanyRecord, SendKind, DateTime<Utc>),
    ) -> Result<PhoneSetup, Failure> {
        let bad_number = Failure::new(RejectionDetail::InvalidDestination, RetryAdvice::CheckInput);
        let number = match &self.region {
            Some(region) => PhoneNumber::parse(&phone.number, *region),
            None => PhoneNumber::from_e164(&phone.number),
        }
        .map_err(|_| bad_number)?;
        let channel = match phone.channel.kind() {
            Method::VoiceCall => Channel::VoiceCall,
            _ => Channel::Sms,
        };
        self.check_country(&number, (kind, channel), company, user, now)
            .await?;
        let line_type = match &self.carrier {
            // The lookup is the I/O; delivery resolves its answer against
            // the number's metadata.
            Some(lookup) => resolve(classify_offline(&number), lookup.line_type(&number).await),
            None => classify_offline(&number),
        };
        Ok(PhoneSetup::new(number, line_type, phone.channel).with_answer(phone.answer))
    }

    /// The user pressed a re-send button: SMS, phone call or email get a
    /// fresh code (the old one stops working); for an app, nothing is
    /// sent and the user reads the next code from the device.
    ///
    /// # Errors
    ///
    /// [`Rejected`] during the cooldown or past the send cap
    /// ([`RetryAdvice::TryLater`]), for an option that does not apply, an
    /// unusable ticket, a failed send (nothing is saved) or a store
    /// failure.
    pub async fn resend(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        option: ResendOption,
    ) -> Result<Resent, Rejected> {
        crate::observe::operation("resend", Some(user), async {
            let now = self.clock.now();
            self.answer(user, now, self.resend_inner(user, ticket, option, now))
                .await
        })
        .await
    }

    async fn resend_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        option: ResendOption,
        now: DateTime<Utc>,
    ) -> Result<Resent, Failure> {
        let pending = self.load_ticket_for(user, ticket, now).await?.record;
        let company = self.load_company(pending.company()).await?.record;
        let updated = match pending.stage() {
            LoginStage::SetUp { .. } => {
                self.update_enrollment(user, &company, now, |e, ctx, rng| {
                    Change::from(e.apply(Event::Resend(option), ctx, now, rng))
                })
                .await?
            }
            LoginStage::Challenge { method, .. } => {
                let method = *method;
                let record = self.load_user(user).await?.record;
                let kind = method_kind(&self.open(&record)?, method)
                    .ok_or(Failure::start_over(RejectionDetail::InconsistentRecord))?;
                let refused = Failure::new(RejectionDetail::ResendRefused, RetryAdvice::StartOver);
                if !Self::resend_options(&company, &record, kind).contains(&option) {
                    return Err(refused);
                }
                let channel = match option.plan() {
                    ResendPlan::ReadYourDevice => return Ok(Resent::ReadYourDevice),
                    ResendPlan::FreshCode(channel) => channel,
                };
                let transaction = transaction(ticket)?;
                self.update_enrollment(user, &company, now, |e, ctx, rng| {
                    let event = Event::SendLoginCode {
                        method,
                        channel: Some(channel),
                        transaction: transaction.clone(),
                    };
                    Change::from(e.apply(event, ctx, now, rng))
                })
                .await?
            }
            _ => return Err(Failure::start_over(RejectionDetail::WrongStage)),
        };
        match updated.sent {
            Some(sent) => Ok(Resent::CodeSent(sent)),
            None => Ok(Resent::ReadYourDevice),
        }
    }

    /// The user chose "remind me in 48 hours" on the set-up screen.
    ///
    /// # Errors
    ///
    /// [`Rejected`] when the option was not offered, is no longer
    /// available (the company enforced 2FA since the screen was shown, or
    /// the cap was reached), for an unusable ticket or a store failure.
    pub async fn defer(&self, user: &UserId, ticket: &LoginTicket) -> Result<Allowed, Rejected> {
        crate::observe::operation("defer", Some(user), async {
            let now = self.clock.now();
            self.answer(user, now, self.defer_inner(user, ticket, now))
                .await
        })
        .await
    }

    async fn defer_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        now: DateTime<Utc>,
    ) -> Result<Allowed, Failure> {
        let pending = self.load_ticket_for(user, ticket, now).await?.record;
        // The deadline is the one the screen showed, fixed by the gate when
        // it was first shown: a later click does not move it.
        let LoginStage::SetUp {
            deferral_until: Some(until),
            ..
        } = *pending.stage()
        else {
            return Err(Failure::start_over(RejectionDetail::WrongStage));
        };
        // The company may have enforced 2FA since the screen was shown:
        // the gate is asked again whether a deferral may still be taken.
        let company = self.load_company(pending.company()).await?.record;
        let updated = self
            .update_enrollment(user, &company, now, |e, ctx, rng| {
                let status = e.status(now);
                if !matches!(
                    gate(&status, company.settings(), company.policy(), now),
                    GateDecision::OfferSetup { .. }
                ) {
                    return Change::Refuse(None, Failure::start_over(RejectionDetail::WrongStage));
                }
                match e.apply(Event::Defer { until }, ctx, now, rng) {
                    Ok(Transition::Save(outcome)) => Change::Save(outcome),
                    Ok(_) => Change::Refuse(
                        None,
                        Failure::start_over(RejectionDetail::InconsistentRecord),
                    ),
                    Err(error) => Change::Refuse(None, enrollment_failure(error)),
                }
            })
            .await?;
        let EnrollmentState::Deferred { until } = *updated.record.state() else {
            return Err(Failure::start_over(RejectionDetail::InconsistentRecord));
        };
        self.audit_best_effort(
            now,
            pending.company(),
            user,
            AuditEvent::SetupDeferred { until },
        )
        .await;
        let by = self
            .finish_login(&pending, ticket, AllowedBy::Deferred { until }, now)
            .await?;
        Ok(Allowed {
            by,
            recovery_codes: None,
        })
    }

    /// Moves a login from its challenge to the set-up of a method the
    /// company allows (compare-and-swap).
    pub(super) async fn move_to_set_up(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        methods: MethodSet,
        now: DateTime<Utc>,
    ) -> Result<(), Failure> {
        for _ in 0..self.max_store_attempts {
            let loaded = self.load_ticket_for(user, ticket, now).await?;
            if !matches!(loaded.record.stage(), LoginStage::Challenge { .. }) {
                return Err(Failure::start_over(RejectionDetail::WrongStage));
            }
            let next = loaded.record.with_stage(LoginStage::SetUp {
                methods,
                deferral_until: None,
            });
            match self
                .stores
                .pending_logins
                .save(ticket, next, Some(loaded.version))
                .await
            {
                Ok(_) => return Ok(()),
                Err(SaveError::Conflict) => crate::observe::conflict(),
                Err(SaveError::Store(error)) => return Err(error.into()),
            }
        }
        Err(Failure::start_over(RejectionDetail::StoreContention))
    }
}
