//! Identifiers of users and companies, validated once.

use core::fmt;

/// The longest identifier accepted, in bytes.
///
/// Identifiers are opaque keys chosen by the service (database keys, UUIDs,
/// logins); 128 bytes holds all of them with room to spare and keeps a
/// hostile record from growing reports and audit events without bound.
pub const MAX_ID_LEN: usize = 128;

/// Why a string was refused as an identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The identifier was the empty string.
    #[error("identifier is empty")]
    Empty,
    /// The identifier was longer than [`MAX_ID_LEN`] bytes.
    #[error("identifier is {len} bytes long, the maximum is {max}")]
    TooLong {
        /// Length of the refused identifier, in bytes.
        len: usize,
        /// The maximum, [`MAX_ID_LEN`].
        max: usize,
    },
    /// The identifier contained a control character (line breaks, tabs, NUL
    /// and the like), which would corrupt logs and exports.
    #[error("identifier contains a control character")]
    ControlCharacter,
    /// The identifier contained white space other than the plain space
    /// (U+0020), or began or ended with a space: two ids that print alike
    /// would name different users.
    #[error("identifier contains white space other than inner spaces")]
    WhiteSpace,
}

/// The one rule for every identifier: 1 to [`MAX_ID_LEN`] bytes, no control
/// character, no white space other than the plain space, and no space at
/// either end.
fn validate(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if id.len() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            len: id.len(),
            max: MAX_ID_LEN,
        });
    }
    if id.chars().any(char::is_control) {
        return Err(IdError::ControlCharacter);
    }
    if id.chars().any(|c| c.is_whitespace() && c != ' ') || id.starts_with(' ') || id.ends_with(' ')
    {
        return Err(IdError::WhiteSpace);
    }
    Ok(())
}

macro_rules! identifier {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(
            feature = "serde",
            derive(serde::Serialize, serde::Deserialize),
            serde(try_from = "String", into = "String")
        )]
        pub struct $name(String);

        impl $name {
            /// Validates `id` into an identifier: 1 to [`MAX_ID_LEN`] bytes,
            /// no control character, no white space other than inner plain
            /// spaces (`john smith` is accepted, ` john` and `john\tsmith`
            /// are not).
            ///
            /// # Errors
            ///
            /// [`IdError`] says which part of the rule `id` breaks.
            pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
                let id = id.into();
                validate(&id)?;
                Ok(Self(id))
            }

            /// The identifier as a string slice.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;

            fn try_from(id: String) -> Result<Self, IdError> {
                Self::new(id)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;

            fn try_from(id: &str) -> Result<Self, IdError> {
                Self::new(id)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

identifier!(
    /// A company (tenant) of the portal.
    ///
    /// Not a secret: it appears in audit events and reports.
    CompanyId
);

identifier!(
    /// A user account of the portal: a partner employee, an end-user client
    /// account, or an administrator acting on the company settings.
    ///
    /// Not a secret: it appears in audit events and reports, and it is bound
    /// into the hash of every out-of-band code issued to the user.
    UserId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids() {
        assert_eq!(UserId::new("u-42").unwrap().as_str(), "u-42");
        assert_eq!(UserId::new("john smith").unwrap().as_str(), "john smith");
        assert_eq!(CompanyId::new("acme").unwrap().to_string(), "acme");
        assert!(UserId::new("a".repeat(MAX_ID_LEN)).is_ok());
    }

    #[test]
    fn refuses_each_broken_rule() {
        assert_eq!(UserId::new(""), Err(IdError::Empty));
        assert_eq!(
            UserId::new("a".repeat(MAX_ID_LEN + 1)),
            Err(IdError::TooLong {
                len: MAX_ID_LEN + 1,
                max: MAX_ID_LEN
            })
        );
        assert_eq!(CompanyId::new("a\nb"), Err(IdError::ControlCharacter));
        assert_eq!(CompanyId::new("a\u{0}"), Err(IdError::ControlCharacter));
        assert_eq!(UserId::new("a\tb"), Err(IdError::ControlCharacter));
        assert_eq!(UserId::new(" john"), Err(IdError::WhiteSpace));
        assert_eq!(UserId::new("john "), Err(IdError::WhiteSpace));
        assert_eq!(UserId::new("a\u{2028}b"), Err(IdError::WhiteSpace));
        assert_eq!(UserId::new("a\u{a0}b"), Err(IdError::WhiteSpace));
    }
}
