//! The device's session with the server: its ids, its Ed25519 device key, and
//! the access token got by signing in (challenge, signature, token). Every
//! authenticated call goes through [`Session::call`].

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use phr_core::sync::protocol::{sign_in_message, ChallengeResponse, TokenResponse};
use ring::signature::Ed25519KeyPair;
use serde::de::DeserializeOwned;

use super::error::{Error, Result};
use super::transport::{call_json, Transport};

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
        let body = serde_json::json!({"account_id": self.account_id, "device_id": self.device_id});
        let challenge: ChallengeResponse = call_json(
            transport,
            "POST",
            format!("{}/auth/v1/challenge", self.server_url),
            None,
            Some(body.to_string().into_bytes()),
        )?;
        let message = sign_in_message(&self.account_id, &self.device_id, &challenge.challenge_id, &challenge.nonce);
        let signature = STANDARD.encode(self.signing.sign(&message).as_ref());
        let body = serde_json::json!({
            "account_id": self.account_id, "device_id": self.device_id,
            "challenge_id": challenge.challenge_id, "signature": signature,
        });
        let tokens: TokenResponse = call_json(
            transport,
            "POST",
            format!("{}/auth/v1/session", self.server_url),
            None,
            Some(body.to_string().into_bytes()),
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
