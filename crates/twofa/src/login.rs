//! The login flow after the password: begin, set up, answer, defer.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use twofa_delivery::{
    PhoneNumber, ResendOption, ResendPlan, TransactionId, classify_offline, classify_with_lookup,
};
use twofa_enforcement::{
    AccountKind, GateDecision, Method, MethodSet, ResendChannel, UserId, gate,
};
use twofa_enrollment::{
    Effect, Enrollment, EnrollmentState, Event, Factor, LoginAttempt, MethodId, MethodKind,
    NotMobileAnswer, PhoneSetup, SetupChoice, SubmittedCode, Transition,
};
use twofa_trusted_network::{
    ClientAddress, Decision, EnrollmentSummary, ForwardingHeaders, LoginFacts, RevocationReason,
    TrustGrantRecord,
};

use crate::audit::{AllowedBy, AuditEvent, RejectionDetail};
use crate::join::join;
use crate::records::{CompanyRecord, LoginStage, LoginTicket, PendingLogin, UserRecord};
use crate::service::{
    Change, Failure, Finish, Next, Twofa, Updated, enrollment_failure, method_of,
};
use crate::steps::{
    Allowed, ChallengeScreen, ClientContext, LoginStep, MethodChoice, OtherMethod, PhoneChoice,
    Rejected, Resent, RetryAdvice, SetUpProgress, SetUpScreen,
};
use crate::store::{SaveError, Versioned};

/// A loaded pending login that `user` may still use at `now`: it exists,
/// is theirs, is not completed and has not expired.
pub(crate) fn usable_ticket(
    loaded: Option<Versioned<PendingLogin>>,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<Versioned<PendingLogin>, Failure> {
    let loaded = loaded.ok_or(Failure::start_over(RejectionDetail::UnknownTicket))?;
    if loaded.record.user() != user {
        return Err(Failure::start_over(RejectionDetail::TicketUserMismatch));
    }
    if matches!(loaded.record.stage(), LoginStage::Completed { .. }) {
        return Err(Failure::start_over(RejectionDetail::TicketAlreadyUsed));
    }
    if now >= loaded.record.expires_at() {
        return Err(Failure::start_over(RejectionDetail::TicketExpired));
    }
    Ok(loaded)
}

/// What a challenge may be answered with, and what follows it.
#[derive(Debug, Clone, Copy)]
struct Challenge {
    /// The kinds of enrolled method the user may answer with.
    usable: MethodSet,
    /// Set up one of these after the challenge (every method of the user
    /// is switched off by the company).
    then_set_up: Option<MethodSet>,
}

/// The set-up screen that follows a challenge when every method of the
/// user is switched off: no "remind me later".
fn replacement_screen(
    ticket: LoginTicket,
    methods: MethodSet,
    enrollment: &Enrollment,
) -> SetUpScreen {
    let pending = match enrollment.state() {
        EnrollmentState::Enrolled(enrolled) => enrolled
            .pending_change()
            .map(|change| change.kind().method()),
        EnrollmentState::Pending(pending) => Some(pending.kind().method()),
        _ => None,
    };
    SetUpScreen {
        ticket,
        methods,
        remind_me_until: None,
        pending,
    }
}

fn network_kind(kind: AccountKind) -> twofa_trusted_network::AccountKind {
    match kind {
        AccountKind::PartnerEmployee => twofa_trusted_network::AccountKind::PartnerEmployee,
        // Anything but a partner employee is treated as a client account:
        // trusted networks never spare it the prompt.
        _ => twofa_trusted_network::AccountKind::EndUserClient,
    }
}

pub(crate) fn transaction(ticket: &LoginTicket) -> Result<TransactionId, Failure> {
    TransactionId::new(&ticket.to_string())
        .map_err(|_| Failure::start_over(RejectionDetail::InconsistentRecord))
}

/// The screen after a set-up step: the code sent, the QR code or the
/// dialog.
pub(crate) fn progress(updated: Updated) -> Result<SetUpProgress, Failure> {
    if let Some(sent) = updated.sent {
        return Ok(SetUpProgress::CodeSent(sent));
    }
    for effect in updated.effects {
        match effect {
            Effect::ShowKeyUri(uri) => return Ok(SetUpProgress::ScanQrCode(uri)),
            Effect::ShowNotMobileDialog(dialog) => return Ok(SetUpProgress::NotMobile(dialog)),
            _ => {}
        }
    }
    Err(Failure::start_over(RejectionDetail::InconsistentRecord))
}

fn is_enrolled(enrollment: &Enrollment) -> bool {
    matches!(enrollment.state(), EnrollmentState::Enrolled(_))
}

/// The primary method of an enrolled user: its id and kind.
fn primary(enrollment: &Enrollment) -> Option<(MethodId, MethodKind)> {
    let EnrollmentState::Enrolled(enrolled) = enrollment.state() else {
        return None;
    };
    let id = enrolled.primary();
    enrolled.method(id).map(|method| (id, method.kind()))
}

/// The method a challenge starts with: the primary one if its kind is in
/// `usable`, otherwise the first enrolled method whose kind is.
fn first_usable(enrollment: &Enrollment, usable: MethodSet) -> Option<(MethodId, MethodKind)> {
    let EnrollmentState::Enrolled(enrolled) = enrollment.state() else {
        return None;
    };
    primary(enrollment)
        .filter(|(_, kind)| usable.contains(method_of(*kind)))
        .or_else(|| {
            enrolled
                .methods()
                .iter()
                .find(|m| usable.contains(method_of(m.kind())))
                .map(|m| (m.id(), m.kind()))
        })
}

/// The enrolled methods other than `current` whose kind is in `usable`,
/// for "use another method".
fn other_methods(
    enrollment: &Enrollment,
    usable: MethodSet,
    current: MethodId,
) -> Vec<OtherMethod> {
    let EnrollmentState::Enrolled(enrolled) = enrollment.state() else {
        return Vec::new();
    };
    enrolled
        .methods()
        .iter()
        .filter(|m| m.id() != current && usable.contains(method_of(m.kind())))
        .map(|m| OtherMethod {
            id: m.id(),
            kind: m.kind(),
            masked_number: match m.factor() {
                Factor::Phone(phone) => Some(phone.number().masked()),
                _ => None,
            },
        })
        .collect()
}

fn method_kind(enrollment: &Enrollment, id: MethodId) -> Option<MethodKind> {
    match enrollment.state() {
        EnrollmentState::Enrolled(enrolled) => enrolled.method(id).map(|m| m.kind()),
        _ => None,
    }
}

impl Twofa {
    fn resolve_client(&self, client: &ClientContext) -> ClientAddress {
        let mut headers = ForwardingHeaders::new();
        if let Some(line) = &client.x_forwarded_for {
            headers = headers.with_x_forwarded_for(line.as_str());
        }
        if let Some(line) = &client.forwarded {
            headers = headers.with_forwarded(line.as_str());
        }
        self.proxies.resolve(client.peer, &headers)
    }

    /// The re-send buttons for a method, as the company's policy allows.
    fn resend_options(
        company: &CompanyRecord,
        record: &UserRecord,
        kind: MethodKind,
    ) -> Vec<ResendOption> {
        if matches!(kind, MethodKind::App | MethodKind::Push) {
            return vec![ResendOption::App];
        }
        let allowed = company.policy().resend_channels();
        let mut options = Vec::new();
        // A number set up for calls may be a landline: no SMS re-send.
        if allowed.contains(ResendChannel::Sms) && kind == MethodKind::Sms {
            options.push(ResendOption::Sms);
        }
        if allowed.contains(ResendChannel::VoiceCall) {
            options.push(ResendOption::Voice);
        }
        if allowed.contains(ResendChannel::Email) && record.email().is_some() {
            options.push(ResendOption::Email);
        }
        options
    }

    /// Begins the second-factor part of a login, after the application
    /// accepted the password of `user`.
    ///
    /// Returns what to show: nothing ([`LoginStep::Allowed`]: a trusted
    /// network grant or a running deferral covers the login), the set-up
    /// screen, or the verification screen (a code is sent at once to a
    /// phone method). Keep the ticket of the screen in the session.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for an unknown user or company, a store, sealing or
    /// provider failure; the audit log has the detail.
    ///
    /// # Security
    ///
    /// Fails closed: no failure yields [`LoginStep::Allowed`].
    pub async fn begin_login(
        &self,
        user: &UserId,
        client: &ClientContext,
    ) -> Result<LoginStep, Rejected> {
        let now = self.clock.now();
        match self.begin_login_inner(user, client, now).await {
            Ok(step) => Ok(step),
            Err(failure) => Err(self.reject(now, Some(user), failure).await),
        }
    }

    async fn begin_login_inner(
        &self,
        user: &UserId,
        client: &ClientContext,
        now: DateTime<Utc>,
    ) -> Result<LoginStep, Failure> {
        let record = self.load_user(user).await?.record;
        let company = self.load_company(record.company()).await?.record;
        let enrollment = self.open(&record)?;
        let status = crate::service::user_status(&enrollment, now);
        let address = self.resolve_client(client);
        let client_ip = address.ip();
        match gate(&status, company.settings(), company.policy(), now) {
            decision @ (GateDecision::ChallengeSecondFactor { .. }
            | GateDecision::ChallengeThenReplaceMethod { .. }) => {
                // A suspended factor, or methods the company has switched
                // off, are never skipped by a trusted network.
                let never_skip = enrollment.failures().suspended_since().is_some()
                    || matches!(decision, GateDecision::ChallengeThenReplaceMethod { .. });
                let grant = self.stores.grants.load(user).await?;
                let facts = LoginFacts::new(
                    network_kind(record.kind()),
                    EnrollmentSummary::ActiveMethod,
                    company.allowlist(),
                    &address,
                );
                let facts = match &grant {
                    Some(stored) => facts.with_grant(&stored.record),
                    None => facts,
                };
                let policy = Self::trust_policy_for(&company);
                if let (
                    Decision::Skip {
                        next_prompt_at,
                        network,
                    },
                    false,
                ) = (policy.decide(&facts, now), never_skip)
                {
                    let by = AllowedBy::TrustedNetwork {
                        network,
                        until: next_prompt_at,
                    };
                    self.audit_required(
                        now,
                        Some(company.company()),
                        Some(user),
                        AuditEvent::LoginAllowed { by },
                    )
                    .await?;
                    return Ok(LoginStep::Allowed(Allowed {
                        by,
                        recovery_codes: None,
                    }));
                }
                let (usable, then_set_up) = match decision {
                    GateDecision::ChallengeThenReplaceMethod {
                        challenge_with,
                        set_up_one_of,
                    } => (challenge_with, Some(set_up_one_of)),
                    GateDecision::ChallengeSecondFactor { methods } => (methods, None),
                    _ => return Err(Failure::start_over(RejectionDetail::WrongStage)),
                };
                let challenge = Challenge {
                    usable,
                    then_set_up,
                };
                self.start_challenge(&record, &company, &enrollment, challenge, client_ip, now)
                    .await
                    .map(LoginStep::Challenge)
            }
            GateDecision::DeferralRunning { until } => {
                let by = AllowedBy::DeferralRunning { until };
                self.audit_required(
                    now,
                    Some(company.company()),
                    Some(user),
                    AuditEvent::LoginAllowed { by },
                )
                .await?;
                Ok(LoginStep::Allowed(Allowed {
                    by,
                    recovery_codes: None,
                }))
            }
            GateDecision::OfferSetup { methods, deferral } => self
                .start_setup(
                    &record,
                    &enrollment,
                    methods,
                    Some(deferral.until),
                    client_ip,
                    now,
                )
                .await
                .map(LoginStep::SetUp),
            GateDecision::RequireSetup { methods, .. } => self
                .start_setup(&record, &enrollment, methods, None, client_ip, now)
                .await
                .map(LoginStep::SetUp),
            _ => Err(Failure::start_over(RejectionDetail::WrongStage)),
        }
    }

    async fn new_ticket(
        &self,
        record: &UserRecord,
        stage: LoginStage,
        client_ip: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<LoginTicket, Failure> {
        let expires_at = now
            .checked_add_signed(self.ticket_lifetime)
            .ok_or(Failure::start_over(RejectionDetail::TimeOutOfRange))?;
        let mut rng = self.rng()?;
        let ticket = LoginTicket::generate(&mut rng);
        let pending = PendingLogin::new(
            record.user().clone(),
            record.company().clone(),
            now,
            expires_at,
            client_ip,
            stage,
        );
        match self.stores.challenges.save(&ticket, pending, None).await {
            Ok(_) => Ok(ticket),
            // 128 random bits do not collide; a conflict means a broken
            // random source or store, and the login cannot go on.
            Err(SaveError::Conflict) => Err(Failure::start_over(RejectionDetail::StoreFailed)),
            Err(SaveError::Store(error)) => Err(error.into()),
        }
    }

    async fn start_setup(
        &self,
        record: &UserRecord,
        enrollment: &Enrollment,
        methods: MethodSet,
        remind_me_until: Option<DateTime<Utc>>,
        client_ip: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<SetUpScreen, Failure> {
        let stage = LoginStage::SetUp {
            methods,
            deferral_offered: remind_me_until.is_some(),
        };
        let ticket = self.new_ticket(record, stage, client_ip, now).await?;
        let pending = match enrollment.state() {
            EnrollmentState::Pending(pending) => Some(pending.kind().method()),
            _ => None,
        };
        Ok(SetUpScreen {
            ticket,
            methods,
            remind_me_until,
            pending,
        })
    }

    async fn start_challenge(
        &self,
        record: &UserRecord,
        company: &CompanyRecord,
        enrollment: &Enrollment,
        challenge: Challenge,
        client_ip: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<ChallengeScreen, Failure> {
        let (method, _) = first_usable(enrollment, challenge.usable)
            .ok_or(Failure::start_over(RejectionDetail::MethodNotAvailable))?;
        let stage = LoginStage::Challenge {
            method,
            usable: challenge.usable,
            then_set_up: challenge.then_set_up,
        };
        let ticket = self.new_ticket(record, stage, client_ip, now).await?;
        self.challenge_screen(record, company, enrollment, ticket, method, challenge, now)
            .await
    }

    /// The verification screen for `method`, sending the first code of a
    /// phone method (unless the factor is suspended: a recovery code is
    /// then the only way in, and no code should go out).
    #[expect(
        clippy::too_many_arguments,
        reason = "one private step of the flow, called from two places"
    )]
    async fn challenge_screen(
        &self,
        record: &UserRecord,
        company: &CompanyRecord,
        enrollment: &Enrollment,
        ticket: LoginTicket,
        method: MethodId,
        challenge: Challenge,
        now: DateTime<Utc>,
    ) -> Result<ChallengeScreen, Failure> {
        let kind = method_kind(enrollment, method)
            .ok_or(Failure::start_over(RejectionDetail::InconsistentRecord))?;
        let suspended = enrollment.failures().suspended_since().is_some();
        let mut sent_to = None;
        if Self::code_channel(kind).is_some() && !suspended {
            let transaction = transaction(&ticket)?;
            let updated = self
                .update_user(record.user(), company, now, |e, ctx, rng| {
                    match e.send_login_code(method, None, &transaction, ctx, now, rng) {
                        Ok(dispatch) => Change::Send(dispatch),
                        Err(error) => Change::Refuse(None, enrollment_failure(error)),
                    }
                })
                .await?;
            sent_to = updated.sent.map(|sent| sent.to);
        }
        Ok(ChallengeScreen {
            ticket,
            method: kind,
            sent_to,
            resend: Self::resend_options(company, record, kind),
            other_methods: other_methods(enrollment, challenge.usable, method),
            then_set_up: challenge.then_set_up,
        })
    }

    /// "Use another method" on the verification screen: the login goes on
    /// with another of the user's enrolled methods (a code goes out at
    /// once to a phone method). The ticket stays the same.
    ///
    /// # Errors
    ///
    /// [`Rejected`]: the method is not one of the user's methods this
    /// login may use ([`RetryAdvice::CheckInput`]), the ticket is not
    /// usable, a send or a store failed.
    pub async fn switch_method(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        method: MethodId,
    ) -> Result<ChallengeScreen, Rejected> {
        let now = self.clock.now();
        self.answer(
            user,
            now,
            self.switch_method_inner(user, ticket, method, now),
        )
        .await
    }

    async fn switch_method_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        method: MethodId,
        now: DateTime<Utc>,
    ) -> Result<ChallengeScreen, Failure> {
        let not_offered =
            Failure::new(RejectionDetail::MethodNotAvailable, RetryAdvice::CheckInput);
        for _ in 0..self.max_store_attempts {
            let (pending, loaded) = join(
                self.load_ticket_for(user, ticket, now),
                self.load_user(user),
            )
            .await;
            let (pending, loaded) = (pending?, loaded?);
            let LoginStage::Challenge {
                usable,
                then_set_up,
                ..
            } = *pending.record.stage()
            else {
                return Err(Failure::start_over(RejectionDetail::WrongStage));
            };
            let enrollment = self.open(&loaded.record)?;
            let kind = method_kind(&enrollment, method).ok_or(not_offered)?;
            if !usable.contains(method_of(kind)) {
                return Err(not_offered);
            }
            let next = pending.record.clone().with_stage(LoginStage::Challenge {
                method,
                usable,
                then_set_up,
            });
            match self
                .stores
                .challenges
                .save(ticket, next, Some(pending.version))
                .await
            {
                Ok(_) => {}
                Err(SaveError::Conflict) => continue,
                Err(SaveError::Store(error)) => return Err(error.into()),
            }
            let company = self.load_company(pending.record.company()).await?.record;
            let challenge = Challenge {
                usable,
                then_set_up,
            };
            return self
                .challenge_screen(
                    &loaded.record,
                    &company,
                    &enrollment,
                    *ticket,
                    method,
                    challenge,
                    now,
                )
                .await;
        }
        Err(Failure::start_over(RejectionDetail::StoreContention))
    }

    /// Loads a ticket that `user` may still use at `now`.
    pub(crate) async fn load_ticket_for(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        now: DateTime<Utc>,
    ) -> Result<Versioned<PendingLogin>, Failure> {
        usable_ticket(self.stores.challenges.load(ticket).await?, user, now)
    }

    /// Marks the ticket used, so it can complete no other login.
    async fn complete_ticket(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        now: DateTime<Utc>,
    ) -> Result<(), Failure> {
        for _ in 0..self.max_store_attempts {
            let loaded = self.load_ticket_for(user, ticket, now).await?;
            let done = loaded.record.with_stage(LoginStage::Completed { at: now });
            match self
                .stores
                .challenges
                .save(ticket, done, Some(loaded.version))
                .await
            {
                Ok(_) => return Ok(()),
                Err(SaveError::Conflict) => {}
                Err(SaveError::Store(error)) => return Err(error.into()),
            }
        }
        Err(Failure::start_over(RejectionDetail::StoreContention))
    }

    /// Completes a login: the ticket is used up, a trusted-network grant
    /// is issued when the login came from one, and the allowance is
    /// audited. Any failure here refuses the login.
    pub(crate) async fn finish_login(
        &self,
        pending: &PendingLogin,
        ticket: &LoginTicket,
        by: AllowedBy,
        now: DateTime<Utc>,
    ) -> Result<AllowedBy, Failure> {
        self.complete_ticket(pending.user(), ticket, now).await?;
        if matches!(by, AllowedBy::SecondFactor { .. }) {
            self.load_and_issue_grant(pending, now).await;
        }
        self.audit_required(
            now,
            Some(pending.company()),
            Some(pending.user()),
            AuditEvent::LoginAllowed { by },
        )
        .await?;
        Ok(by)
    }

    /// [`Twofa::issue_grant`] for a flow that holds neither the company
    /// nor the user: the company is read first, and the user only when the
    /// login came from one of its trusted networks.
    async fn load_and_issue_grant(&self, pending: &PendingLogin, now: DateTime<Utc>) {
        let Some(ip) = pending.client_ip() else {
            return;
        };
        let Ok(company) = self.load_company(pending.company()).await else {
            return;
        };
        if company.record.allowlist().lookup(ip).is_none() {
            return;
        }
        let Ok(user) = self.load_user(pending.user()).await else {
            return;
        };
        self.issue_grant(pending, &company.record, user.record.kind(), now)
            .await;
    }

    /// Issues a trust grant when the completed login came from a trusted
    /// network. Best effort: without a grant the next login is prompted,
    /// which is the safe side.
    ///
    /// Whether a grant can apply is decided from the records the flow
    /// already holds (the login's client address, the company's allowlist,
    /// the account kind) before any store is asked: most logins do not
    /// come from a trusted network and cost no store call here.
    async fn issue_grant(
        &self,
        pending: &PendingLogin,
        company: &CompanyRecord,
        kind: AccountKind,
        now: DateTime<Utc>,
    ) {
        let Some(ip) = pending.client_ip() else {
            return;
        };
        if company.allowlist().lookup(ip).is_none() {
            return;
        }
        let address = ClientAddress::peer(ip);
        let facts = LoginFacts::new(
            network_kind(kind),
            EnrollmentSummary::ActiveMethod,
            company.allowlist(),
            &address,
        );
        let Ok(grant) = Self::trust_policy_for(company).grant(&facts, now) else {
            return;
        };
        for _ in 0..self.max_store_attempts {
            let Ok(existing) = self.stores.grants.load(pending.user()).await else {
                return;
            };
            let expected = existing.map(|stored| stored.version);
            let record = TrustGrantRecord::from(grant);
            match self
                .stores
                .grants
                .save(pending.user(), record, expected)
                .await
            {
                Ok(_) => {
                    self.audit_best_effort(
                        now,
                        pending.company(),
                        pending.user(),
                        AuditEvent::TrustGrantIssued {
                            network: grant.network(),
                            expires_at: grant.expires_at(),
                        },
                    )
                    .await;
                    return;
                }
                Err(SaveError::Conflict) => {}
                Err(SaveError::Store(_)) => return,
            }
        }
    }

    /// Runs `operation` and turns its failure into the audited rejection.
    async fn answer<T>(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        operation: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, Rejected> {
        match operation.await {
            Ok(value) => Ok(value),
            Err(failure) => Err(self.reject(now, Some(user), failure).await),
        }
    }

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
        let now = self.clock.now();
        self.answer(
            user,
            now,
            self.choose_method_inner(user, ticket, choice, now),
        )
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
        let company = self.load_company(pending.company()).await?.record;
        let allowed = methods.intersection(company.policy().allowed_methods());
        let not_offered =
            Failure::new(RejectionDetail::MethodNotAvailable, RetryAdvice::CheckInput);
        let setup = match choice {
            MethodChoice::AuthenticatorApp if allowed.contains(Method::AuthenticatorApp) => {
                SetupChoice::App
            }
            MethodChoice::PushApp if allowed.contains(Method::PushApp) => SetupChoice::Push,
            MethodChoice::Phone(phone) => {
                // "Call me instead" in the dialog turns the choice into a
                // voice method.
                let kind = match phone.answer {
                    NotMobileAnswer::ContinueWithVoice => MethodKind::Voice,
                    _ => phone.channel.kind(),
                };
                if !allowed.contains(method_of(kind)) {
                    return Err(not_offered);
                }
                SetupChoice::Phone(self.phone_setup(&phone).await?)
            }
            _ => return Err(not_offered),
        };
        let updated = self
            .update_user(user, &company, now, |e, ctx, rng| {
                match e.apply(Event::StartSetup(setup.clone()), ctx, now, rng) {
                    Ok(Transition::Save(outcome)) => Change::Save(outcome),
                    Ok(Transition::Send(dispatch)) => Change::Send(dispatch),
                    Err(error) => Change::Refuse(None, enrollment_failure(error)),
                }
            })
            .await?;
        progress(updated)
    }

    /// Parses and classifies a phone number typed by the user.
    pub(crate) async fn phone_setup(&self, phone: &PhoneChoice) -> Result<PhoneSetup, Failure> {
        let bad_number = Failure::new(RejectionDetail::InvalidDestination, RetryAdvice::CheckInput);
        let number = match &self.region {
            Some(region) => PhoneNumber::parse(&phone.number, *region),
            None => PhoneNumber::from_e164(&phone.number),
        }
        .map_err(|_| bad_number)?;
        let line_type = match &self.carrier {
            Some(lookup) => classify_with_lookup(&number, &**lookup).await,
            None => classify_offline(&number),
        };
        Ok(PhoneSetup::new(number, line_type, phone.channel).with_answer(phone.answer))
    }

    /// The user typed a code: the first code of a method being set up
    /// (which activates it), or the second factor of the login.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for a wrong, replayed or expired code, throttling,
    /// suspension, an unusable ticket or a store failure. A wrong code is
    /// counted before the refusal is returned.
    ///
    /// # Security
    ///
    /// A code is accepted at most once, whatever the interleaving of
    /// requests: acceptance is the compare-and-swap save of the record
    /// that burns it.
    pub async fn submit_code(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        code: &str,
    ) -> Result<LoginStep, Rejected> {
        let now = self.clock.now();
        self.answer(user, now, self.submit_code_inner(user, ticket, code, now))
            .await
    }

    async fn submit_code_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<LoginStep, Failure> {
        // Ticket, user and company in one read where the stores allow it;
        // the ticket is checked as `load_ticket_for` checks it.
        let records = self.stores.unit.load_login(&self.stores, ticket, user);
        let (pending, loaded, company) = records.await?.checked(user, now)?;
        let company = company.record;
        let kind = loaded.record.kind();
        let submitted = SubmittedCode::new(code);
        let login = pending.record.clone();
        let updated = match login.stage() {
            LoginStage::SetUp { .. } => {
                // The method just activated is the one enrolled last.
                let next = |e: &Enrollment| match e.state() {
                    EnrollmentState::Enrolled(enrolled) => enrolled
                        .methods()
                        .iter()
                        .max_by_key(|m| m.enrolled_at())
                        .map(|m| {
                            Next::Allowed(AllowedBy::SecondFactor {
                                method: method_of(m.kind()),
                            })
                        }),
                    _ => None,
                };
                let finish = Finish {
                    ticket,
                    pending,
                    next: &next,
                };
                self.update_user_with(
                    user,
                    &company,
                    now,
                    Some(loaded),
                    Some(finish),
                    |e, ctx, rng| {
                        let event = Event::SubmitCode(submitted.clone());
                        match e.apply(event, ctx, now, rng) {
                            Ok(Transition::Save(outcome)) => {
                                let rejected =
                                    outcome.effects().iter().find_map(|effect| match effect {
                                        Effect::CodeRejected { attempts_left } => {
                                            Some(*attempts_left)
                                        }
                                        _ => None,
                                    });
                                match rejected {
                                    Some(left) => {
                                        let advice = if left == 0 {
                                            RetryAdvice::NewCodeNeeded
                                        } else {
                                            RetryAdvice::IncorrectCode
                                        };
                                        Change::Refuse(
                                            Some(outcome),
                                            Failure::new(RejectionDetail::WrongCode, advice),
                                        )
                                    }
                                    None if is_enrolled(outcome.record()) => Change::Save(outcome),
                                    None => Change::Refuse(
                                        None,
                                        Failure::start_over(RejectionDetail::InconsistentRecord),
                                    ),
                                }
                            }
                            Ok(_) => Change::Refuse(
                                None,
                                Failure::start_over(RejectionDetail::InconsistentRecord),
                            ),
                            Err(error) => Change::Refuse(None, enrollment_failure(error)),
                        }
                    },
                )
                .await?
            }
            LoginStage::Challenge { method, .. } => {
                let attempt = LoginAttempt::Code {
                    method: *method,
                    code: submitted,
                };
                return self
                    .verify_challenge(ticket, pending, loaded, &company, &attempt, now)
                    .await;
            }
            _ => return Err(Failure::start_over(RejectionDetail::WrongStage)),
        };
        let Some(Next::Allowed(by)) = updated.next else {
            return Err(Failure::start_over(RejectionDetail::InconsistentRecord));
        };
        // After the commit, best effort (see `issue_grant`).
        self.issue_grant(&login, &company, kind, now).await;
        let recovery_codes = updated.effects.into_iter().find_map(|effect| match effect {
            Effect::ShowRecoveryCodes(sheet) => Some(sheet),
            _ => None,
        });
        Ok(LoginStep::Allowed(Allowed { by, recovery_codes }))
    }

    /// Checks the answer to a challenge (a code or a push approval) and,
    /// in the same unit of work that accepts it, completes the login, or
    /// moves it on to set-up when the company has switched off every
    /// method the user has.
    pub(crate) async fn verify_challenge(
        &self,
        ticket: &LoginTicket,
        pending: Versioned<PendingLogin>,
        loaded: Versioned<UserRecord>,
        company: &CompanyRecord,
        attempt: &LoginAttempt,
        now: DateTime<Utc>,
    ) -> Result<LoginStep, Failure> {
        let LoginStage::Challenge {
            method,
            then_set_up,
            ..
        } = *pending.record.stage()
        else {
            return Err(Failure::start_over(RejectionDetail::WrongStage));
        };
        let allowed = company.policy().allowed_methods();
        let next = |e: &Enrollment| {
            let method = method_of(method_kind(e, method)?);
            // The company may have switched the method off since the
            // challenge began: it still proves who the user is, but the
            // login then goes on to set up a method the company allows.
            let switched_off = (!allowed.contains(method)).then_some(allowed);
            Some(match then_set_up.or(switched_off) {
                Some(methods) => Next::SetUp(methods),
                None => Next::Allowed(AllowedBy::SecondFactor { method }),
            })
        };
        let user = loaded.record.user().clone();
        let kind = loaded.record.kind();
        let login = pending.record.clone();
        let transaction = transaction(ticket)?;
        let finish = Finish {
            ticket,
            pending,
            next: &next,
        };
        let updated = self
            .update_user_with(
                &user,
                company,
                now,
                Some(loaded),
                Some(finish),
                |e, ctx, _rng| match e.verify_login(attempt, &transaction, ctx, now) {
                    Ok(accepted) => Change::Save(accepted.outcome),
                    Err(rejected) => Change::Refuse(
                        rejected.outcome.map(|outcome| *outcome),
                        enrollment_failure(rejected.reason),
                    ),
                },
            )
            .await?;
        let by = match updated.next {
            Some(Next::Allowed(by)) => by,
            Some(Next::SetUp(methods)) => {
                return Ok(LoginStep::SetUp(replacement_screen(
                    *ticket,
                    methods,
                    &updated.record,
                )));
            }
            None => return Err(Failure::start_over(RejectionDetail::InconsistentRecord)),
        };
        // After the commit, best effort (see `issue_grant`).
        self.issue_grant(&login, company, kind, now).await;
        Ok(LoginStep::Allowed(Allowed {
            by,
            recovery_codes: None,
        }))
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
        let now = self.clock.now();
        self.answer(user, now, self.resend_inner(user, ticket, option, now))
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
                self.update_user(user, &company, now, |e, ctx, rng| {
                    match e.apply(Event::Resend(option), ctx, now, rng) {
                        Ok(Transition::Save(outcome)) => Change::Save(outcome),
                        Ok(Transition::Send(dispatch)) => Change::Send(dispatch),
                        Err(error) => Change::Refuse(None, enrollment_failure(error)),
                    }
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
                self.update_user(user, &company, now, |e, ctx, rng| {
                    match e.send_login_code(method, Some(channel), &transaction, ctx, now, rng) {
                        Ok(dispatch) => Change::Send(dispatch),
                        Err(error) => Change::Refuse(None, enrollment_failure(error)),
                    }
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
        let now = self.clock.now();
        self.answer(user, now, self.defer_inner(user, ticket, now))
            .await
    }

    async fn defer_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        now: DateTime<Utc>,
    ) -> Result<Allowed, Failure> {
        let pending = self.load_ticket_for(user, ticket, now).await?.record;
        if !matches!(
            pending.stage(),
            LoginStage::SetUp {
                deferral_offered: true,
                ..
            }
        ) {
            return Err(Failure::start_over(RejectionDetail::WrongStage));
        }
        // The company may have enforced 2FA since the screen was shown:
        // the gate is asked again with the current settings.
        let company = self.load_company(pending.company()).await?.record;
        let updated = self
            .update_user(user, &company, now, |e, ctx, rng| {
                let status = crate::service::user_status(e, now);
                if !matches!(
                    gate(&status, company.settings(), company.policy(), now),
                    GateDecision::OfferSetup { .. }
                ) {
                    return Change::Refuse(None, Failure::start_over(RejectionDetail::WrongStage));
                }
                match e.apply(Event::Defer, ctx, now, rng) {
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

    /// The user typed a recovery code on the verification screen. A used
    /// code never works again; redeeming one lifts a suspension and ends
    /// the user's trusted-network grant.
    ///
    /// # Errors
    ///
    /// [`Rejected`] for a code that is not one of the user's unused codes
    /// (counted as a failure), an unusable ticket or a store failure.
    pub async fn use_recovery_code(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        code: &str,
    ) -> Result<LoginStep, Rejected> {
        let now = self.clock.now();
        self.answer(user, now, self.recovery_inner(user, ticket, code, now))
            .await
    }

    async fn recovery_inner(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<LoginStep, Failure> {
        let records = self.stores.unit.load_login(&self.stores, ticket, user);
        let (pending, loaded, company) = records.await?.checked(user, now)?;
        let (pending, company) = (pending.record, company.record);
        let LoginStage::Challenge { then_set_up, .. } = *pending.stage() else {
            return Err(Failure::start_over(RejectionDetail::WrongStage));
        };
        let transaction = transaction(ticket)?;
        let attempt = LoginAttempt::RecoveryCode(SubmittedCode::new(code));
        let updated = self
            .update_user_with(
                user,
                &company,
                now,
                Some(loaded),
                None,
                |e, ctx, _rng| match e.verify_login(&attempt, &transaction, ctx, now) {
                    Ok(accepted) => Change::Save(accepted.outcome),
                    Err(rejected) => {
                        let mut failure = enrollment_failure(rejected.reason);
                        if failure.detail == RejectionDetail::WrongCode {
                            failure.detail = RejectionDetail::WrongRecoveryCode;
                        }
                        Change::Refuse(rejected.outcome.map(|outcome| *outcome), failure)
                    }
                },
            )
            .await?;
        self.revoke_grant(user, RevocationReason::RecoveryCodeUsed, now)
            .await?;
        if let Some(methods) = then_set_up {
            self.move_to_set_up(user, ticket, methods, now).await?;
            return Ok(LoginStep::SetUp(replacement_screen(
                *ticket,
                methods,
                &updated.record,
            )));
        }
        let by = self
            .finish_login(&pending, ticket, AllowedBy::RecoveryCode, now)
            .await?;
        Ok(LoginStep::Allowed(Allowed {
            by,
            recovery_codes: None,
        }))
    }

    /// Moves a login from its challenge to the set-up of a method the
    /// company allows (compare-and-swap).
    async fn move_to_set_up(
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
                deferral_offered: false,
            });
            match self
                .stores
                .challenges
                .save(ticket, next, Some(loaded.version))
                .await
            {
                Ok(_) => return Ok(()),
                Err(SaveError::Conflict) => {}
                Err(SaveError::Store(error)) => return Err(error.into()),
            }
        }
        Err(Failure::start_over(RejectionDetail::StoreContention))
    }

    /// Revokes the user's active grant, if any (compare-and-swap).
    pub(crate) async fn revoke_grant(
        &self,
        user: &UserId,
        reason: RevocationReason,
        now: DateTime<Utc>,
    ) -> Result<bool, Failure> {
        for _ in 0..self.max_store_attempts {
            let Some(stored) = self.stores.grants.load(user).await? else {
                return Ok(false);
            };
            let Ok(revoked) = stored.record.revoke(reason.clone(), now) else {
                return Ok(false);
            };
            match self
                .stores
                .grants
                .save(user, revoked, Some(stored.version))
                .await
            {
                Ok(_) => return Ok(true),
                Err(SaveError::Conflict) => {}
                Err(SaveError::Store(error)) => return Err(error.into()),
            }
        }
        Err(Failure::start_over(RejectionDetail::StoreContention))
    }
}
