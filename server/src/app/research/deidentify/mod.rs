//! De-identification of research extracts: the one place every row passes
//! through before it leaves the server. Pure (no I/O), in two passes:
//!
//! 1. [`Survey::observe`] sees every consented record once and keeps only what
//!    the plan needs (per child: birth date, sex, plurality, delivery method,
//!    birth weight band; per family: the mother's birth date and deliveries; how
//!    many subjects carry each code; numeric values for percentiles).
//! 2. [`Survey::plan`] decides the k-anonymous generalization, the rare-code
//!    generalizations and the top/bottom-coding bounds; [`Plan::emit`] then turns
//!    each record into one de-identified CSV row (and its FHIR resource).
//!
//! What leaves: a pseudonym per person (HMAC-SHA256 of the per-extract secret
//! over account id + subject), birth and delivery dates as year-month (or
//! coarser), every other date as whole days from the child's birth (gestational
//! age for pregnancy events), banded and top/bottom-coded numbers, no names,
//! identifiers, free text, clinic, device, account or record ids. The dataset
//! holds no address, so no geography is emitted at all.

pub mod generalize;
pub mod kanon;
pub mod rows;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use phr_core::dataset::common::Sex;
use phr_core::dataset::{RecordBody, RecordKind, Subject};
use ring::hmac;
use serde::Serialize;
use uuid::Uuid;
use zeroize::Zeroizing;

use generalize::{
    birth_weight_band, gestational_weeks_band, mother_age_band, mother_parity_band, period, plurality_band,
    MotherLevel, PeriodLevel, Reservoir, CLAMP_MIN_VALUES,
};
use kanon::{KanonSummary, MotherQuasiIdentifiers, MotherSummary, QuasiIdentifiers, Targets};

/// The privacy settings of an extract.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeidConfig {
    /// Smallest equivalence class over the quasi-identifiers (k ≥ 5 by default).
    pub k: usize,
    /// Fewest distinct sensitive values per class (l ≥ 2 by default).
    pub l: usize,
    /// Largest share of children suppressed before the whole extract is coarsened.
    pub max_suppressed_share: f64,
}

impl Default for DeidConfig {
    fn default() -> Self {
        DeidConfig { k: 5, l: 2, max_suppressed_share: 0.05 }
    }
}

/// One consented, decrypted record as the extract source hands it over.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    pub account_id: String,
    pub subject: Subject,
    pub record_id: Uuid,
    pub body: RecordBody,
}

/// Keyed pseudonyms for one extract. The secret is random, lives only in
/// memory for the job and is zeroized when the job drops it.
pub struct Pseudonymizer {
    key: hmac::Key,
    _secret: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer(..)")
    }
}

impl Pseudonymizer {
    /// A pseudonymizer with a fresh random secret.
    pub fn random() -> Result<Self, ring::error::Unspecified> {
        use ring::rand::SecureRandom;
        let mut secret = Zeroizing::new([0u8; 32]);
        ring::rand::SystemRandom::new().fill(secret.as_mut())?;
        Ok(Self::from_secret(secret))
    }

    pub fn from_secret(secret: Zeroizing<[u8; 32]>) -> Self {
        Pseudonymizer { key: hmac::Key::new(hmac::HMAC_SHA256, secret.as_ref()), _secret: secret }
    }

    fn mac(&self, parts: &[&[u8]]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in parts {
            ctx.update(&(part.len() as u32).to_be_bytes());
            ctx.update(part);
        }
        ctx.sign()
    }

    /// The person's pseudonym: hex of HMAC-SHA256(secret, account id + subject), 32 characters.
    pub fn person(&self, account_id: &str, subject: &Subject) -> String {
        let tag = self.mac(&[account_id.as_bytes(), subject.to_string().as_bytes()]);
        hex::encode(&tag.as_ref()[..16])
    }

    /// A resource id for a record that reveals neither the record id nor its time (UUIDv7 carry one).
    pub fn record(&self, account_id: &str, record_id: &Uuid) -> String {
        let tag = self.mac(&[b"record", account_id.as_bytes(), record_id.as_bytes()]);
        hex::encode(&tag.as_ref()[..16])
    }
}

#[derive(Debug, Clone)]
struct ChildFacts {
    birth_date: NaiveDate,
    sex: &'static str,
    weight_band: String,
}

#[derive(Debug, Clone, Copy)]
struct DeliveryFacts {
    date: NaiveDate,
    method: &'static str,
    babies: u8,
    /// Completed gestational weeks at delivery: the mother's sensitive item.
    weeks: Option<u8>,
}

/// What the plan needs of a mother's profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MotherFacts {
    pub birth_date: NaiveDate,
    pub parity: Option<u8>,
}

/// The emitted delivery cells that are the mother's quasi-identifiers (delivery period, method,
/// plurality, her age band) at her `level`; `child_level` is the period level of the child.
pub(crate) fn delivery_quasi_identifiers(
    date: NaiveDate,
    method: &'static str,
    babies: u8,
    child_level: PeriodLevel,
    mother_birth: Option<NaiveDate>,
    level: MotherLevel,
) -> [String; 4] {
    let period_level = match level {
        MotherLevel::Fine => child_level,
        MotherLevel::Coarse => PeriodLevel::Year,
    };
    [
        period(date, period_level),
        method.to_owned(),
        plurality_band(babies).to_owned(),
        mother_birth.and_then(|b| mother_age_band(b, date, level)).unwrap_or_default(),
    ]
}

/// Pass 1: the small per-subject facts the plan needs. Its size grows with the
/// number of people (not records); numeric items keep a bounded sample each.
#[derive(Debug, Default)]
pub struct Survey {
    children: HashMap<(String, Uuid), ChildFacts>,
    mothers: HashMap<String, MotherFacts>,
    deliveries: HashMap<String, Vec<DeliveryFacts>>,
    codes: HashMap<String, HashSet<u64>>,
    numbers: HashMap<rows::NumericKey, Reservoir>,
    records: u64,
}

fn subject_hash(account_id: &str, subject: &Subject) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    account_id.hash(&mut h);
    subject.hash(&mut h);
    h.finish()
}

pub(crate) fn sex_code(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "male",
        Sex::Female => "female",
        Sex::Other => "other",
        Sex::Unknown => "unknown",
    }
}

impl Survey {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records seen so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Takes note of one record.
    pub fn observe(&mut self, rec: &SourceRecord) {
        self.records += 1;
        match (&rec.body, rec.subject) {
            (RecordBody::Newborn(n), Subject::Child(child)) => {
                let weight_band = n.birth_weight.map(|w| birth_weight_band(w.value)).unwrap_or_default();
                let facts = ChildFacts { birth_date: n.birth_date, sex: sex_code(n.sex), weight_band };
                self.children.insert((rec.account_id.clone(), child), facts);
            }
            (RecordBody::MotherProfile(m), _) => {
                self.mothers.insert(rec.account_id.clone(), MotherFacts { birth_date: m.birth_date, parity: m.parity });
            }
            (RecordBody::Delivery(d), _) => {
                let facts = DeliveryFacts {
                    date: d.delivery_date(),
                    method: d.method.category().code(),
                    babies: d.number_of_babies,
                    weeks: d.gestational_age.map(|g| g.weeks),
                };
                self.deliveries.entry(rec.account_id.clone()).or_default().push(facts);
            }
            _ => {}
        }
        for code in rows::codes_of(&rec.body) {
            self.codes.entry(code).or_default().insert(subject_hash(&rec.account_id, &rec.subject));
        }
        rows::numbers_of(&rec.body, |field, value| self.numbers.entry(field).or_default().push(value as f32));
    }

    /// Adds what `other` observed, as if its records had been observed by `self`
    /// after its own (pass 1 over batches of families on several threads, merged
    /// in family order). While `other`'s numeric samples did not overflow (a
    /// batch of families is far below [`Reservoir::CAPACITY`] values per item)
    /// the result equals one survey that observed everything in that order.
    pub fn merge(&mut self, other: Survey) {
        let Survey { children, mothers, deliveries, codes, numbers, records } = other;
        self.records += records;
        self.children.extend(children);
        self.mothers.extend(mothers);
        for (account, facts) in deliveries {
            self.deliveries.entry(account).or_default().extend(facts);
        }
        for (code, subjects) in codes {
            match self.codes.entry(code) {
                std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().extend(subjects),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(subjects);
                }
            }
        }
        for (field, sample) in numbers {
            self.numbers.entry(field).or_default().merge(sample);
        }
    }

    /// Pass 1 is done: decide how every row will be generalized.
    pub fn plan(self, config: DeidConfig) -> Plan {
        let Survey { children, mothers, deliveries, codes, mut numbers, records } = self;
        // Children in a stable order so the plan does not depend on hash order.
        let mut keys: Vec<(String, Uuid)> = children.keys().cloned().collect();
        keys.sort();
        let qis: Vec<QuasiIdentifiers> = keys
            .iter()
            .map(|key| {
                let facts = &children[key];
                let delivery = deliveries.get(&key.0).and_then(|ds| ds.iter().find(|d| d.date == facts.birth_date));
                QuasiIdentifiers {
                    birth_date: facts.birth_date,
                    sex: facts.sex,
                    plurality: delivery.map(|d| plurality_band(d.babies)).unwrap_or(""),
                    delivery_method: delivery.map(|d| d.method).unwrap_or(""),
                    sensitive: facts.weight_band.clone(),
                }
            })
            .collect();
        let targets = Targets { k: config.k, l: config.l, max_suppressed_share: config.max_suppressed_share };
        let kplan = kanon::plan(&qis, targets);

        let mut child_plans = HashMap::with_capacity(keys.len());
        let mut delivery_levels: HashMap<(String, NaiveDate), Option<PeriodLevel>> = HashMap::new();
        let mut anchors: HashMap<String, NaiveDate> = HashMap::new();
        for ((key, qi), level) in keys.into_iter().zip(qis).zip(kplan.levels) {
            let entry = delivery_levels.entry((key.0.clone(), qi.birth_date)).or_insert(level);
            *entry = match (*entry, level) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            if level.is_some() {
                let anchor = anchors.entry(key.0.clone()).or_insert(qi.birth_date);
                *anchor = (*anchor).min(qi.birth_date);
            }
            let plan = ChildPlan {
                birth_date: qi.birth_date,
                period: level.map(|l| period(qi.birth_date, l)),
                sex: qi.sex,
                plurality: qi.plurality,
                delivery_method: qi.delivery_method,
            };
            child_plans.insert(key, plan);
        }

        // Mothers: her own quasi-identifiers over her deliveries whose child is emitted (the others
        // are withheld with their child); a mother with none is suppressed outright.
        let child_level_of = |account: &String, date: NaiveDate| -> Option<PeriodLevel> {
            delivery_levels.get(&(account.clone(), date)).copied().flatten()
        };
        let mut candidates: Vec<&String> = deliveries
            .iter()
            .filter(|(account, ds)| ds.iter().any(|d| child_level_of(account, d.date).is_some()))
            .map(|(account, _)| account)
            .collect();
        candidates.sort();
        let mother_qi = |i: usize, level: MotherLevel| -> MotherQuasiIdentifiers {
            let account = candidates[i];
            let facts = mothers.get(account);
            let mut ds: Vec<([String; 4], String)> = deliveries[account]
                .iter()
                .filter_map(|d| {
                    let child_level = child_level_of(account, d.date)?;
                    let qi = delivery_quasi_identifiers(
                        d.date,
                        d.method,
                        d.babies,
                        child_level,
                        facts.map(|m| m.birth_date),
                        level,
                    );
                    Some((qi, d.weeks.map(gestational_weeks_band).unwrap_or_default()))
                })
                .collect();
            ds.sort();
            ds.dedup();
            let (deliveries, sensitive) = ds.into_iter().unzip();
            let parity = facts.and_then(|m| m.parity).map(|p| mother_parity_band(p, level)).unwrap_or_default();
            MotherQuasiIdentifiers { deliveries, parity, sensitive }
        };
        let (mother_plan, mut mother_summary) = kanon::plan_mothers(candidates.len(), mother_qi, config.k, config.l);
        let mut mother_levels = HashMap::with_capacity(candidates.len());
        for (account, level) in candidates.iter().zip(mother_plan) {
            if let Some(level) = level {
                mother_levels.insert((*account).clone(), level);
            }
        }
        let all_mothers: HashSet<&String> = mothers.keys().chain(deliveries.keys()).collect();
        mother_summary.suppressed += all_mothers.len() - candidates.len();
        mother_summary.subjects = all_mothers.len();
        // Mother rows are anchored (and her Patient written) only when she is emitted.
        anchors.retain(|account, _| mother_levels.contains_key(account));

        let mut code_decisions = HashMap::new();
        let mut generalized_codes = BTreeMap::new();
        let mut suppressed_codes = 0usize;
        for code in codes.keys() {
            let Some(parent) = rows::parent_code(code) else { continue };
            let count = codes[code].len();
            let decision = if count >= config.k {
                CodeDecision::Keep
            } else if codes.get(&parent).map_or(0, HashSet::len) >= config.k {
                *generalized_codes.entry(code.clone()).or_insert(0) += count;
                CodeDecision::Parent(rows::code_value(&parent).to_owned())
            } else {
                suppressed_codes += 1;
                CodeDecision::Suppress
            };
            code_decisions.insert(code.clone(), decision);
        }

        let bounds: HashMap<rows::NumericKey, (f64, f64)> =
            numbers.iter_mut().filter_map(|(field, sample)| Some((*field, sample.bounds()?))).collect();
        let report = DeidReport {
            k_target: config.k,
            l_target: config.l,
            records_seen: records,
            quasi_identifiers: vec!["birth_period", "sex", "plurality", "delivery_method"],
            sensitive_items: vec!["birth_weight_band"],
            kanon: kplan.summary,
            mother_quasi_identifiers: vec!["delivery_period", "delivery_method", "plurality", "mother_age", "parity"],
            mother_sensitive_items: vec!["gestational_weeks"],
            mothers: mother_summary,
            rare_codes_generalized: generalized_codes.into_keys().collect(),
            rare_codes_suppressed: suppressed_codes,
            clamp_min_values: CLAMP_MIN_VALUES,
            top_bottom_coded: bounds_items(&bounds),
            values_clamped: BTreeMap::new(),
            values_masked: BTreeMap::new(),
            rows_emitted: BTreeMap::new(),
            rows_suppressed: BTreeMap::new(),
        };
        Plan {
            children: child_plans,
            mothers,
            mother_levels,
            delivery_levels,
            anchors,
            codes: code_decisions,
            bounds,
            report,
        }
    }
}

/// The items with top/bottom-coding bounds, sorted.
fn bounds_items(bounds: &HashMap<rows::NumericKey, (f64, f64)>) -> Vec<String> {
    let mut items: Vec<String> = bounds.keys().map(|(kind, column)| format!("{kind}.{column}")).collect();
    items.sort();
    items
}

#[derive(Debug, Clone)]
pub(crate) struct ChildPlan {
    pub birth_date: NaiveDate,
    /// `None`: the child is suppressed; nothing about it leaves.
    pub period: Option<String>,
    pub sex: &'static str,
    pub plurality: &'static str,
    pub delivery_method: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CodeDecision {
    Keep,
    Parent(String),
    Suppress,
}

/// The per-extract de-identification report (JSON, listed in the manifest).
#[derive(Debug, Clone, Serialize)]
pub struct DeidReport {
    pub k_target: usize,
    pub l_target: usize,
    pub records_seen: u64,
    pub quasi_identifiers: Vec<&'static str>,
    pub sensitive_items: Vec<&'static str>,
    /// Children: base period level, generalized and suppressed counts, k and l reached.
    pub kanon: KanonSummary,
    /// The mothers' own quasi-identifiers (over all her emitted deliveries) and sensitive item.
    pub mother_quasi_identifiers: Vec<&'static str>,
    pub mother_sensitive_items: Vec<&'static str>,
    /// Mothers: emitted at the fine or coarse level, or suppressed with all their rows.
    pub mothers: MotherSummary,
    /// Codes held by fewer than k subjects, emitted as their parent concept.
    pub rare_codes_generalized: Vec<String>,
    /// Rare codes whose parent concept was rare too: their rows are suppressed.
    pub rare_codes_suppressed: usize,
    /// Fewest values of an item for top/bottom coding at its 1st/99th percentiles.
    pub clamp_min_values: u64,
    /// Numeric items with at least `clamp_min_values` values: clamped to their 1st/99th percentiles.
    pub top_bottom_coded: Vec<String>,
    /// Values clamped, per item (each flagged in its row).
    pub values_clamped: BTreeMap<String, u64>,
    /// Values withheld, per item: items below `clamp_min_values`, outside the plausible range.
    pub values_masked: BTreeMap<String, u64>,
    /// Rows written per module.
    pub rows_emitted: BTreeMap<String, u64>,
    /// Rows withheld per module (suppressed child, rare code, no birth anchor).
    pub rows_suppressed: BTreeMap<String, u64>,
}

/// The plan of pass 2.
#[derive(Debug)]
pub struct Plan {
    pub(crate) children: HashMap<(String, Uuid), ChildPlan>,
    pub(crate) mothers: HashMap<String, MotherFacts>,
    /// The level of each emitted mother; a mother not in it is suppressed with all her rows.
    pub(crate) mother_levels: HashMap<String, MotherLevel>,
    pub(crate) delivery_levels: HashMap<(String, NaiveDate), Option<PeriodLevel>>,
    /// Per emitted mother: the earliest emitted child's birth date, the anchor of her event days.
    pub(crate) anchors: HashMap<String, NaiveDate>,
    pub(crate) codes: HashMap<String, CodeDecision>,
    pub(crate) bounds: HashMap<rows::NumericKey, (f64, f64)>,
    pub report: DeidReport,
}

/// One de-identified row.
#[derive(Debug, Clone, PartialEq)]
pub struct DeidRow {
    pub kind: RecordKind,
    /// The pseudonymous resource id.
    pub id: String,
    /// Cells in the order of [`rows::header`]`(kind)`; the first is the person pseudonym.
    pub cells: Vec<String>,
    /// Indices (in `cells`) of numeric values withheld as implausible (the cell is empty).
    pub masked: Vec<usize>,
}

/// Rows emitted and withheld per module, counted by [`Plan::emit_counted`] (one
/// per thread of pass 2) and added to the report by [`Plan::add_counts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmitCounts {
    emitted: BTreeMap<RecordKind, u64>,
    suppressed: BTreeMap<RecordKind, u64>,
    /// Clamped and masked values per (module, column).
    clamped: BTreeMap<(RecordKind, &'static str), u64>,
    masked: BTreeMap<(RecordKind, &'static str), u64>,
}

impl EmitCounts {
    fn count(&mut self, kind: RecordKind, emitted: bool) {
        let counter = if emitted { &mut self.emitted } else { &mut self.suppressed };
        *counter.entry(kind).or_insert(0) += 1;
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: EmitCounts) {
        for (kind, n) in other.emitted {
            *self.emitted.entry(kind).or_insert(0) += n;
        }
        for (kind, n) in other.suppressed {
            *self.suppressed.entry(kind).or_insert(0) += n;
        }
        for (key, n) in other.clamped {
            *self.clamped.entry(key).or_insert(0) += n;
        }
        for (key, n) in other.masked {
            *self.masked.entry(key).or_insert(0) += n;
        }
    }

    fn count_values(&mut self, row: &DeidRow) {
        let header = rows::header(row.kind);
        for (i, cell) in row.cells.iter().enumerate() {
            if cell == "true" && header.get(i).is_some_and(|h| h.ends_with(rows::CLAMPED_SUFFIX)) {
                let column = header.get(i - 1).copied().unwrap_or_default();
                *self.clamped.entry((row.kind, column)).or_insert(0) += 1;
            }
        }
        for &i in &row.masked {
            *self.masked.entry((row.kind, header.get(i).copied().unwrap_or_default())).or_insert(0) += 1;
        }
    }
}

impl Plan {
    /// Pass 2: the de-identified row of one record, or `None` when it is withheld.
    pub fn emit(&mut self, rec: &SourceRecord, pseudo: &Pseudonymizer) -> Option<DeidRow> {
        let mut counts = EmitCounts::default();
        let row = self.emit_counted(rec, pseudo, &mut counts);
        self.add_counts(counts);
        row
    }

    /// [`Plan::emit`] through a shared plan (pass 2 on several threads): the row
    /// is counted in `counts`, which [`Plan::add_counts`] adds to the report.
    pub fn emit_counted(&self, rec: &SourceRecord, pseudo: &Pseudonymizer, counts: &mut EmitCounts) -> Option<DeidRow> {
        let row = rows::project(self, rec, pseudo);
        counts.count(rec.body.kind(), row.is_some());
        if let Some(row) = &row {
            counts.count_values(row);
        }
        row
    }

    /// Adds rows counted by [`Plan::emit_counted`] to the report.
    pub fn add_counts(&mut self, counts: EmitCounts) {
        for (kind, n) in counts.emitted {
            *self.report.rows_emitted.entry(kind.as_str().to_owned()).or_insert(0) += n;
        }
        for (kind, n) in counts.suppressed {
            *self.report.rows_suppressed.entry(kind.as_str().to_owned()).or_insert(0) += n;
        }
        for ((kind, column), n) in counts.clamped {
            *self.report.values_clamped.entry(format!("{}.{column}", kind.as_str())).or_insert(0) += n;
        }
        for ((kind, column), n) in counts.masked {
            *self.report.values_masked.entry(format!("{}.{column}", kind.as_str())).or_insert(0) += n;
        }
    }

    /// The Patient resources of the extract: one per emitted child (gender and
    /// birth period) and one per emitted mother, all pseudonymous: every row's person is one of them.
    pub fn patients(&self, pseudo: &Pseudonymizer) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        self.each_patient(pseudo, |p| out.push(p));
        out
    }

    /// Calls `f` with each Patient resource in turn (one at a time: memory stays flat).
    pub fn each_patient(&self, pseudo: &Pseudonymizer, mut f: impl FnMut(serde_json::Value)) {
        let mut keys: Vec<_> = self.children.keys().collect();
        keys.sort();
        for key in keys {
            let child = &self.children[key];
            if let Some(period) = &child.period {
                f(rows::patient(&pseudo.person(&key.0, &Subject::Child(key.1)), Some((period, child.sex))));
            }
        }
        let mut mothers: Vec<_> = self.anchors.keys().collect();
        mothers.sort();
        for account in mothers {
            f(rows::patient(&pseudo.person(account, &Subject::Mother), None));
        }
    }
}

#[cfg(test)]
mod tests;
