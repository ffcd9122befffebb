//! Child views computed on the device from the decrypted records: the growth
//! series (from the newborn record and every child checkup, scored against
//! the WHO Child Growth Standards and the Japanese 2000 growth reference by
//! phr-core's `growth`) and the
//! immunizations due or overdue (phr-core's schedule table against the
//! child's immunization records).

use chrono::NaiveDate;
use phr_core::dataset::common::age_in_months;
use phr_core::dataset::immunization::{DoseSeries, Vaccine};
use phr_core::dataset::immunization_schedule::{immunization_status, DoseState, DoseStatus};
use phr_core::dataset::{ChildCheckup, Delivery, Immunization, Newborn, RecordBody, RecordKind, Subject};
use phr_core::growth::{
    assess, chart_svg, ChartPoint, GrowthFlag, GrowthMeasure, GrowthReference, Measurement, ReferenceScore,
};

use diesel::SqliteConnection;

use super::error::{Error, Result};
use super::keys::RecordKeys;
use super::records::{modules, parse_subject};
use super::store;

/// One measurement point of a child's growth chart.
#[derive(Debug, Clone, PartialEq)]
pub struct GrowthPoint {
    /// The newborn or child checkup record it comes from.
    pub record_id: String,
    /// `Newborn` or `ChildCheckup`.
    pub source: RecordKind,
    pub date: NaiveDate,
    /// Days since birth.
    pub age_days: i64,
    /// Completed months since birth.
    pub age_months: u32,
    pub weight_kg: Option<f64>,
    /// Length (recumbent) or height (standing).
    pub length_cm: Option<f64>,
    pub head_circumference_cm: Option<f64>,
    /// The corrected age in days (born before 37 weeks, under 24 months); the
    /// scores are at this age when set.
    pub corrected_age_days: Option<i64>,
    /// Z-score and percentile of each measurement, each naming its reference:
    /// against the WHO Child Growth Standards (and BMI, and
    /// weight-for-length/height when weight and length were measured; to 5
    /// years), then against the Japanese 2000 growth reference (weight and
    /// length/height; to 17.5 years). Empty past 17.5 years or without a
    /// male/female sex.
    pub scores: Vec<ReferenceScore>,
    /// Below 3rd / above 97th percentile, down across two major lines since
    /// the previous point, each against one reference: data for the app to
    /// show, never a diagnosis.
    pub flags: Vec<GrowthFlag>,
}

/// A dose of the routine schedule that is due or overdue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueImmunization {
    pub vaccine: Vaccine,
    /// Japanese label for display.
    pub vaccine_label: String,
    pub series: DoseSeries,
    pub dose_number: u32,
    pub status: DueStatus,
    /// Due: the window's first and last day. Overdue: `due_by` is the last
    /// day of the standard window.
    pub due_from: Option<NaiveDate>,
    pub due_by: Option<NaiveDate>,
    /// Overdue: the first day past the standard window.
    pub overdue_since: Option<NaiveDate>,
    /// The first day the dose is no longer given under the schedule, if limited.
    pub window_closes: Option<NaiveDate>,
}

/// Whether a dose of the schedule is due now or past its standard window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueStatus {
    Due,
    Overdue,
}

/// A `child:<uuid>` argument.
fn child_subject(child: &str) -> Result<Subject> {
    let subject = parse_subject(child).map_err(|e| match e {
        Error::InvalidInput { reason, .. } => Error::invalid("child_subject", reason),
        other => other,
    })?;
    if !matches!(subject, Subject::Child(_)) {
        return Err(Error::invalid("child_subject", "must be a child (child:<uuid>)"));
    }
    Ok(subject)
}

/// The child's newborn record (its id, the birth date and sex), which both
/// views need. Reads at most two newborn rows to tell one from several.
fn newborn(conn: &mut SqliteConnection, keys: &RecordKeys, subject: &Subject) -> Result<(String, Newborn)> {
    let rows = store::live_of_kind(conn, &subject.to_string(), RecordKind::Newborn.as_str(), None, 2)?;
    match rows.as_slice() {
        [row] => match keys.winner(row)? {
            Some(RecordBody::Newborn(n)) => Ok((row.record_id.clone(), n)),
            _ => Err(Error::corrupt(format!("record {} is not a newborn record", row.record_id))),
        },
        [] => Err(Error::NotFound(format!("a newborn record (birth date) for {subject}"))),
        _ => Err(Error::Ambiguous(format!("{subject} has more than one newborn record"))),
    }
}

/// A child's growth series, oldest first: the birth measurements from the
/// newborn record and every child checkup with a measurement.
pub fn growth_series(conn: &mut SqliteConnection, keys: &RecordKeys, child: &str) -> Result<Vec<GrowthPoint>> {
    Ok(series(conn, keys, &child_subject(child)?)?.1)
}

/// The child's newborn record and growth series (see [`growth_series`]).
fn series(conn: &mut SqliteConnection, keys: &RecordKeys, subject: &Subject) -> Result<(Newborn, Vec<GrowthPoint>)> {
    let (newborn_id, birth) = newborn(conn, keys, subject)?;
    let point = |record_id: String, source: RecordKind, date: NaiveDate| GrowthPoint {
        record_id,
        source,
        date,
        age_days: (date - birth.birth_date).num_days(),
        age_months: age_in_months(birth.birth_date, date).unwrap_or(0),
        weight_kg: None,
        length_cm: None,
        head_circumference_cm: None,
        corrected_age_days: None,
        scores: Vec::new(),
        flags: Vec::new(),
    };
    let mut points = vec![GrowthPoint {
        weight_kg: birth.birth_weight.map(|g| g.value / 1000.0),
        length_cm: birth.birth_length.map(|l| l.value),
        head_circumference_cm: birth.head_circumference.map(|h| h.value),
        ..point(newborn_id, RecordKind::Newborn, birth.birth_date)
    }];
    for (id, c) in modules::<ChildCheckup>(conn, keys, subject)? {
        if c.weight.is_none() && c.length.is_none() && c.head_circumference.is_none() {
            continue;
        }
        points.push(GrowthPoint {
            weight_kg: c.weight.map(|w| w.value),
            length_cm: c.length.map(|l| l.value),
            head_circumference_cm: c.head_circumference.map(|h| h.value),
            ..point(id, RecordKind::ChildCheckup, c.date)
        });
    }
    points.sort_by_key(|p| (p.date, p.source != RecordKind::Newborn));
    let gestation = gestation_at_birth(conn, keys, birth.birth_date)?;
    let measurements: Vec<Measurement> = points.iter().map(measurement).collect();
    let assessed = assess(&GrowthReference::ALL, birth.sex, birth.birth_date, gestation, &measurements);
    for (p, a) in points.iter_mut().zip(assessed) {
        p.corrected_age_days = a.corrected_age_days;
        p.scores = a.scores;
        p.flags = a.flags;
    }
    Ok((birth, points))
}

/// What was measured on a growth point's day.
fn measurement(p: &GrowthPoint) -> Measurement {
    Measurement {
        date: p.date,
        weight_kg: p.weight_kg,
        length_cm: p.length_cm,
        head_circumference_cm: p.head_circumference_cm,
    }
}

/// A child's growth chart for one measure as an SVG picture (`reference`'s
/// percentile bands, the child's points at corrected age when it applies),
/// labels in `lang`. A measure the reference has no table for (the Japanese
/// 2000 reference has weight and length/height only) is refused.
pub fn growth_chart(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    child: &str,
    measure: GrowthMeasure,
    reference: GrowthReference,
    lang: &str,
) -> Result<String> {
    if !reference.has(measure) {
        return Err(Error::invalid("measure", format!("the {reference:?} reference has no {measure:?} table")));
    }
    let (birth, series) = series(conn, keys, &child_subject(child)?)?;
    let points: Vec<ChartPoint> = series
        .iter()
        .filter_map(|p| ChartPoint::of(measure, &measurement(p), p.age_days, p.corrected_age_days))
        .collect();
    let corrected = series.iter().any(|p| p.corrected_age_days.is_some());
    chart_svg(reference, measure, birth.sex, &points, corrected, lang).ok_or_else(|| {
        Error::invalid("child_subject", "a growth chart needs the newborn record's sex to be male or female")
    })
}

/// The gestational age at birth in days, from the mother's delivery record
/// of that day (the newborn record does not carry it); `None` when there is
/// no such delivery or it has no gestational age.
fn gestation_at_birth(conn: &mut SqliteConnection, keys: &RecordKeys, birth: NaiveDate) -> Result<Option<u32>> {
    Ok(modules::<Delivery>(conn, keys, &Subject::Mother)?
        .into_iter()
        .find(|(_, d)| d.delivered_at.date_naive() == birth)
        .and_then(|(_, d)| d.gestational_age.map(|g| g.total_days())))
}

/// The child's newborn record and the status on `as_of` of every dose of the
/// routine schedule, given the child's immunization records.
pub(super) fn schedule_status(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    subject: &Subject,
    as_of: NaiveDate,
) -> Result<(Newborn, Vec<DoseStatus>)> {
    let (_, birth) = newborn(conn, keys, subject)?;
    let given: Vec<Immunization> = modules(conn, keys, subject)?.into_iter().map(|(_, i)| i).collect();
    let statuses = immunization_status(birth.birth_date, Some(birth.sex), &given, as_of);
    Ok((birth, statuses))
}

/// The routine immunizations due or overdue for a child on `as_of`, in
/// schedule order.
pub fn immunizations_due(
    conn: &mut SqliteConnection,
    keys: &RecordKeys,
    child: &str,
    as_of: NaiveDate,
) -> Result<Vec<DueImmunization>> {
    let (_, statuses) = schedule_status(conn, keys, &child_subject(child)?, as_of)?;
    Ok(statuses
        .into_iter()
        .filter_map(|s| {
            let (status, due_from, due_by, overdue_since) = match s.state {
                DoseState::Due { from, by } => (DueStatus::Due, Some(from), Some(by), None),
                DoseState::Overdue { since } => (DueStatus::Overdue, None, since.pred_opt(), Some(since)),
                _ => return None,
            };
            Some(DueImmunization {
                vaccine: s.vaccine,
                vaccine_label: s.vaccine.label_ja(),
                series: s.series,
                dose_number: s.dose_number,
                status,
                due_from,
                due_by,
                overdue_since,
                window_closes: s.window_closes,
            })
        })
        .collect())
}
