//! Limits on the unauthenticated endpoints (sign-in challenge and session,
//! refresh, join, the three recovery endpoints), designed so that someone who
//! knows only ids slows *himself* down, not the family.
//!
//! An account id is no secret (it is typed into a new phone for recovery),
//! device ids appear in audit logs. A single per-account bucket charged
//! before anything was checked let anyone with an account id answer the
//! family's own sign-ins and refreshes with 429. Instead:
//!
//! 1. **Ids are canonical first.** Account and device ids are parsed as UUIDs
//!    (upper case, no hyphens, braces or `urn:uuid:` all name the same id)
//!    and used as hyphenated lower case in every bucket key and lookup, so
//!    spelling an id differently never opens a fresh bucket.
//! 2. **Cheap checks come first**, the limit follows from their outcome:
//!    does the device exist, is there such a challenge, is the refresh token
//!    known, does the pairing code match.
//! 3. **Refusals are charged to the source address** (`source:` bucket: the
//!    connection's peer IP, an IPv6 client by its /64; `X-Forwarded-For` is
//!    read only from the balancers named by `--trusted-proxies`: `http::auth::source_ip`). Every unauthenticated request first checks that its
//!    address has refusals left, else 429. A flood of made-up ids, tokens,
//!    signatures or codes from one address thus spends that address's budget
//!    and nobody else's; an address that only does what works never touches
//!    it.
//! 4. **Work for a known device or account is limited per subject *and*
//!    address** (`{subject}@{source}`): a challenge for an existing device, a
//!    fetch of a key backup, a recovery challenge. Someone who knows a real
//!    device id can exhaust only his own share of that device's challenges.
//! 5. **Guesses at an account's secrets are also charged to the account**
//!    (`guess:` bucket, ten times the per-address rate and burst): a wrong
//!    pairing code or recovery nonce. Only `join` and recovery `enrol` look
//!    at this budget; sign-in and refresh never do.
//!
//! What an attacker with many addresses can still do (the trade-off): each
//! address gets its own refusal budget, so n addresses make n times the
//! refused requests (database lookups; `sign_in` denied audit entries for a
//! known account are coalesced, see [`crate::app::audit::Repeats`]) and n times
//! the challenges for a known device id. Spending
//! an account's guess budget takes more than ten addresses' worth of wrong
//! codes and then stops *joining* and *recovery enrolment* for the family
//! until it refills; it never stops sign-in or refresh of existing devices.
//! The guess budget is defence in depth: a pairing code has 50 bits and
//! lives 10 minutes, a recovery nonce 256 bits. Clients behind one NAT
//! address share its refusal budget (their successful requests do not spend
//! it). Limits are per server process; a proxy in front should limit per
//! address as well.

use std::net::IpAddr;

use super::RateLimiter;
use crate::app::error::AppError;

/// How much more the per-account guess budget allows than one address.
const ACCOUNT_GUESS_FACTOR: f64 = 10.0;

/// The limits of the unauthenticated endpoints (see the module doc), from
/// `--auth-rate-limit` / `--auth-rate-burst`.
pub struct AuthLimiter {
    /// Per source address, per (subject, address), and plain keys
    /// (account creation per address, token issuance per organization).
    buckets: RateLimiter,
    /// Wrong guesses per account, from every address together.
    guesses: RateLimiter,
}

impl AuthLimiter {
    /// `rate == 0` turns limiting off.
    pub fn new(rate: f64, burst: f64) -> AuthLimiter {
        AuthLimiter {
            buckets: RateLimiter::new(rate, burst),
            guesses: RateLimiter::new(rate * ACCOUNT_GUESS_FACTOR, burst * ACCOUNT_GUESS_FACTOR),
        }
    }

    /// Takes one token for a plain `key`, or answers 429.
    pub fn check(&self, key: &str) -> Result<(), AppError> {
        self.buckets.check(key)
    }

    /// Admits an unauthenticated request from its source address (the
    /// connection's peer; `None` if unknown): 429 if the address has used up
    /// its refusals.
    pub fn admit(&self, source: Option<IpAddr>) -> Result<Gate<'_>, AppError> {
        let source = source_key(source);
        if let Some(secs) = self.buckets.wait_secs(&format!("source:{source}")) {
            return Err(AppError::too_many_requests(
                format!("too many refused attempts from this address; retry in {secs} s"),
                secs,
            ));
        }
        Ok(Gate { limiter: self, source })
    }
}

/// An admitted unauthenticated request: what it may do, and what its
/// refusals cost.
pub struct Gate<'a> {
    limiter: &'a AuthLimiter,
    source: String,
}

impl Gate<'_> {
    /// Charges a refusal (any 4xx but 429) to the source address and hands
    /// the error back: `.map_err(|e| gate.refused(e))`.
    pub fn refused(&self, err: AppError) -> AppError {
        if is_refusal(&err) {
            self.limiter.buckets.charge(&format!("source:{}", self.source));
        }
        err
    }

    /// A refused guess at a secret of `account` (a pairing code, a recovery
    /// nonce): charged to the source and to the account's guess budget.
    /// Other errors (e.g. a 409) are charged like [`Gate::refused`].
    pub fn refused_guess(&self, account: &str, err: AppError) -> AppError {
        if matches!(err, AppError::Unauthorized(_)) {
            self.limiter.guesses.charge(&format!("guess:{account}"));
        }
        self.refused(err)
    }

    /// Before checking a guess at a secret of `account`: 429 if wrong guesses
    /// from all addresses together have used up the account's budget.
    pub fn may_guess(&self, account: &str) -> Result<(), AppError> {
        match self.limiter.guesses.wait_secs(&format!("guess:{account}")) {
            None => Ok(()),
            Some(secs) => Err(AppError::too_many_requests(
                format!("too many wrong attempts for this account; retry in {secs} s"),
                secs,
            )),
        }
    }

    /// Work for a known `subject` (e.g. `challenge:{account}/{device}`),
    /// limited per subject and source address.
    pub fn known(&self, subject: &str) -> Result<(), AppError> {
        self.limiter.buckets.check(&format!("{subject}@{}", self.source))
    }
}

fn is_refusal(err: &AppError) -> bool {
    !matches!(err, AppError::TooManyRequests { .. }) && err.is_refusal()
}

/// The bucket key of a peer address: IPv4 as is (also when IPv4-mapped),
/// IPv6 by its /64 (one customer's network hands out any address in it).
pub fn source_key(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(ip: &str) -> Option<IpAddr> {
        Some(ip.parse().unwrap())
    }

    fn unauthorized() -> AppError {
        AppError::Unauthorized("unknown account or device".into())
    }

    #[test]
    fn refusals_spend_the_budget_of_their_own_address_only() {
        let limits = AuthLimiter::new(0.001, 3.0);
        let attacker = from("127.0.0.2");
        for _ in 0..3 {
            let gate = limits.admit(attacker).unwrap();
            let _ = gate.refused(unauthorized());
        }
        assert!(matches!(limits.admit(attacker), Err(AppError::TooManyRequests { .. })));
        // The family at another address is admitted, as often as it likes while it succeeds.
        for _ in 0..10 {
            limits.admit(from("127.0.0.1")).unwrap();
        }
    }

    #[test]
    fn an_address_out_of_refusals_and_an_account_out_of_guesses_are_told_when_to_retry() {
        // Half a refusal a second per address (five guesses a second per account).
        let limits = AuthLimiter::new(0.5, 1.0);
        let req = from("198.51.100.1");
        let _ = limits.admit(req).unwrap().refused(unauthorized());
        match limits.admit(req) {
            Err(AppError::TooManyRequests { retry_after_secs, .. }) => assert_eq!(retry_after_secs, 2),
            other => panic!("expected a 429, got {:?}", other.err()),
        }
        for i in 0..10 {
            let _ = limits.admit(from(&format!("198.51.100.{}", 10 + i))).unwrap().refused_guess("acc", unauthorized());
        }
        match limits.admit(from("198.51.100.99")).unwrap().may_guess("acc") {
            Err(AppError::TooManyRequests { retry_after_secs, .. }) => assert_eq!(retry_after_secs, 1),
            other => panic!("expected a 429, got {other:?}"),
        }
    }

    #[test]
    fn successes_server_errors_and_429s_cost_the_address_nothing() {
        let limits = AuthLimiter::new(0.001, 1.0);
        let req = from("10.0.0.1");
        let gate = limits.admit(req).unwrap();
        let _ = gate.refused(AppError::Internal("db".into()));
        let _ = gate.refused(AppError::too_many_requests("slow down", 1));
        limits.admit(req).unwrap();
        let _ = limits.admit(req).unwrap().refused(AppError::BadRequest("device_id must be a UUID".into()));
        assert!(limits.admit(req).is_err());
    }

    #[test]
    fn work_for_a_known_subject_is_limited_per_subject_and_address() {
        let limits = AuthLimiter::new(0.001, 2.0);
        let (attacker, family) = (from("127.0.0.2"), from("127.0.0.1"));
        let gate = limits.admit(attacker).unwrap();
        gate.known("challenge:a/d").unwrap();
        gate.known("challenge:a/d").unwrap();
        assert!(gate.known("challenge:a/d").is_err());
        let family = limits.admit(family).unwrap();
        family.known("challenge:a/d").unwrap();
        gate.known("challenge:a/other").unwrap();
    }

    #[test]
    fn wrong_guesses_from_many_addresses_spend_the_account_guess_budget() {
        let limits = AuthLimiter::new(0.001, 1.0);
        // Ten times the per-address burst: ten addresses, one wrong guess each.
        for i in 0..10 {
            let req = from(&format!("192.0.2.{i}"));
            let gate = limits.admit(req).unwrap();
            gate.may_guess("acc").unwrap();
            let _ = gate.refused_guess("acc", unauthorized());
        }
        let req = from("192.0.2.200");
        let gate = limits.admit(req).unwrap();
        assert!(matches!(gate.may_guess("acc"), Err(AppError::TooManyRequests { .. })));
        gate.may_guess("another-account").unwrap();
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a = source_key(Some("2001:db8:1:2:aaaa::1".parse().unwrap()));
        let b = source_key(Some("2001:db8:1:2:bbbb::9".parse().unwrap()));
        assert_eq!(a, b);
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_ne!(a, source_key(Some("2001:db8:1:3::1".parse().unwrap())));
        assert_eq!(source_key(Some("::ffff:192.0.2.7".parse().unwrap())), "192.0.2.7");
        assert_eq!(source_key(None), "unknown");
    }

    #[test]
    fn zero_rate_turns_every_limit_off() {
        let limits = AuthLimiter::new(0.0, 1.0);
        let req = from("127.0.0.2");
        for _ in 0..50 {
            let gate = limits.admit(req).unwrap();
            gate.known("challenge:a/d").unwrap();
            gate.may_guess("acc").unwrap();
            let _ = gate.refused_guess("acc", unauthorized());
        }
    }
}
