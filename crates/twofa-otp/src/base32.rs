//! Base32 (RFC 4648 §6) as authenticator apps use it for secrets.
//!
//! Encoding is upper case without padding, as Google's Key Uri Format
//! expects. Decoding is forgiving about presentation and strict about
//! content:
//!
//! - letters in either case; spaces and hyphens anywhere (people copy
//!   secrets grouped as `JBSW Y3DP` or `JBSW-Y3DP`) are ignored;
//! - `=` padding is accepted only at the end, in any amount (separators
//!   may still follow it);
//! - anything else is refused with its character position;
//! - a length no whole number of bytes produces (1, 3 or 6 symbols in the
//!   last group) is refused;
//! - non-zero unused bits in the last symbol are refused (RFC 4648 §3.5), so
//!   one byte string has exactly one accepted spelling up to case,
//!   separators and padding.
//!
//! The symbol value is computed with branch-free arithmetic rather than a
//! lookup table, so no memory access depends on a secret character. Branches
//! depend only on the presentation (separators, padding, errors).

#[cfg(feature = "alloc")]
use alloc::string::String;

use crate::error::Base32Error;
use crate::swar::{HIGHS, ONES, above, at_least};

/// The RFC 4648 base32 alphabet.
#[cfg(test)]
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The value of `c` if `lo <= c <= hi`, plus `offset + 1`, else 0.
///
/// Branch-free: `(lo - 1 - c) & (c - hi - 1)` is negative exactly when `c` is
/// in the range, and an arithmetic shift turns the sign into a mask.
#[inline(always)]
const fn in_range(c: i16, lo: i16, hi: i16, offset: i16) -> i16 {
    let below = lo.wrapping_sub(1).wrapping_sub(c);
    let above = c.wrapping_sub(hi).wrapping_sub(1);
    let mask = (below & above) >> 8;
    mask & c.wrapping_sub(lo).wrapping_add(offset).wrapping_add(1)
}

/// The 5-bit value of an alphabet character (either case), or -1.
#[inline(always)]
const fn symbol_value(c: u8) -> i16 {
    let c = c as i16;
    let mut value: i16 = -1;
    value = value.wrapping_add(in_range(c, b'A' as i16, b'Z' as i16, 0));
    value = value.wrapping_add(in_range(c, b'a' as i16, b'z' as i16, 0));
    value = value.wrapping_add(in_range(c, b'2' as i16, b'7' as i16, 26));
    value
}

/// The character position of byte offset `index` in `text` (error path
/// only: positions are reported in characters, not bytes).
fn char_position(text: &str, index: usize) -> usize {
    text.get(..index).map_or(index, |head| head.chars().count())
}

/// Decodes base32 `text` into `out` and returns the number of bytes
/// written.
///
/// Nothing is allocated; bytes past the returned length are left as they
/// were, and on error `out` may hold a partial result, which the caller
/// should wipe if it is secret.
///
/// # Errors
///
/// Any [`Base32Error`]; positions are character positions in `text`.
///
/// # Example
///
/// ```
/// let mut out = [0u8; 16];
/// let n = twofa_otp::base32::decode_into("mzxw 6ytb-oi", &mut out)?;
/// assert_eq!(&out[..n], b"foobar");
/// # Ok::<(), twofa_otp::Base32Error>(())
/// ```
pub fn decode_into(text: &str, out: &mut [u8]) -> Result<usize, Base32Error> {
    let bytes = text.as_bytes();
    // Fast path: whole groups of 8 alphabet symbols (40 bits, 5 bytes) with
    // no separator or padding, which is what machines emit, decoded 8 at a
    // time in a 64-bit word. The first group that holds anything else, and
    // the tail, go to the general loop.
    let mut written: usize = 0;
    let mut consumed: usize = 0;
    let capacity = out.len();
    let (groups, _) = bytes.as_chunks::<8>();
    for group in groups {
        let Some(bits) = decode_group(u64::from_le_bytes(*group)) else {
            break;
        };
        let end = written.wrapping_add(5);
        let slot = out
            .get_mut(written..end)
            .ok_or(Base32Error::TooLong { capacity })?;
        slot.copy_from_slice(bits.to_be_bytes().get(3..).unwrap_or(&[0; 5]));
        written = end;
        consumed = consumed.wrapping_add(8);
    }
    if consumed == bytes.len() {
        // Only whole groups: no padding, no partial quantum, no unused bits.
        return Ok(written);
    }
    decode_general(text, consumed, out, written)
}

/// Decodes eight symbols, the bytes of `word` in little-endian order, to
/// their 40 bits (the first symbol in the highest bits), or `None` if any
/// byte is not an alphabet character.
///
/// Every byte is classified and converted at once with word arithmetic
/// (SWAR): no table, and no branch except the final one on whether the whole
/// group is valid, as in [`symbol_value`].
#[inline(always)]
const fn decode_group(word: u64) -> Option<u64> {
    let ascii = word & !HIGHS;
    // Setting bit 5 maps `A..=Z` onto `a..=z`; no other byte lands there.
    let folded = ascii | (ONES.wrapping_mul(0x20));
    let letters = at_least(folded, b'a') & !above(folded, b'z');
    // Digits are tested unfolded: folding would map controls onto them.
    let digits = at_least(ascii, b'2') & !above(ascii, b'7');
    if (letters | digits) & !word != HIGHS {
        return None;
    }
    // A letter's value is `folded - 'a'`, a digit's `folded - '2' + 26`
    // (folding leaves digits as they are): subtract `'a'` everywhere and add
    // the difference back on the digits. Setting each top bit first keeps
    // every byte from borrowing from its neighbour; the low 5 bits are the
    // value.
    let values = (folded | HIGHS)
        .wrapping_sub(ONES.wrapping_mul(b'a' as u64))
        .wrapping_add((digits >> 7).wrapping_mul(b'a'.wrapping_sub(b'2').wrapping_add(26) as u64))
        & ONES.wrapping_mul(0x1f);
    // Pack the eight 5-bit values, first symbol first: pairs into 10 bits,
    // then fours into 20, then all eight into 40.
    let pairs = ((values & 0x00ff_00ff_00ff_00ff) << 5) | ((values >> 8) & 0x00ff_00ff_00ff_00ff);
    let fours = ((pairs & 0x0000_ffff_0000_ffff) << 10) | ((pairs >> 16) & 0x0000_ffff_0000_ffff);
    Some(((fours & 0xffff_ffff) << 20) | (fours >> 32))
}

/// The symbol-by-symbol decoder, from byte offset `start` of `text` (a
/// multiple of 8 symbols, all already decoded into `out[..written]`).
fn decode_general(
    text: &str,
    start: usize,
    out: &mut [u8],
    mut written: usize,
) -> Result<usize, Base32Error> {
    let bytes = text.as_bytes();
    let mut accumulator: u32 = 0;
    let mut bits: u32 = 0;
    let mut symbols: usize = start;
    let mut last_symbol_index: usize = start;
    let mut padding_start: Option<usize> = None;
    let capacity = out.len();

    for (index, &c) in bytes.iter().enumerate().skip(start) {
        let value = symbol_value(c);
        if let Some(pad) = padding_start {
            // RFC 4648 §3.2: padding only ends the text. Separators may
            // follow it (a pasted secret often ends in a space).
            if !matches!(c, b'=' | b' ' | b'-') {
                return Err(Base32Error::MisplacedPadding {
                    position: char_position(text, pad),
                });
            }
            continue;
        }
        if value < 0 {
            match c {
                b' ' | b'-' => continue,
                b'=' => {
                    padding_start = Some(index);
                    continue;
                }
                _ => {
                    return Err(Base32Error::InvalidCharacter {
                        position: char_position(text, index),
                    });
                }
            }
        }
        // Keep at most 12 bits: 7 pending plus 5 new.
        accumulator = ((accumulator << 5) | u32::from(value.to_le_bytes()[0] & 0x1f)) & 0xfff;
        bits = bits.wrapping_add(5);
        symbols = symbols.wrapping_add(1);
        last_symbol_index = index;
        if bits >= 8 {
            bits = bits.wrapping_sub(8);
            let slot = out
                .get_mut(written)
                .ok_or(Base32Error::TooLong { capacity })?;
            *slot = (accumulator >> bits).to_le_bytes()[0];
            written = written.wrapping_add(1);
        }
    }

    // RFC 4648 §6: a final quantum has 2, 4, 5 or 7 symbols (8, 16, 24 or 32
    // bits); 1, 3 or 6 symbols cannot come from whole bytes.
    if matches!(symbols % 8, 1 | 3 | 6) {
        return Err(Base32Error::InvalidLength { symbols });
    }
    // RFC 4648 §3.5: the unused bits of the last symbol must be zero.
    let unused_mask = (1u32 << bits).wrapping_sub(1);
    if accumulator & unused_mask != 0 {
        return Err(Base32Error::NonCanonical {
            position: char_position(text, last_symbol_index),
        });
    }
    Ok(written)
}

/// The number of characters [`encode`] produces for `len` bytes, or `None`
/// if that overflows `usize`.
#[must_use]
pub const fn encoded_len(len: usize) -> Option<usize> {
    // ceil(len * 8 / 5)
    match len.checked_mul(8) {
        Some(bits) => Some(bits.div_ceil(5)),
        None => None,
    }
}

/// Writes the unpadded upper-case base32 encoding of `bytes` to `out`.
///
/// # Errors
///
/// Whatever `out` returns.
pub fn encode_to<W: core::fmt::Write + ?Sized>(bytes: &[u8], out: &mut W) -> core::fmt::Result {
    let mut accumulator: u32 = 0;
    let mut bits: u32 = 0;
    for &byte in bytes {
        accumulator = ((accumulator << 8) | u32::from(byte)) & 0xfff;
        bits = bits.wrapping_add(8);
        while bits >= 5 {
            bits = bits.wrapping_sub(5);
            out.write_char(alphabet_char(accumulator >> bits))?;
        }
    }
    if bits > 0 {
        out.write_char(alphabet_char(accumulator << 5u32.wrapping_sub(bits)))?;
    }
    Ok(())
}

/// The alphabet character for the low 5 bits of `value`, chosen without a
/// secret-dependent memory access.
#[inline(always)]
fn alphabet_char(value: u32) -> char {
    // 'A' + v for v < 26, '2' + (v - 26) otherwise; the correction is
    // selected by a mask so the output does not index a table.
    let v = value & 0x1f;
    let is_digit = 0u32.wrapping_sub(u32::from(v >= 26));
    let c = (u32::from(b'A').wrapping_add(v) & !is_digit)
        | (u32::from(b'2').wrapping_add(v).wrapping_sub(26) & is_digit);
    char::from_u32(c).unwrap_or('A')
}

/// The unpadded upper-case base32 encoding of `bytes`.
///
/// # Example
///
/// ```
/// assert_eq!(twofa_otp::base32::encode(b"foobar"), "MZXW6YTBOI");
/// ```
#[cfg(feature = "alloc")]
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(bytes.len()).unwrap_or(0));
    // Writing to a String cannot fail.
    let _ = encode_to(bytes, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4648 §10 test vectors.
    const RFC4648: &[(&[u8], &str)] = &[
        (b"", ""),
        (b"f", "MY"),
        (b"fo", "MZXQ"),
        (b"foo", "MZXW6"),
        (b"foob", "MZXW6YQ"),
        (b"fooba", "MZXW6YTB"),
        (b"foobar", "MZXW6YTBOI"),
    ];

    fn decode(text: &str) -> Result<([u8; 64], usize), Base32Error> {
        let mut out = [0u8; 64];
        let n = decode_into(text, &mut out)?;
        Ok((out, n))
    }

    #[test]
    fn rfc4648_vectors_decode_and_encode() {
        for &(bytes, text) in RFC4648 {
            let (out, n) = decode(text).unwrap();
            assert_eq!(&out[..n], bytes, "{text}");
            let mut s = heapless_string();
            encode_to(bytes, &mut s).unwrap();
            assert_eq!(s.as_str(), text);
        }
    }

    #[test]
    fn rfc4648_padded_vectors_decode() {
        for (bytes, text) in [
            (&b"f"[..], "MY======"),
            (b"fo", "MZXQ===="),
            (b"foo", "MZXW6==="),
            (b"foob", "MZXW6YQ="),
        ] {
            let (out, n) = decode(text).unwrap();
            assert_eq!(&out[..n], bytes);
        }
    }

    #[test]
    fn symbol_values_match_the_alphabet() {
        for c in 0u8..=255 {
            let expected = ALPHABET
                .iter()
                .position(|&a| a == c.to_ascii_uppercase())
                .map_or(-1, |p| i16::try_from(p).unwrap());
            assert_eq!(symbol_value(c), expected, "byte {c}");
        }
        for v in 0..32u32 {
            assert_eq!(alphabet_char(v) as u32, u32::from(ALPHABET[v as usize]));
        }
    }

    #[test]
    fn word_decoding_matches_symbol_values() {
        // Every byte value at every position of a group of `A`s (value 0):
        // the group decodes exactly when the byte is a symbol, to its value
        // at that position.
        for position in 0..8 {
            for c in 0u8..=255 {
                let mut group = [b'A'; 8];
                group[position] = c;
                let decoded = decode_group(u64::from_le_bytes(group));
                let value = symbol_value(c);
                if value < 0 {
                    assert_eq!(decoded, None, "byte {c} at {position}");
                } else {
                    let shift = 5 * (7 - position);
                    assert_eq!(
                        decoded,
                        Some(u64::try_from(value).unwrap() << shift),
                        "byte {c} at {position}"
                    );
                }
            }
        }
        // All symbols in all positions, against the symbol-by-symbol sum.
        for start in 0..32 {
            let group: [u8; 8] = core::array::from_fn(|i| {
                let symbol = ALPHABET[(start + 5 * i) % 32];
                if i % 2 == 0 {
                    symbol.to_ascii_lowercase()
                } else {
                    symbol
                }
            });
            let expected = group.iter().fold(0u64, |bits, &c| {
                (bits << 5) | u64::try_from(symbol_value(c)).unwrap()
            });
            assert_eq!(decode_group(u64::from_le_bytes(group)), Some(expected));
        }
    }

    #[test]
    fn rejections_carry_positions() {
        assert_eq!(
            decode("MZ!W"),
            Err(Base32Error::InvalidCharacter { position: 2 })
        );
        // A multi-byte character counts as one position.
        assert_eq!(
            decode("é1"),
            Err(Base32Error::InvalidCharacter { position: 0 })
        );
        assert_eq!(
            decode("MZ=XQ"),
            Err(Base32Error::MisplacedPadding { position: 2 })
        );
        assert_eq!(
            decode("MZ== X"),
            Err(Base32Error::MisplacedPadding { position: 2 })
        );
        // Separators after the padding are presentation, like before it.
        let f = decode("MY").unwrap();
        assert_eq!(f.1, 1);
        assert_eq!(decode("MY====== "), Ok(f));
        assert_eq!(decode("MY== -="), Ok(f));
        assert_eq!(decode("MY "), Ok(f));
        assert_eq!(decode("M"), Err(Base32Error::InvalidLength { symbols: 1 }));
        assert_eq!(
            decode("MZX"),
            Err(Base32Error::InvalidLength { symbols: 3 })
        );
        // "MY" is canonical for "f"; "M3" sets an unused bit.
        assert_eq!(decode("M3"), Err(Base32Error::NonCanonical { position: 1 }));
        let mut small = [0u8; 2];
        assert_eq!(
            decode_into("MZXW6", &mut small),
            Err(Base32Error::TooLong { capacity: 2 })
        );
        let mut five = [0u8; 5];
        assert_eq!(decode_into("MZXW6YTB", &mut five), Ok(5));
        assert_eq!(
            decode_into("MZXW6YTBOI", &mut five),
            Err(Base32Error::TooLong { capacity: 5 })
        );
        let mut four = [0u8; 4];
        assert_eq!(
            decode_into("MZXW6YTB", &mut four),
            Err(Base32Error::TooLong { capacity: 4 })
        );
        // Errors after a fast-path group keep their positions.
        assert_eq!(
            decode("MZXW6YTBO!"),
            Err(Base32Error::InvalidCharacter { position: 9 })
        );
        assert_eq!(
            decode("MZXW6YTBM3"),
            Err(Base32Error::NonCanonical { position: 9 })
        );
        assert_eq!(
            decode("MZXW6YTBM"),
            Err(Base32Error::InvalidLength { symbols: 9 })
        );
        assert_eq!(
            decode("MZXW6YT!MZXW6YTB"),
            Err(Base32Error::InvalidCharacter { position: 7 })
        );
    }

    /// A fixed-capacity string for testing `encode_to` without `alloc`.
    struct Fixed {
        buf: [u8; 128],
        len: usize,
    }

    impl Fixed {
        fn as_str(&self) -> &str {
            core::str::from_utf8(&self.buf[..self.len]).unwrap()
        }
    }

    impl core::fmt::Write for Fixed {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
            self.buf
                .get_mut(self.len..end)
                .ok_or(core::fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }

    fn heapless_string() -> Fixed {
        Fixed {
            buf: [0; 128],
            len: 0,
        }
    }
}
