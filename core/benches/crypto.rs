//! Record crypto benchmarks.
//!
//! * `seal_open_1kib`: seal then open a 1 KiB record body with an existing
//!   data key (AES-256-GCM, ring). Target: < 5 µs.
//! * `hpke_wrap_unwrap_32b`: HPKE seal + open of a 32-byte key
//!   (X25519 / HKDF-SHA256 / ChaCha20Poly1305). Target: < 200 µs.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use phr_core::crypto::{hpke_open, hpke_seal, open_record, seal_record, DataKey, HpkePrivateKey, RecordAad};
use uuid::Uuid;

fn seal_open_1kib(c: &mut Criterion) {
    let dek = DataKey::generate();
    let aad = RecordAad { account_id: "acct-bench", record_id: Uuid::now_v7(), version: 1 };
    let body = vec![0x5Au8; 1024];
    c.bench_function("seal_open_1kib", |b| {
        b.iter(|| {
            let envelope = seal_record(&dek, black_box(&aad), black_box(&body));
            open_record(&dek, &aad, black_box(&envelope)).expect("opens")
        });
    });
}

fn hpke_wrap_unwrap_32b(c: &mut Criterion) {
    let sk = HpkePrivateKey::generate();
    let pk = sk.public_key();
    let secret = [0x11u8; 32];
    let info = b"phr bench info";
    c.bench_function("hpke_wrap_unwrap_32b", |b| {
        b.iter(|| {
            let envelope = hpke_seal(&pk, info, b"", black_box(&secret)).expect("seals");
            hpke_open(&sk, info, b"", black_box(&envelope)).expect("opens")
        });
    });
}

criterion_group!(benches, seal_open_1kib, hpke_wrap_unwrap_32b);
criterion_main!(benches);
