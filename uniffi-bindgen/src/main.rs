//! `uniffi-bindgen`: uniffi's own bindings generator, built from this
//! workspace so its version always matches the scaffolding in `phr-mobile`.
//!
//! `cargo run -p uniffi-bindgen -- generate target/debug/libphr_mobile.so --language python --out-dir DIR`
//! (library mode); `scripts/bindings.sh` runs it for Kotlin, Swift and Python.

fn main() {
    uniffi::uniffi_bindgen_main()
}
