//! Secrets and base32: length limits and weakness, generation at hash
//! length, base32 rejections and round trips.

use super::*;

#[test]
fn secrets_enforce_lengths_and_report_weakness() {
    // 80-bit secret from Google's Key Uri Format example.
    assert_eq!(
        Secret::from_base32("JBSWY3DPEHPK3PXP").err(),
        Some(SecretError::TooShort { bits: 80 })
    );
    let (secret, strength) = Secret::from_base32_weak("JBSWY3DPEHPK3PXP").unwrap();
    assert_eq!(strength, SecretStrength::Legacy { bits: 80 });
    assert_eq!(secret.strength(), SecretStrength::Legacy { bits: 80 });
    assert_eq!(secret.expose_secret(), b"Hello!\xde\xad\xbe\xef");
    assert_eq!(
        Secret::from_base32_weak("JBSWY3DPEHPK3P").err(),
        Some(SecretError::Base32(Base32Error::InvalidLength {
            symbols: 14
        }))
    );
    assert_eq!(
        Secret::from_bytes_weak(&[1; 9]).err(),
        Some(SecretError::TooWeak { bits: 72 })
    );
    let strong = Secret::from_base32("jbsw y3dp-ehpk 3pxp jbsw y3dp ehpk 3pxp====").unwrap();
    assert_eq!(strong.bits(), 160);
    assert_eq!(strong.strength(), SecretStrength::Full);
    assert_eq!(
        strong.to_base32().as_str(),
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    );
    let same = Secret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap();
    assert!(strong.ct_eq(&same));
    assert!(!strong.ct_eq(&rfc_secret(Algorithm::Sha1)));
}

#[test]
fn secrets_are_generated_at_hash_length() {
    let mut rng = rand::rng();
    for algorithm in Algorithm::ALL {
        let a = Secret::generate(&mut rng, algorithm);
        let b = Secret::generate(&mut rng, algorithm);
        assert_eq!(a.expose_secret().len(), algorithm.output_len());
        assert!(!a.ct_eq(&b));
    }
    assert_eq!(
        Secret::generate_with_len(&mut rng, 15).err(),
        Some(SecretError::TooShort { bits: 120 })
    );
    assert_eq!(
        Secret::generate_with_len(&mut rng, 65).err(),
        Some(SecretError::TooLong { bytes: 65, max: 64 })
    );
    assert_eq!(Secret::generate_with_len(&mut rng, 64).unwrap().bits(), 512);
}

#[test]
fn base32_rejections_point_at_the_character() {
    let mut out = [0u8; 64];
    assert_eq!(
        base32::decode_into("JBSW Y3DP 1HPK", &mut out),
        Err(Base32Error::InvalidCharacter { position: 10 })
    );
    assert_eq!(
        base32::decode_into("JBSWY3DP=EHPK3PXP", &mut out),
        Err(Base32Error::MisplacedPadding { position: 8 })
    );
    assert_eq!(
        base32::decode_into("JBSWY3DPEHPK3PXP=\n", &mut out),
        Err(Base32Error::MisplacedPadding { position: 16 })
    );
    assert_eq!(
        base32::decode_into("JBSWY3DPEHPK3PX", &mut out),
        Err(Base32Error::NonCanonical { position: 14 })
    );
    assert_eq!(
        base32::decode_into("MZXW6YTBO", &mut out),
        Err(Base32Error::InvalidLength { symbols: 9 })
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn base32_round_trip_and_oracle(
        bytes in proptest::collection::vec(any::<u8>(), 0..=128),
        lower in any::<bool>(),
        group in 1usize..=8,
        pad in any::<bool>(),
    ) {
        let encoded = base32::encode(&bytes);
        prop_assert_eq!(
            &encoded,
            &::base32::encode(::base32::Alphabet::Rfc4648 { padding: false }, &bytes)
        );
        prop_assert_eq!(Some(encoded.len()), base32::encoded_len(bytes.len()));
        let mut out = [0u8; 128];
        let n = base32::decode_into(&encoded, &mut out).unwrap();
        prop_assert_eq!(&out[..n], &bytes[..]);
        // The base32 crate as an oracle on valid input.
        let oracle = ::base32::decode(::base32::Alphabet::Rfc4648 { padding: false }, &encoded).unwrap();
        prop_assert_eq!(&out[..n], &oracle[..]);
        // Presentation variants decode to the same bytes.
        let mut styled: String = encoded
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let sep = (i > 0 && i % group == 0).then_some(if i % 2 == 0 { ' ' } else { '-' });
                sep.into_iter().chain(std::iter::once(if lower { c.to_ascii_lowercase() } else { c }))
            })
            .collect();
        if pad {
            let padded = ::base32::encode(::base32::Alphabet::Rfc4648 { padding: true }, &bytes);
            styled.push_str(&"=".repeat(padded.len() - encoded.len()));
        }
        let mut out2 = [0u8; 128];
        let n2 = base32::decode_into(&styled, &mut out2).unwrap();
        prop_assert_eq!(&out2[..n2], &bytes[..]);
    }

    #[test]
    fn base32_decode_never_panics(text in "\\PC{0,80}") {
        let mut out = [0u8; 64];
        let _ = base32::decode_into(&text, &mut out);
    }
}
