//! TLS for `wss://`, both sides, written once over futures-io streams (rustls through
//! `futures-rustls`, the `ring` provider), so every runtime seam gets it alike.
//!
//! - [`ServerTls`]: a certificate chain and private key, loaded from PEM (and reloadable
//!   without a restart).
//! - [`ClientTls`]: the roots a client trusts: the Mozilla roots compiled in (`webpki-roots`)
//!   plus any extra CA certificates from PEM (a private CA, a test CA).
//! - [`TlsFailure`]: why a client's TLS handshake failed, sorted by cause (unknown CA, name
//!   mismatch, bad certificate, a server that does not speak TLS), each with a message a user
//!   can act on.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{CertificateError, RootCertStore};

/// Why TLS material could not be loaded or used.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    Pem {
        /// The file (or `"<memory>"`).
        path: PathBuf,
        /// What was wrong.
        why: String,
    },
    /// A PEM input held no certificate.
    NoCertificate {
        /// The file (or `"<memory>"`).
        path: PathBuf,
    },
    /// rustls refused the material (a key that does not match the certificate, say).
    Rustls(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Pem { path, why } => write!(f, "{}: {why}", path.display()),
            TlsError::NoCertificate { path } => {
                write!(f, "{}: no PEM certificate found", path.display())
            }
            TlsError::Rustls(e) => write!(f, "TLS configuration refused: {e}"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::Rustls(e) => Some(e),
            _ => None,
        }
    }
}

fn memory() -> PathBuf {
    PathBuf::from("<memory>")
}

fn pem_error(path: &Path, e: rustls::pki_types::pem::Error) -> TlsError {
    TlsError::Pem { path: path.to_path_buf(), why: e.to_string() }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certificates(pem: &[u8], path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: path.to_path_buf() });
    }
    Ok(certs)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Pem { path: path.to_path_buf(), why: e.to_string() })
}

/// A server's TLS identity: certificate chain and private key. Cheap to clone; clones share
/// the identity, so [`ServerTls::reload`] on one changes it for all (new connections only).
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<RwLock<Arc<rustls::ServerConfig>>>,
    files: Option<Arc<(PathBuf, PathBuf)>>,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerTls { .. }")
    }
}

impl ServerTls {
    /// From PEM text: the chain (leaf first) and a PKCS#8, PKCS#1 or SEC1 private key.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        Self::build(cert_chain, key, &memory(), &memory())
    }

    /// From PEM files, as `serve --tls-cert FILE --tls-key FILE` takes them.
    pub fn from_pem_files(cert_chain: &Path, key: &Path) -> Result<Self, TlsError> {
        let mut tls = Self::build(&read(cert_chain)?, &read(key)?, cert_chain, key)?;
        tls.files = Some(Arc::new((cert_chain.to_path_buf(), key.to_path_buf())));
        Ok(tls)
    }

    /// Reads the PEM files again (a renewed certificate) without a restart: connections
    /// accepted afterwards use the new identity, open ones keep theirs. On an error the old
    /// identity stays. Does nothing for an identity not loaded from files.
    pub fn reload(&self) -> Result<(), TlsError> {
        let Some(files) = &self.files else { return Ok(()) };
        let (cert, key) = &**files;
        let fresh = Self::build(&read(cert)?, &read(key)?, cert, key)?;
        let config = fresh.current();
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = config;
        Ok(())
    }

    fn current(&self) -> Arc<rustls::ServerConfig> {
        self.config.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn build(
        cert_pem: &[u8],
        key_pem: &[u8],
        cert_path: &Path,
        key_path: &Path,
    ) -> Result<Self, TlsError> {
        let chain = certificates(cert_pem, cert_path)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Pem {
            path: key_path.to_path_buf(),
            why: format!("no usable private key: {e}"),
        })?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Rustls)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TlsError::Rustls)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self::from_rustls(Arc::new(config)))
    }

    /// From a rustls configuration of your own (client certificates, resumption...).
    pub fn from_rustls(config: Arc<rustls::ServerConfig>) -> Self {
        ServerTls { config: Arc::new(RwLock::new(config)), files: None }
    }

    pub(crate) fn acceptor(&self) -> futures_rustls::TlsAcceptor {
        futures_rustls::TlsAcceptor::from(self.current())
    }
}

/// What a client trusts for `wss://`: the Mozilla root programme's CAs (compiled in from
/// `webpki-roots`, so a binary behaves the same on every machine, containers included) plus
/// extra CAs from PEM. Cheap to clone.
#[derive(Clone)]
pub struct ClientTls {
    roots: RootCertStore,
    config: Arc<rustls::ClientConfig>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls").field("roots", &self.roots.len()).finish()
    }
}

impl Default for ClientTls {
    fn default() -> Self {
        ClientTls::new()
    }
}

impl ClientTls {
    /// Trusts the compiled-in Mozilla roots.
    pub fn new() -> Self {
        let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        Self::with_roots(roots).expect("the ring provider supports the default versions")
    }

    /// Trusts only the CA certificates in `pem` (no public roots).
    pub fn only_ca_pem(pem: &[u8]) -> Result<Self, TlsError> {
        Self::with_roots(RootCertStore::empty())?.add_ca_pem(pem)
    }

    /// Also trusts the CA certificates in `pem`.
    pub fn add_ca_pem(self, pem: &[u8]) -> Result<Self, TlsError> {
        self.add(pem, &memory())
    }

    /// Also trusts the CA certificates in the PEM file `path` (`--ca-cert FILE`).
    pub fn add_ca_pem_file(self, path: &Path) -> Result<Self, TlsError> {
        let pem = read(path)?;
        self.add(&pem, path)
    }

    fn add(mut self, pem: &[u8], path: &Path) -> Result<Self, TlsError> {
        for cert in certificates(pem, path)? {
            self.roots.add(cert).map_err(TlsError::Rustls)?;
        }
        Self::with_roots(self.roots)
    }

    fn with_roots(roots: RootCertStore) -> Result<Self, TlsError> {
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Rustls)?
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        Ok(ClientTls { roots, config: Arc::new(config) })
    }

    /// From a rustls configuration of your own (client certificates, a custom verifier...).
    pub fn from_rustls(config: Arc<rustls::ClientConfig>) -> Self {
        ClientTls { roots: RootCertStore::empty(), config }
    }

    pub(crate) fn connector(&self) -> futures_rustls::TlsConnector {
        futures_rustls::TlsConnector::from(self.config.clone())
    }
}

/// Why a client's TLS handshake failed, sorted by what the user must fix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The server's certificate is not signed by a trusted CA (a private CA needs
    /// [`ClientTls::add_ca_pem_file`]).
    UnknownCa,
    /// The certificate is valid but not for the host in the URL.
    NameMismatch {
        /// The host the client asked for.
        host: String,
    },
    /// The certificate itself is unusable (expired, not yet valid, badly signed, a CA
    /// certificate served as a leaf...): what is wrong and what to do, in words.
    BadCertificate(String),
    /// The server answered the TLS hello with something that is not TLS: a plain `ws://`
    /// server on a `wss://` URL.
    NotTls,
    /// Any other TLS failure (an alert from the server, no common cipher...).
    Other(String),
}

impl TlsFailure {
    /// Sorts the error a TLS handshake returned. `None` when it is not a TLS error but a
    /// plain I/O one.
    pub fn classify(error: &io::Error, host: &str) -> Option<TlsFailure> {
        let inner = error.get_ref()?.downcast_ref::<rustls::Error>()?;
        Some(match inner {
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer => TlsFailure::UnknownCa,
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => {
                    TlsFailure::NameMismatch { host: host.to_string() }
                }
                other => TlsFailure::BadCertificate(certificate_problem(other)),
            },
            rustls::Error::InvalidMessage(_)
            | rustls::Error::InappropriateMessage { .. }
            | rustls::Error::InappropriateHandshakeMessage { .. } => TlsFailure::NotTls,
            other => TlsFailure::Other(other.to_string()),
        })
    }

    /// Whether retrying cannot help (every certificate problem, a plain server).
    pub fn is_fatal(&self) -> bool {
        !matches!(self, TlsFailure::Other(_))
    }
}

/// What is wrong with a server's certificate, in words, with what to do about it (rustls's
/// own texts are its variant names, or Unix timestamps).
fn certificate_problem(error: &CertificateError) -> String {
    let since = |earlier: u64, later: u64| ago(later.saturating_sub(earlier));
    match error {
        CertificateError::ExpiredContext { time, not_after } => format!(
            "it expired {} ago; the server's operator must renew it (or check this machine's \
             clock)",
            since(not_after.as_secs(), time.as_secs())
        ),
        CertificateError::Expired => "it has expired; the server's operator must renew it (or \
                                      check this machine's clock)"
            .into(),
        CertificateError::NotValidYetContext { time, not_before } => format!(
            "it is not valid for another {}; check this machine's clock, or the certificate's \
             start date",
            since(time.as_secs(), not_before.as_secs())
        ),
        CertificateError::NotValidYet => "it is not valid yet; check this machine's clock, or \
                                          the certificate's start date"
            .into(),
        CertificateError::Revoked => "it has been revoked; the server needs a new one".into(),
        CertificateError::BadSignature => "its signature does not verify (it was not signed by \
                                           the CA that appears to have issued it)"
            .into(),
        CertificateError::BadEncoding => "it cannot be parsed (it is not a valid X.509 \
                                          certificate)"
            .into(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "it is not meant for a TLS server (its extended key usage lacks serverAuth); the \
             server needs a server certificate"
                .into()
        }
        CertificateError::Other(other) => match other.0.to_string().as_str() {
            // rustls-webpki's errors display as their variant names.
            "CaUsedAsEndEntity" => "the server presents a CA certificate as its own; a server \
                                    needs a leaf certificate issued by that CA (the CA \
                                    certificate is what clients trust, e.g. with --ca-cert)"
                .into(),
            "EndEntityUsedAsCa" => "its chain uses a leaf certificate as a CA; the server must \
                                    send its leaf followed by the intermediate CAs that issued it"
                .into(),
            why => format!("it was refused: {why}"),
        },
        other => format!("it was refused: {other}"),
    }
}

/// `seconds` as a rough span in words ("3 days", "5 hours", "40 seconds").
fn ago(seconds: u64) -> String {
    let (n, unit) = match seconds {
        s if s >= 2 * 86_400 => (s / 86_400, "days"),
        s if s >= 2 * 3_600 => (s / 3_600, "hours"),
        s if s >= 2 * 60 => (s / 60, "minutes"),
        s => (s, "seconds"),
    };
    format!("{n} {unit}")
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsFailure::UnknownCa => f.write_str(
                "the server's certificate is signed by an unknown certificate authority \
                 (a private CA must be trusted explicitly, e.g. with --ca-cert)",
            ),
            TlsFailure::NameMismatch { host } => {
                write!(f, "the server's certificate is not valid for the name {host}")
            }
            TlsFailure::BadCertificate(why) => {
                write!(f, "the server's certificate is unusable: {why}")
            }
            TlsFailure::NotTls => f.write_str(
                "the server did not speak TLS (is it a plain ws:// server on a wss:// URL?)",
            ),
            TlsFailure::Other(why) => write!(f, "TLS failed: {why}"),
        }
    }
}

impl std::error::Error for TlsFailure {}

#[cfg(test)]
mod tests {
    use rustls::pki_types::UnixTime;

    use super::*;

    fn classified(error: CertificateError) -> String {
        let error = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::from(error));
        TlsFailure::classify(&error, "example.com").expect("a TLS error").to_string()
    }

    #[test]
    fn an_expired_certificate_is_told_in_words_with_the_next_step() {
        let day = 86_400;
        let text = classified(CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(std::time::Duration::from_secs(1000 * day)),
            not_after: UnixTime::since_unix_epoch(std::time::Duration::from_secs(990 * day)),
        });
        assert_eq!(
            text,
            "the server's certificate is unusable: it expired 10 days ago; the server's operator \
             must renew it (or check this machine's clock)"
        );
        assert!(!text.contains("Context"), "{text}");
    }
}
