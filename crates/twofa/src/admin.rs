//! The company administrator's operations.

use chrono::{DateTime, Utc};
use twofa_enforcement::{
    Actor, CompanyPolicy, CompanyRole, EmployeeRecord, EnforceError, EnrollmentReport, PhoneHint,
};
use twofa_enrollment::{EnrollmentState, Event, Factor, Transition};
use twofa_trusted_network::{
    ActorId, AddressSpaceLimit, Allowlist, AllowlistError, Cidr, NetworkEntry, RevocationReason,
};
use twofa_types::{CompanyId, UserId};

use crate::audit::{AuditEvent, RejectionDetail};
use crate::failure::{Failure, enrollment_failure};
use crate::records::CompanyRecord;
use crate::service::Twofa;
use crate::store::{SaveError, StoreError};
use crate::update::Change;

/// Why an administrator's request was refused. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The actor is not an administrator of the company.
    #[error("only a company administrator may do this")]
    NotCompanyAdmin,
    /// The user or the company does not exist, or belongs to another
    /// company than the actor's.
    #[error("no such user or company")]
    NotFound,
    /// The network is already listed.
    #[error("the network is already a trusted network")]
    DuplicateNetwork,
    /// The allowlist is full.
    #[error("the allowlist is full")]
    AllowlistFull,
    /// The company would trust more addresses than the service's limit
    /// (see [`Twofa::add_trusted_network_beyond_limit`] for the override).
    #[error("the trusted networks would cover more addresses than the limit allows")]
    TooMuchAddressSpace,
    /// The network is not listed.
    #[error("the network is not a trusted network")]
    NetworkNotListed,
    /// The label is too long or holds control characters, or the
    /// administrator's id is not usable as an actor id.
    #[error("invalid label or actor id")]
    InvalidEntry,
    /// The user's enrollment could not be changed.
    #[error("the enrollment refused the change")]
    EnrollmentRefused,
    /// The report could not be built (a user listed twice).
    #[error("the report could not be built")]
    Report,
    /// The administrator's last second factor is older than the step-up
    /// window (10 minutes by default), or the login skipped it on a
    /// trusted network: complete one with [`Twofa::begin_step_up`], then
    /// retry.
    #[error("confirm it is you with your second factor first")]
    StepUpRequired,
    /// A store, the sealer or the random source failed, or concurrent
    /// updates kept conflicting.
    #[error("service unavailable")]
    Unavailable,
}

impl From<Failure> for AdminError {
    fn from(failure: Failure) -> Self {
        match failure.detail {
            RejectionDetail::UnknownUser | RejectionDetail::UnknownCompany => Self::NotFound,
            RejectionDetail::StoreFailed
            | RejectionDetail::StoreContention
            | RejectionDetail::SealingFailed
            | RejectionDetail::RandomUnavailable => Self::Unavailable,
            _ => Self::EnrollmentRefused,
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(_: StoreError) -> Self {
        Self::Unavailable
    }
}

fn require_admin(actor: &Actor, company: &CompanyId) -> Result<(), AdminError> {
    if actor.company() != company {
        return Err(AdminError::NotFound);
    }
    if actor.role() != CompanyRole::Admin {
        return Err(AdminError::NotCompanyAdmin);
    }
    Ok(())
}

impl Twofa {
    /// Requires that the administrator completed a second factor within
    /// the step-up window of the enrollment policy: a company's settings,
    /// its trusted networks and its users' factors change only with a
    /// fresh proof that the administrator is at the keyboard.
    async fn require_step_up(&self, actor: &Actor, now: DateTime<Utc>) -> Result<(), AdminError> {
        let record = self.load_user(actor.user()).await?.record;
        if record.company() != actor.company() {
            return Err(AdminError::NotFound);
        }
        let company = self.load_company(actor.company()).await?.record;
        let policy = self.policy_for(&company)?;
        self.open(&record)?
            .check_step_up(&policy, now)
            .map_err(|_| AdminError::StepUpRequired)
    }

    /// Loads the actor's company, applies `change` and saves it with
    /// compare-and-swap, re-evaluating on conflict.
    async fn update_company(
        &self,
        actor: &Actor,
        mut change: impl FnMut(
            &CompanyRecord,
            DateTime<Utc>,
        ) -> Result<Option<CompanyRecord>, AdminError>
        + Send,
        now: DateTime<Utc>,
    ) -> Result<(), AdminError> {
        require_admin(actor, actor.company())?;
        self.require_step_up(actor, now).await?;
        for _ in 0..self.max_store_attempts {
            let loaded = self.load_company(actor.company()).await?;
            let Some(next) = change(&loaded.record, now)? else {
                return Ok(());
            };
            match self
                .stores
                .companies
                .save(actor.company(), next, Some(loaded.version))
                .await
            {
                Ok(_) => return Ok(()),
                Err(SaveError::Conflict) => {}
                Err(SaveError::Store(_)) => return Err(AdminError::Unavailable),
            }
        }
        Err(AdminError::Unavailable)
    }

    /// Requires 2FA of every user of the actor's company. Irreversible:
    /// there is no operation that turns it off. Enforcing again changes
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`AdminError::NotCompanyAdmin`] unless the actor administers the
    /// company; [`AdminError::Unavailable`] on store failure.
    pub async fn enforce_two_factor(&self, actor: &Actor) -> Result<(), AdminError> {
        crate::observe::operation("enforce_two_factor", Some(actor.user()), async {
            let now = self.clock.now();
            let mut enabled = false;
            self.update_company(
                actor,
                |company, now| {
                    let outcome =
                        company
                            .settings()
                            .enforce(actor, now)
                            .map_err(|error| match error {
                                EnforceError::NotCompanyAdmin { .. } => AdminError::NotCompanyAdmin,
                                _ => AdminError::NotFound,
                            })?;
                    enabled = outcome.event().is_some();
                    Ok(enabled.then(|| company.clone().with_settings(outcome.settings().clone())))
                },
                now,
            )
            .await?;
            if enabled {
                self.audit_best_effort(
                    now,
                    actor.company(),
                    actor.user(),
                    AuditEvent::EnforcementEnabled {
                        by: actor.user().clone(),
                    },
                )
                .await;
            }
            Ok(())
        })
        .await
    }

    /// Replaces the actor's company policy: which methods users may set up
    /// and answer with, the re-send channels, deferral length and cap,
    /// the trusted-network re-prompt interval, code lifetimes and attempts
    /// ([`CompanyPolicy::builder`] validates it). Users whose every method
    /// is switched off are challenged with one of them at their next
    /// login, then must set up an allowed one. Enforcement is a separate
    /// switch and is untouched.
    ///
    /// # Errors
    ///
    /// [`AdminError::NotCompanyAdmin`], [`AdminError::Unavailable`].
    pub async fn set_company_policy(
        &self,
        actor: &Actor,
        policy: CompanyPolicy,
    ) -> Result<(), AdminError> {
        crate::observe::operation("set_company_policy", Some(actor.user()), async {
            let now = self.clock.now();
            let mut changed = false;
            self.update_company(
                actor,
                |company, _now| {
                    changed = *company.policy() != policy;
                    Ok(changed.then(|| company.clone().with_policy(policy)))
                },
                now,
            )
            .await?;
            if changed {
                self.audit_best_effort(
                    now,
                    actor.company(),
                    actor.user(),
                    AuditEvent::PolicyChanged {
                        by: actor.user().clone(),
                    },
                )
                .await;
            }
            Ok(())
        })
        .await
    }

    /// Adds a trusted network to the actor's company, within the service's
    /// address-space limit (`TwofaBuilder::with_trusted_address_limit`;
    /// by default a `/16` of IPv4 and a `/48` of IPv6, counted over the
    /// union of the company's networks, so a range split in parts counts
    /// whole).
    ///
    /// # Errors
    ///
    /// [`AdminError::NotCompanyAdmin`], [`AdminError::DuplicateNetwork`],
    /// [`AdminError::AllowlistFull`], [`AdminError::TooMuchAddressSpace`],
    /// [`AdminError::InvalidEntry`], [`AdminError::Unavailable`].
    pub async fn add_trusted_network(
        &self,
        actor: &Actor,
        network: Cidr,
        label: &str,
    ) -> Result<(), AdminError> {
        crate::observe::operation("add_trusted_network", Some(actor.user()), async {
            let added = AuditEvent::NetworkAdded {
                network,
                by: actor.user().clone(),
            };
            self.add_network(actor, network, label, added, Some(self.address_limit))
                .await
        })
        .await
    }

    /// Adds a trusted network beyond the address-space limit: the explicit
    /// override, audited apart (`AuditEvent::NetworkAddedBeyondLimit`).
    ///
    /// # Errors
    ///
    /// As [`Twofa::add_trusted_network`], without the limit.
    pub async fn add_trusted_network_beyond_limit(
        &self,
        actor: &Actor,
        network: Cidr,
        label: &str,
    ) -> Result<(), AdminError> {
        crate::observe::operation(
            "add_trusted_network_beyond_limit",
            Some(actor.user()),
            async {
                let added = AuditEvent::NetworkAddedBeyondLimit {
                    network,
                    by: actor.user().clone(),
                };
                self.add_network(actor, network, label, added, None).await
            },
        )
        .await
    }

    async fn add_network(
        &self,
        actor: &Actor,
        network: Cidr,
        label: &str,
        added: AuditEvent,
        limit: Option<AddressSpaceLimit>,
    ) -> Result<(), AdminError> {
        let now = self.clock.now();
        let by = ActorId::new(actor.user().as_str()).map_err(|_| AdminError::InvalidEntry)?;
        self.change_allowlist(actor, now, added, |allowlist, now| {
            let entry = NetworkEntry::new(network, label, by.clone(), now)
                .map_err(|_| AdminError::InvalidEntry)?;
            let inserted = match limit {
                Some(limit) => allowlist.insert_within(entry, limit),
                None => allowlist.insert(entry),
            };
            inserted.map_err(|error| match error {
                AllowlistError::Duplicate { .. } => AdminError::DuplicateNetwork,
                AllowlistError::TooMuchAddressSpace { .. } => AdminError::TooMuchAddressSpace,
                _ => AdminError::AllowlistFull,
            })
        })
        .await
    }

    /// Removes a trusted network. Grants earned on it stop working at once
    /// (the decision checks that the entry a grant was earned on is still
    /// listed, added at the same instant), also if the network is added
    /// again later.
    ///
    /// # Errors
    ///
    /// [`AdminError::NotCompanyAdmin`], [`AdminError::NetworkNotListed`],
    /// [`AdminError::Unavailable`].
    pub async fn remove_trusted_network(
        &self,
        actor: &Actor,
        network: Cidr,
    ) -> Result<(), AdminError> {
        crate::observe::operation("remove_trusted_network", Some(actor.user()), async {
            let now = self.clock.now();
            let removed = AuditEvent::NetworkRemoved {
                network,
                by: actor.user().clone(),
            };
            self.change_allowlist(actor, now, removed, |allowlist, _| {
                allowlist
                    .remove(network)
                    .map(|_| ())
                    .ok_or(AdminError::NetworkNotListed)
            })
            .await
        })
        .await
    }

    /// Edits the actor's company allowlist (compare-and-swap) and audits
    /// `event` once the change is stored.
    async fn change_allowlist(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
        event: AuditEvent,
        edit: impl Fn(&mut Allowlist, DateTime<Utc>) -> Result<(), AdminError> + Send + Sync,
    ) -> Result<(), AdminError> {
        self.update_company(
            actor,
            |company, now| {
                let mut allowlist = company.allowlist().clone();
                edit(&mut allowlist, now)?;
                Ok(Some(company.clone().with_allowlist(allowlist)))
            },
            now,
        )
        .await?;
        self.audit_best_effort(now, actor.company(), actor.user(), event)
            .await;
        Ok(())
    }

    /// Ends a user's trusted-network grant: the next login is prompted.
    /// Returns whether there was an active grant.
    ///
    /// # Errors
    ///
    /// [`AdminError::NotCompanyAdmin`], [`AdminError::NotFound`] for a user
    /// of another company, [`AdminError::Unavailable`].
    pub async fn revoke_trust_grant(
        &self,
        actor: &Actor,
        user: &UserId,
    ) -> Result<bool, AdminError> {
        crate::observe::operation("revoke_trust_grant", Some(user), async {
            let now = self.clock.now();
            let record = self.load_user(user).await?.record;
            require_admin(actor, record.company())?;
            self.require_step_up(actor, now).await?;
            let by = ActorId::new(actor.user().as_str()).map_err(|_| AdminError::InvalidEntry)?;
            let revoked = self
                .revoke_grant(user, RevocationReason::AdminRevoked { by }, now)
                .await?;
            if revoked {
                self.audit_best_effort(
                    now,
                    actor.company(),
                    user,
                    AuditEvent::TrustGrantRevoked {
                        by: actor.user().clone(),
                    },
                )
                .await;
            }
            Ok(revoked)
        })
        .await
    }

    /// Clears a user's second factor (a lost phone): the user sets up a
    /// method again at the next login. Lifts a suspension and ends the
    /// user's trusted-network grant.
    ///
    /// # Errors
    ///
    /// [`AdminError::NotCompanyAdmin`], [`AdminError::NotFound`],
    /// [`AdminError::Unavailable`].
    pub async fn reset_factor(&self, actor: &Actor, user: &UserId) -> Result<(), AdminError> {
        crate::observe::operation("reset_factor", Some(user), async {
            let now = self.clock.now();
            let record = self.load_user(user).await?.record;
            require_admin(actor, record.company())?;
            self.require_step_up(actor, now).await?;
            let company = self.load_company(record.company()).await?.record;
            self.update_enrollment(user, &company, now, |e, ctx, rng| {
                match e.apply(Event::AdminReset, ctx, now, rng) {
                    Ok(Transition::Save(outcome)) => Change::Save(outcome),
                    Ok(_) => Change::Refuse(
                        None,
                        Failure::start_over(RejectionDetail::InconsistentRecord),
                    ),
                    Err(error) => Change::Refuse(None, enrollment_failure(error)),
                }
            })
            .await?;
            self.audit_best_effort(
                now,
                actor.company(),
                user,
                AuditEvent::FactorReset {
                    by: actor.user().clone(),
                },
            )
            .await;
            Ok(())
        })
        .await
    }

    /// The enrollment status of every user of the actor's company. Each
    /// row shows the name used for 2FA: the name the account was created
    /// with, or the one set since with [`Twofa::change_display_name`].
    ///
    /// # Errors
    ///
    /// [`AdminError::NotCompanyAdmin`], [`AdminError::Unavailable`] (a
    /// store failed or a record could not be opened).
    pub async fn enrollment_report(&self, actor: &Actor) -> Result<EnrollmentReport, AdminError> {
        crate::observe::operation("enrollment_report", Some(actor.user()), async {
            let now = self.clock.now();
            require_admin(actor, actor.company())?;
            let company = self.load_company(actor.company()).await?.record;
            let users = self.stores.users.list_company(actor.company()).await?;
            let mut employees = Vec::with_capacity(users.len());
            for stored in users {
                let record = stored.record;
                let enrollment = self.open(&record).map_err(AdminError::from)?;
                let summary = enrollment.summary(now);
                let email = record
                    .email()
                    .map(|email| email.expose_address().to_owned())
                    .unwrap_or_default();
                // The name used for 2FA, which the user may have changed
                // since the account was provisioned.
                let mut employee = EmployeeRecord::new(
                    record.user().clone(),
                    enrollment.display_name().as_str(),
                    email,
                    record.kind(),
                    twofa_trusted_network::eligibility(record.kind()),
                    enrollment.status(now),
                );
                if let Some(at) = summary.last_second_factor_at {
                    employee = employee.with_last_second_factor(at);
                }
                if let EnrollmentState::Enrolled(enrolled) = enrollment.state() {
                    let phone = enrolled.methods().iter().find_map(|m| match m.factor() {
                        Factor::Phone(phone) => Some(phone.number().expose_e164().to_owned()),
                        _ => None,
                    });
                    if let Some(hint) = phone.and_then(|n| PhoneHint::from_number(&n).ok()) {
                        employee = employee.with_phone_hint(hint);
                    }
                }
                employees.push(employee);
            }
            EnrollmentReport::build(company.settings(), employees, now)
                .map_err(|_| AdminError::Report)
        })
        .await
    }
}
