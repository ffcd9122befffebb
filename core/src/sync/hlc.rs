//! Hybrid logical clocks and version stamps.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A hybrid logical clock value (Kulkarni, Demirbas et al., "Logical Physical
/// Clocks", 2014): the greatest physical time seen, in milliseconds since the
/// Unix epoch, and a counter ordering events within that millisecond.
///
/// Ordered lexicographically by (`wall_ms`, `counter`). Every event a device
/// stamps after seeing a stamp `s` (locally or by [`Hlc::receive`]) is greater
/// than `s`, whatever the devices' wall clocks say; this is what makes "the
/// greater stamp" mean "the later edit" for causally related edits.
///
/// JSON: `{"wall_ms": 1767225600000, "counter": 0}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hlc {
    /// Physical component: the greatest wall clock time seen, in ms since the epoch.
    pub wall_ms: u64,
    /// Logical component: orders events with the same `wall_ms`.
    pub counter: u32,
}

impl Hlc {
    /// The smallest clock value, before any event.
    pub const ZERO: Hlc = Hlc { wall_ms: 0, counter: 0 };
    /// The greatest clock value; [`Hlc::tick`] and [`Hlc::receive`] stay there.
    pub const MAX: Hlc = Hlc { wall_ms: u64::MAX, counter: u32::MAX };

    /// A clock value from its parts.
    pub const fn new(wall_ms: u64, counter: u32) -> Hlc {
        Hlc { wall_ms, counter }
    }

    /// The clock for a local event (an edit, or sending a message) when the
    /// device's wall clock reads `now_ms`. The result is greater than `self`
    /// (unless `self` is [`Hlc::MAX`]) and its `wall_ms` is at least `now_ms`.
    pub fn tick(&self, now_ms: u64) -> Hlc {
        if now_ms > self.wall_ms {
            Hlc::new(now_ms, 0)
        } else {
            self.successor()
        }
    }

    /// The clock after receiving `remote` (a stamp in pulled data) when the
    /// wall clock reads `now_ms`: greater than both `self` and `remote` (unless
    /// one of them is [`Hlc::MAX`]), with `wall_ms` = max of the three times.
    pub fn receive(&self, remote: &Hlc, now_ms: u64) -> Hlc {
        let wall_ms = self.wall_ms.max(remote.wall_ms).max(now_ms);
        let local_same = wall_ms == self.wall_ms;
        let remote_same = wall_ms == remote.wall_ms;
        match (local_same, remote_same) {
            (true, true) => Hlc::new(wall_ms, self.counter.max(remote.counter)).successor(),
            (true, false) => self.successor(),
            (false, true) => remote.successor(),
            (false, false) => Hlc::new(wall_ms, 0),
        }
    }

    /// The next clock value in the order, saturating at [`Hlc::MAX`]. When the
    /// counter is exhausted (2^32 events in one millisecond) the physical part
    /// moves on by one millisecond, so the clock still never goes backwards.
    fn successor(self) -> Hlc {
        match self.counter.checked_add(1) {
            Some(counter) => Hlc::new(self.wall_ms, counter),
            None => match self.wall_ms.checked_add(1) {
                Some(wall_ms) => Hlc::new(wall_ms, 0),
                None => Hlc::MAX,
            },
        }
    }
}

impl fmt::Display for Hlc {
    /// `wall_ms.counter`, e.g. `1767225600000.3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.wall_ms, self.counter)
    }
}

/// The id of a device (a phone with the app, or the server when it writes on
/// behalf of a clinic): 1 to 64 characters, no control characters. It breaks
/// ties between equal clocks, so every device must have a distinct id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(String);

/// A string that is not a valid [`DeviceId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid device id {0:?}: expected 1-64 characters without control characters")]
pub struct InvalidDeviceId(pub String);

impl DeviceId {
    /// The longest accepted id, in characters.
    pub const MAX_CHARS: usize = 64;

    /// Checks `id` and wraps it.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidDeviceId> {
        let id = id.into();
        let chars = id.chars().count();
        if (1..=Self::MAX_CHARS).contains(&chars) && !id.chars().any(char::is_control) {
            Ok(DeviceId(id))
        } else {
            Err(InvalidDeviceId(id))
        }
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DeviceId {
    type Err = InvalidDeviceId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeviceId::new(s)
    }
}

impl TryFrom<String> for DeviceId {
    type Error = InvalidDeviceId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        DeviceId::new(s)
    }
}

impl Serialize for DeviceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DeviceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DeviceId::new(s).map_err(serde::de::Error::custom)
    }
}

/// Identifies one version of a record: when (HLC) and where (device) it was made.
///
/// Ordered by (`hlc`, `device`): a total order, since a device never stamps two
/// versions with the same clock value ([`Hlc::tick`] always moves forward).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionStamp {
    /// The editing device's clock at the edit.
    pub hlc: Hlc,
    /// The editing device.
    pub device: DeviceId,
}

impl VersionStamp {
    /// A stamp from its parts.
    pub fn new(hlc: Hlc, device: DeviceId) -> Self {
        VersionStamp { hlc, device }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tick_uses_the_wall_clock_when_it_moved_on_and_the_counter_otherwise() {
        let c = Hlc::new(100, 5);
        assert_eq!(c.tick(200), Hlc::new(200, 0));
        assert_eq!(c.tick(100), Hlc::new(100, 6));
        assert_eq!(c.tick(50), Hlc::new(100, 6), "a wall clock set back does not move the clock back");
    }

    #[test]
    fn receive_follows_the_hlc_paper() {
        let local = Hlc::new(100, 5);
        // The wall clock is ahead of both.
        assert_eq!(local.receive(&Hlc::new(90, 9), 150), Hlc::new(150, 0));
        // Local is ahead.
        assert_eq!(local.receive(&Hlc::new(90, 9), 80), Hlc::new(100, 6));
        // Remote is ahead (a device with a fast clock).
        assert_eq!(local.receive(&Hlc::new(120, 3), 110), Hlc::new(120, 4));
        // Same physical part: past both counters.
        assert_eq!(local.receive(&Hlc::new(100, 9), 100), Hlc::new(100, 10));
        assert_eq!(local.receive(&Hlc::new(100, 2), 99), Hlc::new(100, 6));
    }

    #[test]
    fn the_clock_saturates_instead_of_overflowing() {
        let full_counter = Hlc::new(7, u32::MAX);
        assert_eq!(full_counter.tick(7), Hlc::new(8, 0));
        assert_eq!(Hlc::MAX.tick(0), Hlc::MAX);
        assert_eq!(Hlc::MAX.tick(u64::MAX), Hlc::MAX);
        assert_eq!(Hlc::ZERO.receive(&Hlc::MAX, 0), Hlc::MAX);
        assert_eq!(Hlc::MAX.receive(&Hlc::MAX, u64::MAX), Hlc::MAX);
        assert_eq!(Hlc::new(u64::MAX, 3).tick(u64::MAX), Hlc::new(u64::MAX, 4));
    }

    #[test]
    fn hlc_order_is_wall_clock_then_counter() {
        assert!(Hlc::new(1, 9) < Hlc::new(2, 0));
        assert!(Hlc::new(2, 0) < Hlc::new(2, 1));
        assert_eq!(Hlc::new(1767225600000, 3).to_string(), "1767225600000.3");
    }

    #[test]
    fn device_ids_are_1_to_64_chars_without_control_characters() {
        for ok in ["a", "iphone-7F3A", "端末1", &"x".repeat(64), &"あ".repeat(64)] {
            assert!(DeviceId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a\nb", "\u{0}", &"x".repeat(65)] {
            assert!(DeviceId::new(bad).is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<DeviceId>("\"\"").is_err());
        assert_eq!(serde_json::from_str::<DeviceId>("\"d1\"").unwrap().as_str(), "d1");
    }

    #[test]
    fn stamps_order_by_clock_then_device_and_round_trip_in_json() {
        let a = VersionStamp::new(Hlc::new(5, 0), DeviceId::new("b").unwrap());
        let b = VersionStamp::new(Hlc::new(5, 0), DeviceId::new("c").unwrap());
        let c = VersionStamp::new(Hlc::new(5, 1), DeviceId::new("a").unwrap());
        assert!(a < b && b < c);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json, serde_json::json!({"hlc": {"wall_ms": 5, "counter": 1}, "device": "a"}));
        assert_eq!(serde_json::from_value::<VersionStamp>(json).unwrap(), c);
        assert!(serde_json::from_str::<Hlc>(r#"{"wall_ms": 1, "counter": 0, "x": 1}"#).is_err());
        assert!(serde_json::from_str::<Hlc>(r#"{"wall_ms": -1, "counter": 0}"#).is_err());
    }

    fn arb_hlc() -> impl Strategy<Value = Hlc> {
        prop_oneof![
            (0u64..1000, 0u32..5).prop_map(|(w, c)| Hlc::new(w, c)),
            (any::<u64>(), any::<u32>()).prop_map(|(w, c)| Hlc::new(w, c)),
            (u64::MAX - 2..=u64::MAX, u32::MAX - 2..=u32::MAX).prop_map(|(w, c)| Hlc::new(w, c)),
        ]
    }

    /// One step of a device's clock: a local event or receiving a stamp.
    #[derive(Debug, Clone)]
    enum Step {
        Tick { now_ms: u64 },
        Receive { remote: Hlc, now_ms: u64 },
    }

    fn arb_step() -> impl Strategy<Value = Step> {
        let now = prop_oneof![0u64..1000, any::<u64>()];
        prop_oneof![
            now.clone().prop_map(|now_ms| Step::Tick { now_ms }),
            (arb_hlc(), now).prop_map(|(remote, now_ms)| Step::Receive { remote, now_ms }),
        ]
    }

    proptest! {
        #[test]
        fn hlc_never_goes_backwards_under_tick_and_receive(
            start in arb_hlc(),
            steps in prop::collection::vec(arb_step(), 1..50),
        ) {
            let mut clock = start;
            for step in steps {
                let next = match step {
                    Step::Tick { now_ms } => {
                        let next = clock.tick(now_ms);
                        prop_assert!(next.wall_ms >= now_ms);
                        next
                    }
                    Step::Receive { remote, now_ms } => {
                        let next = clock.receive(&remote, now_ms);
                        prop_assert!(next.wall_ms >= now_ms);
                        prop_assert!(next > remote || remote == Hlc::MAX);
                        prop_assert!(next >= remote);
                        next
                    }
                };
                // Strictly forward, except when pinned at the very top.
                prop_assert!(next > clock || clock == Hlc::MAX);
                prop_assert!(next >= clock);
                clock = next;
            }
        }
    }
}
