//! The FHIR R4 API (`/fhir/r4`) for organizations, enforced by consent
//! (`docs/architecture.md`, "Data flow: a FHIR read").
//!
//! The handlers are in the HTTP layer (`server/src/http/fhir/`); here are the use cases.
//!
//! | endpoint | scope needed | what | file |
//! |---|---|---|---|
//! | `GET /fhir/r4/metadata` | – | the CapabilityStatement of what is implemented here (with SMART's `oauth-uris` on `rest.security`) | `metadata.rs` |
//! | `GET /fhir/r4/.well-known/smart-configuration` | – | SMART discovery relative to this FHIR base (`crate::app::smart::configuration`) | – |
//! | `GET /fhir/r4/Patient/{id}` | `Patient.r` | one Patient the organization may see | `patient.rs` |
//! | `GET /fhir/r4/Patient?identifier=&_id=` | `Patient.s` | Patients by identifier (`system\|value`, `value`) and/or id (comma = OR) | `patient.rs` |
//! | `GET /fhir/r4/{Observation,Immunization,MedicationStatement,MedicationDispense,Encounter,Condition}` | `<Type>.s` | search: `patient`/`subject`, `date` (`eq ge le gt lt`), `code`, `category` (Observation), `_id`, `_count`, `_sort=date\|-date`, paging by `next` links | `search.rs` |
//! | `GET /fhir/r4/{Observation,Immunization,MedicationStatement,MedicationDispense,Encounter,Condition}/{id}` | `<Type>.r` | one resource (what a Bundle entry's `fullUrl` names, search or `$everything`), with `ETag` | `read.rs` |
//! | `GET /fhir/r4/Patient/{id}/$everything` | `Patient.r` + every type read | every consented resource about the Patient | `everything.rs` |
//! | `POST /fhir/r4/{Immunization,MedicationStatement,Observation,Encounter}` | `<Type>.c` | write one resource as a new record of the family | `write.rs` |
//! | `GET /fhir/r4/AuditEvent` | *device* token | the family's own audit log as AuditEvents (parents) | `audit_event.rs` |
//! | `PUT /fhir/r4/{Immunization,…}/{id}` | `<Type>.u` | a new version of a one-resource record; `If-Match` on a stale version is 409 | `write.rs` |
//! | `POST /fhir/r4` or `POST /fhir/r4/` (`transaction` Bundle) | `<Type>.c` for each entry | write several records all-or-nothing (e.g. a prenatal visit: Encounter + Observations) | `write.rs` |
//!
//! Choices:
//! - **Auth**: SMART Backend Services organization tokens ([`AuthenticatedOrganization`]);
//!   a missing, expired or forged token is 401 with `WWW-Authenticate`, a token whose
//!   scopes do not permit the interaction 403. Errors are OperationOutcomes (made in `http/fhir/outcome.rs`).
//! - **Consent**: the organization's grants usable now for *treatment* or *emergency*
//!   ([`CARE_PURPOSES`]) are opened with the view key ([`crate::app::consent::access`]); only
//!   records those grant keys unwrap are readable. Anything else is answered as if it did
//!   not exist (404, or an empty Bundle) and, when it names a patient of a family that
//!   gave the organization a grant, audited as `denied`.
//! - **Patient ids** are opaque: the first 16 bytes (hex) of HMAC-SHA256 over
//!   `account id ‖ 0 ‖ subject` with a key derived from the server's first view key. They
//!   are resolved only against the patients an organization's grants cover. Every
//!   Patient carries the identifier `https://phr.example/fhir/patient-id|<id>`.
//! - **Search** narrows in SQL by record kind (the kinds whose mapping yields the type),
//!   subject and the record's effective date (± 1 day around the asked dates), then maps
//!   records with `phr_fhir::mapping::to_fhir` and filters exactly in memory. Results are
//!   ordered by (date, id); `next` links carry an offset (`_offset`); `_count` ≤ 1000.
//!   An identical repeated search is answered from memory while the records, record keys
//!   and grants it came from are unchanged ([`cache`]; `--fhir-search-cache-mb 0` turns it off).
//! - **Audit**: one event per family and grant per request (`fhir_read`, `fhir_search`,
//!   `fhir_everything`, `fhir_write`), naming the records; a refused read or write is the
//!   same action with outcome `denied` in the family it aimed at ([`crate::app::audit::append_denied`]),
//!   naming neither records nor anything of the refused request.
//! - **Writes** map with `from_fhir`, validate with phr-core (422 naming item and range),
//!   need a read-write grant covering subject, module and date (403 otherwise), and seal a
//!   new record (new DEK wrapped to the account's HPKE key and under the grant key) with
//!   the account's next change sequence, in one transaction with the audit event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use phr_core::consent::Purpose;
use phr_core::dataset::{RecordKind, Subject};
use phr_fhir::mapping::{to_fhir, MappingContext};
use phr_fhir::model::Resource;
use ring::hmac;

use crate::app::audit::AuditOutcome;
use crate::app::consent::access::{open_grants_until, OpenGrant, ReadableRecord};
use crate::app::error::AppError;
use crate::app::now_ms;
use crate::app::smart::{Action, AuthenticatedOrganization, OrganizationToken};
use crate::keys::KeyStore;
use crate::store::DbConnection;

pub mod audit_event;
pub mod cache;
pub mod error;
pub mod everything;
pub mod metadata;
pub mod patient;
pub mod read;
pub mod search;
pub mod write;

pub use error::{bad_element, bad_request, unknown_code, FhirError, FhirResult, ItemProblem};

/// The purposes a FHIR client reads and writes under.
pub const CARE_PURPOSES: [Purpose; 2] = [Purpose::Treatment, Purpose::Emergency];
/// The identifier system of our opaque Patient ids.
pub const PATIENT_ID_SYSTEM: &str = "https://phr.example/fhir/patient-id";

/// `Ok` if the organization's token permits `action` on `resource_type` (403 otherwise).
pub fn permit(org: &AuthenticatedOrganization, resource_type: &str, action: Action) -> Result<(), AppError> {
    permit_scopes(&org.scopes, resource_type, action)
}

/// [`permit`] for a token whose organization is checked later, in the request's database work.
pub fn permit_scopes(scopes: &crate::app::smart::Scopes, resource_type: &str, action: Action) -> Result<(), AppError> {
    if !scopes.permits(resource_type, action) {
        return Err(AppError::Forbidden(format!("the access token's scopes do not permit this on {resource_type}")));
    }
    Ok(())
}

pub(crate) fn patient_id_key(keys: &KeyStore) -> Result<hmac::Key, AppError> {
    keys.derived_hmac_key(b"phr-server/fhir/patient-id/v1").ok_or_else(|| AppError::Internal("no view key".into()))
}

/// The opaque Patient id of `subject` of `account_id`.
pub fn patient_id(key: &hmac::Key, account_id: &str, subject: &Subject) -> String {
    let mut msg = Vec::with_capacity(account_id.len() + 48);
    msg.extend_from_slice(account_id.as_bytes());
    msg.push(0);
    msg.extend_from_slice(subject.to_string().as_bytes());
    hex::encode(&hmac::sign(key, &msg).as_ref()[..16])
}

/// What an organization may see right now: its opened grants and the patients they cover.
pub struct Visible {
    pub grants: Vec<OpenGrant>,
    /// Patient id -> (account, subject), for subjects some usable grant covers.
    pub patients: HashMap<String, (String, Subject)>,
    key: hmac::Key,
}

impl Visible {
    /// What `organization_id` may see now. Answered from `cache` while the grant generation
    /// read from the database now ([`crate::store::grants::grant_generation`], bumped in the
    /// transaction of every grant change) is the one the kept answer was loaded under and no
    /// grant has started or ended since: a revoked grant is gone from the first request that
    /// begins after the revocation commits, on every server process sharing the database.
    pub fn load(
        conn: &mut DbConnection,
        cache: &VisibleCache,
        keys: &KeyStore,
        organization_id: &str,
    ) -> Result<Arc<Visible>, AppError> {
        // Read before the grants: a change committed in between makes the kept answer look
        // older than it is (loaded again next time), never newer.
        let generation = crate::store::grants::grant_generation(conn)?;
        Self::load_at(conn, cache, keys, organization_id, generation)
    }

    /// [`Visible::load`] with the grant generation already read in this request's database work
    /// (before the grants: [`OrganizationToken::check_enabled_at_generation`]).
    pub fn load_at(
        conn: &mut DbConnection,
        cache: &VisibleCache,
        keys: &KeyStore,
        organization_id: &str,
        generation: i64,
    ) -> Result<Arc<Visible>, AppError> {
        let now = chrono::Utc::now();
        if let Some(kept) = cache.get(organization_id, generation, now) {
            return Ok(kept);
        }
        let (grants, until) = open_grants_until(conn, keys, organization_id, &CARE_PURPOSES, None, now)?;
        let key = patient_id_key(keys)?;
        let mut patients = HashMap::new();
        for g in &grants {
            for s in &g.grant.scope.subjects {
                patients.insert(patient_id(&key, &g.account_id, s), (g.account_id.to_string(), *s));
            }
        }
        let visible = Arc::new(Visible { grants, patients, key });
        cache.put(organization_id, generation, until, Arc::clone(&visible));
        Ok(visible)
    }

    pub fn patient_id(&self, account_id: &str, subject: &Subject) -> String {
        patient_id(&self.key, account_id, subject)
    }

    /// The families the organization's usable grants cover, each once (grants come ordered by account).
    pub fn accounts(&self) -> Vec<String> {
        let mut accounts: Vec<String> = self.grants.iter().map(|g| g.account_id.to_string()).collect();
        accounts.dedup();
        accounts
    }

    /// Whether one of the organization's usable grants is from `account_id`.
    pub fn sees_account(&self, account_id: &str) -> bool {
        self.grants.iter().any(|g| g.account_id == account_id)
    }

    /// The grants of one account.
    pub fn grants_of(&self, account_id: &str) -> Vec<&OpenGrant> {
        self.grants.iter().filter(|g| g.account_id == account_id).collect()
    }

    /// Every record about `subject` of `account` that the organization's usable grants let it
    /// read (each once, in `record_id` order), read page by page: a patient's whole consented
    /// record (`$everything`, the care-team portal's patient page).
    pub fn records_of(
        &self,
        conn: &mut DbConnection,
        account: &str,
        subject: Subject,
    ) -> Result<Vec<ReadableRecord>, AppError> {
        use crate::app::consent::access::{readable_records, RecordFilter, MAX_PAGE};
        let mut records = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for g in self.grants_of(account) {
            let mut filter = RecordFilter { subject: Some(subject), ..Default::default() };
            loop {
                let page = readable_records(conn, std::slice::from_ref(g), account, &filter, MAX_PAGE)?;
                let done = (page.len() as i64) < MAX_PAGE;
                filter.after = page.last().map(|r| r.record_id);
                records.extend(page.into_iter().filter(|r| seen.insert(r.record_id)));
                if done {
                    break;
                }
            }
        }
        records.sort_by_key(|r| r.record_id);
        Ok(records)
    }

    /// Resolves a patient id (`id` or `Patient/id`) the organization may see.
    pub fn resolve(&self, reference: &str) -> Option<(String, Subject)> {
        let id = reference.strip_prefix("Patient/").unwrap_or(reference);
        self.patients.get(id).cloned()
    }

    /// [`Visible::resolve`], auditing a miss as `denied` in the family's log when the
    /// reference names a patient of a family that gave this organization a grant
    /// ([`Visible::family_of_unseen`]). `None`: answer as if the patient did not exist.
    pub fn resolve_audited(
        &self,
        conn: &mut DbConnection,
        org: &AuthenticatedOrganization,
        reference: &str,
        action: crate::app::audit::AuditAction,
    ) -> Result<Option<(String, Subject)>, AppError> {
        self.resolve_audited_as(conn, &org.organization_id, &org.actor(), reference, action)
    }

    /// [`Visible::resolve_audited`] for an access by `actor` of `organization_id` (a care-team
    /// portal staff member is audited by name).
    pub fn resolve_audited_as(
        &self,
        conn: &mut DbConnection,
        organization_id: &str,
        actor: &crate::app::audit::Actor,
        reference: &str,
        action: crate::app::audit::AuditAction,
    ) -> Result<Option<(String, Subject)>, AppError> {
        let found = self.resolve(reference);
        if found.is_none() {
            if let Some(account) = self.family_of_unseen(conn, organization_id, reference)? {
                crate::app::audit::append_denied(conn, &account, actor, action, None)?;
            }
        }
        Ok(found)
    }

    /// Which family a patient id belongs to, among families that gave this
    /// organization any grant (even one not usable now): for auditing denials.
    pub fn family_of_unseen(
        &self,
        conn: &mut DbConnection,
        organization_id: &str,
        reference: &str,
    ) -> Result<Option<String>, AppError> {
        let id = reference.strip_prefix("Patient/").unwrap_or(reference);
        for account in granting_accounts(conn, organization_id)? {
            if self.patient_id(&account, &Subject::Mother) == id {
                return Ok(Some(account));
            }
            let subjects = crate::store::fhir::record_subjects(conn, &account)?;
            if subjects.iter().filter_map(|s| s.parse::<Subject>().ok()).any(|s| self.patient_id(&account, &s) == id) {
                return Ok(Some(account));
            }
        }
        Ok(None)
    }
}

/// The organization a token stands for, if still enabled (401 otherwise), and what it may see
/// now: both from the first statement of the request's database work.
pub fn open_visible(
    conn: &mut DbConnection,
    token: OrganizationToken,
    cache: &VisibleCache,
    keys: &KeyStore,
) -> Result<(AuthenticatedOrganization, Arc<Visible>), AppError> {
    let (org, generation) = token.check_enabled_at_generation(conn)?;
    let visible = Visible::load_at(conn, cache, keys, &org.organization_id, generation)?;
    Ok((org, visible))
}

/// What each organization may see ([`Visible`]), kept per server process: loading it opens
/// every usable grant of the organization (a thousand families: a thousand grant rows parsed,
/// checked and their patient ids computed), which most requests would otherwise repeat.
/// An entry answers only for the grant generation it was loaded under and until the first
/// start or end of one of its grants' periods. Holds opened grant keys (zeroized on drop,
/// never printed); at most [`VisibleCache::MAX_ORGANIZATIONS`] organizations.
#[derive(Default)]
pub struct VisibleCache {
    entries: Mutex<HashMap<String, KeptVisible>>,
}

struct KeptVisible {
    generation: i64,
    until: Option<chrono::DateTime<chrono::Utc>>,
    visible: Arc<Visible>,
}

impl VisibleCache {
    /// Organizations kept before the cache starts again empty.
    pub const MAX_ORGANIZATIONS: usize = 1024;

    fn get(&self, organization_id: &str, generation: i64, now: chrono::DateTime<chrono::Utc>) -> Option<Arc<Visible>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let kept = entries.get(organization_id)?;
        (kept.generation == generation && kept.until.is_none_or(|u| now < u)).then(|| Arc::clone(&kept.visible))
    }

    fn put(
        &self,
        organization_id: &str,
        generation: i64,
        until: Option<chrono::DateTime<chrono::Utc>>,
        visible: Arc<Visible>,
    ) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= Self::MAX_ORGANIZATIONS && !entries.contains_key(organization_id) {
            entries.clear();
        }
        // A slower request may come back with an older load: keep the newest generation.
        if entries.get(organization_id).is_some_and(|k| k.generation > generation) {
            return;
        }
        entries.insert(organization_id.to_owned(), KeptVisible { generation, until, visible });
    }
}

/// The families that gave `organization_id` any grant, usable now or not (for auditing denials).
pub fn granting_accounts(conn: &mut DbConnection, organization_id: &str) -> Result<Vec<String>, AppError> {
    Ok(crate::store::fhir::granting_accounts(conn, organization_id)?)
}

/// A Bundle entry of `resource` with its `fullUrl` (`<base>/fhir/r4/<type>/<id>`, which `read.rs` answers).
pub fn bundle_entry(base: &str, resource: Resource) -> phr_fhir::model::BundleEntry {
    phr_fhir::model::BundleEntry {
        full_url: resource.id().map(|id| format!("{base}/fhir/r4/{}/{id}", resource.resource_type())),
        resource: Some(Box::new(resource)),
        ..Default::default()
    }
}

/// The FHIR resources of a readable record.
pub fn resources_of(visible: &Visible, record: &ReadableRecord) -> Result<Vec<Resource>, AppError> {
    let ctx = MappingContext::new(record.record_id, visible.patient_id(&record.account_id, &record.subject));
    let mut out = to_fhir(&record.body, &ctx).map_err(|e| AppError::Internal(format!("record does not map: {e}")))?;
    for r in &mut out {
        set_version(r, record.version);
    }
    Ok(out)
}

/// `meta.versionId` = the record version (for `If-Match`).
fn set_version(resource: &mut Resource, version: u64) {
    macro_rules! set {
        ($r:expr) => {{
            let meta = $r.meta.get_or_insert_with(Default::default);
            meta.version_id = Some(version.to_string());
        }};
    }
    match resource {
        Resource::Patient(r) => set!(r),
        Resource::Encounter(r) => set!(r),
        Resource::Observation(r) => set!(r),
        Resource::Immunization(r) => set!(r),
        Resource::MedicationStatement(r) => set!(r),
        Resource::MedicationDispense(r) => set!(r),
        Resource::Condition(r) => set!(r),
        Resource::AllergyIntolerance(r) => set!(r),
        Resource::QuestionnaireResponse(r) => set!(r),
        _ => {}
    }
}

/// The record kinds whose mapping yields resources of `resource_type` (declared by the mapping).
pub fn kinds_yielding(resource_type: &str) -> &'static [RecordKind] {
    phr_fhir::mapping::kinds_yielding(resource_type)
}

/// Appends one audit event per (family, grant) for the records read ([`append_read_audits`]).
pub fn audit_reads(
    conn: &mut crate::store::Conn,
    audits: &ReadAuditCommit,
    actor: &crate::app::audit::Actor,
    action: crate::app::audit::AuditAction,
    records: &[&ReadableRecord],
) -> Result<(), AppError> {
    append_read_audits(conn, audits, actor, action, &read_audits(records))
}

/// The audit events a read of `records` writes: one per (family, grant), naming the records.
pub fn read_audits(records: &[&ReadableRecord]) -> Vec<cache::ReadAudit> {
    let mut groups: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for r in records {
        groups.entry((r.account_id.to_string(), r.grant_id.to_string())).or_default().push(r.record_id.to_string());
    }
    groups
        .into_iter()
        .map(|((account_id, grant_id), record_ids)| cache::ReadAudit { account_id, grant_id, record_ids })
        .collect()
}

/// The audit events of one FHIR read, waiting to be committed with those of concurrent reads.
pub struct ReadAuditJob {
    actor: crate::app::audit::Actor,
    action: crate::app::audit::AuditAction,
    at: i64,
    reads: Vec<cache::ReadAudit>,
}

/// Group commit of FHIR reads' audit events ([`crate::store::group_commit`]), one per [`crate::app::App`].
pub type ReadAuditCommit = crate::store::group_commit::GroupCommit<ReadAuditJob>;

impl crate::store::group_commit::Batched for ReadAuditJob {
    /// Every event of every read in the batch through one [`crate::app::audit::append_all`].
    fn write_all(conn: &mut DbConnection, jobs: &[&Self]) -> crate::store::QueryResult<()> {
        let events: Vec<(String, i64, crate::app::audit::NewAuditEvent<'_>)> = jobs
            .iter()
            .flat_map(|job| {
                job.reads.iter().map(|read| {
                    let event = crate::app::audit::NewAuditEvent::by(&job.actor, job.action, AuditOutcome::Success)
                        .grant(&read.grant_id)
                        .records(read.record_ids.clone());
                    (read.account_id.clone(), job.at, event)
                })
            })
            .collect();
        let events: Vec<(&str, i64, &crate::app::audit::NewAuditEvent<'_>)> =
            events.iter().map(|(account, at, event)| (account.as_str(), *at, event)).collect();
        crate::app::audit::append_all(conn, &events).map(|_| ())
    }
}

/// Appends the audit events of a read ([`read_audits`]) in one transaction, shared with the
/// audit events of concurrent reads (group commit, [`crate::store::group_commit`]): returns once
/// they are committed, so a read is answered only after its audit events are stored. The hash
/// chain of each account is extended by [`crate::app::audit::append_all`] as for any other event.
pub fn append_read_audits(
    conn: &mut crate::store::Conn,
    audits: &ReadAuditCommit,
    actor: &crate::app::audit::Actor,
    action: crate::app::audit::AuditAction,
    reads: &[cache::ReadAudit],
) -> Result<(), AppError> {
    if reads.is_empty() {
        return Ok(());
    }
    audits.write(conn, ReadAuditJob { actor: actor.clone(), action, at: now_ms(), reads: reads.to_vec() })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_behind_each_searchable_type_follow_the_mapping() {
        assert!(kinds_yielding("Immunization").contains(&RecordKind::Immunization));
        assert!(kinds_yielding("Encounter").contains(&RecordKind::PrenatalVisit));
        assert!(kinds_yielding("Observation").contains(&RecordKind::SelfVitals));
        assert!(!kinds_yielding("Observation").contains(&RecordKind::Immunization));
        assert!(kinds_yielding("NoSuchType").is_empty());
        for (t, _) in metadata::SEARCHABLE {
            assert!(!kinds_yielding(t).is_empty(), "{t}");
        }
    }

    #[test]
    fn patient_ids_are_opaque_stable_and_differ_per_account_and_subject() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &[3; 32]);
        let a = patient_id(&key, "acc-1", &Subject::Mother);
        assert_eq!(a, patient_id(&key, "acc-1", &Subject::Mother));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("acc"));
        assert_ne!(a, patient_id(&key, "acc-2", &Subject::Mother));
        assert_ne!(a, patient_id(&key, "acc-1", &Subject::Child(uuid::Uuid::nil())));
    }
}
