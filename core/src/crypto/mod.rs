//! PLACEHOLDER — record crypto.
