//! QR codes of a key URI decode back to the URI; an oversized URI is refused.

use twofa_otp::TerminalBackground;

use super::*;

fn decode_grid(width: usize, height: usize, dark: &dyn Fn(usize, usize) -> bool) -> String {
    // Upscale 4x so the detector has room.
    let scale = 4;
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width * scale, height * scale, |x, y| {
            if dark(x / scale, y / scale) { 0 } else { 255 }
        });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

fn sample_uri() -> KeyUri {
    KeyUri::totp("ACME Co", "alice@example.com", uri_secret())
        .unwrap()
        .with_image("https://example.com/logo.png")
        .unwrap()
}

#[test]
fn terminal_qr_decodes_to_the_uri() {
    let uri = sample_uri();
    for background in [TerminalBackground::Dark, TerminalBackground::Light] {
        let picture = uri.to_qr_terminal(background).unwrap();
        // Each character holds two modules: top and bottom half.
        let rows: Vec<Vec<char>> = picture.lines().map(|l| l.chars().collect()).collect();
        let width = rows[0].len();
        assert!(rows.iter().all(|r| r.len() == width));
        let height = rows.len() * 2;
        let block = |x: usize, y: usize| -> bool {
            let c = rows[y / 2][x];
            let top = matches!(c, '\u{2580}' | '\u{2588}');
            let bottom = matches!(c, '\u{2584}' | '\u{2588}');
            assert!(matches!(c, ' ' | '\u{2580}' | '\u{2584}' | '\u{2588}'));
            if y.is_multiple_of(2) { top } else { bottom }
        };
        let dark = |x: usize, y: usize| match background {
            TerminalBackground::Dark => !block(x, y),
            _ => block(x, y),
        };
        assert_eq!(decode_grid(width, height, &dark), uri.to_uri().as_str());
    }
}

#[test]
fn svg_qr_decodes_to_the_uri() {
    let uri = sample_uri();
    let svg = uri.to_qr_svg().unwrap();
    assert_eq!(decode_svg(&svg), uri.to_uri().as_str());
}

/// The text of the one QR code an SVG from `to_qr_svg` draws.
fn decode_svg(svg: &str) -> String {
    assert!(svg.starts_with("<?xml"));
    assert!(!svg.contains("http://chart"));
    let attribute = |name: &str| -> usize {
        let start = svg.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        svg[start..start + svg[start..].find('"').unwrap()]
            .parse()
            .unwrap()
    };
    let (width, height) = (attribute("width"), attribute("height"));
    assert!(width >= 256);
    // The path is a list of "M{x} {y}h{w}v{h}H{x}V{y}" rectangles.
    let path_start = svg.find(" d=\"").unwrap() + 4;
    let path = &svg[path_start..path_start + svg[path_start..].find('"').unwrap()];
    let mut pixels = vec![false; width * height];
    for rect in path.split('M').filter(|r| !r.is_empty()) {
        let numbers: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let (x, y, w, h) = (numbers[0], numbers[1], numbers[2], numbers[3]);
        for yy in y..y + h {
            for xx in x..x + w {
                pixels[yy * width + xx] = true;
            }
        }
    }
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        if pixels[y * width + x] { 0 } else { 255 }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

#[test]
fn svg_data_url_holds_the_svg() {
    let uri = sample_uri();
    let url = uri.to_qr_svg_data_url().unwrap();
    let encoded = url.strip_prefix("data:image/svg+xml,").unwrap();
    // Nothing that would end a quoted HTML attribute, start a fragment or
    // an entity, or break the URL.
    for byte in encoded.bytes() {
        assert!(
            byte.is_ascii_alphanumeric() || b"-_.!~*()/;:?@=+$,%".contains(&byte),
            "{:?} in the url",
            char::from(byte)
        );
    }
    let svg = percent_decode(encoded);
    assert_eq!(svg, uri.to_qr_svg().unwrap().as_str());
    assert_eq!(decode_svg(&svg), uri.to_uri().as_str());
}

/// RFC 3986 percent-decoding, written out for the test.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The text of the one QR code in a PNG image.
#[cfg(feature = "qr-png")]
fn decode_png(png: &[u8]) -> String {
    let picture = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .unwrap()
        .to_luma8();
    assert!(picture.width() >= 256 && picture.height() >= 256);
    let (width, height) = (picture.width() as usize, picture.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        picture
            .get_pixel(u32::try_from(x).unwrap(), u32::try_from(y).unwrap())
            .0[0]
    });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

#[cfg(feature = "qr-png")]
#[test]
fn png_qr_decodes_to_the_uri() {
    let uri = sample_uri();
    let png = uri.to_qr_png().unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(decode_png(&png), uri.to_uri().as_str());
    // Another key draws another picture.
    let other = KeyUri::totp("ACME Co", "bob@example.com", uri_secret()).unwrap();
    assert_eq!(
        decode_png(&other.to_qr_png().unwrap()),
        other.to_uri().as_str()
    );
}

#[cfg(feature = "qr-png")]
#[test]
fn png_data_url_holds_the_png() {
    use base64::Engine as _;

    let uri = sample_uri();
    let url = uri.to_qr_png_data_url().unwrap();
    let encoded = url.strip_prefix("data:image/png;base64,").unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    assert_eq!(png, *uri.to_qr_png().unwrap());
    assert_eq!(decode_png(&png), uri.to_uri().as_str());
}

#[test]
fn oversized_uri_is_refused() {
    let long = "a".repeat(3000);
    let uri = KeyUri::totp("ACME", &long, uri_secret()).unwrap();
    assert_eq!(uri.to_qr_svg().err(), Some(twofa_otp::QrError::TooLong));
    assert_eq!(
        uri.to_qr_svg_data_url().err(),
        Some(twofa_otp::QrError::TooLong)
    );
    #[cfg(feature = "qr-png")]
    {
        assert_eq!(uri.to_qr_png().err(), Some(twofa_otp::QrError::TooLong));
        assert_eq!(
            uri.to_qr_png_data_url().err(),
            Some(twofa_otp::QrError::TooLong)
        );
    }
}
