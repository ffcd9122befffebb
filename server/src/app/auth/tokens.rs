//! Device credentials: short-lived access tokens (EdDSA JWTs signed with the
//! server's token key) and long-lived, rotating refresh tokens (random, stored
//! only as SHA-256 hashes).

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};

use crate::app::error::AppError;
use crate::keys::{KeyPurpose, KeyStore};
use crate::ServerError;

/// Access tokens live 10 minutes (the issue allows at most 15).
pub const ACCESS_TOKEN_TTL_SECS: i64 = 600;
/// Refresh tokens live 60 days unless rotated, revoked or the device removed.
pub const REFRESH_TOKEN_TTL_MS: i64 = 60 * 24 * 3600 * 1000;
const ISSUER: &str = "phr-server";
const DEVICE_TOKEN_TYPE: &str = "device";
const ORGANIZATION_TOKEN_TYPE: &str = "organization";
/// Organization (SMART Backend Services) access tokens live 5 minutes.
pub const ORGANIZATION_TOKEN_TTL_SECS: i64 = 300;

/// What an organization access token says: which organization, with which
/// granted SMART scopes (space-separated), until when. Its `typ` differs
/// from a device token's, and it has no `acc`: neither kind passes for the other.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrganizationClaims {
    pub iss: String,
    /// The organization id.
    pub sub: String,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub typ: String,
}

/// What an access token says: which device of which account, until when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    /// The device id.
    pub sub: String,
    /// The account id.
    pub acc: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub typ: String,
}

/// Signs and verifies access tokens with the key store's token keys. Tokens
/// signed by an older (rotated) key still verify until they expire.
pub struct TokenService {
    kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    validation: Validation,
    /// Organization tokens whose signature already verified: SHA-256 of the token -> claims.
    /// A FHIR client sends the same token with every request for its lifetime (≤ 5 min), and
    /// the Ed25519 check is the largest fixed cost of a small read. Expiry is checked on
    /// every use; a token not seen before (or changed by one byte) takes the full check.
    verified_organizations: std::sync::Mutex<HashMap<[u8; 32], OrganizationClaims>>,
}

/// The most verified organization tokens remembered (the map is emptied when full).
const MAX_VERIFIED_ORGANIZATION_TOKENS: usize = 10_000;

impl TokenService {
    pub fn new(keys: &KeyStore) -> Result<TokenService, ServerError> {
        let current =
            keys.current(KeyPurpose::Token).ok_or_else(|| ServerError::Keys("no token signing key".into()))?;
        let mut decoding = HashMap::new();
        for key in keys.keys(KeyPurpose::Token) {
            let pair = Ed25519KeyPair::from_pkcs8(key.secret())
                .map_err(|e| ServerError::Keys(format!("token key {}: {e}", key.kid)))?;
            decoding.insert(key.kid.clone(), DecodingKey::from_ed_der(pair.public_key().as_ref()));
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Ok(TokenService {
            kid: current.kid.clone(),
            encoding: EncodingKey::from_ed_der(current.secret()),
            decoding,
            validation,
            verified_organizations: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// A new access token for `device_id` of `account_id`; returns it and its expiry (epoch s).
    pub fn issue(&self, account_id: &str, device_id: &str, now_secs: i64) -> Result<(String, i64), AppError> {
        let exp = now_secs + ACCESS_TOKEN_TTL_SECS;
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            sub: device_id.to_owned(),
            acc: account_id.to_owned(),
            iat: now_secs,
            exp,
            jti: uuid::Uuid::new_v4().to_string(),
            typ: DEVICE_TOKEN_TYPE.to_owned(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("cannot sign access token: {e}")))?;
        Ok((token, exp))
    }

    /// Verifies signature, issuer, expiry and type. Every failure is a plain 401.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AppError> {
        let claims: AccessClaims = self.decode(token, "access token expired: refresh it")?;
        if claims.typ != DEVICE_TOKEN_TYPE {
            return Err(AppError::Unauthorized("invalid access token".into()));
        }
        Ok(claims)
    }

    /// A new access token for an organization with its granted `scope`;
    /// returns it and its expiry (epoch s).
    pub fn issue_organization(
        &self,
        organization_id: &str,
        scope: &str,
        now_secs: i64,
    ) -> Result<(String, i64), AppError> {
        let exp = now_secs + ORGANIZATION_TOKEN_TTL_SECS;
        let claims = OrganizationClaims {
            iss: ISSUER.to_owned(),
            sub: organization_id.to_owned(),
            scope: scope.to_owned(),
            iat: now_secs,
            exp,
            jti: uuid::Uuid::new_v4().to_string(),
            typ: ORGANIZATION_TOKEN_TYPE.to_owned(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("cannot sign access token: {e}")))?;
        Ok((token, exp))
    }

    /// Verifies an organization access token: signature, issuer, expiry and
    /// type (a device token is refused). Every failure is a plain 401.
    pub fn verify_organization(&self, token: &str) -> Result<OrganizationClaims, AppError> {
        let mut id = [0u8; 32];
        id.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        let now = chrono::Utc::now().timestamp();
        {
            let mut verified = self.verified_organizations.lock().unwrap_or_else(|e| e.into_inner());
            match verified.get(&id) {
                Some(claims) if now < claims.exp => return Ok(claims.clone()),
                // Expired: the full check below answers why.
                Some(_) => drop(verified.remove(&id)),
                None => {}
            }
        }
        let claims: OrganizationClaims = self.decode(token, "access token expired: request a new one")?;
        if claims.typ != ORGANIZATION_TOKEN_TYPE {
            return Err(AppError::Unauthorized("invalid access token".into()));
        }
        if now < claims.exp {
            let mut verified = self.verified_organizations.lock().unwrap_or_else(|e| e.into_inner());
            if verified.len() >= MAX_VERIFIED_ORGANIZATION_TOKENS {
                verified.clear();
            }
            verified.insert(id, claims.clone());
        }
        Ok(claims)
    }

    fn decode<C: serde::de::DeserializeOwned>(&self, token: &str, expired: &str) -> Result<C, AppError> {
        let invalid = || AppError::Unauthorized("invalid access token".into());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid());
        }
        let key = header.kid.as_deref().and_then(|kid| self.decoding.get(kid)).ok_or_else(invalid)?;
        let data = jsonwebtoken::decode::<C>(token, key, &self.validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => AppError::Unauthorized(expired.to_owned()),
            _ => invalid(),
        })?;
        Ok(data.claims)
    }
}

/// SHA-256 of a secret, hex: how refresh tokens and pairing codes are stored.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(digest(&SHA256, secret.as_bytes()))
}

/// `n` random bytes, base64url.
pub fn random_b64(n: usize) -> Result<String, AppError> {
    let mut bytes = vec![0u8; n];
    SystemRandom::new().fill(&mut bytes).map_err(|_| AppError::Internal("system RNG failed".into()))?;
    Ok(B64URL.encode(bytes))
}

/// A new refresh token `<account_id>.<random>`: the account id lets the server
/// find the token's row by its account key; the random part is the secret.
pub fn new_refresh_token(account_id: &str) -> Result<String, AppError> {
    Ok(format!("{account_id}.{}", random_b64(32)?))
}

/// The account id inside a refresh token, if it has the right shape.
pub fn refresh_token_account(token: &str) -> Option<&str> {
    let (account, secret) = token.split_once('.')?;
    (uuid::Uuid::parse_str(account).is_ok() && secret.len() == 43).then_some(account)
}

/// Crockford base32 (no I, L, O, U): easy to read aloud and type.
const PAIRING_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const PAIRING_CODE_LEN: usize = 10;

/// A new pairing code: 10 characters (50 bits) shown as `XXXXX-XXXXX`.
pub fn new_pairing_code() -> Result<String, AppError> {
    let mut bytes = [0u8; PAIRING_CODE_LEN];
    SystemRandom::new().fill(&mut bytes).map_err(|_| AppError::Internal("system RNG failed".into()))?;
    let chars: String = bytes.iter().map(|b| PAIRING_ALPHABET[(b & 31) as usize] as char).collect();
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

/// Normalises a typed pairing code (case, dashes, spaces, O→0, I/L→1), or
/// `None` if it cannot be one.
pub fn normalize_pairing_code(code: &str) -> Option<String> {
    let cleaned: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    (cleaned.len() == PAIRING_CODE_LEN && cleaned.bytes().all(|b| PAIRING_ALPHABET.contains(&b))).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> (tempfile::TempDir, TokenService) {
        let dir = tempfile::tempdir().unwrap();
        let (keys, _) = KeyStore::open_or_create(dir.path()).unwrap();
        let service = TokenService::new(&keys).unwrap();
        (dir, service)
    }

    #[test]
    fn issued_access_tokens_verify_and_name_device_and_account() {
        let (_d, s) = service();
        let now = chrono::Utc::now().timestamp();
        let (token, exp) = s.issue("acc-1", "dev-1", now).unwrap();
        assert_eq!(exp - now, ACCESS_TOKEN_TTL_SECS);
        const { assert!(ACCESS_TOKEN_TTL_SECS <= 15 * 60) };
        let claims = s.verify(&token).unwrap();
        assert_eq!((claims.acc.as_str(), claims.sub.as_str()), ("acc-1", "dev-1"));
    }

    #[test]
    fn organization_tokens_and_device_tokens_never_pass_for_each_other() {
        let (_d, s) = service();
        let now = chrono::Utc::now().timestamp();
        let (org_token, exp) = s.issue_organization("tanaka-clinic", "system/Observation.rs", now).unwrap();
        assert_eq!(exp - now, ORGANIZATION_TOKEN_TTL_SECS);
        let claims = s.verify_organization(&org_token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.scope.as_str()), ("tanaka-clinic", "system/Observation.rs"));
        assert!(s.verify(&org_token).is_err(), "an organization token is not a device token");
        let (device_token, _) = s.issue("acc", "dev", now).unwrap();
        assert!(s.verify_organization(&device_token).is_err(), "a device token is not an organization token");
        let (old, _) = s.issue_organization("tanaka-clinic", "system/*.rs", now - 3600).unwrap();
        assert!(s.verify_organization(&old).unwrap_err().to_string().contains("expired"));
    }

    #[test]
    fn a_remembered_organization_token_verifies_again_and_its_forgeries_still_do_not() {
        let (_d, s) = service();
        let now = chrono::Utc::now().timestamp();
        let (token, _) = s.issue_organization("tanaka-clinic", "system/Observation.rs", now).unwrap();
        let first = s.verify_organization(&token).unwrap();
        assert_eq!(s.verify_organization(&token).unwrap(), first, "answered from memory, same claims");
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let widened = OrganizationClaims { scope: "system/*.cruds".into(), ..first.clone() };
        parts[1] = B64URL.encode(serde_json::to_vec(&widened).unwrap());
        assert!(s.verify_organization(&parts.join(".")).is_err(), "a widened copy of a remembered token");
        let mut truncated = token.clone();
        truncated.pop();
        assert!(s.verify_organization(&truncated).is_err());
        // A remembered token past its expiry gets the full check (and its answer).
        let (old, _) = s.issue_organization("tanaka-clinic", "system/*.rs", now - 3600).unwrap();
        let mut id = [0u8; 32];
        id.copy_from_slice(digest(&SHA256, old.as_bytes()).as_ref());
        let stale = OrganizationClaims { exp: now - 3600 + ORGANIZATION_TOKEN_TTL_SECS, ..first };
        s.verified_organizations.lock().unwrap().insert(id, stale);
        assert!(s.verify_organization(&old).unwrap_err().to_string().contains("expired"));
    }

    #[test]
    fn expired_access_tokens_are_refused() {
        let (_d, s) = service();
        let (token, _) = s.issue("a", "d", chrono::Utc::now().timestamp() - 3600).unwrap();
        let err = s.verify(&token).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
    }

    #[test]
    fn tokens_signed_by_another_server_or_tampered_are_refused() {
        let (_d1, a) = service();
        let (_d2, b) = service();
        let now = chrono::Utc::now().timestamp();
        let (token, _) = a.issue("acc", "dev", now).unwrap();
        assert!(b.verify(&token).is_err(), "another server's key");
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let forged = AccessClaims { acc: "other".into(), ..a.verify(&token).unwrap() };
        parts[1] = B64URL.encode(serde_json::to_vec(&forged).unwrap());
        assert!(a.verify(&parts.join(".")).is_err(), "payload swapped");
        assert!(a.verify("not-a-jwt").is_err());
        assert!(a.verify("").is_err());
    }

    #[test]
    fn unsigned_alg_none_tokens_are_refused() {
        let (_d, s) = service();
        let header = B64URL.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let now = chrono::Utc::now().timestamp();
        let claims = B64URL.encode(
            serde_json::to_vec(&serde_json::json!({"iss":"phr-server","sub":"d","acc":"a","iat":now,"exp":now+60,"jti":"x","typ":"device"})).unwrap(),
        );
        assert!(s.verify(&format!("{header}.{claims}.")).is_err());
    }

    #[test]
    fn refresh_tokens_carry_their_account_and_hash_stably() {
        let account = uuid::Uuid::now_v7().to_string();
        let t = new_refresh_token(&account).unwrap();
        assert_eq!(refresh_token_account(&t), Some(account.as_str()));
        assert_eq!(secret_hash(&t), secret_hash(&t));
        assert_ne!(secret_hash(&t), secret_hash(&new_refresh_token(&account).unwrap()));
        assert_eq!(refresh_token_account("garbage"), None);
        assert_eq!(refresh_token_account(&format!("{account}.short")), None);
    }

    #[test]
    fn pairing_codes_normalise_the_way_people_type_them() {
        let code = new_pairing_code().unwrap();
        assert_eq!(code.len(), 11);
        let canonical = normalize_pairing_code(&code).unwrap();
        assert_eq!(normalize_pairing_code(&code.to_lowercase()).unwrap(), canonical);
        assert_eq!(normalize_pairing_code("abcde fghjk").unwrap(), "ABCDEFGHJK");
        assert_eq!(normalize_pairing_code("O0IL1-22222").unwrap(), "00111".to_owned() + "22222");
        assert_eq!(normalize_pairing_code("too-short"), None);
        assert_eq!(normalize_pairing_code("UUUUU-UUUUU"), None);
    }
}
