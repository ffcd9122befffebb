//! The care-team portal's patients: finding a consented patient by an identifier the family
//! shared, and the patient page (`docs/portal.md`, "Patients").
//!
//! The portal is one more consented view of the FHIR API's data, not a second system: what a
//! staff member sees is exactly what their organization's usable *treatment* / *emergency*
//! grants let it read ([`crate::app::fhir::Visible`], the same opened grants and patient ids
//! as `/fhir/r4`), and every read is audited in the family's log through the same functions,
//! naming the staff member (`organization:<org>/staff:<id>` and their name) with the actions
//! `portal_search` and `portal_view`. A patient id the organization cannot see is answered as
//! if it did not exist, and audited `denied` in the family it belongs to (if that family gave
//! the organization any grant), as a FHIR read is.
//!
//! What the page shows is computed here from the decrypted records, with phr-core's rules:
//! the growth charts against the WHO standards and the Japanese 2000 reference
//! ([`phr_core::growth`]), the immunization status of the routine schedule
//! ([`immunization_status`]), the prenatal charts ([`phr_core::prenatal`]) and the current
//! medications. A module the grant does not cover is simply absent.

use chrono::{NaiveDate, Utc};
use phr_core::dataset::immunization_schedule::{immunization_status, DoseState};
use phr_core::dataset::{
    ChildCheckup, Delivery, DevelopmentMilestone, Immunization, Medication, MotherProfile, Newborn, PrenatalVisit,
    RecordBody, RecordKind, Subject,
};
use phr_core::growth::{assess, chart_svg, ChartPoint, GrowthMeasure, GrowthReference, Measurement};
use phr_core::i18n::text;
use phr_core::prenatal::{self, PrenatalMeasure};
use phr_fhir::model::Patient;

use super::StaffSession;
use crate::app::audit::{Actor, AuditAction};
use crate::app::consent::access::ReadableRecord;
use crate::app::error::AppError;
use crate::app::fhir::cache::Fingerprint;
use crate::app::fhir::patient::{audit_patient, build_patient};
use crate::app::fhir::{Visible, PATIENT_ID_SYSTEM};
use crate::app::App;
use crate::store::Conn;

/// Most patients one search lists.
pub const MAX_FOUND: usize = 50;
/// Most characters of an identifier searched for.
pub const MAX_IDENTIFIER_CHARS: usize = 64;
/// A medication without a supply length counts as current this many days after dispensing.
pub const CURRENT_MEDICATION_DAYS: i64 = 30;

/// The audit actor of a staff member: `organization:<org>/staff:<staff id>`, with their name.
pub fn staff_actor(staff: &StaffSession) -> Actor {
    Actor {
        id: format!("organization:{}/staff:{}", staff.organization_id, staff.staff_id),
        name: Some(staff.name.clone()),
    }
}

/// A staff member writing results through their organization's grants (`portal_write`).
pub fn staff_writer(staff: &StaffSession) -> crate::app::fhir::write::Writer {
    crate::app::fhir::write::Writer {
        organization_id: staff.organization_id.clone(),
        actor: staff_actor(staff),
        action: AuditAction::PortalWrite,
    }
}

/// Mother or child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatientKind {
    Mother,
    Child,
}

/// A patient as a search result lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientListing {
    /// The opaque patient id (the same as `/fhir/r4/Patient/{id}`).
    pub patient_id: String,
    pub kind: PatientKind,
    /// From the mother profile or newborn record, when the grant covers it.
    pub name: Option<String>,
    pub birth_date: Option<String>,
    /// `(system, value)` of every identifier the family shared (not our opaque id).
    pub identifiers: Vec<(String, String)>,
}

fn listing(patient: &Patient, subject: Subject) -> PatientListing {
    let name = patient.name.first().and_then(|n| {
        n.text.clone().or_else(|| {
            let parts: Vec<&str> =
                n.family.iter().map(String::as_str).chain(n.given.iter().map(String::as_str)).collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
    });
    PatientListing {
        patient_id: patient.id.clone().unwrap_or_default(),
        kind: if subject == Subject::Mother { PatientKind::Mother } else { PatientKind::Child },
        name,
        birth_date: patient.birth_date.clone(),
        identifiers: patient
            .identifier
            .iter()
            .filter(|i| i.system.as_deref() != Some(PATIENT_ID_SYSTEM))
            .filter_map(|i| Some((i.system.clone().unwrap_or_default(), i.value.clone()?)))
            .collect(),
    }
}

/// The identifier searched for, trimmed: 1–64 characters without control characters
/// (`system|value` or a bare value).
pub fn check_identifier(query: &str) -> Result<String, AppError> {
    let q = query.trim();
    if q.is_empty() || q.chars().count() > MAX_IDENTIFIER_CHARS || q.chars().any(char::is_control) {
        return Err(AppError::BadRequest(format!(
            "identifier must be 1–{MAX_IDENTIFIER_CHARS} characters without control characters"
        )));
    }
    Ok(q.to_owned())
}

/// Whether `listing` has the identifier `query` (`system|value` or a value of any system), exactly.
pub fn identifier_matches(listing: &PatientListing, query: &str) -> bool {
    let (system, value) = query.split_once('|').map_or((None, query), |(s, v)| (Some(s), v));
    listing.identifiers.iter().any(|(s, v)| v == value && system.is_none_or(|want| s == want))
}

/// How many patients the staff member's organization may see now (nothing is read: no audit).
pub async fn count(app: &App, staff: &StaffSession) -> Result<usize, AppError> {
    let keys = app.keys.clone();
    let visibility = app.fhir_visible.clone();
    let organization = staff.organization_id.clone();
    app.db(move |conn| Ok(Visible::load(conn, &visibility, &keys, &organization)?.patients.len())).await
}

/// The patients the staff member's organization may see whose shared identifiers include
/// `identifier` (exactly; `system|value` or a value of any system), at most [`MAX_FOUND`];
/// each listed patient's records read are audited `portal_search` in its family's log.
pub async fn find(app: &App, staff: &StaffSession, identifier: &str) -> Result<Vec<PatientListing>, AppError> {
    let query = check_identifier(identifier)?;
    let cache = app.portal.listings.clone();
    let keys = app.keys.clone();
    let visibility = app.fhir_visible.clone();
    let audits = app.fhir_read_audits.clone();
    let actor = staff_actor(staff);
    let organization = staff.organization_id.clone();
    app.db(move |conn| {
        let visible = Visible::load(conn, &visibility, &keys, &organization)?;
        let mut found = Vec::new();
        for listed in cached_listings(conn, &visible, cache.as_deref(), &organization)?.iter() {
            if identifier_matches(&listed.listing, &query) {
                audit_patient(
                    conn,
                    &audits,
                    &visible,
                    &actor,
                    AuditAction::PortalSearch,
                    &listed.account,
                    &listed.records,
                )?;
                found.push(listed.listing.clone());
                if found.len() == MAX_FOUND {
                    break;
                }
            }
        }
        Ok(found)
    })
    .await
}

/// A patient the organization may see, with what they are listed by.
pub struct Listed {
    pub listing: PatientListing,
    pub account: String,
    pub subject: Subject,
    /// The records the listing was built from (to audit the ones a caller uses).
    pub records: Vec<ReadableRecord>,
}

/// Every patient the organization may see, in patient id order, with their name, birth date
/// and identifiers read through its grants. Audits nothing: a caller audits the patients it uses.
pub fn listings(conn: &mut Conn, visible: &Visible) -> Result<Vec<Listed>, AppError> {
    let mut patients: Vec<(&String, &(String, Subject))> = visible.patients.iter().collect();
    patients.sort();
    let mut out = Vec::with_capacity(patients.len());
    for (_, (account, subject)) in patients {
        let (patient, records) = build_patient(conn, visible, account, *subject)?;
        out.push(Listed { listing: listing(&patient, *subject), account: account.clone(), subject: *subject, records });
    }
    Ok(out)
}

/// Each organization's [`Listed`] patients, kept while they are what the database says: each
/// entry answers only for the [`crate::app::fhir::cache::fingerprint`] it was read under (the
/// organization's usable grants and, per family, its change and consent counters), computed in
/// one query before each use. Holds decrypted names, birth dates and identifiers in memory, as
/// the FHIR search cache holds answers; never printed. At most [`ListingCache::MAX_ORGANIZATIONS`].
#[derive(Default)]
pub struct ListingCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, KeptListings>>,
}

/// One organization's patients and the fingerprint they were read under.
type KeptListings = (Fingerprint, std::sync::Arc<Vec<Listed>>);

impl ListingCache {
    /// Organizations kept before the cache starts again empty.
    pub const MAX_ORGANIZATIONS: usize = 256;

    fn get(&self, organization_id: &str, fingerprint: &Fingerprint) -> Option<std::sync::Arc<Vec<Listed>>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(organization_id).filter(|(f, _)| f == fingerprint).map(|(_, l)| std::sync::Arc::clone(l))
    }

    fn put(&self, organization_id: &str, fingerprint: Fingerprint, listed: std::sync::Arc<Vec<Listed>>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= Self::MAX_ORGANIZATIONS && !entries.contains_key(organization_id) {
            entries.clear();
        }
        entries.insert(organization_id.to_owned(), (fingerprint, listed));
    }
}

/// [`listings`] through `cache` (read afresh without one, or when anything they come from changed).
pub fn cached_listings(
    conn: &mut Conn,
    visible: &Visible,
    cache: Option<&ListingCache>,
    organization_id: &str,
) -> Result<std::sync::Arc<Vec<Listed>>, AppError> {
    let Some(cache) = cache else { return Ok(std::sync::Arc::new(listings(conn, visible)?)) };
    // Before the records are read: a change in between makes the kept copy look older than it
    // is (read again next time), never newer.
    let fingerprint = crate::app::fhir::cache::fingerprint(conn, visible, &visible.accounts())?;
    if let Some(kept) = cache.get(organization_id, &fingerprint) {
        return Ok(kept);
    }
    let fresh = std::sync::Arc::new(listings(conn, visible)?);
    cache.put(organization_id, fingerprint, std::sync::Arc::clone(&fresh));
    Ok(fresh)
}

/// One line of the patient's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub date: Option<NaiveDate>,
    pub kind: RecordKind,
    /// The module's label in the page's language.
    pub label: String,
    pub record_id: String,
}

/// A labelled chart (an SVG picture from phr-core).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    pub title: String,
    pub svg: String,
}

/// One checkup in a child's table.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckupRow {
    pub date: NaiveDate,
    pub checkup: String,
    pub age_months: Option<u32>,
    pub weight_kg: Option<f64>,
    pub length_cm: Option<f64>,
    pub head_cm: Option<f64>,
    pub judgement: Option<String>,
}

/// Done / due / overdue / upcoming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoseStateKind {
    Done,
    Due,
    Overdue,
    Upcoming,
    NotApplicable,
}

/// One dose of the routine schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoseRow {
    pub vaccine: String,
    pub dose_number: u32,
    pub state: DoseStateKind,
    /// The state in words, with its date.
    pub detail: String,
}

/// One developmental milestone the family recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneRow {
    pub milestone: String,
    pub achieved: String,
    pub answered_on: NaiveDate,
}

/// What a child's page shows beyond the timeline.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChildView {
    /// Birth date and sex, when the newborn record is shared.
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<String>,
    pub charts: Vec<Chart>,
    pub checkups: Vec<CheckupRow>,
    /// Empty without the newborn record (the schedule needs the birth date).
    pub immunizations: Vec<DoseRow>,
    pub milestones: Vec<MilestoneRow>,
}

/// A current medication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicationRow {
    pub drug: String,
    pub dose: Option<String>,
    pub directions: Option<String>,
    pub dispensed_on: NaiveDate,
    pub until: Option<NaiveDate>,
}

/// What a mother's page shows beyond the timeline.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MotherView {
    pub charts: Vec<Chart>,
    pub medications: Vec<MedicationRow>,
}

/// A patient page.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientView {
    pub patient: PatientListing,
    /// Newest first; undated records last.
    pub timeline: Vec<TimelineEntry>,
    pub child: Option<ChildView>,
    pub mother: Option<MotherView>,
}

/// The page of patient `patient_id` in `language`, if the staff member's organization may
/// see it (404 otherwise, audited `denied` in the family it belongs to when that family gave
/// the organization a grant). The records shown are audited `portal_view`.
pub async fn view(
    app: &App,
    staff: &StaffSession,
    patient_id: String,
    language: String,
) -> Result<PatientView, AppError> {
    let keys = app.keys.clone();
    let visibility = app.fhir_visible.clone();
    let audits = app.fhir_read_audits.clone();
    let actor = staff_actor(staff);
    let organization = staff.organization_id.clone();
    let today = Utc::now().date_naive();
    let view = app
        .db(move |conn| {
            let visible = Visible::load(conn, &visibility, &keys, &organization)?;
            let Some((account, subject)) =
                resolve(conn, &visible, &organization, &actor, &patient_id, AuditAction::PortalView)?
            else {
                return Ok(None);
            };
            let (patient, identity) = build_patient(conn, &visible, &account, subject)?;
            let records = visible.records_of(conn, &account, subject)?;
            // A child's gestational age at birth is on the mother's delivery record, if shared.
            let deliveries = match subject {
                Subject::Child(_) => visible
                    .records_of(conn, &account, Subject::Mother)?
                    .into_iter()
                    .filter(|r| r.kind == RecordKind::Delivery)
                    .collect(),
                Subject::Mother => Vec::new(),
            };
            let mut read: Vec<&ReadableRecord> = records.iter().chain(&identity).chain(&deliveries).collect();
            read.sort_by_key(|r| r.record_id);
            read.dedup_by_key(|r| r.record_id);
            let read: Vec<ReadableRecord> = read.into_iter().cloned().collect();
            audit_patient(conn, &audits, &visible, &actor, AuditAction::PortalView, &account, &read)?;
            Ok(Some(page(listing(&patient, subject), subject, &records, &deliveries, &language, today)))
        })
        .await?;
    view.ok_or_else(|| AppError::NotFound("no such patient".into()))
}

/// Whether patient `patient_id` is one the staff member's organization may see, and about
/// whom: the mother or a child (404 otherwise, audited as [`view`] audits a miss). Reads no record.
pub async fn kind_of(app: &App, staff: &StaffSession, patient_id: String) -> Result<Subject, AppError> {
    let keys = app.keys.clone();
    let visibility = app.fhir_visible.clone();
    let actor = staff_actor(staff);
    let organization = staff.organization_id.clone();
    let found = app
        .db(move |conn| {
            let visible = Visible::load(conn, &visibility, &keys, &organization)?;
            resolve(conn, &visible, &organization, &actor, &patient_id, AuditAction::PortalView)
        })
        .await?;
    found.map(|(_, subject)| subject).ok_or_else(|| AppError::NotFound("no such patient".into()))
}

/// Resolves a patient id for a staff member (see [`Visible::resolve_audited_as`]).
pub(super) fn resolve(
    conn: &mut Conn,
    visible: &Visible,
    organization: &str,
    actor: &Actor,
    patient_id: &str,
    action: AuditAction,
) -> Result<Option<(String, Subject)>, AppError> {
    // Only the opaque id's shape is looked up: anything else is no patient.
    if patient_id.len() != 32 || !patient_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    visible.resolve_audited_as(conn, organization, actor, patient_id, action)
}

fn bodies<'a, T>(records: &'a [ReadableRecord], pick: impl Fn(&'a RecordBody) -> Option<&'a T>) -> Vec<&'a T> {
    records.iter().filter_map(|r| pick(&r.body)).collect()
}

/// The page from the records read (pure: unit-tested without a database).
pub fn page(
    patient: PatientListing,
    subject: Subject,
    records: &[ReadableRecord],
    deliveries: &[ReadableRecord],
    language: &str,
    today: NaiveDate,
) -> PatientView {
    let mut timeline: Vec<TimelineEntry> = records
        .iter()
        .filter(|r| r.kind != RecordKind::SubjectIdentifiers)
        .map(|r| TimelineEntry {
            date: r.effective_date,
            kind: r.kind,
            label: r.kind.label(language),
            record_id: r.record_id.to_string(),
        })
        .collect();
    timeline.sort_by(|a, b| (b.date.is_some(), b.date, &b.record_id).cmp(&(a.date.is_some(), a.date, &a.record_id)));
    let (child, mother) = match subject {
        Subject::Child(_) => (Some(child_view(records, deliveries, language, today)), None),
        Subject::Mother => (None, Some(mother_view(records, language, today))),
    };
    PatientView { patient, timeline, child, mother }
}

fn child_view(
    records: &[ReadableRecord],
    deliveries: &[ReadableRecord],
    language: &str,
    today: NaiveDate,
) -> ChildView {
    let newborn = bodies(records, |b| match b {
        RecordBody::Newborn(n) => Some(n),
        _ => None,
    })
    .into_iter()
    .next();
    let mut checkups = bodies(records, |b| match b {
        RecordBody::ChildCheckup(c) => Some(c),
        _ => None,
    });
    checkups.sort_by_key(|c| c.date);
    let immunizations: Vec<Immunization> = bodies(records, |b| match b {
        RecordBody::Immunization(i) => Some(i),
        _ => None,
    })
    .into_iter()
    .cloned()
    .collect();
    let mut milestones: Vec<MilestoneRow> = bodies(records, |b| match b {
        RecordBody::Development(d) => Some(d),
        _ => None,
    })
    .into_iter()
    .map(|m: &DevelopmentMilestone| MilestoneRow {
        milestone: m.milestone.label(language),
        achieved: m.achieved.label(language),
        answered_on: m.answered_on,
    })
    .collect();
    milestones.sort_by(|a, b| b.answered_on.cmp(&a.answered_on).then(a.milestone.cmp(&b.milestone)));
    let mut view = ChildView {
        checkups: checkups
            .iter()
            .map(|c| CheckupRow {
                date: c.date,
                checkup: c.checkup_type.label(language),
                age_months: newborn.and_then(|n| c.age_in_months(n.birth_date)),
                weight_kg: c.weight.map(|q| q.value),
                length_cm: c.length.map(|q| q.value),
                head_cm: c.head_circumference.map(|q| q.value),
                judgement: c.overall_judgement.map(|j| j.label(language)),
            })
            .rev()
            .collect(),
        milestones,
        ..Default::default()
    };
    let Some(birth) = newborn else { return view };
    view.birth_date = Some(birth.birth_date);
    view.sex = Some(birth.sex.label(language));
    let gestation = bodies(deliveries, |b| match b {
        RecordBody::Delivery(d) => Some(d),
        _ => None,
    })
    .into_iter()
    .find(|d: &&Delivery| d.delivered_at.date_naive() == birth.birth_date)
    .and_then(|d| d.gestational_age.map(|g| g.total_days()));
    view.charts = growth_charts(birth, &checkups, gestation, language);
    view.immunizations = immunization_status(birth.birth_date, Some(birth.sex), &immunizations, today)
        .into_iter()
        .map(|d| {
            let vaccine = d.vaccine.label(language);
            let (state, key, date) = match d.state {
                DoseState::Completed { on } => (DoseStateKind::Done, "portal-dose-done", Some(on)),
                DoseState::Due { by, .. } => (DoseStateKind::Due, "portal-dose-due", Some(by)),
                DoseState::Overdue { since } => (DoseStateKind::Overdue, "portal-dose-overdue", Some(since)),
                DoseState::Upcoming { from } => (DoseStateKind::Upcoming, "portal-dose-upcoming", Some(from)),
                _ => (DoseStateKind::NotApplicable, "portal-dose-not-applicable", None),
            };
            let date = date.map(|d| d.to_string()).unwrap_or_default();
            DoseRow { vaccine, dose_number: d.dose_number, state, detail: text(language, key, &[("date", date)]) }
        })
        .filter(|d| d.state != DoseStateKind::NotApplicable)
        .collect();
    view
}

/// Weight and length/height for age against WHO and the Japanese 2000 reference.
fn growth_charts(birth: &Newborn, checkups: &[&ChildCheckup], gestation: Option<u32>, language: &str) -> Vec<Chart> {
    let mut measurements = vec![Measurement {
        date: birth.birth_date,
        weight_kg: birth.birth_weight.map(|g| g.value / 1000.0),
        length_cm: birth.birth_length.map(|l| l.value),
        head_circumference_cm: birth.head_circumference.map(|h| h.value),
    }];
    measurements.extend(checkups.iter().map(|c| Measurement {
        date: c.date,
        weight_kg: c.weight.map(|w| w.value),
        length_cm: c.length.map(|l| l.value),
        head_circumference_cm: c.head_circumference.map(|h| h.value),
    }));
    let assessed = assess(&GrowthReference::ALL, birth.sex, birth.birth_date, gestation, &measurements);
    let corrected = assessed.iter().any(|a| a.corrected_age_days.is_some());
    let mut charts = Vec::new();
    for measure in [GrowthMeasure::WeightForAge, GrowthMeasure::LengthHeightForAge] {
        for reference in [GrowthReference::Japan2000, GrowthReference::Who2006] {
            let points: Vec<ChartPoint> = measurements
                .iter()
                .zip(&assessed)
                .filter_map(|(m, a)| ChartPoint::of(measure, m, a.age_days, a.corrected_age_days))
                .collect();
            if let Some(svg) = chart_svg(reference, measure, birth.sex, &points, corrected, language) {
                let measure_key = match measure {
                    GrowthMeasure::WeightForAge => "measure-weight-for-age",
                    _ => "measure-length-height-for-age",
                };
                let reference_key = match reference {
                    GrowthReference::Japan2000 => "chart-reference-japan2000",
                    _ => "chart-reference-who2006",
                };
                let title = format!("{} — {}", text(language, measure_key, &[]), text(language, reference_key, &[]));
                charts.push(Chart { title, svg });
            }
        }
    }
    charts
}

fn mother_view(records: &[ReadableRecord], language: &str, today: NaiveDate) -> MotherView {
    let visits = bodies(records, |b| match b {
        RecordBody::PrenatalVisit(v) => Some(v),
        _ => None,
    });
    let profile: Option<&MotherProfile> = bodies(records, |b| match b {
        RecordBody::MotherProfile(p) => Some(p),
        _ => None,
    })
    .into_iter()
    .next();
    let before = profile.and_then(prenatal::pre_pregnancy_weight_kg);
    let charts = if visits.is_empty() {
        Vec::new()
    } else {
        // The current pregnancy's visits: those since the latest visit's pregnancy began
        // (gestational age), so an earlier pregnancy's points do not join the line.
        let current: Vec<&PrenatalVisit> = current_pregnancy(&visits);
        let points = prenatal::points_from_visits(&current, before);
        [
            (PrenatalMeasure::BloodPressure, "prenatal-chart-title-blood-pressure"),
            (PrenatalMeasure::WeightGain, "prenatal-chart-title-weight-gain"),
            (PrenatalMeasure::FundalHeight, "prenatal-chart-title-fundal-height"),
        ]
        .into_iter()
        .map(|(measure, key)| Chart {
            title: text(language, key, &[]),
            svg: prenatal::chart_svg(measure, &points, language),
        })
        .collect()
    };
    let mut medications: Vec<MedicationRow> = bodies(records, |b| match b {
        RecordBody::Medication(m) => Some(m),
        _ => None,
    })
    .into_iter()
    .filter_map(|m: &Medication| {
        let until = m.days_supplied.and_then(|d| m.dispensed_on.checked_add_days(chrono::Days::new(u64::from(d))));
        let current = match until {
            Some(until) => until >= today,
            None => (today - m.dispensed_on).num_days() <= CURRENT_MEDICATION_DAYS,
        };
        (current && m.dispensed_on <= today).then(|| MedicationRow {
            drug: m.drug_name.clone(),
            dose: m.dose.clone(),
            directions: m.directions.clone(),
            dispensed_on: m.dispensed_on,
            until,
        })
    })
    .collect();
    medications.sort_by(|a, b| b.dispensed_on.cmp(&a.dispensed_on).then(a.drug.cmp(&b.drug)));
    MotherView { charts, medications }
}

/// The visits of the latest pregnancy: those dated on or after the day the latest dated
/// visit's gestational age puts the pregnancy's start.
fn current_pregnancy<'a>(visits: &[&'a PrenatalVisit]) -> Vec<&'a PrenatalVisit> {
    let start = visits
        .iter()
        .filter_map(|v| {
            let days = v.gestational_age?.total_days();
            v.visit_date.checked_sub_days(chrono::Days::new(u64::from(days)))
        })
        .max();
    visits.iter().copied().filter(|v| start.is_none_or(|s| v.visit_date >= s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(identifiers: &[(&str, &str)]) -> PatientListing {
        PatientListing {
            patient_id: "p".into(),
            kind: PatientKind::Child,
            name: None,
            birth_date: None,
            identifiers: identifiers.iter().map(|(s, v)| (s.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn an_identifier_matches_by_exact_value_or_system_and_value() {
        let p = listed(&[("urn:jp:handbook", "H-123"), ("urn:jp:mrn", "77")]);
        assert!(identifier_matches(&p, "H-123"));
        assert!(identifier_matches(&p, "urn:jp:handbook|H-123"));
        assert!(!identifier_matches(&p, "urn:jp:mrn|H-123"), "the system must agree when given");
        assert!(!identifier_matches(&p, "H-12"), "no partial matches: an identifier is not a name search");
        assert!(!identifier_matches(&p, "h-123"));
    }

    #[test]
    fn a_search_needs_a_short_printable_identifier() {
        assert_eq!(check_identifier("  H-1 ").unwrap(), "H-1");
        assert!(check_identifier("   ").is_err());
        assert!(check_identifier(&"9".repeat(65)).is_err());
        assert!(check_identifier("a\u{0}b").is_err());
    }

    #[test]
    fn a_staff_member_is_audited_as_their_organization_and_themselves_by_name() {
        let staff = StaffSession {
            staff_id: "s1".into(),
            name: "Sato Hanako".into(),
            role: "member".into(),
            organization_id: "sakura".into(),
            organization_name: "Sakura".into(),
            organization_kind: "clinic".into(),
            csrf_token: String::new(),
            expires_at: 0,
            session_hash: String::new(),
        };
        let actor = staff_actor(&staff);
        assert_eq!(actor.id, "organization:sakura/staff:s1");
        assert_eq!(actor.name.as_deref(), Some("Sato Hanako"));
    }

    fn visit(date: &str, weeks: u8) -> PrenatalVisit {
        let mut v: PrenatalVisit = serde_json::from_value(serde_json::json!({ "visit_date": date })).unwrap();
        v.gestational_age = Some(phr_core::dataset::GestationalAge::new(weeks, 0));
        v
    }

    #[test]
    fn the_prenatal_charts_follow_the_latest_pregnancy_only() {
        let old = visit("2024-03-01", 30);
        let new_early = visit("2026-06-01", 12);
        let new_late = visit("2026-09-01", 25);
        let all = [&old, &new_early, &new_late];
        let current = current_pregnancy(&all);
        assert_eq!(current.len(), 2);
        assert!(current.iter().all(|v| v.visit_date.to_string().starts_with("2026")));
    }
}
