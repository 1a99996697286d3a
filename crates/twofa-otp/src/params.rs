//! Validated parameters of a key and of a verification: algorithm, digits,
//! time step, verification windows.

use core::fmt;

use crate::error::ConfigError;

/// The HMAC hash function of a key.
///
/// RFC 6238 §1.2 allows exactly these three, so the set is complete by nature.
/// The default is SHA-1, the algorithm of RFC 4226 and the only one every
/// authenticator app supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Algorithm {
    /// HMAC-SHA-1 (RFC 4226, RFC 6238 default).
    #[default]
    #[cfg_attr(feature = "serde", serde(rename = "SHA1"))]
    Sha1,
    /// HMAC-SHA-256.
    #[cfg_attr(feature = "serde", serde(rename = "SHA256"))]
    Sha256,
    /// HMAC-SHA-512.
    #[cfg_attr(feature = "serde", serde(rename = "SHA512"))]
    Sha512,
}

impl Algorithm {
    /// All algorithms, in order of output size.
    pub const ALL: [Self; 3] = [Self::Sha1, Self::Sha256, Self::Sha512];

    /// The hash output length in bytes (20, 32 or 64), which is also the
    /// default length of a generated secret (RFC 4226 §4 R6 recommends a
    /// secret as long as the HMAC output).
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    /// The name used in key URIs: `SHA1`, `SHA256` or `SHA512`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    /// Parses a key-URI algorithm name exactly as [`Algorithm::name`] prints
    /// it (`SHA1`, `SHA256`, `SHA512`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::UnknownAlgorithm`] for any other text (the text is not
    /// echoed).
    pub fn from_name(name: &str) -> Result<Self, ConfigError> {
        match name {
            "SHA1" => Ok(Self::Sha1),
            "SHA256" => Ok(Self::Sha256),
            "SHA512" => Ok(Self::Sha512),
            _ => Err(ConfigError::UnknownAlgorithm),
        }
    }
}

impl core::str::FromStr for Algorithm {
    type Err = ConfigError;

    /// Parses `SHA1`, `SHA256` or `SHA512` in any ASCII case (`sha256`
    /// too), for command lines and configuration files. Key URIs use the
    /// exact [`Algorithm::from_name`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|algorithm| text.eq_ignore_ascii_case(algorithm.name()))
            .ok_or(ConfigError::UnknownAlgorithm)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The number of decimal digits of a code: 6, 7 or 8.
///
/// RFC 4226 §5.3 requires at least 6; 8 is the largest value a 31-bit
/// truncated HMAC can fill meaningfully and the largest RFC 6238 uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u8", into = "u8"))]
pub struct Digits(u8);

impl Digits {
    /// Six digits, the default of RFC 4226 and of every authenticator app.
    pub const SIX: Self = Self(6);
    /// Seven digits.
    pub const SEVEN: Self = Self(7);
    /// Eight digits.
    pub const EIGHT: Self = Self(8);

    /// Validates a digit count.
    ///
    /// # Errors
    ///
    /// [`ConfigError::DigitsOutOfRange`] unless `digits` is 6, 7 or 8.
    pub const fn new(digits: u32) -> Result<Self, ConfigError> {
        match digits {
            6 => Ok(Self::SIX),
            7 => Ok(Self::SEVEN),
            8 => Ok(Self::EIGHT),
            _ => Err(ConfigError::DigitsOutOfRange { digits }),
        }
    }

    /// The digit count (6, 7 or 8).
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// Reduces a 31-bit truncated HMAC value to this many digits
    /// (RFC 4226 §5.3 step 3: `Snum mod 10^Digit`).
    ///
    /// Each arm divides by a constant, which the compiler turns into a
    /// multiplication; no division instruction with a secret operand runs.
    #[inline(always)]
    pub(crate) const fn reduce(self, value: u32) -> u32 {
        match self.0 {
            6 => value % 1_000_000,
            7 => value % 10_000_000,
            _ => value % 100_000_000,
        }
    }
}

impl Default for Digits {
    fn default() -> Self {
        Self::SIX
    }
}

impl TryFrom<u8> for Digits {
    type Error = ConfigError;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::new(u32::from(value))
    }
}

impl From<Digits> for u8 {
    fn from(value: Digits) -> Self {
        value.0
    }
}

impl fmt::Display for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The TOTP time step `X` of RFC 6238 §4.1, in seconds: 1 to 120.
///
/// The default, 30 s, is the value RFC 6238 §5.2 recommends and the only one
/// every authenticator app honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u64", into = "u64"))]
pub struct Step(u64);

impl Step {
    /// The shortest step accepted, in seconds.
    pub const MIN_SECONDS: u64 = 1;
    /// The longest step accepted, in seconds: a longer step keeps one code
    /// valid too long.
    pub const MAX_SECONDS: u64 = 120;
    /// 30 seconds.
    pub const THIRTY_SECONDS: Self = Self(30);

    /// Validates a step length in seconds.
    ///
    /// # Errors
    ///
    /// [`ConfigError::StepOutOfRange`] unless `1 <= seconds <= 120`.
    pub const fn new(seconds: u64) -> Result<Self, ConfigError> {
        match seconds {
            Self::MIN_SECONDS..=Self::MAX_SECONDS => Ok(Self(seconds)),
            _ => Err(ConfigError::StepOutOfRange { seconds }),
        }
    }

    /// The step length in seconds.
    #[must_use]
    pub const fn seconds(self) -> u64 {
        self.0
    }
}

impl Default for Step {
    fn default() -> Self {
        Self::THIRTY_SECONDS
    }
}

impl TryFrom<u64> for Step {
    type Error = ConfigError;

    fn try_from(value: u64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Step> for u64 {
    fn from(value: Step) -> Self {
        value.seconds()
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0)
    }
}

/// The TOTP verification window: how many steps behind and ahead of the
/// current step a code is still accepted (RFC 6238 §5.2 "at most one time
/// step" is the default).
///
/// Each side is at most [`Window::MAX_SIDE`] steps, which bounds the work of a
/// verification to 21 HMACs and keeps its candidates on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Window {
    behind: u32,
    ahead: u32,
}

impl Window {
    /// The largest number of steps on either side.
    pub const MAX_SIDE: u32 = 10;
    /// Only the current step.
    pub const EXACT: Self = Self {
        behind: 0,
        ahead: 0,
    };

    /// Validates a window.
    ///
    /// # Errors
    ///
    /// [`ConfigError::WindowTooLarge`] if either side exceeds
    /// [`Window::MAX_SIDE`].
    pub const fn new(behind: u32, ahead: u32) -> Result<Self, ConfigError> {
        if behind > Self::MAX_SIDE || ahead > Self::MAX_SIDE {
            return Err(ConfigError::WindowTooLarge { behind, ahead });
        }
        Ok(Self { behind, ahead })
    }

    /// Steps accepted before the current one.
    #[must_use]
    pub const fn behind(self) -> u32 {
        self.behind
    }

    /// Steps accepted after the current one.
    #[must_use]
    pub const fn ahead(self) -> u32 {
        self.ahead
    }
}

impl Default for Window {
    /// One step behind and one ahead.
    fn default() -> Self {
        Self {
            behind: 1,
            ahead: 1,
        }
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Raw {
            behind: u32,
            ahead: u32,
        }
        let raw = Raw::deserialize(deserializer)?;
        Self::new(raw.behind, raw.ahead).map_err(serde::de::Error::custom)
    }
}

/// The HOTP look-ahead window `s` of RFC 4226 §7.4: how many counters after
/// the expected one are also tried. Default 10, at most
/// [`LookAhead::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u32", into = "u32"))]
pub struct LookAhead(u32);

impl LookAhead {
    /// The largest look-ahead accepted: every extra counter is one more
    /// chance for a guessed code.
    pub const MAX: u32 = 100;

    /// Validates a look-ahead.
    ///
    /// # Errors
    ///
    /// [`ConfigError::LookAheadTooLarge`] above [`LookAhead::MAX`].
    pub const fn new(counters: u32) -> Result<Self, ConfigError> {
        if counters > Self::MAX {
            return Err(ConfigError::LookAheadTooLarge { counters });
        }
        Ok(Self(counters))
    }

    /// The number of counters tried after the expected one.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Default for LookAhead {
    fn default() -> Self {
        Self(10)
    }
}

impl TryFrom<u32> for LookAhead {
    type Error = ConfigError;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<LookAhead> for u32 {
    fn from(value: LookAhead) -> Self {
        value.get()
    }
}

/// The HOTP resynchronisation window of RFC 4226 §7.4: how many counters
/// after the stored one are searched for two consecutive codes. Default
/// 1000, between 1 and [`ResyncWindow::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u32", into = "u32"))]
pub struct ResyncWindow(u32);

impl ResyncWindow {
    /// The largest resync window accepted.
    pub const MAX: u32 = 10_000;

    /// Validates a resync window.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ResyncWindowOutOfRange`] for 0 or above
    /// [`ResyncWindow::MAX`].
    pub const fn new(counters: u32) -> Result<Self, ConfigError> {
        if counters == 0 || counters > Self::MAX {
            return Err(ConfigError::ResyncWindowOutOfRange { counters });
        }
        Ok(Self(counters))
    }

    /// The number of counters searched for the first code of the pair.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Default for ResyncWindow {
    fn default() -> Self {
        Self(1000)
    }
}

impl TryFrom<u32> for ResyncWindow {
    type Error = ConfigError;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<ResyncWindow> for u32 {
    fn from(value: ResyncWindow) -> Self {
        value.get()
    }
}
