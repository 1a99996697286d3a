//! Which address a request really comes from, behind reverse proxies: the
//! trusted proxies, the headers as received, and the walk that resolves the
//! client. Parsing the headers into hops lives in `forwarded`.

mod forwarded;

use std::net::IpAddr;

use forwarded::{Hop, parse_forwarded, parse_x_forwarded_for};

use crate::cidr::{Cidr, canonical_ip};
use crate::index::{MAX_NETWORKS, RangeIndex};

/// The reverse proxies and load balancers whose forwarding headers are
/// believed.
///
/// With no trusted proxies (the default), forwarding headers are ignored and
/// the client is the socket peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<Cidr>,
    index: RangeIndex,
}

impl TrustedProxies {
    /// No trusted proxies: the socket peer is the client.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// Trusts proxies in the given networks. Duplicates are merged; at most
    /// 1,000,000 networks are kept. Listing every address (`/0`) leaves no
    /// hop that is not a proxy, so every proxied request is unresolvable.
    #[must_use]
    pub fn new(networks: impl IntoIterator<Item = Cidr>) -> Self {
        let mut networks: Vec<Cidr> = networks.into_iter().collect();
        networks.sort();
        networks.dedup();
        networks.truncate(MAX_NETWORKS);
        let index = RangeIndex::build(networks.iter());
        Self { networks, index }
    }

    /// The trusted networks, sorted.
    pub fn networks(&self) -> impl ExactSizeIterator<Item = &Cidr> {
        self.networks.iter()
    }

    /// Whether `ip` (IPv4-mapped addresses read as IPv4) is a trusted proxy.
    #[must_use]
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.index.lookup(canonical_ip(ip)).is_some()
    }

    /// Resolves the client address of a request.
    ///
    /// 1. With no trusted proxies, or when `peer` is not one, the headers are
    ///    ignored (anyone can write them) and the client is `peer`.
    /// 2. Otherwise each forwarding header present gives a chain of hops,
    ///    followed by `peer`; walking from the right, trusted proxies are
    ///    skipped and the first other hop is the client.
    /// 3. When both `X-Forwarded-For` and `Forwarded` are present, each is
    ///    walked and they must name the same client; a proxy may append to
    ///    one header and pass the other through from the client untouched,
    ///    so neither can be preferred safely.
    ///
    /// Every doubt fails closed as [`ClientAddress::Unresolvable`]: a
    /// malformed header (anywhere in it), a hop that is `unknown` or
    /// obfuscated (RFC 7239 section 6.3) where the walk needs it, a chain
    /// made only of trusted proxies, a trusted peer that sent no forwarding
    /// header, or two headers that disagree.
    ///
    /// # Security
    ///
    /// The result is only as good as the proxy list: list exactly the
    /// proxies that overwrite or append to these headers. A trusted proxy
    /// that passes a client's header through unchanged lets that client
    /// choose its address.
    ///
    /// # Examples
    ///
    /// ```
    /// use twofa_trusted_network::{ClientAddress, ForwardingHeaders, TrustedProxies};
    ///
    /// let proxies = TrustedProxies::new(["10.0.0.0/24".parse()?]);
    /// let headers = ForwardingHeaders::new()
    ///     .with_x_forwarded_for("198.51.100.9, 203.0.113.7, 10.0.0.2");
    /// let client = proxies.resolve("10.0.0.1".parse()?, &headers);
    /// assert_eq!(client.ip(), Some("203.0.113.7".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve(&self, peer: IpAddr, headers: &ForwardingHeaders<'_>) -> ClientAddress {
        let peer = canonical_ip(peer);
        if !self.is_trusted(peer) {
            return ClientAddress::Resolved {
                ip: peer,
                source: AddressSource::Peer,
            };
        }
        let from_xff = (!headers.x_forwarded_for.is_empty()).then(|| {
            parse_x_forwarded_for(&headers.x_forwarded_for).and_then(|hops| self.walk(&hops))
        });
        let from_forwarded = (!headers.forwarded.is_empty())
            .then(|| parse_forwarded(&headers.forwarded).and_then(|hops| self.walk(&hops)));
        let outcome = match (from_xff, from_forwarded) {
            (None, None) => Err(ResolveError::NoForwardingHeader),
            (Some(xff), None) => xff.map(|ip| (ip, AddressSource::XForwardedFor)),
            (None, Some(forwarded)) => forwarded.map(|ip| (ip, AddressSource::Forwarded)),
            (Some(xff), Some(forwarded)) => xff.and_then(|xff| {
                let forwarded = forwarded?;
                if xff == forwarded {
                    Ok((xff, AddressSource::BothHeaders))
                } else {
                    Err(ResolveError::HeadersDisagree {
                        x_forwarded_for: xff,
                        forwarded,
                    })
                }
            }),
        };
        match outcome {
            Ok((ip, source)) => ClientAddress::Resolved { ip, source },
            Err(error) => ClientAddress::Unresolvable(error),
        }
    }

    /// The right-most hop that is not a trusted proxy. The peer itself was
    /// already found trusted, so only the header hops are walked.
    fn walk(&self, hops: &[Hop]) -> Result<IpAddr, ResolveError> {
        for hop in hops.iter().rev() {
            match *hop {
                Hop::Ip(ip) if self.is_trusted(ip) => {}
                Hop::Ip(ip) => return Ok(ip),
                Hop::Unidentified => return Err(ResolveError::UnidentifiedHop),
            }
        }
        Err(ResolveError::OnlyTrustedProxies)
    }
}

/// The raw values of a request's forwarding headers, one entry per header
/// line, in the order received.
///
/// Lines of the same header are read as one comma-separated list (RFC 9110
/// section 5.3). Values are bytes: non-UTF-8 content is malformed rather than
/// something to drop, so hand in every line as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardingHeaders<'a> {
    x_forwarded_for: Vec<&'a [u8]>,
    forwarded: Vec<&'a [u8]>,
}

impl<'a> ForwardingHeaders<'a> {
    /// No forwarding headers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one `X-Forwarded-For` header line.
    #[must_use]
    pub fn with_x_forwarded_for(mut self, line: &'a (impl AsRef<[u8]> + ?Sized)) -> Self {
        self.x_forwarded_for.push(line.as_ref());
        self
    }

    /// Adds one `Forwarded` (RFC 7239) header line.
    #[must_use]
    pub fn with_forwarded(mut self, line: &'a (impl AsRef<[u8]> + ?Sized)) -> Self {
        self.forwarded.push(line.as_ref());
        self
    }
}

/// The client address of a request, or why it cannot be known.
///
/// An unresolvable address is never trusted: the decision prompts.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientAddress {
    /// The client address, IPv4-mapped IPv6 already read as IPv4.
    Resolved {
        /// The client address.
        ip: IpAddr,
        /// Where it was read from.
        source: AddressSource,
    },
    /// The address could not be established; treat the login as untrusted.
    Unresolvable(ResolveError),
}

impl ClientAddress {
    /// The socket peer as the client, for services that no proxy fronts.
    /// Same as resolving with [`TrustedProxies::none`].
    pub fn peer(ip: IpAddr) -> Self {
        Self::Resolved {
            ip: canonical_ip(ip),
            source: AddressSource::Peer,
        }
    }

    /// The resolved address, if any.
    #[must_use]
    pub fn ip(&self) -> Option<IpAddr> {
        match *self {
            Self::Resolved { ip, .. } => Some(ip),
            Self::Unresolvable(_) => None,
        }
    }
}

/// Where a resolved client address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressSource {
    /// The socket peer.
    Peer,
    /// The `X-Forwarded-For` header.
    XForwardedFor,
    /// The `Forwarded` header (RFC 7239).
    Forwarded,
    /// Both headers, which agreed.
    BothHeaders,
}

/// Why a client address could not be established. The detail is for the
/// audit trail; the user only sees a second-factor prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// An `X-Forwarded-For` element (counted from 0, across lines) is not an
    /// IP address (optionally with a port).
    #[error("x-forwarded-for element {element} is malformed")]
    MalformedXForwardedFor {
        /// The position of the element.
        element: usize,
    },
    /// A `Forwarded` element (counted from 0, across lines) breaks the
    /// grammar of RFC 7239 section 4.
    #[error("forwarded element {element} is malformed")]
    MalformedForwarded {
        /// The position of the element.
        element: usize,
    },
    /// The hop that would be the client is `unknown`, obfuscated, or has no
    /// `for=` parameter.
    #[error("client hop is unknown or obfuscated")]
    UnidentifiedHop,
    /// Every hop is a trusted proxy.
    #[error("every hop is a trusted proxy")]
    OnlyTrustedProxies,
    /// The peer is a trusted proxy but sent no forwarding header.
    #[error("trusted proxy sent no forwarding header")]
    NoForwardingHeader,
    /// `X-Forwarded-For` and `Forwarded` name different clients.
    #[error("x-forwarded-for names {x_forwarded_for} but forwarded names {forwarded}")]
    HeadersDisagree {
        /// The client according to `X-Forwarded-For`.
        x_forwarded_for: IpAddr,
        /// The client according to `Forwarded`.
        forwarded: IpAddr,
    },
}
