//! SMART Health Links (SHL): the link payload a QR code carries and the
//! encrypted files a link serves, built on the device.
//!
//! - A link is `shlink:/` followed by the base64url (no padding) JSON payload
//!   [`ShlPayload`]: `url` (the manifest URL), `key` (43 characters: the
//!   base64url of a random 256-bit key), optional `exp` (epoch seconds), `flag`
//!   (letters from `L` long-term, `P` passcode, `U` direct file, in that
//!   order), `label` (≤ 80 characters) and `v` (1). A viewer may put any
//!   prefix in front (`https://viewer.example/#shlink:/…`); [`ShlPayload::parse`]
//!   reads both forms.
//! - A file is a JWE in compact serialization with `alg: dir`, `enc: A256GCM`
//!   and `cty` the file's content type: protected header, an empty encrypted
//!   key, a 96-bit random IV, the ciphertext and the 128-bit tag, each
//!   base64url; the additional authenticated data is the ASCII of the encoded
//!   protected header (RFC 7516 §5.1). Files are not compressed (`zip` is
//!   optional for senders); [`open_file`] refuses a `zip` it would have to inflate.
//!
//! Written here with ring's AES-256-GCM rather than with a JOSE crate: the
//! maintained JOSE crates either need OpenSSL (which the mobile core avoids) or
//! carry the whole JWS/JWK surface for one fixed algorithm pair; the format is
//! the few lines below, and CI decrypts the files with an independent JOSE
//! implementation (Python `jwcrypto`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The scheme prefix of a link.
pub const SHLINK_PREFIX: &str = "shlink:/";
/// Longest label the specification allows, in characters.
pub const MAX_LABEL_CHARS: usize = 80;
/// The content type of a FHIR resource file (a Bundle).
pub const FHIR_JSON: &str = "application/fhir+json";

/// Why a link or a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShlError {
    /// The text is not a link this code reads (what is wrong with it).
    #[error("not a SMART Health Link: {0}")]
    BadLink(String),
    /// The file is not a compact JWE with `dir` / `A256GCM` (what is wrong with it).
    #[error("not an SHL file (JWE dir/A256GCM): {0}")]
    BadFile(String),
    /// The file was not encrypted with this key, or was changed.
    #[error("the file does not decrypt with this link's key")]
    WrongKey,
    /// The system random source failed.
    #[error("no randomness available")]
    Randomness,
}

/// A link's 256-bit file key.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct ShlKey([u8; 32]);

impl std::fmt::Debug for ShlKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShlKey(..)")
    }
}

impl ShlKey {
    /// A fresh random key.
    pub fn generate() -> Result<ShlKey, ShlError> {
        let mut k = [0u8; 32];
        SystemRandom::new().fill(&mut k).map_err(|_| ShlError::Randomness)?;
        Ok(ShlKey(k))
    }

    /// The key from its 43-character base64url form.
    pub fn from_base64url(text: &str) -> Result<ShlKey, ShlError> {
        let bytes = B64.decode(text).map_err(|_| ShlError::BadLink("key is not base64url".into()))?;
        let k: [u8; 32] = bytes.try_into().map_err(|_| ShlError::BadLink("key is not 256 bits".into()))?;
        Ok(ShlKey(k))
    }

    /// The 43-character base64url form the payload carries.
    pub fn to_base64url(&self) -> String {
        B64.encode(self.0)
    }

    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.0).expect("a 32-byte AES-256 key"))
    }
}

/// Which of the link's flags are set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShlFlags {
    /// `L`: the manifest may be polled for updates over a long time.
    pub long_term: bool,
    /// `P`: the manifest needs a passcode.
    pub passcode: bool,
    /// `U`: the URL is the single file itself (GET with `recipient`), no manifest.
    pub direct_file: bool,
}

impl ShlFlags {
    fn to_flag(self) -> Option<String> {
        let s: String = [(self.long_term, 'L'), (self.passcode, 'P'), (self.direct_file, 'U')]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, c)| *c)
            .collect();
        (!s.is_empty()).then_some(s)
    }

    fn parse(flag: &str) -> Result<ShlFlags, ShlError> {
        let mut f = ShlFlags::default();
        for c in flag.chars() {
            match c {
                'L' => f.long_term = true,
                'P' => f.passcode = true,
                'U' => f.direct_file = true,
                other => return Err(ShlError::BadLink(format!("unknown flag {other:?}"))),
            }
        }
        if f.passcode && f.direct_file {
            return Err(ShlError::BadLink("flags P and U cannot be combined".into()));
        }
        Ok(f)
    }
}

/// The JSON a link carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShlPayload {
    /// The manifest URL (or, with `U`, the file URL).
    pub url: String,
    /// The key the files are encrypted with.
    pub key: ShlKey,
    /// When the link stops working (epoch seconds), if it does.
    pub exp: Option<i64>,
    /// The link's flags.
    pub flags: ShlFlags,
    /// A short description for people (≤ 80 characters).
    pub label: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct PayloadJson {
    url: String,
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    v: Option<u32>,
}

impl ShlPayload {
    /// The `shlink:/…` text of the link (what the QR code holds).
    pub fn encode(&self) -> Result<String, ShlError> {
        if let Some(label) = &self.label {
            if label.chars().count() > MAX_LABEL_CHARS {
                return Err(ShlError::BadLink(format!("label is longer than {MAX_LABEL_CHARS} characters")));
            }
        }
        let json = PayloadJson {
            url: self.url.clone(),
            key: self.key.to_base64url(),
            exp: self.exp,
            flag: self.flags.to_flag(),
            label: self.label.clone(),
            v: Some(1),
        };
        let text = serde_json::to_vec(&json).map_err(|e| ShlError::BadLink(e.to_string()))?;
        Ok(format!("{SHLINK_PREFIX}{}", B64.encode(text)))
    }

    /// Reads a link, bare (`shlink:/…`) or behind a viewer URL (`https://…#shlink:/…`).
    pub fn parse(text: &str) -> Result<ShlPayload, ShlError> {
        let start = text.find(SHLINK_PREFIX).ok_or_else(|| ShlError::BadLink("no shlink:/ in the text".into()))?;
        let encoded = &text[start + SHLINK_PREFIX.len()..];
        let bytes = B64.decode(encoded.trim()).map_err(|_| ShlError::BadLink("payload is not base64url".into()))?;
        let json: PayloadJson =
            serde_json::from_slice(&bytes).map_err(|e| ShlError::BadLink(format!("payload is not SHL JSON: {e}")))?;
        if json.v.is_some_and(|v| v != 1) {
            return Err(ShlError::BadLink("unsupported payload version".into()));
        }
        if json.key.len() != 43 {
            return Err(ShlError::BadLink("key must be 43 base64url characters".into()));
        }
        if json.label.as_ref().is_some_and(|l| l.chars().count() > MAX_LABEL_CHARS) {
            return Err(ShlError::BadLink(format!("label is longer than {MAX_LABEL_CHARS} characters")));
        }
        Ok(ShlPayload {
            url: json.url,
            key: ShlKey::from_base64url(&json.key)?,
            exp: json.exp,
            flags: json.flag.as_deref().map(ShlFlags::parse).transpose()?.unwrap_or_default(),
            label: json.label,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Protected {
    alg: String,
    enc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cty: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    zip: Option<String>,
}

/// Encrypts one file of a link: a compact JWE (`dir`, `A256GCM`, `cty` = `content_type`).
pub fn seal_file(key: &ShlKey, content_type: &str, plaintext: &[u8]) -> Result<String, ShlError> {
    let header = Protected { alg: "dir".into(), enc: "A256GCM".into(), cty: Some(content_type.to_owned()), zip: None };
    let protected = B64.encode(serde_json::to_vec(&header).map_err(|e| ShlError::BadFile(e.to_string()))?);
    let mut iv = [0u8; 12];
    SystemRandom::new().fill(&mut iv).map_err(|_| ShlError::Randomness)?;
    let mut buf = plaintext.to_vec();
    let tag = key
        .aead()
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(protected.as_bytes()), &mut buf)
        .map_err(|_| ShlError::BadFile("encryption failed".into()))?;
    Ok(format!("{protected}..{}.{}.{}", B64.encode(iv), B64.encode(&buf), B64.encode(tag.as_ref())))
}

/// Decrypts one file of a link: its content type (`cty`, if stated) and bytes.
pub fn open_file(key: &ShlKey, jwe: &str) -> Result<(Option<String>, Vec<u8>), ShlError> {
    let parts: Vec<&str> = jwe.trim().split('.').collect();
    let [protected, encrypted_key, iv, ciphertext, tag] = parts.as_slice() else {
        return Err(ShlError::BadFile("a compact JWE has five parts".into()));
    };
    let header: Protected = B64
        .decode(protected)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| ShlError::BadFile("protected header is not base64url JSON".into()))?;
    if header.alg != "dir" || header.enc != "A256GCM" || !encrypted_key.is_empty() {
        return Err(ShlError::BadFile("only alg dir with enc A256GCM is used".into()));
    }
    if header.zip.is_some() {
        return Err(ShlError::BadFile("compressed (zip) files are not read".into()));
    }
    let decode =
        |part: &str, what: &str| B64.decode(part).map_err(|_| ShlError::BadFile(format!("{what} is not base64url")));
    let iv: [u8; 12] = decode(iv, "iv")?.try_into().map_err(|_| ShlError::BadFile("iv must be 96 bits".into()))?;
    let mut buf = decode(ciphertext, "ciphertext")?;
    let tag = decode(tag, "tag")?;
    if tag.len() != 16 {
        return Err(ShlError::BadFile("tag must be 128 bits".into()));
    }
    buf.extend_from_slice(&tag);
    let plain = key
        .aead()
        .open_in_place(Nonce::assume_unique_for_key(iv), Aad::from(protected.as_bytes()), &mut buf)
        .map_err(|_| ShlError::WrongKey)?;
    Ok((header.cty, plain.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(flags: ShlFlags) -> ShlPayload {
        ShlPayload {
            url: "https://phr.example/shl/abc".into(),
            key: ShlKey::generate().unwrap(),
            exp: Some(1_900_000_000),
            flags,
            label: Some("母子 緊急カード".into()),
        }
    }

    #[test]
    fn a_link_round_trips_bare_and_behind_a_viewer_url_with_flags_in_order() {
        let p = payload(ShlFlags { long_term: true, passcode: true, direct_file: false });
        let link = p.encode().unwrap();
        assert!(link.starts_with("shlink:/"));
        let json: serde_json::Value = serde_json::from_slice(&B64.decode(&link["shlink:/".len()..]).unwrap()).unwrap();
        assert_eq!(json["flag"], "LP");
        assert_eq!(json["v"], 1);
        assert_eq!(json["key"].as_str().unwrap().len(), 43);
        assert_eq!(ShlPayload::parse(&link).unwrap(), p);
        assert_eq!(ShlPayload::parse(&format!("https://viewer.example/#{link}")).unwrap(), p);
    }

    #[test]
    fn links_with_bad_keys_flags_labels_or_versions_are_refused() {
        let mut p = payload(ShlFlags::default());
        p.label = Some("x".repeat(81));
        assert!(p.encode().is_err());
        let make = |json: serde_json::Value| format!("shlink:/{}", B64.encode(json.to_string()));
        let key = ShlKey::generate().unwrap().to_base64url();
        assert!(ShlPayload::parse(&make(serde_json::json!({"url": "u", "key": key, "flag": "PU"}))).is_err());
        assert!(ShlPayload::parse(&make(serde_json::json!({"url": "u", "key": key, "flag": "X"}))).is_err());
        assert!(ShlPayload::parse(&make(serde_json::json!({"url": "u", "key": "short"}))).is_err());
        assert!(ShlPayload::parse(&make(serde_json::json!({"url": "u", "key": key, "v": 2}))).is_err());
        assert!(ShlPayload::parse("https://example.org/no-link").is_err());
        assert!(ShlPayload::parse(&make(serde_json::json!({"url": "u", "key": key}))).is_ok());
    }

    #[test]
    fn a_file_decrypts_with_its_key_only_and_any_change_is_detected() {
        let key = ShlKey::generate().unwrap();
        let jwe = seal_file(&key, FHIR_JSON, br#"{"resourceType":"Bundle"}"#).unwrap();
        let parts: Vec<&str> = jwe.split('.').collect();
        assert_eq!(parts.len(), 5);
        assert_eq!(parts[1], "", "dir: no encrypted key");
        let header: serde_json::Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "dir", "enc": "A256GCM", "cty": "application/fhir+json"}));
        let (cty, plain) = open_file(&key, &jwe).unwrap();
        assert_eq!((cty.as_deref(), plain.as_slice()), (Some(FHIR_JSON), br#"{"resourceType":"Bundle"}"#.as_slice()));
        assert_eq!(open_file(&ShlKey::generate().unwrap(), &jwe), Err(ShlError::WrongKey));
        // A changed header is authenticated data: it fails like a wrong key.
        let other_header = B64.encode(br#"{"alg":"dir","enc":"A256GCM","cty":"text/plain"}"#);
        let forged = format!("{other_header}.{}", parts[1..].join("."));
        assert_eq!(open_file(&key, &forged), Err(ShlError::WrongKey));
        assert!(matches!(open_file(&key, "a.b.c"), Err(ShlError::BadFile(_))));
    }
}
