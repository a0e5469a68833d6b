//! Certificates made at run time for the TLS tests (rcgen): a throwaway CA and a leaf signed
//! by it, as PEM text and, when a binary needs files, in a temporary directory removed on drop.
//! Nothing here is ever committed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// A CA and one server certificate it signed.
pub struct TestPki {
    /// The CA certificate (PEM): what clients must trust.
    pub ca_pem: String,
    /// The server's certificate chain (PEM, leaf only).
    pub cert_pem: String,
    /// The server's private key (PEM).
    pub key_pem: String,
}

impl TestPki {
    /// A fresh CA and a leaf valid for `names` (DNS names or IP addresses).
    pub fn new(names: &[&str]) -> TestPki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A distinct name per CA: a stranger CA with the same name would be a bad signature,
        // not an unknown issuer.
        static CAS: AtomicUsize = AtomicUsize::new(0);
        let ca_name = format!("mcp-ws test CA {}", CAS.fetch_add(1, Ordering::Relaxed));
        ca_params.distinguished_name.push(DnType::CommonName, ca_name);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let leaf_params = CertificateParams::new(names).expect("leaf params");
        let leaf_key = KeyPair::generate().expect("leaf key");
        let leaf = leaf_params.signed_by(&leaf_key, &ca).expect("leaf certificate");
        TestPki { ca_pem: ca.pem(), cert_pem: leaf.pem(), key_pem: leaf_key.serialize_pem() }
    }

    /// A CA and a leaf for loopback that expired at the end of 2020.
    pub fn expired_loopback() -> TestPki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "mcp-ws test CA (expired leaf)");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let mut leaf_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("leaf params");
        leaf_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        leaf_params.not_after = rcgen::date_time_ymd(2020, 12, 31);
        let leaf_key = KeyPair::generate().expect("leaf key");
        let leaf = leaf_params.signed_by(&leaf_key, &ca).expect("leaf certificate");
        TestPki { ca_pem: ca.pem(), cert_pem: leaf.pem(), key_pem: leaf_key.serialize_pem() }
    }

    /// A CA certificate for loopback that the server presents as its own (a CA used as a
    /// leaf); clients trust the same CA.
    pub fn ca_as_leaf() -> TestPki {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "mcp-ws test CA (served as a leaf)");
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("certificate");
        TestPki { ca_pem: cert.pem(), cert_pem: cert.pem(), key_pem: key.serialize_pem() }
    }

    /// The usual one: valid for `localhost` and `127.0.0.1`.
    pub fn loopback() -> TestPki {
        TestPki::new(&["localhost", "127.0.0.1"])
    }

    /// Writes `ca.pem`, `cert.pem` and `key.pem` into a fresh temporary directory.
    pub fn files(&self) -> PkiFiles {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mcp-ws-pki-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let files = PkiFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            dir,
        };
        std::fs::write(&files.ca, &self.ca_pem).expect("write ca.pem");
        std::fs::write(&files.cert, &self.cert_pem).expect("write cert.pem");
        std::fs::write(&files.key, &self.key_pem).expect("write key.pem");
        files
    }
}

/// PEM files of a [`TestPki`], removed when dropped.
pub struct PkiFiles {
    /// The directory holding them.
    pub dir: PathBuf,
    /// The CA certificate.
    pub ca: PathBuf,
    /// The server certificate.
    pub cert: PathBuf,
    /// The server key.
    pub key: PathBuf,
}

impl Drop for PkiFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
