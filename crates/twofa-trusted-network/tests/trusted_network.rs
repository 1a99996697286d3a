//! The public API end to end: allowlists, client-address resolution behind
//! proxies, the re-prompt decision at its edges, grants and revocation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers outside #[test] functions; a failure there is a failed test"
)]

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use twofa_trusted_network::{
    ActorId, AddressSource, Allowlist, AllowlistError, Cidr, CidrError, ClientAddress, Decision,
    ForwardingHeaders, GrantError, LoginFacts, NetworkEntry, NoGrant, PromptReason, ResolveError,
    RevocationReason, RevokeError, TrustGrant, TrustGrantRecord, TrustPolicy, TrustPolicyError,
    TrustedProxies, eligibility,
};
use twofa_types::{AccountKind, EnrollmentStatus, Method, MethodSet, TrustedNetworks};

/// 21 days in seconds, as the portal defines it.
const TWENTY_ONE_DAYS: i64 = 21 * 24 * 60 * 60;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn cidr(text: &str) -> Cidr {
    text.parse().unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 30, 0).unwrap()
}

fn secs(seconds: i64) -> TimeDelta {
    TimeDelta::try_seconds(seconds).unwrap()
}

fn admin() -> ActorId {
    ActorId::new("admin-1").unwrap()
}

fn entry(network: &str, label: &str, added_at: DateTime<Utc>) -> NetworkEntry {
    NetworkEntry::new(cidr(network), label, admin(), added_at).unwrap()
}

/// The company of the examples: an office, a lab inside it, a VPN egress
/// range in IPv6.
fn company() -> Allowlist {
    let added = t0() - secs(86_400);
    Allowlist::from_entries([
        entry("198.51.100.0/24", "office", added),
        entry("198.51.100.128/25", "lab", added),
        entry("2001:db8:10::/48", "vpn", added),
    ])
    .unwrap()
}

/// A user with an active method.
fn enrolled() -> EnrollmentStatus {
    EnrollmentStatus::Enrolled {
        methods: MethodSet::of(&[Method::AuthenticatorApp]),
        since: t0(),
    }
}

/// A user who never set up a method.
fn not_enrolled() -> EnrollmentStatus {
    EnrollmentStatus::NotEnrolled { deferrals_used: 0 }
}

fn employee<'a>(allowlist: &'a Allowlist, client: &'a ClientAddress) -> LoginFacts<'a> {
    LoginFacts::new(AccountKind::PartnerEmployee, enrolled(), allowlist, client)
}

/// A grant earned at `t0()` from the office.
fn office_grant(allowlist: &Allowlist) -> TrustGrant {
    let client = ClientAddress::peer(ip("198.51.100.7"));
    TrustPolicy::default()
        .grant(&employee(allowlist, &client), t0())
        .unwrap()
}

fn decide_at(
    allowlist: &Allowlist,
    client_ip: &str,
    grant: &TrustGrantRecord,
    now: DateTime<Utc>,
) -> Decision {
    let client = ClientAddress::peer(ip(client_ip));
    TrustPolicy::default().decide(&employee(allowlist, &client).with_grant(grant), now)
}

// ---------------------------------------------------------------- parsing

#[test]
fn strict_parsing_names_what_was_wrong() {
    let cases: &[(&str, CidrError)] = &[
        ("", CidrError::Empty),
        (" 10.0.0.0/8", CidrError::Whitespace),
        ("fe80::1%eth0/64", CidrError::ZoneId),
        ("010.0.0.1/32", CidrError::LeadingZero),
        ("10.0.0/24", CidrError::InvalidIpv4Address),
        ("2001:db8:::/48", CidrError::InvalidIpv6Address),
        ("10.0.0.0/", CidrError::MissingPrefixLength),
        ("10.0.0.0/08", CidrError::InvalidPrefixLength),
        (
            "10.0.0.0/33",
            CidrError::PrefixLengthOutOfRange {
                length: 33,
                max: 32,
            },
        ),
        (
            "::/129",
            CidrError::PrefixLengthOutOfRange {
                length: 129,
                max: 128,
            },
        ),
        (
            "10.0.0.1/8",
            CidrError::HostBitsSet {
                network: cidr("10.0.0.0/8"),
            },
        ),
        ("::ffff:10.0.0.0/104", CidrError::Ipv4MappedRange),
        ("0.0.0.0/0", CidrError::EverythingRefused),
        ("::/0", CidrError::EverythingRefused),
    ];
    for (text, expected) in cases {
        assert_eq!(text.parse::<Cidr>(), Err(*expected), "{text:?}");
    }
    // Each refused case has an accepted neighbour.
    for text in [
        "10.0.0.0/8",
        "10.0.0.0/32",
        "10.0.0.1/32",
        "::/128",
        "10.0.0.1",
        "0.0.0.0/1",
    ] {
        assert!(text.parse::<Cidr>().is_ok(), "{text:?}");
    }
    assert_eq!(
        Cidr::parse_allowing_everything("0.0.0.0/0"),
        Ok(Cidr::everything_v4())
    );
    assert_eq!(
        CidrError::PrefixLengthOutOfRange {
            length: 33,
            max: 32
        }
        .to_string(),
        "prefix length 33 exceeds 32"
    );
}

#[test]
fn bare_addresses_are_single_hosts() {
    assert_eq!(cidr("203.0.113.9"), cidr("203.0.113.9/32"));
    assert_eq!(cidr("2001:db8::9"), cidr("2001:db8::9/128"));
    assert_eq!(cidr("203.0.113.9").to_string(), "203.0.113.9/32");
}

// -------------------------------------------------------------- allowlist

#[test]
fn allowlist_matches_most_specific_entry_and_families_separately() {
    let list = company();
    let label = |text: &str| list.lookup(ip(text)).map(NetworkEntry::label);
    assert_eq!(label("198.51.100.0"), Some("office"));
    assert_eq!(label("198.51.100.127"), Some("office"));
    assert_eq!(label("198.51.100.128"), Some("lab"));
    assert_eq!(label("198.51.100.255"), Some("lab"));
    assert_eq!(label("198.51.99.255"), None);
    assert_eq!(label("198.51.101.0"), None);
    assert_eq!(label("2001:db8:10:ffff::1"), Some("vpn"));
    assert_eq!(label("2001:db8:11::"), None);
}

#[test]
fn mapped_ipv6_matches_ipv4_but_compatible_and_loopback_do_not() {
    let added = t0();
    let list = Allowlist::from_entries([
        entry("10.0.0.0/8", "ten", added),
        entry("0.0.0.0/8", "this-network", added),
    ])
    .unwrap();
    assert_eq!(
        list.lookup(ip("::ffff:10.1.2.3")).map(NetworkEntry::label),
        Some("ten")
    );
    assert_eq!(list.lookup(ip("::10.1.2.3")), None);
    assert_eq!(list.lookup(ip("::1")), None);
    assert_eq!(
        list.lookup(ip("0.0.0.1")).map(NetworkEntry::label),
        Some("this-network")
    );
    assert_eq!(
        list.lookup(ip("::ffff:0.0.0.1")).map(NetworkEntry::label),
        Some("this-network")
    );
}

#[test]
fn duplicate_network_is_refused() {
    let mut list = company();
    let before = list.clone();
    assert_eq!(
        list.insert(entry("198.51.100.0/24", "again", t0())),
        Err(AllowlistError::Duplicate {
            network: cidr("198.51.100.0/24")
        })
    );
    assert_eq!(list, before);
}

// ----------------------------------------------------- client resolution

fn proxies() -> TrustedProxies {
    TrustedProxies::new([cidr("10.0.0.0/24"), cidr("2001:db8:ffff::/48")])
}

fn resolved(ip_text: &str, source: AddressSource) -> ClientAddress {
    let expected = ClientAddress::peer(ip(ip_text));
    match expected {
        ClientAddress::Resolved { ip, .. } => ClientAddress::Resolved { ip, source },
        other => other,
    }
}

#[test]
fn without_trusted_proxies_headers_are_ignored() {
    let headers = ForwardingHeaders::new()
        .with_x_forwarded_for("198.51.100.7")
        .with_forwarded("for=198.51.100.7");
    let client = TrustedProxies::none().resolve(ip("203.0.113.5"), &headers);
    assert_eq!(client, resolved("203.0.113.5", AddressSource::Peer));
    // Even malformed headers are ignored: they are not read at all.
    let junk = ForwardingHeaders::new().with_x_forwarded_for("<junk>");
    let client = TrustedProxies::none().resolve(ip("203.0.113.5"), &junk);
    assert_eq!(client.ip(), Some(ip("203.0.113.5")));
}

#[test]
fn untrusted_peer_headers_are_ignored() {
    let headers = ForwardingHeaders::new().with_x_forwarded_for("198.51.100.7");
    let client = proxies().resolve(ip("10.0.1.1"), &headers);
    assert_eq!(client, resolved("10.0.1.1", AddressSource::Peer));
}

#[test]
fn trusted_peer_single_hop() {
    let headers = ForwardingHeaders::new().with_x_forwarded_for("203.0.113.5");
    assert_eq!(
        proxies().resolve(ip("10.0.0.1"), &headers),
        resolved("203.0.113.5", AddressSource::XForwardedFor)
    );
}

#[test]
fn chain_is_walked_from_the_right_skipping_trusted_proxies() {
    // client-chosen spoof, real client, two inner proxies; peer is a proxy.
    let headers = ForwardingHeaders::new()
        .with_x_forwarded_for("198.51.100.7, 203.0.113.5, 10.0.0.9, 10.0.0.8");
    assert_eq!(
        proxies().resolve(ip("10.0.0.1"), &headers).ip(),
        Some(ip("203.0.113.5"))
    );
    // One more untrusted hop to the right wins instead.
    let headers =
        ForwardingHeaders::new().with_x_forwarded_for("198.51.100.7, 10.0.0.9, 192.0.2.1");
    assert_eq!(
        proxies().resolve(ip("10.0.0.1"), &headers).ip(),
        Some(ip("192.0.2.1"))
    );
}

#[test]
fn several_header_lines_form_one_chain() {
    let headers = ForwardingHeaders::new()
        .with_x_forwarded_for("198.51.100.7, 203.0.113.5")
        .with_x_forwarded_for("10.0.0.9");
    assert_eq!(
        proxies().resolve(ip("10.0.0.1"), &headers).ip(),
        Some(ip("203.0.113.5"))
    );
    let headers = ForwardingHeaders::new()
        .with_forwarded("for=198.51.100.7")
        .with_forwarded("for=10.0.0.9;proto=https");
    assert_eq!(
        proxies().resolve(ip("10.0.0.1"), &headers).ip(),
        Some(ip("198.51.100.7"))
    );
}

#[test]
fn chains_that_fail_closed() {
    let p = proxies();
    let peer = ip("10.0.0.1");
    let cases: Vec<(ForwardingHeaders<'_>, ResolveError)> = vec![
        (ForwardingHeaders::new(), ResolveError::NoForwardingHeader),
        (
            ForwardingHeaders::new().with_x_forwarded_for("10.0.0.3, 10.0.0.2"),
            ResolveError::OnlyTrustedProxies,
        ),
        (
            ForwardingHeaders::new().with_x_forwarded_for("203.0.113.5,,10.0.0.2"),
            ResolveError::MalformedXForwardedFor { element: 1 },
        ),
        (
            ForwardingHeaders::new().with_x_forwarded_for("garbage, 203.0.113.5"),
            ResolveError::MalformedXForwardedFor { element: 0 },
        ),
        (
            ForwardingHeaders::new().with_forwarded("for=unknown"),
            ResolveError::UnidentifiedHop,
        ),
        (
            ForwardingHeaders::new().with_forwarded("for=\"_hidden\", for=10.0.0.2"),
            ResolveError::UnidentifiedHop,
        ),
        (
            ForwardingHeaders::new().with_forwarded("proto=https"),
            ResolveError::UnidentifiedHop,
        ),
        (
            ForwardingHeaders::new().with_forwarded("for=[2001:db8::1]"),
            ResolveError::MalformedForwarded { element: 0 },
        ),
        (
            ForwardingHeaders::new()
                .with_forwarded("for=203.0.113.5")
                .with_forwarded("for=10.0.0.2;for=10.0.0.3"),
            ResolveError::MalformedForwarded { element: 1 },
        ),
        (
            ForwardingHeaders::new()
                .with_x_forwarded_for("203.0.113.5")
                .with_forwarded("for=198.51.100.7"),
            ResolveError::HeadersDisagree {
                x_forwarded_for: ip("203.0.113.5"),
                forwarded: ip("198.51.100.7"),
            },
        ),
        (
            ForwardingHeaders::new()
                .with_x_forwarded_for("203.0.113.5")
                .with_forwarded("for=unknown"),
            ResolveError::UnidentifiedHop,
        ),
    ];
    for (headers, expected) in cases {
        assert_eq!(
            p.resolve(peer, &headers),
            ClientAddress::Unresolvable(expected),
            "{headers:?}"
        );
    }
}

#[test]
fn unknown_hops_left_of_the_client_do_not_matter() {
    let headers = ForwardingHeaders::new()
        .with_forwarded("for=unknown, for=\"_x\", for=203.0.113.5, for=10.0.0.2");
    assert_eq!(
        proxies().resolve(ip("10.0.0.1"), &headers),
        resolved("203.0.113.5", AddressSource::Forwarded)
    );
}

#[test]
fn both_headers_agreeing_resolve() {
    let headers = ForwardingHeaders::new()
        .with_x_forwarded_for("203.0.113.5, 10.0.0.2")
        .with_forwarded("for=203.0.113.5, for=10.0.0.2");
    assert_eq!(
        proxies().resolve(ip("10.0.0.1"), &headers),
        resolved("203.0.113.5", AddressSource::BothHeaders)
    );
}

#[test]
fn spoofed_forwarded_passed_through_a_proxy_that_only_appends_x_forwarded_for() {
    // The proxy appended the real client to X-Forwarded-For and passed the
    // client's own Forwarded header through: the disagreement fails closed.
    let headers = ForwardingHeaders::new()
        .with_x_forwarded_for("198.51.100.7, 203.0.113.66")
        .with_forwarded("for=198.51.100.7");
    let client = proxies().resolve(ip("10.0.0.1"), &headers);
    assert!(matches!(
        client,
        ClientAddress::Unresolvable(ResolveError::HeadersDisagree { .. })
    ));
}

#[test]
fn ipv6_chains_quoted_ports_and_mapped_addresses() {
    let headers = ForwardingHeaders::new()
        .with_forwarded("for=\"[2001:db8:10::5]:4711\", for=\"[2001:db8:ffff::2]\"");
    assert_eq!(
        proxies().resolve(ip("2001:db8:ffff::1"), &headers).ip(),
        Some(ip("2001:db8:10::5"))
    );
    // A mapped peer is the IPv4 proxy it carries, and a mapped hop is IPv4.
    let headers =
        ForwardingHeaders::new().with_x_forwarded_for("::ffff:198.51.100.7, ::ffff:10.0.0.2");
    assert_eq!(
        proxies().resolve(ip("::ffff:10.0.0.1"), &headers),
        resolved("198.51.100.7", AddressSource::XForwardedFor)
    );
    // `::10.0.0.2` is not the proxy 10.0.0.2, so it is the client.
    let headers = ForwardingHeaders::new().with_x_forwarded_for("198.51.100.7, ::10.0.0.2");
    assert_eq!(
        proxies().resolve(ip("10.0.0.1"), &headers).ip(),
        Some(ip("::10.0.0.2"))
    );
}

#[test]
fn bytes_that_are_not_utf8_fail_closed() {
    let line: &[u8] = b"203.0.113.5\xff";
    let headers = ForwardingHeaders::new().with_x_forwarded_for(line);
    assert_eq!(
        proxies().resolve(ip("10.0.0.1"), &headers),
        ClientAddress::Unresolvable(ResolveError::MalformedXForwardedFor { element: 0 })
    );
}

// --------------------------------------------------------------- decision

#[test]
fn grant_boundaries_to_the_second() {
    let list = company();
    let grant = TrustGrantRecord::from(office_grant(&list));
    let expiry = t0() + secs(TWENTY_ONE_DAYS);
    let skip = Decision::Skip {
        next_prompt_at: expiry,
        network: cidr("198.51.100.0/24"),
    };
    assert_eq!(
        decide_at(&list, "198.51.100.7", &grant, t0() - secs(1)),
        Decision::Prompt(PromptReason::ClockBeforeGrant)
    );
    assert_eq!(decide_at(&list, "198.51.100.7", &grant, t0()), skip);
    assert_eq!(
        decide_at(&list, "198.51.100.7", &grant, expiry - secs(1)),
        skip
    );
    assert_eq!(
        decide_at(&list, "198.51.100.7", &grant, expiry),
        Decision::Prompt(PromptReason::GrantExpired)
    );
    assert_eq!(
        decide_at(&list, "198.51.100.7", &grant, expiry + secs(1)),
        Decision::Prompt(PromptReason::GrantExpired)
    );
}

#[test]
fn twenty_one_days_are_utc_seconds_across_daylight_saving_changes() {
    // 2026-03-08 (United States) and 2026-03-29 (European Union) both fall
    // inside this grant; UTC has no such shifts.
    let list = company();
    let grant = office_grant(&list);
    assert_eq!(grant.issued_at(), t0());
    assert_eq!(
        (grant.expires_at() - grant.issued_at()).num_seconds(),
        1_814_400
    );
    assert_eq!(TrustPolicy::default().reprompt_interval(), secs(1_814_400));
}

#[test]
fn grant_on_any_entry_of_the_company_allows_a_skip_elsewhere_in_it() {
    let list = company();
    let grant = TrustGrantRecord::from(office_grant(&list));
    assert_eq!(
        decide_at(&list, "2001:db8:10::9", &grant, t0() + secs(60)),
        Decision::Skip {
            next_prompt_at: t0() + secs(TWENTY_ONE_DAYS),
            network: cidr("2001:db8:10::/48"),
        }
    );
    assert_eq!(
        decide_at(&list, "203.0.113.5", &grant, t0() + secs(60)),
        Decision::Prompt(PromptReason::NotOnTrustedNetwork)
    );
}

#[test]
fn every_prompt_reason() {
    let list = company();
    let grant = TrustGrantRecord::from(office_grant(&list));
    let on = ClientAddress::peer(ip("198.51.100.7"));
    let now = t0() + secs(60);
    let policy = TrustPolicy::default();

    let not_enrolled = LoginFacts::new(AccountKind::PartnerEmployee, not_enrolled(), &list, &on)
        .with_grant(&grant);
    assert_eq!(
        policy.decide(&not_enrolled, now),
        Decision::Prompt(PromptReason::NotEnrolled)
    );

    let client_account =
        LoginFacts::new(AccountKind::EndUserClient, enrolled(), &list, &on).with_grant(&grant);
    assert_eq!(
        policy.decide(&client_account, now),
        Decision::Prompt(PromptReason::ClientAccount)
    );

    let unknown = ClientAddress::Unresolvable(ResolveError::NoForwardingHeader);
    assert_eq!(
        policy.decide(&employee(&list, &unknown).with_grant(&grant), now),
        Decision::Prompt(PromptReason::UnresolvableClientAddress(
            ResolveError::NoForwardingHeader
        ))
    );

    let off = ClientAddress::peer(ip("203.0.113.5"));
    assert_eq!(
        policy.decide(&employee(&list, &off).with_grant(&grant), now),
        Decision::Prompt(PromptReason::NotOnTrustedNetwork)
    );

    assert_eq!(
        policy.decide(&employee(&list, &on), now),
        Decision::Prompt(PromptReason::NoGrant)
    );

    let revoked = grant
        .revoke(RevocationReason::PasswordChanged, now)
        .unwrap();
    assert_eq!(
        policy.decide(&employee(&list, &on).with_grant(&revoked), now),
        Decision::Prompt(PromptReason::GrantRevoked)
    );

    // The paired accepting case.
    assert!(matches!(
        policy.decide(&employee(&list, &on).with_grant(&grant), now),
        Decision::Skip { .. }
    ));
}

#[test]
fn not_enrolled_users_are_sent_to_set_up_even_off_network_and_as_clients() {
    let list = company();
    let off = ClientAddress::Unresolvable(ResolveError::OnlyTrustedProxies);
    let facts = LoginFacts::new(AccountKind::EndUserClient, not_enrolled(), &list, &off);
    assert_eq!(
        TrustPolicy::default().decide(&facts, t0()),
        Decision::Prompt(PromptReason::NotEnrolled)
    );
}

#[test]
fn every_revocation_reason_prompts() {
    let list = company();
    let grant = TrustGrantRecord::from(office_grant(&list));
    let at = t0() + secs(3600);
    for reason in [
        RevocationReason::PasswordChanged,
        RevocationReason::SecondFactorMethodsChanged,
        RevocationReason::RecoveryCodeUsed,
        RevocationReason::AdminRevoked { by: admin() },
        RevocationReason::NetworkRemoved,
    ] {
        let revoked = grant.revoke(reason.clone(), at).unwrap();
        match &revoked {
            TrustGrantRecord::Revoked(record) => {
                assert_eq!(record.reason(), &reason);
                assert_eq!(record.revoked_at(), at);
                assert_eq!(record.grant().issued_at(), t0());
            }
            other => panic!("not revoked: {other:?}"),
        }
        assert_eq!(
            decide_at(&list, "198.51.100.7", &revoked, at + secs(1)),
            Decision::Prompt(PromptReason::GrantRevoked)
        );
        // A revoked grant is final: a second revocation is refused.
        assert_eq!(
            revoked.revoke(RevocationReason::PasswordChanged, at),
            Err(RevokeError::AlreadyRevoked)
        );
    }
}

#[test]
fn removing_the_entry_ends_the_grant_without_an_explicit_revocation() {
    let mut list = company();
    let grant = office_grant(&list);
    let record = TrustGrantRecord::from(grant);
    let now = t0() + secs(60);
    // The login comes from the lab, still listed, but the grant was earned
    // on the office entry.
    assert_eq!(grant.network(), cidr("198.51.100.0/24"));
    assert!(matches!(
        decide_at(&list, "198.51.100.200", &record, now),
        Decision::Skip { .. }
    ));
    let removed = list.remove(cidr("198.51.100.0/24")).unwrap();
    assert!(grant.was_earned_on(&removed));
    assert_eq!(
        decide_at(&list, "198.51.100.200", &record, now),
        Decision::Prompt(PromptReason::GrantNetworkRemoved)
    );
    // Adding the same network back later does not revive the grant.
    list.insert(entry("198.51.100.0/24", "office", now))
        .unwrap();
    assert!(!grant.was_earned_on(list.entry(cidr("198.51.100.0/24")).unwrap()));
    assert_eq!(
        decide_at(&list, "198.51.100.7", &record, now + secs(1)),
        Decision::Prompt(PromptReason::GrantNetworkRemoved)
    );
}

#[test]
fn grant_records_the_most_specific_entry() {
    let list = company();
    let client = ClientAddress::peer(ip("198.51.100.200"));
    let grant = TrustPolicy::default()
        .grant(&employee(&list, &client), t0())
        .unwrap();
    assert_eq!(grant.network(), cidr("198.51.100.128/25"));
    assert_eq!(grant.network_added_at(), t0() - secs(86_400));
}

#[test]
fn who_earns_no_grant() {
    let list = company();
    let policy = TrustPolicy::default();
    let on = ClientAddress::peer(ip("198.51.100.7"));
    let off = ClientAddress::peer(ip("203.0.113.5"));
    let client_account = LoginFacts::new(AccountKind::EndUserClient, enrolled(), &list, &on);
    assert_eq!(
        policy.grant(&client_account, t0()),
        Err(NoGrant::ClientAccount)
    );
    let not_enrolled = LoginFacts::new(AccountKind::PartnerEmployee, not_enrolled(), &list, &on);
    assert_eq!(policy.grant(&not_enrolled, t0()), Err(NoGrant::NotEnrolled));
    assert_eq!(
        policy.grant(&employee(&list, &off), t0()),
        Err(NoGrant::NotOnTrustedNetwork)
    );
    let unknown = ClientAddress::Unresolvable(ResolveError::UnidentifiedHop);
    assert_eq!(
        policy.grant(&employee(&list, &unknown), t0()),
        Err(NoGrant::UnresolvableClientAddress(
            ResolveError::UnidentifiedHop
        ))
    );
    assert!(policy.grant(&employee(&list, &on), t0()).is_ok());
    assert_eq!(
        policy.grant(&employee(&list, &on), DateTime::<Utc>::MAX_UTC),
        Err(NoGrant::ExpiryOutOfRange)
    );
}

#[test]
fn policy_validation_and_a_custom_interval() {
    let policy = TrustPolicy::new();
    assert_eq!(
        policy.with_reprompt_interval(TimeDelta::zero()),
        Err(TrustPolicyError::IntervalNotPositive)
    );
    assert_eq!(
        policy.with_reprompt_interval(secs(-1)),
        Err(TrustPolicyError::IntervalNotPositive)
    );
    assert_eq!(
        policy.with_reprompt_interval(TimeDelta::milliseconds(1500)),
        Err(TrustPolicyError::IntervalNotWholeSeconds)
    );
    let hour = policy.with_reprompt_interval(secs(3600)).unwrap();
    assert_eq!(
        hour.with_reprompt_interval(secs(1))
            .unwrap()
            .reprompt_interval(),
        secs(1)
    );

    let list = company();
    let on = ClientAddress::peer(ip("198.51.100.7"));
    let grant = TrustGrantRecord::from(hour.grant(&employee(&list, &on), t0()).unwrap());
    let facts = employee(&list, &on).with_grant(&grant);
    assert!(matches!(
        hour.decide(&facts, t0() + secs(3599)),
        Decision::Skip { .. }
    ));
    assert_eq!(
        hour.decide(&facts, t0() + secs(3600)),
        Decision::Prompt(PromptReason::GrantExpired)
    );
}

#[test]
fn shortening_the_interval_shortens_existing_grants() {
    let list = company();
    let grant = TrustGrantRecord::from(office_grant(&list));
    let on = ClientAddress::peer(ip("198.51.100.7"));
    let week = TrustPolicy::new()
        .with_reprompt_interval(secs(7 * 86_400))
        .unwrap();
    let facts = employee(&list, &on).with_grant(&grant);
    assert_eq!(
        week.decide(&facts, t0() + secs(7 * 86_400 - 1)),
        Decision::Skip {
            next_prompt_at: t0() + secs(7 * 86_400),
            network: cidr("198.51.100.0/24"),
        }
    );
    assert_eq!(
        week.decide(&facts, t0() + secs(7 * 86_400)),
        Decision::Prompt(PromptReason::GrantExpired)
    );
    // Lengthening it does not lengthen a grant already issued.
    let long = TrustPolicy::new()
        .with_reprompt_interval(secs(60 * 86_400))
        .unwrap();
    assert_eq!(
        long.decide(&facts, t0() + secs(TWENTY_ONE_DAYS)),
        Decision::Prompt(PromptReason::GrantExpired)
    );
}

#[test]
fn stored_grants_are_validated() {
    let net = cidr("198.51.100.0/24");
    assert_eq!(
        TrustGrant::from_parts(net, t0(), t0(), t0()),
        Err(GrantError::ExpiresBeforeIssued)
    );
    assert_eq!(
        TrustGrant::from_parts(net, t0(), t0(), t0() - secs(1)),
        Err(GrantError::ExpiresBeforeIssued)
    );
    assert!(TrustGrant::from_parts(net, t0(), t0(), t0() + secs(1)).is_ok());
}

#[test]
fn end_to_end_behind_a_proxy() {
    let list = company();
    let proxies = proxies();
    let policy = TrustPolicy::default();
    let headers = ForwardingHeaders::new().with_forwarded("for=\"198.51.100.7:50000\";proto=https");
    let client = proxies.resolve(ip("10.0.0.1"), &headers);
    let grant = TrustGrantRecord::from(policy.grant(&employee(&list, &client), t0()).unwrap());
    // Three weeks minus a second later, from the same office, via the proxy.
    let later = t0() + secs(TWENTY_ONE_DAYS - 1);
    assert!(matches!(
        policy.decide(&employee(&list, &client).with_grant(&grant), later),
        Decision::Skip { .. }
    ));
    // The same login with the header spoofed directly at the server.
    let direct = proxies.resolve(ip("203.0.113.5"), &headers);
    assert_eq!(
        policy.decide(&employee(&list, &direct).with_grant(&grant), later),
        Decision::Prompt(PromptReason::NotOnTrustedNetwork)
    );
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Cidr>();
    check::<Allowlist>();
    check::<NetworkEntry>();
    check::<TrustedProxies>();
    check::<ForwardingHeaders<'static>>();
    check::<ClientAddress>();
    check::<TrustPolicy>();
    check::<TrustGrant>();
    check::<TrustGrantRecord>();
    check::<LoginFacts<'static>>();
    check::<Decision>();
}

// ---------------------------------------------------------------- serde

#[cfg(feature = "serde")]
mod serde_records {
    use super::*;

    #[test]
    fn records_round_trip() {
        let list = company();
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(serde_json::from_str::<Allowlist>(&json).unwrap(), list);

        let grant = TrustGrantRecord::from(office_grant(&list));
        let revoked = grant
            .revoke(
                RevocationReason::AdminRevoked { by: admin() },
                t0() + secs(5),
            )
            .unwrap();
        for record in [grant, revoked] {
            let json = serde_json::to_string(&record).unwrap();
            assert_eq!(
                serde_json::from_str::<TrustGrantRecord>(&json).unwrap(),
                record
            );
        }

        let policy = TrustPolicy::new()
            .with_reprompt_interval(secs(3600))
            .unwrap();
        let json = serde_json::to_string(&policy).unwrap();
        assert_eq!(json, r#"{"reprompt_interval_seconds":3600}"#);
        assert_eq!(serde_json::from_str::<TrustPolicy>(&json).unwrap(), policy);
        assert_eq!(
            serde_json::to_string(&cidr("2001:db8::/32")).unwrap(),
            r#""2001:db8::/32""#
        );
    }

    #[test]
    fn invalid_records_are_refused() {
        assert!(serde_json::from_str::<TrustPolicy>(r#"{"reprompt_interval_seconds":0}"#).is_err());
        assert!(serde_json::from_str::<Cidr>(r#""10.0.0.1/8""#).is_err());
        assert!(serde_json::from_str::<Cidr>(r#""010.0.0.0/8""#).is_err());
        // A stored allow-everything entry was an explicit choice.
        assert_eq!(
            serde_json::from_str::<Cidr>(r#""0.0.0.0/0""#).unwrap(),
            Cidr::everything_v4()
        );
        assert!(serde_json::from_str::<ActorId>(r#""""#).is_err());
        let entry = r#"{"network":"10.0.0.0/8","label":"a","added_by":"x","added_at":"2026-01-01T00:00:00Z"}"#;
        assert!(serde_json::from_str::<NetworkEntry>(entry).is_ok());
        let bad_label = entry.replace(r#""label":"a""#, r#""label":"a\u0007""#);
        assert!(serde_json::from_str::<NetworkEntry>(&bad_label).is_err());
        let duplicate = format!("[{entry},{entry}]");
        assert!(serde_json::from_str::<Allowlist>(&duplicate).is_err());
        let grant = r#"{"Active":{"network":"10.0.0.0/8","network_added_at":"2026-01-01T00:00:00Z","issued_at":"2026-01-02T00:00:00Z","expires_at":"2026-01-02T00:00:00Z"}}"#;
        assert!(serde_json::from_str::<TrustGrantRecord>(grant).is_err());
        let grant = grant.replace(
            r#""expires_at":"2026-01-02T"#,
            r#""expires_at":"2026-01-03T"#,
        );
        assert!(serde_json::from_str::<TrustGrantRecord>(&grant).is_ok());
    }
}

// -------------------------------------------------------------- proptest

fn arb_cidr() -> impl Strategy<Value = Cidr> {
    prop_oneof![
        // Short prefixes and a narrow address pool, so entries overlap often.
        (0_u32..64, 1_u8..=32).prop_map(|(seed, prefix)| {
            let address = IpAddr::from((seed.wrapping_mul(0x0400_0000) | seed).to_be_bytes());
            truncated(address, prefix)
        }),
        (any::<u32>(), 8_u8..=32)
            .prop_map(|(bits, prefix)| truncated(IpAddr::from(bits.to_be_bytes()), prefix)),
        (0_u128..64, 1_u8..=128).prop_map(|(seed, prefix)| {
            let address = IpAddr::from((0x2001_0db8_u128 << 96 | seed << 90 | seed).to_be_bytes());
            truncated(address, prefix)
        }),
    ]
}

fn truncated(address: IpAddr, prefix: u8) -> Cidr {
    let net = ipnet::IpNet::new(address, prefix).unwrap().trunc();
    match Cidr::parse_allowing_everything(&net.to_string()) {
        Ok(cidr) => cidr,
        // Mapped ranges are refused by design; use a neighbour instead.
        Err(CidrError::Ipv4MappedRange) => cidr("2001:db8::/32"),
        Err(error) => panic!("{net}: {error}"),
    }
}

fn arb_probe() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|bits| IpAddr::from(bits.to_be_bytes())),
        (0_u32..64)
            .prop_map(|seed| IpAddr::from((seed.wrapping_mul(0x0400_0000) | seed).to_be_bytes())),
        (0_u128..64, any::<u64>()).prop_map(|(seed, low)| {
            IpAddr::from((0x2001_0db8_u128 << 96 | seed << 90 | u128::from(low)).to_be_bytes())
        }),
        any::<u128>().prop_map(|bits| IpAddr::from(bits.to_be_bytes())),
        any::<u32>().prop_map(|bits| IpAddr::V6(std::net::Ipv4Addr::from(bits).to_ipv6_mapped())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn lookup_agrees_with_a_linear_scan(
        networks in proptest::collection::vec(arb_cidr(), 0..40),
        probes in proptest::collection::vec(arb_probe(), 1..40),
    ) {
        let mut unique = networks.clone();
        unique.sort();
        unique.dedup();
        let entries = unique.iter().map(|net| NetworkEntry::new(*net, "", admin(), t0()).unwrap());
        let list = Allowlist::from_entries(entries).unwrap();
        // Built one insert at a time, the list must be the same.
        let mut incremental = Allowlist::new();
        for net in networks.iter().rev() {
            let _ = incremental.insert(NetworkEntry::new(*net, "", admin(), t0()).unwrap());
        }
        prop_assert_eq!(&incremental, &list);
        for probe in probes {
            let most_specific = unique
                .iter()
                .filter(|net| net.contains(probe))
                .max_by_key(|net| net.prefix_len());
            prop_assert_eq!(list.lookup(probe).map(NetworkEntry::network), most_specific.copied(), "{}", probe);
        }
    }

    #[test]
    fn parse_display_parse_is_identity(net in arb_cidr()) {
        let text = net.to_string();
        prop_assert_eq!(Cidr::parse_allowing_everything(&text), Ok(net));
        prop_assert_eq!(Cidr::parse_allowing_everything(&text).unwrap().to_string(), text);
    }

    #[test]
    fn any_accepted_text_round_trips(text in "[0-9a-f:./%]{0,24}") {
        if let Ok(net) = Cidr::parse_allowing_everything(&text) {
            prop_assert_eq!(Cidr::parse_allowing_everything(&net.to_string()), Ok(net));
            // Strict parsing accepts a subset of what ipnet accepts, with the same meaning.
            let bare = if text.contains('/') { text.clone() } else if text.contains(':') { format!("{text}/128") } else { format!("{text}/32") };
            let lenient: ipnet::IpNet = bare.parse().unwrap();
            prop_assert_eq!(lenient.to_string(), net.to_string());
        }
    }
}

#[test]
fn trusted_networks_serve_partner_employees_only() {
    assert_eq!(
        eligibility(AccountKind::PartnerEmployee),
        TrustedNetworks::Apply
    );
    assert_eq!(
        eligibility(AccountKind::EndUserClient),
        TrustedNetworks::DoNotApply
    );
}

#[test]
fn a_mapped_range_with_host_bits_is_refused_as_mapped() {
    // A fuzzer's input: refused for host bits set, the error named
    // `::ffff:15.139.2.80/124`, a range the parser refuses in turn.
    assert_eq!(
        Cidr::parse_allowing_everything("::ffff:f8b:255/124"),
        Err(CidrError::Ipv4MappedRange)
    );
    assert_eq!(
        Cidr::parse_allowing_everything("::ffff:15.139.2.80/124"),
        Err(CidrError::Ipv4MappedRange)
    );
}
