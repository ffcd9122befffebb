//! k-anonymity (and l-diversity) over the quasi-identifiers of the children in
//! an extract: birth period, sex, plurality and delivery method. Rows in classes
//! smaller than k (or with fewer than l distinct sensitive values) are
//! generalized further (month -> quarter -> year), then suppressed; if more
//! than the allowed share would be suppressed, the whole extract starts one
//! level coarser instead. Pure: works on a small in-memory table built in pass 1.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde::Serialize;

use super::generalize::{period, MotherLevel, PeriodLevel};

/// The quasi-identifiers (and one sensitive value) of one child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuasiIdentifiers {
    pub birth_date: NaiveDate,
    pub sex: &'static str,
    pub plurality: &'static str,
    pub delivery_method: &'static str,
    /// The sensitive item whose diversity is checked (the birth weight band); `""` when unknown.
    pub sensitive: String,
}

impl QuasiIdentifiers {
    /// The emitted equivalence-class key at `level`.
    fn key(&self, level: PeriodLevel) -> (String, &'static str, &'static str, &'static str) {
        (period(self.birth_date, level), self.sex, self.plurality, self.delivery_method)
    }
}

/// The privacy targets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Targets {
    pub k: usize,
    pub l: usize,
    /// The largest share of rows that may be suppressed before the whole extract is coarsened (0.05).
    pub max_suppressed_share: f64,
}

/// What the planner decided, row by row (same order as its input).
#[derive(Debug, Clone, PartialEq)]
pub struct KanonPlan {
    /// The period level of each row; `None` when the row is suppressed.
    pub levels: Vec<Option<PeriodLevel>>,
    /// The level the extract started from (coarser than `Month` when it was coarsened as a whole).
    pub base_level: PeriodLevel,
    pub summary: KanonSummary,
}

/// The counts the extract report shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KanonSummary {
    pub subjects: usize,
    pub base_level: PeriodLevel,
    /// Rows emitted coarser than the base level.
    pub generalized: usize,
    pub suppressed: usize,
    /// The smallest equivalence class emitted (`None` when nothing is emitted).
    pub k_reached: Option<usize>,
    /// The fewest distinct sensitive values in an emitted class.
    pub l_reached: Option<usize>,
}

/// Plans the generalization of `rows` to reach `targets`.
pub fn plan(rows: &[QuasiIdentifiers], targets: Targets) -> KanonPlan {
    let mut base = PeriodLevel::Month;
    loop {
        let levels = local_recode(rows, base, targets);
        let suppressed = levels.iter().filter(|l| l.is_none()).count();
        let too_many = suppressed as f64 > targets.max_suppressed_share * rows.len() as f64;
        match base.coarser() {
            Some(coarser) if too_many => base = coarser,
            _ => {
                let summary = summarize(rows, &levels, base);
                return KanonPlan { levels, base_level: base, summary };
            }
        }
    }
}

fn local_recode(rows: &[QuasiIdentifiers], base: PeriodLevel, targets: Targets) -> Vec<Option<PeriodLevel>> {
    let mut levels = vec![None; rows.len()];
    let mut pending: Vec<usize> = (0..rows.len()).collect();
    let mut level = base;
    loop {
        let mut classes: HashMap<_, Vec<usize>> = HashMap::new();
        for &i in &pending {
            classes.entry(rows[i].key(level)).or_default().push(i);
        }
        let mut still_small = Vec::new();
        for members in classes.into_values() {
            let diverse = members.iter().map(|&i| rows[i].sensitive.as_str()).collect::<HashSet<_>>().len();
            if members.len() >= targets.k && diverse >= targets.l {
                for i in members {
                    levels[i] = Some(level);
                }
            } else {
                still_small.extend(members);
            }
        }
        match level.coarser() {
            Some(coarser) if !still_small.is_empty() => {
                level = coarser;
                pending = still_small;
            }
            _ => return levels,
        }
    }
}

fn summarize(rows: &[QuasiIdentifiers], levels: &[Option<PeriodLevel>], base: PeriodLevel) -> KanonSummary {
    let mut classes: HashMap<_, Vec<usize>> = HashMap::new();
    for (i, level) in levels.iter().enumerate() {
        if let Some(level) = level {
            classes.entry(rows[i].key(*level)).or_default().push(i);
        }
    }
    let k_reached = classes.values().map(Vec::len).min();
    let l_reached =
        classes.values().map(|m| m.iter().map(|&i| rows[i].sensitive.as_str()).collect::<HashSet<_>>().len()).min();
    KanonSummary {
        subjects: rows.len(),
        base_level: base,
        generalized: levels.iter().filter(|l| matches!(l, Some(l) if *l != base)).count(),
        suppressed: levels.iter().filter(|l| l.is_none()).count(),
        k_reached,
        l_reached,
    }
}

/// A mother's quasi-identifiers at one [`MotherLevel`]: her emitted deliveries (each as delivery
/// period, method, plurality and her age band), sorted, and her parity band; with the sensitive
/// value of each of those deliveries (gestational weeks), in the same order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MotherQuasiIdentifiers {
    pub deliveries: Vec<[String; 4]>,
    pub parity: String,
    pub sensitive: Vec<String>,
}

/// A mother's equivalence-class key: her deliveries' quasi-identifiers and her parity band.
type MotherKey = (Vec<[String; 4]>, String);

/// What [`plan_mothers`] reached over the mothers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MotherSummary {
    /// Mothers with at least one delivery whose child is emitted (the others are suppressed outright).
    pub subjects: usize,
    /// Mothers emitted at [`MotherLevel::Coarse`].
    pub generalized: usize,
    pub suppressed: usize,
    pub k_reached: Option<usize>,
    pub l_reached: Option<usize>,
}

/// Plans each mother's level: the finest at which her class (mothers with the same
/// quasi-identifiers) has at least k mothers and, at every delivery of the key, at least l
/// distinct sensitive values; `None` (suppressed) when no level does. `qis(i, level)` is mother
/// `i`'s quasi-identifiers at `level`.
pub fn plan_mothers(
    n: usize,
    qis: impl Fn(usize, MotherLevel) -> MotherQuasiIdentifiers,
    k: usize,
    l: usize,
) -> (Vec<Option<MotherLevel>>, MotherSummary) {
    let mut levels = vec![None; n];
    let mut pending: Vec<usize> = (0..n).collect();
    let mut k_reached: Option<usize> = None;
    let mut l_reached: Option<usize> = None;
    for level in [MotherLevel::Fine, MotherLevel::Coarse] {
        let mut classes: HashMap<MotherKey, Vec<(usize, Vec<String>)>> = HashMap::new();
        for &i in &pending {
            let q = qis(i, level);
            classes.entry((q.deliveries, q.parity)).or_default().push((i, q.sensitive));
        }
        let mut still_small = Vec::new();
        for members in classes.into_values() {
            let positions = members.first().map_or(0, |(_, s)| s.len());
            let diverse = (0..positions)
                .map(|p| members.iter().map(|(_, s)| s[p].as_str()).collect::<HashSet<_>>().len())
                .min()
                .unwrap_or(0);
            if members.len() >= k && diverse >= l {
                k_reached = Some(k_reached.map_or(members.len(), |m| m.min(members.len())));
                l_reached = Some(l_reached.map_or(diverse, |m| m.min(diverse)));
                for (i, _) in members {
                    levels[i] = Some(level);
                }
            } else {
                still_small.extend(members.into_iter().map(|(i, _)| i));
            }
        }
        pending = still_small;
    }
    let summary = MotherSummary {
        subjects: n,
        generalized: levels.iter().filter(|l| **l == Some(MotherLevel::Coarse)).count(),
        suppressed: levels.iter().filter(|l| l.is_none()).count(),
        k_reached,
        l_reached,
    };
    (levels, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGETS: Targets = Targets { k: 5, l: 2, max_suppressed_share: 0.05 };

    fn child(date: &str, sex: &'static str, weight_band: &str) -> QuasiIdentifiers {
        QuasiIdentifiers {
            birth_date: date.parse().unwrap(),
            sex,
            plurality: "single",
            delivery_method: "vaginal",
            sensitive: weight_band.to_owned(),
        }
    }

    /// `n` children born in `month` (YYYY-MM), alternating two weight bands.
    fn cohort(month: &str, sex: &'static str, n: usize) -> Vec<QuasiIdentifiers> {
        (0..n)
            .map(|i| {
                let band = if i % 2 == 0 { "3000-3249" } else { "3250-3499" };
                child(&format!("{month}-{:02}", 1 + i % 28), sex, band)
            })
            .collect()
    }

    /// Every emitted class has at least k rows and l sensitive values, measured independently of the planner.
    fn assert_k_and_l(rows: &[QuasiIdentifiers], plan: &KanonPlan, k: usize, l: usize) {
        let mut classes: HashMap<_, Vec<&str>> = HashMap::new();
        for (row, level) in rows.iter().zip(&plan.levels) {
            if let Some(level) = level {
                classes.entry(row.key(*level)).or_default().push(&row.sensitive);
            }
        }
        for (key, members) in classes {
            assert!(members.len() >= k, "class {key:?} has {} rows", members.len());
            assert!(members.iter().collect::<HashSet<_>>().len() >= l, "class {key:?} is not {l}-diverse");
        }
    }

    #[test]
    fn large_classes_keep_the_birth_month() {
        let rows: Vec<_> = [cohort("2025-01", "male", 10), cohort("2025-02", "female", 7)].concat();
        let plan = plan(&rows, TARGETS);
        assert!(plan.levels.iter().all(|l| *l == Some(PeriodLevel::Month)));
        assert_eq!(plan.summary.k_reached, Some(7));
        assert_eq!(plan.summary.l_reached, Some(2));
        assert_eq!((plan.summary.generalized, plan.summary.suppressed), (0, 0));
    }

    #[test]
    fn small_month_classes_are_generalized_to_the_quarter() {
        // 2 + 2 + 2 boys in Jan, Feb, Mar: no month reaches k = 5, the quarter does.
        let mut rows: Vec<_> =
            [cohort("2025-01", "male", 2), cohort("2025-02", "male", 2), cohort("2025-03", "male", 2)].concat();
        rows.extend(cohort("2025-05", "female", 100));
        let plan = plan(&rows, TARGETS);
        assert!(plan.levels[..6].iter().all(|l| *l == Some(PeriodLevel::Quarter)));
        assert!(plan.levels[6..].iter().all(|l| *l == Some(PeriodLevel::Month)));
        assert_eq!(plan.summary.generalized, 6);
        assert_eq!(plan.summary.suppressed, 0);
        assert_k_and_l(&rows, &plan, 5, 2);
    }

    #[test]
    fn rows_that_stay_unique_at_the_year_are_suppressed_when_few() {
        let mut rows = cohort("2025-05", "female", 100);
        rows.push(child("2019-07-04", "male", "<1000"));
        let plan = plan(&rows, TARGETS);
        assert_eq!(plan.levels[100], None);
        assert_eq!(plan.summary.suppressed, 1);
        assert_eq!(plan.base_level, PeriodLevel::Month);
        assert_k_and_l(&rows, &plan, 5, 2);
    }

    #[test]
    fn homogeneous_classes_are_generalized_for_l_diversity() {
        // Six boys of January all in one weight band: k holds but l = 1.
        let mut rows: Vec<_> = (1..=6).map(|d| child(&format!("2025-01-{d:02}"), "male", "<1000")).collect();
        rows.extend(cohort("2025-02", "male", 6));
        let plan = plan(&rows, TARGETS);
        assert!(plan.levels[..6].iter().all(|l| l.is_none() || *l != Some(PeriodLevel::Month)));
        assert_k_and_l(&rows, &plan, 5, 2);
    }

    #[test]
    fn the_whole_extract_is_coarsened_when_more_than_5_percent_would_be_suppressed() {
        // 3 boys in each month of 2024..2025 alternate bands: every month class is too small,
        // each quarter has 9 -> all quarter; then a few lone years would be suppressed.
        let mut rows = Vec::new();
        for year in [2024, 2025] {
            for month in 1..=12 {
                rows.extend(cohort(&format!("{year}-{month:02}"), "male", 3));
            }
        }
        // 10 children each alone in a distinct year: suppressed at every level (> 5 % of 82).
        for year in 2010..2020 {
            rows.push(child(&format!("{year}-06-01"), "female", "3000-3249"));
        }
        let plan = plan(&rows, TARGETS);
        assert_eq!(plan.base_level, PeriodLevel::Year);
        assert_eq!(plan.summary.suppressed, 10);
        assert_k_and_l(&rows, &plan, 5, 2);
    }

    #[test]
    fn k_is_configurable() {
        let rows = cohort("2025-01", "male", 7);
        assert_eq!(plan(&rows, Targets { k: 5, ..TARGETS }).summary.suppressed, 0);
        let strict = plan(&rows, Targets { k: 10, ..TARGETS });
        assert_eq!(strict.summary.suppressed, 7);
        assert_eq!(strict.summary.k_reached, None);
    }
}
