//! [`PhrClient`]: the object the apps hold, one per database file. Each
//! method hands its arguments to the engine ([`engine::Client`]) and converts
//! the answer; errors become [`PhrError`] through its one `From`.
//!
//! Writes (record edits, account and consent calls, sync) are serialised; a
//! sync holds the device lock while it runs. Reads (timelines, a record, its
//! history, counts, growth, immunizations, the export) never wait for it.
//! Only one `PhrClient` may have a store file open. Do not call back into the
//! client from a [`SyncProgress`] callback except reads and
//! [`cancel_sync`](PhrClient::cancel_sync), which never waits.

use std::sync::Arc;

use super::error::PhrError;
use super::medication_notebook::{CurrentDispensing, NotebookExport, NotebookImport};
use super::notices::{NoticeRefresh, NoticeView};
use super::records::{
    AccountSummary, AuditEntry, ClockStatus, DueImmunization, EmergencyCardView, GrantRequest, GrantView, GrowthPoint,
    Organization, PairingInvite, QuarantinedRecord, RecordVersionView, TimelineEntry, TimelinePage,
};
use super::sync::{AppProgress, SyncProgress, SyncReport};
use super::transport::{AppTransport, HttpTransport};
use crate::engine;
use phr_core::dataset::{RecordBody, RecordKind};
use phr_core::ffi::LocalDate;

/// The family's health record on this device: the encrypted local store, the
/// account, and sync.
#[derive(uniffi::Object)]
pub struct PhrClient {
    engine: engine::Client,
}

fn all<T, U: From<T>>(items: Vec<T>) -> Vec<U> {
    items.into_iter().map(U::from).collect()
}

#[uniffi::export]
impl PhrClient {
    /// Opens (or creates) the store at `path`. `storage_key` is the 32-byte
    /// device storage key from the Keychain/Keystore: the account and device
    /// keys in the file are sealed under it, so the same key must be passed
    /// every time. `transport` is the app's HTTP client.
    #[uniffi::constructor]
    pub fn open(path: String, storage_key: Vec<u8>, transport: Arc<dyn HttpTransport>) -> Result<Arc<Self>, PhrError> {
        let engine = engine::Client::open(&path, storage_key, Arc::new(AppTransport(transport)))?;
        Ok(Arc::new(PhrClient { engine }))
    }

    /// Creates a new family account on `server_url` with this device as its
    /// first device: generates the account key and the device key, registers,
    /// and stores both sealed under the device storage key.
    pub fn create_account(&self, server_url: String, device_name: String) -> Result<AccountSummary, PhrError> {
        Ok(self.engine.create_account(&server_url, &device_name)?.into())
    }

    /// On a signed-in device: asks the server for a pairing code and returns
    /// it with the account key, to show to the new device.
    pub fn create_pairing_invite(&self) -> Result<PairingInvite, PhrError> {
        Ok(self.engine.create_pairing_invite()?.into())
    }

    /// Joins the account of `invite` as a new device, checks that the account
    /// key matches the account's public key on the server, and stores the keys.
    pub fn join_account(&self, invite: PairingInvite, device_name: String) -> Result<AccountSummary, PhrError> {
        Ok(self.engine.join_account(&invite.into(), &device_name)?.into())
    }

    /// The account this device belongs to, if any.
    pub fn account(&self) -> Option<AccountSummary> {
        self.engine.account().map(Into::into)
    }

    /// Whether the server said this device's family account was deleted (and
    /// the local copy was wiped): every call then answers
    /// [`PhrError::AccountDeleted`] until an account is created, joined or
    /// restored here. Lets an app that starts up explain an empty store.
    pub fn account_was_deleted(&self) -> bool {
        self.engine.account_was_deleted()
    }

    /// Adds a record about `subject` (`mother` or `child:<uuid>`), offline.
    /// `body` is one typed dataset record (`RecordBody.PrenatalVisit(...)`),
    /// validated by phr-core: a `Validation` error names each problem by its
    /// field path. Returns the new record's id.
    pub fn add_record(&self, subject: String, body: RecordBody) -> Result<String, PhrError> {
        Ok(self.engine.add_record(&subject, body)?)
    }

    /// Replaces a record's content with a new version, offline. The kind
    /// (the `RecordBody` variant) cannot change.
    pub fn edit_record(&self, record_id: String, body: RecordBody) -> Result<(), PhrError> {
        Ok(self.engine.edit_record(&record_id, body)?)
    }

    /// Deletes a record, offline (a tombstone version; the history is kept).
    pub fn delete_record(&self, record_id: String) -> Result<(), PhrError> {
        Ok(self.engine.delete_record(&record_id)?)
    }

    /// A live record's current content.
    pub fn get_record(&self, record_id: String) -> Result<TimelineEntry, PhrError> {
        Ok(self.engine.get_record(&record_id)?.into())
    }

    /// Every version of a record (deleted ones too), oldest first, with the winner marked.
    pub fn record_history(&self, record_id: String) -> Result<Vec<RecordVersionView>, PhrError> {
        Ok(all(self.engine.record_history(&record_id)?))
    }

    /// A subject's live records: undated ones (such as the mother's profile)
    /// first, then by date and id; optionally one `kind` (module) and an
    /// inclusive `from`/`to` range of dates (a range leaves out undated
    /// records). All of them at once: the unpaged convenience for short
    /// lists; a screen of a long timeline reads it with
    /// [`timeline_page`](Self::timeline_page).
    pub fn timeline(
        &self,
        subject: String,
        kind: Option<RecordKind>,
        from: Option<LocalDate>,
        to: Option<LocalDate>,
    ) -> Result<Vec<TimelineEntry>, PhrError> {
        Ok(all(self.engine.timeline(&engine::TimelineQuery { subject: &subject, kind, from, to })?))
    }

    /// One page of [`timeline`](Self::timeline) (same filter, same order):
    /// up to `limit` (1 to 500) entries. `page`: `None` for the first page,
    /// then the previous page's `next_page` (an opaque token; anything else is
    /// a `Validation` error on `page`), until `next_page` is `None`. A deep
    /// page costs what the first does; records added or deleted between pages
    /// neither repeat nor shift the others.
    pub fn timeline_page(
        &self,
        subject: String,
        kind: Option<RecordKind>,
        from: Option<LocalDate>,
        to: Option<LocalDate>,
        page: Option<String>,
        limit: u32,
    ) -> Result<TimelinePage, PhrError> {
        let query = engine::TimelineQuery { subject: &subject, kind, from, to };
        Ok(self.engine.timeline_page(&query, page.as_deref(), limit)?.into())
    }

    /// Pushes pending changes, pulls new ones, and merges conflicts with the
    /// phr-core rule; see [`crate::engine::sync`]. `progress` is told the
    /// counts after every page. Safe to call again after any error.
    pub fn sync(&self, progress: Option<Arc<dyn SyncProgress>>) -> Result<SyncReport, PhrError> {
        let progress = progress.as_deref().map(AppProgress);
        Ok(self.engine.sync(progress.as_ref().map(|p| p as &dyn engine::Progress))?.into())
    }

    /// Asks the [`sync`](Self::sync) running now to stop before its next
    /// request. Never waits; what was synced so far stays synced; a sync
    /// started after this call is not affected.
    pub fn cancel_sync(&self) {
        self.engine.cancel_sync()
    }

    /// How the device clock compares with the server's (measured on every answer).
    pub fn clock_status(&self) -> ClockStatus {
        self.engine.clock_status().into()
    }

    /// Erases the family account: `DELETE /accounts/v1` on the server (every
    /// record, key, grant and audit entry there), then everything in the local
    /// store. Afterwards this client is signed out. If the server call fails
    /// nothing local is touched, so it can be retried; a retry after the
    /// server already erased the account (the first answer was lost) wipes
    /// the local copy and succeeds.
    pub fn delete_account(&self) -> Result<(), PhrError> {
        Ok(self.engine.delete_account()?)
    }

    /// Erases everything on this device without asking the server (a device
    /// removed from its account, an account erased elsewhere). The device can
    /// then create or join an account again.
    pub fn wipe_local(&self) -> Result<(), PhrError> {
        Ok(self.engine.wipe_local()?)
    }

    /// Records pulled from the server that this device could not open, set
    /// aside (with why) so that the sync goes on past them.
    pub fn quarantined_records(&self) -> Result<Vec<QuarantinedRecord>, PhrError> {
        Ok(all(self.engine.quarantined_records()?))
    }

    /// How many versions of a record this device has folded away (compaction
    /// keeps every version the merge rule needs and the conflicts shown).
    pub fn folded_versions(&self, record_id: String) -> Result<u64, PhrError> {
        Ok(self.engine.folded_versions(&record_id)?)
    }

    /// How many records have local changes not yet acknowledged by the server.
    pub fn pending_count(&self) -> Result<u64, PhrError> {
        Ok(self.engine.pending_count()?)
    }

    /// The organizations the server lets families grant access to.
    pub fn list_organizations(&self) -> Result<Vec<Organization>, PhrError> {
        Ok(all(self.engine.list_organizations()?))
    }

    /// Grants an organization access (validated by phr-core first; the server
    /// also checks the organization allows the purpose). The data keys of the
    /// records in scope that are already synced travel with the grant; records
    /// added, or still unsynced, get theirs at the next sync.
    pub fn grant_consent(&self, request: GrantRequest) -> Result<GrantView, PhrError> {
        Ok(self.engine.grant_consent(&request.into())?.into())
    }

    /// The account's grants (made on any device), newest first, each with its
    /// plain-language summary.
    pub fn list_grants(&self) -> Result<Vec<GrantView>, PhrError> {
        Ok(all(self.engine.list_grants(None)?))
    }

    /// Like [`list_grants`](Self::list_grants), with each summary said in
    /// `language` (a tag of [`message_languages`](super::message_languages);
    /// another falls back to English), made on this device from the grant and
    /// the organization's name with phr-core's message catalogs. In English it
    /// is the sentence the server sends.
    pub fn list_grants_in(&self, language: String) -> Result<Vec<GrantView>, PhrError> {
        Ok(all(self.engine.list_grants(Some(&language))?))
    }

    /// Revokes a grant: the server deletes its grant key and every record key,
    /// so it can no longer decrypt anything for that organization. Revoking an
    /// already revoked grant is a [`PhrError::Conflict`].
    pub fn revoke_grant(&self, grant_id: String) -> Result<(), PhrError> {
        Ok(self.engine.revoke_grant(&grant_id)?)
    }

    /// The account's audit log after sequence number `since` (0: from the
    /// start), oldest first: sign-ins, devices, grants, every access through a
    /// grant, recoveries.
    pub fn audit_log(&self, since: u64) -> Result<Vec<AuditEntry>, PhrError> {
        Ok(all(self.engine.audit_log(since)?))
    }

    /// Makes an emergency card for `subject` (`mother` or `child:<uuid>`): the person's
    /// emergency summary (an IPS document) is built from the records on this device,
    /// encrypted here with a key that only the card's QR code carries, and uploaded as
    /// ciphertext. `passcode` (4 to 64 characters) is what a reader must give; `label`
    /// (at most 80 characters) is printed on the card. Show `shlink` as a QR code, or
    /// print [`emergency_card_svg`](Self::emergency_card_svg). The summary is refreshed
    /// after each sync that changed it, under the same link.
    pub fn create_emergency_card(
        &self,
        subject: String,
        passcode: Option<String>,
        label: Option<String>,
    ) -> Result<EmergencyCardView, PhrError> {
        Ok(self.engine.create_emergency_card(&subject, passcode.as_deref(), label.as_deref())?.into())
    }

    /// Registers, for break-glass, the identifiers recorded for the family's members
    /// (`subject_identifiers`, e.g. the handbook number) so that a registered emergency
    /// department can name them; returns how many. It opens nothing by itself: the family
    /// opts in with [`grant_consent`](Self::grant_consent) to organization
    /// `emergency-departments` (purpose `emergency`, read-only, emergency-summary modules);
    /// without that grant an attempt is refused and reported after the next sync.
    pub fn register_emergency_identifiers(&self) -> Result<u64, PhrError> {
        Ok(self.engine.register_emergency_identifiers()?)
    }

    /// The family's emergency cards (made on any device), with how often each was read.
    /// Only cards made on this device carry their `shlink`.
    pub fn list_emergency_cards(&self) -> Result<Vec<EmergencyCardView>, PhrError> {
        Ok(all(self.engine.list_emergency_cards()?))
    }

    /// Gives a card made on this device a new link and key: the old QR code stops
    /// working at once. `passcode`: the new one (none removes it).
    pub fn rotate_emergency_card(
        &self,
        card_id: String,
        passcode: Option<String>,
    ) -> Result<EmergencyCardView, PhrError> {
        Ok(self.engine.rotate_emergency_card(&card_id, passcode.as_deref())?.into())
    }

    /// Withdraws a card (any device of the family may): its QR code stops working at once.
    pub fn withdraw_emergency_card(&self, card_id: String) -> Result<(), PhrError> {
        Ok(self.engine.withdraw_emergency_card(&card_id)?)
    }

    /// The server's VAPID public key (base64url): the `applicationServerKey` to subscribe to
    /// Web Push with (UnifiedPush, a browser's `pushManager`, or a relay to APNs/FCM).
    pub fn push_vapid_public_key(&self) -> Result<String, PhrError> {
        Ok(self.engine.push_vapid_public_key()?)
    }

    /// Registers this phone's Web Push subscription (`endpoint`, and the subscription's
    /// `p256dh` and `auth` keys, base64url): the server pushes a notice with no health data
    /// when an emergency team reads or tries to read the family's card; then `sync` and show
    /// `SyncReport.emergency_accesses`. Returns the subscription's id.
    pub fn register_push_subscription(
        &self,
        endpoint: String,
        p256dh: String,
        auth: String,
    ) -> Result<String, PhrError> {
        Ok(self.engine.register_push_subscription(&endpoint, &p256dh, &auth)?)
    }

    /// Stops pushes to a subscription.
    pub fn unregister_push_subscription(&self, subscription_id: String) -> Result<(), PhrError> {
        Ok(self.engine.unregister_push_subscription(&subscription_id)?)
    }

    /// The printable card (SVG: the QR code and its label) of a card made on this device.
    pub fn emergency_card_svg(&self, card_id: String) -> Result<String, PhrError> {
        Ok(self.engine.emergency_card_svg(&card_id)?)
    }

    /// Seals the account key under `passphrase` (at least 10 characters;
    /// PBKDF2-HMAC-SHA256, 600,000 iterations, AES-256-GCM) and stores the
    /// backup on the server, replacing an earlier one. The passphrase never
    /// leaves the device. Takes about a second on a phone.
    pub fn backup_account_key(&self, passphrase: String) -> Result<(), PhrError> {
        Ok(self.engine.backup_account_key(&passphrase)?)
    }

    /// On a new phone with no device of the family left: fetches the account's
    /// key backup from `server_url`, opens it with `passphrase` (a wrong one is
    /// [`PhrError::Auth`]), proves to the server that this phone holds the
    /// account key, and enrols it as a new device named `device_name`. Call
    /// [`sync`](Self::sync) afterwards to pull the family's records.
    pub fn restore_account(
        &self,
        server_url: String,
        account_id: String,
        passphrase: String,
        device_name: String,
    ) -> Result<AccountSummary, PhrError> {
        Ok(self.engine.restore_account(&server_url, &account_id, &passphrase, &device_name)?.into())
    }

    /// A child's growth series, oldest first: the birth measurements from the
    /// newborn record (birth weight in kg) and every child checkup with a
    /// weight, length/height or head circumference, each with the age in days
    /// and completed months, and its scores and flags against every reference
    /// (WHO 2006 and Japan 2000, each score and flag naming its own). Needs
    /// the child's newborn record (its birth date).
    pub fn growth_series(&self, child_subject: String) -> Result<Vec<GrowthPoint>, PhrError> {
        Ok(all(self.engine.growth_series(&child_subject)?))
    }

    /// What is due next for `subject` on `today`, looking `horizon_days` ahead
    /// (at most 3,660): the mother's prenatal checkups (every 4 weeks to 23
    /// weeks, every 2 from 24, weekly from 36, by her ongoing pregnancy's
    /// dating), a child's infant checkups (1 m, 3–4 m, 6–7 m, 9–10 m, 1 y 6 m,
    /// 3 y; `infant_checkup_schedule_csv` replaces that table with a
    /// municipality's: `checkup_type,from_months,to_months`) and immunizations.
    /// Each has a window, a stable `key` for the notification the app schedules,
    /// and a title and body in `language`. An item drops out when its record arrives.
    pub fn due_items(
        &self,
        subject: String,
        today: LocalDate,
        horizon_days: u32,
        language: String,
        infant_checkup_schedule_csv: Option<String>,
    ) -> Result<Vec<phr_core::due::DueItem>, PhrError> {
        Ok(self.engine.due_items(&subject, today, horizon_days, &language, infant_checkup_schedule_csv.as_deref())?)
    }

    /// Follows a municipality (an organization id from [`list_organizations`](Self::list_organizations)
    /// of kind municipality, or from its QR code): its notices are fetched at the next
    /// [`refresh_notices`](Self::refresh_notices). Returns the municipalities followed.
    pub fn follow_municipality(&self, municipality: String) -> Result<Vec<String>, PhrError> {
        Ok(self.engine.follow_municipality(&municipality)?)
    }

    /// Stops following a municipality and forgets its notices.
    pub fn unfollow_municipality(&self, municipality: String) -> Result<Vec<String>, PhrError> {
        Ok(self.engine.unfollow_municipality(&municipality)?)
    }

    /// The municipalities followed, in the order they were followed.
    pub fn followed_municipalities(&self) -> Result<Vec<String>, PhrError> {
        Ok(self.engine.followed_municipalities()?)
    }

    /// Fetches the public notice feed of every municipality followed (no account data is
    /// sent: no token, no id; an unchanged feed costs a `304`). A feed that cannot be fetched
    /// keeps its last copy, so [`notices`](Self::notices) works offline.
    pub fn refresh_notices(&self) -> Result<NoticeRefresh, PhrError> {
        Ok(self.engine.refresh_notices()?.into())
    }

    /// The notices of the municipalities followed that concern the family on `today`,
    /// decided on this phone from the family's records (the mother's pregnancy week, the
    /// children's ages); those in `language` first, then the newest. Each says why it is
    /// shown, in `language`.
    pub fn notices(&self, today: LocalDate, language: String) -> Result<Vec<NoticeView>, PhrError> {
        Ok(all(self.engine.notices(today, &language)?))
    }

    /// A child's growth chart for one measure as an SVG picture to show as is:
    /// the WHO percentile bands and lines (3–97), the child's points (at the
    /// corrected age for a baby born before 37 weeks, with a note;
    /// weight-for-length/height against length in cm under 24 months, height
    /// from 24 months), axis labels in `language` (a tag of [`message_languages`](super::message_languages):
    /// `ja`, `en`; another falls back to English), and an accessible title and description.
    pub fn growth_chart_svg(
        &self,
        child_subject: String,
        measure: phr_core::growth::GrowthMeasure,
        language: String,
    ) -> Result<String, PhrError> {
        Ok(self.engine.growth_chart(&child_subject, measure, phr_core::growth::GrowthReference::Who2006, &language)?)
    }

    /// The chart of [`growth_chart_svg`](Self::growth_chart_svg) against
    /// `reference`: `WHO2006` draws the same chart; `JAPAN2000` draws the
    /// Japanese 2000 growth reference's percentiles (weight and
    /// length/height for age only, 0–24 or 0–60 months or, for an older
    /// child, to the next whole year of the oldest point, at most 17.5
    /// years). Another measure against `JAPAN2000` is a validation error on
    /// `measure`.
    pub fn growth_chart_svg_with_reference(
        &self,
        child_subject: String,
        measure: phr_core::growth::GrowthMeasure,
        reference: phr_core::growth::GrowthReference,
        language: String,
    ) -> Result<String, PhrError> {
        Ok(self.engine.growth_chart(&child_subject, measure, reference, &language)?)
    }

    /// The routine immunizations (phr-core's schedule table) that are due or
    /// overdue for a child on `as_of_date`, given the child's immunization
    /// records, in schedule order. Needs the newborn record (birth date and
    /// sex).
    pub fn immunizations_due(
        &self,
        child_subject: String,
        as_of_date: LocalDate,
    ) -> Result<Vec<DueImmunization>, PhrError> {
        Ok(all(self.engine.immunizations_due(&child_subject, as_of_date)?))
    }

    /// Imports the medication notebook (JAHIS お薬手帳) about `subject` from the
    /// texts of scanned QR codes (in any order; a dispensing split over several
    /// codes is put back together) or of a notebook file (`.csv`, UTF-8 or
    /// Shift_JIS, decoded by the app or read with `String(bytes, "Shift_JIS")`).
    /// One `medication` record per drug per dispensing and per OTC drug, with
    /// the drug codes kept. Everything is read before anything is stored: a
    /// `Notebook` error names the line and field, or the missing QR parts, and
    /// stores nothing. A dispensing imported before is not stored again. When
    /// the notebook's name or birth date is not this person's, the import still
    /// succeeds with a warning for the app to ask the parent.
    pub fn import_medication_notebook(&self, subject: String, texts: Vec<String>) -> Result<NotebookImport, PhrError> {
        Ok(self.engine.import_medication_notebook(&subject, &texts)?.into())
    }

    /// Imports a notebook file's bytes (UTF-8 or Shift_JIS, any line ends);
    /// otherwise as [`import_medication_notebook`](Self::import_medication_notebook).
    pub fn import_medication_notebook_file(&self, subject: String, bytes: Vec<u8>) -> Result<NotebookImport, PhrError> {
        let text = phr_core::medication_notebook::text::decode(&bytes).map_err(engine::Error::from)?;
        Ok(self.engine.import_medication_notebook(&subject, &[text])?.into())
    }

    /// `subject`'s medications dispensed (or first taken) from `from` to `to`
    /// (inclusive, either open) as a JAHIS notebook: the text, the Shift_JIS
    /// `.csv` bytes, and QR texts of at most `qr_bytes` bytes each (default
    /// 1,200) to show a pharmacy or clinic. Importing it gives back the same
    /// medications. Local data only; works offline.
    pub fn export_medication_notebook(
        &self,
        subject: String,
        from: Option<LocalDate>,
        to: Option<LocalDate>,
        qr_bytes: Option<u32>,
    ) -> Result<NotebookExport, PhrError> {
        Ok(self.engine.export_medication_notebook(&subject, from, to, qr_bytes)?.into())
    }

    /// `subject`'s medicines on `today`: drugs whose days supplied (or end date)
    /// still cover it, OTC drugs still taken, and undated dispensed drugs for
    /// 14 days; grouped by dispensing, newest first. Drugs taken during a
    /// pregnancy or in the year after a birth (the mother's pregnancy and
    /// delivery records) are flagged for the app to ask the parent to check
    /// them with the clinic.
    pub fn current_medicines(&self, subject: String, today: LocalDate) -> Result<Vec<CurrentDispensing>, PhrError> {
        Ok(all(self.engine.current_medicines(&subject, today)?))
    }

    /// Every current (not deleted) record of the account as one FHIR R4
    /// Bundle of type `collection` (JSON), with a Patient per subject: the
    /// family's data in a standard form to take elsewhere. Local data only (sync
    /// first for the latest); works offline.
    pub fn export_fhir_bundle(&self) -> Result<String, PhrError> {
        Ok(self.engine.export_fhir_bundle()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::transport::{HttpRequest, HttpResponse, TransportError};

    /// A transport for tests that must not reach any server.
    struct NoNetwork;

    impl HttpTransport for NoNetwork {
        fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
            Err(TransportError::Failed { reason: "no network in unit tests".into() })
        }
    }

    fn client(dir: &tempfile::TempDir) -> Arc<PhrClient> {
        let path = dir.path().join("c.db").to_string_lossy().into_owned();
        PhrClient::open(path, vec![9; 32], Arc::new(NoNetwork)).unwrap()
    }

    #[test]
    fn a_device_without_an_account_refuses_record_calls_as_auth_errors() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(&dir);
        assert!(c.account().is_none());
        assert!(matches!(
            c.add_record("mother".into(), phr_core::dataset::examples::all_minimal().remove(0)),
            Err(PhrError::Auth { .. })
        ));
        assert!(matches!(c.timeline("mother".into(), None, None, None), Err(PhrError::Auth { .. })));
        assert!(matches!(c.sync(None), Err(PhrError::Auth { .. })));
    }

    #[test]
    fn creating_an_account_without_a_network_is_a_retryable_network_error_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(&dir);
        let err = c.create_account("https://phr.example".into(), "Phone".into()).unwrap_err();
        assert!(matches!(err, PhrError::Network { retryable: true, .. }), "{err:?}");
        assert!(c.account().is_none());
        assert!(matches!(
            c.create_account("ftp://x".into(), "Phone".into()),
            Err(PhrError::Validation { field, .. }) if field == "server_url"
        ));
        assert!(matches!(
            c.create_account("https://phr.example".into(), " ".into()),
            Err(PhrError::Validation { field, .. }) if field == "device_name"
        ));
    }

    #[test]
    fn a_storage_key_that_is_not_32_bytes_is_a_validation_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db").to_string_lossy().into_owned();
        let err = PhrClient::open(path, vec![9; 16], Arc::new(NoNetwork)).err().unwrap();
        assert!(matches!(err, PhrError::Validation { ref field, .. } if field == "storage_key"), "{err:?}");
    }
}
