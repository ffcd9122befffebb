//! Looking behind the API: the database a test server runs on, and the raw
//! HTTP answers (status, content type, problem body) the API gives.
//!
//! [`Inspector`] opens its own pool on a [`TestDatabase`] (the server keeps
//! running) and finds the account-owned tables from the database catalogue,
//! not from a list in the test, so a table added later is covered too.
//! [`AccountSnapshot`] is everything stored for one account, to show that a
//! rejected request stored nothing.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use phr_server::store::schema::{accounts, records};
use phr_server::store::{DbConnection, DbPool};
use serde_json::Value;

use crate::{http, TestDatabase};

/// A direct view of a test server's database.
pub struct Inspector {
    pool: DbPool,
}

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    table_name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// One stored record version: its plain metadata and its ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct StoredRecord {
    pub record_id: String,
    pub version: i64,
    pub seq: i64,
    pub deleted: bool,
    pub envelope: Vec<u8>,
    pub wrapped_key: Vec<u8>,
}

/// Everything stored for one account: rows per account-owned table, the
/// account's counters, and its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSnapshot {
    pub rows: BTreeMap<String, i64>,
    /// `(change_seq, record_count)`, `None` if the account row is gone.
    pub counters: Option<(i64, i64)>,
    pub records: Vec<StoredRecord>,
}

impl AccountSnapshot {
    /// Like `self`, but ignoring the append-only audit log (sign-in attempts
    /// are audited whatever their outcome, by design).
    pub fn without_audit(mut self) -> AccountSnapshot {
        self.rows.remove("audit_events");
        self
    }
}

impl Inspector {
    /// Opens a small pool on the test database (migrations are already applied by the server).
    pub fn open(db: &TestDatabase) -> Inspector {
        let (pool, _) = phr_server::store::open(&db.target, 2).expect("open the test database");
        Inspector { pool }
    }

    pub fn conn(&self) -> phr_server::store::PooledDb {
        self.pool.get().expect("database connection")
    }

    /// Every table with an `account_id` column, from the catalogue, sorted.
    pub fn account_tables(&self) -> Vec<String> {
        let mut conn = self.conn();
        let names: Vec<TableName> = match &mut *conn {
            DbConnection::Sqlite(c) => diesel::sql_query(
                "SELECT m.name AS table_name FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND p.name = 'account_id' ORDER BY m.name",
            )
            .load(c),
            // Tables and partitioned tables, not their partitions: a family's rows are counted
            // once, under the table the server writes.
            DbConnection::Postgresql(c) => diesel::sql_query(
                "SELECT c.relname::text AS table_name FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 JOIN pg_attribute a ON a.attrelid = c.oid \
                 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
                 AND a.attname = 'account_id' AND NOT a.attisdropped ORDER BY c.relname",
            )
            .load(c),
        }
        .expect("list the account tables");
        let tables: Vec<String> = names.into_iter().map(|t| t.table_name).collect();
        for known in ["accounts", "devices", "records", "refresh_tokens", "audit_events"] {
            assert!(tables.iter().any(|t| t == known), "catalogue query missed {known}: {tables:?}");
        }
        tables
    }

    /// Rows with `account_id = account` in `table`.
    pub fn count_rows(&self, table: &str, account: &str) -> i64 {
        assert!(table.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'), "odd table name {table:?}");
        let mut conn = self.conn();
        let counted: Count = match &mut *conn {
            DbConnection::Sqlite(c) => {
                diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table} WHERE account_id = ?"))
                    .bind::<Text, _>(account)
                    .get_result(c)
            }
            DbConnection::Postgresql(c) => {
                diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table} WHERE account_id = $1"))
                    .bind::<Text, _>(account)
                    .get_result(c)
            }
        }
        .unwrap_or_else(|e| panic!("count rows of {table}: {e}"));
        counted.n
    }

    /// Rows of `account` in every account-owned table.
    pub fn rows_per_table(&self, account: &str) -> BTreeMap<String, i64> {
        self.account_tables().into_iter().map(|t| (t.clone(), self.count_rows(&t, account))).collect()
    }

    /// All rows of a table, whatever the account (for global tables such as `accounts`).
    pub fn total_rows(&self, table: &str) -> i64 {
        assert!(table.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'), "odd table name {table:?}");
        let mut conn = self.conn();
        let query = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"));
        let counted: Count = phr_server::on_backend!(&mut *conn, c => query.get_result(c))
            .unwrap_or_else(|e| panic!("count rows of {table}: {e}"));
        counted.n
    }

    /// `(change_seq, record_count)` of an account.
    pub fn counters(&self, account: &str) -> Option<(i64, i64)> {
        accounts::table
            .find(account)
            .select((accounts::change_seq, accounts::record_count))
            .first(&mut *self.conn())
            .optional()
            .expect("read the account counters")
    }

    /// The account's stored records in sequence order.
    pub fn records(&self, account: &str) -> Vec<StoredRecord> {
        records::table
            .filter(records::account_id.eq(account))
            .order(records::seq.asc())
            .select((
                records::record_id,
                records::version,
                records::seq,
                records::deleted,
                records::envelope,
                records::wrapped_key,
            ))
            .load(&mut *self.conn())
            .expect("read the account's records")
    }

    pub fn snapshot(&self, account: &str) -> AccountSnapshot {
        AccountSnapshot {
            rows: self.rows_per_table(account),
            counters: self.counters(account),
            records: self.records(account),
        }
    }
}

/// An HTTP answer with what the problem checks need.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    /// The JSON body; `Null` when empty, a JSON string when not JSON.
    pub body: Value,
}

impl Reply {
    /// Asserts an RFC 9457 problem answer with `status`; returns its `detail`.
    #[track_caller]
    pub fn problem(&self, status: u16) -> String {
        assert_eq!(self.status, status, "expected a {status} problem, got {self:?}");
        assert_eq!(self.content_type, "application/problem+json", "problem content type: {self:?}");
        assert_eq!(self.body["status"], status, "problem body status: {self:?}");
        assert!(self.body["type"].as_str().is_some_and(|t| !t.is_empty()), "problem type: {self:?}");
        assert!(self.body["title"].as_str().is_some_and(|t| !t.is_empty()), "problem title: {self:?}");
        let detail = self.body["detail"].as_str().unwrap_or_default().to_owned();
        assert!(!detail.is_empty(), "problem detail: {self:?}");
        detail
    }
}

impl Reply {
    /// Asserts a FHIR OperationOutcome answer (`application/fhir+json`) with
    /// `status`; returns its issues' diagnostics joined by `; ` (the body is
    /// also written to the FHIR dump directory for the CI validators).
    #[track_caller]
    pub fn outcome(&self, status: u16) -> String {
        assert_eq!(self.status, status, "expected a {status} OperationOutcome, got {self:?}");
        assert_eq!(self.content_type, "application/fhir+json", "OperationOutcome content type: {self:?}");
        assert_eq!(self.body["resourceType"], "OperationOutcome", "{self:?}");
        let issues = self.body["issue"].as_array().cloned().unwrap_or_default();
        assert!(!issues.is_empty(), "an OperationOutcome has at least one issue: {self:?}");
        assert!(issues.iter().all(|i| i["code"].is_string() && i["severity"].is_string()), "{self:?}");
        crate::fhir::dump(&self.body.to_string());
        let diagnostics: Vec<&str> = issues.iter().filter_map(|i| i["diagnostics"].as_str()).collect();
        assert!(!diagnostics.is_empty(), "OperationOutcome diagnostics: {self:?}");
        diagnostics.join("; ")
    }
}

/// Sends any request: raw body bytes with an explicit content type (or
/// none), and an optional bearer token, so tests can send what no honest
/// client would.
pub fn send(method: &str, url: &str, token: Option<&str>, content_type: Option<&str>, body: Option<&[u8]>) -> Reply {
    let headers: Vec<(&str, &str)> = content_type.map(|ct| ("Content-Type", ct)).into_iter().collect();
    send_with_headers(method, url, token, &headers, body).0
}

/// Any request (GET, DELETE, POST, PUT) with extra `headers`, an optional
/// bearer token and an optional body: the answer as a [`Reply`] and its
/// headers (lower-case names).
pub fn send_with_headers(
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> (Reply, HashMap<String, String>) {
    let agent = http();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    if let Some(a) = &auth {
        all.push(("Authorization", a));
    }
    let resp = match method {
        "GET" | "DELETE" => {
            let mut req = if method == "GET" { agent.get(url) } else { agent.delete(url) };
            for (n, v) in &all {
                req = req.header(*n, *v);
            }
            req.call()
        }
        "POST" | "PUT" => {
            let mut req = if method == "POST" { agent.post(url) } else { agent.put(url) };
            for (n, v) in &all {
                req = req.header(*n, *v);
            }
            match body {
                Some(b) => req.send(b),
                None => req.send_empty(),
            }
        }
        other => panic!("unsupported method {other}"),
    };
    let mut resp = resp.unwrap_or_else(|e| panic!("{method} {url} failed: {e}"));
    let status = resp.status().as_u16();
    let headers: HashMap<String, String> = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let content_type = headers.get("content-type").cloned().unwrap_or_default();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (Reply { status, content_type, body }, headers)
}

/// POSTs a JSON body as given (it need not be valid JSON).
pub fn post_json(url: &str, token: Option<&str>, body: &str) -> Reply {
    send("POST", url, token, Some("application/json"), Some(body.as_bytes()))
}
