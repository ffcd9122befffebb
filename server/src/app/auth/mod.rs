//! Who is calling: [`authenticate_device`] checks a bearer access token, the
//! device's request rate, and that the device still exists (a removed
//! device's tokens stop working at once: 401; a device of an erased account
//! is told 410 `account-deleted`). The HTTP side reads the bearer token and
//! calls it (the `FromRequest` extractor of [`AuthenticatedDevice`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::app::error::AppError;
use crate::app::ids::{AccountId, DeviceId};
use crate::app::App;

pub mod limits;
pub mod tokens;

pub use limits::AuthLimiter;
pub use tokens::TokenService;

/// A signed-in device of an account. Handlers taking this are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedDevice {
    pub account_id: AccountId,
    pub device_id: DeviceId,
}

impl AuthenticatedDevice {
    /// The actor name used in the audit log.
    pub fn actor(&self) -> String {
        format!("device:{}", self.device_id)
    }
}

/// The device a bearer access token speaks for: the token verifies, the
/// device has requests left (429 otherwise), and it is still a device of its
/// account. A removed device is refused (401); a device of an erased account
/// is told so ([`AppError::AccountDeleted`], 410).
pub async fn authenticate_device(app: &App, token: &str) -> Result<AuthenticatedDevice, AppError> {
    let claims = app.tokens.verify(token)?;
    app.rate_limiter.check(&claims.sub)?;
    let (account_id, device_id) = (claims.acc, claims.sub);
    let (acc, dev) = (account_id.clone(), device_id.clone());
    app.db(move |conn| {
        use crate::store::accounts as store;
        if store::device_exists(conn, &acc, &dev)? {
            return Ok(());
        }
        // The token verifies, so the caller was this device: if its account
        // was erased (not the device removed from a living account), say so.
        if store::tombstone_device(conn, &acc, &dev, crate::app::now_ms())?.is_some() {
            return Err(AppError::AccountDeleted);
        }
        Err(AppError::Unauthorized("this device has been removed from the account".into()))
    })
    .await?;
    Ok(AuthenticatedDevice { account_id: AccountId::new(account_id), device_id: DeviceId::new(device_id) })
}

/// Per-key token buckets: `rate` requests per second on average, bursts of
/// up to `burst`. Per server process; behind a load balancer each node
/// enforces its own share.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// Keys remembered before idle (full) buckets are forgotten.
    const MAX_KEYS: usize = 100_000;

    /// `rate == 0` turns limiting off.
    pub fn new(rate: f64, burst: f64) -> RateLimiter {
        RateLimiter { rate, burst: burst.max(1.0), buckets: Mutex::new(HashMap::new()) }
    }

    fn enabled(&self) -> bool {
        self.rate > 0.0
    }

    /// Runs `f` on the refilled token count of `key`'s bucket.
    fn with_bucket<R>(&self, key: &str, f: impl FnOnce(&mut f64) -> R) -> R {
        let now = Instant::now();
        let (rate, burst) = (self.rate, self.burst);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > Self::MAX_KEYS {
            // Forget idle keys (full buckets) so the map cannot grow without bound.
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        f(tokens)
    }

    /// Takes one token for `key`, or answers 429 saying when the bucket
    /// holds a token again.
    pub fn check(&self, key: &str) -> Result<(), AppError> {
        if !self.enabled() {
            return Ok(());
        }
        let rate = self.rate;
        match self
            .with_bucket(key, |tokens| if take_one(tokens) { None } else { Some(secs_until_token(*tokens, rate)) })
        {
            None => Ok(()),
            Some(secs) => Err(AppError::too_many_requests(
                format!("rate limit of {rate} requests per second exceeded; retry in {secs} s"),
                secs,
            )),
        }
    }

    /// `None` if `key` has a token left, else the whole seconds until it has
    /// one again (none is taken either way).
    pub fn wait_secs(&self, key: &str) -> Option<u64> {
        if !self.enabled() {
            return None;
        }
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let tokens = match buckets.get(key) {
            None => return None,
            Some((tokens, at)) => (*tokens + at.elapsed().as_secs_f64() * self.rate).min(self.burst),
        };
        (tokens < 1.0).then(|| secs_until_token(tokens, self.rate))
    }

    /// Takes one token for `key` if there is one; never refuses.
    pub fn charge(&self, key: &str) {
        if self.enabled() {
            self.with_bucket(key, take_one);
        }
    }
}

/// Whole seconds (at least 1) until a bucket holding `tokens` and refilling
/// `rate` tokens a second holds one token: what a 429's `Retry-After` says.
fn secs_until_token(tokens: f64, rate: f64) -> u64 {
    let secs = ((1.0 - tokens) / rate).ceil();
    // `as` saturates (and maps NaN to 0): a tiny rate gives a long wait, never an overflow.
    (secs as u64).max(1)
}

fn take_one(tokens: &mut f64) -> bool {
    if *tokens < 1.0 {
        return false;
    }
    *tokens -= 1.0;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_allows_the_burst_then_answers_429() {
        let limiter = RateLimiter::new(0.001, 3.0);
        for _ in 0..3 {
            limiter.check("d").unwrap();
        }
        assert!(matches!(limiter.check("d"), Err(AppError::TooManyRequests { .. })));
        limiter.check("other-device").unwrap();
    }

    #[test]
    fn rate_limiter_refills_over_time() {
        let limiter = RateLimiter::new(1000.0, 1.0);
        limiter.check("d").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        limiter.check("d").unwrap();
    }

    #[test]
    fn zero_rate_disables_limiting() {
        let limiter = RateLimiter::new(0.0, 1.0);
        for _ in 0..100 {
            limiter.check("d").unwrap();
            limiter.charge("d");
        }
        assert_eq!(limiter.wait_secs("d"), None);
    }

    #[test]
    fn charging_takes_tokens_without_refusing_and_peeking_takes_nothing() {
        let limiter = RateLimiter::new(0.001, 2.0);
        assert_eq!(limiter.wait_secs("k"), None, "an unseen key has a full bucket");
        limiter.charge("k");
        assert_eq!(limiter.wait_secs("k"), None);
        assert_eq!(limiter.wait_secs("k"), None, "peeking takes nothing");
        limiter.charge("k");
        limiter.charge("k");
        assert!(limiter.wait_secs("k").is_some());
        assert!(matches!(limiter.check("k"), Err(AppError::TooManyRequests { .. })));
        assert_eq!(limiter.wait_secs("other"), None);
    }

    fn refusal_wait(result: Result<(), AppError>) -> u64 {
        match result {
            Err(AppError::TooManyRequests { retry_after_secs, .. }) => retry_after_secs,
            other => panic!("expected a 429, got {other:?}"),
        }
    }

    #[test]
    fn a_refusal_says_when_the_bucket_holds_a_token_again() {
        // One token every ten seconds: an empty bucket has one again in (just under) ten.
        let limiter = RateLimiter::new(0.1, 1.0);
        limiter.check("d").unwrap();
        let wait = refusal_wait(limiter.check("d"));
        assert!((9..=10).contains(&wait), "{wait}");
        let peeked = limiter.wait_secs("d").unwrap();
        assert!((9..=10).contains(&peeked), "{peeked}");
        // Half a token a second: two seconds.
        let limiter = RateLimiter::new(0.5, 1.0);
        limiter.charge("d");
        assert_eq!(refusal_wait(limiter.check("d")), 2);
        // A very slow bucket says so; it never overflows.
        let limiter = RateLimiter::new(0.001, 1.0);
        limiter.charge("d");
        assert_eq!(refusal_wait(limiter.check("d")), 1000);
        assert_eq!(secs_until_token(0.0, 1e-300), u64::MAX);
    }

    #[test]
    fn a_fast_bucket_asks_for_at_least_one_second() {
        let limiter = RateLimiter::new(50.0, 1.0);
        limiter.check("d").unwrap();
        assert_eq!(refusal_wait(limiter.check("d")), 1, "Retry-After is whole seconds, never 0");
        assert_eq!(secs_until_token(0.999_999, 50.0), 1);
    }
}
