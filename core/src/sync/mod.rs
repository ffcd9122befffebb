//! PLACEHOLDER — sync merge rules.
