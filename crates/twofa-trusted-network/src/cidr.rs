//! Strictly parsed IPv4 and IPv6 networks in CIDR notation.

use core::fmt;
use core::str::FromStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// An IPv4 or IPv6 network in canonical CIDR form, such as `192.0.2.0/24` or
/// `2001:db8::/32`.
///
/// A `Cidr` is valid by construction: its address has no host bits set, its
/// prefix length fits its family, and it is never an IPv4-mapped IPv6 range.
/// [`Display`](fmt::Display) always prints the canonical form with the prefix
/// length (IPv6 per RFC 5952), and parsing that form gives the same value back.
///
/// # Parsing rules
///
/// [`Cidr::parse`] (also [`FromStr`]) accepts `address/prefix` and refuses,
/// each with its own [`CidrError`] variant:
///
/// - empty input, and any whitespace anywhere (nothing is trimmed);
/// - IPv6 zone identifiers (`fe80::1%eth0/64`): a zone names an interface of
///   one host and has no meaning in an allowlist;
/// - IPv4 octets with a leading zero (`010.0.0.1`), which some software reads
///   as octal; also any IPv4 form other than four decimal octets;
/// - prefix lengths that are empty, signed, have a leading zero (`/08`) or
///   exceed 32 (IPv4) or 128 (IPv6);
/// - host bits set (`10.0.0.1/8`): this is refused, not normalised, because
///   it is usually a typo for a narrower range and widening it silently would
///   trust far more addresses than intended; the error names the network the
///   text would denote;
/// - IPv4-mapped IPv6 ranges (`::ffff:10.0.0.0/104`): client addresses in
///   that form are matched as IPv4, so such an entry must be written as IPv4;
/// - `0.0.0.0/0` and `::/0` (every address of a family), unless the caller
///   uses [`Cidr::parse_allowing_everything`].
///
/// A bare address without a prefix length is accepted and denotes that single
/// host: `/32` for IPv4, `/128` for IPv6. This is the narrowest reading, so it
/// can never trust more than the one address written.
///
/// # Examples
///
/// ```
/// use twofa_trusted_network::{Cidr, CidrError};
///
/// let office: Cidr = "192.0.2.0/24".parse()?;
/// assert_eq!(office.to_string(), "192.0.2.0/24");
/// assert_eq!("192.0.2.7".parse::<Cidr>()?.to_string(), "192.0.2.7/32");
/// assert!(matches!("192.0.2.7/24".parse::<Cidr>(), Err(CidrError::HostBitsSet { .. })));
/// assert!(matches!("0.0.0.0/0".parse::<Cidr>(), Err(CidrError::EverythingRefused)));
/// # Ok::<(), CidrError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr(IpNet);

/// Why a text is not a valid [`Cidr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidrError {
    /// The text was empty.
    #[error("network is empty")]
    Empty,
    /// The text contains whitespace; nothing is trimmed.
    #[error("network contains whitespace")]
    Whitespace,
    /// The text contains an IPv6 zone identifier (`%eth0`).
    #[error("network contains a zone identifier")]
    ZoneId,
    /// An IPv4 octet has a leading zero, which some software reads as octal.
    #[error("ipv4 octet has a leading zero")]
    LeadingZero,
    /// The address is not four decimal octets.
    #[error("invalid ipv4 address")]
    InvalidIpv4Address,
    /// The address is not a valid IPv6 address.
    #[error("invalid ipv6 address")]
    InvalidIpv6Address,
    /// A `/` is present but no prefix length follows it.
    #[error("prefix length is missing after '/'")]
    MissingPrefixLength,
    /// The prefix length is not a plain decimal number (signs, other
    /// characters, a leading zero or more than three digits).
    #[error("prefix length is not a plain decimal number")]
    InvalidPrefixLength,
    /// The prefix length is larger than the family allows.
    #[error("prefix length {length} exceeds {max}")]
    PrefixLengthOutOfRange {
        /// The prefix length given.
        length: u16,
        /// The largest valid prefix length for the address family.
        max: u8,
    },
    /// Bits below the prefix length are set; `network` is the range the
    /// prefix length would denote.
    #[error("host bits are set (the network would be {network})")]
    HostBitsSet {
        /// The network address with the host bits cleared.
        network: Cidr,
    },
    /// The range lies inside the IPv4-mapped IPv6 space `::ffff:0:0/96`.
    #[error("ipv4-mapped ipv6 range (write it as ipv4)")]
    Ipv4MappedRange,
    /// The range is every address of a family (`0.0.0.0/0` or `::/0`) and
    /// the caller did not opt in to that.
    #[error("a range covering every address is refused")]
    EverythingRefused,
}

impl Cidr {
    /// Parses a network strictly (see the [type docs](Cidr) for every rule),
    /// refusing `0.0.0.0/0` and `::/0`.
    ///
    /// # Errors
    ///
    /// A [`CidrError`] naming the first rule the text breaks.
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        let cidr = Self::parse_allowing_everything(text)?;
        if cidr.prefix_len() == 0 {
            return Err(CidrError::EverythingRefused);
        }
        Ok(cidr)
    }

    /// Parses like [`Cidr::parse`] but also accepts `0.0.0.0/0` and `::/0`.
    ///
    /// This is the explicit opt-in for an administrator who really means
    /// "trust every address of this family".
    ///
    /// # Errors
    ///
    /// A [`CidrError`] naming the first rule the text breaks.
    ///
    /// # Security
    ///
    /// An allowlist with such an entry skips the second factor for every
    /// login of that family within the re-prompt interval.
    pub fn parse_allowing_everything(text: &str) -> Result<Self, CidrError> {
        if text.is_empty() {
            return Err(CidrError::Empty);
        }
        if text.chars().any(char::is_whitespace) {
            return Err(CidrError::Whitespace);
        }
        if text.contains('%') {
            return Err(CidrError::ZoneId);
        }
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(parse_prefix(prefix)?)),
            None => (text, None),
        };
        let address = parse_address(address)?;
        let max = match address {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let length = prefix.unwrap_or(u16::from(max));
        let length = u8::try_from(length)
            .ok()
            .filter(|length| *length <= max)
            .ok_or(CidrError::PrefixLengthOutOfRange { length, max })?;
        let net = match address {
            IpAddr::V4(v4) => Ipv4Net::new(v4, length).map(IpNet::V4),
            IpAddr::V6(v6) => Ipv6Net::new(v6, length).map(IpNet::V6),
        }
        .map_err(|_| CidrError::PrefixLengthOutOfRange {
            length: u16::from(length),
            max,
        })?;
        let network = net.trunc();
        // The mapped-range rule first: a host-bits refusal must name a
        // network the parser accepts.
        if let IpNet::V6(v6) = network
            && is_ipv4_mapped_range(v6)
        {
            return Err(CidrError::Ipv4MappedRange);
        }
        if network != net {
            return Err(CidrError::HostBitsSet {
                network: Self(network),
            });
        }
        Ok(Self(network))
    }

    /// Every IPv4 address, `0.0.0.0/0`: the explicit opt-in constructor.
    ///
    /// # Security
    ///
    /// See [`Cidr::parse_allowing_everything`].
    #[must_use]
    pub fn everything_v4() -> Self {
        Self(IpNet::V4(Ipv4Net::default()))
    }

    /// Every IPv6 address, `::/0`: the explicit opt-in constructor.
    ///
    /// IPv4-mapped client addresses are matched as IPv4, so this range does
    /// not match them; add [`Cidr::everything_v4`] too for that.
    ///
    /// # Security
    ///
    /// See [`Cidr::parse_allowing_everything`].
    #[must_use]
    pub fn everything_v6() -> Self {
        Self(IpNet::V6(Ipv6Net::default()))
    }

    /// The network address (all host bits clear).
    #[must_use]
    pub fn network(&self) -> IpAddr {
        self.0.network()
    }

    /// The prefix length.
    #[must_use]
    pub fn prefix_len(&self) -> u8 {
        self.0.prefix_len()
    }

    /// Whether `ip` lies in this network. IPv4-mapped IPv6 addresses are read
    /// as the IPv4 address they carry; nothing else changes family.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&canonical_ip(ip))
    }

    /// The first and last address as integers, for the range index.
    pub(crate) fn bounds(&self) -> Bounds {
        match self.0 {
            IpNet::V4(v4) => Bounds::V4(u32::from(v4.network()), u32::from(v4.broadcast())),
            IpNet::V6(v6) => Bounds::V6(u128::from(v6.network()), u128::from(v6.broadcast())),
        }
    }
}

/// The inclusive integer range of a network.
pub(crate) enum Bounds {
    V4(u32, u32),
    V6(u128, u128),
}

/// Reads an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 section
/// 2.5.5.2) as the IPv4 address it carries, and leaves every other address
/// as it is.
///
/// `Ipv6Addr::to_ipv4_mapped` is used on purpose: `to_ipv4` would also turn
/// the loopback `::1` into `0.0.0.1` and the deprecated IPv4-compatible form
/// `::a.b.c.d` (RFC 4291 section 2.5.5.1) into IPv4, and neither denotes an
/// IPv4 host.
#[must_use]
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn is_ipv4_mapped_range(net: Ipv6Net) -> bool {
    net.prefix_len() >= 96 && net.network().to_ipv4_mapped().is_some()
}

fn parse_prefix(text: &str) -> Result<u16, CidrError> {
    if text.is_empty() {
        return Err(CidrError::MissingPrefixLength);
    }
    let plain = text.len() <= 3
        && text.bytes().all(|b| b.is_ascii_digit())
        && !(text.len() > 1 && text.starts_with('0'));
    if !plain {
        return Err(CidrError::InvalidPrefixLength);
    }
    text.parse::<u16>()
        .map_err(|_| CidrError::InvalidPrefixLength)
}

fn parse_address(text: &str) -> Result<IpAddr, CidrError> {
    if text.contains(':') {
        return parse_ipv6(text).map(IpAddr::V6);
    }
    parse_ipv4(text).map(IpAddr::V4)
}

/// Parses exactly four decimal octets without leading zeros (the dotted-quad
/// form of RFC 6943 section 3.1.1); shorter, hexadecimal and octal forms that
/// `inet_aton` would accept are refused.
pub(crate) fn parse_ipv4(text: &str) -> Result<Ipv4Addr, CidrError> {
    let mut octets = [0_u8; 4];
    let mut parts = text.split('.');
    for octet in &mut octets {
        let part = parts.next().ok_or(CidrError::InvalidIpv4Address)?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CidrError::InvalidIpv4Address);
        }
        if part.len() > 1 && part.starts_with('0') {
            return Err(CidrError::LeadingZero);
        }
        *octet = part.parse().map_err(|_| CidrError::InvalidIpv4Address)?;
    }
    if parts.next().is_some() {
        return Err(CidrError::InvalidIpv4Address);
    }
    Ok(Ipv4Addr::from(octets))
}

/// Parses an IPv6 address in the text forms of RFC 4291 section 2.2. An
/// embedded dotted quad follows the IPv4 rules above.
pub(crate) fn parse_ipv6(text: &str) -> Result<Ipv6Addr, CidrError> {
    if let Some((_, last)) = text.rsplit_once(':')
        && last.contains('.')
    {
        // Checked with the strict IPv4 rules so that a leading zero gets
        // the same answer in both families.
        parse_ipv4(last).map_err(|error| match error {
            CidrError::LeadingZero => CidrError::LeadingZero,
            _ => CidrError::InvalidIpv6Address,
        })?;
    }
    Ipv6Addr::from_str(text).map_err(|_| CidrError::InvalidIpv6Address)
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// Same as [`Cidr::parse`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Serialized as its canonical text. Deserializing applies every parsing
/// rule but accepts `/0`: a stored record reflects a decision already made
/// with the explicit opt-in.
#[cfg(feature = "serde")]
impl serde::Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse_allowing_everything(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> CidrError {
        Cidr::parse(text).unwrap_err()
    }

    fn ok(text: &str) -> String {
        Cidr::parse(text).unwrap().to_string()
    }

    #[test]
    fn accepts_canonical_networks() {
        assert_eq!(ok("10.0.0.0/8"), "10.0.0.0/8");
        assert_eq!(ok("192.0.2.0/24"), "192.0.2.0/24");
        assert_eq!(ok("255.255.255.255/32"), "255.255.255.255/32");
        assert_eq!(ok("128.0.0.0/1"), "128.0.0.0/1");
        assert_eq!(ok("2001:db8::/32"), "2001:db8::/32");
        assert_eq!(ok("::1/128"), "::1/128");
        assert_eq!(ok("8000::/1"), "8000::/1");
    }

    #[test]
    fn ipv6_is_stored_in_rfc5952_form() {
        assert_eq!(ok("2001:0DB8:0000::/48"), "2001:db8::/48");
        assert_eq!(ok("2001:db8:0:0:0:0:0:1/128"), "2001:db8::1/128");
    }

    #[test]
    fn bare_address_is_a_single_host() {
        assert_eq!(ok("192.0.2.7"), "192.0.2.7/32");
        assert_eq!(ok("2001:db8::7"), "2001:db8::7/128");
        assert_eq!(ok("0.0.0.0"), "0.0.0.0/32");
    }

    #[test]
    fn empty_and_whitespace_are_refused() {
        assert_eq!(err(""), CidrError::Empty);
        assert_eq!(err(" 10.0.0.0/8"), CidrError::Whitespace);
        assert_eq!(err("10.0.0.0/8 "), CidrError::Whitespace);
        assert_eq!(err("10.0.0.0 /8"), CidrError::Whitespace);
        assert_eq!(err("10.0.0.0/\t8"), CidrError::Whitespace);
        assert_eq!(err("10.0.0.0/8\n"), CidrError::Whitespace);
        assert_eq!(err("10.0.0.0/8\u{a0}"), CidrError::Whitespace);
    }

    #[test]
    fn zone_ids_are_refused() {
        assert_eq!(err("fe80::1%eth0/64"), CidrError::ZoneId);
        assert_eq!(err("fe80::%1/64"), CidrError::ZoneId);
        assert_eq!(err("fe80::1%eth0"), CidrError::ZoneId);
        // std refuses zones too; the check above only makes the error precise.
        assert!("fe80::1%eth0".parse::<Ipv6Addr>().is_err());
    }

    #[test]
    fn leading_zeros_are_refused() {
        assert_eq!(err("010.0.0.1/32"), CidrError::LeadingZero);
        assert_eq!(err("10.00.0.0/16"), CidrError::LeadingZero);
        assert_eq!(err("10.0.0.01"), CidrError::LeadingZero);
        assert_eq!(err("::ffff:010.0.0.1/128"), CidrError::LeadingZero);
        assert_eq!(err("64:ff9b::010.0.0.1/128"), CidrError::LeadingZero);
        // std agrees for IPv4; this crate does not rely on it.
        assert!("010.0.0.1".parse::<Ipv4Addr>().is_err());
        // The single digit zero is not a leading zero.
        assert_eq!(ok("10.0.0.0/8"), "10.0.0.0/8");
    }

    #[test]
    fn short_hex_and_octal_ipv4_forms_are_refused() {
        for text in [
            "10/8",
            "10.0/16",
            "10.0.0/24",
            "10.0.0.0.0/8",
            "0x0a.0.0.0/8",
            "10.0.0.256/32",
            "1000.0.0.0/8",
            "10..0.0/8",
            "10.0.0./8",
            ".10.0.0/8",
            "+1.0.0.0/8",
            "167772160/8",
        ] {
            assert_eq!(err(text), CidrError::InvalidIpv4Address, "{text}");
        }
    }

    #[test]
    fn malformed_ipv6_is_refused() {
        for text in [
            "2001:db8:::/48",
            "2001:db8::g/128",
            ":::/8",
            "1:2:3:4:5:6:7:8:9/128",
            "2001:db8::1::1/128",
            "[2001:db8::]/32",
            "2001:db8::1:10.0.0/128",
            "12345::/16",
        ] {
            assert_eq!(err(text), CidrError::InvalidIpv6Address, "{text}");
        }
    }

    #[test]
    fn prefix_syntax_is_strict() {
        assert_eq!(err("10.0.0.0/"), CidrError::MissingPrefixLength);
        assert_eq!(err("10.0.0.0/08"), CidrError::InvalidPrefixLength);
        assert_eq!(err("10.0.0.0/+8"), CidrError::InvalidPrefixLength);
        assert_eq!(err("10.0.0.0/-8"), CidrError::InvalidPrefixLength);
        assert_eq!(err("10.0.0.0/8/8"), CidrError::InvalidPrefixLength);
        assert_eq!(err("10.0.0.0/0x8"), CidrError::InvalidPrefixLength);
        assert_eq!(err("10.0.0.0/1000"), CidrError::InvalidPrefixLength);
        assert_eq!(err("10.0.0.0/a"), CidrError::InvalidPrefixLength);
        assert_eq!(err("10.0.0.0/٨"), CidrError::InvalidPrefixLength);
    }

    /// `ipnet`'s own parser is more lenient than these rules (it reads
    /// `010` as decimal ten, takes `/08`, and keeps host bits), which is why
    /// this crate parses the text itself.
    #[test]
    fn texts_ipnet_accepts_but_this_crate_refuses() {
        for (text, expected) in [
            ("010.0.0.0/8", CidrError::LeadingZero),
            ("10.0.0.0/08", CidrError::InvalidPrefixLength),
            ("::ffff:010.0.0.1/128", CidrError::LeadingZero),
            ("::ffff:10.0.0.0/104", CidrError::Ipv4MappedRange),
        ] {
            assert!(text.parse::<IpNet>().is_ok(), "{text}");
            assert_eq!(err(text), expected, "{text}");
        }
        assert!("10.0.0.1/8".parse::<IpNet>().is_ok());
        assert!(matches!(err("10.0.0.1/8"), CidrError::HostBitsSet { .. }));
    }

    /// std's address parser already refuses these; the crate refuses them
    /// on its own and with a precise error.
    #[test]
    fn texts_std_refuses_too() {
        for text in [
            "010.0.0.1",
            "10.1",
            "0x0a.0.0.1",
            "::ffff:010.0.0.1",
            "00000::1",
            "fe80::1%eth0",
        ] {
            assert!(text.parse::<IpAddr>().is_err(), "{text}");
            assert!(Cidr::parse(text).is_err(), "{text}");
        }
        // std takes the IPv4-compatible and embedded forms; so does the crate,
        // as plain IPv6.
        assert_eq!(ok("::1.2.3.4"), "::102:304/128");
        assert_eq!(ok("1:2:3:4:5:6:1.2.3.4"), "1:2:3:4:5:6:102:304/128");
    }

    #[test]
    fn prefix_length_edges() {
        assert_eq!(ok("10.0.0.1/32"), "10.0.0.1/32");
        assert_eq!(
            err("10.0.0.1/33"),
            CidrError::PrefixLengthOutOfRange {
                length: 33,
                max: 32
            }
        );
        assert_eq!(
            err("10.0.0.1/999"),
            CidrError::PrefixLengthOutOfRange {
                length: 999,
                max: 32
            }
        );
        assert_eq!(ok("2001:db8::1/128"), "2001:db8::1/128");
        assert_eq!(
            err("2001:db8::1/129"),
            CidrError::PrefixLengthOutOfRange {
                length: 129,
                max: 128
            }
        );
        assert_eq!(ok("128.0.0.0/1"), "128.0.0.0/1");
    }

    #[test]
    fn host_bits_are_refused_and_the_network_is_named() {
        let expected = Cidr::parse("10.0.0.0/8").unwrap();
        assert_eq!(
            err("10.0.0.1/8"),
            CidrError::HostBitsSet { network: expected }
        );
        assert_eq!(
            err("10.0.0.1/8").to_string(),
            "host bits are set (the network would be 10.0.0.0/8)"
        );
        assert_eq!(
            err("192.0.2.1/31"),
            CidrError::HostBitsSet {
                network: Cidr::parse("192.0.2.0/31").unwrap()
            }
        );
        assert_eq!(ok("192.0.2.2/31"), "192.0.2.2/31");
        assert_eq!(
            err("2001:db8::1/64"),
            CidrError::HostBitsSet {
                network: Cidr::parse("2001:db8::/64").unwrap()
            }
        );
        assert_eq!(
            err("0.0.0.1/0"),
            CidrError::HostBitsSet {
                network: Cidr::everything_v4()
            }
        );
    }

    #[test]
    fn everything_needs_the_opt_in() {
        assert_eq!(err("0.0.0.0/0"), CidrError::EverythingRefused);
        assert_eq!(err("::/0"), CidrError::EverythingRefused);
        assert_eq!(
            Cidr::parse_allowing_everything("0.0.0.0/0"),
            Ok(Cidr::everything_v4())
        );
        assert_eq!(
            Cidr::parse_allowing_everything("::/0"),
            Ok(Cidr::everything_v6())
        );
        assert_eq!(Cidr::everything_v4().to_string(), "0.0.0.0/0");
        assert_eq!(Cidr::everything_v6().to_string(), "::/0");
        // One bit narrower is an ordinary range.
        assert_eq!(ok("0.0.0.0/1"), "0.0.0.0/1");
        assert_eq!(ok("::/1"), "::/1");
        // The opt-in relaxes nothing else.
        assert_eq!(
            Cidr::parse_allowing_everything("0.0.0.0/00"),
            Err(CidrError::InvalidPrefixLength)
        );
    }

    #[test]
    fn ipv4_mapped_ranges_are_refused() {
        assert_eq!(err("::ffff:10.0.0.0/104"), CidrError::Ipv4MappedRange);
        assert_eq!(err("::ffff:0:0/96"), CidrError::Ipv4MappedRange);
        assert_eq!(err("::ffff:10.1.2.3"), CidrError::Ipv4MappedRange);
        // Wider ranges that merely contain the mapped space are ordinary IPv6.
        assert_eq!(ok("::fffe:0:0/95"), "::fffe:0:0/95");
        // IPv4-compatible addresses are plain IPv6.
        assert_eq!(ok("::10.1.2.3"), "::a01:203/128");
    }

    #[test]
    fn contains_reads_mapped_addresses_as_ipv4_only() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        let compatible: IpAddr = "::10.1.2.3".parse().unwrap();
        assert!(net.contains(mapped));
        assert!(!net.contains(compatible));
        let low = Cidr::parse("0.0.0.0/24").unwrap();
        assert!(!low.contains("::1".parse().unwrap()));
        assert!(low.contains("0.0.0.1".parse().unwrap()));
    }

    #[test]
    fn canonical_ip_keeps_loopback_and_compatible_as_ipv6() {
        let loopback: IpAddr = "::1".parse().unwrap();
        assert_eq!(canonical_ip(loopback), loopback);
        let compatible: IpAddr = "::10.1.2.3".parse().unwrap();
        assert_eq!(canonical_ip(compatible), compatible);
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(canonical_ip(mapped), IpAddr::from([10, 1, 2, 3]));
    }
}
