//! Checking a SMART Backend Services client assertion (a `private_key_jwt`,
//! RFC 7523): signed with RS384 or ES384 by a key of the organization's
//! registered JWKS chosen by `kid`; `iss` == `sub` == the organization id;
//! `aud` == the token endpoint URL; `exp` at most 5 minutes ahead; a `jti`.
//! The jti's single use is checked against the database by the caller.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::app::error::OAuthError;

/// The longest assertion `exp` may be ahead of now (SMART: no more than 5 minutes).
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 300;
/// Clock skew tolerated on `exp`, both ways.
pub const CLOCK_SKEW_SECS: i64 = 30;
/// The longest `jti` stored.
pub const MAX_JTI_CHARS: usize = 255;
/// The longest assertion accepted, in bytes.
pub const MAX_ASSERTION_BYTES: usize = 16 * 1024;

/// The verified claims the token endpoint needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub sub: String,
    /// Defaults only so that a missing claim is reported by name (the
    /// validation requires `exp`; an empty `jti` is refused below).
    #[serde(default)]
    pub exp: i64,
    #[serde(default)]
    pub jti: String,
}

#[derive(Deserialize)]
struct UnverifiedIssuer {
    iss: Option<String>,
}

fn invalid(why: impl Into<String>) -> OAuthError {
    OAuthError::InvalidClient(why.into())
}

/// The `iss` of an assertion before its signature is checked: only to find
/// the organization whose keys then verify it.
pub fn unverified_issuer(assertion: &str) -> Result<String, OAuthError> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(invalid("client_assertion is too large"));
    }
    let payload = assertion.split('.').nth(1).ok_or_else(|| invalid("client_assertion is not a JWT"))?;
    let bytes = B64URL.decode(payload).map_err(|_| invalid("client_assertion is not a JWT"))?;
    let claims: UnverifiedIssuer =
        serde_json::from_slice(&bytes).map_err(|_| invalid("client_assertion payload is not a JSON object"))?;
    claims.iss.filter(|i| !i.is_empty()).ok_or_else(|| invalid("client_assertion has no iss"))
}

/// The header of a client assertion, before any key is looked up: the `kid`
/// it names, refused outright for an unsupported `alg`, a missing `kid`, an
/// embedded key (`jwk`, `x5u`), or a `jku` other than the client's registered
/// JWKS URL (`registered_jku`; SMART: "the jku header ... SHALL match" it).
pub fn checked_kid(assertion: &str, registered_jku: Option<&str>) -> Result<String, OAuthError> {
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| invalid("client_assertion header is malformed or names an unsupported alg"))?;
    if !matches!(header.alg, Algorithm::RS384 | Algorithm::ES384) {
        return Err(invalid(format!("client_assertion alg {:?} is not supported: use RS384 or ES384", header.alg)));
    }
    if header.jwk.is_some() || header.x5u.is_some() {
        return Err(invalid("client_assertion names its own key (jwk/x5u): only registered keys are used"));
    }
    match (header.jku.as_deref(), registered_jku) {
        (None, _) => {}
        (Some(jku), Some(registered)) if jku == registered => {}
        (Some(_), Some(_)) => return Err(invalid("client_assertion jku is not the client's registered JWKS URL")),
        (Some(_), None) => {
            return Err(invalid("client_assertion names a jku, but the client registered keys, not a JWKS URL"))
        }
    }
    header.kid.filter(|k| !k.is_empty()).ok_or_else(|| invalid("client_assertion has no kid"))
}

/// True if the JWKS (JSON text) has a usable key with this `kid` for the assertion's algorithm.
pub fn has_key(assertion: &str, jwks: &str, kid: &str) -> bool {
    let Ok(header) = jsonwebtoken::decode_header(assertion) else { return false };
    let key_algorithm = match header.alg {
        Algorithm::RS384 => KeyAlgorithm::RS384,
        Algorithm::ES384 => KeyAlgorithm::ES384,
        _ => return false,
    };
    !matching_keys(jwks, kid, header.alg, key_algorithm).is_empty()
}

/// Verifies `assertion` for `client_id` against its registered `jwks` (JSON
/// text; fetched from `registered_jku` when the client registered a JWKS URL),
/// the token endpoint URL `audience`, at `now` (epoch s).
pub fn verify(
    assertion: &str,
    client_id: &str,
    jwks: &str,
    registered_jku: Option<&str>,
    audience: &str,
    now: i64,
) -> Result<AssertionClaims, OAuthError> {
    let kid = checked_kid(assertion, registered_jku)?;
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| invalid("client_assertion header is malformed or names an unsupported alg"))?;
    let key_algorithm = match header.alg {
        Algorithm::RS384 => KeyAlgorithm::RS384,
        Algorithm::ES384 => KeyAlgorithm::ES384,
        other => return Err(invalid(format!("client_assertion alg {other:?} is not supported: use RS384 or ES384"))),
    };
    let keys = matching_keys(jwks, &kid, header.alg, key_algorithm);
    if keys.is_empty() {
        return Err(invalid(format!("no registered {:?} key with the client_assertion's kid", header.alg)));
    }

    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.to_owned());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = CLOCK_SKEW_SECS as u64;
    validation.validate_nbf = true;

    let mut last_error = None;
    for key in keys {
        match jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation) {
            Ok(data) => return check_claims(data.claims, now),
            Err(e) => last_error = Some(e),
        }
    }
    use jsonwebtoken::errors::ErrorKind as K;
    Err(match last_error.as_ref().map(|e| e.kind()) {
        Some(K::ExpiredSignature) => invalid("client_assertion has expired"),
        Some(K::InvalidAudience) => invalid(format!("client_assertion aud must be the token endpoint {audience}")),
        Some(K::InvalidIssuer) | Some(K::InvalidSubject) => {
            invalid("client_assertion iss and sub must both be the client_id")
        }
        Some(K::MissingRequiredClaim(claim)) => invalid(format!("client_assertion has no {claim}")),
        Some(K::ImmatureSignature) => invalid("client_assertion is not valid yet (nbf)"),
        Some(K::InvalidSignature) => invalid("client_assertion signature does not verify"),
        _ => invalid("client_assertion is invalid"),
    })
}

/// What the signature check leaves to us: the 5-minute `exp` bound and the jti.
fn check_claims(claims: AssertionClaims, now: i64) -> Result<AssertionClaims, OAuthError> {
    if claims.exp > now + MAX_ASSERTION_LIFETIME_SECS + CLOCK_SKEW_SECS {
        return Err(invalid(format!(
            "client_assertion exp must be at most {MAX_ASSERTION_LIFETIME_SECS} seconds in the future"
        )));
    }
    if claims.jti.is_empty() || claims.jti.chars().count() > MAX_JTI_CHARS {
        return Err(invalid(format!("client_assertion jti must be 1–{MAX_JTI_CHARS} characters")));
    }
    Ok(claims)
}

/// Decoding keys of the JWKS with this `kid` that fit the algorithm (`kty`,
/// curve, and `alg` / `use` when the JWK states them). Keys that do not parse
/// (other key types, unknown algorithms) are skipped, not fatal.
fn matching_keys(jwks: &str, kid: &str, alg: Algorithm, key_algorithm: KeyAlgorithm) -> Vec<DecodingKey> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(jwks) else { return Vec::new() };
    let Some(entries) = value.get("keys").and_then(serde_json::Value::as_array) else { return Vec::new() };
    entries
        .iter()
        .filter(|k| k.get("kid").and_then(serde_json::Value::as_str) == Some(kid))
        .filter(|k| k.get("use").and_then(serde_json::Value::as_str).is_none_or(|u| u == "sig"))
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .filter(|jwk| jwk.common.key_algorithm.is_none_or(|a| a == key_algorithm))
        .filter(|jwk| match (&jwk.algorithm, alg) {
            (AlgorithmParameters::RSA(_), Algorithm::RS384) => true,
            (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES384) => ec.curve == EllipticCurve::P384,
            _ => false,
        })
        .filter_map(|jwk| DecodingKey::from_jwk(&jwk).ok())
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
    use serde_json::{json, Value};

    const AUD: &str = "https://phr.example.org/auth/token";
    const CLIENT: &str = "tanaka-clinic";

    /// A P-384 key: its encoding key and its public JWK.
    pub(crate) fn es384_key(kid: &str) -> (EncodingKey, Value) {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &SystemRandom::new()).unwrap();
        let point = pair.public_key().as_ref();
        let jwk = json!({
            "kty": "EC", "crv": "P-384", "kid": kid, "alg": "ES384", "use": "sig", "key_ops": ["verify"],
            "x": B64URL.encode(&point[1..49]), "y": B64URL.encode(&point[49..97]),
        });
        (EncodingKey::from_ec_der(pkcs8.as_ref()), jwk)
    }

    pub(crate) fn sign(key: &EncodingKey, alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn claims(now: i64) -> Value {
        json!({"iss": CLIENT, "sub": CLIENT, "aud": AUD, "exp": now + 240, "jti": "j-1"})
    }

    fn setup() -> (EncodingKey, String, i64) {
        let (key, jwk) = es384_key("k1");
        let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AA", "kid": "other"}, jwk]}).to_string();
        (key, jwks, chrono::Utc::now().timestamp())
    }

    fn error_of(result: Result<AssertionClaims, OAuthError>) -> String {
        match result {
            Err(OAuthError::InvalidClient(why)) => why,
            other => panic!("expected invalid_client, got {other:?}"),
        }
    }

    #[test]
    fn a_well_formed_es384_assertion_verifies_and_yields_its_jti() {
        let (key, jwks, now) = setup();
        let jwt = sign(&key, Algorithm::ES384, Some("k1"), &claims(now));
        assert_eq!(unverified_issuer(&jwt).unwrap(), CLIENT);
        let verified = verify(&jwt, CLIENT, &jwks, None, AUD, now).unwrap();
        assert_eq!((verified.jti.as_str(), verified.exp), ("j-1", now + 240));
    }

    #[test]
    fn an_audience_other_than_the_token_endpoint_is_refused() {
        let (key, jwks, now) = setup();
        let mut c = claims(now);
        c["aud"] = json!("https://phr.example.org/auth/token/");
        let why = error_of(verify(&sign(&key, Algorithm::ES384, Some("k1"), &c), CLIENT, &jwks, None, AUD, now));
        assert!(why.contains("aud"), "{why}");
    }

    #[test]
    fn exp_more_than_five_minutes_ahead_missing_or_past_is_refused() {
        let (key, jwks, now) = setup();
        let mut c = claims(now);
        c["exp"] = json!(now + 600);
        let why = error_of(verify(&sign(&key, Algorithm::ES384, Some("k1"), &c), CLIENT, &jwks, None, AUD, now));
        assert!(why.contains("at most 300 seconds"), "{why}");
        c["exp"] = json!(now - 120);
        let why = error_of(verify(&sign(&key, Algorithm::ES384, Some("k1"), &c), CLIENT, &jwks, None, AUD, now));
        assert!(why.contains("expired"), "{why}");
        c.as_object_mut().unwrap().remove("exp");
        let why = error_of(verify(&sign(&key, Algorithm::ES384, Some("k1"), &c), CLIENT, &jwks, None, AUD, now));
        assert!(why.contains("exp"), "{why}");
    }

    #[test]
    fn iss_and_sub_must_both_be_the_client_id() {
        let (key, jwks, now) = setup();
        for (field, value) in [("iss", "someone-else"), ("sub", "someone-else")] {
            let mut c = claims(now);
            c[field] = json!(value);
            let why = error_of(verify(&sign(&key, Algorithm::ES384, Some("k1"), &c), CLIENT, &jwks, None, AUD, now));
            assert!(why.contains("iss and sub"), "{field}: {why}");
        }
    }

    #[test]
    fn a_missing_or_unknown_kid_and_another_key_are_refused() {
        let (key, jwks, now) = setup();
        let why = error_of(verify(&sign(&key, Algorithm::ES384, None, &claims(now)), CLIENT, &jwks, None, AUD, now));
        assert!(why.contains("no kid"), "{why}");
        let why =
            error_of(verify(&sign(&key, Algorithm::ES384, Some("k9"), &claims(now)), CLIENT, &jwks, None, AUD, now));
        assert!(why.contains("no registered") && why.contains("kid"), "{why}");
        assert!(!why.contains("k9"), "the client's kid is not repeated: {why}");
        let (other_key, _) = es384_key("k1");
        let jwt = sign(&other_key, Algorithm::ES384, Some("k1"), &claims(now));
        assert!(error_of(verify(&jwt, CLIENT, &jwks, None, AUD, now)).contains("signature"));
    }

    #[test]
    fn hs256_none_and_es256_assertions_are_refused() {
        let (_, jwks, now) = setup();
        let hs = sign(&EncodingKey::from_secret(b"secret"), Algorithm::HS256, Some("k1"), &claims(now));
        assert!(error_of(verify(&hs, CLIENT, &jwks, None, AUD, now)).contains("not supported"));
        let none =
            format!("{}.{}.", B64URL.encode(br#"{"alg":"none","kid":"k1"}"#), B64URL.encode(claims(now).to_string()));
        error_of(verify(&none, CLIENT, &jwks, None, AUD, now));
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let es256 = sign(&EncodingKey::from_ec_der(pkcs8.as_ref()), Algorithm::ES256, Some("k1"), &claims(now));
        assert!(error_of(verify(&es256, CLIENT, &jwks, None, AUD, now)).contains("not supported"));
    }

    #[test]
    fn a_jku_is_refused_unless_it_is_the_clients_registered_jwks_url() {
        let (key, jwks, now) = setup();
        let mut header = Header::new(Algorithm::ES384);
        header.kid = Some("k1".into());
        header.jku = Some("https://attacker.example/jwks.json".into());
        let jwt = jsonwebtoken::encode(&header, &claims(now), &key).unwrap();
        assert!(error_of(verify(&jwt, CLIENT, &jwks, None, AUD, now)).contains("jku"));
        // A client that registered a JWKS URL may name it, and only it.
        let registered = Some("https://keys.clinic.example/jwks.json");
        assert!(error_of(verify(&jwt, CLIENT, &jwks, registered, AUD, now)).contains("registered JWKS URL"));
        header.jku = registered.map(str::to_owned);
        let jwt = jsonwebtoken::encode(&header, &claims(now), &key).unwrap();
        assert!(verify(&jwt, CLIENT, &jwks, registered, AUD, now).is_ok());
        assert!(has_key(&jwt, &jwks, "k1") && !has_key(&jwt, &jwks, "k2"));
    }

    #[test]
    fn a_key_whose_jwk_names_another_alg_is_not_used() {
        let (key, mut jwk) = es384_key("k1");
        jwk["alg"] = json!("RS384");
        let jwks = json!({"keys": [jwk]}).to_string();
        let now = chrono::Utc::now().timestamp();
        let why =
            error_of(verify(&sign(&key, Algorithm::ES384, Some("k1"), &claims(now)), CLIENT, &jwks, None, AUD, now));
        assert!(why.contains("no registered"), "{why}");
    }

    #[test]
    fn an_empty_or_overlong_jti_is_refused() {
        let (key, jwks, now) = setup();
        for jti in [String::new(), "j".repeat(MAX_JTI_CHARS + 1)] {
            let mut c = claims(now);
            c["jti"] = json!(jti);
            let why = error_of(verify(&sign(&key, Algorithm::ES384, Some("k1"), &c), CLIENT, &jwks, None, AUD, now));
            assert!(why.contains("jti"), "{why}");
        }
        let mut c = claims(now);
        c.as_object_mut().unwrap().remove("jti");
        let why = error_of(verify(&sign(&key, Algorithm::ES384, Some("k1"), &c), CLIENT, &jwks, None, AUD, now));
        assert!(why.contains("jti"), "{why}");
    }

    #[test]
    fn garbage_assertions_are_invalid_client_not_panics() {
        for garbage in ["", "a", "a.b", "a.b.c", "..", "eyJhbGciOiJSUzM4NCJ9.e30.", "x.eyJpc3MiOjF9.y"] {
            assert!(matches!(unverified_issuer(garbage), Err(OAuthError::InvalidClient(_))), "{garbage}");
            assert!(verify(garbage, CLIENT, r#"{"keys":[]}"#, None, AUD, 0).is_err());
        }
        assert!(unverified_issuer(&"a".repeat(MAX_ASSERTION_BYTES + 1)).is_err());
    }
}
