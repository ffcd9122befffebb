//! Helpers of the care-team portal's end-to-end tests: admin commands (organizations, staff
//! invites), portal requests (JSON API, HTML pages and form posts) and a signed-in nurse with
//! a software passkey ([`crate::passkey::SoftPasskey`]).

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use phr_core::dataset::{examples, RecordBody, RecordKind, Subject};
use uuid::Uuid;

use crate::client::Device;
use crate::passkey::SoftPasskey;
use crate::TestDatabase;

/// The maternal and child handbook number system the test families use.
pub const HANDBOOK: &str = "urn:oid:1.2.392.100495.20.3.81";

/// Runs an admin command of `bin` against the test database: (success, stdout and stderr).
pub fn cli(bin: &Path, dir: &Path, db: &TestDatabase, args: &[&str]) -> (bool, String) {
    let out = Command::new(bin)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .args(["--database-url", &db.url()])
        .env_remove("PHR_DATABASE_URL")
        .env_remove("PHR_PUBLIC_BASE_URL")
        .output()
        .expect("run phr-server");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// `org add` of a clinic for treatment (no SMART key: a portal-only organization).
pub fn add_org(bin: &Path, dir: &Path, db: &TestDatabase, id: &str) {
    let (ok, out) =
        cli(bin, dir, db, &["org", "add", "--id", id, "--name", id, "--kind", "clinic", "--purpose", "treatment"]);
    assert!(ok, "{out}");
}

/// `staff invite …`: the staff id and the invite token from the printed link.
pub fn invite(bin: &Path, dir: &Path, db: &TestDatabase, org: &str, name: &str, extra: &[&str]) -> (String, String) {
    let (ok, out) = cli(bin, dir, db, &[&["staff", "invite", "--org", org, "--name", name], extra].concat());
    assert!(ok, "{out}");
    let staff_id = out.split_whitespace().nth(2).expect("the staff id").to_owned();
    let link = out.lines().find(|l| l.contains("/portal/invite/")).expect("the invite link");
    let token = link.split("/portal/invite/").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    (staff_id, token)
}

/// A portal answer: status, headers we look at, JSON body (null when empty).
pub struct Answer {
    pub status: u16,
    pub set_cookie: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The cookie's value from `Set-Cookie`.
    pub fn cookie(&self) -> String {
        let set = self.set_cookie.as_deref().expect("a Set-Cookie header");
        set.split(';').next().unwrap().split_once('=').unwrap().1.to_owned()
    }
}

pub fn call(base: &str, method: &str, path: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Answer {
    let url = format!("{base}{path}");
    // Redirects are answers to look at, not to follow.
    let agent = agent();
    let resp = match method {
        "GET" => {
            let mut req = agent.get(&url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.call()
        }
        "POST" => {
            let mut req = agent.post(&url).header("Content-Type", "application/json");
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.send(body.map(Value::to_string).unwrap_or_default())
        }
        "FORM" => {
            // An HTML form post: `body` is a JSON array of [name, value] pairs.
            let pairs: Vec<(String, String)> = body
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter().map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_str().unwrap().to_owned())).collect()
                })
                .unwrap_or_default();
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &pairs {
                form.append_pair(k, v);
            }
            let mut req = agent.post(&url).header("Content-Type", "application/x-www-form-urlencoded");
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.send(form.finish())
        }
        other => panic!("method {other}"),
    };
    answer_of(resp.expect("portal request"))
}

/// An answer's status, headers and body (JSON; other text as `{"text": …}`; empty as null).
fn answer_of(mut resp: ureq::http::Response<ureq::Body>) -> Answer {
    let status = resp.status().as_u16();
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let set_cookie = resp.headers().get("set-cookie").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(json!({"text": text})) };
    Answer { status, set_cookie, headers, body }
}

/// A portal client: answers are not errors, redirects are not followed.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into()
}

/// Posts raw `body` bytes with `content_type` (a multipart upload); the answer as [`call`]'s.
pub fn post_bytes(base: &str, path: &str, content_type: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Answer {
    let mut req = agent().post(&format!("{base}{path}")).header("Content-Type", content_type);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    answer_of(req.send(&body[..]).expect("portal request"))
}

/// A `multipart/form-data` body of text `fields` and one file (`file_field`, `bytes`):
/// (content type, body).
pub fn multipart(fields: &[(&str, &str)], file_field: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "phr-test-boundary-7d1f0c";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"results.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub fn with_cookie(cookie: &str) -> String {
    format!("phr_portal={cookie}")
}

pub fn session(base: &str, cookie: &str) -> Answer {
    call(base, "GET", "/portal/api/session", None, &[("Cookie", &with_cookie(cookie))])
}

/// Registers `passkey` with the invite `token`: the answer of `register/finish`.
pub fn register(base: &str, token: &str, passkey: &mut SoftPasskey) -> Answer {
    let start = call(base, "POST", &format!("/portal/api/invites/{token}/register/start"), None, &[]);
    assert_eq!(start.status, 200, "{}", start.body);
    let credential = passkey.register(&start.body);
    call(base, "POST", &format!("/portal/api/invites/{token}/register/finish"), Some(&credential), &[])
}

pub fn sign_in(base: &str, passkey: &mut SoftPasskey) -> Answer {
    let start = call(base, "POST", "/portal/api/signin/start", None, &[]);
    assert_eq!(start.status, 200, "{}", start.body);
    let assertion = passkey.sign_in(&start.body);
    call(base, "POST", "/portal/api/signin/finish", Some(&assertion), &[])
}

/// The 32-hex patient id of the first patient link (`/portal/patients/<id>`) of a page.
pub fn patient_id_in(page: &str) -> Option<String> {
    let at = page.find("/portal/patients/")? + "/portal/patients/".len();
    page.get(at..at + 32).filter(|id| id.bytes().all(|b| b.is_ascii_hexdigit())).map(str::to_owned)
}

/// The HTML (or other text) of an answer that was not JSON.
pub fn html(answer: &Answer) -> &str {
    answer.body["text"].as_str().unwrap_or_default()
}

/// A staff member signed in to the portal: their session cookie and CSRF token.
pub struct SignedIn {
    pub staff_id: String,
    pub cookie: String,
    pub csrf: String,
}

impl SignedIn {
    /// Invites `name` of `org` with the admin CLI and registers a software passkey with the
    /// invite (origin `http://localhost:PORT` of the server's `base`).
    pub fn invite_and_register(
        bin: &Path,
        dir: &Path,
        db: &TestDatabase,
        base: &str,
        org: &str,
        name: &str,
    ) -> SignedIn {
        let (staff_id, token) = invite(bin, dir, db, org, name, &[]);
        Self::register(base, staff_id, &token)
    }

    /// [`SignedIn::invite_and_register`] of an admin of `org`.
    pub fn invite_admin(bin: &Path, dir: &Path, db: &TestDatabase, base: &str, org: &str, name: &str) -> SignedIn {
        let (staff_id, token) = invite(bin, dir, db, org, name, &["--admin"]);
        Self::register(base, staff_id, &token)
    }

    /// Registers a software passkey with invite `token` (of `staff_id`).
    pub fn register(base: &str, staff_id: String, token: &str) -> SignedIn {
        let port = base.rsplit(':').next().unwrap().to_owned();
        let mut passkey = SoftPasskey::new(&format!("http://localhost:{port}"), "localhost");
        let registered = register(base, token, &mut passkey);
        assert_eq!(registered.status, 200, "{}", registered.body);
        let csrf = registered.body["csrf_token"].as_str().expect("the CSRF token").to_owned();
        SignedIn { staff_id, cookie: registered.cookie(), csrf }
    }

    /// A page or endpoint of the portal with this session (`FORM`: an HTML form post of `pairs`).
    pub fn call(&self, base: &str, method: &str, path: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Answer {
        let cookie = with_cookie(&self.cookie);
        let mut all = vec![("Cookie", cookie.as_str())];
        all.extend_from_slice(headers);
        call(base, method, path, body, &all)
    }

    /// Uploads a results file: `form` (`child_checkup`, …), `encoding`, the file's bytes (the
    /// CSRF token added unless `csrf` is false), in English.
    pub fn upload(&self, base: &str, form: &str, encoding: &str, bytes: &[u8], csrf: bool) -> Answer {
        let mut fields = vec![("form", form), ("encoding", encoding)];
        if csrf {
            fields.push(("csrf", self.csrf.as_str()));
        }
        let (content_type, body) = multipart(&fields, "file", bytes);
        let cookie = with_cookie(&self.cookie);
        post_bytes(base, "/portal/uploads", &content_type, body, &[("Cookie", &cookie), ("Accept-Language", "en")])
    }

    /// Posts an HTML form of `pairs` (the CSRF token added unless `csrf` is false), in English.
    pub fn post_form(&self, base: &str, path: &str, pairs: &[(&str, &str)], csrf: bool) -> Answer {
        let mut all: Vec<Value> = pairs.iter().map(|(k, v)| json!([k, v])).collect();
        if csrf {
            all.push(json!(["csrf", self.csrf]));
        }
        self.call(base, "FORM", path, Some(&Value::Array(all)), &[("Accept-Language", "en")])
    }
}

pub fn add(device: &mut Device, subject: Subject, body: Value) -> Uuid {
    let id = Uuid::now_v7();
    let kind: RecordKind = body["kind"].as_str().unwrap().parse().unwrap();
    // The body must be one phr-core reads.
    let _: RecordBody = serde_json::from_value(body.clone()).expect("a valid record body");
    device.edit(id, kind, subject, body);
    id
}

pub fn days_ago(n: i64) -> String {
    (chrono::Utc::now().date_naive() - chrono::Days::new(n as u64)).to_string()
}

/// A family with a daughter born 120 days ago (newborn record, a 1-month checkup, a hepatitis B
/// dose, a milestone, and the handbook number `number` as her identifier), synced: its records (by kind) and the child subject.
pub fn family(base: &str, name: &str, number: &str) -> (Device, Subject, Vec<(RecordKind, Uuid)>) {
    let mut device = Device::create_account(base, name);
    let child = Subject::Child(Uuid::now_v7());
    let birth = days_ago(120);
    let mut records = Vec::new();
    let newborn = json!({"kind": "newborn", "body": {"sex": "female", "birth_date": birth,
        "birth_weight": {"value": 3050.0, "unit": "g"}, "birth_length": {"value": 49.5, "unit": "cm"}}});
    records.push((RecordKind::Newborn, add(&mut device, child, newborn)));
    let checkup = json!({"kind": "child_checkup", "body": {"date": days_ago(90), "checkup_type": "month_1",
        "weight": {"value": 4.2, "unit": "kg"}, "length": {"value": 53.5, "unit": "cm"}, "length_position": "recumbent"}});
    records.push((RecordKind::ChildCheckup, add(&mut device, child, checkup)));
    let mut dose = serde_json::to_value(RecordBody::Immunization(examples::immunization_full())).unwrap();
    dose["body"]["vaccine"] = json!("hepatitis_b");
    dose["body"]["series"] = json!("primary");
    dose["body"]["date_given"] = json!(days_ago(55));
    // A hepatitis B dose: the example's MR product name and codes do not belong to it.
    for key in ["next_due_date", "vaccine_name", "hot9_code", "yj_code"] {
        dose["body"].as_object_mut().unwrap().remove(key);
    }
    records.push((RecordKind::Immunization, add(&mut device, child, dose)));
    let milestone = json!({"kind": "development", "body": {"milestone": "social_smile", "achieved": "yes",
        "answered_on": days_ago(60)}});
    records.push((RecordKind::Development, add(&mut device, child, milestone)));
    let ids = json!({"kind": "subject_identifiers", "body": {"identifiers": [{"system": HANDBOOK, "value": number}]}});
    records.push((RecordKind::SubjectIdentifiers, add(&mut device, child, ids)));
    device.sync();
    (device, child, records)
}
