//! Emergency cards from both sides, for the e2e tests and `bench-emergency`: the family's
//! device (an IPS summary built and sealed on the device, uploaded as ciphertext) and an
//! emergency team's SHL receiver (the manifest request, no account).

use phr_core::crypto::shl::{open_file, seal_file, ShlFlags, ShlKey, ShlPayload};
use phr_core::dataset::{examples, RecordBody};
use phr_fhir::ips::{emergency_summary, SummaryInput, SummaryRecord};
use phr_fhir::model::Patient;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::client::Device;

/// The content type of a card's file.
pub const FHIR_JSON: &str = "application/fhir+json";

/// The mother's records an emergency summary is made of in these tests and benches.
pub fn mother_records() -> [RecordBody; 6] {
    [
        RecordBody::MotherProfile(examples::mother_profile_full()),
        RecordBody::Pregnancy(examples::pregnancy_minimal()),
        RecordBody::PrenatalVisit(examples::prenatal_visit_full()),
        RecordBody::Medication(examples::medication_full()),
        RecordBody::Allergy(examples::allergy_full()),
        RecordBody::Condition(examples::condition_full()),
    ]
}

/// The mother's emergency summary (an IPS document Bundle) as the app would build it, as JSON.
pub fn mother_summary(label: &str) -> Vec<u8> {
    let records = mother_records();
    let ids: Vec<Uuid> = records.iter().map(|_| Uuid::now_v7()).collect();
    let input = SummaryInput {
        patient: Patient { id: Some("mother".into()), active: Some(true), ..Default::default() },
        records: records.iter().zip(&ids).map(|(body, id)| SummaryRecord { id: *id, body }).collect(),
        today: chrono::Utc::now().date_naive(),
        now: chrono::Utc::now(),
        author: label.to_owned(),
    };
    let doc = emergency_summary(&input).expect("the example records make a summary");
    serde_json::to_vec(&doc).expect("a Bundle serializes")
}

/// A card as its family's device holds it: the id, the QR code's link, and its key.
pub struct Card {
    pub card_id: String,
    pub url: String,
    pub key: ShlKey,
    pub shlink: String,
}

/// Creates a card for the mother with `summary` sealed under a fresh key; `passcode` optional.
pub fn create_card(device: &Device, summary: &[u8], passcode: Option<&str>) -> Card {
    let key = ShlKey::generate().expect("a key");
    let file = seal_file(&key, FHIR_JSON, summary).expect("sealed");
    let mut body = json!({"subject": "mother", "file": file});
    if let Some(p) = passcode {
        body["passcode"] = json!(p);
    }
    let (status, answer) = device.call("POST", "/emergency/v1/cards", Some(&body));
    assert_eq!(status, 201, "create card: {answer}");
    card_from(answer, key, passcode.is_some())
}

/// The card of a create or rotate answer, its link built as the app builds it.
pub fn card_from(answer: Value, key: ShlKey, passcode: bool) -> Card {
    let url = answer["url"].as_str().unwrap_or_else(|| panic!("no url: {answer}")).to_owned();
    let shlink = ShlPayload {
        url: url.clone(),
        key: key.clone(),
        exp: None,
        flags: ShlFlags { long_term: true, passcode, direct_file: false },
        label: Some("Emergency summary (mother)".into()),
    }
    .encode()
    .expect("a link");
    Card { card_id: answer["card"]["card_id"].as_str().expect("card id").to_owned(), url, key, shlink }
}

/// An HTTP agent for readers (no credentials), statuses returned not raised ([`crate::http`]).
pub fn reader_agent() -> ureq::Agent {
    crate::http()
}

/// A manifest request: (status, `Access-Control-Allow-Origin`, JSON body).
pub fn manifest(agent: &ureq::Agent, url: &str, body: &Value) -> (u16, Option<String>, Value) {
    let mut resp = agent.post(url).send_json(body).expect("manifest request");
    let status = resp.status().as_u16();
    let cors = resp.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let json =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text}"));
    (status, cors, json)
}

/// A file location: (status, content type, body).
pub fn fetch_location(agent: &ureq::Agent, url: &str) -> (u16, String, String) {
    let mut resp = agent.get(url).call().expect("file request");
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (status, ct, resp.body_mut().read_to_string().unwrap_or_default())
}

/// What a reader gets from a successful manifest: the decrypted file of its one entry
/// (embedded, or fetched from its location), as JSON.
pub fn read_summary(agent: &ureq::Agent, key: &ShlKey, manifest: &Value) -> Value {
    let file = &manifest["files"][0];
    assert_eq!(file["contentType"], FHIR_JSON, "{manifest}");
    let jwe = match (file["embedded"].as_str(), file["location"].as_str()) {
        (Some(jwe), None) => jwe.to_owned(),
        (None, Some(location)) => {
            let (status, ct, body) = fetch_location(agent, location);
            assert_eq!((status, ct.as_str()), (200, "application/jose"), "{body}");
            body
        }
        _ => panic!("a file is embedded or at a location, not both or neither: {manifest}"),
    };
    let (cty, plain) = open_file(key, &jwe).expect("the file opens with the card's key");
    assert_eq!(cty.as_deref(), Some(FHIR_JSON));
    // CI validates every dumped FHIR body (fhir.resources and the official R4 schema).
    crate::fhir::dump(&String::from_utf8_lossy(&plain));
    serde_json::from_slice(&plain).expect("the summary is JSON")
}

/// The local push service (`tests/python/push_endpoint.py`): its subscription, and the pushes it received.
pub struct PushService {
    child: std::process::Child,
    /// `endpoint`, `p256dh`, `auth` (and `gone_endpoint`, a subscription that answers 410).
    pub subscription: Value,
    /// Each push received: the decrypted `plaintext` and what was checked of it.
    pub received: std::sync::mpsc::Receiver<Value>,
}

impl PushService {
    /// Starts the endpoint with `python` (which has `http_ece`).
    pub fn start(python: &std::ffi::OsStr) -> PushService {
        use std::io::BufRead;
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/push_endpoint.py");
        let mut child = std::process::Command::new(python)
            .arg(script)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the push endpoint starts");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("the push endpoint prints its subscription").unwrap();
        let subscription: Value = serde_json::from_str(&first).unwrap();
        let (tx, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if tx.send(serde_json::from_str::<Value>(&line).unwrap()).is_err() {
                    break;
                }
            }
        });
        PushService { child, subscription, received }
    }

    /// The next push (15 s at most).
    pub fn next(&self) -> Value {
        self.received.recv_timeout(std::time::Duration::from_secs(15)).expect("a push arrives")
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PushService {
    /// Subscribes `device` to this endpoint.
    pub fn subscribe(&self, device: &Device) {
        let sub = &self.subscription;
        let body = json!({"endpoint": sub["endpoint"], "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}});
        let (status, created) = device.call("POST", "/notify/v1/push-subscriptions", Some(&body));
        assert_eq!(status, 201, "{created}");
    }
}
