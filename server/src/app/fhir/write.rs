//! Writes: `POST /fhir/r4/{type}` of one resource and `POST /fhir/r4` of a
//! `transaction` Bundle. Each group of resources becomes one new record of the
//! family, sealed by the server (`docs/architecture.md`, "Data flow: a FHIR read"):
//!
//! 1. the group is read with `phr_fhir::mapping::from_fhir` (the first record kind
//!    whose mapping yields the primary resource type, admits the subject and reads
//!    the group); a malformed resource is 400 naming the element, an unknown code 422;
//! 2. the body is validated by phr-core (422 naming each item and its range);
//! 3. a usable grant of the family must allow *writing* that kind, subject and date
//!    (403 otherwise; a subject the organization cannot see at all is 404); a refusal
//!    is audited `fhir_write` `denied` in the family's log, without the refused content;
//! 4. a new data key seals a one-version history (stamped with the server clock and
//!    the device id `org:<organization>`); the key is wrapped to the account's HPKE
//!    public key (for the family's devices) and under the grant key (so the clinic
//!    can read what it wrote); the record takes the account's next change sequence.
//!
//! A transaction is all-or-nothing: every group is checked first, then one database
//! transaction writes every record, the grant keys and the audit events. In a
//! transaction, an Encounter and the Observations / Conditions whose `encounter`
//! references it (by `fullUrl` or `Encounter/<id>`) form one group (e.g. a prenatal
//! visit); every other entry is a group of its own.

use std::collections::BTreeMap;

use chrono::Utc;
use phr_core::consent::{Action as ConsentAction, ConsentGrant, Decision, OrganizationId};
use phr_core::crypto::{wrap_data_key_to, DataKey, HpkePublicKey, RecordAad};
use phr_core::dataset::{RecordBody, RecordKind, Subject, Validate, ValidationContext};
use phr_core::sync::record_envelope::seal_history;
use phr_core::sync::{Change, DeviceId, Hlc, RecordHistory, RecordVersion, VersionStamp};
use phr_fhir::mapping::{from_fhir, to_fhir, MappingContext, MappingError};
use phr_fhir::model::{Bundle, BundleEntry, BundleEntryResponse, Resource};
use uuid::Uuid;

use super::metadata::CREATABLE;
use super::CARE_PURPOSES;
use super::{bad_element, kinds_yielding, unknown_code, FhirError, FhirResult, Visible};
use crate::app::audit::{AuditAction, AuditOutcome};
use crate::app::consent::decide;
use crate::app::error::{unprocessable, unprocessable_if_any, AppError};
use crate::app::ids::RecordId;
use crate::app::records::{Appended, NewVersion, RecordLog};
use crate::app::smart::{Action, AuthenticatedOrganization};
use crate::app::{now_ms, App};
use crate::store::{write_transaction, Conn, DbConnection};

/// Most entries in one transaction (413 beyond).
pub const MAX_TRANSACTION_ENTRIES: usize = 500;

/// A group of resources that becomes one record, with its path for errors.
struct Group {
    path: String,
    resources: Vec<Resource>,
    /// Indexes of the Bundle entries in the group.
    entries: Vec<usize>,
}

/// A record ready to be stored.
struct Prepared {
    account: String,
    subject: Subject,
    kind: RecordKind,
    grant_index: usize,
    body: RecordBody,
    primary_type: String,
    entries: Vec<usize>,
}

/// Who writes through a grant: the organization whose grants are used, and the actor the
/// family's log names (the organization itself for a FHIR client, a care-team portal staff
/// member by name) under which action.
#[derive(Debug, Clone)]
pub struct Writer {
    pub organization_id: String,
    pub actor: crate::app::audit::Actor,
    pub action: AuditAction,
}

impl Writer {
    /// A FHIR client of the organization (`fhir_write`).
    pub fn fhir(org: &AuthenticatedOrganization) -> Writer {
        Writer { organization_id: org.organization_id.clone(), actor: org.actor(), action: AuditAction::FhirWrite }
    }
}

fn reference_of(resource: &Resource, path: &str) -> FhirResult<String> {
    let json = serde_json::to_value(resource).map_err(|e| AppError::Internal(e.to_string()))?;
    let (field, value) = match resource {
        Resource::Immunization(_) | Resource::AllergyIntolerance(_) => ("patient", &json["patient"]["reference"]),
        _ => ("subject", &json["subject"]["reference"]),
    };
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| bad_element(&format!("{path}.{field}"), "a reference to the Patient is required"))
}

fn mapping_error(e: MappingError) -> FhirError {
    match e {
        MappingError::UnknownCode { .. } => unknown_code(e.path(), e.to_string()),
        other => bad_element(other.path(), &other),
    }
}

/// Reads, validates and authorizes one group (no database writes).
fn prepare(conn: &mut DbConnection, visible: &Visible, writer: &Writer, group: Group) -> FhirResult<Prepared> {
    let primary = &group.resources[0];
    let primary_type = primary.resource_type().to_owned();
    let reference = reference_of(primary, &group.path)?;
    let found = visible.resolve_audited_as(conn, &writer.organization_id, &writer.actor, &reference, writer.action)?;
    let Some((account, subject)) = found else {
        return Err(AppError::NotFound("the referenced Patient is not known".to_owned()).into());
    };
    // When no kind reads the group, report the error of the kind that read it furthest.
    let rank = |e: &MappingError| match e {
        MappingError::UnexpectedResource { .. } => 0,
        MappingError::Missing { .. } => 1,
        MappingError::UnknownCode { .. } => 2,
        MappingError::WrongUnit { .. } | MappingError::Invalid { .. } => 3,
    };
    let mut best_error: Option<MappingError> = None;
    let mut body = None;
    for kind in kinds_yielding(&primary_type).iter().filter(|k| k.subjects().admits(&subject)) {
        match from_fhir(*kind, &group.resources) {
            Ok(b) => {
                body = Some(b);
                break;
            }
            Err(e) => {
                if best_error.as_ref().is_none_or(|b| rank(&e) > rank(b)) {
                    best_error = Some(e);
                }
            }
        }
    }
    let Some(body) = body else {
        return Err(match best_error {
            Some(e) => mapping_error(e),
            None => bad_element(&group.path, format!("a {primary_type} cannot be written about this patient")),
        });
    };
    check_body(&group.path, &body, &subject)?;
    let kind = body.kind();
    let grant_index = authorize(conn, visible, writer, &account, (kind, subject, body.effective_date()))?;
    Ok(Prepared { account, subject, kind, grant_index, body, primary_type, entries: group.entries })
}

/// `Ok` if `body` passes phr-core's validation and fits `subject`; else a 422 naming each
/// item (`path` prefixes the message).
pub fn check_body(path: &str, body: &RecordBody, subject: &Subject) -> Result<(), AppError> {
    if let Err(errors) = body.validate(&ValidationContext::new(Utc::now().date_naive())) {
        let problems = errors.issues().iter().map(|i| (i.path.clone(), i.reason.clone())).collect();
        unprocessable_if_any(&format!("{path}: the {} fails validation", body.kind()), problems)?;
    }
    if let Some((field, reason)) = body.subject_problem(subject) {
        unprocessable_if_any(
            &format!("{path}: the {} does not fit this patient", body.kind()),
            vec![(field.to_owned(), reason)],
        )?;
    }
    Ok(())
}

/// The index (in `visible.grants`) of the grant that lets `writer` write a record
/// `(kind, subject, date)` into `account`; a refusal is audited (`denied`, in the family's log:
/// the organization already sees this patient, so naming the family leaks nothing; nothing of
/// the refused content) and is a 403 with the reason of the grant that came closest.
fn authorize(
    conn: &mut DbConnection,
    visible: &Visible,
    writer: &Writer,
    account: &str,
    record: (RecordKind, Subject, Option<chrono::NaiveDate>),
) -> Result<usize, AppError> {
    let decision = write_decision(visible, &writer.organization_id, account, record)?;
    if let Decision::Allow { grant } = decision {
        return visible
            .grants
            .iter()
            .position(|g| g.account_id == account && g.grant.id == grant)
            .ok_or_else(|| AppError::Internal("the allowing grant is not among the open grants".into()));
    }
    crate::app::audit::append_denied(conn, account, &writer.actor, writer.action, None).map_err(AppError::from)?;
    Err(refused(record.0, decision))
}

/// Writes `body` about `(account, subject)` — a patient `visible` resolves — as a new record
/// of the family, sealed and audited exactly as a FHIR create is ([`write_records`] of one):
/// the care-team portal's result entry. Returns the record id.
pub fn write_record(
    conn: &mut Conn,
    visible: &Visible,
    writer: &Writer,
    patient: (String, Subject),
    body: RecordBody,
    max_records: i64,
) -> Result<Uuid, AppError> {
    let ids = write_records(conn, visible, writer, vec![(patient, body)], max_records)?;
    ids.first().copied().ok_or_else(|| AppError::Internal("no record written".into()))
}

/// Writes each `(patient, body)` as a new record of its family, all or nothing, as a FHIR
/// transaction is ([`check_body`] and [`authorize`] for each first, then
/// [`append_written_records`] in one transaction): the portal's result entry and CSV upload.
/// Returns the record ids in the order given.
pub fn write_records(
    conn: &mut Conn,
    visible: &Visible,
    writer: &Writer,
    items: Vec<((String, Subject), RecordBody)>,
    max_records: i64,
) -> Result<Vec<Uuid>, AppError> {
    let mut prepared = Vec::with_capacity(items.len());
    for ((account, subject), body) in items {
        check_body(body.kind().as_str(), &body, &subject)?;
        let kind = body.kind();
        let grant_index = authorize(conn, visible, writer, &account, (kind, subject, body.effective_date()))?;
        prepared.push(Prepared {
            account,
            subject,
            kind,
            grant_index,
            body,
            primary_type: String::new(),
            entries: Vec::new(),
        });
    }
    append_written_records(conn, visible, writer, &prepared, max_records)
}

/// Whether a usable grant lets `organization_id` write a record `(kind, subject, date)` into
/// `account` (`Err` with the reason of the grant that came closest). Decides only: nothing is
/// audited (a preview of writes; the write itself goes through [`authorize`]).
pub fn may_write(
    visible: &Visible,
    organization_id: &str,
    account: &str,
    record: (RecordKind, Subject, Option<chrono::NaiveDate>),
) -> Result<(), AppError> {
    match write_decision(visible, organization_id, account, record)? {
        Decision::Allow { .. } => Ok(()),
        decision => Err(refused(record.0, decision)),
    }
}

/// The consent decision ([`crate::app::consent::decide`]) on writing a record
/// `(kind, subject, date)` into `account` through the organization's open grants.
fn write_decision(
    visible: &Visible,
    organization_id: &str,
    account: &str,
    record: (RecordKind, Subject, Option<chrono::NaiveDate>),
) -> Result<Decision, AppError> {
    let grantee = OrganizationId::new(organization_id)
        .map_err(|_| AppError::Forbidden("this organization id cannot hold grants".into()))?;
    let grants: Vec<ConsentGrant> =
        visible.grants.iter().filter(|g| g.account_id == account).map(|g| g.grant.clone()).collect();
    Ok(decide(&grants, &grantee, &CARE_PURPOSES, ConsentAction::Write, record, Utc::now()))
}

/// The 403 of a refused write, with the reason of the grant that came closest.
fn refused(kind: RecordKind, decision: Decision) -> AppError {
    let why = match decision {
        Decision::Deny { reason } => reason.to_string(),
        Decision::Allow { .. } => "no consent covers this".to_owned(),
    };
    AppError::Forbidden(format!("writing this {kind} record is not allowed: {why}"))
}

/// Seals every prepared record and appends it to its family's records in one
/// transaction ([`RecordLog::append`]: change sequence, counters, record
/// limit), with its grant key and the audit events; returns the new record
/// ids, in the order of `prepared`.
fn append_written_records(
    conn: &mut Conn,
    visible: &Visible,
    writer: &Writer,
    prepared: &[Prepared],
    max_records: i64,
) -> Result<Vec<Uuid>, AppError> {
    let device = org_device(&writer.organization_id)?;
    let now = now_ms();
    let mut by_account: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in prepared.iter().enumerate() {
        by_account.entry(p.account.as_str()).or_default().push(i);
    }
    let ids: Vec<Uuid> = prepared.iter().map(|_| Uuid::now_v7()).collect();
    write_transaction(conn, |conn| {
        for (account, indexes) in &by_account {
            let mut log = RecordLog::lock(conn, account)?
                .ok_or_else(|| AppError::NotFound("the family's account no longer exists".into()))?;
            let row = crate::store::accounts::account(conn, account)?
                .ok_or_else(|| AppError::NotFound("the family's account no longer exists".into()))?;
            let public = HpkePublicKey::from_bytes(&row.public_key)
                .map_err(|_| AppError::Internal("the account public key is not usable".into()))?;
            let mut sealed = Vec::with_capacity(indexes.len());
            for &i in indexes {
                let p = &prepared[i];
                let record_id = ids[i];
                let dek = DataKey::generate();
                let history: RecordHistory<RecordBody> = [RecordVersion {
                    stamp: VersionStamp::new(Hlc::new(now as u64, 0), device.clone()),
                    base_version: 0,
                    change: Change::Edit(p.body.clone()),
                }]
                .into_iter()
                .collect();
                let envelope = seal_history(&dek, &RecordAad { account_id: account, record_id, version: 1 }, &history);
                let wrapped = wrap_data_key_to(&public, &dek, account, record_id)
                    .map_err(|_| AppError::Internal("cannot wrap the data key".into()))?;
                let grant_wrapped = visible.grants[p.grant_index].wrap_data_key(&dek, record_id);
                sealed.push((i, envelope, wrapped, grant_wrapped));
            }
            let versions: Vec<NewVersion<'_>> = sealed
                .iter()
                .map(|(i, envelope, wrapped, _)| NewVersion {
                    record_id: RecordId(ids[*i]),
                    kind: prepared[*i].kind,
                    subject: prepared[*i].subject,
                    effective_date: prepared[*i].body.effective_date(),
                    base_version: 0,
                    deleted: false,
                    envelope,
                    wrapped_key: wrapped,
                })
                .collect();
            let appended = log.append(conn, device.as_str(), &versions, max_records, now)?;
            if appended.iter().any(|a| !matches!(a, Appended::Applied { .. })) {
                return Err(AppError::Internal("a new record id was already taken".into()));
            }
            let mut audit: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (i, _, _, grant_wrapped) in &sealed {
                let grant_id = visible.grants[prepared[*i].grant_index].grant_id();
                crate::store::grants::put_record_keys(
                    conn,
                    &[crate::store::grants::RecordKeyRow {
                        account_id: account,
                        grant_id: &grant_id,
                        record_id: ids[*i].to_string(),
                        wrapped_key: grant_wrapped,
                    }],
                )?;
                audit.entry(grant_id).or_default().push(ids[*i].to_string());
            }
            for (grant_id, records) in audit {
                audit_write(conn, account, writer, now, &grant_id, records)?;
            }
        }
        Ok::<(), AppError>(())
    })?;
    Ok(ids)
}

/// The device id the server stamps on what an organization writes: `org:<organization>`.
fn org_device(organization_id: &str) -> Result<DeviceId, AppError> {
    let device: String = format!("org:{organization_id}").chars().take(DeviceId::MAX_CHARS).collect();
    DeviceId::new(device).map_err(|_| AppError::Internal("bad org device id".into()))
}

/// The `success` event of records written through one grant (`fhir_write`, or the portal's `portal_write`).
fn audit_write(
    conn: &mut DbConnection,
    account: &str,
    writer: &Writer,
    now: i64,
    grant_id: &str,
    records: Vec<String>,
) -> Result<(), AppError> {
    crate::app::audit::append(
        conn,
        account,
        now,
        &crate::app::audit::NewAuditEvent::by(&writer.actor, writer.action, AuditOutcome::Success)
            .grant(grant_id)
            .records(records),
    )?;
    Ok(())
}

/// The stored record's resource of `resource_type` (its primary one).
fn written_resource(visible: &Visible, p: &Prepared, record_id: Uuid) -> Result<Option<Resource>, AppError> {
    let ctx = MappingContext::new(record_id, visible.patient_id(&p.account, &p.subject));
    let resources = to_fhir(&p.body, &ctx).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(resources.into_iter().find(|r| r.resource_type() == p.primary_type))
}

/// `Ok` if resources of `resource_type` can be created here (405 otherwise).
pub fn creatable(resource_type: &str) -> Result<(), AppError> {
    if !CREATABLE.contains(&resource_type) {
        return Err(AppError::MethodNotAllowed(
            "resources of this type cannot be created here; see /fhir/r4/metadata".to_owned(),
        ));
    }
    Ok(())
}

/// `Ok` if resources of `resource_type` can be updated here (405 otherwise).
pub fn updatable(resource_type: &str) -> Result<(), AppError> {
    if !CREATABLE.contains(&resource_type) {
        return Err(AppError::MethodNotAllowed(format!("{resource_type} cannot be updated here")));
    }
    Ok(())
}

/// What a create answers: the `Location` of the new resource's first version and the resource as stored.
pub struct Created {
    pub location: String,
    pub resource: Option<Resource>,
}

/// Creates `resource` (sent to `POST /fhir/r4/<resource_type>` by an
/// organization permitted to create the type) as a new record of its family.
pub async fn create(
    app: &App,
    org: AuthenticatedOrganization,
    resource_type: String,
    resource: Resource,
) -> FhirResult<Created> {
    if resource.resource_type() != resource_type {
        return Err(bad_element(
            "resourceType",
            format!("is {:?}, but this endpoint creates {resource_type}", resource.resource_type()),
        ));
    }
    let base = app.base_url()?.to_owned();
    let keys = app.keys.clone();
    let visibility = app.fhir_visible.clone();
    let max_records = app.limits.max_records_per_account;
    let created = move |conn: &mut Conn| -> FhirResult<Created> {
        let visible = Visible::load(conn, &visibility, &keys, &org.organization_id)?;
        let group = Group { path: resource_type.clone(), resources: vec![resource], entries: vec![0] };
        let writer = Writer::fhir(&org);
        let prepared = prepare(conn, &visible, &writer, group)?;
        let ids = append_written_records(conn, &visible, &writer, std::slice::from_ref(&prepared), max_records)?;
        let written = written_resource(&visible, &prepared, ids[0])?;
        let id = written.as_ref().and_then(|r| r.id().map(str::to_owned)).unwrap_or_else(|| ids[0].to_string());
        Ok(Created { location: format!("{base}/fhir/r4/{resource_type}/{id}/_history/1"), resource: written })
    };
    app.db(move |conn| Ok(created(conn))).await?
}

/// Splits a transaction's entries into record groups.
fn groups_of(bundle: &Bundle) -> FhirResult<Vec<Group>> {
    let mut groups: Vec<Group> = Vec::new();
    let mut encounter_group: BTreeMap<String, usize> = BTreeMap::new();
    for (i, entry) in bundle.entry.iter().enumerate() {
        let path = format!("Bundle.entry[{i}]");
        let method = entry.request.as_ref().and_then(|r| r.method.as_deref());
        if method != Some("POST") {
            return Err(bad_element(&format!("{path}.request.method"), "only POST (create) is supported"));
        }
        let Some(resource) = entry.resource.as_deref().cloned() else {
            return Err(bad_element(&format!("{path}.resource"), "is required"));
        };
        if !CREATABLE.contains(&resource.resource_type()) {
            return Err(bad_element(
                &format!("{path}.resource.resourceType"),
                format!("{} cannot be created here", resource.resource_type()),
            ));
        }
        if let Resource::Encounter(e) = &resource {
            let index = groups.len();
            if let Some(url) = &entry.full_url {
                encounter_group.insert(url.clone(), index);
            }
            if let Some(id) = &e.id {
                encounter_group.insert(format!("Encounter/{id}"), index);
            }
            groups.push(Group { path: format!("{path}.resource"), resources: vec![resource], entries: vec![i] });
        }
    }
    for (i, entry) in bundle.entry.iter().enumerate() {
        let Some(resource) = entry.resource.as_deref().cloned() else { continue };
        if matches!(resource, Resource::Encounter(_)) {
            continue;
        }
        let json = serde_json::to_value(&resource).map_err(|e| AppError::Internal(e.to_string()))?;
        let encounter = json["encounter"]["reference"].as_str().and_then(|r| encounter_group.get(r));
        match encounter {
            Some(&g) => {
                groups[g].resources.push(resource);
                groups[g].entries.push(i);
            }
            None => groups.push(Group {
                path: format!("Bundle.entry[{i}].resource"),
                resources: vec![resource],
                entries: vec![i],
            }),
        }
    }
    Ok(groups)
}

/// Writes a `transaction` Bundle (sent to `POST /fhir/r4` by an authenticated
/// organization) all-or-nothing: the `transaction-response` Bundle.
pub async fn transaction(app: &App, org: AuthenticatedOrganization, resource: Resource) -> FhirResult<Bundle> {
    let Resource::Bundle(bundle) = resource else {
        return Err(bad_element("resourceType", "POST /fhir/r4 takes a Bundle"));
    };
    if bundle.type_.as_deref() != Some("transaction") {
        return Err(bad_element("Bundle.type", "only transaction Bundles are accepted"));
    }
    if bundle.entry.is_empty() {
        return Err(bad_element("Bundle.entry", "a transaction needs at least one entry"));
    }
    if bundle.entry.len() > MAX_TRANSACTION_ENTRIES {
        return Err(AppError::PayloadTooLarge(format!(
            "a transaction may hold at most {MAX_TRANSACTION_ENTRIES} entries"
        ))
        .into());
    }
    for entry in &bundle.entry {
        if let Some(r) = &entry.resource {
            if !org.scopes.permits(r.resource_type(), Action::Create) {
                return Err(AppError::Forbidden(format!(
                    "the access token's scopes do not permit creating {}",
                    r.resource_type()
                ))
                .into());
            }
        }
    }
    let groups = groups_of(&bundle)?;
    let count = bundle.entry.len();
    let base = app.base_url()?.to_owned();
    let keys = app.keys.clone();
    let visibility = app.fhir_visible.clone();
    let max_records = app.limits.max_records_per_account;
    let written = move |conn: &mut Conn| -> FhirResult<Bundle> {
        let visible = Visible::load(conn, &visibility, &keys, &org.organization_id)?;
        let writer = Writer::fhir(&org);
        let mut prepared = Vec::with_capacity(groups.len());
        for group in groups {
            prepared.push(prepare(conn, &visible, &writer, group)?);
        }
        let ids = append_written_records(conn, &visible, &writer, &prepared, max_records)?;
        let mut entries = vec![BundleEntry::default(); count];
        for (p, id) in prepared.iter().zip(&ids) {
            let written = written_resource(&visible, p, *id)?;
            let rid = written.as_ref().and_then(|r| r.id().map(str::to_owned)).unwrap_or_else(|| id.to_string());
            for &e in &p.entries {
                entries[e].response = Some(BundleEntryResponse {
                    status: Some("201 Created".into()),
                    location: Some(format!("{base}/fhir/r4/{}/{rid}/_history/1", p.primary_type)),
                    etag: Some(version_etag(1)),
                    ..Default::default()
                });
            }
        }
        Ok(Bundle { type_: Some("transaction-response".into()), entry: entries, ..Default::default() })
    };
    app.db(move |conn| Ok(written(conn))).await?
}

/// The `ETag` of record version `version` (`W/"3"`), as [`if_match_version`] reads it back.
pub fn version_etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// `PUT /fhir/r4/{type}/{id}`: a new version of a record the clinic may write,
/// for records made of one resource (an immunization, a medication). With
/// `If-Match`, a version other than the current one is 409 and changes nothing.
/// For an organization permitted to update the type: `resource` as the new version of
/// `resource_type`/`id` (only if the current version is `if_match`, when given).
/// Returns the new version.
pub async fn update(
    app: &App,
    org: AuthenticatedOrganization,
    resource_type: String,
    id: String,
    if_match: Option<i64>,
    resource: Resource,
) -> FhirResult<i64> {
    if resource.resource_type() != resource_type {
        return Err(bad_element("resourceType", format!("must be {resource_type}")));
    }
    if resource.id() != Some(id.as_str()) {
        return Err(bad_element(&format!("{resource_type}.id"), "must equal the id in the URL"));
    }
    let missing = format!("this {resource_type} is not known");
    let not_found = move || FhirError::from(AppError::NotFound(missing.clone()));
    let record_id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let keys = app.keys.clone();
    let visibility = app.fhir_visible.clone();
    let max_records = app.limits.max_records_per_account;
    let updated = move |conn: &mut Conn| -> FhirResult<i64> {
        let visible = Visible::load(conn, &visibility, &keys, &org.organization_id)?;
        let opened = visible.grants.iter().enumerate().find_map(|(i, g)| {
            crate::app::consent::access::open_record(conn, g, record_id).transpose().map(|r| (i, r))
        });
        let Some((grant_index, opened)) = opened else {
            // Not open to this organization: audited in the family it belongs to, if that family
            // gave the organization a grant (as a read of it would be); the answer stays 404.
            let granting = super::granting_accounts(conn, &org.organization_id)?;
            if let Some(account) = super::read::owner_among(conn, record_id, |a| granting.iter().any(|g| g == a))? {
                crate::app::audit::append_denied(conn, &account, &org.actor(), AuditAction::FhirWrite, None)
                    .map_err(AppError::from)?;
            }
            return Err(not_found());
        };
        let opened = opened?;
        let grant = &visible.grants[grant_index];
        let account = grant.account_id.clone();
        let kind: RecordKind = opened.row.kind.parse().map_err(|_| AppError::Internal("stored kind".into()))?;
        let subject: Subject = opened.row.subject.parse().map_err(|_| AppError::Internal("stored subject".into()))?;
        let current = match opened.history.winner().map(|v| &v.change) {
            Some(Change::Edit(b)) => b.clone(),
            _ => return Err(not_found()),
        };
        let patient = visible.patient_id(&account, &subject);
        let parts = to_fhir(&current, &MappingContext::new(record_id, patient.clone()))
            .map_err(|e| AppError::Internal(e.to_string()))?;
        if parts.len() != 1 || parts[0].resource_type() != resource_type {
            return Err(unprocessable(
                &resource_type,
                "only records made of this one resource can be updated; this record has several parts",
            )
            .into());
        }
        if let Some(expected) = if_match {
            if expected != opened.row.version {
                return Err(AppError::Conflict(format!(
                    "If-Match names version {expected}, but the current version is {}",
                    opened.row.version
                ))
                .into());
            }
        }
        if reference_of(&resource, &resource_type)?.trim_start_matches("Patient/") != patient {
            return Err(bad_element(
                &format!("{resource_type}.subject"),
                "an update cannot move the record to another patient",
            ));
        }
        let new_body = from_fhir(kind, std::slice::from_ref(&resource)).map_err(mapping_error)?;
        check_body(&resource_type, &new_body, &subject)?;
        let writer = Writer::fhir(&org);
        authorize(conn, &visible, &writer, &account, (kind, subject, new_body.effective_date()))?;
        let device_id = org_device(&org.organization_id)?;
        let now = now_ms();
        let last = opened.history.versions().map(|v| v.stamp.hlc).max().unwrap_or_default();
        let mut history = opened.history.clone();
        let new_version = opened.row.version + 1;
        history.merge(RecordVersion {
            stamp: VersionStamp::new(last.tick(now as u64), device_id.clone()),
            base_version: opened.row.version as u64,
            change: Change::Edit(new_body.clone()),
        });
        let envelope = seal_history(
            &opened.dek,
            &RecordAad { account_id: &account, record_id, version: new_version as u64 },
            &history,
        );
        let grant_id = grant.grant_id();
        write_transaction(conn, |conn| {
            let mut log = RecordLog::lock(conn, &account)?
                .ok_or_else(|| AppError::NotFound("the family's account no longer exists".into()))?;
            let version = NewVersion {
                record_id: RecordId(record_id),
                kind,
                subject,
                effective_date: new_body.effective_date(),
                base_version: opened.row.version as u64,
                deleted: false,
                envelope: &envelope,
                wrapped_key: &opened.row.wrapped_key,
            };
            match log.append(conn, device_id.as_str(), &[version], max_records, now)?[..] {
                [Appended::Applied { .. }] => {}
                _ => return Err(AppError::Conflict("the record changed meanwhile; read it again".into())),
            }
            audit_write(conn, &account, &writer, now, &grant_id, vec![record_id.to_string()])
        })?;
        Ok(new_version)
    };
    app.db(move |conn| Ok(updated(conn))).await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use phr_fhir::model::BundleEntryRequest;

    fn entry(resource: Resource, full_url: &str) -> BundleEntry {
        BundleEntry {
            full_url: Some(full_url.into()),
            resource: Some(Box::new(resource)),
            request: Some(BundleEntryRequest { method: Some("POST".into()), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn a_transaction_groups_observations_with_the_encounter_they_reference() {
        let ctx = MappingContext::new(Uuid::from_u128(1), "p");
        let visit = RecordBody::PrenatalVisit(phr_core::dataset::examples::prenatal_visit_full());
        let resources = to_fhir(&visit, &ctx).unwrap();
        let mut bundle = Bundle { type_: Some("transaction".into()), ..Default::default() };
        for (i, r) in resources.into_iter().enumerate() {
            bundle.entry.push(entry(r, &format!("urn:uuid:{}", Uuid::from_u128(100 + i as u128))));
        }
        let dose = phr_core::dataset::examples::immunization_full();
        let imm = to_fhir(&RecordBody::Immunization(dose), &MappingContext::new(Uuid::from_u128(2), "p")).unwrap();
        bundle.entry.push(entry(imm[0].clone(), "urn:uuid:00000000-0000-0000-0000-0000000000ff"));
        let groups = groups_of(&bundle).unwrap();
        assert_eq!(groups.len(), 2, "one visit, one dose");
        assert_eq!(groups[0].resources[0].resource_type(), "Encounter");
        let read = from_fhir(RecordKind::PrenatalVisit, &groups[0].resources).unwrap();
        assert_eq!(read, visit);
        assert_eq!(groups[1].entries, vec![bundle.entry.len() - 1]);
    }

    #[test]
    fn an_unknown_code_is_a_422_of_kind_unknown_code_and_a_missing_element_a_400_naming_it() {
        let unknown = mapping_error(MappingError::UnknownCode {
            path: "Observation[0].code.coding[0].code".into(),
            system: Some("http://loinc.org".into()),
            code: "0000-0".into(),
        });
        assert!(matches!(unknown.error, AppError::Unprocessable { .. }));
        assert_eq!(unknown.items, super::super::ItemProblem::UnknownCode);
        let missing = mapping_error(MappingError::Missing { path: "Observation[0].valueQuantity".into() });
        assert!(matches!(missing.error, AppError::BadRequest(_)));
        assert_eq!(missing.element.as_deref(), Some("Observation[0].valueQuantity"));
    }

    #[test]
    fn transaction_entries_must_be_posts_of_creatable_resources() {
        let mut bundle = Bundle { type_: Some("transaction".into()), ..Default::default() };
        let mut e = entry(Resource::Observation(Default::default()), "urn:uuid:1");
        e.request.as_mut().unwrap().method = Some("DELETE".into());
        bundle.entry.push(e);
        let err = groups_of(&bundle).err().unwrap();
        assert_eq!(err.element.as_deref(), Some("Bundle.entry[0].request.method"));
        bundle.entry[0] = entry(Resource::Patient(Default::default()), "urn:uuid:1");
        let err = groups_of(&bundle).err().unwrap();
        assert_eq!(err.element.as_deref(), Some("Bundle.entry[0].resource.resourceType"));
    }
}
