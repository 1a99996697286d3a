//! Client-address resolution on arbitrary forwarding headers: no panic; the
//! result does not depend on anything but the input; an untrusted peer is
//! always the client; an address taken from a header is never a trusted
//! proxy and never an IPv4-mapped IPv6 address; when both headers are used
//! they agree with each header resolved alone.

#![no_main]

use std::net::{IpAddr, Ipv6Addr};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use twofa_trusted_network::{
    AddressSource, ClientAddress, ForwardingHeaders, ResolveError, TrustedProxies,
};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    peer: Peer,
    x_forwarded_for: Vec<&'a [u8]>,
    forwarded: Vec<&'a [u8]>,
}

#[derive(Debug, Arbitrary)]
enum Peer {
    TrustedV4(u8),
    TrustedV6(u16),
    MappedTrusted(u8),
    Any(u128),
}

fn proxies() -> TrustedProxies {
    let networks = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1/32"]
        .map(|text| text.parse().expect("built-in proxy network"));
    TrustedProxies::new(networks)
}

fn peer(peer: &Peer) -> IpAddr {
    match *peer {
        Peer::TrustedV4(low) => IpAddr::from([10, 0, 0, low]),
        Peer::TrustedV6(low) => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, low)),
        Peer::MappedTrusted(low) => {
            IpAddr::V6(std::net::Ipv4Addr::new(10, 1, 0, low).to_ipv6_mapped())
        }
        Peer::Any(bits) => IpAddr::from(bits.to_be_bytes()),
    }
}

fn headers<'a>(xff: &[&'a [u8]], forwarded: &[&'a [u8]]) -> ForwardingHeaders<'a> {
    let mut headers = ForwardingHeaders::new();
    for line in xff {
        headers = headers.with_x_forwarded_for(*line);
    }
    for line in forwarded {
        headers = headers.with_forwarded(*line);
    }
    headers
}

fn is_mapped(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
}

fuzz_target!(|input: Input<'_>| {
    let proxies = proxies();
    let peer = peer(&input.peer);
    let all = headers(&input.x_forwarded_for, &input.forwarded);
    let result = proxies.resolve(peer, &all);
    assert_eq!(result, proxies.resolve(peer, &all));
    assert_eq!(
        TrustedProxies::none().resolve(peer, &all),
        ClientAddress::peer(peer)
    );

    if !proxies.is_trusted(peer) {
        assert_eq!(result, ClientAddress::peer(peer));
        return;
    }
    match result {
        ClientAddress::Resolved { ip, source } => {
            assert!(!proxies.is_trusted(ip), "{ip} is a trusted proxy");
            assert!(!is_mapped(ip));
            assert_ne!(source, AddressSource::Peer);
            if source == AddressSource::BothHeaders {
                let xff_only = proxies.resolve(peer, &headers(&input.x_forwarded_for, &[]));
                let forwarded_only = proxies.resolve(peer, &headers(&[], &input.forwarded));
                assert_eq!(xff_only.ip(), Some(ip));
                assert_eq!(forwarded_only.ip(), Some(ip));
            }
        }
        ClientAddress::Unresolvable(ResolveError::HeadersDisagree {
            x_forwarded_for,
            forwarded,
        }) => {
            assert_ne!(x_forwarded_for, forwarded);
        }
        ClientAddress::Unresolvable(ResolveError::NoForwardingHeader) => {
            assert!(input.x_forwarded_for.is_empty() && input.forwarded.is_empty());
        }
        ClientAddress::Unresolvable(_) => {}
        _ => {}
    }
});
