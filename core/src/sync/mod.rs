//! Sync rules (`docs/architecture.md`, "Data flow: a sync push"): hybrid logical clocks and
//! the deterministic merge rule for concurrent versions of one record.
//!
//! Every edit a device makes carries a [`VersionStamp`]: its [`Hlc`] and the
//! device's [`DeviceId`]. When the server answers a push with a conflict, or a
//! pull brings versions made elsewhere, the device collects them in a
//! [`RecordHistory`] and shows its [`winner`](RecordHistory::winner); the
//! losers stay in the history, so no version is lost. [`resolve`] applies the
//! same rule to just two versions.
//!
//! # The rule
//!
//! The version with the greater (HLC, device id) wins; a delete wins over an
//! edit it has seen (same base) and loses to a later edit.
//!
//! # As a total order
//!
//! Every version `v` gets the key `(effective(v), is_delete(v), v.stamp)` and
//! the winner is the version with the greatest key, where
//!
//! - `effective(edit e) = e.stamp`;
//! - `effective(delete d) = max(d.stamp, the stamps of all edits in the set
//!   with base_version == d.base_version)`.
//!
//! **Deterministic.** The key of a version depends only on the version and on
//! the *set* of known versions, never on the order they arrived in or on who
//! merged whom. Keys are distinct, because stamps are (a device never stamps
//! two versions alike: [`Hlc::tick`] always moves forward),
//! so the maximum is unique: every device holding the same set of versions
//! picks the same winner.
//!
//! **Matches the rule.**
//! - Two edits: keys compare by stamp, so the greater (HLC, device) wins.
//! - A delete `d` against an edit `e` with the same base: `effective(d) >=
//!   e.stamp`, and on equality `is_delete` decides, so `d` wins whatever the
//!   clocks say. Those edits were made from the same server version, so the
//!   delete "has seen" exactly what they started from; it absorbs their stamps.
//! - A delete `d` against an edit `e` with another base: the greater effective
//!   stamp wins. An edit made *after* the delete or any edit it absorbed (its
//!   device had pulled them) carries a greater HLC than all of them, because
//!   the HLC [`receive`](Hlc::receive) rule puts every later local
//!   event above every stamp seen; so that later edit wins and "un-deletes"
//!   the record. An edit concurrent with the delete wins only if its stamp is
//!   greater, as for any two concurrent versions.
//!
//! The losers stay in the [`RecordHistory`] so the app can show them, until
//! [`RecordHistory::compact`] folds the ones the rule can never need again (a
//! device's earlier edits that a greater edit has superseded): every delete,
//! the greatest edit, the winner and each other device's latest edit from the
//! winner's base stay, so a record edited a thousand times still carries a
//! few versions, and compaction never changes a winner, now or after any
//! later merge.

mod hlc;
mod merge;
pub mod protocol;
pub mod record_envelope;

pub use hlc::{DeviceId, Hlc, InvalidDeviceId, VersionStamp};
pub use merge::{resolve, Change, RecordHistory, RecordVersion};
