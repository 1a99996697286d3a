//! The demo accounts and their password check.
//!
//! A real portal keeps its own password store (a memory-hard hash such as
//! Argon2id per account, RFC 9106) and its own rate limits; the second
//! factor starts where the password check ends. The demo compares fixed
//! passwords in constant time so that the login page behaves like one.

use subtle::ConstantTimeEq;
use twofa::enforcement::CompanyRole;
use twofa::types::AccountKind;

/// One seeded account.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DemoAccount {
    /// The login name typed on the login page (also the user id).
    pub login: &'static str,
    /// The demo password.
    pub password: &'static str,
    /// The name shown in the portal.
    pub display_name: &'static str,
    /// The e-mail address (the email re-send channel).
    pub email: &'static str,
    /// Partner employee or end-user client.
    pub kind: AccountKind,
    /// Administrator of the company or not.
    pub role: CompanyRole,
}

impl std::fmt::Debug for DemoAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoAccount")
            .field("login", &self.login)
            .field("kind", &self.kind)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl DemoAccount {
    /// What the account is, in words.
    #[must_use]
    pub fn description(&self) -> &'static str {
        match (self.kind, self.role) {
            (AccountKind::EndUserClient, _) => "end-user client account",
            (_, CompanyRole::Admin) => "partner admin",
            _ => "partner employee",
        }
    }
}

/// The partner company every demo account belongs to.
pub const DEMO_COMPANY: &str = "acme-it";

/// The seeded accounts.
pub const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        login: "admin",
        password: "admin-demo-password",
        display_name: "Ada Admin",
        email: "ada@acme-it.example",
        kind: AccountKind::PartnerEmployee,
        role: CompanyRole::Admin,
    },
    DemoAccount {
        login: "alice",
        password: "alice-demo-password",
        display_name: "Alice Engineer",
        email: "alice@acme-it.example",
        kind: AccountKind::PartnerEmployee,
        role: CompanyRole::Member,
    },
    DemoAccount {
        login: "bob",
        password: "bob-demo-password",
        display_name: "Bob Technician",
        email: "bob@acme-it.example",
        kind: AccountKind::PartnerEmployee,
        role: CompanyRole::Member,
    },
    DemoAccount {
        login: "carol",
        password: "carol-demo-password",
        display_name: "Carol Customer",
        email: "carol@client.example",
        kind: AccountKind::EndUserClient,
        role: CompanyRole::Member,
    },
];

/// Passwords longer than this are refused (and never compared).
const MAX_PASSWORD: usize = 128;

/// A password padded to a fixed width with its length appended, so that
/// comparing two of them takes the same time whatever their lengths.
fn padded(password: &str) -> Option<[u8; MAX_PASSWORD + 1]> {
    let bytes = password.as_bytes();
    if bytes.len() > MAX_PASSWORD {
        return None;
    }
    let len = u8::try_from(bytes.len()).ok()?;
    let mut out = [0_u8; MAX_PASSWORD + 1];
    out.get_mut(..bytes.len())?.copy_from_slice(bytes);
    *out.get_mut(MAX_PASSWORD)? = len;
    Some(out)
}

/// The demo account whose login and password were typed, or `None`.
///
/// # Security
///
/// The same work is done for an unknown login as for a known one (the
/// password is compared with a dummy), so the answer time does not tell
/// which logins exist; the caller shows one message for every failure.
#[must_use]
pub fn check_password(login: &str, password: &str) -> Option<&'static DemoAccount> {
    check_password_in(DEMO_ACCOUNTS.iter(), login, password)
}

/// [`check_password`] over any set of accounts.
pub(crate) fn check_password_in<'a>(
    mut accounts: impl Iterator<Item = &'a DemoAccount>,
    login: &str,
    password: &str,
) -> Option<&'a DemoAccount> {
    let account = accounts.find(|a| a.login == login);
    let expected = account.map_or("\u{0}unknown account", |a| a.password);
    let typed = padded(password)?;
    let wanted = padded(expected)?;
    let same = bool::from(typed.ct_eq(&wanted));
    account.filter(|_| same)
}

/// The password of every generated load-test account.
pub const LOAD_PASSWORD: &str = "load-demo-password";

/// `count` generated partner employees (`load-00001`, ...), for the load
/// bench. Allocated once for the life of the process, like the demo
/// accounts.
pub(crate) fn load_accounts(count: u16) -> Vec<&'static DemoAccount> {
    (1..=count)
        .map(|n| {
            let login: &'static str = Box::leak(format!("load-{n:05}").into_boxed_str());
            let display_name: &'static str = Box::leak(format!("Load Test {n}").into_boxed_str());
            let email: &'static str =
                Box::leak(format!("load-{n:05}@acme-it.example").into_boxed_str());
            let account: &'static DemoAccount = Box::leak(Box::new(DemoAccount {
                login,
                password: LOAD_PASSWORD,
                display_name,
                email,
                kind: AccountKind::PartnerEmployee,
                role: CompanyRole::Member,
            }));
            account
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_account_accepts_its_own_password_only() {
        for account in DEMO_ACCOUNTS {
            assert_eq!(
                check_password(account.login, account.password),
                Some(account)
            );
            for other in DEMO_ACCOUNTS.iter().filter(|o| o.login != account.login) {
                assert_eq!(check_password(account.login, other.password), None);
            }
            let mut tampered = account.password.to_owned();
            tampered.push('x');
            assert_eq!(check_password(account.login, &tampered), None);
            assert_eq!(check_password(account.login, ""), None);
        }
    }

    #[test]
    fn unknown_logins_and_oversized_passwords_are_refused() {
        assert_eq!(check_password("mallory", "admin-demo-password"), None);
        assert_eq!(check_password("mallory", "\u{0}unknown account"), None);
        let long = "a".repeat(MAX_PASSWORD + 1);
        assert_eq!(check_password("admin", &long), None);
    }
}
