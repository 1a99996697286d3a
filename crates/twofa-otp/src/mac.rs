//! HMAC (RFC 2104) with a precomputed key schedule, and the HOTP value of
//! RFC 4226 §5.
//!
//! The key is absorbed once, when a [`crate::Totp`] or [`crate::Hotp`] is
//! built: the hash states after compressing `K ^ ipad` and `K ^ opad` are
//! kept. A code then costs exactly two calls of the hash's compression
//! function (from the `sha1`/`sha2` crates): one block holding the padded
//! 8-byte counter from the inner state, one block holding the padded inner
//! hash from the outer state. Both blocks are built on the stack at fixed
//! offsets (the message lengths are constants), so nothing is allocated and
//! no generic buffering runs.
//!
//! Candidates of a window are computed in groups of [`LANES`]: the three
//! inner compressions are issued back to back, then the three outer ones.
//! Within a group the compressions do not depend on each other, so the
//! processor can overlap them instead of waiting for each one to finish.
//!
//! The keyed states are equivalent to the key: they are wiped when the
//! [`Keyed`] value is dropped. Per-candidate copies are overwritten in place
//! by the compression and hold only hash values of the counter afterwards.

use zeroize::Zeroize;

use crate::params::Algorithm;
use crate::secret::Secret;

/// How many candidates are computed as one independent group.
pub(crate) const LANES: usize = 3;

/// RFC 2104 §2: the inner and outer pad bytes.
const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;

/// FIPS 180-4 §5.3.1: SHA-1 initial hash value.
const SHA1_IV: [u32; 5] = [
    0x6745_2301,
    0xefcd_ab89,
    0x98ba_dcfe,
    0x1032_5476,
    0xc3d2_e1f0,
];
/// FIPS 180-4 §5.3.3: SHA-256 initial hash value.
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];
/// FIPS 180-4 §5.3.5: SHA-512 initial hash value.
const SHA512_IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

/// HMAC key schedule for one algorithm: the hash states after the
/// `K ^ ipad` and `K ^ opad` blocks.
#[derive(Clone)]
pub(crate) enum Keyed {
    Sha1 { inner: [u32; 5], outer: [u32; 5] },
    Sha256 { inner: [u32; 8], outer: [u32; 8] },
    Sha512 { inner: [u64; 8], outer: [u64; 8] },
}

impl Drop for Keyed {
    fn drop(&mut self) {
        match self {
            Self::Sha1 { inner, outer } => {
                inner.zeroize();
                outer.zeroize();
            }
            Self::Sha256 { inner, outer } => {
                inner.zeroize();
                outer.zeroize();
            }
            Self::Sha512 { inner, outer } => {
                inner.zeroize();
                outer.zeroize();
            }
        }
    }
}

// RFC 2104 §2 step 1 hashes a key longer than the block size B. A secret
// is at most 64 bytes, which is not longer than any block here (64 bytes for
// SHA-1 and SHA-256, 128 for SHA-512), so keys are only ever zero-padded.
const _: () = assert!(
    Secret::MAX_BYTES <= 64,
    "keys longer than a block would need hashing"
);

/// RFC 2104 §2 steps 1–2 (and 5): the key zero-padded to the block size
/// `B`, XORed with `pad`.
fn padded_key<const B: usize>(key: &[u8], pad: u8) -> [u8; B] {
    let mut block = [pad; B];
    for (byte, k) in block.iter_mut().zip(key) {
        *byte ^= k;
    }
    block
}

impl Keyed {
    /// Absorbs the key: compresses `K ^ ipad` and `K ^ opad` from the
    /// initial hash value (RFC 2104 §2 steps 1–2 and 5, precomputed).
    pub(crate) fn new(secret: &Secret, algorithm: Algorithm) -> Self {
        let key = secret.expose_secret();
        match algorithm {
            Algorithm::Sha1 => {
                let mut ipad = padded_key::<64>(key, IPAD);
                let mut opad = padded_key::<64>(key, OPAD);
                let (mut inner, mut outer) = (SHA1_IV, SHA1_IV);
                sha1::block_api::compress(&mut inner, core::slice::from_ref(&ipad));
                sha1::block_api::compress(&mut outer, core::slice::from_ref(&opad));
                ipad.zeroize();
                opad.zeroize();
                Self::Sha1 { inner, outer }
            }
            Algorithm::Sha256 => {
                let mut ipad = padded_key::<64>(key, IPAD);
                let mut opad = padded_key::<64>(key, OPAD);
                let (mut inner, mut outer) = (SHA256_IV, SHA256_IV);
                sha2::block_api::compress256(&mut inner, core::slice::from_ref(&ipad));
                sha2::block_api::compress256(&mut outer, core::slice::from_ref(&opad));
                ipad.zeroize();
                opad.zeroize();
                Self::Sha256 { inner, outer }
            }
            Algorithm::Sha512 => {
                let mut ipad = padded_key::<128>(key, IPAD);
                let mut opad = padded_key::<128>(key, OPAD);
                let (mut inner, mut outer) = (SHA512_IV, SHA512_IV);
                sha2::block_api::compress512(&mut inner, core::slice::from_ref(&ipad));
                sha2::block_api::compress512(&mut outer, core::slice::from_ref(&opad));
                ipad.zeroize();
                opad.zeroize();
                Self::Sha512 { inner, outer }
            }
        }
    }

    /// The 31-bit dynamically truncated HMAC of `counter`
    /// (RFC 4226 §5.3 steps 1–2: `Snum = StToNum(DT(HMAC(K, C)))`).
    #[inline]
    pub(crate) fn truncated(&self, counter: u64) -> u32 {
        let [value] = self.truncated_group([counter]);
        value
    }

    /// [`Keyed::truncated`] of [`LANES`] independent counters.
    #[inline]
    pub(crate) fn truncated_lanes(&self, counters: [u64; LANES]) -> [u32; LANES] {
        self.truncated_group(counters)
    }

    #[inline(always)]
    fn truncated_group<const N: usize>(&self, counters: [u64; N]) -> [u32; N] {
        let mut values = [0u32; N];
        match self {
            Self::Sha1 { inner, outer } => {
                let tags = hmac_group::<5, 20, N>(inner, outer, &counters, |s, b| {
                    sha1::block_api::compress(s, core::slice::from_ref(b));
                });
                for (value, tag) in values.iter_mut().zip(&tags) {
                    *value = truncate_words32(tag);
                }
            }
            Self::Sha256 { inner, outer } => {
                let tags = hmac_group::<8, 32, N>(inner, outer, &counters, |s, b| {
                    sha2::block_api::compress256(s, core::slice::from_ref(b));
                });
                for (value, tag) in values.iter_mut().zip(&tags) {
                    *value = truncate_words32(tag);
                }
            }
            Self::Sha512 { inner, outer } => {
                let tags = hmac512_group::<N>(inner, outer, &counters);
                for (value, tag) in values.iter_mut().zip(&tags) {
                    *value = truncate_words64(tag);
                }
            }
        }
        values
    }

    /// The full HMAC of `counter`, for the RFC 4226 Appendix D
    /// intermediate-value tests.
    #[cfg(test)]
    pub(crate) fn full(&self, counter: u64, out: &mut [u8]) -> usize {
        match self {
            Self::Sha1 { inner, outer } => {
                let [tag] = hmac_group::<5, 20, 1>(inner, outer, &[counter], |s, b| {
                    sha1::block_api::compress(s, core::slice::from_ref(b));
                });
                for (chunk, word) in out.chunks_exact_mut(4).zip(tag) {
                    chunk.copy_from_slice(&word.to_be_bytes());
                }
                20
            }
            Self::Sha256 { inner, outer } => {
                let [tag] = hmac_group::<8, 32, 1>(inner, outer, &[counter], |s, b| {
                    sha2::block_api::compress256(s, core::slice::from_ref(b));
                });
                for (chunk, word) in out.chunks_exact_mut(4).zip(tag) {
                    chunk.copy_from_slice(&word.to_be_bytes());
                }
                32
            }
            Self::Sha512 { inner, outer } => {
                let [tag] = hmac512_group::<1>(inner, outer, &[counter]);
                for (chunk, word) in out.chunks_exact_mut(8).zip(tag) {
                    chunk.copy_from_slice(&word.to_be_bytes());
                }
                64
            }
        }
    }
}

/// Writes the FIPS 180-4 §5.1.1 padding of a message whose last block
/// holds `data_len` bytes and whose total length is `total_len` bytes:
/// `0x80`, zeros (already there), and the bit length in the last 8 bytes.
#[inline(always)]
fn pad_64(block: &mut [u8; 64], data_len: usize, total_len: u64) {
    if let Some(marker) = block.get_mut(data_len) {
        *marker = 0x80;
    }
    if let Some(length) = block.get_mut(56..) {
        length.copy_from_slice(&total_len.saturating_mul(8).to_be_bytes());
    }
}

/// HMAC of `N` counters with a 32-bit-word hash of 64-byte blocks (SHA-1,
/// SHA-256): `W` state words, `T`-byte output. Returns the outer hash
/// states, which are the tags as big-endian words.
#[inline(always)]
fn hmac_group<const W: usize, const T: usize, const N: usize>(
    inner: &[u32; W],
    outer: &[u32; W],
    counters: &[u64; N],
    compress: impl Fn(&mut [u32; W], &[u8; 64]),
) -> [[u32; W]; N] {
    // RFC 2104 §2 steps 3–4: H(K ^ ipad || counter), the key block already
    // compressed; the message is 64 + 8 bytes long.
    let mut blocks = [[0u8; 64]; N];
    for (block, counter) in blocks.iter_mut().zip(counters) {
        if let Some(head) = block.get_mut(..8) {
            head.copy_from_slice(&counter.to_be_bytes());
        }
        pad_64(block, 8, 64 + 8);
    }
    let mut states = [*inner; N];
    // The inner compressions of all lanes, back to back.
    for (state, block) in states.iter_mut().zip(&blocks) {
        compress(state, block);
    }
    // Steps 6–7: H(K ^ opad || inner hash); the message is 64 + T bytes.
    let mut blocks = [[0u8; 64]; N];
    for (block, state) in blocks.iter_mut().zip(&states) {
        for (chunk, word) in block.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        // T is 20 or 32; the conversion cannot fail.
        let total = u64::try_from(T).unwrap_or(0).wrapping_add(64);
        pad_64(block, T, total);
    }
    let mut tags = [*outer; N];
    // Then the outer compressions, back to back.
    for (state, block) in tags.iter_mut().zip(&blocks) {
        compress(state, block);
    }
    tags
}

/// HMAC-SHA-512 of `N` counters (128-byte blocks, 128-bit length field,
/// FIPS 180-4 §5.1.2). Returns the outer hash states.
#[inline(always)]
fn hmac512_group<const N: usize>(
    inner: &[u64; 8],
    outer: &[u64; 8],
    counters: &[u64; N],
) -> [[u64; 8]; N] {
    let mut blocks = [[0u8; 128]; N];
    for (block, counter) in blocks.iter_mut().zip(counters) {
        if let Some(head) = block.get_mut(..8) {
            head.copy_from_slice(&counter.to_be_bytes());
        }
        pad_128(block, 8, 128 + 8);
    }
    let mut states = [*inner; N];
    for (state, block) in states.iter_mut().zip(&blocks) {
        sha2::block_api::compress512(state, core::slice::from_ref(block));
    }
    let mut blocks = [[0u8; 128]; N];
    for (block, state) in blocks.iter_mut().zip(&states) {
        for (chunk, word) in block.chunks_exact_mut(8).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        pad_128(block, 64, 128 + 64);
    }
    let mut tags = [*outer; N];
    for (state, block) in tags.iter_mut().zip(&blocks) {
        sha2::block_api::compress512(state, core::slice::from_ref(block));
    }
    tags
}

/// [`pad_64`] for 128-byte blocks; the high 64 bits of the 128-bit length
/// are zero.
#[inline(always)]
fn pad_128(block: &mut [u8; 128], data_len: usize, total_len: u64) {
    if let Some(marker) = block.get_mut(data_len) {
        *marker = 0x80;
    }
    if let Some(length) = block.get_mut(120..) {
        length.copy_from_slice(&total_len.saturating_mul(8).to_be_bytes());
    }
}

/// [`dynamic_truncation`] of a tag given as big-endian 32-bit words.
///
/// Reads the two words holding the 4 selected bytes and shifts, rather than
/// serializing the tag to bytes first.
#[inline(always)]
fn truncate_words32<const W: usize>(words: &[u32; W]) -> u32 {
    let last = words.last().copied().unwrap_or(0);
    let offset = last.to_be_bytes()[3] & 0x0f;
    // offset <= 15, so index + 1 <= 4 < W.
    let index = usize::from(offset >> 2);
    let high = u64::from(words.get(index).copied().unwrap_or(0));
    let low = u64::from(words.get(index.wrapping_add(1)).copied().unwrap_or(0));
    let shift = 32u32.wrapping_sub(8u32.wrapping_mul(u32::from(offset & 3)));
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the low 32 bits are the selected bytes"
    )]
    let selected = (((high << 32) | low) >> shift) as u32;
    selected & 0x7fff_ffff
}

/// [`dynamic_truncation`] of a tag given as big-endian 64-bit words.
#[inline(always)]
fn truncate_words64(words: &[u64; 8]) -> u32 {
    let last = words.last().copied().unwrap_or(0);
    let offset = last.to_be_bytes()[7] & 0x0f;
    let index = usize::from(offset >> 3);
    let high = u128::from(words.get(index).copied().unwrap_or(0));
    let low = u128::from(words.get(index.wrapping_add(1)).copied().unwrap_or(0));
    let shift = 96u32.wrapping_sub(8u32.wrapping_mul(u32::from(offset & 7)));
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the low 32 bits are the selected bytes"
    )]
    let selected = (((high << 64) | low) >> shift) as u32;
    selected & 0x7fff_ffff
}

/// RFC 4226 §5.3 dynamic truncation, on bytes: the low 4 bits of the last byte select
/// 4 bytes, whose top bit is cleared (§5.3: avoids signed/unsigned
/// ambiguity).
///
/// For SHA-256 and SHA-512 the offset is taken from the last byte of the
/// longer output, as RFC 6238 Appendix A's reference code does.
#[cfg(test)]
fn dynamic_truncation(tag: &[u8]) -> u32 {
    let offset = tag.last().map_or(0, |last| usize::from(last & 0x0f));
    // offset <= 15 and every tag has at least 20 bytes, so the 4 bytes exist.
    let mut word = [0u8; 4];
    if let Some(bytes) = tag.get(offset..offset.wrapping_add(4)) {
        word.copy_from_slice(bytes);
    }
    u32::from_be_bytes(word) & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4226 Appendix D: the secret "12345678901234567890", the HMAC-SHA-1
    /// of counters 0–9 and their truncated values (decimal).
    const APPENDIX_D: [(&str, u32); 10] = [
        ("cc93cf18508d94934c64b65d8ba7667fb7cde4b0", 1_284_755_224),
        ("75a48a19d4cbe100644e8ac1397eea747a2d33ab", 1_094_287_082),
        ("0bacb7fa082fef30782211938bc1c5e70416ff44", 137_359_152),
        ("66c28227d03a2d5529262ff016a1e6ef76557ece", 1_726_969_429),
        ("a904c900a64b35909874b33e61c5938a8e15ed1c", 1_640_338_314),
        ("a37e783d7b7233c083d4f62926c7a25f238d0316", 868_254_676),
        ("bc9cd28561042c83f219324d3c607256c03272ae", 1_918_287_922),
        ("a4fb960c0bc06e1eabb804e5b397cdc4b45596fa", 82_162_583),
        ("1b3c89f65e6c9e883012052823443f048b4332db", 673_399_871),
        ("1637409809a679dc698207310c8c7fc07290d9e5", 645_520_489),
    ];

    fn hex(text: &str) -> [u8; 20] {
        let mut out = [0u8; 20];
        for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
            *byte = u8::from_str_radix(core::str::from_utf8(pair).unwrap(), 16).unwrap();
        }
        out
    }

    #[test]
    fn rfc4226_appendix_d_intermediate_values() {
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        let keyed = Keyed::new(&secret, Algorithm::Sha1);
        for (counter, (hmac_hex, truncated)) in APPENDIX_D.iter().enumerate() {
            let counter = counter as u64;
            let mut out = [0u8; 64];
            let len = keyed.full(counter, &mut out);
            assert_eq!(&out[..len], &hex(hmac_hex), "HMAC at counter {counter}");
            assert_eq!(
                dynamic_truncation(&out[..len]),
                *truncated,
                "truncation at {counter}"
            );
            assert_eq!(keyed.truncated(counter), *truncated);
            // A tampered HMAC (one bit flipped in the selected bytes) gives
            // another value.
            let mut tampered = hex(hmac_hex);
            let offset = usize::from(tampered[19] & 0x0f);
            tampered[offset + 3] ^= 1;
            assert_ne!(dynamic_truncation(&tampered), *truncated);
        }
    }

    #[test]
    fn word_truncation_equals_byte_truncation() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let w32: [u32; 8] = core::array::from_fn(|_| {
                next().to_be_bytes()[0..4]
                    .try_into()
                    .map(u32::from_be_bytes)
                    .unwrap()
            });
            let mut bytes = [0u8; 32];
            for (chunk, word) in bytes.chunks_exact_mut(4).zip(w32) {
                chunk.copy_from_slice(&word.to_be_bytes());
            }
            assert_eq!(truncate_words32(&w32), dynamic_truncation(&bytes));
            let w5: [u32; 5] = core::array::from_fn(|i| w32[i]);
            assert_eq!(truncate_words32(&w5), dynamic_truncation(&bytes[..20]));
            let w64: [u64; 8] = core::array::from_fn(|_| next());
            let mut bytes = [0u8; 64];
            for (chunk, word) in bytes.chunks_exact_mut(8).zip(w64) {
                chunk.copy_from_slice(&word.to_be_bytes());
            }
            assert_eq!(truncate_words64(&w64), dynamic_truncation(&bytes));
        }
    }

    #[test]
    fn lanes_equal_single_computations() {
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        for algorithm in Algorithm::ALL {
            let keyed = Keyed::new(&secret, algorithm);
            let counters = [0, u64::MAX, 1 << 40];
            let lanes = keyed.truncated_lanes(counters);
            for (value, counter) in lanes.iter().zip(counters) {
                assert_eq!(*value, keyed.truncated(counter));
            }
        }
    }

    #[test]
    fn rfc4226_section_5_4_example_truncation() {
        // RFC 4226 §5.4: the example HMAC and its truncation 0x50ef7f19.
        let tag = [
            0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19,
            0xda, 0x8e, 0x94, 0x5b, 0x55, 0x5a,
        ];
        assert_eq!(dynamic_truncation(&tag), 0x50ef_7f19);
    }
}
