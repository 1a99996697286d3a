//! QR rendering of key URIs (feature `qr`; PNG with `qr-png`), done
//! locally with the `qrcode` crate: the URI, which contains the secret,
//! never leaves the process.

use alloc::string::String;
#[cfg(feature = "qr-png")]
use alloc::vec::Vec;

use qrcode::render::{svg, unicode};
use qrcode::{EcLevel, QrCode};
use zeroize::Zeroizing;

use crate::uri::KeyUri;

/// Why a QR code could not be rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The URI is too long for the largest QR version (very long issuer,
    /// account or image URL).
    #[error("key uri is too long for a qr code")]
    TooLong,
    /// The PNG encoder failed (feature `qr-png`).
    #[cfg(feature = "qr-png")]
    #[error("qr code could not be encoded as png")]
    Png,
}

/// The smallest width and height of an image QR code, in pixels.
const MIN_PIXELS: u32 = 256;

/// The terminal background a terminal QR code is drawn for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TerminalBackground {
    /// Light text on a dark background (most terminals): block characters
    /// draw the light modules and the quiet zone; the background shows
    /// through as the dark modules.
    #[default]
    Dark,
    /// Dark text on a light background: block characters draw the dark
    /// modules.
    Light,
}

impl KeyUri {
    /// The key URI as a QR code in an SVG document (black on white, 4-module
    /// quiet zone, at least 256 × 256 pixels).
    ///
    /// # Errors
    ///
    /// [`QrError::TooLong`] if the URI does not fit a QR code.
    ///
    /// # Security
    ///
    /// The picture encodes the secret. The returned string is wiped when
    /// dropped; the `qrcode` crate's intermediate buffers are not.
    pub fn to_qr_svg(&self) -> Result<Zeroizing<String>, QrError> {
        let code = self.qr_code()?;
        Ok(Zeroizing::new(
            code.render::<svg::Color<'_>>()
                .min_dimensions(MIN_PIXELS, MIN_PIXELS)
                .quiet_zone(true)
                .build(),
        ))
    }

    /// [`KeyUri::to_qr_svg`] as a `data:image/svg+xml,` URL, to put in an
    /// `<img src="…">` without serving a file. The SVG is percent-encoded:
    /// letters, digits and `-_.!~*()/;:?@=+$,` stay as they are, every other
    /// byte (quotes, `<`, `>`, `#`, `%`, `&`, spaces) becomes `%XX`, so the
    /// URL is safe in a quoted HTML attribute.
    ///
    /// # Errors
    ///
    /// [`QrError::TooLong`] if the URI does not fit a QR code.
    ///
    /// # Security
    ///
    /// As [`KeyUri::to_qr_svg`]; the page that carries the URL carries the
    /// secret.
    pub fn to_qr_svg_data_url(&self) -> Result<Zeroizing<String>, QrError> {
        const PREFIX: &str = "data:image/svg+xml,";
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let svg = self.to_qr_svg()?;
        let mut url = Zeroizing::new(String::with_capacity(
            PREFIX.len().saturating_add(svg.len().saturating_mul(3) / 2),
        ));
        url.push_str(PREFIX);
        for &byte in svg.as_bytes() {
            if byte.is_ascii_alphanumeric() || b"-_.!~*()/;:?@=+$,".contains(&byte) {
                url.push(char::from(byte));
            } else {
                url.push('%');
                url.push(char::from(
                    HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0'),
                ));
                url.push(char::from(
                    HEX.get(usize::from(byte & 0x0f)).copied().unwrap_or(b'0'),
                ));
            }
        }
        Ok(url)
    }

    /// The key URI as a QR code in a PNG image (8-bit grey, black on white,
    /// 4-module quiet zone, at least 256 × 256 pixels), feature `qr-png`.
    ///
    /// # Errors
    ///
    /// [`QrError::TooLong`] if the URI does not fit a QR code,
    /// [`QrError::Png`] if the encoder fails.
    ///
    /// # Security
    ///
    /// The picture encodes the secret. The returned bytes and the pixel
    /// buffer are wiped when dropped; the `qrcode` crate's and the PNG
    /// encoder's intermediate buffers are not.
    #[cfg(feature = "qr-png")]
    pub fn to_qr_png(&self) -> Result<Zeroizing<Vec<u8>>, QrError> {
        use image::ImageEncoder as _;

        let code = self.qr_code()?;
        let picture = code
            .render::<image::Luma<u8>>()
            .min_dimensions(MIN_PIXELS, MIN_PIXELS)
            .quiet_zone(true)
            .build();
        let (width, height) = picture.dimensions();
        let pixels = Zeroizing::new(picture.into_raw());
        let mut png = Zeroizing::new(Vec::new());
        image::codecs::png::PngEncoder::new(&mut *png)
            .write_image(&pixels, width, height, image::ExtendedColorType::L8)
            .map_err(|_| QrError::Png)?;
        Ok(png)
    }

    /// [`KeyUri::to_qr_png`] as a `data:image/png;base64,` URL, feature
    /// `qr-png`.
    ///
    /// # Errors
    ///
    /// As [`KeyUri::to_qr_png`].
    ///
    /// # Security
    ///
    /// As [`KeyUri::to_qr_png`]; the URL is wiped when dropped.
    #[cfg(feature = "qr-png")]
    pub fn to_qr_png_data_url(&self) -> Result<Zeroizing<String>, QrError> {
        use base64::Engine as _;

        const PREFIX: &str = "data:image/png;base64,";
        let png = self.to_qr_png()?;
        let mut url = Zeroizing::new(String::with_capacity(
            PREFIX
                .len()
                .saturating_add(base64::encoded_len(png.len(), true).unwrap_or(0)),
        ));
        url.push_str(PREFIX);
        base64::engine::general_purpose::STANDARD.encode_string(&*png, &mut url);
        Ok(url)
    }

    /// The key URI as a QR code drawn with Unicode half blocks (two modules
    /// per character cell vertically), lines separated by `\n`, with a
    /// 4-module quiet zone.
    ///
    /// # Errors
    ///
    /// [`QrError::TooLong`] if the URI does not fit a QR code.
    ///
    /// # Security
    ///
    /// As [`KeyUri::to_qr_svg`]: anyone who sees the terminal can scan it.
    pub fn to_qr_terminal(
        &self,
        background: TerminalBackground,
    ) -> Result<Zeroizing<String>, QrError> {
        let code = self.qr_code()?;
        let mut renderer = code.render::<unicode::Dense1x2>();
        renderer.quiet_zone(true);
        if background == TerminalBackground::Dark {
            renderer
                .dark_color(unicode::Dense1x2::Light)
                .light_color(unicode::Dense1x2::Dark);
        }
        Ok(Zeroizing::new(renderer.build()))
    }

    fn qr_code(&self) -> Result<QrCode, QrError> {
        let uri = self.to_uri();
        // Level M (15 % recovery) keeps a typical key URI at a version a
        // phone camera reads easily from a screen.
        QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
            .map_err(|_| QrError::TooLong)
    }
}
