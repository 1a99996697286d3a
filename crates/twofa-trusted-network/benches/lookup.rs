//! Allowlist lookup with 100,000 entries: the range index against a linear
//! `ipnet` scan over the same networks, IPv4 and IPv6, hits and misses.

#![allow(missing_docs, reason = "criterion generates the bench entry point")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "fixed bench data cannot fail"
)]
#![allow(
    clippy::cast_possible_truncation,
    reason = "random bits are cut to the width needed on purpose"
)]
#![allow(
    clippy::indexing_slicing,
    reason = "indices are taken modulo the length"
)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use ipnet::IpNet;
use twofa_trusted_network::{ActorId, Allowlist, Cidr, NetworkEntry};

const ENTRIES: usize = 100_000;
const PROBES: usize = 1024;

/// A small deterministic generator (splitmix64), so every run measures the
/// same data.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

fn v4_network(rng: &mut SplitMix) -> Cidr {
    let prefix = 16 + rng.below(17) as u8;
    let address = Ipv4Addr::from(rng.next() as u32);
    let net = IpNet::new(IpAddr::V4(address), prefix).unwrap().trunc();
    net.to_string().parse().unwrap()
}

fn v6_network(rng: &mut SplitMix) -> Cidr {
    let prefix = 32 + rng.below(33) as u8;
    // Global unicast, 2000::/3, where real allowlists live.
    let bits = (u128::from(rng.next()) << 64 | u128::from(rng.next())) >> 3 | (1 << 125);
    let net = IpNet::new(IpAddr::V6(Ipv6Addr::from(bits)), prefix)
        .unwrap()
        .trunc();
    net.to_string().parse().unwrap()
}

fn random_inside(rng: &mut SplitMix, net: &IpNet) -> IpAddr {
    match net {
        IpNet::V4(v4) => {
            let host_bits = 32 - u32::from(v4.prefix_len());
            let mask = u32::MAX.checked_shr(32 - host_bits).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(
                u32::from(v4.network()) | (rng.next() as u32 & mask),
            ))
        }
        IpNet::V6(v6) => {
            let host_bits = 128 - u32::from(v6.prefix_len());
            let mask = u128::MAX.checked_shr(128 - host_bits).unwrap_or(0);
            let random = u128::from(rng.next()) << 64 | u128::from(rng.next());
            IpAddr::V6(Ipv6Addr::from(u128::from(v6.network()) | (random & mask)))
        }
    }
}

fn hits(rng: &mut SplitMix, nets: &[&IpNet]) -> Vec<IpAddr> {
    (0..PROBES)
        .map(|_| {
            let net = nets[rng.below(nets.len() as u64) as usize];
            random_inside(rng, net)
        })
        .collect()
}

fn misses(
    rng: &mut SplitMix,
    linear: &[IpNet],
    make: impl Fn(&mut SplitMix) -> IpAddr,
) -> Vec<IpAddr> {
    let mut found = Vec::new();
    while found.len() < PROBES {
        let ip = make(rng);
        if !linear.iter().any(|net| net.contains(&ip)) {
            found.push(ip);
        }
    }
    found
}

struct Data {
    allowlist: Allowlist,
    linear: Vec<IpNet>,
    v4_hits: Vec<IpAddr>,
    v4_misses: Vec<IpAddr>,
    v6_hits: Vec<IpAddr>,
    v6_misses: Vec<IpAddr>,
}

fn data() -> Data {
    let mut rng = SplitMix(0x7275_7374_2d32_6661);
    let admin = ActorId::new("bench").unwrap();
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut networks: Vec<Cidr> = (0..ENTRIES)
        .map(|i| {
            if i % 2 == 0 {
                v4_network(&mut rng)
            } else {
                v6_network(&mut rng)
            }
        })
        .collect();
    networks.sort();
    networks.dedup();
    let allowlist = Allowlist::from_entries(
        networks
            .iter()
            .map(|net| NetworkEntry::new(*net, "", admin.clone(), at).unwrap()),
    )
    .unwrap();
    let linear: Vec<IpNet> = networks
        .iter()
        .map(|net| net.to_string().parse().unwrap())
        .collect();
    let v4: Vec<&IpNet> = linear
        .iter()
        .filter(|net| matches!(net, IpNet::V4(_)))
        .collect();
    let v6: Vec<&IpNet> = linear
        .iter()
        .filter(|net| matches!(net, IpNet::V6(_)))
        .collect();
    let v4_hits = hits(&mut rng, &v4);
    let v6_hits = hits(&mut rng, &v6);
    let v4_misses = misses(&mut rng, &linear, |rng| {
        IpAddr::V4(Ipv4Addr::from(rng.next() as u32))
    });
    let v6_misses = misses(&mut rng, &linear, |rng| {
        let bits = (u128::from(rng.next()) << 64 | u128::from(rng.next())) >> 3 | (1 << 125);
        IpAddr::V6(Ipv6Addr::from(bits))
    });
    Data {
        allowlist,
        linear,
        v4_hits,
        v4_misses,
        v6_hits,
        v6_misses,
    }
}

fn lookup(c: &mut Criterion) {
    let data = data();
    let mut group = c.benchmark_group("lookup_100k");
    for (name, probes) in [
        ("v4_hit", &data.v4_hits),
        ("v4_miss", &data.v4_misses),
        ("v6_hit", &data.v6_hits),
        ("v6_miss", &data.v6_misses),
    ] {
        let mut next = 0_usize;
        group.bench_function(format!("index/{name}"), |b| {
            b.iter(|| {
                next = (next + 1) % probes.len();
                black_box(data.allowlist.lookup(black_box(probes[next])).is_some())
            });
        });
        let mut next = 0_usize;
        group.bench_function(format!("linear_ipnet/{name}"), |b| {
            b.iter(|| {
                next = (next + 1) % probes.len();
                let ip = black_box(probes[next]);
                black_box(data.linear.iter().any(|net| net.contains(&ip)))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, lookup);
criterion_main!(benches);
