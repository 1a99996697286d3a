//! Company 2FA settings: the one-way "require 2FA for all users" switch.

use chrono::{DateTime, Utc};
use twofa_types::{CompanyId, UserId};

/// Whether a company requires two-factor authentication of every user.
///
/// ```text
///                 enforce(admin, now)
///   NotEnforced ───────────────────────▶ Enforced { by, at }
///                                          │   ▲
///                                          └───┘ enforce again: no change, no event
/// ```
///
/// There is no transition back. [`CompanySettings`] exposes no operation that
/// leaves `Enforced`, and [`CompanySettings::accept_loaded`] refuses a stored
/// record that claims to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(
        tag = "state",
        rename_all = "snake_case",
        try_from = "EnforcementRecord"
    )
)]
#[non_exhaustive]
pub enum Enforcement {
    /// Users may set up 2FA, or defer it within the company policy.
    NotEnforced,
    /// Every user must use 2FA; users without an active method are sent to
    /// set-up at their next login and cannot defer it.
    Enforced {
        /// The administrator who enabled enforcement.
        by: UserId,
        /// When enforcement was enabled.
        at: DateTime<Utc>,
    },
}

/// Stored form of [`Enforcement`], checked field by field when read: `by`
/// and `at` are required when enforced and refused when not, and nothing
/// else is accepted.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EnforcementRecord {
    state: EnforcementState,
    #[serde(default)]
    by: Option<UserId>,
    #[serde(default)]
    at: Option<DateTime<Utc>>,
}

#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum EnforcementState {
    NotEnforced,
    Enforced,
}

/// Why a stored enforcement record was refused.
#[cfg(feature = "serde")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum EnforcementRecordError {
    #[error("an enforced record must name who enforced 2fa and when")]
    MissingEnforcer,
    #[error("a record that is not enforced must not name an enforcer or time")]
    UnexpectedEnforcer,
}

#[cfg(feature = "serde")]
impl TryFrom<EnforcementRecord> for Enforcement {
    type Error = EnforcementRecordError;

    fn try_from(record: EnforcementRecord) -> Result<Self, EnforcementRecordError> {
        match (record.state, record.by, record.at) {
            (EnforcementState::NotEnforced, None, None) => Ok(Self::NotEnforced),
            (EnforcementState::NotEnforced, _, _) => {
                Err(EnforcementRecordError::UnexpectedEnforcer)
            }
            (EnforcementState::Enforced, Some(by), Some(at)) => Ok(Self::Enforced { by, at }),
            (EnforcementState::Enforced, _, _) => Err(EnforcementRecordError::MissingEnforcer),
        }
    }
}

/// The role an actor holds in a company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum CompanyRole {
    /// A company administrator: may change the company's authentication
    /// settings.
    Admin,
    /// Any other user of the company.
    Member,
}

impl CompanyRole {
    /// Stable lowercase name (`admin`, `member`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }
}

/// Who is asking to change the company settings, as established by the
/// service's own authentication and authorization.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor {
    user: UserId,
    company: CompanyId,
    role: CompanyRole,
}

impl Actor {
    /// An actor: `user`, holding `role` in `company`.
    #[must_use]
    pub const fn new(user: UserId, company: CompanyId, role: CompanyRole) -> Self {
        Self {
            user,
            company,
            role,
        }
    }

    /// The acting user.
    #[must_use]
    pub const fn user(&self) -> &UserId {
        &self.user
    }

    /// The company in which the actor holds [`Actor::role`].
    #[must_use]
    pub const fn company(&self) -> &CompanyId {
        &self.company
    }

    /// The actor's role in [`Actor::company`].
    #[must_use]
    pub const fn role(&self) -> CompanyRole {
        self.role
    }
}

/// Why a request to enforce 2FA was refused. The settings are unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum EnforceError {
    /// Only a company administrator may require 2FA for the company.
    #[error("only a company administrator may require 2fa, the actor is a {}", role.as_str())]
    NotCompanyAdmin {
        /// The role the actor holds.
        role: CompanyRole,
    },
    /// The actor's role is in a different company from the settings'.
    #[error("the actor belongs to a different company")]
    OtherCompany,
}

/// Why a loaded settings record was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The loaded record is of another company than the previous one.
    #[error("loaded settings belong to a different company")]
    OtherCompany,
    /// The loaded record says "not enforced" after an earlier one said
    /// "enforced": enforcement never turns off.
    #[error("loaded settings turn 2fa enforcement off, which is never allowed")]
    EnforcementReverted,
    /// The loaded record names another administrator or time for an
    /// enforcement that was already recorded: history does not change.
    #[error("loaded settings rewrite who enforced 2fa or when")]
    EnforcementRewritten,
}

/// A record of the audit trail. Holds identifiers and times only, never a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "event", deny_unknown_fields)
)]
#[non_exhaustive]
pub enum CompanyEvent {
    /// A company administrator required 2FA for every user of the company.
    #[cfg_attr(feature = "serde", serde(rename = "company.2fa_enforced"))]
    EnforcementEnabled {
        /// The company.
        company: CompanyId,
        /// The administrator who enabled enforcement.
        actor: UserId,
        /// When.
        at: DateTime<Utc>,
    },
}

impl CompanyEvent {
    /// Stable name of [`CompanyEvent::EnforcementEnabled`].
    pub const ENFORCEMENT_ENABLED: &'static str = "company.2fa_enforced";

    /// The event's stable name, for log pipelines and alert rules.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::EnforcementEnabled { .. } => Self::ENFORCEMENT_ENABLED,
        }
    }
}

/// What [`CompanySettings::enforce`] did.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[must_use = "the new settings must be stored and the audit event recorded"]
#[non_exhaustive]
pub enum EnforceOutcome {
    /// Enforcement is now on: store `settings` and record `event`.
    Enabled {
        /// The new settings.
        settings: CompanySettings,
        /// The audit event to record.
        event: CompanyEvent,
    },
    /// Enforcement was already on. Nothing changed and there is no event:
    /// the original administrator and time stay on record.
    AlreadyEnforced {
        /// The unchanged settings.
        settings: CompanySettings,
    },
}

impl EnforceOutcome {
    /// The settings after the request, changed or not.
    #[must_use]
    pub const fn settings(&self) -> &CompanySettings {
        match self {
            Self::Enabled { settings, .. } | Self::AlreadyEnforced { settings } => settings,
        }
    }

    /// The audit event to record, if the request changed anything.
    #[must_use]
    pub const fn event(&self) -> Option<&CompanyEvent> {
        match self {
            Self::Enabled { event, .. } => Some(event),
            Self::AlreadyEnforced { .. } => None,
        }
    }
}

/// A company's 2FA settings: which company, and whether 2FA is enforced.
///
/// The only transition is [`CompanySettings::enforce`], from not enforced to
/// enforced. There is deliberately no way to turn enforcement off.
///
/// # Example
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use twofa_enforcement::{Actor, CompanyRole, CompanySettings, EnforceOutcome};
/// use twofa_types::{CompanyId, UserId};
///
/// let acme = CompanyId::new("acme")?;
/// let settings = CompanySettings::new(acme.clone());
/// let admin = Actor::new(UserId::new("alice")?, acme, CompanyRole::Admin);
/// let now = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
///
/// let outcome = settings.enforce(&admin, now)?;
/// assert!(outcome.settings().is_enforced());
/// assert_eq!(outcome.event().map(|e| e.name()), Some("company.2fa_enforced"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct CompanySettings {
    company: CompanyId,
    enforcement: Enforcement,
}

impl CompanySettings {
    /// Settings of a company that does not enforce 2FA yet.
    #[must_use]
    pub const fn new(company: CompanyId) -> Self {
        Self {
            company,
            enforcement: Enforcement::NotEnforced,
        }
    }

    /// Rebuilds settings from a stored record's fields.
    ///
    /// # Security
    ///
    /// A record read from storage may be stale or forged. Whenever an earlier
    /// value is known (the last one this process saw, or the previous version
    /// in the store), pass the restored value through
    /// [`CompanySettings::accept_loaded`] so a record that turns enforcement
    /// off is refused.
    #[must_use]
    pub const fn restore(company: CompanyId, enforcement: Enforcement) -> Self {
        Self {
            company,
            enforcement,
        }
    }

    /// The company these settings belong to.
    #[must_use]
    pub const fn company(&self) -> &CompanyId {
        &self.company
    }

    /// The enforcement state.
    #[must_use]
    pub const fn enforcement(&self) -> &Enforcement {
        &self.enforcement
    }

    /// Whether 2FA is enforced for every user of the company.
    #[must_use]
    pub const fn is_enforced(&self) -> bool {
        matches!(self.enforcement, Enforcement::Enforced { .. })
    }

    /// Requires 2FA for every user of the company, from `now` on.
    ///
    /// Enabling is permanent. Enabling again is an idempotent no-op
    /// ([`EnforceOutcome::AlreadyEnforced`], no second audit event), so a
    /// double click or two administrators acting at once cannot overwrite who
    /// enabled it and when.
    ///
    /// # Errors
    ///
    /// - [`EnforceError::OtherCompany`] if the actor's role is in another
    ///   company;
    /// - [`EnforceError::NotCompanyAdmin`] if the actor is not a company
    ///   administrator.
    ///
    /// Permission is checked first, also when enforcement is already on. On
    /// error `self` is unchanged (it is borrowed immutably).
    pub fn enforce(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<EnforceOutcome, EnforceError> {
        if actor.company != self.company {
            return Err(EnforceError::OtherCompany);
        }
        if actor.role != CompanyRole::Admin {
            return Err(EnforceError::NotCompanyAdmin { role: actor.role });
        }
        match self.enforcement {
            Enforcement::Enforced { .. } => Ok(EnforceOutcome::AlreadyEnforced {
                settings: self.clone(),
            }),
            Enforcement::NotEnforced => Ok(EnforceOutcome::Enabled {
                settings: Self {
                    company: self.company.clone(),
                    enforcement: Enforcement::Enforced {
                        by: actor.user.clone(),
                        at: now,
                    },
                },
                event: CompanyEvent::EnforcementEnabled {
                    company: self.company.clone(),
                    actor: actor.user.clone(),
                    at: now,
                },
            }),
        }
    }

    /// Accepts `loaded` as the successor of `previous`, or refuses it.
    ///
    /// Use it whenever settings are read from storage and an earlier value
    /// is known. To check a whole stored history, fold it pairwise.
    ///
    /// # Errors
    ///
    /// - [`LoadError::OtherCompany`] if the companies differ;
    /// - [`LoadError::EnforcementReverted`] if `previous` is enforced and
    ///   `loaded` is not;
    /// - [`LoadError::EnforcementRewritten`] if both are enforced but name a
    ///   different administrator or time.
    pub fn accept_loaded(previous: &Self, loaded: Self) -> Result<Self, LoadError> {
        if previous.company != loaded.company {
            return Err(LoadError::OtherCompany);
        }
        match (&previous.enforcement, &loaded.enforcement) {
            (Enforcement::Enforced { .. }, Enforcement::NotEnforced) => {
                Err(LoadError::EnforcementReverted)
            }
            (
                Enforcement::Enforced { by, at },
                Enforcement::Enforced {
                    by: new_by,
                    at: new_at,
                },
            ) if by != new_by || at != new_at => Err(LoadError::EnforcementRewritten),
            _ => Ok(loaded),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    fn acme() -> CompanyId {
        CompanyId::new("acme").unwrap()
    }

    fn actor(user: &str, role: CompanyRole) -> Actor {
        Actor::new(UserId::new(user).unwrap(), acme(), role)
    }

    #[test]
    fn admin_enables_with_event() {
        let outcome = CompanySettings::new(acme())
            .enforce(&actor("alice", CompanyRole::Admin), t(0))
            .unwrap();
        let EnforceOutcome::Enabled { settings, event } = outcome else {
            panic!("expected Enabled");
        };
        assert_eq!(
            settings.enforcement(),
            &Enforcement::Enforced {
                by: UserId::new("alice").unwrap(),
                at: t(0)
            }
        );
        assert_eq!(
            event,
            CompanyEvent::EnforcementEnabled {
                company: acme(),
                actor: UserId::new("alice").unwrap(),
                at: t(0)
            }
        );
        assert_eq!(event.name(), "company.2fa_enforced");
    }

    #[test]
    fn second_enable_keeps_first_record() {
        let first = CompanySettings::new(acme())
            .enforce(&actor("alice", CompanyRole::Admin), t(0))
            .unwrap();
        let second = first
            .settings()
            .enforce(&actor("bob", CompanyRole::Admin), t(10))
            .unwrap();
        assert_eq!(second.event(), None);
        assert_eq!(second.settings(), first.settings());
    }

    #[test]
    fn member_and_foreign_admin_are_refused() {
        let settings = CompanySettings::new(acme());
        assert_eq!(
            settings.enforce(&actor("mallory", CompanyRole::Member), t(0)),
            Err(EnforceError::NotCompanyAdmin {
                role: CompanyRole::Member
            })
        );
        let foreign = Actor::new(
            UserId::new("eve").unwrap(),
            CompanyId::new("other").unwrap(),
            CompanyRole::Admin,
        );
        assert_eq!(
            settings.enforce(&foreign, t(0)),
            Err(EnforceError::OtherCompany)
        );
        assert!(!settings.is_enforced());
    }

    #[test]
    fn loading_checks_direction() {
        let off = CompanySettings::new(acme());
        let on = off
            .enforce(&actor("alice", CompanyRole::Admin), t(0))
            .unwrap()
            .settings()
            .clone();
        assert_eq!(
            CompanySettings::accept_loaded(&off, on.clone()),
            Ok(on.clone())
        );
        assert_eq!(
            CompanySettings::accept_loaded(&on, on.clone()),
            Ok(on.clone())
        );
        assert_eq!(
            CompanySettings::accept_loaded(&off, off.clone()),
            Ok(off.clone())
        );
        assert_eq!(
            CompanySettings::accept_loaded(&on, off.clone()),
            Err(LoadError::EnforcementReverted)
        );
        let rewritten = CompanySettings::restore(
            acme(),
            Enforcement::Enforced {
                by: UserId::new("alice").unwrap(),
                at: t(1),
            },
        );
        assert_eq!(
            CompanySettings::accept_loaded(&on, rewritten),
            Err(LoadError::EnforcementRewritten)
        );
        let other = CompanySettings::new(CompanyId::new("other").unwrap());
        assert_eq!(
            CompanySettings::accept_loaded(&off, other),
            Err(LoadError::OtherCompany)
        );
    }
}
