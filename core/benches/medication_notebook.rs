//! The JAHIS medication notebook (run: `cargo bench -p phr-core --bench medication_notebook`):
//! - `notebook_import_100_dispensings`: decoding (Shift_JIS), reading and mapping a
//!   notebook file of 100 dispensings (300 drugs) to validated medications
//!   (target ≤ 50 ms);
//! - `qr_reassembly_20_parts`: putting 20 QR texts, scanned in reverse order, back
//!   into one notebook text (target ≤ 5 ms);
//! - `qr_import_20_parts`: the same 20 texts reassembled and imported.

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion};
use phr_core::medication_notebook::{self as nb, split::assemble};

/// A notebook of `n` dispensings, each with three drugs and their notes, every
/// dispensing different (dates, names, codes).
fn notebook(n: usize) -> String {
    let mut lines = vec!["JAHISTC08,1".to_owned(), "1,山田　花子,2,19950412,,,,,,,ヤマダ　ハナコ".to_owned()];
    let start = NaiveDate::from_ymd_opt(2020, 1, 1).expect("a date");
    for i in 0..n {
        let date = start + chrono::Days::new(i as u64 * 7);
        lines.push(format!("5,{},1", date.format("%Y%m%d")));
        lines.push(format!("11,ひまわり薬局{i},13,4,1234567,150-0002,東京都渋谷区渋谷２－２,03-9876-5432,1"));
        lines.push("15,鈴木　一郎,03-9876-5432,1".to_owned());
        lines.push("51,さくら産婦人科クリニック,13,1,7654321,1".to_owned());
        lines.push("55,佐藤　恵子,産婦人科,1".to_owned());
        for rp in 1..=3 {
            lines.push(format!("201,{rp},薬品{i}の{rp}錠２００ｍｇ,{rp},錠,2,{:09},1", 620_000_000 + i * 3 + rp));
            lines.push(format!("281,{rp},補足{i},1"));
            lines.push(format!("301,{rp},１日{rp}回毎食後,{},日分,1,1,,1", 7 + rp));
        }
        lines.push("401,他の薬との飲み合わせは薬剤師に相談してください,1".to_owned());
        lines.push("501,次回は２週間後,1".to_owned());
    }
    lines.join("\r\n") + "\r\n"
}

fn benches(c: &mut Criterion) {
    let today = NaiveDate::from_ymd_opt(2026, 12, 5).expect("a date");
    let text = notebook(100);
    let file = nb::to_shift_jis(&text).expect("Shift_JIS");
    let imported = nb::import_bytes(&file, today, None).expect("the notebook imports");
    assert_eq!(imported.medications().count(), 300);
    c.bench_function("notebook_import_100_dispensings", |b| {
        b.iter(|| nb::import_bytes(black_box(&file), today, None).expect("imports"))
    });

    // Sized so the export of 40 dispensings needs exactly 20 QR codes.
    let meds: Vec<_> =
        nb::import_texts(&[notebook(40)], today, None).expect("imports").medications().cloned().collect();
    let export = nb::export_text(&meds, None);
    let bytes = nb::to_shift_jis(&export).expect("Shift_JIS").len();
    let per_part = bytes / 19;
    let mut parts = nb::qr_chunks(&export, per_part, "20261205120000").expect("chunks");
    assert!((18..=22).contains(&parts.len()), "{} parts", parts.len());
    parts.reverse();
    eprintln!("qr parts: {} of at most {per_part} bytes", parts.len());
    c.bench_function("qr_reassembly_20_parts", |b| b.iter(|| assemble(black_box(&parts)).expect("whole")));
    c.bench_function("qr_import_20_parts", |b| {
        b.iter(|| nb::import_texts(black_box(&parts), today, None).expect("imports"))
    });
}

criterion_group!(notebook_benches, benches);
criterion_main!(notebook_benches);
