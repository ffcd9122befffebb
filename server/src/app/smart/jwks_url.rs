//! An organization's keys fetched from its registered JWKS URL (SMART
//! client-confidential-asymmetric: a client may register "a URL to a JWK Set"
//! instead of the keys themselves, and rotate keys by publishing new ones there).
//!
//! - The URL is set by the operator (`phr-server org add --jwks-url`), never
//!   taken from a request: a client assertion's `jku` header is accepted only
//!   when it is exactly the registered URL, and then it changes nothing (the
//!   keys still come from the registered URL).
//! - A fetched JWKS is kept for [`CACHE_SECS`]; when an assertion names a `kid`
//!   the cached set does not have, the set is fetched again at once (the client
//!   has just rotated), at most every [`MIN_REFETCH_SECS`] per URL so forged
//!   assertions cannot make the server hammer the client's host.
//! - A fetch has a [`FETCH_TIMEOUT_SECS`] overall timeout, follows no redirects,
//!   reads at most [`MAX_JWKS_BYTES`] and must be a JWKS ([`check_jwks`]);
//!   any failure is `invalid_client` for that request, with no detail of the
//!   client's host in the answer or the log.
//! - The cache is per server process: several nodes each fetch the set once per
//!   [`CACHE_SECS`]; nothing else depends on it, so nodes need not agree.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::app::error::{AppError, OAuthError};
use crate::app::organizations::{check_jwks, MAX_JWKS_BYTES};

/// How long a fetched JWKS is used before it is fetched again.
pub const CACHE_SECS: u64 = 300;
/// Shortest interval between two fetches of one URL.
pub const MIN_REFETCH_SECS: u64 = 5;
/// Overall timeout of one fetch (connect, TLS, headers and body).
pub const FETCH_TIMEOUT_SECS: u64 = 5;

#[derive(Clone)]
struct Fetched {
    jwks: Arc<str>,
    at: Instant,
}

/// The fetched JWKS of every registered URL, shared by the token endpoint's requests.
pub struct JwksUrlCache {
    agent: ureq::Agent,
    fetched: Mutex<HashMap<String, Fetched>>,
}

impl Default for JwksUrlCache {
    fn default() -> Self {
        Self::new()
    }
}

impl JwksUrlCache {
    pub fn new() -> JwksUrlCache {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(FETCH_TIMEOUT_SECS)))
            .max_redirects(0)
            .http_status_as_error(true)
            .build()
            .new_agent();
        JwksUrlCache { agent, fetched: Mutex::new(HashMap::new()) }
    }

    fn cached(&self, url: &str) -> Option<Fetched> {
        self.fetched.lock().unwrap_or_else(|p| p.into_inner()).get(url).cloned()
    }

    /// The JWKS at `url`: the cached one while fresh, else fetched now.
    pub async fn get(&self, url: &str) -> Result<Arc<str>, OAuthError> {
        match self.cached(url) {
            Some(f) if f.at.elapsed() < Duration::from_secs(CACHE_SECS) => Ok(f.jwks),
            _ => self.fetch(url).await,
        }
    }

    /// The JWKS at `url` fetched again (the client may have rotated its keys), or
    /// `None` when it was fetched less than [`MIN_REFETCH_SECS`] ago.
    pub async fn refresh(&self, url: &str) -> Result<Option<Arc<str>>, OAuthError> {
        match self.cached(url) {
            Some(f) if f.at.elapsed() < Duration::from_secs(MIN_REFETCH_SECS) => Ok(None),
            _ => self.fetch(url).await.map(Some),
        }
    }

    async fn fetch(&self, url: &str) -> Result<Arc<str>, OAuthError> {
        let agent = self.agent.clone();
        let target = url.to_owned();
        let text = tokio::task::spawn_blocking(move || fetch_blocking(&agent, &target))
            .await
            .map_err(|e| OAuthError::Api(AppError::Internal(format!("JWKS fetch task failed: {e}"))))??;
        let jwks: Arc<str> = Arc::from(text);
        self.fetched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(url.to_owned(), Fetched { jwks: jwks.clone(), at: Instant::now() });
        Ok(jwks)
    }
}

fn fetch_blocking(agent: &ureq::Agent, url: &str) -> Result<String, OAuthError> {
    let unavailable = |what: &str| {
        tracing::warn!(problem = what, "an organization's registered JWKS URL did not give a JWKS");
        OAuthError::InvalidClient(format!("the client's registered JWKS URL {what}"))
    };
    let mut response = agent
        .get(url)
        .header("Accept", "application/json, application/jwk-set+json")
        .call()
        .map_err(|_| unavailable("could not be fetched"))?;
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_JWKS_BYTES as u64)
        .read_to_string()
        .map_err(|_| unavailable("answered with an unreadable or too large body"))?;
    check_jwks(&text).map_err(|_| unavailable("did not answer with a JWKS"))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A one-route HTTP server on loopback answering `body` with `status`, counting requests.
    fn serve(status: u16, body: &'static str) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 2048];
                let _ = stream.read(&mut buf);
                counter.fetch_add(1, Ordering::SeqCst);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        (url, hits)
    }

    #[actix_web::test]
    async fn a_fetched_jwks_is_cached_and_refetched_on_refresh_only_after_the_minimum_interval() {
        let (url, hits) = serve(200, r#"{"keys": []}"#);
        let cache = JwksUrlCache::new();
        assert_eq!(&*cache.get(&url).await.unwrap(), r#"{"keys": []}"#);
        assert_eq!(&*cache.get(&url).await.unwrap(), r#"{"keys": []}"#);
        assert_eq!(hits.load(Ordering::SeqCst), 1, "the second get is answered from the cache");
        assert!(cache.refresh(&url).await.unwrap().is_none(), "too soon to fetch again");
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[actix_web::test]
    async fn an_error_status_or_a_body_that_is_no_jwks_is_invalid_client_without_the_host() {
        for (status, body) in [(404, r#"{"keys": []}"#), (200, "<html>not keys</html>"), (200, r#"{"key": 1}"#)] {
            let (url, _) = serve(status, body);
            let err = JwksUrlCache::new().get(&url).await.unwrap_err();
            assert!(matches!(&err, OAuthError::InvalidClient(m) if !m.contains("127.0.0.1")), "{err:?}");
        }
    }
}
