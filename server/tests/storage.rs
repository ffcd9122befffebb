//! The shared storage suite: the same checks against SQLite and, when
//! `PHR_TEST_POSTGRES_URL` is set, PostgreSQL.

use std::collections::BTreeSet;
use std::path::Path;

use phr_server::store::{self, meta};

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

phr_server::store_test! {
    fn migrations_apply_once_and_a_second_run_applies_nothing(test_db) {
        let (pool, applied) = store::open(&test_db.target, 2).unwrap();
        assert_eq!(applied.len(), migration_names("sqlite").len(), "{}", test_db.target);
        let mut conn = pool.get().unwrap();
        assert!(store::run_migrations(&mut conn).unwrap().is_empty(), "{}", test_db.target);
        drop(conn);
        let (_, again) = store::open(&test_db.target, 2).unwrap();
        assert!(again.is_empty());
    }
}

phr_server::store_test! {
    fn instance_id_is_created_once_and_then_stable(test_db) {
        let (pool, _) = store::open(&test_db.target, 2).unwrap();
        let mut conn = pool.get().unwrap();
        let first = meta::instance_id(&mut conn, 1).unwrap();
        let second = meta::instance_id(&mut conn, 2).unwrap();
        assert_eq!(first, second, "{}", test_db.target);
        assert_eq!(meta::get(&mut conn, meta::INSTANCE_ID).unwrap().as_deref(), Some(first.as_str()));
    }
}

fn set_meta(conn: &mut store::DbConnection, key: &str, value: &str) -> diesel::QueryResult<usize> {
    use diesel::prelude::*;
    use phr_server::store::schema::server_meta;
    diesel::insert_into(server_meta::table)
        .values((server_meta::meta_key.eq(key), server_meta::meta_value.eq(value), server_meta::updated_at.eq(0i64)))
        .execute(conn)
}

phr_server::store_test! {
    fn write_transactions_commit_roll_back_and_wait_for_another_writer(test_db) {
        let (pool, _) = store::open(&test_db.target, 2).unwrap();
        let mut conn = pool.get().unwrap();
        store::write_transaction(&mut conn, |c| set_meta(c, "committed", "1")).unwrap();
        let failed: Result<(), diesel::result::Error> = store::write_transaction(&mut conn, |c| {
            set_meta(c, "rolled-back", "1")?;
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(failed.is_err());
        assert_eq!(meta::get(&mut conn, "committed").unwrap().as_deref(), Some("1"), "{}", test_db.target);
        assert_eq!(meta::get(&mut conn, "rolled-back").unwrap(), None, "{}", test_db.target);

        // A transaction that reads before it writes, started while another
        // connection holds the write lock, waits for it instead of failing
        // with SQLITE_BUSY once the other one commits.
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            let holder = s.spawn(|| {
                let mut conn = pool.get().unwrap();
                store::write_transaction(&mut conn, |c| {
                    set_meta(c, "holder", "1")?;
                    held_tx.send(()).unwrap();
                    // Give the reader time to start while the lock is held; a
                    // slower reader only makes this check weaker, never fail.
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    Ok::<_, diesel::result::Error>(())
                })
            });
            held_rx.recv().unwrap();
            let read_then_write = store::write_transaction(&mut conn, |c| {
                let seen = meta::get(c, "holder")?;
                set_meta(c, "after-holder", &format!("{seen:?}"))
            });
            holder.join().unwrap().unwrap();
            read_then_write.unwrap_or_else(|e| panic!("{}: {e}", test_db.target));
        });
        // SQLite runs the two one after the other; PostgreSQL lets the read
        // go ahead (row locks, not a database lock, order writers there).
        let seen = meta::get(&mut conn, "after-holder").unwrap();
        if test_db.target.backend_name() == "sqlite" {
            assert_eq!(seen.as_deref(), Some("Some(\"1\")"));
        } else {
            assert!(seen.is_some(), "{}", test_db.target);
        }
    }
}
