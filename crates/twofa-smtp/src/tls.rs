//! The TLS client settings: rustls on aws-lc-rs, with either the Mozilla roots
//! compiled into `webpki-roots` or exactly the authorities the
//! configuration names.

use lettre::transport::smtp::client::{
    Certificate, CertificateStore, TlsParameters, TlsParametersBuilder,
};

use crate::config::{SmtpConfig, SmtpConfigError};

/// The start of a PEM certificate block (RFC 7468 §5.1).
const PEM_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// Checks that `pem` holds at least one certificate and that every one of
/// them can be a trust anchor.
pub(crate) fn check_roots(pem: &[u8], certificate: &Certificate) -> Result<(), SmtpConfigError> {
    if !pem
        .windows(PEM_CERTIFICATE.len())
        .any(|window| window == PEM_CERTIFICATE)
    {
        return Err(SmtpConfigError::RootCertificate);
    }
    // rustls parses each certificate into a trust anchor when it is added
    // to a root store: building a throwaway configuration runs that check
    // now rather than on the first send.
    TlsParametersBuilder::new("localhost".to_owned())
        .certificate_store(CertificateStore::None)
        .add_root_certificate(certificate.clone())
        .build_rustls()
        .map(drop)
        .map_err(|_| SmtpConfigError::RootCertificate)
}

/// The TLS settings for `config`'s server: its host name (or address) is
/// what the certificate must name, and the roots are the configured
/// authorities if any, the Mozilla set otherwise. TLS 1.2 at least.
pub(crate) fn parameters(config: &SmtpConfig) -> Result<TlsParameters, SmtpConfigError> {
    let mut builder = TlsParametersBuilder::new(config.host.clone());
    if config.roots.is_empty() {
        builder = builder.certificate_store(CertificateStore::WebpkiRoots);
    } else {
        builder = builder.certificate_store(CertificateStore::None);
        for root in &config.roots {
            builder = builder.add_root_certificate(root.clone());
        }
    }
    builder.build_rustls().map_err(|_| SmtpConfigError::Tls)
}
