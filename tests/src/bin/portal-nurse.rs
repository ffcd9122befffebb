//! A clinic nurse in the care-team portal, for the mobile scenarios in Python
//! (`tests/python/mobile/test_portal.py`): registers a software passkey with an invite
//! (`phr_tests::passkey`, as a browser's authenticator would), finds the child by the
//! identifier the family shared, and enters an infant checkup through the portal's form.
//!
//!   portal-nurse BASE_URL INVITE_TOKEN IDENTIFIER WEIGHT_KG [DATE]
//!
//! Prints one JSON line: `{"patient_id": …, "status": <the form post's status>, "location": …}`.

use phr_tests::portal::{html, patient_id_in, SignedIn};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, token, identifier, weight, rest @ ..] = args.as_slice() else {
        eprintln!("usage: portal-nurse BASE_URL INVITE_TOKEN IDENTIFIER WEIGHT_KG [DATE]");
        std::process::exit(2);
    };
    let date = rest.first().cloned().unwrap_or_else(|| chrono::Utc::now().date_naive().to_string());
    let nurse = SignedIn::register(base, String::new(), token);
    let query: String = form_urlencoded::byte_serialize(identifier.as_bytes()).collect();
    let found = nurse.call(base, "GET", &format!("/portal/patients?identifier={query}"), None, &[]);
    let page = html(&found);
    let Some(patient) = patient_id_in(page) else {
        eprintln!("no patient with this identifier (search answered {})", found.status);
        std::process::exit(1);
    };
    let fields = [
        ("date", date.as_str()),
        ("checkup_type", "months_3_4"),
        ("weight", weight.as_str()),
        ("length", "61.0"),
        ("length_position", "recumbent"),
    ];
    let saved = nurse.post_form(base, &format!("/portal/patients/{patient}/results/child_checkup"), &fields, true);
    println!(
        "{}",
        serde_json::json!({"patient_id": patient, "status": saved.status, "location": saved.header("location")})
    );
}
