//! E.164 country codes and sets of them: the words in which the service
//! and a company say where SMS and voice codes may go.

use core::fmt;

/// An E.164 country code (ITU-T E.164 §6.2.1: "CC", one to three digits):
/// a geographic country code such as `44`, a shared one such as `1` (the
/// whole North American Numbering Plan) or `7`, or a code for a global
/// service such as `881` (the Global Mobile Satellite System).
///
/// Valid by construction: 1 to 999.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "u16", into = "u16")
)]
pub struct CountryCode(u16);

/// A country code outside 1 to 999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("a country code is 1 to 999, got {code}")]
#[non_exhaustive]
pub struct CountryCodeError {
    /// The refused value.
    pub code: u16,
}

impl CountryCode {
    /// The largest code: E.164 country codes have at most three digits.
    pub const MAX: u16 = 999;

    /// Validates a code.
    ///
    /// # Errors
    ///
    /// [`CountryCodeError`] outside 1 to 999.
    pub const fn new(code: u16) -> Result<Self, CountryCodeError> {
        if code == 0 || code > Self::MAX {
            return Err(CountryCodeError { code });
        }
        Ok(Self(code))
    }

    /// The number.
    #[must_use]
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl TryFrom<u16> for CountryCode {
    type Error = CountryCodeError;

    fn try_from(code: u16) -> Result<Self, CountryCodeError> {
        Self::new(code)
    }
}

impl From<CountryCode> for u16 {
    fn from(code: CountryCode) -> Self {
        code.0
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode(+{})", self.0)
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.0)
    }
}

const WORDS: usize = 16;

/// A set of [`CountryCode`]s: a bit for each of 1 to 999 (128 bytes, `Copy`,
/// no allocation).
///
/// ```
/// use twofa_types::{CountryCode, CountryCodeSet};
///
/// let uk = CountryCode::new(44)?;
/// let gmss = CountryCode::new(881)?;
/// let set = CountryCodeSet::of(&[uk]);
/// assert!(set.contains(uk) && !set.contains(gmss));
/// assert!(CountryCodeSet::all().contains(gmss));
/// # Ok::<(), twofa_types::CountryCodeError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "Vec<u16>", into = "Vec<u16>")
)]
pub struct CountryCodeSet([u64; WORDS]);

impl CountryCodeSet {
    /// The empty set.
    #[must_use]
    pub const fn empty() -> Self {
        Self([0; WORDS])
    }

    /// Every code from 1 to 999.
    #[must_use]
    pub const fn all() -> Self {
        // Word 0 holds codes 0 to 63 (no code 0); the last word holds 960
        // to 1023, of which 960 to 999 (its 40 lowest bits).
        const _: () = assert!(CountryCode::MAX == 999 && WORDS == 16);
        let mut words = [u64::MAX; WORDS];
        if let Some(first) = words.first_mut() {
            *first = u64::MAX << 1;
        }
        if let Some(last) = words.last_mut() {
            *last = u64::MAX >> 24;
        }
        Self(words)
    }

    /// The set holding exactly `codes`.
    #[must_use]
    pub fn of(codes: &[CountryCode]) -> Self {
        codes.iter().copied().collect()
    }

    const fn slot(code: CountryCode) -> (usize, u64) {
        ((code.0 / 64) as usize, 1 << (code.0 % 64))
    }

    /// This set with `code` added.
    #[must_use]
    pub fn with(mut self, code: CountryCode) -> Self {
        let (word, bit) = Self::slot(code);
        // `code` is at most 999, so `word` is at most 15.
        if let Some(word) = self.0.get_mut(word) {
            *word |= bit;
        }
        self
    }

    /// This set with `code` removed.
    #[must_use]
    pub fn without(mut self, code: CountryCode) -> Self {
        let (word, bit) = Self::slot(code);
        if let Some(word) = self.0.get_mut(word) {
            *word &= !bit;
        }
        self
    }

    /// Whether `code` is in the set.
    #[must_use]
    pub fn contains(&self, code: CountryCode) -> bool {
        let (word, bit) = Self::slot(code);
        self.0.get(word).is_some_and(|word| word & bit != 0)
    }

    /// The codes held by both sets.
    #[must_use]
    pub fn intersection(mut self, other: &Self) -> Self {
        for (word, theirs) in self.0.iter_mut().zip(other.0) {
            *word &= theirs;
        }
        self
    }

    /// The codes of this set that are not in `other`.
    #[must_use]
    pub fn difference(mut self, other: &Self) -> Self {
        for (word, theirs) in self.0.iter_mut().zip(other.0) {
            *word &= !theirs;
        }
        self
    }

    /// Whether every code of this set is in `other`.
    #[must_use]
    pub fn is_subset(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(other.0)
            .all(|(word, theirs)| word & !theirs == 0)
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|word| *word == 0)
    }

    /// How many codes the set holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.iter().map(|word| word.count_ones() as usize).sum()
    }

    /// The codes in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = CountryCode> + '_ {
        (1..=CountryCode::MAX)
            .map(CountryCode)
            .filter(|code| self.contains(*code))
    }
}

impl Default for CountryCodeSet {
    /// The empty set.
    fn default() -> Self {
        Self::empty()
    }
}

impl FromIterator<CountryCode> for CountryCodeSet {
    fn from_iter<I: IntoIterator<Item = CountryCode>>(iter: I) -> Self {
        iter.into_iter().fold(Self::empty(), Self::with)
    }
}

impl fmt::Debug for CountryCodeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::all() {
            return f.write_str("CountryCodeSet(all)");
        }
        f.debug_set().entries(self.iter()).finish()
    }
}

impl TryFrom<Vec<u16>> for CountryCodeSet {
    type Error = CountryCodeError;

    fn try_from(codes: Vec<u16>) -> Result<Self, CountryCodeError> {
        codes
            .into_iter()
            .map(CountryCode::new)
            .collect::<Result<Self, _>>()
    }
}

impl From<CountryCodeSet> for Vec<u16> {
    fn from(set: CountryCodeSet) -> Self {
        set.iter().map(CountryCode::get).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(code: u16) -> CountryCode {
        CountryCode::new(code).unwrap()
    }

    #[test]
    fn codes_are_one_to_three_digits() {
        assert_eq!(CountryCode::new(0), Err(CountryCodeError { code: 0 }));
        assert_eq!(CountryCode::new(1).map(CountryCode::get), Ok(1));
        assert_eq!(CountryCode::new(999).map(CountryCode::get), Ok(999));
        assert_eq!(CountryCode::new(1000), Err(CountryCodeError { code: 1000 }));
        assert_eq!(cc(881).to_string(), "+881");
    }

    #[test]
    fn set_operations_at_every_word_edge() {
        let edges = [1, 63, 64, 127, 128, 881, 959, 960, 999];
        let set = CountryCodeSet::of(&edges.map(cc));
        assert_eq!(set.len(), edges.len());
        for code in 1..=999 {
            assert_eq!(set.contains(cc(code)), edges.contains(&code), "{code}");
        }
        assert_eq!(CountryCodeSet::all().len(), 999);
        let each: CountryCodeSet = (1..=999).map(cc).collect();
        assert_eq!(CountryCodeSet::all(), each);
        assert!(set.is_subset(&CountryCodeSet::all()));
        assert!(!CountryCodeSet::all().is_subset(&set));
        let narrowed = CountryCodeSet::all().intersection(&set.without(cc(881)));
        assert!(!narrowed.contains(cc(881)) && narrowed.contains(cc(64)));
        assert_eq!(
            CountryCodeSet::all().difference(&set).len(),
            999 - edges.len()
        );
        assert!(CountryCodeSet::empty().is_empty());
        assert_eq!(
            set.iter().map(CountryCode::get).collect::<Vec<_>>(),
            edges.to_vec()
        );
    }

    #[test]
    fn a_list_with_an_invalid_code_is_refused() {
        assert_eq!(
            CountryCodeSet::try_from(vec![44, 0]),
            Err(CountryCodeError { code: 0 })
        );
        assert_eq!(
            CountryCodeSet::try_from(vec![44, 1]),
            Ok(CountryCodeSet::of(&[cc(1), cc(44)]))
        );
    }
}
