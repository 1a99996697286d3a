//! A lookup table from an address to the most specific covering network.
//!
//! Two CIDR networks are either disjoint or one contains the other, so for
//! every address the covering networks form a chain and the most specific
//! one is well defined. The table cuts each family's address space into
//! intervals at every network boundary, labels each interval with the most
//! specific network covering it (or none), and merges neighbours with the same
//! label. A lookup finds the last interval start at or below the address.
//!
//! To keep that to about one memory access, a directory splits the span
//! from the first to the last start into about as many equal buckets as
//! there are intervals. Each bucket records the label in force where it
//! begins, its first two intervals inline, and where all its intervals sit in
//! the table. A lookup reads its bucket and is done, unless the bucket holds
//! more than two intervals and the address lies past the second; then it
//! binary-searches that bucket's intervals. With evenly spread networks that
//! is rare; with clustered networks a bucket holds more intervals and the
//! search inside it is still O(log n).

use std::net::IpAddr;

use crate::cidr::{Bounds, Cidr};

/// Marks an interval that no network covers.
const NONE: u32 = u32::MAX;

/// The largest number of networks one index holds, so that a position fits
/// in a `u32` below [`NONE`].
pub(crate) const MAX_NETWORKS: usize = 1_000_000;

/// The most directory bits: at most 2^20 buckets.
const MAX_DIRECTORY_BITS: u32 = 20;

/// One family's intervals, ascending by start. An interval runs from its
/// start to the next interval's start and carries the position of the
/// network covering it, or [`NONE`]. Start and label sit side by side so a
/// lookup touches one cache line for both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Intervals<T> {
    intervals: Vec<Interval<T>>,
    /// One entry per bucket. The bucket of an address `a` is
    /// `(a - base) >> shift`.
    directory: Vec<Bucket<T>>,
    /// The first interval start; nothing below it is covered.
    base: T,
    shift: u32,
}

/// How many intervals a bucket holds inline.
const INLINE: usize = 2;

/// A directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bucket<T> {
    /// The bucket's first intervals (only the first `len` are meaningful).
    inline: [Interval<T>; INLINE],
    /// The label of the interval before the bucket's first: it covers every
    /// address of the bucket below that, or the whole bucket if it is empty.
    before: u32,
    /// The position of the bucket's first interval in the interval table.
    begin: u32,
    /// The number of intervals starting in the bucket.
    len: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Interval<T> {
    start: T,
    label: u32,
}

trait Address: Copy + Ord + Default {
    fn successor(self) -> Option<Self>;
    /// `self - base` as `u128`, for `self >= base`.
    fn offset_from(self, base: Self) -> u128;
}

impl Address for u32 {
    fn successor(self) -> Option<Self> {
        self.checked_add(1)
    }

    fn offset_from(self, base: Self) -> u128 {
        u128::from(self.wrapping_sub(base))
    }
}

/// An IPv6 address as two halves: compared like the `u128`, but aligned to 8
/// bytes, so an interval takes 24 bytes instead of 32 and a bucket (two
/// intervals and three `u32`) fits one 64-byte cache line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Halves {
    high: u64,
    low: u64,
}

impl Halves {
    fn new(value: u128) -> Self {
        let [high, low] = [value >> 64, value & u128::from(u64::MAX)]
            .map(|half| u64::try_from(half).unwrap_or(u64::MAX));
        Self { high, low }
    }

    fn get(self) -> u128 {
        u128::from(self.high) << 64 | u128::from(self.low)
    }
}

impl Address for Halves {
    fn successor(self) -> Option<Self> {
        self.get().checked_add(1).map(Self::new)
    }

    fn offset_from(self, base: Self) -> u128 {
        self.get().wrapping_sub(base.get())
    }
}

impl<T: Address> Intervals<T> {
    /// Builds the intervals from `(first, last, position)` triples sorted by
    /// `first` ascending and, for equal `first`, by size descending (outer
    /// networks first), which is the order of sorted [`Cidr`] values.
    fn build(networks: impl Iterator<Item = (T, T, u32)>) -> Self {
        let mut intervals = Self {
            intervals: Vec::new(),
            directory: Vec::new(),
            base: T::default(),
            shift: 0,
        };
        // The chain of networks containing the current point, outermost first.
        let mut open: Vec<(T, u32)> = Vec::new();
        for (first, last, position) in networks {
            intervals.close_before(&mut open, Some(first));
            intervals.push(first, position);
            open.push((last, position));
        }
        intervals.close_before(&mut open, None);
        intervals.build_directory();
        intervals
    }

    /// Closes every open network that ends before `point` (all of them for
    /// `None`), starting the interval after each with its parent's label.
    fn close_before(&mut self, open: &mut Vec<(T, u32)>, point: Option<T>) {
        while let Some(&(last, _)) = open.last() {
            if point.is_some_and(|point| last >= point) {
                break;
            }
            open.pop();
            if let Some(next) = last.successor() {
                let parent = open.last().map_or(NONE, |&(_, position)| position);
                self.push(next, parent);
            }
        }
    }

    fn push(&mut self, start: T, label: u32) {
        if self
            .intervals
            .last()
            .is_some_and(|last| last.start == start)
        {
            // A network starting where its parent starts: the inner one wins.
            self.intervals.pop();
        }
        let same_as_before = match self.intervals.last() {
            Some(last) => last.label == label,
            None => label == NONE,
        };
        if !same_as_before {
            self.intervals.push(Interval { start, label });
        }
    }

    fn build_directory(&mut self) {
        let (Some(first), Some(last)) = (self.intervals.first(), self.intervals.last()) else {
            return;
        };
        self.base = first.start;
        let span_bits = u128::BITS - last.start.offset_from(first.start).leading_zeros();
        let wanted_bits =
            (usize::BITS - self.intervals.len().leading_zeros()).min(MAX_DIRECTORY_BITS);
        self.shift = span_bits.saturating_sub(wanted_bits);
        let buckets = self.bucket(last.start).saturating_add(1);
        let mut directory = Vec::with_capacity(buckets);
        let mut begin = 0_usize;
        for bucket in 0..buckets {
            let mut end = begin;
            while self
                .intervals
                .get(end)
                .is_some_and(|interval| self.bucket(interval.start) == bucket)
            {
                end = end.saturating_add(1);
            }
            let before = begin
                .checked_sub(1)
                .and_then(|previous| self.intervals.get(previous))
                .map_or(NONE, |interval| interval.label);
            let mut inline = [Interval::default(); INLINE];
            for (slot, interval) in inline
                .iter_mut()
                .zip(self.intervals.get(begin..end).unwrap_or_default())
            {
                *slot = *interval;
            }
            // At most two intervals per network, so these fit in a u32.
            directory.push(Bucket {
                inline,
                before,
                begin: u32::try_from(begin).unwrap_or(u32::MAX),
                len: u32::try_from(end.saturating_sub(begin)).unwrap_or(u32::MAX),
            });
            begin = end;
        }
        self.directory = directory;
    }

    /// The bucket of an address at or above `base`.
    fn bucket(&self, address: T) -> usize {
        usize::try_from(address.offset_from(self.base) >> self.shift).unwrap_or(usize::MAX)
    }

    fn lookup(&self, address: T) -> Option<usize> {
        if address < self.base {
            return None;
        }
        let last_bucket = self.directory.len().checked_sub(1)?;
        let bucket = self.directory.get(self.bucket(address).min(last_bucket))?;
        // Intervals of earlier buckets start below `address` and those of
        // later buckets above it, so the answer is `before` or one of this
        // bucket's intervals.
        let [first, second] = &bucket.inline;
        let label = if bucket.len == 0 || address < first.start {
            bucket.before
        } else if bucket.len == 1 || address < second.start {
            first.label
        } else if bucket.len == 2 {
            second.label
        } else {
            let begin = usize::try_from(bucket.begin).ok()?;
            let end = begin.checked_add(usize::try_from(bucket.len).ok()?)?;
            let within = self
                .intervals
                .get(begin..end)?
                .partition_point(|interval| interval.start <= address);
            let slot = begin.checked_add(within)?.checked_sub(1)?;
            self.intervals.get(slot)?.label
        };
        (label != NONE)
            .then(|| usize::try_from(label).ok())
            .flatten()
    }
}

/// The index over both families. Positions refer to the slice of sorted
/// networks the index was built from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RangeIndex {
    v4: Intervals<u32>,
    v6: Intervals<Halves>,
}

impl RangeIndex {
    /// Builds the index over `networks`, which must be sorted, without
    /// duplicates, and at most [`MAX_NETWORKS`] long (longer input is cut).
    pub(crate) fn build<'a>(networks: impl Iterator<Item = &'a Cidr> + Clone) -> Self {
        let positioned = networks
            .take(MAX_NETWORKS)
            .zip(0_u32..)
            .map(|(cidr, position)| (cidr.bounds(), position));
        let v4 = Intervals::build(positioned.clone().filter_map(
            |(bounds, position)| match bounds {
                Bounds::V4(first, last) => Some((first, last, position)),
                Bounds::V6(..) => None,
            },
        ));
        let v6 = Intervals::build(positioned.filter_map(|(bounds, position)| match bounds {
            Bounds::V6(first, last) => Some((Halves::new(first), Halves::new(last), position)),
            Bounds::V4(..) => None,
        }));
        Self { v4, v6 }
    }

    /// The position of the most specific network containing `ip`, which must
    /// already be canonical (IPv4-mapped addresses read as IPv4).
    pub(crate) fn lookup(&self, ip: IpAddr) -> Option<usize> {
        match ip {
            IpAddr::V4(v4) => self.v4.lookup(u32::from(v4)),
            IpAddr::V6(v6) => self.v6.lookup(Halves::new(u128::from(v6))),
        }
    }
}

#[cfg(test)]
mod tests {
    use ipnet::IpNet;

    use super::*;

    fn index(texts: &[&str]) -> (Vec<Cidr>, RangeIndex) {
        let mut nets: Vec<Cidr> = texts
            .iter()
            .map(|text| Cidr::parse_allowing_everything(text).unwrap())
            .collect();
        nets.sort();
        let index = RangeIndex::build(nets.iter());
        (nets, index)
    }

    fn found(nets: &[Cidr], index: &RangeIndex, ip: &str) -> Option<String> {
        index
            .lookup(ip.parse().unwrap())
            .map(|i| nets[i].to_string())
    }

    #[test]
    fn empty_index_finds_nothing() {
        let (nets, index) = index(&[]);
        assert_eq!(found(&nets, &index, "10.0.0.1"), None);
        assert_eq!(found(&nets, &index, "::1"), None);
    }

    #[test]
    fn nested_networks_return_the_most_specific() {
        let (nets, index) = index(&["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.0/25"]);
        assert_eq!(found(&nets, &index, "9.255.255.255"), None);
        assert_eq!(
            found(&nets, &index, "10.0.0.0").as_deref(),
            Some("10.0.0.0/8")
        );
        assert_eq!(
            found(&nets, &index, "10.1.0.0").as_deref(),
            Some("10.1.0.0/16")
        );
        assert_eq!(
            found(&nets, &index, "10.1.2.0").as_deref(),
            Some("10.1.2.0/25")
        );
        assert_eq!(
            found(&nets, &index, "10.1.2.127").as_deref(),
            Some("10.1.2.0/25")
        );
        assert_eq!(
            found(&nets, &index, "10.1.2.128").as_deref(),
            Some("10.1.2.0/24")
        );
        assert_eq!(
            found(&nets, &index, "10.1.3.0").as_deref(),
            Some("10.1.0.0/16")
        );
        assert_eq!(
            found(&nets, &index, "10.2.0.0").as_deref(),
            Some("10.0.0.0/8")
        );
        assert_eq!(
            found(&nets, &index, "10.255.255.255").as_deref(),
            Some("10.0.0.0/8")
        );
        assert_eq!(found(&nets, &index, "11.0.0.0"), None);
    }

    #[test]
    fn networks_touching_the_top_of_the_space() {
        let (nets, index) = index(&["255.255.255.255/32", "128.0.0.0/1", "ffff::/16"]);
        assert_eq!(
            found(&nets, &index, "255.255.255.255").as_deref(),
            Some("255.255.255.255/32")
        );
        assert_eq!(
            found(&nets, &index, "255.255.255.254").as_deref(),
            Some("128.0.0.0/1")
        );
        assert_eq!(found(&nets, &index, "127.255.255.255"), None);
        assert_eq!(
            found(&nets, &index, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").as_deref(),
            Some("ffff::/16")
        );
    }

    #[test]
    fn everything_and_families_stay_apart() {
        let (nets, index) = index(&["0.0.0.0/0", "10.0.0.0/8", "2001:db8::/32"]);
        assert_eq!(
            found(&nets, &index, "0.0.0.0").as_deref(),
            Some("0.0.0.0/0")
        );
        assert_eq!(
            found(&nets, &index, "10.9.9.9").as_deref(),
            Some("10.0.0.0/8")
        );
        assert_eq!(
            found(&nets, &index, "11.0.0.0").as_deref(),
            Some("0.0.0.0/0")
        );
        assert_eq!(found(&nets, &index, "::1"), None);
        assert_eq!(
            found(&nets, &index, "2001:db8::1").as_deref(),
            Some("2001:db8::/32")
        );
    }

    /// Many networks, so that buckets hold zero, one and several intervals:
    /// every lookup must match a linear scan for the most specific network.
    #[test]
    fn large_lists_agree_with_a_linear_scan() {
        let mut state = 0x5eed_u64;
        let mut next = move || {
            // splitmix64
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let mut nets = Vec::new();
        for _ in 0..1000 {
            let bits = next();
            let (high, low) = (bits >> 32, bits & 0xffff_ffff);
            // Clustered: a few /8s for IPv4, one /32 for IPv6.
            let v4 = (u32::try_from(high % 4).unwrap() << 24) | u32::try_from(low).unwrap() >> 8;
            let v4 = ipnet::Ipv4Net::new(v4.into(), 16 + u8::try_from(high % 17).unwrap()).unwrap();
            let v6 = (0x2001_0db8_u128 << 96) | u128::from(bits) << 32;
            let v6 = ipnet::Ipv6Net::new(v6.into(), 36 + u8::try_from(high % 93).unwrap()).unwrap();
            for net in [IpNet::V4(v4.trunc()), IpNet::V6(v6.trunc())] {
                if let Ok(cidr) = Cidr::parse(&net.to_string()) {
                    nets.push(cidr);
                }
            }
        }
        nets.sort();
        nets.dedup();
        let index = RangeIndex::build(nets.iter());
        let (mut hits, mut misses) = (0, 0);
        for _ in 0..500 {
            let bits = next();
            let v4 = IpAddr::from(
                (u32::try_from(bits % 4).unwrap() << 24 | u32::try_from(bits >> 40).unwrap())
                    .to_be_bytes(),
            );
            let v6 =
                IpAddr::from(((0x2001_0db8_u128 << 96) | u128::from(bits) << 32).to_be_bytes());
            for ip in [v4, v6] {
                let expected = nets
                    .iter()
                    .enumerate()
                    .filter(|(_, net)| net.contains(ip))
                    .max_by_key(|(_, net)| net.prefix_len())
                    .map(|(position, _)| position);
                assert_eq!(index.lookup(ip), expected, "{ip}");
                if expected.is_some() {
                    hits += 1;
                } else {
                    misses += 1;
                }
            }
        }
        // Both outcomes are exercised, for both families together.
        assert!(hits > 50 && misses > 50, "{hits} hits, {misses} misses");
    }

    #[test]
    fn adjacent_networks_keep_their_own_labels() {
        let (nets, index) = index(&["10.0.0.0/25", "10.0.0.128/25"]);
        assert_eq!(
            found(&nets, &index, "10.0.0.127").as_deref(),
            Some("10.0.0.0/25")
        );
        assert_eq!(
            found(&nets, &index, "10.0.0.128").as_deref(),
            Some("10.0.0.128/25")
        );
        assert_eq!(found(&nets, &index, "10.0.1.0"), None);
    }
}
