//! The company's 2FA policy: the portal's defaults, each overridable,
//! validated once when built.

use chrono::TimeDelta;
use twofa_types::{CodeChannel, CodeChannelSet, CountryCodeSet, DeferralCap, Method, MethodSet};

use crate::phishing::PhishingResistance;
use crate::settings::CompanyRole;

/// A duration setting of [`CompanyPolicy`], named in [`CompanyPolicyError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DurationSetting {
    /// [`CompanyPolicy::deferral_length`].
    DeferralLength,
    /// [`CompanyPolicy::trusted_network_reprompt`].
    TrustedNetworkReprompt,
    /// [`CompanyPolicy::out_of_band_code_lifetime`].
    OutOfBandCodeLifetime,
    /// [`CompanyPolicy::pending_setup_lifetime`].
    PendingSetupLifetime,
}

impl DurationSetting {
    /// The longest value [`PolicyBuilder::build`] accepts for this setting.
    #[must_use]
    pub const fn max(self) -> TimeDelta {
        match self {
            // A deferral is a reminder, not an exemption.
            Self::DeferralLength => TimeDelta::days(30),
            Self::TrustedNetworkReprompt => TimeDelta::days(90),
            // OWASP ASVS 4.0.3 §2.7.2 (and NIST SP 800-63B §5.1.3.2): an
            // out-of-band code expires after at most 10 minutes.
            Self::OutOfBandCodeLifetime => TimeDelta::minutes(10),
            Self::PendingSetupLifetime => TimeDelta::hours(24),
        }
    }
}

/// The most attempts per challenge [`PolicyBuilder::build`] accepts.
///
/// With a 6-digit code, 10 guesses give an attacker a 1 in 100,000 chance per
/// challenge; more would weaken the code for no user benefit.
pub const MAX_ATTEMPTS_PER_CHALLENGE: u32 = 10;

/// Why a policy was refused when built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum CompanyPolicyError {
    /// No second-factor method is allowed: nobody could enroll.
    #[error("no second-factor method is allowed")]
    NoMethodAllowed,
    /// A duration is zero or negative.
    #[error("{setting:?} must be longer than zero")]
    NotPositive {
        /// The offending setting.
        setting: DurationSetting,
    },
    /// A duration is not a whole number of seconds (the stored policy keeps
    /// seconds, and the trust decision counts in them).
    #[error("{setting:?} must be a whole number of seconds")]
    NotWholeSeconds {
        /// The offending setting.
        setting: DurationSetting,
    },
    /// A duration exceeds its maximum ([`DurationSetting::max`]).
    #[error("{setting:?} exceeds its maximum of {max_seconds} seconds")]
    TooLong {
        /// The offending setting.
        setting: DurationSetting,
        /// The maximum, in seconds.
        max_seconds: i64,
    },
    /// Zero attempts per challenge: no code could ever be accepted.
    #[error("attempts per challenge must be at least 1")]
    ZeroAttempts,
    /// More attempts per challenge than [`MAX_ATTEMPTS_PER_CHALLENGE`].
    #[error("{attempts} attempts per challenge exceed the maximum of {max}")]
    TooManyAttempts {
        /// The refused value.
        attempts: u32,
        /// The maximum, [`MAX_ATTEMPTS_PER_CHALLENGE`].
        max: u32,
    },
    /// A phishing-resistant method is required but none is allowed.
    #[error("a phishing-resistant method is required but none is allowed")]
    PhishingResistantNotAllowed,
    /// Re-sending by SMS or voice call is allowed while the matching method is
    /// switched off: a switched-off channel must not come back as a re-send.
    #[error("re-send by {channel} is allowed but the {channel} method is not")]
    ResendWithoutMethod {
        /// The re-send channel whose method is switched off.
        channel: CodeChannel,
    },
}

/// A company's 2FA policy.
///
/// [`CompanyPolicy::default`] is the portal's policy: every method allowed,
/// re-send by SMS, voice call and e-mail, 48-hour deferrals capped at 3,
/// trusted networks re-prompting every 21 days, out-of-band codes living 10
/// minutes, app set-ups pending for 30 minutes, 5 attempts per challenge.
/// Build anything else with [`CompanyPolicy::builder`]; a built policy is
/// valid by construction.
///
/// ```
/// use chrono::TimeDelta;
/// use twofa_enforcement::CompanyPolicy;
/// use twofa_types::{CodeChannel, CodeChannelSet, DeferralCap, Method, MethodSet};
///
/// // An admin who switched off SMS and voice, and allows one deferral.
/// let policy = CompanyPolicy::builder()
///     .with_allowed_methods(MethodSet::of(&[Method::AuthenticatorApp, Method::PushApp]))
///     .with_resend_channels(CodeChannelSet::of(&[CodeChannel::Email]))
///     .with_deferral_cap(DeferralCap::AtMost(1))
///     .build()?;
/// assert_eq!(policy.deferral_length(), TimeDelta::hours(48));
/// # Ok::<(), twofa_enforcement::CompanyPolicyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "PolicyRecord", into = "PolicyRecord")
)]
pub struct CompanyPolicy {
    allowed_methods: MethodSet,
    resend_channels: CodeChannelSet,
    deferral_length: TimeDelta,
    deferral_cap: DeferralCap,
    trusted_network_reprompt: TimeDelta,
    out_of_band_code_lifetime: TimeDelta,
    pending_setup_lifetime: TimeDelta,
    attempts_per_challenge: u32,
    phone_countries: CountryCodeSet,
    phishing_resistant: PhishingResistance,
}

impl Default for CompanyPolicy {
    /// The portal's policy (see the type's documentation).
    fn default() -> Self {
        Self {
            allowed_methods: MethodSet::all(),
            resend_channels: CodeChannelSet::all(),
            deferral_length: TimeDelta::hours(48),
            deferral_cap: DeferralCap::AtMost(3),
            trusted_network_reprompt: TimeDelta::days(21),
            out_of_band_code_lifetime: TimeDelta::minutes(10),
            pending_setup_lifetime: TimeDelta::minutes(30),
            attempts_per_challenge: 5,
            phone_countries: CountryCodeSet::all(),
            phishing_resistant: PhishingResistance::NotRequired,
        }
    }
}

impl CompanyPolicy {
    /// A builder starting from the portal's defaults.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder(Self::default())
    }

    /// A builder starting from this policy's values: change some of them
    /// and keep the rest (an administrator's page that edits one setting).
    pub const fn to_builder(&self) -> PolicyBuilder {
        PolicyBuilder(*self)
    }

    /// Methods users may enroll with and be challenged with.
    #[must_use]
    pub const fn allowed_methods(&self) -> MethodSet {
        self.allowed_methods
    }

    /// Channels through which a code may be re-sent.
    #[must_use]
    pub const fn resend_channels(&self) -> CodeChannelSet {
        self.resend_channels
    }

    /// How long one "remind me later" lasts (portal: 48 hours).
    #[must_use]
    pub const fn deferral_length(&self) -> TimeDelta {
        self.deferral_length
    }

    /// How many deferrals a user may take (portal: 3).
    #[must_use]
    pub const fn deferral_cap(&self) -> DeferralCap {
        self.deferral_cap
    }

    /// How often a login from a trusted network is asked for the second
    /// factor (portal: 21 days). Enforced by the trusted-network policy; kept
    /// here so one value holds the company's settings.
    #[must_use]
    pub const fn trusted_network_reprompt(&self) -> TimeDelta {
        self.trusted_network_reprompt
    }

    /// How long an SMS, voice or e-mail code stays valid (portal: 10 minutes).
    #[must_use]
    pub const fn out_of_band_code_lifetime(&self) -> TimeDelta {
        self.out_of_band_code_lifetime
    }

    /// How long an app set-up may wait for its first code (portal: 30
    /// minutes).
    #[must_use]
    pub const fn pending_setup_lifetime(&self) -> TimeDelta {
        self.pending_setup_lifetime
    }

    /// Wrong codes allowed per challenge before it is void (portal: 5).
    #[must_use]
    pub const fn attempts_per_challenge(&self) -> u32 {
        self.attempts_per_challenge
    }

    /// The country codes this company lets SMS and voice codes go to
    /// (default: every code). It only narrows: a number is reached only if
    /// both this set and the service's own geo permissions allow its
    /// country code, so a company cannot open a country the service keeps
    /// closed (satellite and premium-rate ranges, for one).
    #[must_use]
    pub const fn phone_countries(&self) -> CountryCodeSet {
        self.phone_countries
    }

    /// Whose second factor must be phishing-resistant (portal: nobody).
    #[must_use]
    pub const fn phishing_resistant(&self) -> PhishingResistance {
        self.phishing_resistant
    }

    /// The policy as it applies to one user: the allowed methods narrowed to
    /// the phishing-resistant ones when the company requires them of
    /// `role`, and to `offered`, the methods the service has set up (a
    /// service without a WebAuthn relying party cannot offer passkeys).
    ///
    /// Hand the result to [`gate`](crate::gate) and to every decision about
    /// which methods this user may set up or be challenged with. The
    /// narrowed set may be empty: nothing can then be set up, and the
    /// login fails closed.
    #[must_use]
    pub fn for_user(&self, role: CompanyRole, offered: MethodSet) -> Self {
        let mut allowed = self.allowed_methods.intersection(offered);
        if self.phishing_resistant.applies_to(role) {
            allowed = allowed
                .iter()
                .filter(|m| m.is_phishing_resistant())
                .collect();
        }
        Self {
            allowed_methods: allowed,
            ..*self
        }
    }

    fn validate(self) -> Result<Self, CompanyPolicyError> {
        if self.allowed_methods.is_empty() {
            return Err(CompanyPolicyError::NoMethodAllowed);
        }
        if self.phishing_resistant != PhishingResistance::NotRequired
            && !self
                .allowed_methods
                .iter()
                .any(Method::is_phishing_resistant)
        {
            return Err(CompanyPolicyError::PhishingResistantNotAllowed);
        }
        for (channel, method) in [
            (CodeChannel::Sms, Method::Sms),
            (CodeChannel::VoiceCall, Method::VoiceCall),
        ] {
            if self.resend_channels.contains(channel) && !self.allowed_methods.contains(method) {
                return Err(CompanyPolicyError::ResendWithoutMethod { channel });
            }
        }
        for (setting, value) in [
            (DurationSetting::DeferralLength, self.deferral_length),
            (
                DurationSetting::TrustedNetworkReprompt,
                self.trusted_network_reprompt,
            ),
            (
                DurationSetting::OutOfBandCodeLifetime,
                self.out_of_band_code_lifetime,
            ),
            (
                DurationSetting::PendingSetupLifetime,
                self.pending_setup_lifetime,
            ),
        ] {
            if value <= TimeDelta::zero() {
                return Err(CompanyPolicyError::NotPositive { setting });
            }
            if value.subsec_nanos() != 0 {
                return Err(CompanyPolicyError::NotWholeSeconds { setting });
            }
            if value > setting.max() {
                return Err(CompanyPolicyError::TooLong {
                    setting,
                    max_seconds: setting.max().num_seconds(),
                });
            }
        }
        if self.attempts_per_challenge == 0 {
            return Err(CompanyPolicyError::ZeroAttempts);
        }
        if self.attempts_per_challenge > MAX_ATTEMPTS_PER_CHALLENGE {
            return Err(CompanyPolicyError::TooManyAttempts {
                attempts: self.attempts_per_challenge,
                max: MAX_ATTEMPTS_PER_CHALLENGE,
            });
        }
        Ok(self)
    }
}

/// Builds a [`CompanyPolicy`]; every option starts at the portal's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use = "a builder does nothing until built"]
pub struct PolicyBuilder(CompanyPolicy);

impl PolicyBuilder {
    /// Methods users may enroll with.
    pub const fn with_allowed_methods(mut self, methods: MethodSet) -> Self {
        self.0.allowed_methods = methods;
        self
    }

    /// Channels through which a code may be re-sent. Re-send by SMS or voice
    /// call requires the matching method to be allowed.
    pub const fn with_resend_channels(mut self, channels: CodeChannelSet) -> Self {
        self.0.resend_channels = channels;
        self
    }

    /// How long one deferral lasts.
    pub const fn with_deferral_length(mut self, length: TimeDelta) -> Self {
        self.0.deferral_length = length;
        self
    }

    /// How many deferrals a user may take.
    pub const fn with_deferral_cap(mut self, cap: DeferralCap) -> Self {
        self.0.deferral_cap = cap;
        self
    }

    /// How often a trusted-network login is re-prompted.
    pub const fn with_trusted_network_reprompt(mut self, interval: TimeDelta) -> Self {
        self.0.trusted_network_reprompt = interval;
        self
    }

    /// How long an out-of-band code stays valid.
    pub const fn with_out_of_band_code_lifetime(mut self, lifetime: TimeDelta) -> Self {
        self.0.out_of_band_code_lifetime = lifetime;
        self
    }

    /// How long an app set-up may stay pending.
    pub const fn with_pending_setup_lifetime(mut self, lifetime: TimeDelta) -> Self {
        self.0.pending_setup_lifetime = lifetime;
        self
    }

    /// Wrong codes allowed per challenge.
    pub const fn with_attempts_per_challenge(mut self, attempts: u32) -> Self {
        self.0.attempts_per_challenge = attempts;
        self
    }

    /// The country codes SMS and voice codes may go to, narrowing the
    /// service's geo permissions (see [`CompanyPolicy::phone_countries`]).
    pub const fn with_phone_countries(mut self, countries: CountryCodeSet) -> Self {
        self.0.phone_countries = countries;
        self
    }

    /// Whose second factor must be phishing-resistant; anything but
    /// [`PhishingResistance::NotRequired`] requires an allowed
    /// phishing-resistant method.
    pub const fn with_phishing_resistant(mut self, required: PhishingResistance) -> Self {
        self.0.phishing_resistant = required;
        self
    }

    /// Validates the options into a policy.
    ///
    /// # Errors
    ///
    /// The first problem found, in this order:
    /// [`CompanyPolicyError::NoMethodAllowed`],
    /// [`CompanyPolicyError::PhishingResistantNotAllowed`],
    /// [`CompanyPolicyError::ResendWithoutMethod`],
    /// [`CompanyPolicyError::NotPositive`] / [`CompanyPolicyError::NotWholeSeconds`] /
    /// [`CompanyPolicyError::TooLong`] (per duration,
    /// in the order of [`DurationSetting`]), [`CompanyPolicyError::ZeroAttempts`],
    /// [`CompanyPolicyError::TooManyAttempts`].
    pub fn build(self) -> Result<CompanyPolicy, CompanyPolicyError> {
        self.0.validate()
    }
}

/// Stored form of a policy: durations in whole seconds, validated when read.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyRecord {
    allowed_methods: MethodSet,
    resend_channels: CodeChannelSet,
    deferral_length_secs: i64,
    deferral_cap: DeferralCap,
    trusted_network_reprompt_secs: i64,
    out_of_band_code_lifetime_secs: i64,
    pending_setup_lifetime_secs: i64,
    attempts_per_challenge: u32,
    /// Absent: every country code (records written before the field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone_countries: Option<CountryCodeSet>,
    /// Absent: not required (records written before the field existed).
    #[serde(default, skip_serializing_if = "is_not_required")]
    phishing_resistant: PhishingResistance,
}

#[cfg(feature = "serde")]
fn is_not_required(required: &PhishingResistance) -> bool {
    *required == PhishingResistance::NotRequired
}

#[cfg(feature = "serde")]
impl From<CompanyPolicy> for PolicyRecord {
    fn from(policy: CompanyPolicy) -> Self {
        Self {
            allowed_methods: policy.allowed_methods,
            resend_channels: policy.resend_channels,
            deferral_length_secs: policy.deferral_length.num_seconds(),
            deferral_cap: policy.deferral_cap,
            trusted_network_reprompt_secs: policy.trusted_network_reprompt.num_seconds(),
            out_of_band_code_lifetime_secs: policy.out_of_band_code_lifetime.num_seconds(),
            pending_setup_lifetime_secs: policy.pending_setup_lifetime.num_seconds(),
            attempts_per_challenge: policy.attempts_per_challenge,
            phone_countries: (policy.phone_countries != CountryCodeSet::all())
                .then_some(policy.phone_countries),
            phishing_resistant: policy.phishing_resistant,
        }
    }
}

/// Why a stored policy record was refused.
#[cfg(feature = "serde")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
enum PolicyRecordError {
    #[error("a duration is out of range")]
    DurationOutOfRange,
    #[error(transparent)]
    Invalid(#[from] CompanyPolicyError),
}

#[cfg(feature = "serde")]
impl TryFrom<PolicyRecord> for CompanyPolicy {
    type Error = PolicyRecordError;

    fn try_from(record: PolicyRecord) -> Result<Self, PolicyRecordError> {
        let secs = |s: i64| TimeDelta::try_seconds(s).ok_or(PolicyRecordError::DurationOutOfRange);
        Ok(Self::builder()
            .with_allowed_methods(record.allowed_methods)
            .with_resend_channels(record.resend_channels)
            .with_deferral_length(secs(record.deferral_length_secs)?)
            .with_deferral_cap(record.deferral_cap)
            .with_trusted_network_reprompt(secs(record.trusted_network_reprompt_secs)?)
            .with_out_of_band_code_lifetime(secs(record.out_of_band_code_lifetime_secs)?)
            .with_pending_setup_lifetime(secs(record.pending_setup_lifetime_secs)?)
            .with_attempts_per_challenge(record.attempts_per_challenge)
            .with_phone_countries(record.phone_countries.unwrap_or(CountryCodeSet::all()))
            .with_phishing_resistant(record.phishing_resistant)
            .build()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_portal_values_and_valid() {
        let policy = CompanyPolicy::default();
        assert_eq!(policy.allowed_methods(), MethodSet::all());
        assert_eq!(policy.resend_channels(), CodeChannelSet::all());
        assert_eq!(policy.deferral_length(), TimeDelta::seconds(48 * 3600));
        assert_eq!(policy.deferral_cap(), DeferralCap::AtMost(3));
        assert_eq!(
            policy.trusted_network_reprompt(),
            TimeDelta::seconds(21 * 86_400)
        );
        assert_eq!(policy.out_of_band_code_lifetime(), TimeDelta::seconds(600));
        assert_eq!(policy.pending_setup_lifetime(), TimeDelta::seconds(1800));
        assert_eq!(policy.attempts_per_challenge(), 5);
        assert_eq!(policy.phone_countries(), CountryCodeSet::all());
        assert_eq!(policy.phishing_resistant(), PhishingResistance::NotRequired);
        assert_eq!(CompanyPolicy::builder().build(), Ok(policy));
    }

    #[test]
    fn a_phishing_resistant_requirement_narrows_the_methods_of_those_it_applies_to() {
        let everything = MethodSet::all();
        let admins = CompanyPolicy::builder()
            .with_phishing_resistant(PhishingResistance::ForAdmins)
            .build()
            .unwrap();
        let passkey = MethodSet::of(&[Method::Passkey]);
        assert_eq!(
            admins
                .for_user(CompanyRole::Admin, everything)
                .allowed_methods(),
            passkey
        );
        assert_eq!(
            admins
                .for_user(CompanyRole::Member, everything)
                .allowed_methods(),
            everything
        );
        let all = admins
            .to_builder()
            .with_phishing_resistant(PhishingResistance::ForEveryone)
            .build()
            .unwrap();
        assert_eq!(
            all.for_user(CompanyRole::Member, everything)
                .allowed_methods(),
            passkey
        );
        assert_eq!(all.to_builder().build(), Ok(all));
        // A service without passkeys offers none: nothing is left to set up.
        let without = everything.without(Method::Passkey);
        assert!(
            all.for_user(CompanyRole::Member, without)
                .allowed_methods()
                .is_empty()
        );
        assert_eq!(
            CompanyPolicy::default()
                .for_user(CompanyRole::Admin, without)
                .allowed_methods(),
            without
        );
        // Required, yet no passkey allowed: refused when built.
        assert_eq!(
            CompanyPolicy::builder()
                .with_allowed_methods(without)
                .with_phishing_resistant(PhishingResistance::ForAdmins)
                .build(),
            Err(CompanyPolicyError::PhishingResistantNotAllowed)
        );
    }

    #[test]
    fn each_duration_is_checked_at_zero_and_past_its_maximum() {
        type With = fn(PolicyBuilder, TimeDelta) -> PolicyBuilder;
        let cases: [(DurationSetting, With); 4] = [
            (
                DurationSetting::DeferralLength,
                PolicyBuilder::with_deferral_length,
            ),
            (
                DurationSetting::TrustedNetworkReprompt,
                PolicyBuilder::with_trusted_network_reprompt,
            ),
            (
                DurationSetting::OutOfBandCodeLifetime,
                PolicyBuilder::with_out_of_band_code_lifetime,
            ),
            (
                DurationSetting::PendingSetupLifetime,
                PolicyBuilder::with_pending_setup_lifetime,
            ),
        ];
        for (setting, with) in cases {
            let b = CompanyPolicy::builder();
            assert_eq!(
                with(b, TimeDelta::zero()).build(),
                Err(CompanyPolicyError::NotPositive { setting })
            );
            assert_eq!(
                with(b, TimeDelta::seconds(-1)).build(),
                Err(CompanyPolicyError::NotPositive { setting })
            );
            assert!(with(b, TimeDelta::seconds(1)).build().is_ok());
            assert!(with(b, setting.max()).build().is_ok());
            assert_eq!(
                with(b, setting.max() + TimeDelta::seconds(1)).build(),
                Err(CompanyPolicyError::TooLong {
                    setting,
                    max_seconds: setting.max().num_seconds()
                })
            );
        }
    }

    #[test]
    fn methods_channels_and_attempts() {
        let b = CompanyPolicy::builder();
        assert_eq!(
            b.with_allowed_methods(MethodSet::empty()).build(),
            Err(CompanyPolicyError::NoMethodAllowed)
        );
        assert_eq!(
            b.with_allowed_methods(MethodSet::all().without(Method::Sms))
                .build(),
            Err(CompanyPolicyError::ResendWithoutMethod {
                channel: CodeChannel::Sms
            })
        );
        assert_eq!(
            b.with_allowed_methods(MethodSet::all().without(Method::VoiceCall))
                .build(),
            Err(CompanyPolicyError::ResendWithoutMethod {
                channel: CodeChannel::VoiceCall
            })
        );
        assert!(
            b.with_allowed_methods(MethodSet::all().without(Method::Sms))
                .with_resend_channels(CodeChannelSet::all().without(CodeChannel::Sms))
                .build()
                .is_ok()
        );
        assert!(
            b.with_resend_channels(CodeChannelSet::empty())
                .build()
                .is_ok()
        );
        assert_eq!(
            b.with_attempts_per_challenge(0).build(),
            Err(CompanyPolicyError::ZeroAttempts)
        );
        assert!(b.with_attempts_per_challenge(1).build().is_ok());
        assert!(
            b.with_attempts_per_challenge(MAX_ATTEMPTS_PER_CHALLENGE)
                .build()
                .is_ok()
        );
        assert_eq!(
            b.with_attempts_per_challenge(MAX_ATTEMPTS_PER_CHALLENGE + 1)
                .build(),
            Err(CompanyPolicyError::TooManyAttempts {
                attempts: MAX_ATTEMPTS_PER_CHALLENGE + 1,
                max: MAX_ATTEMPTS_PER_CHALLENGE
            })
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn phone_countries_round_trip_and_old_records_read_as_every_country() {
        use twofa_types::CountryCode;
        let uk = CountryCode::new(44).unwrap();
        let narrowed = CompanyPolicy::builder()
            .with_phone_countries(CountryCodeSet::of(&[uk]))
            .build()
            .unwrap();
        let json = serde_json::to_value(narrowed).unwrap();
        assert_eq!(json["phone_countries"], serde_json::json!([44]));
        let back: CompanyPolicy = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, narrowed);

        let mut old = json;
        old.as_object_mut().unwrap().remove("phone_countries");
        let read: CompanyPolicy = serde_json::from_value(old).unwrap();
        assert_eq!(read.phone_countries(), CountryCodeSet::all());
        let default = serde_json::to_value(CompanyPolicy::default()).unwrap();
        assert!(default.get("phone_countries").is_none());
    }
}
