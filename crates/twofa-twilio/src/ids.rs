//! Twilio identifiers (SIDs) and the two secrets a client authenticates
//! with.
//!
//! A SID is two upper-case letters naming the resource type followed by 32
//! hexadecimal digits (`AC…` an account, `MG…` a Messaging Service, `SK…`
//! an API key). SIDs are not secret and print in full; the Auth Token and
//! an API key's secret print `[REDACTED]`.

use core::fmt;

use zeroize::Zeroizing;

use crate::config::TwilioConfigError;

/// Hex digits after the two-letter prefix of every SID.
const SID_HEX_DIGITS: usize = 32;

/// Longest accepted secret, in bytes. Twilio's Auth Tokens and API key
/// secrets are 32 characters; the bound only keeps nonsense out.
const MAX_SECRET_LEN: usize = 256;

/// Which kind of SID was malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SidKind {
    /// An Account SID (`AC` + 32 hex digits).
    Account,
    /// A Messaging Service SID (`MG` + 32 hex digits).
    MessagingService,
    /// An API key SID (`SK` + 32 hex digits).
    ApiKey,
}

impl SidKind {
    const fn prefix(self) -> &'static str {
        match self {
            Self::Account => "AC",
            Self::MessagingService => "MG",
            Self::ApiKey => "SK",
        }
    }
}

impl fmt::Display for SidKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Account => "account SID (AC + 32 hex digits)",
            Self::MessagingService => "messaging service SID (MG + 32 hex digits)",
            Self::ApiKey => "API key SID (SK + 32 hex digits)",
        })
    }
}

fn check_sid(text: &str, kind: SidKind) -> Result<(), TwilioConfigError> {
    let well_formed = text.strip_prefix(kind.prefix()).is_some_and(|hex| {
        hex.len() == SID_HEX_DIGITS && hex.bytes().all(|b| b.is_ascii_hexdigit())
    });
    if well_formed {
        Ok(())
    } else {
        Err(TwilioConfigError::MalformedSid { kind })
    }
}

macro_rules! sid {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name {
            sid: String,
        }

        impl $name {
            /// Validates the SID's shape: its two-letter prefix and 32
            /// hexadecimal digits.
            ///
            /// # Errors
            ///
            /// [`TwilioConfigError::MalformedSid`] otherwise.
            pub fn new(sid: &str) -> Result<Self, TwilioConfigError> {
                check_sid(sid, $kind)?;
                Ok(Self { sid: sid.to_owned() })
            }

            /// The SID.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.sid
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.sid).finish()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.sid)
            }
        }
    };
}

sid!(
    /// The SID of a Twilio account (`AC` + 32 hex digits): part of every
    /// REST path, and the user name of Auth Token authentication.
    AccountSid,
    SidKind::Account
);

sid!(
    /// The SID of a Messaging Service (`MG` + 32 hex digits), which picks
    /// the sender number from its pool.
    MessagingServiceSid,
    SidKind::MessagingService
);

sid!(
    /// The SID of an API key (`SK` + 32 hex digits), the user name of API
    /// key authentication.
    ApiKeySid,
    SidKind::ApiKey
);

fn check_secret(text: &str) -> Result<(), TwilioConfigError> {
    let printable = text.bytes().all(|b| b.is_ascii_graphic());
    if text.is_empty() || text.len() > MAX_SECRET_LEN || !printable {
        return Err(TwilioConfigError::MalformedSecret {
            max: MAX_SECRET_LEN,
        });
    }
    Ok(())
}

macro_rules! secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// # Security
        ///
        /// Zeroized on drop; `Debug` prints the type name and `[REDACTED]`;
        /// no `Display`, no `==`. [`Self::expose_secret`] is the one way to
        /// read it.
        #[derive(Clone)]
        pub struct $name {
            secret: Zeroizing<String>,
        }

        impl $name {
            /// Wraps a secret of 1 to 256 printable ASCII characters.
            ///
            /// # Errors
            ///
            /// [`TwilioConfigError::MalformedSecret`] otherwise; the error does not
            /// contain the input.
            pub fn new(secret: &str) -> Result<Self, TwilioConfigError> {
                check_secret(secret)?;
                Ok(Self {
                    secret: Zeroizing::new(secret.to_owned()),
                })
            }

            /// The secret, to authenticate a request or compute a signature.
            #[must_use]
            pub fn expose_secret(&self) -> &str {
                &self.secret
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}([REDACTED])", stringify!($name))
            }
        }
    };
}

secret!(
    /// An account's Auth Token: the password of Auth Token authentication,
    /// and the key Twilio signs its callbacks with (`X-Twilio-Signature`).
    AuthToken
);

secret!(
    /// The secret of an API key, shown once when the key is created.
    ApiKeySecret
);

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789ABCDEF";

    #[test]
    fn sids_need_their_prefix_and_32_hex_digits() {
        assert!(AccountSid::new(&format!("AC{HEX}")).is_ok());
        assert!(MessagingServiceSid::new(&format!("MG{HEX}")).is_ok());
        assert!(ApiKeySid::new(&format!("SK{HEX}")).is_ok());
        for bad in [
            format!("MG{HEX}"),
            format!("ac{HEX}"),
            format!("AC{}", &HEX[1..]),
            format!("AC{HEX}0"),
            format!("AC{}g", &HEX[1..]),
            String::new(),
            "AC".to_owned(),
        ] {
            assert_eq!(
                AccountSid::new(&bad),
                Err(TwilioConfigError::MalformedSid {
                    kind: SidKind::Account
                }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn secrets_are_redacted_and_checked() {
        let token = AuthToken::new("s3cr3t-token").unwrap();
        assert_eq!(format!("{token:?}"), "AuthToken([REDACTED])");
        assert_eq!(token.expose_secret(), "s3cr3t-token");
        let secret = ApiKeySecret::new("k3y").unwrap();
        assert_eq!(format!("{secret:?}"), "ApiKeySecret([REDACTED])");
        for bad in ["", "with space", "tab\t", &"x".repeat(257)] {
            assert!(AuthToken::new(bad).is_err(), "{bad:?}");
        }
        let error = AuthToken::new("bad token").err().unwrap();
        assert!(!format!("{error:?} {error}").contains("bad token"));
    }
}
