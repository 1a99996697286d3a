//! How much address space an allowlist trusts, counted over the union of
//! its entries, and the limit a company's allowlist stays within.

use crate::cidr::{Bounds, Cidr};

/// Addresses covered by a set of networks, each address counted once
/// however many entries contain it (so a range split into halves counts as
/// the whole range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AddressSpace {
    /// IPv4 addresses covered.
    pub ipv4: u64,
    /// IPv6 addresses covered (saturating at `u128::MAX`).
    pub ipv6: u128,
}

impl AddressSpace {
    /// The space covered by `networks`.
    #[must_use]
    pub fn of(networks: impl IntoIterator<Item = Cidr>) -> Self {
        let mut v4: Vec<(u128, u128)> = Vec::new();
        let mut v6: Vec<(u128, u128)> = Vec::new();
        for network in networks {
            match network.bounds() {
                Bounds::V4(first, last) => v4.push((u128::from(first), u128::from(last))),
                Bounds::V6(first, last) => v6.push((first, last)),
            }
        }
        Self {
            ipv4: u64::try_from(union_size(v4)).unwrap_or(u64::MAX),
            ipv6: union_size(v6),
        }
    }
}

/// The number of integers in the union of inclusive ranges, saturating.
fn union_size(mut ranges: Vec<(u128, u128)>) -> u128 {
    ranges.sort_unstable();
    let mut total: u128 = 0;
    let mut current: Option<(u128, u128)> = None;
    for (first, last) in ranges {
        current = match current {
            Some((start, end)) if first <= end.saturating_add(1) => Some((start, end.max(last))),
            Some((start, end)) => {
                total = total.saturating_add(span(start, end));
                Some((first, last))
            }
            None => Some((first, last)),
        };
    }
    if let Some((start, end)) = current {
        total = total.saturating_add(span(start, end));
    }
    total
}

fn span(start: u128, end: u128) -> u128 {
    end.saturating_sub(start).saturating_add(1)
}

/// The most address space a company may trust, per family.
///
/// The default, a `/16` of IPv4 (65,536 addresses) and a `/48` of IPv6 (a
/// site), covers a campus; trusting more is an explicit decision
/// (`twofa::Twofa::add_trusted_network_beyond_limit`, audited apart), since
/// every address trusted is an address from which a stolen password skips
/// the second factor for weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressSpaceLimit {
    ipv4: u64,
    ipv6: u128,
}

impl Default for AddressSpaceLimit {
    fn default() -> Self {
        Self {
            ipv4: 1 << 16,
            ipv6: 1 << 80,
        }
    }
}

impl AddressSpaceLimit {
    /// At most `ipv4` IPv4 and `ipv6` IPv6 addresses.
    #[must_use]
    pub const fn new(ipv4: u64, ipv6: u128) -> Self {
        Self { ipv4, ipv6 }
    }

    /// The IPv4 limit.
    #[must_use]
    pub const fn ipv4(&self) -> u64 {
        self.ipv4
    }

    /// The IPv6 limit.
    #[must_use]
    pub const fn ipv6(&self) -> u128 {
        self.ipv6
    }

    /// Whether `space` stays within the limit.
    #[must_use]
    pub const fn allows(&self, space: AddressSpace) -> bool {
        space.ipv4 <= self.ipv4 && space.ipv6 <= self.ipv6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(networks: &[&str]) -> AddressSpace {
        AddressSpace::of(networks.iter().map(|text| text.parse::<Cidr>().unwrap()))
    }

    #[test]
    fn overlaps_and_neighbours_count_once() {
        assert_eq!(space(&[]), AddressSpace::default());
        assert_eq!(space(&["10.0.0.0/16", "10.0.0.0/24"]).ipv4, 65_536);
        assert_eq!(space(&["10.0.0.0/17", "10.0.128.0/17"]).ipv4, 65_536);
        assert_eq!(space(&["10.0.0.0/24", "10.0.2.0/24"]).ipv4, 512);
        assert_eq!(space(&["0.0.0.0/1", "128.0.0.0/1"]).ipv4, 1 << 32);
        assert_eq!(space(&["2001:db8::/48", "2001:db8::/64"]).ipv6, 1 << 80);
        assert_eq!(space(&["::/1", "8000::/1"]).ipv6, u128::MAX);
        assert_eq!(space(&["203.0.113.7/32"]).ipv4, 1);
    }
}
