//! TLS for a store that is not on loopback: a CA made for this run alone (never written to the
//! user's trust store) signs the store's certificate; agents trust exactly that CA.

use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The run's CA (its certificate, PEM, for agents) and the store's server configuration.
pub struct RunTls {
    pub ca_pem: String,
    pub server: Arc<rustls::ServerConfig>,
}

/// A fresh CA and a certificate for `ip` (plus `names`) signed by it.
pub fn for_address(ip: IpAddr, names: &[String]) -> Result<RunTls, String> {
    let err = |e: rcgen::Error| format!("cannot make the store's certificate: {e}");
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "orrery run store CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(err)?).map_err(err)?;

    let mut leaf = CertificateParams::new(names.to_vec()).map_err(err)?;
    leaf.subject_alt_names.push(SanType::IpAddress(ip));
    leaf.distinguished_name
        .push(DnType::CommonName, "orrery run store");
    let key = KeyPair::generate().map_err(err)?;
    let cert = leaf.signed_by(&key, &ca).map_err(err)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .map_err(|e| format!("cannot use the store's certificate: {e}"))?;
    Ok(RunTls {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    })
}
