//! The public half of a DKIM signing key, as the `p=` of its DNS record (RFC 6376 §3.6.1:
//! base64 of the DER SubjectPublicKeyInfo, RFC 5280 §4.1), derived in this process from the
//! key file: one openssl process per key made every run pay about 8 ms per key, and keys
//! accumulate (every `dkim rotate` keeps the old one a while).
//!
//! Reads RSA keys in PEM, PKCS#8 (`BEGIN PRIVATE KEY`, RFC 5208, what `openssl genpkey`
//! writes) or PKCS#1 (`BEGIN RSA PRIVATE KEY`, RFC 8017 appendix A.1.2, what older tools and
//! `rspamadm dkim_keygen` write). Anything else (an Ed25519 key, a damaged file) is `None`,
//! for the caller to ask openssl. The private parts are wiped from memory when dropped.
use base64::Engine as _;
use pkcs1::der::{asn1::BitStringRef, Decode, Encode};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

/// `rsaEncryption` (RFC 8017 appendix A.1): the algorithm of an RSA key's SPKI, with NULL
/// parameters.
const RSA_ENCRYPTION: pkcs1::der::asn1::ObjectIdentifier =
    pkcs1::der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// The base64 `p=` value for the RSA key in `pem`; `None` when it is not one this reads.
pub fn rsa_public_p(pem: &[u8]) -> Option<String> {
    let (label, der) = pem_rfc7468::decode_vec(pem).ok()?;
    let der = Zeroizing::new(der);
    let pkcs1_der: &[u8] = match label {
        "PRIVATE KEY" => {
            let info = pkcs8::PrivateKeyInfo::from_der(&der).ok()?;
            if info.algorithm.oid != RSA_ENCRYPTION {
                return None;
            }
            info.private_key
        }
        "RSA PRIVATE KEY" => &der,
        _ => return None,
    };
    let key = pkcs1::RsaPrivateKey::from_der(pkcs1_der).ok()?;
    let public = pkcs1::RsaPublicKey {
        modulus: key.modulus,
        public_exponent: key.public_exponent,
    }
    .to_der()
    .ok()?;
    let spki = SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef {
            oid: RSA_ENCRYPTION,
            parameters: Some(pkcs1::der::asn1::AnyRef::NULL),
        },
        subject_public_key: BitStringRef::from_bytes(&public).ok()?,
    }
    .to_der()
    .ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(spki))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Throwaway keys made for this test only (they sign nothing), with what
    // `openssl pkey -pubout -outform DER | base64 -w0` printed for them.
    const PKCS8: &str = include_str!("testdata/dkim-pkcs8.key");
    const PKCS1: &str = include_str!("testdata/dkim-pkcs1.key");
    const ED25519: &str = include_str!("testdata/dkim-ed25519.key");
    const P: &str = include_str!("testdata/dkim.p");

    #[test]
    fn matches_openssl_for_both_rsa_forms() {
        assert_eq!(rsa_public_p(PKCS8.as_bytes()).as_deref(), Some(P));
        assert_eq!(rsa_public_p(PKCS1.as_bytes()).as_deref(), Some(P));
        assert_eq!(P.len(), crate::facts::dkim::RSA_2048_P_CHARS);
    }

    #[test]
    fn other_keys_and_damage_are_left_to_openssl() {
        assert_eq!(rsa_public_p(ED25519.as_bytes()), None);
        assert_eq!(rsa_public_p(b""), None);
        let cut = &PKCS8[..PKCS8.len() / 2];
        assert_eq!(rsa_public_p(cut.as_bytes()), None);
        let certificate = PKCS8.replace("PRIVATE KEY", "CERTIFICATE");
        assert_eq!(rsa_public_p(certificate.as_bytes()), None);
    }
}
