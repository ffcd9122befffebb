//! `phr-tests`: end-to-end tests across crates, and the benchmark binaries.
//!
//! [`ServerProcess`] starts a real `phr-server` process on a free loopback
//! port (the server picks it: `--listen 127.0.0.1:0`, and we read the address
//! from its JSON log), against a database made for the test
//! ([`phr_server::store::testing::TestDatabase`]: SQLite always, PostgreSQL when
//! `PHR_TEST_POSTGRES_URL` is set). Tests then talk HTTP to it like any client.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use phr_server::store::testing::TestDatabase;
pub use phr_server::store::testing::POSTGRES_URL_ENV;

/// Declares one end-to-end scenario once per storage backend, by name:
///
/// ```ignore
/// backend_test! {
///     fn a_removed_device_cannot_redeem_its_pairing_codes(db) {
///         let (_dir, server) = start_server(&bin, &db, &[]);
///         …
///     }
/// }
/// ```
///
/// becomes the module `a_removed_device_cannot_redeem_its_pairing_codes` with
/// two tests, `…::sqlite` and `…::postgres`, so a PostgreSQL failure has its
/// own name and runs alone (`cargo test -p phr-tests NAME::postgres`). The
/// PostgreSQL one prints a visible skip line and passes when
/// `PHR_TEST_POSTGRES_URL` is unset. The body sees the enclosing file's items
/// (`use super::*`) and takes the database by value.
#[macro_export]
macro_rules! backend_test {
    ($(#[$meta:meta])* fn $name:ident($db:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn scenario($db: $crate::TestDatabase) $body

            #[test]
            fn sqlite() {
                scenario($crate::TestDatabase::sqlite())
            }

            #[test]
            fn postgres() {
                match $crate::TestDatabase::postgres() {
                    Some(db) => scenario(db),
                    None => eprintln!(
                        "SKIPPED {}::postgres: set {} to run it",
                        module_path!(),
                        $crate::POSTGRES_URL_ENV
                    ),
                }
            }
        }
    };
}

pub mod bench;
pub mod client;
pub mod dataset_doc;
pub mod emergency;
pub mod families;
pub mod fhir;
pub mod fuzz;
pub mod inspect;
pub mod passkey;
pub mod portal;

/// A running `phr-server serve` process. Killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub data_dir: PathBuf,
    logs: Arc<Mutex<Vec<String>>>,
    log_reader: Option<std::thread::JoinHandle<()>>,
}

/// How to start a server.
pub struct ServerOptions<'a> {
    pub binary: &'a Path,
    pub data_dir: &'a Path,
    /// `None`: the embedded default (SQLite file in the data dir).
    pub database_url: Option<String>,
    pub extra_args: Vec<String>,
    /// Extra environment variables for the server process.
    pub env: Vec<(String, String)>,
    /// `--log-format text` instead of `json` (the address is then read from the text line).
    pub text_logs: bool,
    /// Lower the server's soft `RLIMIT_NOFILE` to this before it starts
    /// (the hard limit stays), as on a host with a 1,024 default.
    pub fd_soft_limit: Option<u64>,
}

impl ServerProcess {
    /// Starts the server and waits (up to 60 s) until it listens.
    pub fn start(opts: ServerOptions<'_>) -> ServerProcess {
        ServerProcess::start_on(opts, "127.0.0.1:0")
    }

    /// [`ServerProcess::start`] on a given `--listen` address (a node behind a load
    /// balancer comes back on the port the balancer knows).
    pub fn start_on(opts: ServerOptions<'_>, listen: &str) -> ServerProcess {
        let mut cmd = Command::new(opts.binary);
        cmd.arg("--log-format")
            .arg(if opts.text_logs { "text" } else { "json" })
            .arg("serve")
            .arg("--listen")
            .arg(listen)
            .arg("--data-dir")
            .arg(opts.data_dir)
            .args(&opts.extra_args)
            .env_remove("PHR_DATABASE_URL")
            .env("PHR_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd.envs(opts.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        die_with_parent(&mut cmd);
        if let Some(limit) = opts.fd_soft_limit {
            lower_fd_soft_limit(&mut cmd, limit);
        }
        if let Some(url) = &opts.database_url {
            cmd.arg("--database-url").arg(url);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", opts.binary.display()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&logs);
        let log_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(addr) = rx.recv_timeout(Duration::from_millis(50)) {
                return ServerProcess {
                    child,
                    base_url: format!("http://{addr}"),
                    data_dir: opts.data_dir.to_owned(),
                    logs,
                    log_reader: Some(log_reader),
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!("server exited with {status} before listening; logs:\n{}", logs.lock().unwrap().join("\n"));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("server did not listen within 60 s; logs:\n{}", logs.lock().unwrap().join("\n"));
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server logged so far (JSON lines, or text lines with `text_logs`).
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sends a signal (e.g. `libc::SIGTERM`) to the server process.
    pub fn signal(&self, signal: i32) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with the pid of our own child process; no memory is touched.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                // The pipe is closed: let the reader take in the last lines.
                if let Some(reader) = self.log_reader.take() {
                    let _ = reader.join();
                }
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `binary` as a server on `db` with its own temporary data directory
/// (returned, so it lives as long as the test needs it).
pub fn start_server(binary: &Path, db: &TestDatabase, extra_args: &[&str]) -> (tempfile::TempDir, ServerProcess) {
    let dir = tempfile::tempdir().expect("temporary data directory");
    let server = ServerProcess::start(ServerOptions {
        binary,
        data_dir: dir.path(),
        database_url: Some(db.url()),
        extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        env: vec![],
        text_logs: false,
        fd_soft_limit: None,
    });
    (dir, server)
}

/// Makes the child get SIGKILL when its parent dies, so a crashed or killed
/// test run never leaves servers behind. Linux ties this to the *thread* that
/// spawned the child: start servers from the test's own thread, not from a
/// helper thread that exits early.
pub fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl(2) is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Sets the child's soft `RLIMIT_NOFILE` to `limit` (never above its hard limit).
pub fn lower_fd_soft_limit(cmd: &mut Command, limit: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: getrlimit/setrlimit are async-signal-safe and only touch the local struct.
    unsafe {
        cmd.pre_exec(move || {
            let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every target
            let soft = limit.min(rl.rlim_max as u64) as libc::rlim_t;
            rl.rlim_cur = soft;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rl) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The `addr` of a `{"fields":{"message":"listening","addr":"…"}}` log line,
/// or of a text line `… listening addr=…`.
pub fn listening_addr(line: &str) -> Option<String> {
    if !line.starts_with('{') {
        let (before, after) = line.split_once(" addr=")?;
        return before.ends_with("listening").then(|| after.split_whitespace().next().unwrap_or("").to_owned());
    }
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = v.get("fields")?;
    if fields.get("message")?.as_str()? != "listening" {
        return None;
    }
    fields.get("addr")?.as_str().map(str::to_owned)
}

/// An HTTP agent that returns 4xx/5xx responses instead of erroring on them.
///
/// Idle connections are reused for at most 2 s: the server closes them after
/// 5 s (actix-web's keep-alive), and a request written into a connection the
/// server is closing at that moment fails with "connection reset". Devices
/// that all went idle together (signed in together, then pushed together
/// after preparing their batches) hit that race together.
pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .max_idle_age(Duration::from_secs(2))
        .build()
        .into()
}

/// Reads a response as (status, JSON body); a non-JSON body is an error naming the status.
pub fn json_response(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, serde_json::Value) {
    let mut resp = resp.expect("HTTP request failed");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().expect("cannot read response body");
    let json =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text}"));
    (status, json)
}

/// POSTs a JSON body over a fresh connection whose local end is bound to
/// `source` (any of 127.0.0.0/8 is loopback on Linux), so a test can play a
/// client at another address than the others (the server sees it as the
/// connection's peer). Returns the status code. `base_url` is `http://IP:PORT`.
pub fn post_json_from(source: std::net::Ipv4Addr, base_url: &str, path: &str, body: &str) -> u16 {
    use std::io::{Read, Write};
    use std::net::SocketAddr;

    let server: SocketAddr = base_url.trim_start_matches("http://").parse().expect("http://IP:PORT base URL");
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket.bind(&SocketAddr::new(source.into(), 0).into()).unwrap_or_else(|e| panic!("bind {source}: {e}"));
    socket.connect(&server.into()).unwrap_or_else(|e| panic!("connect {server} from {source}: {e}"));
    let mut stream: std::net::TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("read timeout");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write request");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read response");
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {answer:?}"))
}

/// Runs `binary audit verify` on the server's data dir and database and asserts that every
/// account's hash-chained audit log verifies.
pub fn assert_audit_verifies(binary: &Path, data_dir: &Path, db: &TestDatabase) {
    let out = std::process::Command::new(binary)
        .args(["audit", "verify", "--data-dir"])
        .arg(data_dir)
        .args(["--database-url", &db.url()])
        .env_remove("PHR_DATABASE_URL")
        .output()
        .expect("run audit verify");
    assert!(out.status.success(), "audit verify: {}", String::from_utf8_lossy(&out.stdout));
}
