//! A software passkey for the portal tests: a P-256 key (ring) that answers the server's
//! WebAuthn registration and sign-in options as a browser with a platform authenticator
//! would — `none` attestation, user present and verified, a discoverable credential that
//! returns its user handle. Built by hand (CBOR included) so the server's `webauthn-rs` is
//! checked against an independent client.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_json::{json, Value};

/// Flags of authenticator data: user present, user verified, attested credential data.
const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

pub struct SoftPasskey {
    key: EcdsaKeyPair,
    pub credential_id: Vec<u8>,
    /// The user handle the server gave at registration (`publicKey.user.id`).
    pub user_handle: Vec<u8>,
    /// What the browser reports as the origin, e.g. `http://localhost:PORT`.
    pub origin: String,
    pub rp_id: String,
    counter: u32,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// CBOR byte string head + bytes.
fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len();
    if n < 24 {
        out.push(0x40 | n as u8);
    } else if n < 256 {
        out.extend([0x58, n as u8]);
    } else {
        out.push(0x59);
        out.extend((n as u16).to_be_bytes());
    }
    out.extend_from_slice(bytes);
}

/// CBOR text string (short ones only).
fn cbor_text(out: &mut Vec<u8>, text: &str) {
    assert!(text.len() < 24);
    out.push(0x60 | text.len() as u8);
    out.extend_from_slice(text.as_bytes());
}

impl SoftPasskey {
    /// A new key pair and credential id, answering for `origin` with `rp_id`.
    pub fn new(origin: &str, rp_id: &str) -> SoftPasskey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("P-256 key");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).expect("key");
        let mut credential_id = vec![0u8; 16];
        rng.fill(&mut credential_id).expect("random");
        SoftPasskey {
            key,
            credential_id,
            user_handle: Vec::new(),
            origin: origin.into(),
            rp_id: rp_id.into(),
            counter: 0,
        }
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    /// The COSE_Key (EC2, ES256, P-256) of the public key.
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref(); // 0x04 | x | y
        let mut out = vec![0xA5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cbor_bytes(&mut out, &point[1..33]);
        out.push(0x22);
        cbor_bytes(&mut out, &point[33..65]);
        out
    }

    fn auth_data(&self, flags: u8, attested: bool) -> Vec<u8> {
        let mut data = digest(&SHA256, self.rp_id.as_bytes()).as_ref().to_vec();
        data.push(flags);
        data.extend(self.counter.to_be_bytes());
        if attested {
            data.extend([0u8; 16]); // AAGUID
            data.extend((self.credential_id.len() as u16).to_be_bytes());
            data.extend(&self.credential_id);
            data.extend(self.cose_key());
        }
        data
    }

    /// The `RegisterPublicKeyCredential` answering the server's creation options.
    pub fn register(&mut self, options: &Value) -> Value {
        let challenge = options["publicKey"]["challenge"].as_str().expect("a challenge");
        let user = options["publicKey"]["user"]["id"].as_str().expect("a user id");
        self.user_handle = URL_SAFE_NO_PAD.decode(user.trim_end_matches('=')).expect("base64url user id");
        let client_data = self.client_data("webauthn.create", challenge);
        let mut attestation = vec![0xA3];
        cbor_text(&mut attestation, "fmt");
        cbor_text(&mut attestation, "none");
        cbor_text(&mut attestation, "attStmt");
        attestation.push(0xA0);
        cbor_text(&mut attestation, "authData");
        cbor_bytes(&mut attestation, &self.auth_data(UP | UV | AT, true));
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {"attestationObject": b64(&attestation), "clientDataJSON": b64(&client_data)},
            "extensions": {},
        })
    }

    /// The `PublicKeyCredential` answering the server's request options (signed over
    /// authenticator data and the hash of the client data).
    pub fn sign_in(&mut self, options: &Value) -> Value {
        let challenge = options["publicKey"]["challenge"].as_str().expect("a challenge");
        self.counter += 1;
        let client_data = self.client_data("webauthn.get", challenge);
        let auth_data = self.auth_data(UP | UV, false);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(digest(&SHA256, &client_data).as_ref());
        let signature = self.key.sign(&SystemRandom::new(), &signed).expect("sign");
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.as_ref()),
                "userHandle": b64(&self.user_handle),
            },
            "extensions": {},
        })
    }
}
