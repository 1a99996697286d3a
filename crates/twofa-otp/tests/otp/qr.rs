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
    assert_eq!(grids[0].decode().unwrap().1, uri.to_uri().as_str());
}

#[test]
fn oversized_uri_is_refused() {
    let long = "a".repeat(3000);
    let uri = KeyUri::totp("ACME", &long, uri_secret()).unwrap();
    assert_eq!(uri.to_qr_svg().err(), Some(twofa_otp::QrError::TooLong));
}
