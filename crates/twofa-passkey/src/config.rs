//! The relying party: who asks for passkeys, from which web origins, and
//! with which policy.

use chrono::TimeDelta;
use url::Url;
use webauthn_rs_core::WebauthnCore;

/// The longest relying-party display name accepted, in characters.
pub const MAX_RP_NAME_CHARS: usize = 64;

/// The longest challenge lifetime accepted: one hour.
///
/// The lifetime is also sent to the browser as its ceremony timeout, in
/// milliseconds; an hour is far longer than any ceremony needs.
pub const MAX_CHALLENGE_LIFETIME: TimeDelta = TimeDelta::hours(1);

/// Why a relying-party configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasskeyConfigError {
    /// The relying-party id is not a lowercase registrable domain name.
    #[error("relying-party id {id:?} is not a lowercase domain name")]
    InvalidRpId {
        /// The refused id.
        id: String,
    },
    /// The display name is empty, too long or holds control characters.
    #[error("relying-party name must be 1 to {MAX_RP_NAME_CHARS} printable characters")]
    InvalidRpName,
    /// No origin was given.
    #[error("at least one origin is required")]
    NoOrigins,
    /// An origin is not of the form `https://host[:port]`.
    #[error("origin {origin:?} is not an https origin without path, query or credentials")]
    InvalidOrigin {
        /// The refused origin.
        origin: String,
    },
    /// An origin's host is neither the relying-party id nor one of its
    /// subdomains (WebAuthn Level 3, § 5.1.3 step 8), so no browser would
    /// sign for it.
    #[error("origin {origin:?} is not on relying-party id {rp_id:?} or a subdomain of it")]
    OriginOutsideRpId {
        /// The refused origin.
        origin: String,
        /// The relying-party id.
        rp_id: String,
    },
    /// The challenge lifetime is not between one second and
    /// [`MAX_CHALLENGE_LIFETIME`].
    #[error("challenge lifetime must be between 1 second and 1 hour, not {seconds} s")]
    ChallengeLifetimeOutOfRange {
        /// The refused lifetime, in whole seconds.
        seconds: i64,
    },
}

/// A web origin a ceremony may come from.
///
/// Build one with [`Origin::https`]; plain-HTTP `localhost` is for
/// development and tests only and has its own constructor,
/// [`Origin::insecure_localhost`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Origin {
    url: Url,
}

impl Origin {
    /// An `https://host[:port]` origin.
    ///
    /// # Errors
    ///
    /// [`PasskeyConfigError::InvalidOrigin`] for another scheme, a path other
    /// than `/`, a query, a fragment, credentials or an IP-address host.
    pub fn https(origin: &str) -> Result<Self, PasskeyConfigError> {
        let invalid = || PasskeyConfigError::InvalidOrigin {
            origin: origin.to_owned(),
        };
        let url = Url::parse(origin).map_err(|_| invalid())?;
        let plain = url.scheme() == "https"
            && matches!(url.host(), Some(url::Host::Domain(_)))
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none();
        if plain {
            Ok(Self { url })
        } else {
            Err(invalid())
        }
    }

    /// `http://localhost:PORT`, for development and tests only: browsers
    /// treat `localhost` as a secure context, so passkeys work there
    /// without TLS. Pair it with the relying-party id `localhost`.
    ///
    /// # Errors
    ///
    /// [`PasskeyConfigError::InvalidOrigin`] if the URL library refuses the
    /// origin (it does not for any port).
    pub fn insecure_localhost(port: u16) -> Result<Self, PasskeyConfigError> {
        let origin = format!("http://localhost:{port}");
        match Url::parse(&origin) {
            Ok(url) => Ok(Self { url }),
            Err(_) => Err(PasskeyConfigError::InvalidOrigin { origin }),
        }
    }

    /// The origin as the browser writes it in client data, e.g.
    /// `https://login.example.com`.
    #[must_use]
    pub fn as_str(&self) -> String {
        self.url.origin().ascii_serialization()
    }

    /// The origin's host (`login.example.com`, `localhost`): the
    /// relying-party id itself or a subdomain of it.
    #[must_use]
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }
}

/// Whether the authenticator must verify the user (PIN, biometrics) or
/// only their presence (a touch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum UserVerification {
    /// Ask for verification; accept presence alone from authenticators
    /// that cannot verify. A credential registered *with* verification is
    /// then always held to it.
    #[default]
    Preferred,
    /// Refuse any ceremony in which the authenticator did not verify the
    /// user.
    Required,
}

impl UserVerification {
    pub(crate) fn to_webauthn(self) -> webauthn_rs_core::proto::UserVerificationPolicy {
        match self {
            Self::Preferred => webauthn_rs_core::proto::UserVerificationPolicy::Preferred,
            Self::Required => webauthn_rs_core::proto::UserVerificationPolicy::Required,
        }
    }
}

/// Whether registration asks for a discoverable credential (a "resident
/// key", which lets the user sign in without typing a name first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CredentialDiscovery {
    /// Let the authenticator choose (the passkey is used after the user
    /// has named their account, as a second factor).
    #[default]
    NotRequested,
    /// Ask the authenticator for a discoverable credential.
    Required,
}

/// The relying party: its id, its name, the origins it serves, its user
/// verification policy and how long a ceremony's challenge lives.
///
/// Validated at construction; after that every value is usable.
#[derive(Clone)]
#[non_exhaustive]
pub struct RelyingParty {
    pub(crate) core: WebauthnCore,
    id: String,
    name: String,
    origins: Vec<Origin>,
    pub(crate) user_verification: UserVerification,
    pub(crate) challenge_lifetime: TimeDelta,
    pub(crate) discovery: CredentialDiscovery,
}

impl core::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("origins", &self.origins)
            .field("user_verification", &self.user_verification)
            .field("challenge_lifetime", &self.challenge_lifetime)
            .field("discovery", &self.discovery)
            .finish()
    }
}

impl RelyingParty {
    /// The default challenge lifetime: five minutes.
    pub const DEFAULT_CHALLENGE_LIFETIME: TimeDelta = TimeDelta::minutes(5);

    /// A relying party with id `id` (a registrable domain such as
    /// `example.com`, or `localhost` for development), display name `name`
    /// and the origins allowed to run its ceremonies. User verification is
    /// preferred, challenges live five minutes and discoverable
    /// credentials are not requested; the `with_*` methods change that.
    ///
    /// # Errors
    ///
    /// [`PasskeyConfigError`] says which part was refused: an id that is not a
    /// lowercase domain name, an empty or overlong name, no origins, or an
    /// origin whose host is not the id or one of its subdomains.
    pub fn new(
        id: &str,
        name: &str,
        origins: impl IntoIterator<Item = Origin>,
    ) -> Result<Self, PasskeyConfigError> {
        if !is_domain(id) {
            return Err(PasskeyConfigError::InvalidRpId { id: id.to_owned() });
        }
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_RP_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(PasskeyConfigError::InvalidRpName);
        }
        let origins: Vec<Origin> = origins.into_iter().collect();
        if origins.is_empty() {
            return Err(PasskeyConfigError::NoOrigins);
        }
        for origin in &origins {
            let host = origin.host();
            let on_rp = host == id
                || host
                    .strip_suffix(id)
                    .is_some_and(|prefix| prefix.ends_with('.'));
            if !on_rp {
                return Err(PasskeyConfigError::OriginOutsideRpId {
                    origin: origin.as_str(),
                    rp_id: id.to_owned(),
                });
            }
        }
        let lifetime = Self::DEFAULT_CHALLENGE_LIFETIME;
        Ok(Self {
            core: build_core(id, name, &origins, lifetime),
            id: id.to_owned(),
            name: name.to_owned(),
            origins,
            user_verification: UserVerification::default(),
            challenge_lifetime: lifetime,
            discovery: CredentialDiscovery::default(),
        })
    }

    /// The same relying party with another user verification policy.
    #[must_use]
    pub fn with_user_verification(mut self, policy: UserVerification) -> Self {
        self.user_verification = policy;
        self
    }

    /// The same relying party asking (or not) for discoverable credentials.
    #[must_use]
    pub fn with_credential_discovery(mut self, discovery: CredentialDiscovery) -> Self {
        self.discovery = discovery;
        self
    }

    /// The same relying party with another challenge lifetime. A state
    /// started at `t` is usable up to but not including `t + lifetime`.
    ///
    /// # Errors
    ///
    /// [`PasskeyConfigError::ChallengeLifetimeOutOfRange`] outside one second to
    /// one hour.
    pub fn with_challenge_lifetime(
        mut self,
        lifetime: TimeDelta,
    ) -> Result<Self, PasskeyConfigError> {
        if lifetime < TimeDelta::seconds(1) || lifetime > MAX_CHALLENGE_LIFETIME {
            return Err(PasskeyConfigError::ChallengeLifetimeOutOfRange {
                seconds: lifetime.num_seconds(),
            });
        }
        self.challenge_lifetime = lifetime;
        self.core = build_core(&self.id, &self.name, &self.origins, lifetime);
        Ok(self)
    }

    /// The relying-party id, e.g. `example.com`.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The name authenticators show.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The origins ceremonies may come from.
    #[must_use]
    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }

    /// The user verification policy.
    #[must_use]
    pub fn user_verification(&self) -> UserVerification {
        self.user_verification
    }

    /// How long a ceremony's state stays usable.
    #[must_use]
    pub fn challenge_lifetime(&self) -> TimeDelta {
        self.challenge_lifetime
    }

    /// Whether registration asks for discoverable credentials.
    #[must_use]
    pub fn credential_discovery(&self) -> CredentialDiscovery {
        self.discovery
    }
}

fn build_core(id: &str, name: &str, origins: &[Origin], lifetime: TimeDelta) -> WebauthnCore {
    let timeout = lifetime
        .to_std()
        .unwrap_or(core::time::Duration::from_secs(300));
    let urls = origins.iter().map(|origin| origin.url.clone()).collect();
    // Exact origins only: no subdomain wildcard, no "any port".
    WebauthnCore::new_unsafe_experts_only(name, id, urls, timeout, Some(false), Some(false))
}

/// A lowercase DNS name of at most 253 bytes: labels of 1 to 63 letters,
/// digits and inner hyphens; `localhost` or at least two labels; not all
/// digits in the last label (so no IPv4 address).
fn is_domain(id: &str) -> bool {
    if id == "localhost" {
        return true;
    }
    if id.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = id.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::is_domain;

    #[test]
    fn domains() {
        assert!(is_domain("example.com"));
        assert!(is_domain("login.example.co.uk"));
        assert!(is_domain("localhost"));
        assert!(!is_domain("Example.com"));
        assert!(!is_domain("com"));
        assert!(!is_domain("192.168.0.1"));
        assert!(!is_domain("example..com"));
        assert!(!is_domain("-a.example.com"));
        assert!(!is_domain("https://example.com"));
        assert!(!is_domain("example.com:443"));
    }
}
