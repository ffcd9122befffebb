//! PLACEHOLDER — consent model.
