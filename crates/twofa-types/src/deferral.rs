//! How many times a user may put set-up off.

/// How many times a user may choose "remind me later" instead of setting up
/// 2FA.
///
/// The count is every deferral the user has taken, over the whole life of
/// their enrollment record: activating a method does not reset it, so a user
/// who later removes every method does not get the deferrals back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum DeferralCap {
    /// At most this many deferrals. `AtMost(0)` switches the "remind me
    /// later" option off.
    AtMost(u32),
    /// No limit on the number of deferrals.
    Unlimited,
}

impl DeferralCap {
    /// The deferrals left once one more is taken after `used` ones, or
    /// `None` when the cap allows no other.
    #[must_use]
    pub fn after_one_more(self, used: u32) -> Option<DeferralsLeft> {
        match self {
            Self::Unlimited => Some(DeferralsLeft::Unlimited),
            Self::AtMost(cap) => cap
                .checked_sub(used)?
                .checked_sub(1)
                .map(DeferralsLeft::AtMost),
        }
    }
}

/// How many more deferrals a user will have after taking the one offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeferralsLeft {
    /// This many.
    AtMost(u32),
    /// No limit.
    Unlimited,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_counts_every_deferral_taken() {
        assert_eq!(DeferralCap::AtMost(0).after_one_more(0), None);
        assert_eq!(
            DeferralCap::AtMost(3).after_one_more(0),
            Some(DeferralsLeft::AtMost(2))
        );
        assert_eq!(
            DeferralCap::AtMost(3).after_one_more(2),
            Some(DeferralsLeft::AtMost(0))
        );
        assert_eq!(DeferralCap::AtMost(3).after_one_more(3), None);
        assert_eq!(DeferralCap::AtMost(3).after_one_more(u32::MAX), None);
        assert_eq!(
            DeferralCap::Unlimited.after_one_more(u32::MAX),
            Some(DeferralsLeft::Unlimited)
        );
    }
}
