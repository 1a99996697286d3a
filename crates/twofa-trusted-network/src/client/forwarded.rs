//! Reading the forwarding headers: `X-Forwarded-For` (a de facto list of
//! addresses) and `Forwarded` (RFC 7239), each into the chain of hops a
//! proxy walk reads from the right.

use std::net::IpAddr;

use super::ResolveError;
use crate::cidr::{canonical_ip, parse_ipv4, parse_ipv6};

/// One hop of a forwarding chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hop {
    Ip(IpAddr),
    Unidentified,
}

/// HTTP optional whitespace (RFC 9110 section 5.6.3).
fn is_ows(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = bytes {
        if !is_ows(*first) {
            break;
        }
        bytes = rest;
    }
    while let [rest @ .., last] = bytes {
        if !is_ows(*last) {
            break;
        }
        bytes = rest;
    }
    bytes
}

/// `X-Forwarded-For` has no standard; each element must be an IP address,
/// optionally `a.b.c.d:port` or `[v6]` / `[v6]:port`. Anything else,
/// including empty elements and `unknown`, makes the whole header malformed.
pub(super) fn parse_x_forwarded_for(lines: &[&[u8]]) -> Result<Vec<Hop>, ResolveError> {
    let mut hops = Vec::new();
    for line in lines {
        for element in line.split(|byte| *byte == b',') {
            let malformed = ResolveError::MalformedXForwardedFor {
                element: hops.len(),
            };
            let text = core::str::from_utf8(trim_ows(element)).map_err(|_| malformed)?;
            let ip = parse_host_port(text).ok_or(malformed)?;
            hops.push(Hop::Ip(canonical_ip(ip)));
        }
    }
    Ok(hops)
}

fn parse_host_port(text: &str) -> Option<IpAddr> {
    if let Some(rest) = text.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        if !after.is_empty() {
            parse_port(after.strip_prefix(':')?)?;
        }
        return parse_ipv6(address).ok().map(IpAddr::V6);
    }
    if text.contains('.') && text.bytes().filter(|b| *b == b':').count() <= 1 {
        let address = match text.split_once(':') {
            Some((address, port)) => {
                parse_port(port)?;
                address
            }
            None => text,
        };
        return parse_ipv4(address).ok().map(IpAddr::V4);
    }
    parse_ipv6(text).ok().map(IpAddr::V6)
}

/// `port = 1*5DIGIT` (RFC 7239 section 6), also no larger than 65535.
fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses `Forwarded` lines per RFC 7239 section 4:
///
/// ```text
/// Forwarded         = 1#forwarded-element
/// forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
/// forwarded-pair    = token "=" value
/// value             = token / quoted-string
/// ```
///
/// Two leniencies, neither of which can change a hop: optional whitespace
/// around `;` and the element separator `,`. One strictness: an empty list
/// element is malformed (RFC 9110 section 5.6.1 would skip it), since it may
/// stand for a hop whose address was lost.
pub(super) fn parse_forwarded(lines: &[&[u8]]) -> Result<Vec<Hop>, ResolveError> {
    let mut hops = Vec::new();
    for line in lines {
        let mut cursor = Cursor { bytes: line, at: 0 };
        loop {
            let malformed = ResolveError::MalformedForwarded {
                element: hops.len(),
            };
            cursor.skip_ows();
            let hop = parse_forwarded_element(&mut cursor).ok_or(malformed)?;
            hops.push(hop);
            cursor.skip_ows();
            match cursor.next() {
                None => break,
                Some(b',') => {}
                Some(_) => return Err(malformed),
            }
        }
    }
    Ok(hops)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at = self.at.saturating_add(1);
        Some(byte)
    }

    fn skip_ows(&mut self) {
        while self.peek().is_some_and(is_ows) {
            self.at = self.at.saturating_add(1);
        }
    }

    /// `token = 1*tchar` (RFC 9110 section 5.6.2).
    fn token(&mut self) -> Option<&[u8]> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at = self.at.saturating_add(1);
        }
        let token = self.bytes.get(start..self.at)?;
        (!token.is_empty()).then_some(token)
    }

    /// `quoted-string` (RFC 9110 section 5.6.4), unescaped.
    fn quoted_string(&mut self) -> Option<Vec<u8>> {
        if self.next()? != b'"' {
            return None;
        }
        let mut value = Vec::new();
        loop {
            match self.next()? {
                b'"' => return Some(value),
                b'\\' => {
                    let escaped = self.next()?;
                    if !(escaped == b'\t'
                        || escaped == b' '
                        || escaped.is_ascii_graphic()
                        || escaped >= 0x80)
                    {
                        return None;
                    }
                    value.push(escaped);
                }
                byte if byte == b'\t'
                    || byte == b' '
                    || byte == b'!'
                    || (0x23..=0x5b).contains(&byte)
                    || (0x5d..=0x7e).contains(&byte)
                    || byte >= 0x80 =>
                {
                    value.push(byte);
                }
                _ => return None,
            }
        }
    }
}

/// `tchar` (RFC 9110 section 5.6.2).
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// One `forwarded-element`; `None` if malformed. An element without `for=`
/// is an unidentified hop.
fn parse_forwarded_element(cursor: &mut Cursor<'_>) -> Option<Hop> {
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut hop = Hop::Unidentified;
    let mut any_pair = false;
    loop {
        cursor.skip_ows();
        if cursor.peek().is_some_and(is_tchar) {
            let name = cursor.token()?.to_ascii_lowercase();
            if cursor.next()? != b'=' {
                return None;
            }
            let value = if cursor.peek() == Some(b'"') {
                cursor.quoted_string()?
            } else {
                cursor.token()?.to_vec()
            };
            // Section 4: a parameter must not occur more than once per element.
            if seen.contains(&name) {
                return None;
            }
            if name == b"for" {
                hop = parse_node(&value)?;
            }
            seen.push(name);
            any_pair = true;
        }
        cursor.skip_ows();
        if cursor.peek() == Some(b';') {
            cursor.next();
        } else {
            break;
        }
    }
    let at_end = matches!(cursor.peek(), None | Some(b','));
    (at_end && any_pair).then_some(hop)
}

/// `node = nodename [ ":" node-port ]` (RFC 7239 section 6).
fn parse_node(value: &[u8]) -> Option<Hop> {
    let text = core::str::from_utf8(value).ok()?;
    if text.eq_ignore_ascii_case("unknown") {
        // Section 6.2.
        return Some(Hop::Unidentified);
    }
    if let Some(name) = text.strip_prefix('_') {
        // Section 6.3: obfuscated identifier.
        let (name, port) = match name.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (name, None),
        };
        if !is_obfuscated(name) || port.is_some_and(|port| !is_node_port(port)) {
            return None;
        }
        return Some(Hop::Unidentified);
    }
    let (address, port) = if let Some(rest) = text.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        let port = if after.is_empty() {
            None
        } else {
            Some(after.strip_prefix(':')?)
        };
        (IpAddr::V6(parse_ipv6(address).ok()?), port)
    } else {
        let (address, port) = match text.split_once(':') {
            Some((address, port)) => (address, Some(port)),
            None => (text, None),
        };
        (IpAddr::V4(parse_ipv4(address).ok()?), port)
    };
    if port.is_some_and(|port| !is_node_port(port)) {
        return None;
    }
    Some(Hop::Ip(canonical_ip(address)))
}

/// `node-port = port / obfport` (RFC 7239 section 6).
fn is_node_port(text: &str) -> bool {
    match text.strip_prefix('_') {
        Some(obfuscated) => is_obfuscated(obfuscated),
        None => parse_port(text).is_some(),
    }
}

/// The characters after `_` in `obfnode` and `obfport`:
/// `1*( ALPHA / DIGIT / "." / "_" / "-" )`.
fn is_obfuscated(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(line: &str) -> Result<Vec<Hop>, ResolveError> {
        parse_x_forwarded_for(&[line.as_bytes()])
    }

    fn fwd(line: &str) -> Result<Vec<Hop>, ResolveError> {
        parse_forwarded(&[line.as_bytes()])
    }

    fn ip(text: &str) -> Hop {
        Hop::Ip(text.parse().unwrap())
    }

    #[test]
    fn x_forwarded_for_elements() {
        assert_eq!(xff("192.0.2.1"), Ok(vec![ip("192.0.2.1")]));
        assert_eq!(
            xff("192.0.2.1,198.51.100.2 ,\t2001:db8::1"),
            Ok(vec![ip("192.0.2.1"), ip("198.51.100.2"), ip("2001:db8::1")])
        );
        assert_eq!(xff("192.0.2.1:8080"), Ok(vec![ip("192.0.2.1")]));
        assert_eq!(xff("[2001:db8::1]"), Ok(vec![ip("2001:db8::1")]));
        assert_eq!(xff("[2001:db8::1]:443"), Ok(vec![ip("2001:db8::1")]));
        assert_eq!(xff("::ffff:192.0.2.1"), Ok(vec![ip("192.0.2.1")]));
        assert_eq!(xff("::1"), Ok(vec![ip("::1")]));
        // Without brackets a trailing group is part of the address, not a port.
        assert_eq!(xff("2001:db8::1:443"), Ok(vec![ip("2001:db8::1:443")]));
    }

    #[test]
    fn x_forwarded_for_malformed() {
        for (line, element) in [
            ("", 0),
            (" ", 0),
            ("192.0.2.1,", 1),
            ("192.0.2.1,,192.0.2.2", 1),
            ("unknown", 0),
            ("192.0.2.1, unknown", 1),
            ("010.0.0.1", 0),
            ("192.0.2", 0),
            ("192.0.2.1:", 0),
            ("192.0.2.1:65536", 0),
            ("192.0.2.1:123456", 0),
            ("192.0.2.1:http", 0),
            ("2001:db8::1::443", 0),
            ("[2001:db8::1", 0),
            ("[2001:db8::1]443", 0),
            ("[192.0.2.1]", 0),
            ("fe80::1%eth0", 0),
            ("192.0.2.1 192.0.2.2", 0),
            ("\"192.0.2.1\"", 0),
        ] {
            assert_eq!(
                xff(line),
                Err(ResolveError::MalformedXForwardedFor { element }),
                "{line:?}"
            );
        }
        assert_eq!(
            parse_x_forwarded_for(&[b"192.0.2.1\xff"]),
            Err(ResolveError::MalformedXForwardedFor { element: 0 })
        );
    }

    #[test]
    fn x_forwarded_for_lines_are_one_list() {
        assert_eq!(
            parse_x_forwarded_for(&[b"192.0.2.1, 192.0.2.2", b"192.0.2.3"]),
            Ok(vec![ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3")])
        );
        assert_eq!(
            parse_x_forwarded_for(&[b"192.0.2.1", b"nonsense"]),
            Err(ResolveError::MalformedXForwardedFor { element: 1 })
        );
    }

    /// Examples from RFC 7239 sections 4, 6 and 7.
    #[test]
    fn forwarded_rfc7239_examples() {
        assert_eq!(fwd("for=\"_gazonk\""), Ok(vec![Hop::Unidentified]));
        assert_eq!(
            fwd("For=\"[2001:db8:cafe::17]:4711\""),
            Ok(vec![ip("2001:db8:cafe::17")])
        );
        assert_eq!(
            fwd("for=192.0.2.60;proto=http;by=203.0.113.43"),
            Ok(vec![ip("192.0.2.60")])
        );
        assert_eq!(
            fwd("for=192.0.2.43, for=198.51.100.17"),
            Ok(vec![ip("192.0.2.43"), ip("198.51.100.17")])
        );
        assert_eq!(fwd("for=unknown"), Ok(vec![Hop::Unidentified]));
        assert_eq!(fwd("for=\"192.0.2.43:47011\""), Ok(vec![ip("192.0.2.43")]));
        assert_eq!(
            fwd("for=\"[2001:db8::1]:_port\""),
            Ok(vec![ip("2001:db8::1")])
        );
        assert_eq!(
            fwd("for=192.0.2.43,for=\"[2001:db8:cafe::17]\",for=unknown"),
            Ok(vec![
                ip("192.0.2.43"),
                ip("2001:db8:cafe::17"),
                Hop::Unidentified
            ])
        );
        assert_eq!(
            fwd("for=_hidden, for=_SEVKISEK"),
            Ok(vec![Hop::Unidentified, Hop::Unidentified])
        );
    }

    #[test]
    fn forwarded_elements_without_for_are_unidentified() {
        assert_eq!(
            fwd("proto=https;by=203.0.113.43"),
            Ok(vec![Hop::Unidentified])
        );
        assert_eq!(fwd("for=192.0.2.1;;proto=https"), Ok(vec![ip("192.0.2.1")]));
        assert_eq!(
            fwd("for=192.0.2.1 ; proto=https"),
            Ok(vec![ip("192.0.2.1")])
        );
        assert_eq!(fwd("for=\"\\192.0.2.1\""), Ok(vec![ip("192.0.2.1")]));
    }

    #[test]
    fn forwarded_malformed() {
        for (line, element) in [
            ("", 0),
            (";", 0),
            ("for=192.0.2.1,", 1),
            ("for=192.0.2.1,,for=192.0.2.2", 1),
            ("for=[2001:db8::1]", 0),
            ("for=2001:db8::1", 0),
            ("for=\"2001:db8::1\"", 0),
            ("for=192.0.2.1:80", 0),
            ("for=\"192.0.2.1:99999\"", 0),
            ("for=\"192.0.2.1:\"", 0),
            ("for=\"[2001:db8::1]80\"", 0),
            ("for=\"192.0.2.1", 0),
            ("for=", 0),
            ("for", 0),
            ("for =192.0.2.1", 0),
            ("for= 192.0.2.1", 0),
            ("=192.0.2.1", 0),
            ("for=192.0.2.1;for=192.0.2.2", 0),
            ("for=192.0.2.1;FOR=192.0.2.2", 0),
            ("for=010.0.0.1", 0),
            ("for=_", 0),
            ("for=\"_a b\"", 0),
            ("for=\"[fe80::1%eth0]\"", 0),
            ("for=\"[192.0.2.1]\"", 0),
            ("for=192.0.2.1 for=192.0.2.2", 0),
            ("for=192.0.2.1, for=nonsense", 1),
            ("for=\"bad\u{1}\"", 0),
        ] {
            assert_eq!(
                fwd(line),
                Err(ResolveError::MalformedForwarded { element }),
                "{line:?}"
            );
        }
        assert_eq!(
            parse_forwarded(&[b"for=\"\xff\""]),
            Err(ResolveError::MalformedForwarded { element: 0 })
        );
    }

    #[test]
    fn forwarded_lines_are_one_list() {
        assert_eq!(
            parse_forwarded(&[b"for=192.0.2.1", b"for=192.0.2.2;proto=https"]),
            Ok(vec![ip("192.0.2.1"), ip("192.0.2.2")])
        );
    }
}
