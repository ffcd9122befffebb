//! Search on Observation, Immunization, MedicationStatement,
//! MedicationDispense, Encounter and Condition (`GET /fhir/r4/{type}?...`,
//! the types of `metadata::SEARCHABLE`) over the records the organization's
//! grants open.
//!
//! Parameters: `patient` / `subject` (`Patient/<id>` or `<id>`), `date` with
//! prefixes `eq` (default), `ge`, `le`, `gt`, `lt` at day precision (repeat to
//! AND), `code` and (Observation) `category` as tokens (`system|code`,
//! `code`, `|code`), `_count` (1–1000, default 50), `_sort` (`date`, `-date`),
//! `_offset` (set by `next` links), and on every type `_id` (comma = OR,
//! repeat to AND; an id no visible resource has just matches nothing).
//! Unknown parameters are 400.

use chrono::{Duration, NaiveDate};
use phr_core::dataset::Subject;
use phr_fhir::model::{Bundle, BundleEntry, BundleEntrySearch, BundleLink, Integer, Resource};
use serde_json::Value;

use super::cache::{fingerprint, CachedAnswer, ReadAudit, SearchKey};
use super::metadata::SEARCHABLE;
use super::{
    append_read_audits, bad_element, bad_request, bundle_entry, kinds_yielding, open_visible, read_audits,
    resources_of, FhirResult, Visible,
};
use crate::app::audit::AuditAction;
use crate::app::consent::access::{readable_record_dates, readable_records, ReadableRecord, RecordFilter, MAX_PAGE};
use crate::app::error::AppError;
use crate::app::smart::OrganizationToken;
use crate::app::App;

pub const DEFAULT_COUNT: usize = 50;
pub const MAX_COUNT: usize = 1000;

/// A date comparison of the `date` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePrefix {
    Eq,
    Ge,
    Le,
    Gt,
    Lt,
}

/// A parsed search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchParams {
    pub patient: Option<String>,
    /// `_id`: only resources with one of these ids (`None`: any id).
    pub ids: Option<Vec<String>>,
    pub dates: Vec<(DatePrefix, NaiveDate)>,
    pub codes: Vec<String>,
    pub categories: Vec<String>,
    pub count: usize,
    pub offset: usize,
    pub descending: bool,
}

/// Parses `date` values such as `ge2026-03-01` or `2026-03-01T10:00:00+09:00` (day precision).
pub fn parse_date_param(value: &str) -> Option<(DatePrefix, NaiveDate)> {
    let (prefix, rest) = match value.get(..2) {
        Some("eq") => (DatePrefix::Eq, &value[2..]),
        Some("ge") => (DatePrefix::Ge, &value[2..]),
        Some("le") => (DatePrefix::Le, &value[2..]),
        Some("gt") => (DatePrefix::Gt, &value[2..]),
        Some("lt") => (DatePrefix::Lt, &value[2..]),
        _ => (DatePrefix::Eq, value),
    };
    let day = rest.get(..10)?;
    if rest.len() > 10 && !rest[10..].starts_with('T') {
        return None;
    }
    Some((prefix, NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?))
}

/// Parses the query of a search on `resource_type`.
pub fn parse(resource_type: &str, query: &str, allowed: &[&str]) -> FhirResult<SearchParams> {
    let mut p = SearchParams { count: DEFAULT_COUNT, ..Default::default() };
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = value.into_owned();
        match name.as_ref() {
            "_format" => {}
            "_count" => {
                p.count = value
                    .parse()
                    .ok()
                    .filter(|c| (1..=MAX_COUNT).contains(c))
                    .ok_or_else(|| bad_request(format!("_count must be 1–{MAX_COUNT}")))?
            }
            "_offset" => p.offset = value.parse().map_err(|_| bad_request("_offset must be a non-negative integer"))?,
            "_sort" => match value.as_str() {
                "date" => p.descending = false,
                "-date" => p.descending = true,
                _ => return Err(bad_request("_sort supports date and -date")),
            },
            "_id" => add_ids(&mut p.ids, &value),
            n @ ("patient" | "subject") if allowed.contains(&n) => {
                if p.patient.replace(value).is_some() {
                    return Err(bad_request("give patient (or subject) once"));
                }
            }
            "date" if allowed.contains(&"date") => {
                let (prefix, day) =
                    parse_date_param(&value).ok_or_else(|| bad_request("date: expected [eq|ge|le|gt|lt]YYYY-MM-DD"))?;
                phr_core::dates::check(day).map_err(|_| {
                    bad_element(
                        "date",
                        format!("must be a date from {} to {}", phr_core::dates::EARLIEST, phr_core::dates::LATEST),
                    )
                })?;
                p.dates.push((prefix, day));
            }
            "code" if allowed.contains(&"code") => p.codes.extend(value.split(',').map(str::to_owned)),
            "category" if allowed.contains(&"category") => p.categories.extend(value.split(',').map(str::to_owned)),
            _ => {
                return Err(bad_request(format!(
                    "{resource_type} search supports only {}, _id, _count, _offset and _sort; see /fhir/r4/metadata",
                    allowed.join(", ")
                )))
            }
        }
    }
    Ok(p)
}

/// Adds one `_id` value (a comma-separated OR list) to `ids`: a repeated
/// `_id` ANDs, so the ids kept are those in every list.
pub fn add_ids(ids: &mut Option<Vec<String>>, value: &str) {
    let mut list: Vec<String> = value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect();
    list.sort_unstable();
    list.dedup();
    *ids = Some(match ids.take() {
        None => list,
        Some(before) => before.into_iter().filter(|id| list.contains(id)).collect(),
    });
}

/// The records whose resources can have one of `ids`: every resource id
/// starts with its record's id (`<record id>` or `<record id>-<suffix>`).
/// `None` when `ids` is `None` (any record).
pub fn record_ids_of(ids: &Option<Vec<String>>) -> Option<Vec<uuid::Uuid>> {
    let ids = ids.as_ref()?;
    let mut records: Vec<uuid::Uuid> =
        ids.iter().filter_map(|id| id.get(..36).and_then(|head| uuid::Uuid::parse_str(head).ok())).collect();
    records.sort_unstable();
    records.dedup();
    Some(records)
}

/// Whether the resource id passes the `_id` filter.
pub fn id_matches(ids: &Option<Vec<String>>, id: Option<&str>) -> bool {
    ids.as_ref().is_none_or(|ids| id.is_some_and(|id| ids.iter().any(|i| i == id)))
}

/// Whether a CodeableConcept (JSON) matches a token `system|code`, `|code` or `code`.
fn token_matches(concept: &Value, token: &str) -> bool {
    let (system, code) = match token.split_once('|') {
        Some((s, c)) => (Some(s), c),
        None => (None, token),
    };
    concept["coding"].as_array().is_some_and(|codings| {
        codings.iter().any(|c| {
            c["code"].as_str() == Some(code)
                && match system {
                    None => true,
                    Some("") => c.get("system").is_none(),
                    Some(s) => c["system"].as_str() == Some(s),
                }
        })
    })
}

/// [`token_matches`] on a typed CodeableConcept (same rules).
fn coding_matches(concept: &phr_fhir::model::CodeableConcept, token: &str) -> bool {
    let (system, code) = match token.split_once('|') {
        Some((s, c)) => (Some(s), c),
        None => (None, token),
    };
    concept.coding.iter().any(|c| {
        c.code.as_deref() == Some(code)
            && match system {
                None => true,
                Some("") => c.system.is_none(),
                Some(s) => c.system.as_deref() == Some(s),
            }
    })
}

/// The day a resource is about: effective/occurrence/period/onset/recorded/asserted/handed over, in that order.
pub fn resource_date(json: &Value) -> Option<NaiveDate> {
    let text = [
        &json["effectiveDateTime"],
        &json["effectiveInstant"],
        &json["effectivePeriod"]["start"],
        &json["occurrenceDateTime"],
        &json["period"]["start"],
        &json["onsetDateTime"],
        &json["recordedDate"],
        &json["dateAsserted"],
        &json["whenHandedOver"],
    ]
    .into_iter()
    .find_map(Value::as_str)?;
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

fn date_matches(date: Option<NaiveDate>, filters: &[(DatePrefix, NaiveDate)]) -> bool {
    filters.iter().all(|(prefix, want)| {
        date.is_some_and(|d| match prefix {
            DatePrefix::Eq => d == *want,
            DatePrefix::Ge => d >= *want,
            DatePrefix::Le => d <= *want,
            DatePrefix::Gt => d > *want,
            DatePrefix::Lt => d < *want,
        })
    })
}

/// The SQL date window for the records (one day of slack either side of the asked dates).
fn date_window(filters: &[(DatePrefix, NaiveDate)]) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let mut from: Option<NaiveDate> = None;
    let mut to: Option<NaiveDate> = None;
    for (prefix, d) in filters {
        let (lo, hi) = match prefix {
            DatePrefix::Eq => (Some(*d), Some(*d)),
            DatePrefix::Ge | DatePrefix::Gt => (Some(*d), None),
            DatePrefix::Le | DatePrefix::Lt => (None, Some(*d)),
        };
        if let Some(lo) = lo {
            from = Some(from.map_or(lo, |f| f.max(lo)));
        }
        if let Some(hi) = hi {
            to = Some(to.map_or(hi, |t| t.min(hi)));
        }
    }
    (from.map(|d| d - Duration::days(1)), to.map(|d| d + Duration::days(1)))
}

/// One match: its date, id, resource, and the index of the record it came from.
pub struct Hit {
    pub date: Option<NaiveDate>,
    pub id: String,
    pub resource: Resource,
    pub record: usize,
}

/// Every resource of `resource_type` matching `params` that the organization may see,
/// sorted by (date, id), with the records they came from.
pub fn matches(
    conn: &mut crate::store::DbConnection,
    visible: &Visible,
    resource_type: &str,
    params: &SearchParams,
) -> Result<(Vec<Hit>, Vec<ReadableRecord>), AppError> {
    let kinds = kinds_yielding(resource_type).to_vec();
    let targets = targets(visible, params);
    let (date_from, date_to) = date_window(&params.dates);
    let record_ids = record_ids_of(&params.ids);
    let mut records = Vec::new();
    for (account, subject) in targets {
        if record_ids.as_ref().is_some_and(Vec::is_empty) {
            break;
        }
        let grants: Vec<_> = visible.grants.iter().filter(|g| g.account_id == account).collect();
        let mut filter = RecordFilter {
            kinds: Some(kinds.clone()),
            subject,
            date_from,
            date_to,
            record_ids: record_ids.clone(),
            ..Default::default()
        };
        loop {
            let page = read_page(conn, &grants, &account, &filter)?;
            let done = (page.len() as i64) < MAX_PAGE;
            filter.after = page.last().map(|r| r.record_id);
            records.extend(page);
            if done {
                break;
            }
        }
    }
    let mut hits = Vec::new();
    for (i, record) in records.iter().enumerate() {
        for resource in resources_of(visible, record)? {
            if resource.resource_type() != resource_type || !id_matches(&params.ids, resource.id()) {
                continue;
            }
            // Cheap test first: most Observations of a record fail a `code` search, and
            // rendering each one as JSON (below) costs more than the rest of the match.
            if let Resource::Observation(o) = &resource {
                if !params.codes.is_empty() && !params.codes.iter().any(|t| coding_matches(&o.code, t)) {
                    continue;
                }
            }
            let json = serde_json::to_value(&resource).map_err(|e| AppError::Internal(e.to_string()))?;
            let date = resource_date(&json);
            if !date_matches(date, &params.dates)
                || !params.codes.is_empty() && !params.codes.iter().any(|t| token_matches(&json["code"], t))
                || !params.categories.is_empty()
                    && !params
                        .categories
                        .iter()
                        .any(|t| json["category"].as_array().is_some_and(|cs| cs.iter().any(|c| token_matches(c, t))))
            {
                continue;
            }
            let id = resource.id().unwrap_or_default().to_owned();
            hits.push(Hit { date, id, resource, record: i });
        }
    }
    hits.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
    if params.descending {
        hits.sort_by(|a, b| (b.date, &a.id).cmp(&(a.date, &b.id)));
    }
    Ok((hits, records))
}

/// The (account, subject) pairs a search looks at: the asked patient, or every account with a grant.
fn targets(visible: &Visible, params: &SearchParams) -> Vec<(String, Option<Subject>)> {
    match &params.patient {
        Some(p) => visible.resolve(p).map(|(account, subject)| (account, Some(subject))).into_iter().collect(),
        None => visible.accounts().into_iter().map(|a| (a, None)).collect(),
    }
}

/// Resource types each of whose records yields exactly one resource of the
/// type, whose id is the record id and whose date is the record's effective
/// date (a unit test checks this over every kind's examples; each page checks
/// it again on the decrypted records). Their searches without `code` /
/// `category` are matched, counted, sorted and paged on the record metadata,
/// so only the page is decrypted and mapped.
pub const ONE_PER_RECORD: &[&str] = &["Encounter"];

/// A page paged on metadata: its resources, the records they came from, and the total of matches.
pub type MetadataPage = (Vec<Resource>, Vec<ReadableRecord>, usize);

/// One page of a search on a [`ONE_PER_RECORD`] type, paged on the record
/// metadata: (the page's resources, the records they came from, the total).
/// `None` when the search does not qualify, or a decrypted record of the page
/// disagrees with its metadata: the caller then matches in memory ([`matches`]).
pub fn page_by_metadata(
    conn: &mut crate::store::DbConnection,
    visible: &Visible,
    resource_type: &str,
    params: &SearchParams,
) -> Result<Option<MetadataPage>, AppError> {
    if !ONE_PER_RECORD.contains(&resource_type)
        || !params.codes.is_empty()
        || !params.categories.is_empty()
        || params.ids.is_some()
    {
        return Ok(None);
    }
    let kinds = kinds_yielding(resource_type).to_vec();
    let targets = targets(visible, params);
    if let Some(page) = page_whole(conn, visible, resource_type, params, &kinds, &targets)? {
        return Ok(Some(page));
    }
    let (date_from, date_to) = date_window(&params.dates);
    let mut all: Vec<(Option<NaiveDate>, String, usize)> = Vec::new();
    for (t, (account, subject)) in targets.iter().enumerate() {
        let grants: Vec<_> = visible.grants.iter().filter(|g| &g.account_id == account).collect();
        let filter =
            RecordFilter { kinds: Some(kinds.clone()), subject: *subject, date_from, date_to, ..Default::default() };
        for (id, date) in readable_record_dates(conn, &grants, account, &filter)? {
            if date_matches(date, &params.dates) {
                all.push((date, id.to_string(), t));
            }
        }
    }
    sort_as_matches(&mut all, |m| (m.0, m.1.as_str()), params.descending);
    let total = all.len();
    let page: Vec<_> = all.into_iter().skip(params.offset).take(params.count).collect();
    let mut opened: std::collections::HashMap<String, ReadableRecord> = std::collections::HashMap::new();
    for (t, (account, subject)) in targets.iter().enumerate() {
        let ids: Vec<uuid::Uuid> =
            page.iter().filter(|p| p.2 == t).filter_map(|p| uuid::Uuid::parse_str(&p.1).ok()).collect();
        if ids.is_empty() {
            continue;
        }
        let filter =
            RecordFilter { kinds: Some(kinds.clone()), subject: *subject, record_ids: Some(ids), ..Default::default() };
        for r in readable_records(conn, &visible.grants, account, &filter, MAX_PAGE)? {
            opened.insert(r.record_id.to_string(), r);
        }
    }
    let mut page_records = Vec::with_capacity(page.len());
    for (date, id, _) in page {
        let Some(record) = opened.remove(&id) else { return Ok(None) };
        page_records.push((date, id, record));
    }
    checked_page(visible, resource_type, page_records, total)
}

/// A page paged on metadata ([`MetadataPage`]) from its records, each `(metadata date, record
/// id, record)`, and the total of matches; `None` when a decrypted record disagrees with its metadata (not exactly one resource
/// of the type, or another id or date).
fn checked_page(
    visible: &Visible,
    resource_type: &str,
    page: Vec<(Option<NaiveDate>, String, ReadableRecord)>,
    total: usize,
) -> Result<Option<MetadataPage>, AppError> {
    let mut resources = Vec::with_capacity(page.len());
    let mut records = Vec::with_capacity(page.len());
    for (date, id, record) in page {
        let mut of_type = resources_of(visible, &record)?.into_iter().filter(|r| r.resource_type() == resource_type);
        let (Some(resource), None) = (of_type.next(), of_type.next()) else { return Ok(None) };
        let json = serde_json::to_value(&resource).map_err(|e| AppError::Internal(e.to_string()))?;
        if resource.id() != Some(id.as_str()) || resource_date(&json) != date {
            return Ok(None);
        }
        resources.push(resource);
        records.push(record);
    }
    Ok(Some((resources, records, total)))
}

/// Puts matches of a metadata page in the order of [`matches`]: (date, id), or date descending
/// then id. `key`: a match's (date, resource id).
fn sort_as_matches<T>(all: &mut [T], key: impl Fn(&T) -> (Option<NaiveDate>, &str), descending: bool) {
    all.sort_by(|a, b| {
        let ((da, ia), (db, ib)) = (key(a), key(b));
        if descending {
            db.cmp(&da).then(ia.cmp(ib))
        } else {
            (da, ia).cmp(&(db, ib))
        }
    });
}

/// Most records [`page_whole`] reads to answer one page.
const WHOLE_UP_TO: usize = 201;

/// [`page_by_metadata`] for one patient whose matches, up to the end of the page asked for, are
/// few (at most [`WHOLE_UP_TO`]): the records are read whole in one statement per grant (the
/// metadata and then the page would be two), matched and sorted on their metadata, and only the
/// page mapped and checked ([`checked_page`]). `None` when the search does not qualify, there are
/// more matches, or a record disagrees with its metadata: the caller pages on metadata instead.
fn page_whole(
    conn: &mut crate::store::DbConnection,
    visible: &Visible,
    resource_type: &str,
    params: &SearchParams,
    kinds: &[phr_core::dataset::RecordKind],
    targets: &[(String, Option<Subject>)],
) -> Result<Option<MetadataPage>, AppError> {
    let ([(account, subject)], true) = (targets, params.patient.is_some()) else { return Ok(None) };
    let enough = params.offset.saturating_add(params.count).saturating_add(1);
    if enough > WHOLE_UP_TO {
        return Ok(None);
    }
    let (date_from, date_to) = date_window(&params.dates);
    let filter =
        RecordFilter { kinds: Some(kinds.to_vec()), subject: *subject, date_from, date_to, ..Default::default() };
    let records = readable_records(conn, &visible.grants, account, &filter, enough as i64)?;
    if records.len() >= enough {
        return Ok(None);
    }
    let mut all: Vec<(Option<NaiveDate>, String, ReadableRecord)> = records
        .into_iter()
        .filter(|r| date_matches(r.effective_date, &params.dates))
        .map(|r| (r.effective_date, r.record_id.to_string(), r))
        .collect();
    sort_as_matches(&mut all, |m| (m.0, m.1.as_str()), params.descending);
    let total = all.len();
    let page: Vec<_> = all.into_iter().skip(params.offset).take(params.count).collect();
    checked_page(visible, resource_type, page, total)
}

fn read_page(
    conn: &mut crate::store::DbConnection,
    grants: &[&crate::app::consent::access::OpenGrant],
    account: &str,
    filter: &RecordFilter,
) -> Result<Vec<ReadableRecord>, AppError> {
    // `readable_records` takes a slice of grants; the caller's are borrowed.
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for g in grants {
        for r in readable_records(conn, std::slice::from_ref(*g), account, filter, MAX_PAGE)? {
            if seen.insert(r.record_id) {
                out.push(r);
            }
        }
    }
    out.sort_by_key(|r| r.record_id);
    out.truncate(MAX_PAGE as usize);
    Ok(out)
}

/// A `searchset` Bundle page with `self` / `next` links.
pub fn searchset(base: &str, resource_type: &str, query: &str, params: &SearchParams, all: Vec<Resource>) -> Bundle {
    let total = all.len();
    let page: Vec<Resource> = all.into_iter().skip(params.offset).take(params.count).collect();
    searchset_page(base, resource_type, query, params, page, total)
}

/// A `searchset` Bundle of `page` (the matches from `params.offset` on) out of `total` matches.
pub fn searchset_page(
    base: &str,
    resource_type: &str,
    query: &str,
    params: &SearchParams,
    page: Vec<Resource>,
    total: usize,
) -> Bundle {
    let kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "_offset")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let link_for = |offset: usize| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.extend_pairs(kept.iter());
        if offset > 0 {
            q.append_pair("_offset", &offset.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            format!("{base}/fhir/r4/{resource_type}")
        } else {
            format!("{base}/fhir/r4/{resource_type}?{q}")
        }
    };
    let mut link =
        vec![BundleLink { relation: Some("self".into()), url: Some(link_for(params.offset)), ..Default::default() }];
    if params.offset + params.count < total {
        link.push(BundleLink {
            relation: Some("next".into()),
            url: Some(link_for(params.offset + params.count)),
            ..Default::default()
        });
    }
    let entry = page
        .into_iter()
        .map(|r| BundleEntry {
            search: Some(BundleEntrySearch { mode: Some("match".into()), ..Default::default() }),
            ..bundle_entry(base, r)
        })
        .collect();
    Bundle { type_: Some("searchset".into()), total: Some(Integer(total.into())), link, entry, ..Default::default() }
}

/// The search parameters of `resource_type` (404 for a type without search here).
pub fn searchable(resource_type: &str) -> Result<&'static [&'static str], AppError> {
    SEARCHABLE
        .iter()
        .find(|(t, _)| *t == resource_type)
        .map(|(_, allowed)| *allowed)
        .ok_or_else(|| AppError::NotFound("no search on this resource type here; see /fhir/r4/metadata".to_owned()))
}

/// A search on `resource_type` by an organization permitted to search it:
/// the `searchset` Bundle as JSON, from the cache when it still holds exactly
/// this answer ([`super::cache`]), audited either way.
pub async fn search(
    app: &App,
    org: OrganizationToken,
    resource_type: String,
    query: String,
    params: SearchParams,
) -> Result<Vec<u8>, AppError> {
    let base = app.base_url()?.to_owned();
    let keys = app.keys.clone();
    let visibility = app.fhir_visible.clone();
    let audits = app.fhir_read_audits.clone();
    let cache = app.fhir_search_cache.clone();
    app.db(move |conn| {
        let (org, visible) = open_visible(conn, org, &visibility, &keys)?;
        if let Some(p) = &params.patient {
            visible.resolve_audited(conn, &org, p, AuditAction::FhirSearch)?;
        }
        let accounts: Vec<String> = targets(&visible, &params).into_iter().map(|(account, _)| account).collect();
        let key = SearchKey {
            organization_id: org.organization_id.clone(),
            resource_type: resource_type.clone(),
            query: query.clone(),
            base_url: base.clone(),
        };
        // Read before any record, so a kept answer is never older than what this request sees.
        let fingerprint = if cache.admits(&key) { Some(fingerprint(conn, &visible, &accounts)?) } else { None };
        if let Some(kept) = fingerprint.as_ref().and_then(|f| cache.get(&key, f)) {
            append_read_audits(conn, &audits, &org.actor(), AuditAction::FhirSearch, &kept.reads)?;
            return Ok(kept.body);
        }
        let (bundle, reads) = fresh_search(conn, &visible, &base, &resource_type, &query, &params)?;
        append_read_audits(conn, &audits, &org.actor(), AuditAction::FhirSearch, &reads)?;
        let body =
            serde_json::to_vec(&bundle).map_err(|e| AppError::Internal(format!("cannot encode FHIR JSON: {e}")))?;
        if let Some(f) = fingerprint {
            cache.put(key, f, CachedAnswer { body: body.clone(), reads }, accounts);
        }
        Ok(body)
    })
    .await
}

/// A search answered from the records: the `searchset` page and the audit events its reads write.
fn fresh_search(
    conn: &mut crate::store::DbConnection,
    visible: &Visible,
    base: &str,
    resource_type: &str,
    query: &str,
    params: &SearchParams,
) -> Result<(Bundle, Vec<ReadAudit>), AppError> {
    if let Some((page, records, total)) = page_by_metadata(conn, visible, resource_type, params)? {
        let reads = read_audits(&records.iter().collect::<Vec<_>>());
        return Ok((searchset_page(base, resource_type, query, params, page, total), reads));
    }
    let (hits, records) = matches(conn, visible, resource_type, params)?;
    let page_records: Vec<&ReadableRecord> = {
        let mut idx: Vec<usize> = hits.iter().skip(params.offset).take(params.count).map(|h| h.record).collect();
        idx.sort_unstable();
        idx.dedup();
        idx.into_iter().map(|i| &records[i]).collect()
    };
    let reads = read_audits(&page_records);
    let all = hits.into_iter().map(|h| h.resource).collect();
    Ok((searchset(base, resource_type, query, params, all), reads))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_parameters_take_prefixes_at_day_precision_and_refuse_garbage() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(parse_date_param("2026-03-01"), Some((DatePrefix::Eq, d("2026-03-01"))));
        assert_eq!(parse_date_param("ge2026-03-01"), Some((DatePrefix::Ge, d("2026-03-01"))));
        assert_eq!(parse_date_param("le2026-03-01T10:00:00+09:00"), Some((DatePrefix::Le, d("2026-03-01"))));
        assert_eq!(parse_date_param("xx2026-03-01"), None);
        assert_eq!(parse_date_param("2026-13-01"), None);
        assert_eq!(parse_date_param("2026-03-01junk"), None);
        let f = [(DatePrefix::Ge, d("2026-03-01")), (DatePrefix::Lt, d("2026-04-01"))];
        assert!(date_matches(Some(d("2026-03-01")), &f));
        assert!(!date_matches(Some(d("2026-04-01")), &f));
        assert!(!date_matches(None, &f));
        assert_eq!(date_window(&f), (Some(d("2026-02-28")), Some(d("2026-04-02"))));
    }

    #[test]
    fn search_parameters_are_checked_per_type() {
        let obs = SEARCHABLE[0].1;
        let p =
            parse("Observation", "patient=Patient/x&code=http://loinc.org|29463-7&_count=2&_sort=-date", obs).unwrap();
        assert_eq!(p.patient.as_deref(), Some("Patient/x"));
        assert_eq!(p.codes, ["http://loinc.org|29463-7"]);
        assert_eq!((p.count, p.descending), (2, true));
        assert!(parse("Observation", "_count=0", obs).is_err());
        assert!(parse("Observation", "flavour=sweet", obs).is_err());
        assert!(parse("Immunization", "category=vital-signs", SEARCHABLE[1].1).is_err());
    }

    #[test]
    fn ids_are_or_within_a_value_and_and_across_repeats() {
        let obs = SEARCHABLE[0].1;
        let a = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        let p = parse("Observation", &format!("_id={a},{a}-bmi,nope"), obs).unwrap();
        assert_eq!(p.ids.as_deref().unwrap(), [a.to_owned(), format!("{a}-bmi"), "nope".to_owned()]);
        assert!(id_matches(&p.ids, Some(&format!("{a}-bmi"))));
        assert!(!id_matches(&p.ids, Some("other")));
        assert!(!id_matches(&p.ids, None));
        assert!(id_matches(&None, Some("anything")));
        assert_eq!(record_ids_of(&p.ids).unwrap(), [uuid::Uuid::parse_str(a).unwrap()]);
        assert_eq!(record_ids_of(&None), None);
        let both = parse("Observation", &format!("_id={a},x&_id=x,y"), obs).unwrap();
        assert_eq!(both.ids.as_deref().unwrap(), ["x".to_owned()]);
        assert!(record_ids_of(&both.ids).unwrap().is_empty());
        assert!(parse("Condition", "_id=", SEARCHABLE[5].1).unwrap().ids.unwrap().is_empty());
    }

    #[test]
    fn one_per_record_types_yield_one_resource_per_record_with_its_id_and_effective_date() {
        let bodies: Vec<_> = phr_core::dataset::examples::all_full()
            .into_iter()
            .chain(phr_core::dataset::examples::all_minimal())
            .collect();
        for t in ONE_PER_RECORD {
            let kinds = kinds_yielding(t);
            assert!(!kinds.is_empty());
            for body in bodies.iter().filter(|b| kinds.contains(&b.kind())) {
                let record_id = uuid::Uuid::new_v4();
                let ctx = phr_fhir::mapping::MappingContext::new(record_id, "p");
                let of_type: Vec<Resource> = phr_fhir::mapping::to_fhir(body, &ctx)
                    .unwrap()
                    .into_iter()
                    .filter(|r| r.resource_type() == *t)
                    .collect();
                assert_eq!(of_type.len(), 1, "{t} from {:?}", body.kind());
                assert_eq!(of_type[0].id(), Some(record_id.to_string().as_str()));
                let json = serde_json::to_value(&of_type[0]).unwrap();
                assert_eq!(resource_date(&json), body.effective_date(), "{t} from {:?}", body.kind());
            }
        }
    }

    #[test]
    fn tokens_match_with_or_without_system() {
        let c = serde_json::json!({"coding": [{"system": "http://loinc.org", "code": "29463-7"}]});
        assert!(token_matches(&c, "29463-7"));
        assert!(token_matches(&c, "http://loinc.org|29463-7"));
        assert!(!token_matches(&c, "http://snomed.info/sct|29463-7"));
        assert!(!token_matches(&c, "|29463-7"));
        let typed: phr_fhir::model::CodeableConcept = serde_json::from_value(c.clone()).unwrap();
        for token in ["29463-7", "http://loinc.org|29463-7", "http://snomed.info/sct|29463-7", "|29463-7", "8302-2"] {
            assert_eq!(coding_matches(&typed, token), token_matches(&c, token), "{token}");
        }
        let no_system = serde_json::json!({"coding": [{"code": "x1"}]});
        let typed: phr_fhir::model::CodeableConcept = serde_json::from_value(no_system.clone()).unwrap();
        for token in ["x1", "|x1", "s|x1"] {
            assert_eq!(coding_matches(&typed, token), token_matches(&no_system, token), "{token}");
        }
    }

    #[test]
    fn next_links_page_through_with_an_offset_and_keep_the_query() {
        let params = SearchParams { count: 2, ..Default::default() };
        let all: Vec<Resource> = (0..5)
            .map(|i| {
                Resource::Observation(phr_fhir::model::Observation { id: Some(format!("o{i}")), ..Default::default() })
            })
            .collect();
        let b = searchset("http://h", "Observation", "code=x", &params, all.clone());
        assert_eq!(b.entry.len(), 2);
        let next = b.link.iter().find(|l| l.relation.as_deref() == Some("next")).unwrap();
        assert_eq!(next.url.as_deref(), Some("http://h/fhir/r4/Observation?code=x&_offset=2"));
        let last = searchset("http://h", "Observation", "code=x&_offset=4", &SearchParams { offset: 4, ..params }, all);
        assert_eq!(last.entry.len(), 1);
        assert!(last.link.iter().all(|l| l.relation.as_deref() != Some("next")));
    }
}
