//! Where a code is delivered: phone numbers and email addresses.
//!
//! Both types are validated at construction and print masked everywhere
//! (`Debug`, `Display`, errors). The full value is reachable only through
//! the greppable accessors [`PhoneNumber::expose_e164`] and
//! [`EmailAddress::expose_address`], meant for the adapter that sends.

use core::fmt;
use core::str::FromStr;

use phonenumber::Mode;

/// The mask character used in every printed destination.
const MASK: &str = "•••";

/// Longest phone input accepted before parsing.
///
/// E.164 numbers have at most 15 digits (ITU-T E.164 §6.1); generous room
/// for spaces, punctuation and a national prefix still fits in 64 bytes.
const MAX_PHONE_INPUT: usize = 64;

/// RFC 5321 §4.5.3.1.1: a local part is at most 64 octets.
const MAX_LOCAL_PART: usize = 64;
/// RFC 5321 §4.5.3.1.2: a domain is at most 255 octets.
const MAX_DOMAIN: usize = 255;
/// RFC 5321 §4.5.3.1.3 limits a path to 256 octets including the angle
/// brackets, which leaves 254 for the address itself (RFC 3696 errata 1690).
const MAX_ADDRESS: usize = 254;
/// RFC 1035 §2.3.4: a label is at most 63 octets.
const MAX_LABEL: usize = 63;

/// Why a phone number or email address was refused.
///
/// No variant carries the input: an error may be logged, and a log must not
/// hold a full phone number or address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// The region is not a two-letter region code known to the numbering metadata.
    #[error("unknown region code")]
    UnknownRegion,
    /// The text is empty or longer than the parser accepts.
    #[error("phone number input is empty or longer than {max} bytes")]
    PhoneInputLength {
        /// The longest accepted input, in bytes.
        max: usize,
    },
    /// No phone number could be read from the text.
    #[error("phone number could not be read")]
    PhoneUnreadable,
    /// The country calling code is not assigned.
    #[error("phone number has an unknown country calling code")]
    PhoneUnknownCountryCode,
    /// The number has too few digits.
    #[error("phone number is too short")]
    PhoneTooShort,
    /// The number has too many digits.
    #[error("phone number is too long")]
    PhoneTooLong,
    /// The number has an extension, which a text message or a call to verify
    /// possession cannot reach.
    #[error("phone number has an extension")]
    PhoneHasExtension,
    /// The digits do not form a number the numbering plan of its country assigns.
    #[error("phone number is not valid in its numbering plan (country code +{country_code})")]
    PhoneNotValid {
        /// The country calling code the number was read with.
        country_code: u16,
    },
    /// The text does not start with `+` where an E.164 number was required.
    #[error("phone number is not in E.164 form")]
    PhoneNotE164,
    /// The address has no `@`, or more than one.
    #[error("email address must contain exactly one '@'")]
    EmailAtSign,
    /// The local part (before `@`) is empty, too long or has a character
    /// outside the accepted set.
    #[error(
        "email local part is empty, longer than 64 bytes or has a character outside the accepted set"
    )]
    EmailLocalPart,
    /// The domain is malformed (labels, characters, a single label, or a
    /// numeric top-level label).
    #[error("email domain is malformed")]
    EmailDomain,
    /// The whole address is longer than 254 bytes.
    #[error("email address is longer than 254 bytes")]
    EmailTooLong,
}

/// A two-letter region (country) code such as `GB`, used as the default
/// region when a phone number is written in national format.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    /// Two upper-case ASCII letters known to the numbering metadata.
    code: [u8; 2],
}

impl Region {
    /// Reads an ISO 3166-1 alpha-2 style region code (case-insensitive)
    /// known to the numbering metadata.
    ///
    /// # Errors
    ///
    /// [`DestinationError::UnknownRegion`] when the code is not two ASCII
    /// letters or the metadata has no such region.
    pub fn new(code: &str) -> Result<Self, DestinationError> {
        let upper = code.to_ascii_uppercase();
        let [first, second] = *upper.as_bytes() else {
            return Err(DestinationError::UnknownRegion);
        };
        if !first.is_ascii_uppercase() || !second.is_ascii_uppercase() {
            return Err(DestinationError::UnknownRegion);
        }
        let region = Self {
            code: [first, second],
        };
        region.id().ok_or(DestinationError::UnknownRegion)?;
        Ok(region)
    }

    /// The two-letter code, upper case.
    #[must_use]
    pub fn code(&self) -> &str {
        core::str::from_utf8(&self.code).unwrap_or("")
    }

    fn id(self) -> Option<phonenumber::country::Id> {
        phonenumber::country::Id::from_str(self.code()).ok()
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Region").field(&self.code()).finish()
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A phone number validated against the libphonenumber metadata and
/// normalised to E.164 (ITU-T E.164: `+`, country code, national
/// significant number, at most 15 digits).
///
/// `Debug` and `Display` print only the country code and the last digits,
/// e.g. `+1 ••• ••• 4567`: the last 4 digits when the national number has at
/// least 8, the last 2 when it has 5 to 7, none when shorter, so a printed
/// number never reveals all of its digits. The mask has a fixed shape so
/// it does not reveal the length either.
#[derive(Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub struct PhoneNumber {
    /// `+` followed by digits.
    e164: String,
    country_code: u16,
    /// Length in bytes of the country code digits inside `e164` (after `+`).
    country_code_len: usize,
}

impl PhoneNumber {
    /// Parses a number written in international form (`+44 20 7946 0000`)
    /// or in the national form of `default_region` (`020 7946 0000`), and
    /// checks it is a valid number of its numbering plan.
    ///
    /// # Errors
    ///
    /// A [`DestinationError`] naming what was wrong; the error never contains
    /// the input.
    ///
    /// # Example
    ///
    /// ```
    /// use twofa_delivery::{PhoneNumber, Region};
    ///
    /// let uk = Region::new("GB")?;
    /// let number = PhoneNumber::parse("07400 123456", uk)?;
    /// assert_eq!(number.expose_e164(), "+447400123456");
    /// assert_eq!(number.to_string(), "+44 ••• ••• 3456");
    /// # Ok::<(), twofa_delivery::DestinationError>(())
    /// ```
    pub fn parse(text: &str, default_region: Region) -> Result<Self, DestinationError> {
        let region = default_region.id().ok_or(DestinationError::UnknownRegion)?;
        let number = Self::parse_inner(text, Some(region))?;
        // A number is accepted only if its canonical E.164 form is accepted
        // too, and reads as the same number: what set-up stores must load
        // again. Letters read as keypad digits after an international
        // prefix can otherwise give a form the metadata refuses.
        match Self::from_e164(&number.e164) {
            Ok(again) if again == number => Ok(number),
            _ => Err(DestinationError::PhoneUnreadable),
        }
    }

    /// Parses a number in E.164 form (`+447400123456`), as stored by
    /// [`PhoneNumber::expose_e164`].
    ///
    /// # Errors
    ///
    /// [`DestinationError::PhoneNotE164`] when the text does not start with
    /// `+`, otherwise as [`PhoneNumber::parse`].
    pub fn from_e164(text: &str) -> Result<Self, DestinationError> {
        if !text.starts_with('+') {
            return Err(DestinationError::PhoneNotE164);
        }
        Self::parse_inner(text, None)
    }

    fn parse_inner(
        text: &str,
        region: Option<phonenumber::country::Id>,
    ) -> Result<Self, DestinationError> {
        Self::parse_checked(text, region, Validity::Required)
    }

    fn parse_checked(
        text: &str,
        region: Option<phonenumber::country::Id>,
        validity: Validity,
    ) -> Result<Self, DestinationError> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.len() > MAX_PHONE_INPUT {
            return Err(DestinationError::PhoneInputLength {
                max: MAX_PHONE_INPUT,
            });
        }
        let parsed = parse_international_aware(trimmed, region)?;
        if parsed.extension().is_some() {
            return Err(DestinationError::PhoneHasExtension);
        }
        let country_code = parsed.code().value();
        if validity == Validity::Required && !parsed.is_valid() {
            return Err(DestinationError::PhoneNotValid { country_code });
        }
        let e164 = parsed.format().mode(Mode::E164).to_string();
        // E.164 §6.1: at most 15 digits after the `+`. Anything else means
        // the metadata and the formatter disagree, and failing closed is the
        // only safe answer.
        let digits = e164.strip_prefix('+').unwrap_or("");
        let country_code_len = country_code.to_string().len();
        if digits.len() <= country_code_len
            || digits.len() > 15
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || !digits.starts_with(&country_code.to_string())
        {
            return Err(DestinationError::PhoneUnreadable);
        }
        Ok(Self {
            e164,
            country_code,
            country_code_len,
        })
    }

    /// The full number in E.164 form, e.g. `+447400123456`.
    ///
    /// # Security
    ///
    /// This is the one place the full number leaves the type: hand it to the
    /// SMS or voice provider, never to a log.
    #[must_use]
    pub fn expose_e164(&self) -> &str {
        &self.e164
    }

    /// The country calling code, e.g. `44`.
    #[must_use]
    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    /// The masked form also used by `Display`, e.g. `+44 ••• ••• 3456`.
    #[must_use]
    pub fn masked(&self) -> String {
        self.to_string()
    }

    /// The national significant number (digits after the country code).
    fn national(&self) -> &str {
        self.e164
            .get(1usize.saturating_add(self.country_code_len)..)
            .unwrap_or("")
    }

    /// The number as the metadata library sees it, for classification.
    pub(crate) fn metadata_number(&self) -> Option<phonenumber::PhoneNumber> {
        phonenumber::parse(None, &self.e164).ok()
    }
}

/// Parses with the metadata, working around a quirk of the `phonenumber`
/// parser: it strips the national prefix of the *default* region even from
/// a number written with another country code, so `+49 1512 3456789` read
/// with default region US would lose its leading `1`.
///
/// - Text with a `+` (international form, or an RFC 3966 `tel:+…` URI) is
///   parsed without a default region: the region is not needed, and not
///   giving it avoids the quirk.
/// - Text dialled with the default region's international prefix (`00 49 …`
///   from Germany, `011 49 …` from the US) parses to another country code;
///   it is parsed again as `+` followed by the digits from the country code
///   on, which the parser handles without a region.
fn parse_international_aware(
    text: &str,
    region: Option<phonenumber::country::Id>,
) -> Result<phonenumber::PhoneNumber, DestinationError> {
    if text.contains('+') || region.is_none() {
        return phonenumber::parse(None, text).map_err(map_parse_error);
    }
    let parsed = phonenumber::parse(region, text).map_err(map_parse_error)?;
    if parsed.code().source() != phonenumber::country::Source::Idd {
        return Ok(parsed);
    }
    let country_code = parsed.code().value().to_string();
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    // International prefixes are 2 to 5 digits long (`00`, `011`, `0011`,
    // `00700`); try each split and keep the first that reads as a valid
    // number with the same country code.
    for skip in 2..=5 {
        let Some(rest) = digits.get(skip..) else {
            break;
        };
        if !rest.starts_with(&country_code) {
            continue;
        }
        if let Ok(number) = phonenumber::parse(None, format!("+{rest}"))
            && number.code().value() == parsed.code().value()
            && number.is_valid()
        {
            return Ok(number);
        }
    }
    Ok(parsed)
}

fn map_parse_error(error: phonenumber::ParseError) -> DestinationError {
    match error {
        phonenumber::ParseError::InvalidCountryCode => DestinationError::PhoneUnknownCountryCode,
        phonenumber::ParseError::TooShortAfterIdd | phonenumber::ParseError::TooShortNsn => {
            DestinationError::PhoneTooShort
        }
        phonenumber::ParseError::TooLong => DestinationError::PhoneTooLong,
        _ => DestinationError::PhoneUnreadable,
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let national = self.national();
        let shown = match national.len() {
            0..=4 => 0,
            5..=7 => 2,
            _ => 4,
        };
        let tail = national
            .get(national.len().saturating_sub(shown)..)
            .unwrap_or("");
        if tail.is_empty() {
            write!(f, "+{} {MASK} {MASK}", self.country_code)
        } else {
            write!(f, "+{} {MASK} {MASK} {tail}", self.country_code)
        }
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({self})")
    }
}

/// Whether the number must be valid in the current numbering metadata.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Validity {
    /// Input from a user: must be an assigned range.
    Required,
    /// A stored record: it was valid when saved, and a later metadata update
    /// that retires its range must not make the record unreadable.
    Trusted,
}

impl TryFrom<String> for PhoneNumber {
    type Error = DestinationError;

    /// Reads a stored E.164 number (the serde form). Unlike
    /// [`PhoneNumber::from_e164`] this does not require the number to be
    /// valid in the current metadata, so records stay readable across
    /// metadata updates; the syntax is still checked.
    fn try_from(value: String) -> Result<Self, Self::Error> {
        if !value.starts_with('+') {
            return Err(DestinationError::PhoneNotE164);
        }
        Self::parse_checked(&value, None, Validity::Trusted)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.e164
    }
}

/// An email address with a light, documented validation, stored with its
/// domain lower-cased.
///
/// Accepted: exactly one `@`; a local part of 1 to 64 bytes made of ASCII
/// letters, digits, `.` (not first, last or doubled) and the RFC 5322 §3.2.3
/// `atext` specials ``! # $ % & ' * + - / = ? ^ _ ` { | } ~``; a domain of at
/// least two labels, each 1 to 63 bytes of ASCII letters, digits and `-` (not
/// first or last), with a top-level label that is not all digits; at most 254
/// bytes in all (RFC 5321 §4.5.3.1). Quoted local parts, address literals and
/// internationalised addresses are refused: they are legal but rare, and a
/// narrow grammar is easier to audit. Surrounding whitespace is trimmed. The
/// local part keeps its case (RFC 5321 §2.4: it may be case-sensitive).
///
/// `Debug` and `Display` print `j•••@example.com`: the first character of the
/// local part (none when the local part is a single character) and the domain.
#[derive(Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub struct EmailAddress {
    address: String,
    at: usize,
}

impl EmailAddress {
    /// Validates and normalises an address.
    ///
    /// # Errors
    ///
    /// A [`DestinationError`] naming the part that was wrong; the error never
    /// contains the input.
    ///
    /// # Example
    ///
    /// ```
    /// use twofa_delivery::EmailAddress;
    ///
    /// let email = EmailAddress::parse("jane.doe@Example.COM")?;
    /// assert_eq!(email.expose_address(), "jane.doe@example.com");
    /// assert_eq!(email.to_string(), "j•••@example.com");
    /// # Ok::<(), twofa_delivery::DestinationError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, DestinationError> {
        let trimmed = text.trim();
        let mut parts = trimmed.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(DestinationError::EmailAtSign);
        };
        if local.is_empty()
            || local.len() > MAX_LOCAL_PART
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
            || !local.bytes().all(is_local_byte)
        {
            return Err(DestinationError::EmailLocalPart);
        }
        if domain.is_empty() || domain.len() > MAX_DOMAIN || !valid_domain(domain) {
            return Err(DestinationError::EmailDomain);
        }
        if trimmed.len() > MAX_ADDRESS {
            return Err(DestinationError::EmailTooLong);
        }
        let address = format!("{local}@{}", domain.to_ascii_lowercase());
        Ok(Self {
            address,
            at: local.len(),
        })
    }

    /// The full address, e.g. `jane.doe@example.com`.
    ///
    /// # Security
    ///
    /// The one place the full address leaves the type: hand it to the mail
    /// provider, never to a log.
    #[must_use]
    pub fn expose_address(&self) -> &str {
        &self.address
    }

    /// The domain, lower case. Not secret: it is printed in the masked form.
    #[must_use]
    pub fn domain(&self) -> &str {
        self.address.get(self.at.saturating_add(1)..).unwrap_or("")
    }

    /// The masked form also used by `Display`, e.g. `j•••@example.com`.
    #[must_use]
    pub fn masked(&self) -> String {
        self.to_string()
    }
}

/// RFC 5322 §3.2.3 `atext` plus the dot of `dot-atom-text`.
fn is_local_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b".!#$%&'*+-/=?^_`{|}~".contains(&byte)
}

/// RFC 1035 §2.3.1 preferred name syntax (letters, digits, hyphen) with the
/// RFC 1123 §2.1 relaxation that a label may start with a digit.
fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let labels_ok = labels.iter().all(|label| {
        !label.is_empty()
            && label.len() <= MAX_LABEL
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    let top_not_numeric = labels
        .last()
        .is_some_and(|top| !top.bytes().all(|b| b.is_ascii_digit()));
    labels_ok && top_not_numeric
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.address.get(..self.at).unwrap_or("");
        // The local part is ASCII by construction, so the first byte is a
        // whole character.
        let first = if local.len() >= 2 {
            local.get(..1).unwrap_or("")
        } else {
            ""
        };
        write!(f, "{first}{MASK}@{}", self.domain())
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({self})")
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = DestinationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.address
    }
}

/// Where a code goes: a phone (SMS or voice call) or a mailbox.
///
/// Printed masked, like its contents.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Destination {
    /// A phone number, reached by SMS or voice call.
    Phone(PhoneNumber),
    /// An email address.
    Email(EmailAddress),
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Phone(phone) => fmt::Display::fmt(phone, f),
            Self::Email(email) => fmt::Display::fmt(email, f),
        }
    }
}

impl From<PhoneNumber> for Destination {
    fn from(value: PhoneNumber) -> Self {
        Self::Phone(value)
    }
}

impl From<EmailAddress> for Destination {
    fn from(value: EmailAddress) -> Self {
        Self::Email(value)
    }
}
