//! Byte-wise arithmetic on 64-bit words (SWAR, "SIMD within a register"):
//! eight bytes classified or searched at once, without tables and without
//! `unsafe`.

/// `0x01` in every byte of a word.
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte of a word.
pub(crate) const HIGHS: u64 = 0x8080_8080_8080_8080;

/// In each byte of `word` (every byte below `0x80`), `0x80` if the byte is
/// at least `lo`, else 0. Adding `0x80 - lo` to a byte below `0x80` sets its
/// top bit exactly when it is at least `lo`, and never carries into the
/// next byte.
#[inline(always)]
pub(crate) const fn at_least(word: u64, lo: u8) -> u64 {
    word.wrapping_add(ONES.wrapping_mul(0x80_u8.wrapping_sub(lo) as u64)) & HIGHS
}

/// In each byte of `word` (every byte below `0x80`), `0x80` if the byte is
/// above `hi`, else 0 (as [`at_least`], adding `0x7f - hi`).
#[inline(always)]
pub(crate) const fn above(word: u64, hi: u8) -> u64 {
    word.wrapping_add(ONES.wrapping_mul(0x7f_u8.wrapping_sub(hi) as u64)) & HIGHS
}

/// The index of the first `needle` in `bytes`, eight bytes at a time.
///
/// `x - 0x01..` borrows through a byte exactly when it is zero, so
/// `(x - ONES) & !x & HIGHS` flags the zero bytes of `x = word ^ needle..`;
/// a borrow can only flag extra bytes above a true zero, so the lowest flag
/// (the first byte, in little-endian order) is exact.
#[cfg(feature = "alloc")]
#[inline]
pub(crate) fn find_byte(bytes: &[u8], needle: u8) -> Option<usize> {
    let pattern = ONES.wrapping_mul(u64::from(needle));
    let (words, tail) = bytes.as_chunks::<8>();
    let mut offset = 0_usize;
    for word in words {
        let x = u64::from_le_bytes(*word) ^ pattern;
        let zeros = x.wrapping_sub(ONES) & !x & HIGHS;
        if zeros != 0 {
            // trailing_zeros() / 8 < 8: no overflow.
            return Some(offset.wrapping_add((zeros.trailing_zeros() / 8) as usize));
        }
        offset = offset.wrapping_add(8);
    }
    let found = tail.iter().position(|&b| b == needle)?;
    Some(offset.wrapping_add(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_matches_comparison() {
        for lo in 1..=0x7f_u8 {
            for b in 0..0x80_u8 {
                let word = u64::from_le_bytes([b, 0x7f, 0, b, 0x41, b, 1, b]);
                let expect = |hit: bool| if hit { 0x80 } else { 0 };
                let ge = at_least(word, lo).to_le_bytes();
                let gt = above(word, lo).to_le_bytes();
                for (index, byte) in word.to_le_bytes().into_iter().enumerate() {
                    assert_eq!(ge[index], expect(byte >= lo), "{byte} >= {lo}");
                    assert_eq!(gt[index], expect(byte > lo), "{byte} > {lo}");
                }
            }
        }
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn find_byte_matches_position() {
        let text: [u8; 40] = core::array::from_fn(|i| b"ab&c=d&&"[i % 8]);
        for start in 0..text.len() {
            for end in start..=text.len() {
                let slice = &text[start..end];
                for needle in [b'&', b'=', b'a', b'z', 0, 0xff] {
                    assert_eq!(
                        find_byte(slice, needle),
                        slice.iter().position(|&b| b == needle),
                        "{slice:?} {needle}"
                    );
                }
            }
        }
        // A byte one above the needle after a match: the borrow must not
        // flag an earlier byte.
        assert_eq!(find_byte(b"\x01\x00\x01\x01\x01\x01\x01\x01", 0), Some(1));
        assert_eq!(find_byte(b"xxxxxxx&xxxxxxx&", b'&'), Some(7));
    }
}
