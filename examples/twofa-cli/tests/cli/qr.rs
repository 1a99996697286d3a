//! `provision --qr`: the QR code drawn for dark or light terminals, or
//! written as SVG or PNG to `--out`, each read back with a QR decoder; files
//! are never overwritten without `--force`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{Run, assert_invalid, twofa};

/// A fresh directory for one test under Cargo's scratch directory.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("qr").join(test);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn provision(extra: &[&str]) -> Run {
    let mut args = vec![
        "provision",
        "--issuer",
        "Example Portal",
        "--account",
        "alice@example.com",
        "--time",
        "1234567899",
    ];
    args.extend_from_slice(extra);
    twofa(&args)
}

/// The key URI `provision` printed.
fn key_uri(run: &Run) -> String {
    assert_eq!(run.status, 0, "{}", run.stderr);
    run.stdout
        .lines()
        .find_map(|line| line.strip_prefix("Key URI: "))
        .unwrap_or_else(|| panic!("no key uri in {}", run.stdout))
        .to_owned()
}

/// The lines of the half-block picture in `provision`'s output.
fn terminal_picture(run: &Run) -> Vec<Vec<char>> {
    run.stdout
        .lines()
        .filter(|line| !line.is_empty() && line.chars().all(|c| " ▀▄█".contains(c)))
        .map(|line| line.chars().collect())
        .collect()
}

/// Decodes the one QR code of a grey picture (0 dark, 255 light).
fn decode(width: usize, height: usize, grey: impl Fn(usize, usize) -> u8) -> String {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, grey);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code expected");
    grids[0].decode().unwrap().1
}

/// Decodes a half-block picture: a block character draws the modules the
/// terminal's text colour shows, which are the light ones on a dark
/// background and the dark ones on a light background.
fn decode_terminal(rows: &[Vec<char>], blocks_are_dark: bool) -> String {
    assert!(rows.len() > 10, "{rows:?}");
    let width = rows[0].len();
    assert!(rows.iter().all(|row| row.len() == width));
    let scale = 4;
    decode(width * scale, rows.len() * 2 * scale, |x, y| {
        let (x, y) = (x / scale, y / scale);
        let c = rows[y / 2][x];
        let block = if y % 2 == 0 {
            matches!(c, '▀' | '█')
        } else {
            matches!(c, '▄' | '█')
        };
        if block == blocks_are_dark { 0 } else { 255 }
    })
}

/// Decodes an SVG from `twofa-otp`: a white background and black
/// `M{x} {y}h{w}v{h}H{x}V{y}` rectangles.
fn decode_svg(svg: &str) -> String {
    let number = |name: &str| -> usize {
        let start = svg.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        svg[start..start + svg[start..].find('"').unwrap()]
            .parse()
            .unwrap()
    };
    let (width, height) = (number("width"), number("height"));
    let start = svg.rfind(" d=\"").unwrap() + 4;
    let path = &svg[start..start + svg[start..].find('"').unwrap()];
    let mut dark = vec![false; width * height];
    for rect in path.split('M').filter(|rect| !rect.is_empty()) {
        let n: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        for y in n[1]..n[1] + n[3] {
            for x in n[0]..n[0] + n[2] {
                dark[y * width + x] = true;
            }
        }
    }
    decode(
        width,
        height,
        |x, y| if dark[y * width + x] { 0 } else { 255 },
    )
}

fn decode_png(bytes: &[u8]) -> String {
    let picture = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .unwrap()
        .to_luma8();
    let (width, height) = picture.dimensions();
    decode(width as usize, height as usize, |x, y| {
        picture
            .get_pixel(u32::try_from(x).unwrap(), u32::try_from(y).unwrap())
            .0[0]
    })
}

#[test]
fn terminal_qr_for_dark_and_light_backgrounds() {
    // The default draws for a dark background: blocks are light modules.
    let run = provision(&[]);
    let uri = key_uri(&run);
    let dark = terminal_picture(&run);
    assert_eq!(decode_terminal(&dark, false), uri);
    assert_eq!(
        terminal_picture(&provision(&["--qr", "terminal"])).len(),
        dark.len()
    );

    // For a light background the blocks draw the dark modules: the same
    // size, every module inverted.
    let run = provision(&["--qr", "terminal-light"]);
    let uri = key_uri(&run);
    let light = terminal_picture(&run);
    assert_eq!(decode_terminal(&light, true), uri);
    assert_eq!(light.len(), dark.len());
    // The quiet zone is light: blocks on a dark background, spaces on a
    // light one.
    assert!(dark[0].iter().all(|&c| c == '█'), "{:?}", dark[0]);
    assert!(light[0].iter().all(|&c| c == ' '), "{:?}", light[0]);
}

#[test]
fn svg_and_png_are_written_to_out_and_decode_to_the_uri() {
    let dir = scratch("svg_and_png");
    for (format, name) in [("svg", "key.svg"), ("png", "key.png")] {
        let path = dir.join(name);
        let run = provision(&["--qr", format, "--out", path.to_str().unwrap()]);
        let uri = key_uri(&run);
        assert_eq!(run.stderr, "");
        // No picture in the terminal; the file is named instead.
        assert!(terminal_picture(&run).is_empty(), "{}", run.stdout);
        assert!(
            run.stdout
                .contains(&format!("QR code written to {}", path.display())),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains("Current code: "), "{}", run.stdout);
        let bytes = fs::read(&path).unwrap();
        let decoded = match format {
            "svg" => decode_svg(std::str::from_utf8(&bytes).unwrap()),
            _ => {
                assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
                decode_png(&bytes)
            }
        };
        assert_eq!(decoded, uri, "{format}");
        // The file holds the secret: only its owner may read it.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{format}: {mode:o}");
        }
    }
}

#[test]
fn an_existing_file_is_replaced_only_with_force() {
    let dir = scratch("force");
    let path = dir.join("key.png");
    let out = path.to_str().unwrap();
    let first = key_uri(&provision(&["--qr", "png", "--out", out]));
    let written = fs::read(&path).unwrap();

    // Refused: status 2, nothing of a key shown, the file untouched.
    let run = provision(&["--qr", "png", "--out", out]);
    assert_invalid(&run, "--out", &["otpauth://"]);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(fs::read(&path).unwrap(), written);
    assert_eq!(decode_png(&written), first);

    // Replaced with --force, by the new key's picture, owner-only again.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    }
    let run = provision(&["--qr", "svg", "--out", out, "--force"]);
    let second = key_uri(&run);
    assert_ne!(second, first);
    assert_eq!(decode_svg(&fs::read_to_string(&path).unwrap()), second);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}

#[test]
fn qr_none_shows_no_picture() {
    let run = provision(&["--qr", "none"]);
    key_uri(&run);
    assert!(terminal_picture(&run).is_empty(), "{}", run.stdout);
    assert!(!run.stdout.contains("QR code"), "{}", run.stdout);
    assert!(run.stdout.contains("Current code: "), "{}", run.stdout);
}

#[test]
fn qr_options_are_checked_before_a_key_is_made() {
    let dir = scratch("checks");
    let out = dir.join("key.svg");
    let out = out.to_str().unwrap();
    for (args, names) in [
        (&["--qr", "svg"][..], "--qr"),
        (&["--qr", "png"], "--qr"),
        (&["--qr", "jpeg"], "--qr"),
        (&["--qr", "terminal", "--out", out], "--out"),
        (&["--qr", "none", "--out", out], "--out"),
        (&["--out", out], "--out"),
        (&["--force"], "--out"),
        (
            &["--qr", "svg", "--out", "/nonexistent-dir/key.svg"],
            "--out",
        ),
    ] {
        let run = provision(args);
        assert_invalid(&run, names, &["otpauth://"]);
        assert!(!Path::new(out).exists(), "{args:?} wrote a file");
    }
}
