//! Provisioning: creating, changing and deleting the companies and users
//! the service knows, as the application's own account management does.
//!
//! These are the application's calls (its sign-up, its admin back office,
//! its directory sync), not the end user's: they take no second factor.
//! Each is a compare-and-swap on one record, audited, with a typed error
//! that says what was wrong. Raw store access ([`Twofa::stores`]) stays for
//! migrations and tools.

use chrono::{DateTime, Utc};
use twofa_delivery::EmailAddress;
use twofa_enforcement::{CompanyPolicy, CompanyRole};
use twofa_enrollment::DisplayName;
use twofa_trusted_network::RevocationReason;
use twofa_types::{AccountKind, CompanyId, UserId};

use crate::audit::AuditEvent;
use crate::failure::Failure;
use crate::records::{CompanyRecord, UserRecord};
use crate::seal::SealedEnrollment;
use crate::service::Twofa;
use crate::store::{SaveError, StoreError, Versioned};

/// Why a provisioning call changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// A company with this id exists already.
    #[error("a company with this id exists already")]
    CompanyExists,
    /// A user with this id exists already.
    #[error("a user with this id exists already")]
    UserExists,
    /// No company has this id.
    #[error("no company has this id")]
    UnknownCompany,
    /// No user has this id.
    #[error("no user has this id")]
    UnknownUser,
    /// The company still has users; delete or move them first.
    #[error("the company still has {users} users")]
    CompanyHasUsers {
        /// How many.
        users: usize,
    },
    /// The company enforces 2FA, which can never be undone: deleting it
    /// (and creating it again) would undo it.
    #[error("a company that enforces two-factor authentication cannot be deleted")]
    CompanyEnforces,
    /// The display name is empty, longer than 64 characters or holds
    /// control characters.
    #[error("the display name is empty, too long or holds control characters")]
    InvalidDisplayName,
    /// The record changed under every attempt; try again.
    #[error("the record kept changing; try again")]
    Contention,
    /// The store failed (or the user's sealed enrollment could not be
    /// opened or sealed again). Nothing changed.
    #[error("store unavailable")]
    Unavailable,
}

impl From<StoreError> for ProvisionError {
    fn from(_: StoreError) -> Self {
        Self::Unavailable
    }
}

impl From<Failure> for ProvisionError {
    fn from(_: Failure) -> Self {
        Self::Unavailable
    }
}

/// A company to create: its id and, optionally, its own policy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewCompany {
    company: CompanyId,
    policy: CompanyPolicy,
}

impl NewCompany {
    /// A company with the portal's defaults (2FA not enforced, the default
    /// policy, no trusted network).
    #[must_use]
    pub fn new(company: CompanyId) -> Self {
        Self {
            company,
            policy: CompanyPolicy::default(),
        }
    }

    /// The company's own policy instead of the default.
    #[must_use]
    pub fn with_policy(mut self, policy: CompanyPolicy) -> Self {
        self.policy = policy;
        self
    }
}

/// A user to create.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewUser {
    user: UserId,
    company: CompanyId,
    kind: AccountKind,
    role: CompanyRole,
    display_name: String,
    email: Option<EmailAddress>,
}

impl NewUser {
    /// A user of `company`, of the given kind, with the name shown in
    /// authenticator apps and reports. The name is checked when the user is
    /// created ([`ProvisionError::InvalidDisplayName`]).
    #[must_use]
    pub fn new(
        user: UserId,
        company: CompanyId,
        kind: AccountKind,
        display_name: impl Into<String>,
    ) -> Self {
        Self {
            user,
            company,
            kind,
            role: CompanyRole::Member,
            display_name: display_name.into(),
            email: None,
        }
    }

    /// The user's email address: codes can be re-sent to it, and security
    /// notices go to it.
    #[must_use]
    pub fn with_email(mut self, email: EmailAddress) -> Self {
        self.email = Some(email);
        self
    }

    /// The user's role in the company (a member by default).
    #[must_use]
    pub fn with_role(mut self, role: CompanyRole) -> Self {
        self.role = role;
        self
    }
}

/// What to change on a user; fields left out stay as they are.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UserUpdate {
    display_name: Option<String>,
    email: Option<Option<EmailAddress>>,
    kind: Option<AccountKind>,
    role: Option<CompanyRole>,
}

impl UserUpdate {
    /// No change yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A new name for reports and the account (the name in authenticator
    /// apps already set up does not change).
    #[must_use]
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// A new email address (`None`: no email address any more).
    #[must_use]
    pub fn with_email(mut self, email: Option<EmailAddress>) -> Self {
        self.email = Some(email);
        self
    }

    /// A new account kind. Ends the user's trusted-network grant.
    #[must_use]
    pub fn with_kind(mut self, kind: AccountKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// A new role in the company (it may change which methods the
    /// company's policy requires of the user).
    #[must_use]
    pub fn with_role(mut self, role: CompanyRole) -> Self {
        self.role = Some(role);
        self
    }
}

impl Twofa {
    /// Creates a company.
    ///
    /// # Errors
    ///
    /// [`ProvisionError::CompanyExists`], [`ProvisionError::Unavailable`].
    pub async fn create_company(&self, company: NewCompany) -> Result<(), ProvisionError> {
        crate::observe::operation("create_company", None, async {
            let now = self.clock.now();
            let record = CompanyRecord::new(company.company.clone()).with_policy(company.policy);
            match self
                .stores
                .companies
                .save(&company.company, record, None)
                .await
            {
                Ok(_) => {}
                Err(SaveError::Conflict) => return Err(ProvisionError::CompanyExists),
                Err(SaveError::Store(_)) => return Err(ProvisionError::Unavailable),
            }
            self.audit_provisioning(now, &company.company, None, AuditEvent::CompanyCreated)
                .await;
            Ok(())
        })
        .await
    }

    /// Deletes a company that has no users left and does not enforce 2FA.
    ///
    /// # Errors
    ///
    /// [`ProvisionError::UnknownCompany`], [`ProvisionError::CompanyHasUsers`],
    /// [`ProvisionError::CompanyEnforces`], [`ProvisionError::Contention`],
    /// [`ProvisionError::Unavailable`].
    pub async fn delete_company(&self, company: &CompanyId) -> Result<(), ProvisionError> {
        crate::observe::operation("delete_company", None, async {
            let now = self.clock.now();
            for _ in 0..self.max_store_attempts {
                let loaded = self
                    .stores
                    .companies
                    .load(company)
                    .await?
                    .ok_or(ProvisionError::UnknownCompany)?;
                if loaded.record.settings().is_enforced() {
                    return Err(ProvisionError::CompanyEnforces);
                }
                let users = self.stores.users.list_company(company).await?.len();
                if users > 0 {
                    return Err(ProvisionError::CompanyHasUsers { users });
                }
                match self.stores.companies.remove(company, loaded.version).await {
                    Ok(()) => {
                        self.audit_provisioning(now, company, None, AuditEvent::CompanyDeleted)
                            .await;
                        return Ok(());
                    }
                    Err(SaveError::Conflict) => {}
                    Err(SaveError::Store(StoreError::Refused)) => {
                        return Err(ProvisionError::CompanyEnforces);
                    }
                    Err(SaveError::Store(_)) => return Err(ProvisionError::Unavailable),
                }
            }
            Err(ProvisionError::Contention)
        })
        .await
    }

    /// Creates a user of an existing company, with no 2FA set up: the next
    /// login shows the set-up screen (or lets the user in, as the
    /// company's policy says).
    ///
    /// # Errors
    ///
    /// [`ProvisionError::UnknownCompany`], [`ProvisionError::UserExists`],
    /// [`ProvisionError::InvalidDisplayName`], [`ProvisionError::Unavailable`].
    pub async fn create_user(&self, user: NewUser) -> Result<(), ProvisionError> {
        crate::observe::operation("create_user", None, async {
            let now = self.clock.now();
            DisplayName::new(&user.display_name).map_err(|_| ProvisionError::InvalidDisplayName)?;
            if self.stores.companies.load(&user.company).await?.is_none() {
                return Err(ProvisionError::UnknownCompany);
            }
            let mut record = UserRecord::new(
                user.user.clone(),
                user.company.clone(),
                user.kind,
                user.display_name,
            )
            .with_role(user.role);
            if let Some(email) = user.email {
                record = record.with_email(email);
            }
            match self.stores.users.save(&user.user, record, None).await {
                Ok(_) => {}
                Err(SaveError::Conflict) => return Err(ProvisionError::UserExists),
                Err(SaveError::Store(_)) => return Err(ProvisionError::Unavailable),
            }
            self.audit_provisioning(
                now,
                &user.company,
                Some(&user.user),
                AuditEvent::UserCreated,
            )
            .await;
            Ok(())
        })
        .await
    }

    /// The stored record of a user (identity, company, kind, and the
    /// sealed enrollment).
    ///
    /// # Errors
    ///
    /// [`ProvisionError::UnknownUser`], [`ProvisionError::Unavailable`].
    pub async fn user(&self, user: &UserId) -> Result<UserRecord, ProvisionError> {
        crate::observe::operation("user", Some(user), async {
            self.stores
                .users
                .load(user)
                .await?
                .map(|loaded| loaded.record)
                .ok_or(ProvisionError::UnknownUser)
        })
        .await
    }

    /// Changes a user's display name, email address or account kind.
    ///
    /// A new email address also becomes the one the user's codes can be
    /// re-sent to. A change of email or kind ends the user's
    /// trusted-network grant, so the next login from a trusted network is
    /// prompted.
    ///
    /// # Errors
    ///
    /// [`ProvisionError::UnknownUser`], [`ProvisionError::InvalidDisplayName`],
    /// [`ProvisionError::Contention`], [`ProvisionError::Unavailable`].
    pub async fn update_user(
        &self,
        user: &UserId,
        update: UserUpdate,
    ) -> Result<(), ProvisionError> {
        crate::observe::operation("update_user", Some(user), async {
            let now = self.clock.now();
            if let Some(name) = &update.display_name {
                DisplayName::new(name).map_err(|_| ProvisionError::InvalidDisplayName)?;
            }
            for _ in 0..self.max_store_attempts {
                let loaded = self
                    .stores
                    .users
                    .load(user)
                    .await?
                    .ok_or(ProvisionError::UnknownUser)?;
                let (next, ends_trust) = self.updated_record(&loaded, &update)?;
                if next == loaded.record {
                    return Ok(());
                }
                let company = next.company().clone();
                match self
                    .stores
                    .users
                    .save(user, next, Some(loaded.version))
                    .await
                {
                    Ok(_) => {
                        if ends_trust {
                            self.revoke_grant(user, RevocationReason::AccountChanged, now)
                                .await?;
                        }
                        self.audit_provisioning(now, &company, Some(user), AuditEvent::UserUpdated)
                            .await;
                        return Ok(());
                    }
                    Err(SaveError::Conflict) => {}
                    Err(SaveError::Store(_)) => return Err(ProvisionError::Unavailable),
                }
            }
            Err(ProvisionError::Contention)
        })
        .await
    }

    /// The record after `update`, and whether the change ends the user's
    /// trusted-network grant.
    fn updated_record(
        &self,
        loaded: &Versioned<UserRecord>,
        update: &UserUpdate,
    ) -> Result<(UserRecord, bool), ProvisionError> {
        let record = &loaded.record;
        let mut next = UserRecord::new(
            record.user().clone(),
            record.company().clone(),
            update.kind.unwrap_or(record.kind()),
            update
                .display_name
                .clone()
                .unwrap_or_else(|| record.display_name().to_owned()),
        )
        .with_role(update.role.unwrap_or(record.role()));
        let email = match &update.email {
            Some(email) => email.clone(),
            None => record.email().cloned(),
        };
        if let Some(email) = &email {
            next = next.with_email(email.clone());
        }
        let email_changed = email.as_ref() != record.email();
        let sealed = match record.enrollment() {
            Some(_) if email_changed => {
                // The enrollment keeps its own copy: the address codes are
                // re-sent to and notices go to.
                let mut enrollment = self.open(record)?.without_email();
                if let Some(email) = email {
                    enrollment = enrollment.with_email(email);
                }
                let mut rng = self.rng()?;
                Some(
                    SealedEnrollment::seal(&enrollment, &*self.sealer, &mut rng)
                        .map_err(|_| ProvisionError::Unavailable)?,
                )
            }
            other => other.cloned(),
        };
        let ends_trust = email_changed || next.kind() != record.kind();
        Ok((next.with_enrollment(sealed), ends_trust))
    }

    /// Deletes a user: the record with its enrollment, and the user's
    /// trusted-network grant. Pending logins of the user fail from then on
    /// (their user is unknown) and expire.
    ///
    /// # Errors
    ///
    /// [`ProvisionError::UnknownUser`], [`ProvisionError::Contention`],
    /// [`ProvisionError::Unavailable`].
    pub async fn delete_user(&self, user: &UserId) -> Result<(), ProvisionError> {
        crate::observe::operation("delete_user", Some(user), async {
            let now = self.clock.now();
            for _ in 0..self.max_store_attempts {
                let loaded = self
                    .stores
                    .users
                    .load(user)
                    .await?
                    .ok_or(ProvisionError::UnknownUser)?;
                match self.stores.users.remove(user, loaded.version).await {
                    Ok(()) => {
                        self.cache.forget_user(user);
                        // A user created again under the same id starts without
                        // the old grant.
                        self.remove_grant(user).await?;
                        self.audit_provisioning(
                            now,
                            loaded.record.company(),
                            Some(user),
                            AuditEvent::UserDeleted,
                        )
                        .await;
                        return Ok(());
                    }
                    Err(SaveError::Conflict) => {}
                    Err(SaveError::Store(_)) => return Err(ProvisionError::Unavailable),
                }
            }
            Err(ProvisionError::Contention)
        })
        .await
    }

    async fn remove_grant(&self, user: &UserId) -> Result<(), ProvisionError> {
        for _ in 0..self.max_store_attempts {
            let Some(stored) = self.stores.grants.load(user).await? else {
                return Ok(());
            };
            match self.stores.grants.remove(user, stored.version).await {
                Ok(()) => return Ok(()),
                Err(SaveError::Conflict) => {}
                Err(SaveError::Store(_)) => return Err(ProvisionError::Unavailable),
            }
        }
        Err(ProvisionError::Contention)
    }

    async fn audit_provisioning(
        &self,
        now: DateTime<Utc>,
        company: &CompanyId,
        user: Option<&UserId>,
        event: AuditEvent,
    ) {
        // The change is made; a failing audit log does not undo it.
        let _ignored = self.audit_required(now, Some(company), user, event).await;
    }
}
