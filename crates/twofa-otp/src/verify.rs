//! Outcomes of a verification and the constant-time candidate scan.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::mac::{Keyed, LANES};
use crate::params::Digits;

/// A TOTP code accepted at a time step.
///
/// Persist [`TotpAccepted::step`] as the new last accepted step (with a
/// compare-and-swap, so two servers cannot both accept the same code).
#[must_use = "the accepted step must be stored to prevent replay"]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct TotpAccepted {
    /// The matched time step `T` (RFC 6238 §4.2); store it as the last
    /// accepted step.
    pub step: u64,
    /// The matched step minus the current step: negative when the device
    /// is behind the server, positive when ahead (RFC 6238 §6).
    pub drift: i64,
}

/// An HOTP code accepted at a counter.
#[must_use = "the next counter must be stored to prevent replay"]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct HotpAccepted {
    /// The counter the code matched.
    pub counter: u64,
    /// The counter to store and pass to the next verification:
    /// `counter + 1` (RFC 4226 §7.2), or `None` when `counter` is
    /// `u64::MAX` and the key has no unused counter left. Store that
    /// exhaustion and re-enroll: verifying again from `u64::MAX` would accept
    /// the same code twice.
    pub next_counter: Option<u64>,
}

/// Calls `visit(counter, code_value)` for every counter in `first..=last`,
/// in increasing order, with the HOTP value reduced to `digits`.
///
/// Counters are computed in groups of [`LANES`] independent HMACs (see
/// [`crate::mac`]). No counter outside the range is computed, so callers
/// bound the range with checked arithmetic and nothing can overflow.
#[inline]
pub(crate) fn scan<F: FnMut(u64, u32)>(
    keyed: &Keyed,
    digits: Digits,
    first: u64,
    last: u64,
    mut visit: F,
) {
    let mut next = (first <= last).then_some(first);
    while let Some(counter) = next {
        // Invariant: first <= counter <= last.
        let left = last.wrapping_sub(counter);
        if left >= 2 {
            // counter + 2 <= last, so these additions cannot wrap.
            let c1 = counter.wrapping_add(1);
            let c2 = counter.wrapping_add(2);
            let values = keyed.truncated_lanes([counter, c1, c2]);
            for (c, value) in [counter, c1, c2].into_iter().zip(values) {
                visit(c, digits.reduce(value));
            }
            next = if left == 2 {
                None
            } else {
                counter.checked_add(3)
            };
        } else {
            visit(counter, digits.reduce(keyed.truncated(counter)));
            next = if left == 0 {
                None
            } else {
                counter.checked_add(1)
            };
        }
    }
}

const _: () = assert!(LANES == 3, "scan groups counters in threes");

/// The constant-time bookkeeping of a window scan.
///
/// Every candidate is compared, matched or not; the outcome is folded into
/// [`Choice`] masks and a conditionally selected counter, so the scan has no
/// branch and no early exit that depends on which candidate matched. Only the
/// final outcome (accepted, replayed, out of window) is branched on, which
/// the caller cannot avoid learning.
#[derive(Clone, Copy)]
pub(crate) struct Tally {
    code: u32,
    /// Some candidate above the replay floor matched.
    pub(crate) accepted: Choice,
    /// Some candidate at or below the replay floor matched.
    pub(crate) replayed: Choice,
    /// The highest accepted counter (valid when `accepted` is set).
    pub(crate) counter: u64,
}

impl Tally {
    pub(crate) fn new(code: u32) -> Self {
        Self {
            code,
            accepted: Choice::from(0),
            replayed: Choice::from(0),
            counter: 0,
        }
    }

    /// Folds in one candidate. `fresh` says whether `counter` is above the
    /// last accepted one; it depends only on public values.
    #[inline(always)]
    pub(crate) fn visit(&mut self, counter: u64, value: u32, fresh: bool) {
        let matched = value.ct_eq(&self.code);
        let fresh = Choice::from(u8::from(fresh));
        let take = matched & fresh;
        // Candidates arrive in increasing order, so the last match taken is
        // the highest: accepting the highest matching step means the same
        // code can never be accepted again later in the window.
        self.counter = u64::conditional_select(&self.counter, &counter, take);
        self.accepted |= take;
        self.replayed |= matched & !fresh;
    }
}
