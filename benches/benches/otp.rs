//! `twofa-otp` against its peers (`totp-rs`, `totp-lite`, `libreauth`) in one
//! process, plus the floor of what an HMAC-SHA-1 code can cost: the two
//! SHA-1 compressions left once the keyed state is cached.
//!
//! Every peer is called the way its documentation shows, with its key
//! prepared once outside the timed loop where its API allows it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark setup: a failure aborts the run, which is what it should do"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use libreauth::hash::HashFunction;
use libreauth::oath::{HOTPBuilder, TOTPBuilder};
use totp_lite::{Sha1, Sha256, Sha512, totp_custom};
use twofa_otp::{
    Algorithm, Hotp, KeyUri, ParseMode, ResyncWindow, Secret, Totp, Window, base32 as twofa_base32,
};

/// RFC 6238 Appendix B seeds: "1234567890" repeated to the hash output length.
fn seed(algorithm: Algorithm) -> Vec<u8> {
    b"1234567890"
        .iter()
        .copied()
        .cycle()
        .take(algorithm.output_len())
        .collect()
}

/// A time from RFC 6238 Appendix B.
const NOW: u64 = 1_111_111_109;
const STEP: u64 = 30;

/// A 32-symbol base32 secret (20 bytes, the SHA-1 seed).
const SECRET_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// A typical key URI with every parameter written out.
const URI: &str = "otpauth://totp/ACME%20Co:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
                   &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30";

fn totp_rs_algorithm(algorithm: Algorithm) -> totp_rs::Algorithm {
    match algorithm {
        Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
        Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
        Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
    }
}

fn libreauth_algorithm(algorithm: Algorithm) -> HashFunction {
    match algorithm {
        Algorithm::Sha1 => HashFunction::Sha1,
        Algorithm::Sha256 => HashFunction::Sha256,
        Algorithm::Sha512 => HashFunction::Sha512,
    }
}

fn totp_lite_code(algorithm: Algorithm, step: u64, secret: &[u8], time: u64) -> String {
    match algorithm {
        Algorithm::Sha1 => totp_custom::<Sha1>(step, 6, secret, time),
        Algorithm::Sha256 => totp_custom::<Sha256>(step, 6, secret, time),
        Algorithm::Sha512 => totp_custom::<Sha512>(step, 6, secret, time),
    }
}

fn totp_rs(secret: &[u8], algorithm: Algorithm, step: u64, skew: u16) -> totp_rs::Totp {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs_algorithm(algorithm))
        .with_digits(6)
        .with_step_duration(step)
        .with_skew(skew)
        .with_secret(secret.to_vec())
        .build()
        .unwrap()
}

fn libreauth_totp(secret: &[u8], algorithm: Algorithm, tolerance: u64) -> libreauth::oath::TOTP {
    TOTPBuilder::new()
        .key(secret)
        .hash_function(libreauth_algorithm(algorithm))
        .timestamp(i64::try_from(NOW).unwrap())
        .tolerance(tolerance)
        .finalize()
        .unwrap()
}

fn twofa_totp(secret: &[u8], algorithm: Algorithm) -> Totp {
    Totp::new(&Secret::from_bytes(secret).unwrap(), algorithm)
}

/// A 6-digit code that matches none of `candidates`.
fn wrong_code(candidates: &[String]) -> String {
    (0..1_000_000_u32)
        .map(|value| format!("{value:06}"))
        .find(|code| !candidates.contains(code))
        .unwrap()
}

fn group_name(operation: &str, algorithm: Algorithm) -> String {
    format!("{operation} {}", algorithm.name())
}

/// One TOTP code at `NOW`.
fn generate(c: &mut Criterion) {
    for algorithm in Algorithm::ALL {
        let secret = seed(algorithm);
        let mut group = c.benchmark_group(group_name("generate", algorithm));

        let twofa = twofa_totp(&secret, algorithm);
        // The peers must agree with twofa before their speed means anything.
        let expected = twofa.generate(NOW).unwrap().expose_secret().to_string();
        let peer = totp_rs(&secret, algorithm, STEP, 0);
        assert_eq!(peer.generate(NOW).to_string(), expected);
        assert_eq!(totp_lite_code(algorithm, STEP, &secret, NOW), expected);
        let libre = libreauth_totp(&secret, algorithm, 0);
        assert_eq!(libre.generate(), expected);

        group.bench_function("twofa-otp", |b| {
            b.iter(|| black_box(&twofa).generate(black_box(NOW)));
        });
        group.bench_function("totp-rs", |b| {
            b.iter(|| black_box(&peer).generate(black_box(NOW)));
        });
        group.bench_function("totp-lite", |b| {
            b.iter(|| totp_lite_code(algorithm, STEP, black_box(&secret), black_box(NOW)));
        });
        group.bench_function("libreauth", |b| {
            b.iter(|| black_box(&libre).generate());
        });
        if algorithm == Algorithm::Sha1 {
            let floor = Floor::new(&secret);
            group.bench_function("floor: 2 SHA-1 compressions", |b| {
                b.iter(|| black_box(&floor).mac(black_box(NOW / STEP)));
            });
        }
        group.finish();
    }
}

/// The floor under any HMAC-SHA-1 of an 8-byte counter: the inner and outer
/// states after the key blocks are cached (RFC 2104 §4 "precomputed"), so
/// each code needs exactly two compressions, one per padded block.
struct Floor {
    inner: [u32; 5],
    outer: [u32; 5],
}

impl Floor {
    /// FIPS 180-4 §5.3.1 initial hash value.
    const H0: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];

    fn new(key: &[u8]) -> Self {
        let mut ipad = [0x36_u8; 64];
        let mut opad = [0x5c_u8; 64];
        for (index, byte) in key.iter().enumerate() {
            ipad[index] ^= byte;
            opad[index] ^= byte;
        }
        let mut inner = Self::H0;
        let mut outer = Self::H0;
        sha1::block_api::compress(&mut inner, &[ipad]);
        sha1::block_api::compress(&mut outer, &[opad]);
        Self { inner, outer }
    }

    fn mac(&self, counter: u64) -> [u32; 5] {
        // Inner block: counter, 0x80, zeros, bit length of key block + 8 bytes.
        let mut block = [0_u8; 64];
        block[..8].copy_from_slice(&counter.to_be_bytes());
        block[8] = 0x80;
        block[56..].copy_from_slice(&((64 + 8) * 8_u64).to_be_bytes());
        let mut inner = self.inner;
        sha1::block_api::compress(&mut inner, &[block]);
        // Outer block: inner digest, 0x80, zeros, bit length of key block + 20 bytes.
        let mut block = [0_u8; 64];
        for (chunk, word) in block[..20].chunks_exact_mut(4).zip(inner) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        block[20] = 0x80;
        block[56..].copy_from_slice(&((64 + 20) * 8_u64).to_be_bytes());
        let mut outer = self.outer;
        sha1::block_api::compress(&mut outer, &[block]);
        outer
    }
}

/// A wrong code against a ±1 step window: every candidate is computed.
fn verify_wrong(c: &mut Criterion) {
    for algorithm in Algorithm::ALL {
        let secret = seed(algorithm);
        let mut group = c.benchmark_group(group_name("verify wrong code ±1", algorithm));

        let twofa = twofa_totp(&secret, algorithm);
        let candidates: Vec<String> = [NOW - STEP, NOW, NOW + STEP]
            .iter()
            .map(|&time| twofa.generate(time).unwrap().expose_secret().to_string())
            .collect();
        let wrong = wrong_code(&candidates);
        let window = Window::default();
        assert!(twofa.verify(&wrong, NOW, None, window).is_err());
        let peer = totp_rs(&secret, algorithm, STEP, 1);
        assert_eq!(peer.check(&wrong, NOW), None);
        assert_eq!(peer.check(&candidates[0], NOW), Some(NOW / STEP - 1));
        let libre = libreauth_totp(&secret, algorithm, 1);
        assert!(!libre.is_valid(&wrong));
        assert!(libre.is_valid(&candidates[2]));

        group.bench_function("twofa-otp", |b| {
            b.iter(|| {
                black_box(&twofa)
                    .verify(black_box(&wrong), black_box(NOW), None, window)
                    .is_ok()
            });
        });
        group.bench_function("totp-rs", |b| {
            b.iter(|| black_box(&peer).check(black_box(&wrong), black_box(NOW)));
        });
        group.bench_function("totp-lite", |b| {
            b.iter(|| {
                let now = black_box(NOW);
                // Compute all three, then compare, as a careful caller would.
                let codes = [now - STEP, now, now + STEP]
                    .map(|time| totp_lite_code(algorithm, STEP, black_box(&secret), time));
                codes
                    .iter()
                    .fold(false, |found, code| found | (*code == wrong))
            });
        });
        group.bench_function("libreauth", |b| {
            b.iter(|| black_box(&libre).is_valid(black_box(&wrong)));
        });
        if algorithm == Algorithm::Sha1 {
            // What computing the window's candidates side by side gains over
            // one after the other.
            let exact = Window::EXACT;
            group.bench_function("twofa-otp: 3 sequential exact-window verifies", |b| {
                b.iter(|| {
                    let totp = black_box(&twofa);
                    let wrong = black_box(wrong.as_str());
                    let now = black_box(NOW);
                    let a = totp.verify(wrong, now - STEP, None, exact).is_ok();
                    let b = totp.verify(wrong, now, None, exact).is_ok();
                    let c = totp.verify(wrong, now + STEP, None, exact).is_ok();
                    a | b | c
                });
            });
            group.bench_function("twofa-otp: 3 generate_at_step", |b| {
                b.iter(|| {
                    let totp = black_box(&twofa);
                    let step = black_box(NOW / STEP);
                    [
                        totp.generate_at_step(step - 1),
                        totp.generate_at_step(step),
                        totp.generate_at_step(step + 1),
                    ]
                });
            });
        }
        group.finish();
    }
}

/// HOTP resynchronisation from two wrong codes: the full 1000-counter window
/// is searched (1001 HMACs).
fn hotp_resync(c: &mut Criterion) {
    let algorithm = Algorithm::Sha1;
    let secret = seed(algorithm);
    let window = ResyncWindow::default();
    let size = u64::from(window.get());
    let mut group = c.benchmark_group("HOTP resync, 1000-counter window, SHA1");

    let twofa = Hotp::new(&Secret::from_bytes(&secret).unwrap(), algorithm);
    let codes: Vec<String> = (0..=size + 1)
        .map(|counter| twofa.generate(counter).expose_secret().to_string())
        .collect();
    let first = wrong_code(&codes);
    let second = wrong_code(&[codes.clone(), vec![first.clone()]].concat());
    assert!(twofa.resync(&first, &second, 0, window).is_err());

    // totp-rs has no HOTP: a 1 s step makes the time the counter, and a skew
    // of 500 around 500 covers counters 0 to 1000.
    let peer = totp_rs(&secret, algorithm, 1, 500);
    assert_eq!(peer.check(&codes[1000], 500), Some(1000));
    assert_eq!(peer.check(&first, 500), None);
    let libre = HOTPBuilder::new()
        .key(&secret)
        .counter(0)
        .finalize()
        .unwrap();
    assert_eq!(libre.generate(), codes[0]);
    assert_eq!(totp_lite_code(algorithm, 1, &secret, 1000), codes[1000]);

    group.bench_function("twofa-otp", |b| {
        b.iter(|| {
            black_box(&twofa)
                .resync(black_box(&first), black_box(&second), 0, window)
                .is_ok()
        });
    });
    group.bench_function("totp-rs", |b| {
        b.iter(|| {
            let peer = black_box(&peer);
            peer.check(black_box(&first), 500)
                .and_then(|counter| peer.check(&second, counter + 1))
        });
    });
    group.bench_function("totp-lite", |b| {
        b.iter(|| {
            let secret = black_box(&secret);
            let mut previous = false;
            let mut found = None;
            for counter in 0..=size + 1 {
                let code = totp_lite_code(algorithm, 1, secret, counter);
                if previous && code == second {
                    found = Some(counter);
                    break;
                }
                previous = counter <= size && code == first;
            }
            found
        });
    });
    group.bench_function("libreauth", |b| {
        b.iter(|| {
            let mut hotp = HOTPBuilder::new()
                .key(black_box(&secret))
                .counter(0)
                .finalize()
                .unwrap();
            let mut previous = false;
            let mut found = None;
            for counter in 0..=size + 1 {
                let code = hotp.generate();
                if previous && code == second {
                    found = Some(counter);
                    break;
                }
                previous = counter <= size && code == first;
                hotp.increment_counter();
            }
            found
        });
    });
    group.finish();
}

/// Decoding a 32-symbol base32 secret.
fn base32_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("base32 decode, 32 symbols");
    let expected = seed(Algorithm::Sha1);
    let mut buffer = [0_u8; Secret::MAX_BYTES];
    let written = twofa_base32::decode_into(SECRET_B32, &mut buffer).unwrap();
    assert_eq!(&buffer[..written], expected.as_slice());
    let alphabet = base32::Alphabet::Rfc4648 { padding: false };
    assert_eq!(base32::decode(alphabet, SECRET_B32).unwrap(), expected);
    assert_eq!(
        totp_rs::Secret::try_from_base32(SECRET_B32)
            .unwrap()
            .as_bytes(),
        expected.as_slice()
    );

    group.bench_function("twofa-otp decode_into", |b| {
        b.iter(|| {
            let mut buffer = [0_u8; Secret::MAX_BYTES];
            let written = twofa_base32::decode_into(black_box(SECRET_B32), &mut buffer);
            black_box(buffer);
            written
        });
    });
    group.bench_function("twofa-otp Secret::from_base32", |b| {
        b.iter(|| Secret::from_base32(black_box(SECRET_B32)));
    });
    group.bench_function("base32 crate (totp-rs, libreauth)", |b| {
        b.iter(|| base32::decode(alphabet, black_box(SECRET_B32)));
    });
    group.bench_function("totp-rs Secret::try_from_base32", |b| {
        b.iter(|| totp_rs::Secret::try_from_base32(black_box(SECRET_B32)));
    });
    group.bench_function("libreauth base32_key", |b| {
        b.iter(|| {
            let mut builder = TOTPBuilder::new();
            builder.base32_key(black_box(SECRET_B32));
            builder
        });
    });
    let mut floor = [0_u8; Secret::MAX_BYTES];
    let floor_written = table_decode(SECRET_B32, &mut floor).unwrap();
    assert_eq!(&floor[..floor_written], expected.as_slice());
    group.bench_function("floor: stack-table decoder", |b| {
        b.iter(|| {
            let mut buffer = [0_u8; Secret::MAX_BYTES];
            let written = table_decode(black_box(SECRET_B32), &mut buffer);
            black_box(buffer);
            written
        });
    });
    group.finish();
}

/// The base32 value of every byte (either case), or `INVALID`: the table
/// a plain decoder looks each symbol up in.
const TABLE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut value: u8 = 0;
    while value < 32 {
        let symbol = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[value as usize];
        table[symbol as usize] = value;
        table[symbol.to_ascii_lowercase() as usize] = value;
        value += 1;
    }
    table
};
const INVALID: u8 = 0xff;

/// The floor of a base32 decoder: a table load per symbol, eight symbols
/// gathered into 40 bits and stored as five bytes, errors folded into one
/// flag. It accepts only whole unpadded groups of upper- or lower-case
/// symbols (no separators, padding, position reporting or check of the
/// unused bits), and its loads are indexed by the secret's characters.
fn table_decode(text: &str, out: &mut [u8]) -> Option<usize> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(8) || bytes.len() / 8 * 5 > out.len() {
        return None;
    }
    let mut invalid = 0_u8;
    for (group, slot) in bytes.chunks_exact(8).zip(out.chunks_exact_mut(5)) {
        let mut bits = 0_u64;
        for &c in group {
            let value = TABLE[usize::from(c)];
            invalid |= value;
            bits = (bits << 5) | u64::from(value & 0x1f);
        }
        slot.copy_from_slice(&bits.to_be_bytes()[3..]);
    }
    (invalid & 0x80 == 0).then_some(bytes.len() / 8 * 5)
}

/// Parsing a key URI into a usable key.
fn uri_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("key URI parse");
    let parsed = KeyUri::parse(URI, ParseMode::Strict).unwrap();
    assert_eq!(parsed.issuer(), Some("ACME Co"));
    let peer = totp_rs::Totp::from_url(URI).unwrap();
    assert_eq!(peer.issuer(), Some("ACME Co"));

    group.bench_function("twofa-otp strict", |b| {
        b.iter(|| KeyUri::parse(black_box(URI), ParseMode::Strict));
    });
    group.bench_function("twofa-otp lenient", |b| {
        b.iter(|| KeyUri::parse(black_box(URI), ParseMode::Lenient));
    });
    group.bench_function("totp-rs from_url", |b| {
        b.iter(|| totp_rs::Totp::from_url(black_box(URI)));
    });
    let floor = floor_parse(URI).unwrap();
    assert_eq!(floor.issuer, "ACME%20Co");
    assert_eq!(floor.account, "alice@example.com");
    assert_eq!(
        &floor.secret[..floor.secret_len],
        seed(Algorithm::Sha1).as_slice()
    );
    assert_eq!(
        (floor.algorithm, floor.digits, floor.period),
        (Algorithm::Sha1, 6, 30)
    );
    group.bench_function("floor: zero-allocation parser", |b| {
        b.iter(|| floor_parse(black_box(URI)));
    });
    group.finish();
}

/// What [`floor_parse`] finds: the text fields as borrowed, still
/// percent-encoded slices, the secret on the stack.
struct FloorKey<'a> {
    issuer: &'a str,
    account: &'a str,
    secret: [u8; Secret::MAX_BYTES],
    secret_len: usize,
    algorithm: Algorithm,
    digits: u8,
    period: u64,
}

/// The floor of a key URI parser: one pass over the text that allocates
/// nothing. It splits the scheme, type, label and query, matches the known
/// parameters, compares the two issuers as raw text, decodes the secret with
/// [`table_decode`] and reads the numbers; it does not percent-decode, check
/// characters or report what was wrong.
fn floor_parse(uri: &str) -> Option<FloorKey<'_>> {
    let rest = uri.strip_prefix("otpauth://totp/")?;
    let (label, query) = rest.split_once('?')?;
    let (issuer, account) = label.split_once(':')?;
    let mut key = FloorKey {
        issuer,
        account,
        secret: [0; Secret::MAX_BYTES],
        secret_len: 0,
        algorithm: Algorithm::Sha1,
        digits: 6,
        period: 30,
    };
    let mut has_secret = false;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=')?;
        match name {
            "secret" => {
                key.secret_len = table_decode(value, &mut key.secret)?;
                has_secret = true;
            }
            "issuer" if value != issuer => return None,
            "algorithm" => {
                key.algorithm = Algorithm::from_name(value).ok()?;
            }
            "digits" => key.digits = value.parse().ok()?,
            "period" => key.period = value.parse().ok()?,
            _ => {}
        }
    }
    has_secret.then_some(key)
}

fn config() -> Criterion {
    // Short runs keep the whole comparison under a few minutes on two cores.
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(900))
        .sample_size(30)
}

criterion_group! {
    name = otp;
    config = config();
    targets = generate, verify_wrong, hotp_resync, base32_decode, uri_parse
}
criterion_main!(otp);
