//! `GET /fhir/r4/Patient/{id}/$everything`: the Patient and every resource of
//! every consented record about it, as a `searchset` Bundle (all in one page).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use phr_fhir::model::{Bundle, BundleEntry, Integer, Resource};

use super::patient::build_patient;
use super::{audit_denied, audit_reads, authorize, db, fhir_response, resources_of, FhirResult, Visible};
use crate::consent::access::{readable_records, RecordFilter, MAX_PAGE};
use crate::error::ApiError;
use crate::http::AppState;
use crate::smart::{Action, AuthenticatedOrganization};

pub async fn everything(
    state: web::Data<AppState>,
    org: Result<AuthenticatedOrganization, ApiError>,
    path: web::Path<String>,
) -> FhirResult<HttpResponse> {
    let org = authorize(org, "Patient", Action::Read)?;
    let id = path.into_inner();
    let base = state.base_url()?.to_owned();
    let keys = state.keys.clone();
    let bundle = db(&state, move |conn| {
        let visible = Visible::load(conn, &keys, &org.organization_id)?;
        let Some((account, subject)) = visible.resolve(&id) else {
            if let Some(account) = visible.family_of_unseen(conn, &org.organization_id, &id)? {
                audit_denied(conn, &account, &org.actor(), "fhir_everything")?;
            }
            return Err(ApiError::NotFound(format!("Patient/{id} is not known")).into());
        };
        let (patient, _) = build_patient(conn, &visible, &account, subject)?;
        let mut records = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for g in visible.grants_of(&account) {
            let mut filter = RecordFilter { subject: Some(subject), ..Default::default() };
            loop {
                let page = readable_records(conn, std::slice::from_ref(g), &account, &filter, MAX_PAGE)?;
                let done = (page.len() as i64) < MAX_PAGE;
                filter.after = page.last().map(|r| r.record_id);
                records.extend(page.into_iter().filter(|r| seen.insert(r.record_id)));
                if done {
                    break;
                }
            }
        }
        records.sort_by_key(|r| r.record_id);
        let mut entry = vec![entry_of(&base, Resource::Patient(patient))];
        for record in &records {
            for resource in resources_of(&visible, record)? {
                if matches!(resource, Resource::Patient(_)) {
                    continue;
                }
                entry.push(entry_of(&base, resource));
            }
        }
        audit_reads(conn, &org.actor(), "fhir_everything", &records.iter().collect::<Vec<_>>())?;
        Ok(Bundle {
            type_: Some("searchset".into()),
            total: Some(Integer(entry.len().into())),
            entry,
            ..Default::default()
        })
    })
    .await?;
    fhir_response(StatusCode::OK, &bundle)
}

fn entry_of(base: &str, resource: Resource) -> BundleEntry {
    BundleEntry {
        full_url: resource.id().map(|id| format!("{base}/fhir/r4/{}/{id}", resource.resource_type())),
        resource: Some(resource),
        ..Default::default()
    }
}
