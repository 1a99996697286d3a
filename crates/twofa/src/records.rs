//! The records the stores keep.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rand::Rng;
use twofa_delivery::EmailAddress;
use twofa_enforcement::{CompanyPolicy, CompanyRole, CompanySettings};
use twofa_enrollment::MethodId;
use twofa_trusted_network::Allowlist;
use twofa_types::{AccountKind, CompanyId, MethodSet, UserId};

use crate::audit::AuditEvent;
use crate::seal::SealedEnrollment;

/// One user as the 2FA service knows them.
///
/// The application creates the record when it creates the account (with no
/// enrollment); the service fills in the sealed enrollment as the user sets
/// up a method.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UserRecord {
    user: UserId,
    company: CompanyId,
    kind: AccountKind,
    /// Absent in records written before roles: a member.
    #[cfg_attr(feature = "serde", serde(default = "member"))]
    role: CompanyRole,
    display_name: String,
    email: Option<EmailAddress>,
    enrollment: Option<SealedEnrollment>,
}

#[cfg(feature = "serde")]
fn member() -> CompanyRole {
    CompanyRole::Member
}

impl UserRecord {
    /// A member of `company` with no 2FA set up.
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
            enrollment: None,
        }
    }

    /// The user's role in their company (a member unless set): the
    /// company may require a phishing-resistant method of its
    /// administrators.
    #[must_use]
    pub fn with_role(mut self, role: CompanyRole) -> Self {
        self.role = role;
        self
    }

    /// Administrator or member.
    #[must_use]
    pub fn role(&self) -> CompanyRole {
        self.role
    }

    /// The user's email address: codes can be re-sent to it.
    #[must_use]
    pub fn with_email(mut self, email: EmailAddress) -> Self {
        self.email = Some(email);
        self
    }

    /// The user's id.
    #[must_use]
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The user's company.
    #[must_use]
    pub fn company(&self) -> &CompanyId {
        &self.company
    }

    /// Partner employee or end-user client.
    #[must_use]
    pub fn kind(&self) -> AccountKind {
        self.kind
    }

    /// The name shown in reports and in the authenticator app.
    #[must_use]
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The email address, if any.
    #[must_use]
    pub fn email(&self) -> Option<&EmailAddress> {
        self.email.as_ref()
    }

    /// The sealed enrollment, `None` until the user first starts set-up.
    #[must_use]
    pub fn enrollment(&self) -> Option<&SealedEnrollment> {
        self.enrollment.as_ref()
    }

    pub(crate) fn with_enrollment(mut self, sealed: Option<SealedEnrollment>) -> Self {
        self.enrollment = sealed;
        self
    }

    /// This record with `sealed` as its enrollment, without copying the
    /// enrollment it replaces.
    pub(crate) fn resealed(&self, sealed: SealedEnrollment) -> Self {
        Self {
            user: self.user.clone(),
            company: self.company.clone(),
            kind: self.kind,
            role: self.role,
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            enrollment: Some(sealed),
        }
    }
}

/// One company: its enforcement switch, its policy and its trusted networks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CompanyRecord {
    settings: CompanySettings,
    policy: CompanyPolicy,
    allowlist: Allowlist,
}

impl CompanyRecord {
    /// A company with the portal's defaults: 2FA not enforced, the default
    /// policy, no trusted network.
    #[must_use]
    pub fn new(company: CompanyId) -> Self {
        Self {
            settings: CompanySettings::new(company),
            policy: CompanyPolicy::default(),
            allowlist: Allowlist::new(),
        }
    }

    /// The company's own policy instead of the default.
    #[must_use]
    pub fn with_policy(mut self, policy: CompanyPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The company's id.
    #[must_use]
    pub fn company(&self) -> &CompanyId {
        self.settings.company()
    }

    /// The enforcement switch.
    #[must_use]
    pub fn settings(&self) -> &CompanySettings {
        &self.settings
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &CompanyPolicy {
        &self.policy
    }

    /// The trusted networks.
    #[must_use]
    pub fn allowlist(&self) -> &Allowlist {
        &self.allowlist
    }

    pub(crate) fn with_settings(mut self, settings: CompanySettings) -> Self {
        self.settings = settings;
        self
    }

    pub(crate) fn with_allowlist(mut self, allowlist: Allowlist) -> Self {
        self.allowlist = allowlist;
        self
    }
}

/// The opaque handle of one login in progress, kept by the application in
/// the user's session between the password step and the second factor.
///
/// 128 random bits, written as 32 lower-case hex digits. It is bound to the
/// user it was issued for and expires; on its own it grants nothing.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub struct LoginTicket([u8; 16]);

/// A login ticket could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("login ticket is not 32 hex digits")]
#[non_exhaustive]
pub struct TicketParseError;

impl LoginTicket {
    pub(crate) fn generate(rng: &mut impl Rng) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }
}

impl fmt::Display for LoginTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for LoginTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Enough to tell tickets apart in a log, not enough to use one.
        let prefix = self.0.first().copied().unwrap_or_default();
        write!(f, "LoginTicket({prefix:02x}…)")
    }
}

impl FromStr for LoginTicket {
    type Err = TicketParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = text.as_bytes();
        if bytes.len() != 32 {
            return Err(TicketParseError);
        }
        let mut out = [0u8; 16];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let [high, low] = pair else {
                return Err(TicketParseError);
            };
            *slot = (hex_value(*high)? << 4) | hex_value(*low)?;
        }
        Ok(Self(out))
    }
}

fn hex_value(symbol: u8) -> Result<u8, TicketParseError> {
    match symbol {
        b'0'..=b'9' => Ok(symbol.wrapping_sub(b'0')),
        b'a'..=b'f' => Ok(symbol.wrapping_sub(b'a').wrapping_add(10)),
        _ => Err(TicketParseError),
    }
}

impl TryFrom<String> for LoginTicket {
    type Error = TicketParseError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<LoginTicket> for String {
    fn from(value: LoginTicket) -> Self {
        value.to_string()
    }
}

/// Where a login in progress stands.
///
/// ```text
///  begin_login ─┬─▶ SetUp ──(first code accepted, or "remind me later")──▶ Completed
///               └─▶ Challenge ──(code, recovery code or push approved)───▶ Completed
///                        └──(same, when every method of the user is
///                            switched off by the company)──▶ SetUp
/// ```
///
/// A ticket is refused in every stage from its `expires_at`, and for good
/// once `Completed`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum LoginStage {
    /// The user must set up (or may defer) a method.
    SetUp {
        /// The methods offered.
        methods: MethodSet,
        /// The end of the deferral "remind me later" offers, as the
        /// enforcement gate decided it when the screen was first shown
        /// (`None`: not offered). Taking it later defers to this instant,
        /// never to a later one.
        deferral_until: Option<DateTime<Utc>>,
    },
    /// The user must answer a second-factor challenge.
    Challenge {
        /// The enrolled method the user answers with.
        method: MethodId,
        /// The kinds of enrolled method the user may switch to for this
        /// challenge.
        #[cfg_attr(feature = "serde", serde(default = "MethodSet::empty"))]
        usable: MethodSet,
        /// Set when the company has switched off every method the user
        /// has: after the challenge, the login moves to set-up of one of
        /// these methods instead of completing.
        #[cfg_attr(feature = "serde", serde(default))]
        then_set_up: Option<MethodSet>,
    },
    /// The login completed at this instant; the ticket can no longer be used.
    Completed {
        /// When.
        at: DateTime<Utc>,
    },
}

/// A login in progress, stored under its [`LoginTicket`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PendingLogin {
    user: UserId,
    company: CompanyId,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    client_ip: Option<IpAddr>,
    stage: LoginStage,
}

impl PendingLogin {
    pub(crate) fn new(
        user: UserId,
        company: CompanyId,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        client_ip: Option<IpAddr>,
        stage: LoginStage,
    ) -> Self {
        Self {
            user,
            company,
            created_at,
            expires_at,
            client_ip,
            stage,
        }
    }

    /// The user the ticket was issued for.
    #[must_use]
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The user's company.
    #[must_use]
    pub fn company(&self) -> &CompanyId {
        &self.company
    }

    /// When the login began.
    #[must_use]
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// The first instant the ticket is refused.
    #[must_use]
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// The client address resolved when the login began (`None`: it could
    /// not be resolved, so no trusted network applies).
    #[must_use]
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client_ip
    }

    /// Where the login stands.
    #[must_use]
    pub fn stage(&self) -> &LoginStage {
        &self.stage
    }

    pub(crate) fn with_stage(mut self, stage: LoginStage) -> Self {
        self.stage = stage;
        self
    }
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AuditEntry {
    at: DateTime<Utc>,
    company: Option<CompanyId>,
    user: Option<UserId>,
    event: AuditEvent,
}

impl AuditEntry {
    /// An entry.
    #[must_use]
    pub fn new(
        at: DateTime<Utc>,
        company: Option<CompanyId>,
        user: Option<UserId>,
        event: AuditEvent,
    ) -> Self {
        Self {
            at,
            company,
            user,
            event,
        }
    }

    /// When it happened.
    #[must_use]
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// The company concerned, if known.
    #[must_use]
    pub fn company(&self) -> Option<&CompanyId> {
        self.company.as_ref()
    }

    /// The user concerned, if known.
    #[must_use]
    pub fn user(&self) -> Option<&UserId> {
        self.user.as_ref()
    }

    /// What happened.
    #[must_use]
    pub fn event(&self) -> &AuditEvent {
        &self.event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_round_trip_through_lower_case_hex_only() {
        let ticket: LoginTicket = "00ff10a0b1c2d3e4f5061728394a5b6c".parse().unwrap();
        assert_eq!(ticket.to_string(), "00ff10a0b1c2d3e4f5061728394a5b6c");
        for bad in [
            "",
            "00ff10a0b1c2d3e4f5061728394a5b6",
            "00ff10a0b1c2d3e4f5061728394a5b6c0",
            "00FF10A0B1C2D3E4F5061728394A5B6C",
            "00ff10a0b1c2d3e4f5061728394a5b6g",
            "00ff10a0b1c2d3e4 5061728394a5b6c",
        ] {
            assert_eq!(bad.parse::<LoginTicket>(), Err(TicketParseError), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_lower_case_hex_ticket_round_trips(text in "[0-9a-f]{32}") {
            let ticket: LoginTicket = text.parse().unwrap();
            proptest::prop_assert_eq!(ticket.to_string(), text);
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,40}") {
            let _ = text.parse::<LoginTicket>();
        }
    }

    #[test]
    fn ticket_debug_shows_only_a_prefix() {
        let ticket: LoginTicket = "abcdef0123456789abcdef0123456789".parse().unwrap();
        assert_eq!(format!("{ticket:?}"), "LoginTicket(ab…)");
    }
}
