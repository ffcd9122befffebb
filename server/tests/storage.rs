//! The shared storage suite: the same checks against SQLite and, when
//! `PHR_TEST_POSTGRES_URL` is set, PostgreSQL.

use std::collections::BTreeSet;
use std::path::Path;

use phr_server::db::{self, meta};
use phr_server::test_support::TestDatabase;

fn migration_names(backend: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(backend);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn sqlite_and_postgres_migrations_have_identical_names() {
    let sqlite = migration_names("sqlite");
    let postgres = migration_names("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres, "every migration must exist for both backends under the same name");
    for name in &sqlite {
        for backend in ["sqlite", "postgres"] {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(backend).join(name);
            assert!(dir.join("up.sql").is_file() && dir.join("down.sql").is_file(), "{}", dir.display());
        }
    }
}

#[test]
fn migrations_apply_once_and_a_second_run_applies_nothing() {
    for test_db in TestDatabase::all() {
        let (pool, applied) = db::open(&test_db.target, 2).unwrap();
        assert_eq!(applied.len(), migration_names("sqlite").len(), "{}", test_db.target);
        let mut conn = pool.get().unwrap();
        assert!(db::run_migrations(&mut conn).unwrap().is_empty(), "{}", test_db.target);
        drop(conn);
        let (_, again) = db::open(&test_db.target, 2).unwrap();
        assert!(again.is_empty());
    }
}

#[test]
fn instance_id_is_created_once_and_then_stable() {
    for test_db in TestDatabase::all() {
        let (pool, _) = db::open(&test_db.target, 2).unwrap();
        let mut conn = pool.get().unwrap();
        let first = meta::instance_id(&mut conn, 1).unwrap();
        let second = meta::instance_id(&mut conn, 2).unwrap();
        assert_eq!(first, second, "{}", test_db.target);
        assert_eq!(meta::get(&mut conn, meta::INSTANCE_ID).unwrap().as_deref(), Some(first.as_str()));
    }
}
