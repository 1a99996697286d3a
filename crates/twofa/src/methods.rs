//! The user's own methods, on the settings page of a user who is logged in:
//! list them, add another one (proved by a code, like the first), remove
//! one, and choose the one a login asks for first.
//!
//! Adding and removing are changes of the user's factors: they need a
//! second factor completed within the step-up window (10 minutes by
//! default), notify the user's other contacts, end the trusted-network
//! grant and are audited, like every other change of a factor.

use chrono::{DateTime, Utc};
use twofa_delivery::SendKind;
use twofa_enforcement::{RemovalRefused, may_remove_leaving};
use twofa_enrollment::{EnrollmentState, Event, Factor, MethodId, PasskeyResponse};
use twofa_types::{Method, MethodSet, UserId};

use crate::audit::RejectionDetail;
use crate::failure::Failure;
use crate::login::{Answer, progress};
use crate::service::Twofa;
use crate::steps::{MethodChoice, Rejected, RetryAdvice, SetUpProgress};
use crate::update::Change;

/// One of the user's methods, as a settings page lists it (the
/// enrollment's `MethodSummary` is the policy crates' view).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserMethod {
    /// Pass it to [`Twofa::remove_method`] or
    /// [`Twofa::set_primary_method`].
    pub id: MethodId,
    /// Its kind.
    pub kind: Method,
    /// The masked number of a phone method (`+44 ••• ••• 3456`).
    pub masked_number: Option<String>,
    /// The name of a passkey ("Work laptop").
    pub name: Option<String>,
    /// Whether a login asks for this method first.
    pub primary: bool,
    /// When it was set up.
    pub enrolled_at: DateTime<Utc>,
    /// When it last answered a login, if ever.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What the settings page shows of the user's methods.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MethodsOverview {
    /// The methods set up, the primary one first.
    pub methods: Vec<UserMethod>,
    /// The kinds the company allows that could be added now.
    pub may_add: MethodSet,
    /// A method being added (or a number being changed) that waits for its
    /// code.
    pub pending: Option<Method>,
}

/// Both of the company's rules keep a method its policy requires.
fn method_required(_: RemovalRefused) -> Failure {
    Failure::new(RejectionDetail::MethodRequired, RetryAdvice::CheckInput)
}

impl Twofa {
    /// The user's methods, for the settings page.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for an unknown user or a store or sealing failure.
    pub async fn methods(&self, user: &UserId) -> Result<MethodsOverview, Rejected> {
        crate::observe::operation("methods", Some(user), async {
            let now = self.clock.now();
            let result = async {
                let record = self.load_user(user).await?.record;
                let company = self.load_company(record.company()).await?.record;
                let enrollment = self.open(&record)?;
                let EnrollmentState::Enrolled(enrolled) = enrollment.state() else {
                    return Ok(MethodsOverview {
                        methods: Vec::new(),
                        may_add: MethodSet::empty(),
                        pending: None,
                    });
                };
                let primary = enrolled.primary();
                let mut methods: Vec<UserMethod> = enrolled
                    .methods()
                    .iter()
                    .map(|m| UserMethod {
                        id: m.id(),
                        kind: m.kind(),
                        masked_number: match m.factor() {
                            Factor::Phone(phone) => Some(phone.number().masked()),
                            _ => None,
                        },
                        name: m.factor().passkey().map(|p| p.name().as_str().to_owned()),
                        primary: m.id() == primary,
                        enrolled_at: m.enrolled_at(),
                        last_used_at: m.last_used_at(),
                    })
                    .collect();
                methods.sort_by_key(|m| (!m.primary, m.id.get()));
                Ok(MethodsOverview {
                    methods,
                    may_add: self.user_policy(&company, &record).allowed_methods(),
                    pending: enrolled
                        .pending_change()
                        .map(|pending| pending.kind().method()),
                })
            }
            .await;
            self.settle(user, now, result).await
        })
        .await
    }

    /// Starts adding another method next to the enrolled ones: for an app,
    /// the key URI to show as a QR code; for a phone, the first code goes
    /// out (or the not-a-mobile dialog comes back). The method counts only
    /// once its first code comes back through [`Twofa::confirm_method`].
    ///
    /// # Errors
    ///
    /// [`Rejected`]: not enrolled yet (the login's set-up screen is the
    /// way), a kind the company does not allow, no second factor in the
    /// step-up window ([`RetryAdvice::ReauthenticationRequired`]), an
    /// invalid number, a failed send (nothing is saved), a store failure.
    pub async fn add_method(
        &self,
        user: &UserId,
        choice: MethodChoice,
    ) -> Result<SetUpProgress, Rejected> {
        crate::observe::operation("add_method", Some(user), async {
            let now = self.clock.now();
            let result = async {
                let record = self.load_user(user).await?.record;
                let company = self.load_company(record.company()).await?.record;
                let enrollment = self.open(&record)?;
                if !matches!(enrollment.state(), EnrollmentState::Enrolled(_)) {
                    return Err(Failure::new(
                        RejectionDetail::WrongStage,
                        RetryAdvice::StartOver,
                    ));
                }
                let for_setup = (user, &company, SendKind::SetUpCode, now);
                let setup = self
                    .setup_choice(
                        choice,
                        self.user_policy(&company, &record).allowed_methods(),
                        for_setup,
                    )
                    .await?;
                let updated = self
                    .update_enrollment(user, &company, now, |e, ctx, rng| {
                        Change::from(e.apply(Event::StartSetup(setup.clone()), ctx, now, rng))
                    })
                    .await?;
                progress(updated)
            }
            .await;
            self.settle(user, now, result).await
        })
        .await
    }

    /// The first code of the method being added (or of the new number of a
    /// number change) came back: the method counts from now on, the
    /// user's other contacts are told, and the trusted-network grant ends.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for a wrong (counted) or expired code, nothing being
    /// added, or a store failure.
    pub async fn confirm_method(&self, user: &UserId, code: &str) -> Result<(), Rejected> {
        crate::observe::operation("confirm_method", Some(user), async {
            let now = self.clock.now();
            let result = self.confirm_pending(user, code, now).await;
            self.settle(user, now, result).await
        })
        .await
    }

    /// The browser answered the registration of the passkey being added
    /// ([`SetUpProgress::CreatePasskey`] from [`Twofa::add_method`]): the
    /// passkey counts from now on, the user's contacts are told, and the
    /// trusted-network grant ends.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for a refused answer (counted; the set-up is over and
    /// must start again), an expired ceremony, nothing being added, or a
    /// store failure.
    pub async fn confirm_passkey(&self, user: &UserId, response: &str) -> Result<(), Rejected> {
        crate::observe::operation("confirm_passkey", Some(user), async {
            let now = self.clock.now();
            let answer = Answer::Passkey(PasskeyResponse::new(response));
            let result = self.confirm_pending_with(user, answer, now).await;
            self.settle(user, now, result).await
        })
        .await
    }

    /// Abandons the method being added (or the number change): nothing
    /// else changes.
    ///
    /// # Errors
    ///
    /// [`Rejected`] when nothing is being added, or on a store failure.
    pub async fn cancel_method_setup(&self, user: &UserId) -> Result<(), Rejected> {
        crate::observe::operation("cancel_method_setup", Some(user), async {
            let now = self.clock.now();
            let result = async {
                let record = self.load_user(user).await?.record;
                let company = self.load_company(record.company()).await?.record;
                self.update_enrollment(user, &company, now, |e, ctx, rng| {
                    Change::from(e.apply(Event::Cancel, ctx, now, rng))
                })
                .await
                .map(|_| ())
            }
            .await;
            self.settle(user, now, result).await
        })
        .await
    }

    /// Removes one of the user's methods. Never the last one while the
    /// company enforces 2FA, and never the last one of a kind the company
    /// allows ([`RejectionDetail::MethodRequired`]). A removed primary
    /// method hands that role to the oldest method left.
    ///
    /// # Errors
    ///
    /// [`Rejected`]: no such method, a method the policy requires, no
    /// second factor in the step-up window
    /// ([`RetryAdvice::ReauthenticationRequired`]), a store failure.
    pub async fn remove_method(&self, user: &UserId, method: MethodId) -> Result<(), Rejected> {
        crate::observe::operation("remove_method", Some(user), async {
            let now = self.clock.now();
            let result = async {
                let record = self.load_user(user).await?.record;
                let company = self.load_company(record.company()).await?.record;
                let policy = self.user_policy(&company, &record);
                self.update_enrollment(user, &company, now, |e, ctx, rng| {
                    let EnrollmentState::Enrolled(enrolled) = e.state() else {
                        return Change::from(e.apply(Event::RemoveMethod(method), ctx, now, rng));
                    };
                    let remaining: MethodSet = enrolled
                        .methods()
                        .iter()
                        .filter(|m| m.id() != method)
                        .map(|m| m.kind())
                        .collect();
                    let known = enrolled.method(method).is_some();
                    match may_remove_leaving(company.settings(), &policy, remaining) {
                        Err(refused) if known => Change::Refuse(None, method_required(refused)),
                        _ => Change::from(e.apply(Event::RemoveMethod(method), ctx, now, rng)),
                    }
                })
                .await
                .map(|_| ())
            }
            .await;
            self.settle(user, now, result).await
        })
        .await
    }

    /// Makes `method` the one a login asks for first (the others stay
    /// available under "use another method").
    ///
    /// # Errors
    ///
    /// [`Rejected`] for an unknown method, a user not enrolled, or a store
    /// failure.
    pub async fn set_primary_method(
        &self,
        user: &UserId,
        method: MethodId,
    ) -> Result<(), Rejected> {
        crate::observe::operation("set_primary_method", Some(user), async {
            let now = self.clock.now();
            let result = async {
                let record = self.load_user(user).await?.record;
                let company = self.load_company(record.company()).await?.record;
                self.update_enrollment(user, &company, now, |e, ctx, rng| {
                    Change::from(e.apply(Event::SetPrimary(method), ctx, now, rng))
                })
                .await
                .map(|_| ())
            }
            .await;
            self.settle(user, now, result).await
        })
        .await
    }
}
