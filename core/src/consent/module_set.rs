//! [`ModuleSet`]: a set of dataset modules kept as a bitmask, so a consent
//! check asks "is this module covered?" with one AND instead of a tree search.
//! It behaves like a `BTreeSet<RecordKind>` (same methods the code uses, same
//! JSON: a list of module names in canonical order, duplicates collapsed).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::dataset::RecordKind;

/// A set of [`RecordKind`]s. Iterates in [`RecordKind::ALL`] order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ModuleSet(u16);

const fn bit(kind: RecordKind) -> u16 {
    1 << (kind as u16)
}

impl ModuleSet {
    /// The empty set: no module.
    pub const fn new() -> Self {
        ModuleSet(0)
    }

    /// Every module of the dataset a grant may select ([`RecordKind::MODULES`]).
    pub fn all() -> Self {
        RecordKind::MODULES.into_iter().collect()
    }

    /// True if the module is in the set (one AND with its bit).
    pub const fn contains(&self, kind: &RecordKind) -> bool {
        self.0 & bit(*kind) != 0
    }

    /// Adds a module; true if it was not there yet.
    pub fn insert(&mut self, kind: RecordKind) -> bool {
        let added = !self.contains(&kind);
        self.0 |= bit(kind);
        added
    }

    /// Removes a module; true if it was there.
    pub fn remove(&mut self, kind: &RecordKind) -> bool {
        let present = self.contains(kind);
        self.0 &= !bit(*kind);
        present
    }

    /// Removes every module.
    pub fn clear(&mut self) {
        self.0 = 0;
    }

    /// True if no module is in the set.
    pub const fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// How many modules the set holds.
    pub const fn len(&self) -> usize {
        self.0.count_ones() as usize
    }

    /// The modules in canonical order.
    pub fn iter(&self) -> ModuleIter {
        ModuleIter { remaining: *self, next: 0 }
    }
}

/// Iterator over a [`ModuleSet`] in canonical order.
#[derive(Debug, Clone)]
pub struct ModuleIter {
    remaining: ModuleSet,
    next: usize,
}

impl Iterator for ModuleIter {
    type Item = &'static RecordKind;

    fn next(&mut self) -> Option<Self::Item> {
        while let Some(kind) = RecordKind::ALL.get(self.next) {
            self.next += 1;
            if self.remaining.remove(kind) {
                return Some(kind);
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining.len(), Some(self.remaining.len()))
    }
}

impl ExactSizeIterator for ModuleIter {}

impl FromIterator<RecordKind> for ModuleSet {
    fn from_iter<I: IntoIterator<Item = RecordKind>>(iter: I) -> Self {
        let mut set = ModuleSet::new();
        for kind in iter {
            set.insert(kind);
        }
        set
    }
}

impl IntoIterator for &ModuleSet {
    type Item = &'static RecordKind;
    type IntoIter = ModuleIter;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Debug for ModuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for ModuleSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for ModuleSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<RecordKind>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_has_its_own_bit_and_the_set_behaves_like_a_set() {
        assert!(RecordKind::ALL.len() <= 16);
        let mut set = ModuleSet::new();
        assert!(set.is_empty());
        for (i, kind) in RecordKind::ALL.into_iter().enumerate() {
            assert!(!set.contains(&kind));
            assert!(set.insert(kind));
            assert!(!set.insert(kind), "second insert reports nothing new");
            assert_eq!(set.len(), i + 1);
        }
        assert!(set.remove(&RecordKind::SubjectIdentifiers));
        assert_eq!(set, ModuleSet::all());
        assert!(set.remove(&RecordKind::Delivery));
        assert!(!set.contains(&RecordKind::Delivery));
        assert!(!set.remove(&RecordKind::Delivery));
        set.clear();
        assert!(set.is_empty());
    }

    #[test]
    fn json_is_a_list_of_module_names_in_canonical_order_like_a_btreeset() {
        let set: ModuleSet = [RecordKind::Immunization, RecordKind::PrenatalVisit].into_iter().collect();
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["prenatal_visit","immunization"]"#);
        let same_as_btree: std::collections::BTreeSet<RecordKind> =
            [RecordKind::Immunization, RecordKind::PrenatalVisit].into_iter().collect();
        assert_eq!(json, serde_json::to_string(&same_as_btree).unwrap());
        let back: ModuleSet = serde_json::from_str(r#"["immunization","prenatal_visit","immunization"]"#).unwrap();
        assert_eq!(back, set);
        assert!(serde_json::from_str::<ModuleSet>(r#"["prenatal"]"#).is_err());
    }
}
