//! The device's session with the server: its ids, its Ed25519 device key, and
//! the access token got by signing in (challenge, signature, token). Every
//! authenticated call goes through [`Session::call`].

use phr_core::sync::protocol::{sign_in_message, ChallengeRequest, ChallengeResponse, SessionRequest, TokenResponse};
use ring::signature::Ed25519KeyPair;
use serde::de::DeserializeOwned;

use super::error::{Error, Result};
use super::transport::{call_json, json_body, Transport};

/// Who this device is on which server, and its current access token.
pub struct Session {
    pub server_url: String,
    pub account_id: String,
    pub device_id: String,
    signing: Ed25519KeyPair,
    access_token: Option<String>,
}

impl Session {
    /// A session not signed in yet.
    pub fn new(server_url: String, account_id: String, device_id: String, signing: Ed25519KeyPair) -> Self {
        Session { server_url, account_id, device_id, signing, access_token: None }
    }

    /// Signs in with the device key (challenge, Ed25519 signature, tokens).
    fn sign_in(&mut self, transport: &dyn Transport) -> Result<()> {
        let challenge_request =
            ChallengeRequest { account_id: self.account_id.clone(), device_id: self.device_id.clone() };
        let challenge: ChallengeResponse = call_json(
            transport,
            "POST",
            format!("{}/auth/v1/challenge", self.server_url),
            None,
            Some(json_body("the sign-in challenge request", &challenge_request)?),
        )?;
        let message = sign_in_message(&self.account_id, &self.device_id, &challenge.challenge_id, &challenge.nonce);
        let session_request = SessionRequest {
            account_id: self.account_id.clone(),
            device_id: self.device_id.clone(),
            challenge_id: challenge.challenge_id,
            signature: self.signing.sign(&message).as_ref().to_vec(),
        };
        let tokens: TokenResponse = call_json(
            transport,
            "POST",
            format!("{}/auth/v1/session", self.server_url),
            None,
            Some(json_body("the sign-in request", &session_request)?),
        )?;
        self.access_token = Some(tokens.access_token);
        Ok(())
    }

    /// An authenticated call to `path` on the server: signs in first if
    /// needed, and once more if the server refuses the token (expired). A
    /// refused sign-in is returned as it is.
    pub fn call<T: DeserializeOwned>(
        &mut self,
        transport: &dyn Transport,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T> {
        let token = self.token(transport)?;
        match self.call_with(transport, &token, method, path, body.clone()) {
            Err(Error::Http { kind, .. }) if kind.is_credentials_refused() => {
                self.access_token = None;
                let token = self.token(transport)?;
                self.call_with(transport, &token, method, path, body)
            }
            other => other,
        }
    }

    /// The access token, signing in if there is none.
    fn token(&mut self, transport: &dyn Transport) -> Result<String> {
        if self.access_token.is_none() {
            self.sign_in(transport)?;
        }
        Ok(self.access_token.clone().unwrap_or_default())
    }

    fn call_with<T: DeserializeOwned>(
        &self,
        transport: &dyn Transport,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T> {
        call_json(transport, method, format!("{}{path}", self.server_url), Some(token), body)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use ring::rand::SystemRandom;
    use ring::signature::{KeyPair, UnparsedPublicKey, ED25519};
    use serde_json::{json, Value};

    use super::*;
    use crate::engine::transport::{Request, Response};

    /// A server that answers sign-in and one call, recording what it was sent.
    #[derive(Default)]
    struct SignInServer(Mutex<Vec<Request>>);

    impl Transport for SignInServer {
        fn send(&self, request: Request) -> std::result::Result<Response, String> {
            let body = match request.url.rsplit('/').next().unwrap_or_default() {
                "challenge" => json!({"challenge_id": "ch-1", "nonce": STANDARD.encode([7u8; 32]), "expires_at": 1}),
                "session" => {
                    json!({"access_token": "t-1", "token_type": "Bearer", "expires_in": 900, "refresh_token": "r"})
                }
                _ => json!({"ok": true}),
            };
            self.0.lock().unwrap().push(request);
            Ok(Response { status: 200, body: body.to_string().into_bytes(), headers: vec![] })
        }
    }

    #[test]
    fn sign_in_sends_the_json_bodies_the_server_reads_and_a_valid_signature() {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let signing = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let public = signing.public_key().as_ref().to_vec();
        let mut session = Session::new("https://phr.example".into(), "acc-1".into(), "dev-1".into(), signing);
        let server = SignInServer::default();
        let answer: Value = session.call(&server, "GET", "/accounts/v1", None).unwrap();
        assert_eq!(answer, json!({"ok": true}));

        let sent = server.0.lock().unwrap();
        let body = |i: usize| serde_json::from_slice::<Value>(&sent[i].body).unwrap();
        assert_eq!(sent[0].url, "https://phr.example/auth/v1/challenge");
        assert_eq!(body(0), json!({"account_id": "acc-1", "device_id": "dev-1"}));
        assert_eq!(sent[1].url, "https://phr.example/auth/v1/session");
        let session_body = body(1);
        let keys: Vec<&str> = session_body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 4);
        for key in ["account_id", "device_id", "challenge_id", "signature"] {
            assert!(keys.contains(&key), "{key} in {session_body}");
        }
        assert_eq!(session_body["challenge_id"], "ch-1");
        let signature = STANDARD.decode(session_body["signature"].as_str().unwrap()).unwrap();
        let message = sign_in_message("acc-1", "dev-1", "ch-1", &[7u8; 32]);
        UnparsedPublicKey::new(&ED25519, &public).verify(&message, &signature).expect("a valid signature");
        let auth = sent[2].headers.iter().find(|(name, _)| name == "Authorization").map(|(_, v)| v.as_str());
        assert_eq!(auth, Some("Bearer t-1"));
    }
}
