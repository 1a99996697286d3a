//! QR rendering of key URIs (feature `qr`), done locally with the `qrcode`
//! crate: the URI, which contains the secret, never leaves the process.

use alloc::string::String;

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
}

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
                .min_dimensions(256, 256)
                .quiet_zone(true)
                .build(),
        ))
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
