//! The server as an operator runs it: start on the embedded default, keys
//! created with mode 0600, health and version, restart, graceful SIGTERM,
//! clear failure on a bad database URL. Runs on every configured backend.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use phr_tests::{http, json_response, ServerOptions, ServerProcess, TestDatabase};

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");

fn start(data_dir: &Path, db: Option<&TestDatabase>) -> ServerProcess {
    ServerProcess::start(ServerOptions {
        binary: Path::new(BIN),
        data_dir,
        database_url: db.map(TestDatabase::url),
        extra_args: vec![],
        env: vec![],
        text_logs: false,
        fd_soft_limit: None,
    })
}

#[test]
fn server_starts_on_the_embedded_sqlite_default_with_no_setup() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = start(&data, None);
    let (status, body) = json_response(http().get(&server.url("/healthz")).call());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "sqlite");
    assert!(data.join("phr.db").is_file(), "SQLite file is created in the data dir");
    let logs = server.logs();
    assert!(!logs.iter().any(|l| l.contains("database is locked")), "a fresh database logs no lock errors: {logs:?}");
}

#[test]
fn a_closed_log_pipe_neither_crashes_the_server_nor_stops_a_graceful_shutdown() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(tmp.path())
        .env_remove("PHR_DATABASE_URL")
        .stderr(std::process::Stdio::piped());
    phr_tests::die_with_parent(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = lines.by_ref().map_while(Result::ok).find_map(|l| phr_tests::listening_addr(&l)).expect("listening");
    drop(lines); // the log reader goes away, as when a log collector dies
    for _ in 0..3 {
        let (status, _) = json_response(http().get(&format!("http://{addr}/healthz")).call());
        assert_eq!(status, 200);
    }
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) }, 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "server ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
}

#[test]
fn first_run_creates_server_keys_readable_only_by_the_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path(), None);
    let keys = tmp.path().join("keys");
    assert_eq!(std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777, 0o700);
    let files: Vec<_> = std::fs::read_dir(&keys).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(files.iter().any(|f| f.file_name().unwrap().to_string_lossy().starts_with("view-")));
    assert!(files.iter().any(|f| f.file_name().unwrap().to_string_lossy().starts_with("token-")));
    for f in &files {
        assert_eq!(std::fs::metadata(f).unwrap().permissions().mode() & 0o777, 0o600, "{}", f.display());
    }
    drop(server);
}

phr_tests::backend_test! {
    fn healthz_and_version_answer_on_every_configured_backend(db) {
        let tmp = tempfile::tempdir().unwrap();
        let server = start(tmp.path(), Some(&db));
        let (status, body) = json_response(http().get(&server.url("/healthz")).call());
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["database"], db.target.backend_name());
        let (status, version) = json_response(http().get(&server.url("/version")).call());
        assert_eq!(status, 200);
        assert_eq!(version["name"], "phr-server");
        assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
        assert!(version["api"]["sync"].as_array().unwrap().contains(&"v1".into()));
    }
}

#[test]
fn restart_keeps_the_keys_and_the_instance_id() {
    let tmp = tempfile::tempdir().unwrap();
    let key_names = || {
        let mut v: Vec<_> = std::fs::read_dir(tmp.path().join("keys"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let first = start(tmp.path(), None);
    let (_, v1) = json_response(http().get(&first.url("/version")).call());
    let keys_before = key_names();
    drop(first);
    let second = start(tmp.path(), None);
    let (_, v2) = json_response(http().get(&second.url("/version")).call());
    assert_eq!(v1["instance_id"], v2["instance_id"]);
    assert_eq!(keys_before, key_names());
}

#[test]
fn sigterm_stops_the_server_gracefully_with_exit_code_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = start(tmp.path(), None);
    server.signal(libc::SIGTERM);
    let status = server.wait_for_exit(Duration::from_secs(20)).expect("server did not stop within 20 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
    assert!(server.logs().iter().any(|l| l.contains("\"stopped\"")), "logs: {:?}", server.logs());
}

#[test]
fn unknown_routes_get_a_problem_json_404_with_a_request_id() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path(), None);
    let resp = http().get(&server.url("/no/such/thing")).call().unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(resp.headers().get("content-type").unwrap(), "application/problem+json");
    assert!(resp.headers().get("x-request-id").is_some());
    let (status, body) = json_response(http().get(&server.url("/no/such/thing")).call());
    assert_eq!(status, 404);
    assert_eq!(body["status"], 404);
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("no route"), "{detail}");
    assert!(!detail.contains("/no/such/thing"), "the raw path is never repeated: {detail}");
}

#[test]
fn a_mistyped_database_url_is_a_config_error_and_creates_no_sqlite_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(tmp.path())
        .args(["--database-url", "postgress://postgres@127.0.0.1/phr"])
        .env_remove("PHR_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL scheme"));
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "nothing may be created: {leftovers:?}");
}

/// A server on `db` in `data_dir` (SQLite: the embedded default `data_dir/phr.db`).
fn start_in(data_dir: &Path, db: &TestDatabase, env: &[(&str, &str)]) -> ServerProcess {
    let embedded = matches!(db.target, phr_server::store::DatabaseTarget::Sqlite(_));
    ServerProcess::start(ServerOptions {
        binary: Path::new(BIN),
        data_dir,
        database_url: if embedded { None } else { Some(db.url()) },
        extra_args: vec![],
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        text_logs: false,
        fd_soft_limit: None,
    })
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// The `path` fields of the server's WARN lines, with their messages.
fn warned_paths(server: &ServerProcess) -> Vec<(String, String)> {
    server
        .logs()
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["level"] == "WARN")
        .filter_map(|v| {
            let path = v["fields"]["path"].as_str()?.to_owned();
            Some((path, v["fields"]["message"].as_str().unwrap_or_default().to_owned()))
        })
        .collect()
}

phr_tests::backend_test! {
    /// Item 5 of issue 12: a data directory an older version (or an operator)
    /// left accessible to others — the directory 0755, the SQLite file and a
    /// research extract 0644 — is warned about at start, one line per path,
    /// relative to the data directory, naming `--fix-permissions`, and left
    /// as it is; started with `PHR_FIX_PERMISSIONS=true` the server tightens
    /// every such directory to 0700 and file to 0600, after which a start
    /// warns about nothing.
    fn a_data_dir_left_readable_by_others_is_warned_about_at_start_and_fix_permissions_tightens_it(db) {
        // SAFETY: umask(2) only sets this test process's creation mask; servers inherit it.
        unsafe { libc::umask(0o022) };
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let sqlite = matches!(db.target, phr_server::store::DatabaseTarget::Sqlite(_));
        drop(start_in(&data, &db, &[]));

        // What an older version left behind.
        let old = data.join("research").join("old-export");
        std::fs::create_dir_all(&old).unwrap();
        std::fs::write(old.join("Patient.ndjson"), "{}\n").unwrap();
        let loose_dirs = [data.clone(), data.join("research"), old.clone()];
        for dir in &loose_dirs {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut loose_files = vec![old.join("Patient.ndjson")];
        if sqlite {
            loose_files.push(data.join("phr.db"));
        }
        for file in &loose_files {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }

        let server = start_in(&data, &db, &[]);
        let warned = warned_paths(&server);
        let paths: Vec<&str> = warned.iter().map(|(p, _)| p.as_str()).collect();
        let mut expected = vec![".", "research", "research/old-export", "research/old-export/Patient.ndjson"];
        if sqlite {
            expected.push("phr.db");
        }
        for path in &expected {
            assert!(paths.contains(path), "{path} is warned about: {warned:?}");
        }
        for (path, message) in &warned {
            assert!(message.contains("--fix-permissions"), "{path}: {message}");
            assert!(!path.contains(&*data.to_string_lossy()), "relative to the data dir: {path}");
        }
        assert_eq!(mode(&data), 0o755, "a warning changes nothing");
        assert_eq!(mode(&loose_files[0]), 0o644, "a warning changes nothing");
        drop(server);

        let server = start_in(&data, &db, &[("PHR_FIX_PERMISSIONS", "true")]);
        for dir in &loose_dirs {
            assert_eq!(mode(dir), 0o700, "{}", dir.display());
        }
        for file in &loose_files {
            assert_eq!(mode(file), 0o600, "{}", file.display());
        }
        assert!(warned_paths(&server).is_empty(), "{:?}", warned_paths(&server));
        drop(server);

        let server = start_in(&data, &db, &[]);
        assert!(warned_paths(&server).is_empty(), "nothing left to warn about: {:?}", warned_paths(&server));
    }
}
