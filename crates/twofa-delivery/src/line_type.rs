//! Whether a phone number reaches a mobile, and so whether SMS is sensible.
//!
//! Two sources: the offline numbering-plan metadata
//! ([`classify_offline`]) and, when an application has one, a carrier
//! lookup service behind the [`CarrierLookup`] trait. [`resolve`] combines
//! them: a definite lookup answer wins, an undecided one defers to the
//! metadata, and a failed lookup yields
//! [`LineType::Unknown`]`(`[`UnknownReason::LookupUnavailable`]`)` so that a
//! provider outage never blocks enrollment.

use core::future::Future;
use core::pin::Pin;
use std::collections::HashMap;

use phonenumber::Type;

use crate::destination::PhoneNumber;

/// What kind of line a phone number reaches.
///
/// The enrollment flow asks [`LineType::recommends_app`]: for anything but a
/// known mobile the portal shows the dialog that steers the user to the app
/// method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LineType {
    /// A mobile line: SMS will arrive.
    Mobile,
    /// Known not to be a mobile line.
    NotMobile(NotMobileKind),
    /// Cannot be told, and why.
    Unknown(UnknownReason),
}

impl LineType {
    /// Whether to show the "this is probably not a mobile" dialog that
    /// recommends the app method: yes for [`LineType::NotMobile`] and for
    /// [`LineType::Unknown`], no only for a known [`LineType::Mobile`].
    #[must_use]
    pub fn recommends_app(&self) -> bool {
        !matches!(self, Self::Mobile)
    }
}

/// The kind of a line known not to be a mobile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum NotMobileKind {
    /// A fixed (landline) number.
    FixedLine,
    /// A voice-over-IP number.
    Voip,
    /// A freephone number.
    TollFree,
    /// A premium-rate number.
    PremiumRate,
    /// A shared-cost number.
    SharedCost,
    /// A pager.
    Pager,
    /// A universal access ("company") number, routed to some office.
    UniversalAccess,
    /// A voicemail access number.
    Voicemail,
    /// Another non-mobile kind (short codes, emergency and similar).
    Other,
}

/// Why the line type of a number cannot be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum UnknownReason {
    /// The numbering plan gives fixed and mobile lines the same number
    /// ranges, as the whole North American plan does (the United States and
    /// Canada among others), or the number is a personal number that may
    /// forward anywhere.
    NumberingPlanCannotTell,
    /// The carrier lookup service failed or timed out.
    LookupUnavailable,
    /// The number matches no line-type pattern of its region's metadata.
    NoMatchingPattern,
}

/// Classifies a number from the libphonenumber metadata alone, without any
/// network access.
///
/// # Example
///
/// ```
/// use twofa_delivery::{classify_offline, LineType, PhoneNumber, Region, UnknownReason};
///
/// let canada = PhoneNumber::parse("+1 506 234 5678", Region::new("CA")?)?;
/// assert_eq!(
///     classify_offline(&canada),
///     LineType::Unknown(UnknownReason::NumberingPlanCannotTell)
/// );
/// assert!(classify_offline(&canada).recommends_app());
/// # Ok::<(), twofa_delivery::DestinationError>(())
/// ```
#[must_use]
pub fn classify_offline(number: &PhoneNumber) -> LineType {
    let Some(parsed) = number.metadata_number() else {
        return LineType::Unknown(UnknownReason::NoMatchingPattern);
    };
    match parsed.number_type(&phonenumber::metadata::DATABASE) {
        Type::Mobile => LineType::Mobile,
        Type::FixedLine => LineType::NotMobile(NotMobileKind::FixedLine),
        Type::FixedLineOrMobile | Type::PersonalNumber => {
            LineType::Unknown(UnknownReason::NumberingPlanCannotTell)
        }
        Type::Voip => LineType::NotMobile(NotMobileKind::Voip),
        Type::TollFree => LineType::NotMobile(NotMobileKind::TollFree),
        Type::PremiumRate => LineType::NotMobile(NotMobileKind::PremiumRate),
        Type::SharedCost => LineType::NotMobile(NotMobileKind::SharedCost),
        Type::Pager => LineType::NotMobile(NotMobileKind::Pager),
        Type::Uan => LineType::NotMobile(NotMobileKind::UniversalAccess),
        Type::Voicemail => LineType::NotMobile(NotMobileKind::Voicemail),
        Type::Emergency
        | Type::ShortCode
        | Type::StandardRate
        | Type::Carrier
        | Type::NoInternational => LineType::NotMobile(NotMobileKind::Other),
        Type::Unknown => LineType::Unknown(UnknownReason::NoMatchingPattern),
    }
}

/// Combines the offline classification with the answer of a carrier lookup.
///
/// - a definite lookup answer ([`LineType::Mobile`] or
///   [`LineType::NotMobile`]) wins: carriers know about ported numbers, the
///   metadata does not;
/// - an undecided lookup answer ([`LineType::Unknown`]) defers to `offline`;
/// - a failed lookup yields `Unknown(LookupUnavailable)`: the dialog
///   recommending the app is shown, and enrollment goes on.
#[must_use]
pub fn resolve(offline: LineType, lookup: Result<LineType, LookupError>) -> LineType {
    match lookup {
        Ok(answer @ (LineType::Mobile | LineType::NotMobile(_))) => answer,
        Ok(LineType::Unknown(_)) => offline,
        Err(_) => LineType::Unknown(UnknownReason::LookupUnavailable),
    }
}

/// Why a carrier lookup gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The service could not be reached or timed out.
    #[error("carrier lookup service unavailable")]
    Unavailable,
    /// The service refused the request (quota, credentials).
    #[error("carrier lookup refused")]
    Refused,
}

/// A carrier lookup service (the kind of API that tells a landline from a
/// mobile by asking the network).
///
/// Object-safe and `Send + Sync`; the method returns a boxed future so it can
/// be used from any async runtime, or driven to completion synchronously
/// when the adapter is synchronous.
pub trait CarrierLookup: Send + Sync {
    /// Looks up the line type of `number`. Return `Ok(LineType::Unknown(_))`
    /// when the service answered but could not tell.
    ///
    /// # Errors
    ///
    /// [`LookupError`] when the service gave no answer.
    fn line_type<'a>(
        &'a self,
        number: &'a PhoneNumber,
    ) -> Pin<Box<dyn Future<Output = Result<LineType, LookupError>> + Send + 'a>>;
}

/// An in-memory [`CarrierLookup`] answering from a table, for tests and
/// demos. Numbers not in the table get `Unknown(NoMatchingPattern)`; after
/// [`InMemoryCarrierLookup::with_failure`] every lookup fails.
#[derive(Debug, Default)]
pub struct InMemoryCarrierLookup {
    answers: HashMap<PhoneNumber, LineType>,
    failure: Option<LookupError>,
}

impl InMemoryCarrierLookup {
    /// An empty table.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an answer for `number`.
    #[must_use]
    pub fn with_answer(mut self, number: PhoneNumber, line_type: LineType) -> Self {
        self.answers.insert(number, line_type);
        self
    }

    /// Makes every lookup fail with `error`.
    #[must_use]
    pub fn with_failure(mut self, error: LookupError) -> Self {
        self.failure = Some(error);
        self
    }
}

impl CarrierLookup for InMemoryCarrierLookup {
    fn line_type<'a>(
        &'a self,
        number: &'a PhoneNumber,
    ) -> Pin<Box<dyn Future<Output = Result<LineType, LookupError>> + Send + 'a>> {
        let answer = match self.failure {
            Some(error) => Err(error),
            None => Ok(self
                .answers
                .get(number)
                .copied()
                .unwrap_or(LineType::Unknown(UnknownReason::NoMatchingPattern))),
        };
        Box::pin(core::future::ready(answer))
    }
}
