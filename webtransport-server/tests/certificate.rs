//! The self-signed certificate: what browsers require of it, and that its hash is the one a
//! client trusts.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use support::{Client, TestServer};
use webtransport_server::{CertificateHash, Config, Identity};
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::{OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY};
use x509_parser::prelude::{FromDer, X509Certificate};

#[test]
fn self_signed_certificate_is_ecdsa_p256_valid_at_most_14_days_from_now() {
    let identity = Identity::self_signed(&["relay.example", "10.0.0.7"]).unwrap();
    let (_, cert) = X509Certificate::from_der(identity.certificate_der()).unwrap();

    let validity = cert.validity();
    let (from, to) = (validity.not_before.timestamp(), validity.not_after.timestamp());
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!(to - from <= 14 * 24 * 3600, "valid for {} s", to - from);
    assert!(to - from >= 13 * 24 * 3600, "valid for only {} s", to - from);
    assert!(from <= now && now < to, "not valid now ({from}..{to}, now {now})");

    let key = cert.public_key();
    assert_eq!(key.algorithm.algorithm, OID_KEY_TYPE_EC_PUBLIC_KEY);
    let curve = key.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
    assert_eq!(curve, Some(OID_EC_P256));

    let names = cert.subject_alternative_name().unwrap().unwrap().value.general_names.clone();
    assert!(names.contains(&GeneralName::DNSName("localhost")));
    assert!(names.contains(&GeneralName::DNSName("relay.example")));
    assert!(names.contains(&GeneralName::IPAddress(&[127, 0, 0, 1])));
    assert!(names.contains(&GeneralName::IPAddress(&[10, 0, 0, 7])));
}

#[tokio::test]
async fn client_trusting_the_hash_connects_and_sees_that_certificate() {
    let identity = Identity::self_signed::<&str>(&[]).unwrap();
    let hash = identity.certificate_hash();
    let server = TestServer::with_identity(identity, Config::default()).await;

    let client = Client::connect(server.addr, hash, "/lobby/alice/r1").await.unwrap();
    let chain = client.connection.peer_identity().unwrap();
    let leaf_hash = chain.as_slice()[0].hash();
    assert_eq!(leaf_hash.as_ref(), hash.as_bytes());
    assert_eq!(hash.to_hex().len(), 64);
}

#[tokio::test]
async fn client_trusting_another_hash_is_turned_away() {
    let server = TestServer::start().await;
    let mut wrong = *server.hash.as_bytes();
    wrong[0] ^= 1;
    assert!(
        Client::connect(server.addr, CertificateHash::from(wrong), "/lobby/alice/r1")
            .await
            .is_err()
    );
}
