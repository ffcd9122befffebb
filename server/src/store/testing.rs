//! Databases for tests: a SQLite file in a temporary directory, and — when
//! `PHR_TEST_POSTGRES_URL` names a PostgreSQL server — a uniquely named
//! PostgreSQL database created for the test and dropped afterwards.
//!
//! `PHR_TEST_POSTGRES_URL` is an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`; tests never touch the
//! database it names, only the ones they create.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::store::DatabaseTarget;

/// The env var that turns on the PostgreSQL runs of the test suites.
pub const POSTGRES_URL_ENV: &str = "PHR_TEST_POSTGRES_URL";

/// A database that exists for one test.
pub struct TestDatabase {
    pub target: DatabaseTarget,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh SQLite file in its own temporary directory.
    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("cannot create a temporary directory for the test database");
        TestDatabase { target: DatabaseTarget::Sqlite(dir.path().join("phr.db")), _dir: Some(dir), postgres: None }
    }

    /// A fresh PostgreSQL database, if `PHR_TEST_POSTGRES_URL` is set.
    pub fn postgres() -> Option<TestDatabase> {
        let admin_url = std::env::var(POSTGRES_URL_ENV).ok().filter(|u| !u.trim().is_empty())?;
        let name = format!("phr_test_{}_{}", std::process::id(), uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_ENV} is set but PostgreSQL is unreachable: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        Some(TestDatabase {
            target: DatabaseTarget::Postgres(with_database(&admin_url, &name)),
            _dir: None,
            postgres: Some((admin_url, name)),
        })
    }

    /// Refreshes the planner statistics, as PostgreSQL's autovacuum does on its own within a
    /// minute of a bulk load (where it runs: this machine's CI cluster has `autovacuum = off`,
    /// so it would never happen there): a bench that loads its data and measures at once would otherwise
    /// measure plans made for empty tables (a one-family search joined 2,000 rows in a nested
    /// loop: 370 ms instead of about 1). SQLite keeps no statistics unless asked (`ANALYZE`),
    /// and the server does not ask, so it is left as the server leaves it.
    pub fn analyze(&self) -> Result<(), String> {
        match &self.target {
            DatabaseTarget::Postgres(url) => PgConnection::establish(url)
                .map_err(|e| format!("cannot connect to the bench database: {e}"))?
                .batch_execute("ANALYZE")
                .map_err(|e| format!("ANALYZE failed: {e}")),
            DatabaseTarget::Sqlite(_) => Ok(()),
        }
    }

    /// The URL to pass as `--database-url`.
    pub fn url(&self) -> String {
        match &self.target {
            DatabaseTarget::Postgres(url) => url.clone(),
            DatabaseTarget::Sqlite(path) => format!("sqlite://{}", path.display()),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// The same server URL with another database name.
pub fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    match query {
        Some(q) => format!("{scheme}://{authority}/{database}?{q}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}

/// Declares a test once per backend, as `NAME::sqlite` and `NAME::postgres`
/// (the PostgreSQL one prints `SKIPPED …` and passes when
/// `PHR_TEST_POSTGRES_URL` is unset), so a failure on one backend has a name
/// and runs alone: `store_test! { fn name(db) { … } }`, `db` a [`TestDatabase`].
#[macro_export]
macro_rules! store_test {
    ($(#[$meta:meta])* fn $name:ident($db:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn scenario($db: $crate::store::testing::TestDatabase) $body

            #[test]
            fn sqlite() {
                scenario($crate::store::testing::TestDatabase::sqlite())
            }

            #[test]
            fn postgres() {
                match $crate::store::testing::TestDatabase::postgres() {
                    Some(db) => scenario(db),
                    None => eprintln!(
                        "SKIPPED {}::postgres: set {} to run it",
                        module_path!(),
                        $crate::store::testing::POSTGRES_URL_ENV
                    ),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn with_database_swaps_only_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://h:5432", "x"), "postgres://h:5432/x");
        assert_eq!(with_database("postgresql://u:p@h/db?sslmode=disable", "x"), "postgresql://u:p@h/x?sslmode=disable");
    }
}
