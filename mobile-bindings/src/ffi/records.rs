//! The records that cross the FFI, and their conversions from (and, for
//! inputs, to) the engine's types.

use phr_core::dataset::immunization::{DoseSeries, Vaccine};
use phr_core::dataset::{RecordBody, RecordKind};
use phr_core::ffi::LocalDate;
use phr_core::growth::{GrowthFlag, ReferenceScore};

use crate::engine;

// The date type phr-core maps for the FFI (`core/src/ffi.rs`), for this
// crate's own records.
uniffi::use_remote_type!(phr_core::LocalDate);

/// The account this device belongs to, as [`PhrClient::account`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccountSummary {
    pub account_id: String,
    pub device_id: String,
    pub server_url: String,
}

impl From<engine::AccountSummary> for AccountSummary {
    fn from(v: engine::AccountSummary) -> Self {
        AccountSummary { account_id: v.account_id, device_id: v.device_id, server_url: v.server_url }
    }
}

/// What a signed-in device hands to a new one (shown as a QR code): the
/// single-use pairing code from the server and the account key, which travels
/// device to device and never through the server.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct PairingInvite {
    pub server_url: String,
    pub account_id: String,
    pub pairing_code: String,
    /// The 32-byte account key. Secret: show it only to the new device.
    pub account_key: Vec<u8>,
    /// Epoch milliseconds.
    pub expires_at: i64,
}

impl std::fmt::Debug for PairingInvite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairingInvite")
            .field("account_id", &self.account_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl From<PairingInvite> for engine::PairingInvite {
    fn from(v: PairingInvite) -> Self {
        engine::PairingInvite {
            server_url: v.server_url,
            account_id: v.account_id,
            pairing_code: v.pairing_code,
            account_key: v.account_key,
            expires_at: v.expires_at,
        }
    }
}

impl From<engine::PairingInvite> for PairingInvite {
    fn from(v: engine::PairingInvite) -> Self {
        PairingInvite {
            server_url: v.server_url,
            account_id: v.account_id,
            pairing_code: v.pairing_code,
            account_key: v.account_key,
            expires_at: v.expires_at,
        }
    }
}

/// One live record on a timeline.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TimelineEntry {
    pub record_id: String,
    /// The dataset module (the variant of `body`).
    pub kind: RecordKind,
    /// `mother` or `child:<uuid>`.
    pub subject: String,
    /// The date the record is about, if its module is dated.
    pub effective_date: Option<LocalDate>,
    /// The winning version: one typed dataset record.
    pub body: RecordBody,
    /// How many versions the record's history holds.
    pub version_count: u32,
    /// Concurrent edits lost to the winner are kept: the app may show them.
    pub has_conflicts: bool,
    /// Changed here since the last acknowledged sync.
    pub pending: bool,
}

impl From<engine::TimelineEntry> for TimelineEntry {
    fn from(v: engine::TimelineEntry) -> Self {
        TimelineEntry {
            record_id: v.record_id,
            kind: v.kind,
            subject: v.subject,
            effective_date: v.effective_date,
            body: v.body,
            version_count: v.version_count,
            has_conflicts: v.has_conflicts,
            pending: v.pending,
        }
    }
}

/// One page of a timeline, as [`PhrClient::timeline_page`] returns it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TimelinePage {
    /// Up to the `limit` asked for, in timeline order.
    pub entries: Vec<TimelineEntry>,
    /// Pass it as `page` for the next page; `None` on the last page. Opaque.
    pub next_page: Option<String>,
}

impl From<engine::TimelinePage> for TimelinePage {
    fn from(v: engine::TimelinePage) -> Self {
        TimelinePage { entries: v.entries.into_iter().map(Into::into).collect(), next_page: v.next_page }
    }
}

/// One version of a record's history, for a "versions" screen.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RecordVersionView {
    /// The device that made it.
    pub device_id: String,
    /// Its hybrid logical clock, `wall_ms.counter`.
    pub hlc: String,
    /// The server version it was based on (0: a new record).
    pub base_version: u64,
    /// A tombstone.
    pub deleted: bool,
    /// The content of an edit (`None` for a deletion).
    pub body: Option<RecordBody>,
    /// The version the merge rule picked.
    pub winner: bool,
}

impl From<engine::RecordVersionView> for RecordVersionView {
    fn from(v: engine::RecordVersionView) -> Self {
        RecordVersionView {
            device_id: v.device_id,
            hlc: v.hlc,
            base_version: v.base_version,
            deleted: v.deleted,
            body: v.body,
            winner: v.winner,
        }
    }
}

/// An organization a family can grant access to.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Organization {
    pub organization_id: String,
    pub name: String,
    /// clinic, municipality, ehr_network, research
    pub kind: String,
    /// The purposes it may be granted for (treatment, emergency, research).
    pub purposes: Vec<String>,
}

impl From<engine::Organization> for Organization {
    fn from(v: engine::Organization) -> Self {
        Organization { organization_id: v.organization_id, name: v.name, kind: v.kind, purposes: v.purposes }
    }
}

/// What the parent chose on the consent screen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GrantRequest {
    pub organization_id: String,
    /// treatment, emergency or research.
    pub purpose: String,
    /// Dataset modules (`prenatal_visit`, `immunization`, ...).
    pub modules: Vec<String>,
    /// `mother` and/or `child:<uuid>`.
    pub subjects: Vec<String>,
    /// When access starts: `YYYY-MM-DD` (start of that day, UTC) or RFC 3339;
    /// none = now.
    pub from: Option<String>,
    /// When access ends: `YYYY-MM-DD` (access through the end of that day,
    /// UTC) or RFC 3339 (exclusive); none = until revoked.
    pub to: Option<String>,
    /// read or read_write.
    pub access: String,
}

impl From<GrantRequest> for engine::GrantRequest {
    fn from(v: GrantRequest) -> Self {
        engine::GrantRequest {
            organization_id: v.organization_id,
            purpose: v.purpose,
            modules: v.modules,
            subjects: v.subjects,
            from: v.from,
            to: v.to,
            access: v.access,
        }
    }
}

/// A grant as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GrantView {
    pub grant_id: String,
    pub organization_id: String,
    pub organization_name: String,
    pub purpose: String,
    pub modules: Vec<String>,
    pub subjects: Vec<String>,
    /// RFC 3339, if bounded.
    pub from: Option<String>,
    pub to: Option<String>,
    pub access: String,
    /// active, revoked, expired or not_yet_valid (now).
    pub status: String,
    /// One plain-language sentence from phr-core ("Tanaka Clinic (treatment) can read ...").
    pub summary: String,
    /// How many records' keys the server holds for this grant.
    pub record_key_count: u64,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl From<engine::GrantView> for GrantView {
    fn from(v: engine::GrantView) -> Self {
        GrantView {
            grant_id: v.grant_id,
            organization_id: v.organization_id,
            organization_name: v.organization_name,
            purpose: v.purpose,
            modules: v.modules,
            subjects: v.subjects,
            from: v.from,
            to: v.to,
            access: v.access,
            status: v.status,
            summary: v.summary,
            record_key_count: v.record_key_count,
            created_at: v.created_at,
            revoked_at: v.revoked_at,
        }
    }
}

/// One entry of the account's audit log.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AuditEntry {
    pub seq: u64,
    /// Epoch milliseconds.
    pub at: i64,
    /// `device:<id>`, `organization:<id>` (or `organization:<id>/staff:<staff id>`), `recovery`, `admin`, `server`.
    pub actor: String,
    pub action: String,
    pub grant_id: Option<String>,
    pub record_ids: Vec<String>,
    pub outcome: String,
    /// A repeated event the server writes once per so many occurrences (e.g.
    /// `key_backup_fetched`: the 1st, 2nd, 4th, 8th… of each hour): the count
    /// so far in its hour. `None` for ordinary events.
    pub occurrences: Option<u64>,
    /// A care-team portal staff member's name when one acted for the organization
    /// (`actor` is then `organization:<id>/staff:<staff id>`).
    pub actor_name: Option<String>,
}

impl From<engine::AuditEntry> for AuditEntry {
    fn from(v: engine::AuditEntry) -> Self {
        AuditEntry {
            seq: v.seq,
            at: v.at,
            actor: v.actor,
            action: v.action,
            grant_id: v.grant_id,
            record_ids: v.record_ids,
            outcome: v.outcome,
            occurrences: v.occurrences,
            actor_name: v.actor_name,
        }
    }
}

/// One measurement point of a child's growth chart.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GrowthPoint {
    /// The newborn or child checkup record it comes from.
    pub record_id: String,
    /// `Newborn` or `ChildCheckup`.
    pub source: RecordKind,
    pub date: LocalDate,
    /// Days since birth.
    pub age_days: i64,
    /// Completed months since birth.
    pub age_months: u32,
    pub weight_kg: Option<f64>,
    /// Length (recumbent) or height (standing).
    pub length_cm: Option<f64>,
    pub head_circumference_cm: Option<f64>,
    /// The corrected age in days (born before 37 weeks, under 24 months; the
    /// gestational age comes from the mother's delivery record of the birth
    /// day); the scores are at this age when set.
    pub corrected_age_days: Option<i64>,
    /// Z-score and percentile of each measurement, each naming its
    /// `reference`: against the WHO Child Growth Standards (0–5 years; and
    /// BMI, and weight-for-length/height when weight and length were
    /// measured), then against the Japanese 2000 growth reference (weight and
    /// length/height, 0–17.5 years). Filter by `reference` to show one.
    pub scores: Vec<ReferenceScore>,
    /// Below the 3rd / above the 97th percentile, down across two major
    /// percentile lines since the previous point, each against the
    /// `reference` it names: for the app to show, never a diagnosis.
    pub flags: Vec<GrowthFlag>,
}

impl From<engine::GrowthPoint> for GrowthPoint {
    fn from(v: engine::GrowthPoint) -> Self {
        GrowthPoint {
            record_id: v.record_id,
            source: v.source,
            date: v.date,
            age_days: v.age_days,
            age_months: v.age_months,
            weight_kg: v.weight_kg,
            length_cm: v.length_cm,
            head_circumference_cm: v.head_circumference_cm,
            corrected_age_days: v.corrected_age_days,
            scores: v.scores,
            flags: v.flags,
        }
    }
}

/// Whether a dose of the schedule is due now or past its standard window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DueStatus {
    /// Inside its standard window.
    Due,
    /// Past its standard window (it may still be given while the schedule allows).
    Overdue,
}

impl From<engine::DueStatus> for DueStatus {
    fn from(v: engine::DueStatus) -> Self {
        match v {
            engine::DueStatus::Due => DueStatus::Due,
            engine::DueStatus::Overdue => DueStatus::Overdue,
        }
    }
}

/// A dose of the routine schedule that is due or overdue.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DueImmunization {
    pub vaccine: Vaccine,
    /// Japanese label for display.
    pub vaccine_label: String,
    pub series: DoseSeries,
    pub dose_number: u32,
    pub status: DueStatus,
    /// Due: the window's first and last day. Overdue: `due_by` is the last
    /// day of the standard window.
    pub due_from: Option<LocalDate>,
    pub due_by: Option<LocalDate>,
    /// Overdue: the first day past the standard window.
    pub overdue_since: Option<LocalDate>,
    /// The first day the dose is no longer given under the schedule, if limited.
    pub window_closes: Option<LocalDate>,
}

impl From<engine::DueImmunization> for DueImmunization {
    fn from(v: engine::DueImmunization) -> Self {
        DueImmunization {
            vaccine: v.vaccine,
            vaccine_label: v.vaccine_label,
            series: v.series,
            dose_number: v.dose_number,
            status: v.status.into(),
            due_from: v.due_from,
            due_by: v.due_by,
            overdue_since: v.overdue_since,
            window_closes: v.window_closes,
        }
    }
}

/// A record pulled from the server that this device could not open, set
/// aside so the sync goes on (a newer version that opens releases it).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QuarantinedRecord {
    pub record_id: String,
    /// The server version that did not open.
    pub version: i64,
    pub kind: String,
    pub subject: String,
    /// Why it did not open, in words.
    pub reason: String,
    /// Epoch milliseconds.
    pub quarantined_at: i64,
}

impl From<engine::QuarantinedRecord> for QuarantinedRecord {
    fn from(q: engine::QuarantinedRecord) -> Self {
        QuarantinedRecord {
            record_id: q.record_id,
            version: q.version,
            kind: q.kind,
            subject: q.subject,
            reason: q.reason,
            quarantined_at: q.quarantined_at,
        }
    }
}

/// How the device clock compares with the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ClockStatus {
    /// Server time minus device time (ms), as last measured; `None` before
    /// the first answer from the server.
    pub offset_ms: Option<i64>,
    /// The device clock is off by more than a minute: the engine stamps and
    /// checks dates with the server's time; the app should tell the user.
    pub skewed: bool,
}

impl From<engine::ClockStatus> for ClockStatus {
    fn from(c: engine::ClockStatus) -> Self {
        ClockStatus { offset_ms: c.offset_ms, skewed: c.skewed }
    }
}

/// An emergency card (a SMART Health Link to a person's emergency summary) as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EmergencyCardView {
    pub card_id: String,
    /// `mother` or `child:<uuid>`.
    pub subject: String,
    /// The `shlink:/…` text to show as a QR code; only on the device that made the card.
    pub shlink: Option<String>,
    /// The label on the card and in the link.
    pub label: Option<String>,
    /// A reader must give the passcode.
    pub passcode: bool,
    /// Wrong passcodes left before the card locks.
    pub passcode_attempts_left: u32,
    /// The card answers readers (not expired, not locked).
    pub active: bool,
    /// How many times an emergency team read it.
    pub accesses: u64,
    /// RFC 3339.
    pub last_access_at: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// When its summary was last uploaded (RFC 3339).
    pub updated_at: String,
}

impl From<engine::EmergencyCardView> for EmergencyCardView {
    fn from(v: engine::EmergencyCardView) -> Self {
        EmergencyCardView {
            card_id: v.card_id,
            subject: v.subject,
            shlink: v.shlink,
            label: v.label,
            passcode: v.passcode,
            passcode_attempts_left: v.passcode_attempts_left,
            active: v.active,
            accesses: v.accesses,
            last_access_at: v.last_access_at,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}
