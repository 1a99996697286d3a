//! Geo permissions: the country codes SMS and voice codes may go to.

use twofa_types::{CountryCode, CountryCodeSet};

use crate::PhoneNumber;

/// E.164 country codes refused unless a service lists them explicitly:
/// ranges where a message or call costs far more than a national one, or
/// that are billed to the caller as a service, and that toll fraud and SMS
/// pumping use to earn from the traffic a sender is tricked into paying.
///
/// From the ITU-T E.164 assignment list (Annex to ITU Operational
/// Bulletin, "List of ITU-T Recommendation E.164 assigned country codes"):
///
/// | code | assigned to |
/// |---|---|
/// | 800 | International Freephone Service (UIFN): no SMS, and a call bills the callee |
/// | 808 | International Shared Cost Service (ISCS) |
/// | 870 | Inmarsat single network access code (satellite) |
/// | 878 | Universal Personal Telecommunication Service (UPT) |
/// | 881 | Global Mobile Satellite System (Iridium, Globalstar, Thuraya, …) |
/// | 882 | International Networks (shared code) |
/// | 883 | International Networks (shared code) |
/// | 888 | Telecommunications for Disaster Relief (OCHA) |
/// | 979 | International Premium Rate Service (IPRS) |
/// | 991 | Trial of an International Telecommunications Public Correspondence Service (ITPCS) |
///
/// None of them is a user's ordinary mobile number. A service that has
/// users on satellite phones lists `881` (or `870`) with
/// [`GeoPermissions::allowing`].
pub const HIGH_COST_COUNTRY_CODES: [u16; 10] = [800, 808, 870, 878, 881, 882, 883, 888, 979, 991];

/// [`HIGH_COST_COUNTRY_CODES`] as a set.
#[must_use]
pub fn high_cost_country_codes() -> CountryCodeSet {
    HIGH_COST_COUNTRY_CODES
        .iter()
        .filter_map(|code| CountryCode::new(*code).ok())
        .collect()
}

/// Why an SMS or voice code may not go to a number. Names the country code,
/// never the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum GeoRefused {
    /// The service does not send to this country code.
    #[error("the service does not send codes to country code {country}")]
    Service {
        /// The number's country code.
        country: CountryCode,
    },
    /// The service does, but the user's company narrowed its list and left
    /// this country code out.
    #[error("the company does not allow codes to country code {country}")]
    Company {
        /// The number's country code.
        country: CountryCode,
    },
    /// The number has no country code of 1 to 999 (not a valid E.164 number).
    #[error("the number has no e.164 country code")]
    NoCountryCode,
}

impl GeoRefused {
    /// The refused country code, if the number has one.
    #[must_use]
    pub const fn country(&self) -> Option<CountryCode> {
        match self {
            Self::Service { country } | Self::Company { country } => Some(*country),
            Self::NoCountryCode => None,
        }
    }
}

/// The country codes the service lets SMS and voice codes (and SMS
/// notices) go to. A company narrows it with its own list
/// (`twofa_enforcement::CompanyPolicy::phone_countries`); it can never
/// widen it.
///
/// [`GeoPermissions::default`]: every country code except
/// [`HIGH_COST_COUNTRY_CODES`].
///
/// ```
/// use twofa_delivery::{GeoPermissions, PhoneNumber};
/// use twofa_types::{CountryCode, CountryCodeSet};
///
/// let iridium = PhoneNumber::from_e164("+881631234567")?;
/// let uk = PhoneNumber::from_e164("+447400123456")?;
/// let every = CountryCodeSet::all();
///
/// let geo = GeoPermissions::default();
/// assert!(geo.check(&iridium, &every).is_err());
/// assert!(geo.check(&uk, &every).is_ok());
///
/// let geo = geo.allowing(CountryCode::new(881)?);
/// assert!(geo.check(&iridium, &every).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GeoPermissions {
    allowed: CountryCodeSet,
}

impl Default for GeoPermissions {
    fn default() -> Self {
        Self {
            allowed: CountryCodeSet::all().difference(&high_cost_country_codes()),
        }
    }
}

impl GeoPermissions {
    /// Exactly the country codes in `allowed`.
    #[must_use]
    pub const fn only(allowed: CountryCodeSet) -> Self {
        Self { allowed }
    }

    /// These permissions with `country` allowed as well (a high-cost code
    /// is allowed only this way or through [`GeoPermissions::only`]).
    #[must_use]
    pub fn allowing(self, country: CountryCode) -> Self {
        Self {
            allowed: self.allowed.with(country),
        }
    }

    /// These permissions without `country`.
    #[must_use]
    pub fn refusing(self, country: CountryCode) -> Self {
        Self {
            allowed: self.allowed.without(country),
        }
    }

    /// The allowed country codes.
    #[must_use]
    pub const fn allowed(&self) -> CountryCodeSet {
        self.allowed
    }

    /// Whether an SMS or a call may go to `number` for a company that
    /// allows `company`: its country code must be in both sets.
    ///
    /// # Errors
    ///
    /// [`GeoRefused::Service`] when the service does not allow the country
    /// code (checked first), [`GeoRefused::Company`] when the company does not.
    pub fn check(
        &self,
        number: &PhoneNumber,
        company: &CountryCodeSet,
    ) -> Result<CountryCode, GeoRefused> {
        // A validated number always has a country code of 1 to 3 digits;
        // one that does not is refused, never let through.
        let Ok(country) = CountryCode::new(number.country_code()) else {
            return Err(GeoRefused::NoCountryCode);
        };
        if !self.allowed.contains(country) {
            return Err(GeoRefused::Service { country });
        }
        if !company.contains(country) {
            return Err(GeoRefused::Company { country });
        }
        Ok(country)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(e164: &str) -> PhoneNumber {
        PhoneNumber::from_e164(e164).unwrap()
    }

    fn cc(code: u16) -> CountryCode {
        CountryCode::new(code).unwrap()
    }

    #[test]
    fn high_cost_ranges_are_refused_by_default_and_allowed_when_listed() {
        let every = CountryCodeSet::all();
        let geo = GeoPermissions::default();
        assert_eq!(geo.allowed().len(), 999 - HIGH_COST_COUNTRY_CODES.len());
        for code in HIGH_COST_COUNTRY_CODES {
            assert!(!geo.allowed().contains(cc(code)), "{code}");
        }
        let iridium = number("+881631234567");
        assert_eq!(
            geo.check(&iridium, &every),
            Err(GeoRefused::Service { country: cc(881) })
        );
        assert_eq!(geo.allowing(cc(881)).check(&iridium, &every), Ok(cc(881)));
        let uk = number("+447400123456");
        assert_eq!(geo.check(&uk, &every), Ok(cc(44)));
        assert_eq!(
            geo.refusing(cc(44)).check(&uk, &every),
            Err(GeoRefused::Service { country: cc(44) })
        );
    }

    #[test]
    fn a_company_only_narrows() {
        let uk = number("+447400123456");
        let iridium = number("+881631234567");
        let geo = GeoPermissions::default();
        let only_uk = CountryCodeSet::of(&[cc(44)]);
        assert_eq!(geo.check(&uk, &only_uk), Ok(cc(44)));
        let only_us = CountryCodeSet::of(&[cc(1)]);
        assert_eq!(
            geo.check(&uk, &only_us),
            Err(GeoRefused::Company { country: cc(44) })
        );
        // A company listing a code the service refuses does not open it.
        let with_satellite = CountryCodeSet::of(&[cc(44), cc(881)]);
        assert_eq!(
            geo.check(&iridium, &with_satellite),
            Err(GeoRefused::Service { country: cc(881) })
        );
        assert_eq!(
            GeoRefused::Company { country: cc(44) }.to_string(),
            "the company does not allow codes to country code +44"
        );
    }
}
