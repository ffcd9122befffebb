//! The deterministic merge rule for concurrent versions of one record.
//!
//! See the [`sync`](super) module docs for the rule and why it is deterministic.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::hlc::VersionStamp;

/// What a version does to the record.
///
/// JSON: `{"edit": <body>}` or `"delete"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change<T> {
    /// The record's new content.
    Edit(T),
    /// The record is deleted (a tombstone).
    Delete,
}

/// One version of a record, as made on one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordVersion<T> {
    /// When and where the version was made; identifies it.
    pub stamp: VersionStamp,
    /// The server version the edit was based on; 0 for a new record.
    pub base_version: u64,
    /// The edit or the deletion.
    pub change: Change<T>,
}

impl<T> RecordVersion<T> {
    /// Whether this version deletes the record.
    pub fn is_delete(&self) -> bool {
        matches!(self.change, Change::Delete)
    }

    /// The content, if this version is an edit.
    pub fn edit(&self) -> Option<&T> {
        match &self.change {
            Change::Edit(body) => Some(body),
            Change::Delete => None,
        }
    }
}

/// The merge key of a version within a set: `(effective, is_delete, stamp)`.
type Key<'a> = (&'a VersionStamp, bool, &'a VersionStamp);

fn key<'a, T>(v: &'a RecordVersion<T>, effective: &'a VersionStamp) -> Key<'a> {
    (effective, v.is_delete(), &v.stamp)
}

/// The winner of two versions, by the same rule as [`RecordHistory::winner`]
/// for a history holding exactly `a` and `b`. If both have the same stamp
/// (the same version), `a` is returned.
pub fn resolve<'a, T>(a: &'a RecordVersion<T>, b: &'a RecordVersion<T>) -> &'a RecordVersion<T> {
    fn effective<'v, T>(v: &'v RecordVersion<T>, other: &'v RecordVersion<T>) -> &'v VersionStamp {
        if v.is_delete() && !other.is_delete() && other.base_version == v.base_version {
            (&v.stamp).max(&other.stamp)
        } else {
            &v.stamp
        }
    }
    if key(a, effective(a, b)) >= key(b, effective(b, a)) {
        a
    } else {
        b
    }
}

/// All known versions of one record, keyed by stamp.
///
/// Merging is a set union, so histories converge: any two devices that have
/// merged the same versions, in any order and by any route, hold equal
/// histories and agree on the [`winner`](RecordHistory::winner).
///
/// JSON: an array of versions in stamp order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHistory<T> {
    versions: BTreeMap<VersionStamp, RecordVersion<T>>,
}

impl<T> Default for RecordHistory<T> {
    fn default() -> Self {
        RecordHistory { versions: BTreeMap::new() }
    }
}

impl<T> RecordHistory<T> {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a version. Returns `true` if it was new, `false` if a version with
    /// the same stamp was already known (the known one is kept: a stamp
    /// identifies one version, so this is a re-delivery).
    pub fn merge(&mut self, version: RecordVersion<T>) -> bool {
        if self.versions.contains_key(&version.stamp) {
            return false;
        }
        self.versions.insert(version.stamp.clone(), version);
        true
    }

    /// Adds every version of `other` not yet known. Returns how many were new.
    pub fn merge_history(&mut self, other: &Self) -> usize
    where
        T: Clone,
    {
        other.versions.values().filter(|v| self.merge((*v).clone())).count()
    }

    /// The number of known versions.
    pub fn len(&self) -> usize {
        self.versions.len()
    }

    /// Whether no version is known.
    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    /// The version with this stamp, if known.
    pub fn get(&self, stamp: &VersionStamp) -> Option<&RecordVersion<T>> {
        self.versions.get(stamp)
    }

    /// All versions in stamp order.
    pub fn versions(&self) -> impl Iterator<Item = &RecordVersion<T>> {
        self.versions.values()
    }

    /// The effective stamp of `v` in this history (see the `sync` module docs).
    fn effective<'a>(&'a self, v: &'a RecordVersion<T>) -> &'a VersionStamp {
        if !v.is_delete() {
            return &v.stamp;
        }
        self.versions
            .values()
            .filter(|e| !e.is_delete() && e.base_version == v.base_version)
            .map(|e| &e.stamp)
            .fold(&v.stamp, |acc, s| acc.max(s))
    }

    /// The current version: the greatest by `(effective, is_delete, stamp)`
    /// (see the `sync` module docs). `None` only for an empty history.
    /// Allocation-free; O(n) plus O(n) per delete in the history.
    pub fn winner(&self) -> Option<&RecordVersion<T>> {
        self.versions.values().max_by(|a, b| key(a, self.effective(a)).cmp(&key(b, self.effective(b))))
    }

    /// Consumes the history and returns its current version ([`RecordHistory::winner`]) without cloning it.
    pub fn into_winner(mut self) -> Option<RecordVersion<T>> {
        let stamp = self.winner()?.stamp.clone();
        self.versions.remove(&stamp)
    }

    /// Every version except the winner, in stamp order (oldest first).
    pub fn losers(&self) -> impl Iterator<Item = &RecordVersion<T>> {
        let winner = self.winner().map(|w| &w.stamp);
        self.versions.values().filter(move |v| Some(&v.stamp) != winner)
    }

    /// Whether the record is deleted: the winner is a delete. An empty history
    /// is not deleted.
    pub fn is_deleted(&self) -> bool {
        self.winner().is_some_and(RecordVersion::is_delete)
    }

    /// The greatest stamp in the history (not necessarily the winner's).
    pub fn latest_stamp(&self) -> Option<&VersionStamp> {
        self.versions.keys().next_back()
    }

    /// Folds the versions the merge rule can never need again, so that what a
    /// record carries stays bounded however often it is edited; returns how
    /// many were folded. Kept:
    ///
    /// - every delete (they carry no body),
    /// - the greatest edit by stamp and the winner,
    /// - the conflicts the app shows: per device other than the winner's,
    ///   its latest edit made from the winner's base version.
    ///
    /// Every other edit has a greater edit kept beside it, and such an edit
    /// can never matter again, whatever is merged later: it cannot win
    /// (the kept edit's key is greater), and the most it adds to a delete's
    /// effective stamp is its own stamp, still below the kept edit, so it
    /// cannot lift a delete over the kept edit either. Hence for every set
    /// of versions `X`, `winner(self ∪ X)` is the same before and after
    /// compaction, and devices that compacted and devices that did not still
    /// agree on every winner.
    pub fn compact(&mut self) -> usize {
        let Some(greatest_edit) = self.versions.values().filter(|v| !v.is_delete()).map(|v| v.stamp.clone()).max()
        else {
            return 0;
        };
        let Some(winner) = self.winner().map(|w| (w.stamp.clone(), w.base_version)) else {
            return 0;
        };
        let mut latest_conflict: BTreeMap<&str, &VersionStamp> = BTreeMap::new();
        for v in self.versions.values() {
            if !v.is_delete() && v.base_version == winner.1 && v.stamp.device != winner.0.device {
                let latest = latest_conflict.entry(v.stamp.device.as_str()).or_insert(&v.stamp);
                if *latest < &v.stamp {
                    *latest = &v.stamp;
                }
            }
        }
        let conflicts: Vec<VersionStamp> = latest_conflict.into_values().cloned().collect();
        let before = self.versions.len();
        self.versions.retain(|stamp, v| {
            v.is_delete() || *stamp == greatest_edit || *stamp == winner.0 || conflicts.contains(stamp)
        });
        before - self.versions.len()
    }
}

impl<T> FromIterator<RecordVersion<T>> for RecordHistory<T> {
    fn from_iter<I: IntoIterator<Item = RecordVersion<T>>>(iter: I) -> Self {
        let mut h = RecordHistory::new();
        h.extend(iter);
        h
    }
}

impl<T> Extend<RecordVersion<T>> for RecordHistory<T> {
    fn extend<I: IntoIterator<Item = RecordVersion<T>>>(&mut self, iter: I) {
        for v in iter {
            self.merge(v);
        }
    }
}

impl<T: Serialize> Serialize for RecordHistory<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.versions.values())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for RecordHistory<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<RecordVersion<T>>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::hlc::{DeviceId, Hlc};
    use super::*;
    use proptest::prelude::*;

    fn stamp(wall_ms: u64, counter: u32, device: &str) -> VersionStamp {
        VersionStamp::new(Hlc::new(wall_ms, counter), DeviceId::new(device).expect("valid test device"))
    }

    fn edit(wall_ms: u64, device: &str, base: u64, body: &str) -> RecordVersion<String> {
        RecordVersion { stamp: stamp(wall_ms, 0, device), base_version: base, change: Change::Edit(body.to_owned()) }
    }

    fn delete(wall_ms: u64, device: &str, base: u64) -> RecordVersion<String> {
        RecordVersion { stamp: stamp(wall_ms, 0, device), base_version: base, change: Change::Delete }
    }

    fn history(vs: &[RecordVersion<String>]) -> RecordHistory<String> {
        vs.iter().cloned().collect()
    }

    #[test]
    fn into_winner_returns_the_same_version_as_winner_including_an_absorbing_delete() {
        let a = edit(10, "phone-a", 1, "a");
        let b = edit(11, "phone-b", 1, "b");
        let h = history(&[b.clone(), a.clone()]);
        assert_eq!(h.clone().into_winner().as_ref(), h.winner());
        let d = delete(5, "phone-a", 1);
        let h = history(&[a, b, d.clone()]);
        assert_eq!(h.clone().into_winner(), Some(d));
        assert!(RecordHistory::<String>::new().into_winner().is_none());
    }

    #[test]
    fn an_empty_history_has_no_winner_and_is_not_deleted() {
        let h = RecordHistory::<String>::new();
        assert!(h.winner().is_none() && h.is_empty() && !h.is_deleted());
        assert_eq!(h.losers().count(), 0);
    }

    #[test]
    fn between_edits_the_greater_hlc_wins_and_the_device_id_breaks_ties() {
        let a = edit(10, "phone-a", 1, "a");
        let b = edit(11, "phone-b", 1, "b");
        assert_eq!(resolve(&a, &b), &b);
        assert_eq!(history(&[b.clone(), a.clone()]).winner(), Some(&b));

        let tie_a = edit(10, "phone-a", 1, "a");
        let tie_b = edit(10, "phone-b", 1, "b");
        assert_eq!(resolve(&tie_a, &tie_b), &tie_b);
        assert_eq!(resolve(&tie_b, &tie_a), &tie_b);
        let h = history(&[tie_a.clone(), tie_b.clone()]);
        assert_eq!(h.winner(), Some(&tie_b));
        assert_eq!(h.losers().collect::<Vec<_>>(), vec![&tie_a]);
    }

    #[test]
    fn a_delete_absorbs_the_edits_made_from_the_same_base() {
        let d = delete(10, "phone-a", 3);
        let concurrent = edit(20, "phone-b", 3, "later clock, same base");
        assert_eq!(resolve(&d, &concurrent), &d);
        assert_eq!(resolve(&concurrent, &d), &d);
        let h = history(&[concurrent.clone(), d.clone()]);
        assert!(h.is_deleted());
        assert_eq!(h.losers().collect::<Vec<_>>(), vec![&concurrent]);
    }

    #[test]
    fn an_edit_made_after_seeing_the_delete_wins_but_an_older_one_does_not() {
        let e1 = edit(20, "phone-b", 3, "concurrent with the delete");
        let d = delete(10, "phone-a", 3);
        // Made after pulling e1 (server version 4) and the delete: a greater clock.
        let later = edit(25, "phone-c", 4, "restored");
        let h = history(&[d.clone(), e1.clone(), later.clone()]);
        assert_eq!(h.winner(), Some(&later));
        assert!(!h.is_deleted());

        // An edit based on 4 but stamped before e1, which the delete absorbed:
        // it cannot have seen e1, so it does not beat the delete.
        let stale = edit(15, "phone-c", 4, "stale");
        let h = history(&[d.clone(), e1, stale]);
        assert_eq!(h.winner(), Some(&d));
    }

    #[test]
    fn a_delete_with_the_greater_hlc_beats_an_edit_from_another_base() {
        let e = edit(10, "phone-b", 2, "old");
        let d = delete(20, "phone-a", 5);
        assert_eq!(resolve(&e, &d), &d);
        assert!(history(&[e, d]).is_deleted());
    }

    #[test]
    fn a_redelivered_stamp_is_not_a_new_version() {
        let mut h = history(&[edit(10, "a", 0, "first")]);
        assert!(!h.merge(edit(10, "a", 0, "first")));
        assert_eq!(h.len(), 1);
        assert!(h.merge(edit(11, "a", 1, "second")));
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn compaction_folds_a_devices_earlier_edits_and_keeps_the_conflicting_ones() {
        let mut h = history(&[
            edit(10, "phone-a", 3, "a1"),
            edit(11, "phone-a", 3, "a2"),
            edit(12, "phone-b", 3, "b1"),
            edit(13, "phone-b", 3, "b2"),
            edit(14, "phone-a", 3, "a3"),
            edit(5, "phone-c", 1, "old"),
        ]);
        assert_eq!(h.compact(), 4);
        let left: Vec<&String> = h.versions().filter_map(RecordVersion::edit).collect();
        assert_eq!(left, ["b2", "a3"]);
        assert_eq!(h.winner().and_then(RecordVersion::edit).map(String::as_str), Some("a3"));
        assert_eq!(h.compact(), 0);
    }

    #[test]
    fn compaction_keeps_deletes_and_the_greatest_edit_of_a_tombstone() {
        let mut h = history(&[
            edit(10, "phone-a", 1, "a1"),
            edit(11, "phone-a", 2, "a2"),
            delete(12, "phone-a", 3),
            edit(9, "phone-b", 3, "b1"),
        ]);
        assert!(h.is_deleted());
        assert_eq!(h.compact(), 1);
        assert!(h.is_deleted());
        assert_eq!(h.versions().filter_map(RecordVersion::edit).collect::<Vec<_>>(), ["b1", "a2"]);
    }

    #[test]
    fn history_json_is_the_list_of_versions() {
        let h = history(&[delete(11, "b", 1), edit(10, "a", 0, "x")]);
        let json = serde_json::to_value(&h).unwrap();
        assert_eq!(json[0]["change"], serde_json::json!({"edit": "x"}));
        assert_eq!(json[1]["change"], "delete");
        assert_eq!(json[1]["base_version"], 1);
        assert_eq!(serde_json::from_value::<RecordHistory<String>>(json).unwrap(), h);
        assert!(serde_json::from_str::<RecordVersion<String>>(
            r#"{"stamp":{"hlc":{"wall_ms":1,"counter":0},"device":"a"},"base_version":0,"change":"delete","x":1}"#
        )
        .is_err());
    }

    // ---- property tests -------------------------------------------------

    fn arb_version() -> impl Strategy<Value = RecordVersion<u8>> {
        (0u64..6, 0u32..3, prop::sample::select(vec!["a", "b", "c"]), 0u64..4, prop::option::weighted(0.7, any::<u8>()))
            .prop_map(|(wall, counter, device, base, body)| RecordVersion {
                stamp: stamp(wall, counter, device),
                base_version: base,
                change: body.map_or(Change::Delete, Change::Edit),
            })
    }

    /// Versions with distinct stamps, as real devices produce them.
    fn arb_versions(max: usize) -> impl Strategy<Value = Vec<RecordVersion<u8>>> {
        prop::collection::vec(arb_version(), 1..max).prop_map(|vs| {
            let mut seen = std::collections::BTreeSet::new();
            vs.into_iter().filter(|v| seen.insert(v.stamp.clone())).collect()
        })
    }

    fn built(vs: &[RecordVersion<u8>]) -> RecordHistory<u8> {
        vs.iter().cloned().collect()
    }

    proptest! {
        #[test]
        fn the_winner_is_the_same_whatever_order_versions_arrive_in(
            (vs, shuffled) in arb_versions(12).prop_flat_map(|vs| (Just(vs.clone()), Just(vs).prop_shuffle())),
        ) {
            let a = built(&vs);
            let b = built(&shuffled);
            prop_assert_eq!(a.winner(), b.winner());
            prop_assert_eq!(a.losers().collect::<Vec<_>>(), b.losers().collect::<Vec<_>>());
            prop_assert_eq!(&a, &b);
        }

        #[test]
        fn two_devices_merging_each_others_histories_agree_on_the_winner(
            vs in arb_versions(12),
            placement in prop::collection::vec(0u8..3, 12),
        ) {
            // Each version reached device A, device B, or both.
            let mut a = RecordHistory::new();
            let mut b = RecordHistory::new();
            for (v, p) in vs.iter().zip(placement) {
                if p != 1 { a.merge(v.clone()); }
                if p != 0 { b.merge(v.clone()); }
            }
            let a_before = a.clone();
            a.merge_history(&b);
            b.merge_history(&a_before);
            prop_assert_eq!(a.winner(), b.winner());
            prop_assert_eq!(&a, &b);
            let fresh = built(&vs);
            prop_assert_eq!(a.winner(), fresh.winner());
        }

        #[test]
        fn merging_twice_changes_nothing(vs in arb_versions(12)) {
            let once = built(&vs);
            let mut twice = once.clone();
            for v in &vs {
                prop_assert!(!twice.merge(v.clone()));
            }
            prop_assert_eq!(twice.merge_history(&once), 0);
            prop_assert_eq!(&twice, &once);
            prop_assert_eq!(twice.winner(), once.winner());
        }

        #[test]
        fn no_version_is_lost(vs in arb_versions(12)) {
            let h = built(&vs);
            prop_assert_eq!(h.len(), vs.len());
            let winner = h.winner();
            prop_assert!(winner.is_some());
            let losers: Vec<_> = h.losers().collect();
            prop_assert_eq!(losers.len(), vs.len() - 1);
            for v in &vs {
                prop_assert!(winner == Some(v) || losers.contains(&v), "lost {:?}", v);
            }
            prop_assert_eq!(h.is_deleted(), winner.is_some_and(|w| w.is_delete()));
        }

        #[test]
        fn a_delete_beats_a_concurrent_edit_with_the_same_base(
            d in arb_version(),
            e in arb_version(),
            others in arb_versions(10),
        ) {
            prop_assume!(d.stamp != e.stamp);
            let d = RecordVersion { change: Change::Delete, ..d };
            let e = RecordVersion { base_version: d.base_version, change: Change::Edit(e.edit().copied().unwrap_or(0)), ..e };
            prop_assert_eq!(resolve(&d, &e), &d);
            prop_assert_eq!(resolve(&e, &d), &d);
            let pair = built(&[e.clone(), d.clone()]);
            prop_assert_eq!(pair.winner(), Some(&d));

            // In any history, no edit wins over a delete from the same base.
            let mut h = built(&others);
            h.merge(d);
            h.merge(e);
            let w = h.winner().expect("non-empty");
            if !w.is_delete() {
                prop_assert!(h.versions().all(|v| !(v.is_delete() && v.base_version == w.base_version)));
            }
        }

        #[test]
        fn a_later_edit_from_another_base_beats_an_earlier_delete(
            d in arb_version(),
            e in arb_version(),
            others in arb_versions(10),
            now_ms in 0u64..10,
        ) {
            // Two versions: a greater stamp and a different base wins.
            let d = RecordVersion { change: Change::Delete, ..d };
            prop_assume!(e.stamp > d.stamp && e.base_version != d.base_version);
            let e = RecordVersion { change: Change::Edit(1u8), ..e };
            prop_assert_eq!(resolve(&d, &e), &e);
            prop_assert_eq!(resolve(&e, &d), &e);
            let pair = built(&[d.clone(), e.clone()]);
            prop_assert_eq!(pair.winner(), Some(&e));

            // A device that has seen a whole history (including deletes) and
            // then edits, from the newest server version, wins over all of it.
            let mut h = built(&others);
            h.merge(d);
            let seen = h.versions().fold(Hlc::ZERO, |clock, v| clock.receive(&v.stamp.hlc, now_ms));
            let newest_base = h.versions().map(|v| v.base_version).max().unwrap_or(0) + 1;
            let later = RecordVersion {
                stamp: VersionStamp::new(seen.tick(now_ms), DeviceId::new("z").expect("valid")),
                base_version: newest_base,
                change: Change::Edit(7u8),
            };
            h.merge(later.clone());
            prop_assert_eq!(h.winner(), Some(&later));
            prop_assert!(!h.is_deleted());
        }

        #[test]
        fn compaction_never_changes_the_winner_of_any_later_merge(
            vs in arb_versions(14),
            later in arb_versions(6),
        ) {
            let full = built(&vs);
            // A stamp names one version: later versions are new ones.
            let later: Vec<_> = later.into_iter().filter(|v| full.get(&v.stamp).is_none()).collect();
            let mut compacted = full.clone();
            compacted.compact();
            prop_assert_eq!(full.winner().map(|w| &w.stamp), compacted.winner().map(|w| &w.stamp));
            let (mut a, mut b) = (full.clone(), compacted.clone());
            a.extend(later.iter().cloned());
            b.extend(later.iter().cloned());
            prop_assert_eq!(a.winner().map(|w| &w.stamp), b.winner().map(|w| &w.stamp));
            // A device that did not compact merging one that did, and the reverse.
            let mut mixed = compacted.clone();
            mixed.merge_history(&full);
            mixed.extend(later.iter().cloned());
            prop_assert_eq!(a.winner().map(|w| &w.stamp), mixed.winner().map(|w| &w.stamp));
            // Compacting again after more merges keeps agreeing.
            b.compact();
            prop_assert_eq!(a.winner().map(|w| &w.stamp), b.winner().map(|w| &w.stamp));
        }

        #[test]
        fn compaction_keeps_every_delete_and_at_most_one_edit_per_device_besides_the_greatest(
            vs in arb_versions(14),
        ) {
            let mut h = built(&vs);
            let deletes = h.versions().filter(|v| v.is_delete()).count();
            let before = h.len();
            let folded = h.compact();
            prop_assert_eq!(before - folded, h.len());
            prop_assert_eq!(h.versions().filter(|v| v.is_delete()).count(), deletes);
            let devices: std::collections::BTreeSet<_> = h.versions().map(|v| v.stamp.device.clone()).collect();
            prop_assert!(h.versions().filter(|v| !v.is_delete()).count() <= devices.len() + 2);
            prop_assert_eq!(h.compact(), 0, "compaction is idempotent");
        }

        #[test]
        fn resolve_agrees_with_the_history_of_two_versions(a in arb_version(), b in arb_version()) {
            prop_assume!(a.stamp != b.stamp);
            let h = built(&[a.clone(), b.clone()]);
            prop_assert_eq!(Some(resolve(&a, &b)), h.winner());
            prop_assert_eq!(Some(resolve(&b, &a)), h.winner());
        }
    }
}
