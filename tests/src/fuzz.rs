//! The fuzz targets: every parser that takes bytes from the network or from a
//! file, driven with arbitrary bytes.
//!
//! Each `pub fn` here is one target. The same functions run two ways:
//! - coverage-guided under libFuzzer (nightly): `fuzz/` holds one
//!   `fuzz_target!` per function (`scripts/fuzz.sh TARGET SECONDS`);
//! - bounded and on stable, in the normal test run:
//!   `tests/tests/fuzz_targets_bounded.rs` feeds each target random bytes and
//!   mutations of the valid inputs of [`seeds`] (proptest).
//!
//! A target fails by panicking: on a panic inside the parser, or when an
//! invariant stated here does not hold (what parses re-serializes and parses
//! to the same value; nothing opens without the right key).

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use phr_core::crypto::{
    hpke_open, open_record, seal_record, unwrap_data_key, unwrap_data_key_from, unwrap_grant_key, wrap_data_key,
    AccountKey, AccountWrapContext, DataKey, GrantKey, GrantWrapContext, HpkePrivateKey, RecordAad,
};
use phr_core::dataset::{examples, RecordBody, RecordKind, Validate, ValidationContext};
use phr_core::sync::protocol::{
    AddGrantKeysRequest, ChallengeRequest, CreateAccountRequest, CreateGrantRequest, JoinRequest, KeyBackupRequest,
    PullResponse, PushRequest, RecoveryEnrolRequest, RecoveryRequest, RefreshRequest, SessionRequest,
};
use phr_core::sync::record_envelope::{open_history, seal_history, BodyHistory};
use phr_fhir::model::{Bundle, Resource};
use phr_server::app::auth::TokenService;
use phr_server::keys::KeyStore;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P384_SHA384_FIXED_SIGNING};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

/// A fuzz target: takes any bytes, panics only on a defect.
pub type Target = fn(&[u8]);

/// The targets by name, as `fuzz/fuzz_targets/<name>.rs` and the bounded run know them.
pub const TARGETS: [(&str, Target); 6] = [
    ("record_envelope", record_envelope),
    ("record_history_json", record_history_json),
    ("sync_bodies", sync_bodies),
    ("fhir_bodies", fhir_bodies),
    ("jwt", jwt),
    ("medication_notebook", medication_notebook),
];

const ACCOUNT: &str = "0190f0a0-0000-7000-8000-000000000001";
const RECORD: Uuid = Uuid::from_u128(0x0190f0a0_0000_7000_8000_000000000002);

fn dek() -> DataKey {
    DataKey::from_bytes(&[7u8; 32]).expect("32 bytes make a data key")
}

fn aad() -> RecordAad<'static> {
    RecordAad { account_id: ACCOUNT, record_id: RECORD, version: 3 }
}

/// Sealed bytes from the network: record envelopes, wrapped data keys and
/// HPKE-wrapped grant/record keys. Nothing opens but what [`seeds`] sealed
/// with the target's fixed keys (nobody forges AES-GCM or HPKE without the
/// key), and nothing panics.
pub fn record_envelope(data: &[u8]) {
    if let Ok(plaintext) = open_record(&dek(), &aad(), data) {
        let known = [serde_json::to_vec(&example_history()).expect("history JSON"), b"{}".to_vec()];
        assert!(known.contains(&plaintext), "bytes not sealed by the seeds opened as a record envelope");
    }
    let _ = open_history(&dek(), &aad(), data);
    let account_key = AccountKey::from_bytes(&[9u8; 32]).expect("account key");
    let ctx = AccountWrapContext { account_id: ACCOUNT, record_id: RECORD };
    assert!(unwrap_data_key(&account_key, data, &ctx).is_err(), "arbitrary bytes unwrapped as a data key");
    let view = HpkePrivateKey::from_bytes(&[5u8; 32]).expect("X25519 key");
    assert!(hpke_open(&view, b"info", b"aad", data).is_err());
    if let Ok(grant_key) = unwrap_grant_key(&view, data, ACCOUNT, RECORD) {
        // It is the seeds' grant key: what it wraps, that key unwraps.
        let ctx = GrantWrapContext { account_id: ACCOUNT, grant_id: RECORD, record_id: RECORD };
        let wrapped = wrap_data_key(&grant_key, &dek(), &ctx);
        let seeds_key = GrantKey::from_bytes(&[3u8; 32]).expect("grant key");
        assert!(unwrap_data_key(&seeds_key, &wrapped, &ctx).is_ok(), "bytes not wrapped by the seeds opened");
    }
    assert!(unwrap_data_key_from(&view, data, ACCOUNT, RECORD).is_err());
}

/// The plaintext inside an envelope: a record's history as JSON. What parses
/// is validated like a device or the server does, merged, and round-trips;
/// sealed and opened again it is the same history.
pub fn record_history_json(data: &[u8]) {
    let Ok(history) = serde_json::from_slice::<BodyHistory>(data) else { return };
    let ctx = ValidationContext::new(examples::TODAY);
    for version in history.versions() {
        if let Some(body) = version.edit() {
            let _ = body.validate(&ctx);
            let _ = body.effective_date();
        }
    }
    let _ = history.winner();
    round_trips(&history);
    let sealed = seal_history(&dek(), &aad(), &history);
    let opened = open_history(&dek(), &aad(), &sealed).expect("a sealed history opens");
    assert_eq!(serde_json::to_value(&opened).ok(), serde_json::to_value(&history).ok());
}

/// JSON bodies of the device API (requests the server reads, and the pull
/// response the phone reads).
pub fn sync_bodies(data: &[u8]) {
    parses_and_round_trips::<PushRequest>(data);
    parses_and_round_trips::<PullResponse>(data);
    parses_and_round_trips::<CreateAccountRequest>(data);
    parses_and_round_trips::<ChallengeRequest>(data);
    parses_and_round_trips::<SessionRequest>(data);
    parses_and_round_trips::<RefreshRequest>(data);
    parses_and_round_trips::<JoinRequest>(data);
    parses_and_round_trips::<KeyBackupRequest>(data);
    parses_and_round_trips::<RecoveryRequest>(data);
    parses_and_round_trips::<RecoveryEnrolRequest>(data);
    parses_and_round_trips::<CreateGrantRequest>(data);
    parses_and_round_trips::<AddGrantKeysRequest>(data);
    if let Ok(body) = serde_json::from_slice::<RecordBody>(data) {
        let _ = body.validate(&ValidationContext::new(examples::TODAY));
    }
}

/// FHIR JSON a clinic writes (`POST`/`PUT` of a resource, a transaction
/// Bundle): parsed with phr-fhir's models and mapped to every dataset module,
/// as `server/src/app/fhir/write.rs` does, then validated.
pub fn fhir_bodies(data: &[u8]) {
    let ctx = ValidationContext::new(examples::TODAY);
    if let Ok(resource) = serde_json::from_slice::<Resource>(data) {
        let resources = [resource];
        for kind in RecordKind::ALL {
            if let Ok(body) = phr_fhir::mapping::from_fhir(kind, &resources) {
                let _ = body.validate(&ctx);
            }
        }
        let text = serde_json::to_vec(&resources[0]).expect("a parsed resource serializes");
        serde_json::from_slice::<Resource>(&text).expect("a serialized resource parses again");
    }
    if let Ok(bundle) = serde_json::from_slice::<Bundle>(data) {
        let resources: Vec<Resource> = bundle.resources().cloned().collect();
        for kind in RecordKind::ALL {
            if let Ok(body) = phr_fhir::mapping::from_fhir(kind, &resources) {
                let _ = body.validate(&ctx);
            }
        }
    }
}

struct JwtKeys {
    tokens: TokenService,
    jwks: String,
    _dir: tempfile::TempDir,
}

fn jwt_keys() -> &'static JwtKeys {
    static KEYS: OnceLock<JwtKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary key directory");
        let (store, _) = KeyStore::open_or_create(dir.path()).expect("server keys");
        let tokens = TokenService::new(&store).expect("token service");
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).expect("P-384 key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng).expect("key");
        let point = pair.public_key().as_ref();
        let jwks = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-384", "kid": "k1", "alg": "ES384",
            "x": B64URL.encode(&point[1..49]), "y": B64URL.encode(&point[49..97])}]})
        .to_string();
        JwtKeys { tokens, jwks, _dir: dir }
    })
}

/// Bearer tokens and SMART client assertions: device access tokens,
/// organization access tokens, and an organization's client assertion (its
/// issuer read before verification, then the full check against a JWKS).
/// Nothing arbitrary verifies.
pub fn jwt(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let keys = jwt_keys();
    if let Ok(claims) = keys.tokens.verify(text) {
        // Only the token the seeds issued verifies.
        assert_eq!((claims.acc.as_str(), claims.sub.as_str()), (ACCOUNT, "device-1"), "a forged token verified");
    }
    assert!(keys.tokens.verify_organization(text).is_err(), "an arbitrary string verified as an org token");
    let _ = phr_server::app::smart::assertion::unverified_issuer(text);
    let verified = phr_server::app::smart::assertion::verify(
        text,
        "org-1",
        &keys.jwks,
        Some("http://127.0.0.1/jwks.json"),
        "http://127.0.0.1/auth/token",
        1_900_000_000,
    );
    assert!(verified.is_err(), "an arbitrary string verified as a client assertion");
}

/// JAHIS medication notebook files and QR texts (phr-core
/// `medication_notebook`): the bytes as a file (UTF-8 or Shift_JIS) and, when
/// they are text, split at blank lines into QR codes in reverse order. What
/// imports is valid, exports, and imports again to the same medications.
pub fn medication_notebook(data: &[u8]) {
    use phr_core::medication_notebook as nb;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).expect("a date");
    if let Ok(result) = nb::import_bytes(data, today, None) {
        let meds: Vec<_> = result.medications().cloned().collect();
        for m in &meds {
            assert!(m.validate(&ValidationContext::new(today)).is_ok(), "an imported medication does not validate");
        }
        // Values the export must rewrite (an ASCII comma, a control character) change on the way back.
        let text = nb::export_text(&meds, None);
        let again = nb::import_texts(&[text.as_str()], today, None).expect("an export imports");
        assert_eq!(again.medications().count(), meds.len(), "an export lost or added medications");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let mut parts: Vec<&str> = text.split("\n\n").collect();
        parts.reverse();
        let _ = nb::import_texts(&parts, today, None);
        let mut assembler = nb::QrAssembler::new();
        for p in &parts {
            let _ = assembler.add(p);
        }
        let _ = assembler.finish();
    }
}

fn parses_and_round_trips<T: DeserializeOwned + Serialize>(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<T>(data) {
        round_trips(&value);
    }
}

/// What was parsed serializes, and that text parses to the same JSON.
fn round_trips<T: DeserializeOwned + Serialize>(value: &T) {
    let text = serde_json::to_vec(value).expect("a parsed value serializes");
    let again: T = serde_json::from_slice(&text).expect("a serialized value parses again");
    assert_eq!(serde_json::to_value(&again).ok(), serde_json::to_value(value).ok(), "round trip changed the value");
}

/// Valid inputs for each target: the starting corpus of a fuzzing run and
/// the base of the bounded run's mutations.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "record_envelope" => {
            let history = example_history();
            let mut out = vec![seal_history(&dek(), &aad(), &history), seal_record(&dek(), &aad(), b"{}")];
            let view = HpkePrivateKey::from_bytes(&[5u8; 32]).expect("X25519 key");
            let grant = GrantKey::from_bytes(&[3u8; 32]).expect("grant key");
            out.extend(phr_core::crypto::wrap_grant_key_to(&view.public_key(), &grant, ACCOUNT, RECORD).ok());
            out
        }
        "record_history_json" => vec![serde_json::to_vec(&example_history()).expect("history JSON")],
        "sync_bodies" => {
            let mut out: Vec<Vec<u8>> = examples::all_full()
                .iter()
                .chain(examples::all_minimal().iter())
                .map(|b| serde_json::to_vec(b).expect("body JSON"))
                .collect();
            let envelope = B64URL.encode(seal_history(&dek(), &aad(), &example_history()));
            out.push(
                serde_json::json!({"batch_id": Uuid::from_u128(1), "changes": [{
                    "record_id": RECORD, "kind": "self_vitals", "subject": "mother", "base_version": 0,
                    "deleted": false, "effective_date": "2029-11-30", "envelope": envelope,
                    "wrapped_dek": B64URL.encode([1u8; 60])}]})
                .to_string()
                .into_bytes(),
            );
            out
        }
        "fhir_bodies" => {
            let ctx = phr_fhir::mapping::MappingContext::new(RECORD, "patient-1");
            let mut out = Vec::new();
            for body in examples::all_full() {
                if let Ok(resources) = phr_fhir::mapping::to_fhir(&body, &ctx) {
                    for r in &resources {
                        out.push(serde_json::to_vec(r).expect("resource JSON"));
                    }
                    let bundle = Bundle::transaction("http://127.0.0.1/fhir/r4", resources);
                    out.push(serde_json::to_vec(&bundle).expect("bundle JSON"));
                }
            }
            out
        }
        "jwt" => {
            let keys = jwt_keys();
            let (token, _) = keys.tokens.issue(ACCOUNT, "device-1", 1_900_000_000).expect("token");
            vec![token.into_bytes(), b"eyJhbGciOiJFUzM4NCIsImtpZCI6ImsxIn0.eyJpc3MiOiJvcmctMSJ9.AAAA".to_vec()]
        }
        "medication_notebook" => {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src/medication_notebook/vectors");
            let mut out = Vec::new();
            for name in ["full-utf8-lf.txt", "ext-chars-sjis-crlf.csv", "malformed-bad-date.txt"] {
                out.push(std::fs::read(dir.join(name)).expect("a test vector"));
            }
            let parts: Vec<String> = (1..=3)
                .map(|i| std::fs::read_to_string(dir.join(format!("split-part{i}-of-3.txt"))).expect("a split part"))
                .collect();
            out.push(parts.join("\n\n").into_bytes());
            out
        }
        _ => Vec::new(),
    }
}

fn example_history() -> BodyHistory {
    use phr_core::sync::{Change, DeviceId, Hlc, RecordVersion, VersionStamp};
    let mut history = BodyHistory::new();
    let bodies = examples::all_full().into_iter().take(3).map(Change::Edit).chain([Change::Delete]);
    for (i, change) in bodies.enumerate() {
        let device = DeviceId::new(format!("device-{i}")).expect("device id");
        let stamp = VersionStamp::new(Hlc { wall_ms: 1_900_000_000_000 + i as u64, counter: 0 }, device);
        history.merge(RecordVersion { stamp, base_version: i as u64, change });
    }
    history
}
