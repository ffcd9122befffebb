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

use generalize::{birth_weight_band, period, plurality_band, PeriodLevel, Reservoir};
use kanon::{KanonSummary, QuasiIdentifiers, Targets};

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
}

/// Pass 1: the small per-subject facts the plan needs. Its size grows with the
/// number of people (not records); numeric items keep a bounded sample each.
#[derive(Debug, Default)]
pub struct Survey {
    children: HashMap<(String, Uuid), ChildFacts>,
    mothers: HashMap<String, NaiveDate>,
    deliveries: HashMap<String, Vec<DeliveryFacts>>,
    codes: HashMap<String, HashSet<u64>>,
    numbers: HashMap<&'static str, Reservoir>,
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
                self.mothers.insert(rec.account_id.clone(), m.birth_date);
            }
            (RecordBody::Delivery(d), _) => {
                let facts = DeliveryFacts {
                    date: d.delivery_date(),
                    method: d.method.category().code(),
                    babies: d.number_of_babies,
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

        let bounds = numbers.iter_mut().filter_map(|(field, sample)| Some((*field, sample.bounds()?))).collect();
        let report = DeidReport {
            k_target: config.k,
            l_target: config.l,
            records_seen: records,
            quasi_identifiers: vec!["birth_period", "sex", "plurality", "delivery_method"],
            sensitive_items: vec!["birth_weight_band"],
            kanon: kplan.summary,
            rare_codes_generalized: generalized_codes.into_keys().collect(),
            rare_codes_suppressed: suppressed_codes,
            top_bottom_coded: numbers
                .keys()
                .map(|s| s.to_string())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
            rows_emitted: BTreeMap::new(),
            rows_suppressed: BTreeMap::new(),
        };
        Plan { children: child_plans, mothers, delivery_levels, anchors, codes: code_decisions, bounds, report }
    }
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
    /// Codes held by fewer than k subjects, emitted as their parent concept.
    pub rare_codes_generalized: Vec<String>,
    /// Rare codes whose parent concept was rare too: their rows are suppressed.
    pub rare_codes_suppressed: usize,
    /// Numeric items clamped to their 1st/99th percentiles.
    pub top_bottom_coded: Vec<String>,
    /// Rows written per module.
    pub rows_emitted: BTreeMap<String, u64>,
    /// Rows withheld per module (suppressed child, rare code, no birth anchor).
    pub rows_suppressed: BTreeMap<String, u64>,
}

/// The plan of pass 2.
#[derive(Debug)]
pub struct Plan {
    pub(crate) children: HashMap<(String, Uuid), ChildPlan>,
    pub(crate) mothers: HashMap<String, NaiveDate>,
    pub(crate) delivery_levels: HashMap<(String, NaiveDate), Option<PeriodLevel>>,
    /// Per family: the earliest emitted child's birth date, the anchor of mother event days.
    pub(crate) anchors: HashMap<String, NaiveDate>,
    pub(crate) codes: HashMap<String, CodeDecision>,
    pub(crate) bounds: HashMap<&'static str, (f64, f64)>,
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
}

/// Rows emitted and withheld per module, counted by [`Plan::emit_counted`] (one
/// per thread of pass 2) and added to the report by [`Plan::add_counts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmitCounts {
    emitted: BTreeMap<RecordKind, u64>,
    suppressed: BTreeMap<RecordKind, u64>,
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
    }

    /// The Patient resources of the extract: one per emitted child (gender and
    /// birth period) and one per mother with rows, all pseudonymous.
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
