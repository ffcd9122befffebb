//! Time as the engine trusts it: the device's wall clock, corrected by the
//! server's `Date` header when the two disagree by more than
//! [`SKEW_TOLERANCE_MS`], and the bound on how far a pulled stamp may move the
//! hybrid logical clock ([`MAX_AHEAD_MS`]).
//!
//! Why: a hybrid logical clock takes the greatest time it has seen (Kulkarni
//! et al., "Logical Physical Clocks", 2014, and every HLC in production since
//! bounds that drift). Unbounded, one phone whose clock is a year (or a
//! century) ahead drags every phone that syncs with it there for good, and its
//! edits win every concurrent conflict. So:
//!
//! - every answer's `Date` says what time the server thinks it is; when the
//!   device clock is off by more than the tolerance, the engine stamps edits,
//!   validates dates ("not in the future") and bounds stamps with the
//!   server's time instead, and reports the skew to the app;
//! - a pulled stamp more than [`MAX_AHEAD_MS`] ahead of trusted time does not
//!   move this device's clock (it is still merged: the record keeps it);
//! - an edit of a record is always stamped above every version of that record
//!   the device has seen, so "the edit made after seeing X wins over X" holds
//!   per record even when X came from a skewed clock.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use phr_core::sync::Hlc;

/// A device clock within this of the server's is used as it is (the `Date`
/// header has one-second resolution and the network adds its delay).
pub const SKEW_TOLERANCE_MS: i64 = 60_000;
/// A pulled stamp further ahead of trusted time than this does not move the
/// device's clock.
pub const MAX_AHEAD_MS: u64 = 5 * 60_000;

/// The device's wall clock in epoch milliseconds.
pub fn device_now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The server's time as last seen, relative to the device's clock.
#[derive(Debug, Default)]
pub struct ServerClock {
    /// Server time minus device time, in ms, as last measured.
    offset_ms: AtomicI64,
    measured: AtomicBool,
}

impl ServerClock {
    /// A clock that starts from a persisted offset (`None`: never measured).
    pub fn new(offset_ms: Option<i64>) -> Self {
        ServerClock {
            offset_ms: AtomicI64::new(offset_ms.unwrap_or(0)),
            measured: AtomicBool::new(offset_ms.is_some()),
        }
    }

    /// Notes the server's `Date` header (IMF-fixdate) of an answer received now.
    pub fn observe_date(&self, date: &str) {
        if let Ok(server) = chrono::DateTime::parse_from_rfc2822(date.trim()) {
            let server_ms = server.timestamp_millis();
            // The header is truncated to the second: its middle is the better guess.
            let offset = server_ms + 500 - i64::try_from(device_now_ms()).unwrap_or(i64::MAX);
            self.offset_ms.store(offset, Ordering::Relaxed);
            self.measured.store(true, Ordering::Relaxed);
        }
    }

    /// The last measured offset (server − device, ms), if any.
    pub fn measured_offset_ms(&self) -> Option<i64> {
        self.measured.load(Ordering::Relaxed).then(|| self.offset_ms.load(Ordering::Relaxed))
    }

    /// The correction applied to the device clock: the measured offset when it
    /// is beyond [`SKEW_TOLERANCE_MS`], else 0.
    pub fn correction_ms(&self) -> i64 {
        match self.measured_offset_ms() {
            Some(offset) if offset.abs() > SKEW_TOLERANCE_MS => offset,
            _ => 0,
        }
    }

    /// Whether the device clock is off by more than the tolerance.
    pub fn device_clock_skewed(&self) -> bool {
        self.correction_ms() != 0
    }

    /// Trusted time: the device clock, corrected when it is skewed.
    pub fn now_ms(&self) -> u64 {
        device_now_ms().saturating_add_signed(self.correction_ms())
    }

    /// `remote` if it is not too far ahead of trusted time, else the bound:
    /// what a pulled stamp may move the device clock to.
    pub fn bounded(&self, remote: &Hlc) -> Hlc {
        let bound = Hlc::new(self.now_ms().saturating_add(MAX_AHEAD_MS), 0);
        (*remote).min(bound)
    }

    /// Whether `remote` is further ahead of trusted time than [`MAX_AHEAD_MS`].
    pub fn is_too_far_ahead(&self, remote: &Hlc) -> bool {
        remote.wall_ms > self.now_ms().saturating_add(MAX_AHEAD_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http_date(ms: u64) -> String {
        let t = chrono::DateTime::from_timestamp_millis(ms as i64).unwrap();
        t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
    }

    #[test]
    fn a_device_clock_close_to_the_server_is_trusted_as_it_is() {
        let clock = ServerClock::new(None);
        assert_eq!(clock.correction_ms(), 0);
        clock.observe_date(&http_date(device_now_ms() + 20_000));
        assert!(clock.measured_offset_ms().is_some());
        assert!(!clock.device_clock_skewed());
        assert!(clock.now_ms().abs_diff(device_now_ms()) < 1_000);
    }

    #[test]
    fn a_device_clock_a_year_off_is_corrected_to_the_servers_date() {
        let year = 365 * 24 * 3600 * 1000u64;
        for server in [device_now_ms() - year, device_now_ms() + year] {
            let clock = ServerClock::new(None);
            clock.observe_date(&http_date(server));
            assert!(clock.device_clock_skewed());
            assert!(clock.now_ms().abs_diff(server) < 5_000, "{} vs {server}", clock.now_ms());
        }
    }

    #[test]
    fn a_stamp_far_ahead_is_bounded_and_a_near_one_is_not() {
        let clock = ServerClock::new(Some(0));
        let near = Hlc::new(device_now_ms() + 1_000, 3);
        assert_eq!(clock.bounded(&near), near);
        assert!(!clock.is_too_far_ahead(&near));
        let century = Hlc::new(device_now_ms() + 100 * 365 * 24 * 3600 * 1000, 0);
        assert!(clock.is_too_far_ahead(&century));
        assert!(clock.bounded(&century).wall_ms <= device_now_ms() + MAX_AHEAD_MS + 1_000);
    }

    #[test]
    fn an_unreadable_date_changes_nothing() {
        let clock = ServerClock::new(Some(-120_000));
        clock.observe_date("yesterday");
        assert_eq!(clock.measured_offset_ms(), Some(-120_000));
    }
}
