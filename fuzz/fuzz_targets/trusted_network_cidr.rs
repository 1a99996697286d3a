//! CIDR parsing on arbitrary text: no panic; an accepted network prints in a
//! canonical form that parses back to itself; strict parsing differs from the
//! opt-in parser only on `/0`; an accepted text never holds whitespace or a
//! zone; the address std reads from the text is the network address; a
//! host-bits refusal names a network that is itself valid (one known
//! exception, marked below).

#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use twofa_trusted_network::{Cidr, CidrError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lenient = Cidr::parse_allowing_everything(text);
    let strict = Cidr::parse(text);
    match lenient {
        Ok(net) => {
            let printed = net.to_string();
            assert_eq!(
                Cidr::parse_allowing_everything(&printed),
                Ok(net),
                "{text:?}"
            );
            assert_eq!(
                Cidr::parse_allowing_everything(&printed).map(|n| n.to_string()),
                Ok(printed.clone())
            );
            if net.prefix_len() == 0 {
                assert_eq!(strict, Err(CidrError::EverythingRefused));
            } else {
                assert_eq!(strict, Ok(net));
            }
            assert!(
                !text.chars().any(char::is_whitespace) && !text.contains('%'),
                "{text:?}"
            );
            let address = text.split('/').next().unwrap_or_default();
            let std_address: IpAddr = address.parse().expect("accepted address std cannot read");
            assert_eq!(std_address, net.network(), "{text:?}");
            assert!(net.contains(net.network()));
            let max = if net.network().is_ipv4() { 32 } else { 128 };
            assert!(net.prefix_len() <= max);
        }
        Err(CidrError::HostBitsSet { network }) => {
            assert!(strict.is_err());
            let suggested = Cidr::parse_allowing_everything(&network.to_string());
            assert_eq!(suggested, Ok(network), "{text:?}");
        }
        Err(error) => {
            assert_eq!(strict, Err(error), "{text:?}");
            assert!(!error.to_string().is_empty());
        }
    }
});
