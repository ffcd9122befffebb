//! Stateless nodes behind a load balancer (issue 19), on PostgreSQL only: three
//! `phr-server` processes share one database and one data directory (keys, research
//! files) behind HAProxy from Debian (round robin, `GET /healthz` checks), started here
//! on free loopback ports with the balancer's URL as `--public-base-url`.
//!
//! - `every_acknowledged_change_survives_node_kills_and_a_drain_exactly_once_behind_a_balancer`:
//!   50 families (ten with two devices) push and pull through the balancer while one node
//!   is SIGKILLed and restarted twice and another drained with SIGTERM and restarted;
//!   clients retry a push after a failed connection or a 5xx with the same batch id. At
//!   the end every acknowledged change is in its family's pull exactly once with gap-free
//!   versions, conflicts touched only the record edited on two devices, a clinic's FHIR
//!   reads and a research export (kicked off before the faults, downloaded through the
//!   balancer) completed, an export whose node died mid-run was taken over by a live node's
//!   sweeper and run again in full, and every audit chain verifies.
//! - `sync_conflicts_and_fhir_reads_work_through_pgbouncer_in_transaction_mode`: two nodes
//!   with `--pg-prepared-statements off` behind PgBouncer (`pool_mode = transaction`, fewer
//!   server connections than the nodes' pools hold).
//!
//! Without `PHR_TEST_POSTGRES_URL` both print `SKIPPED …` and pass; without haproxy or
//! pgbouncer they do too, except under CI (`CI` set), where a missing tool fails.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use phr_core::consent::{Access, Purpose};
use phr_core::dataset::common::Sex;
use phr_core::dataset::{RecordKind, Subject};
use phr_core::sync::protocol::{Change, ChangeStatus, PulledChange, PushResponse};
use phr_tests::client::{Device, History};
use phr_tests::fhir::{create_grant, grant_of, OrgClient};
use phr_tests::{assert_audit_verifies, http, ServerOptions, ServerProcess, TestDatabase, POSTGRES_URL_ENV};
use serde_json::{json, Value};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_phr-server-e2e");
const CLINIC: &str = "tanaka-clinic";
const RESEARCH: &str = "phr-research";

/// One cluster at a time: both scenarios start several servers on a small machine.
static ONE_CLUSTER: Mutex<()> = Mutex::new(());

// --- preconditions ---------------------------------------------------------------

/// `name` in the sbin directories Debian installs it to, or on `PATH`.
fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    ["/usr/sbin", "/usr/local/sbin", "/sbin"]
        .iter()
        .map(PathBuf::from)
        .chain(std::env::split_paths(&path))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The test's own PostgreSQL database and the tools, or `None` after a visible skip line.
/// Under CI a missing tool is a failure: `.ci/run` installs them.
fn preconditions(test: &str, tools: &[&str]) -> Option<(TestDatabase, Vec<PathBuf>)> {
    if std::env::var(POSTGRES_URL_ENV).map_or(true, |u| u.trim().is_empty()) {
        eprintln!("SKIPPED {test}: the cluster runs on PostgreSQL only; set {POSTGRES_URL_ENV} to run it");
        return None;
    }
    let mut found = Vec::new();
    for tool in tools {
        match find_tool(tool) {
            Some(path) => found.push(path),
            None if std::env::var("CI").is_ok_and(|v| !v.is_empty()) => {
                panic!("{tool} is missing: CI must install it (apt-get install -y haproxy pgbouncer)")
            }
            None => {
                eprintln!("SKIPPED {test}: {tool} is not installed (apt-get install -y haproxy pgbouncer)");
                return None;
            }
        }
    }
    let db = TestDatabase::postgres().expect("PHR_TEST_POSTGRES_URL is set");
    Some((db, found))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on port {port} within 15 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Spawns a helper process (HAProxy, PgBouncer) that dies with the test, its output in `log`.
fn spawn_tool(mut cmd: Command, log: &Path) -> Child {
    let out = std::fs::File::create(log).expect("tool log file");
    let err = out.try_clone().expect("tool log file");
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    phr_tests::die_with_parent(&mut cmd);
    cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

// --- the cluster -------------------------------------------------------------------

/// HAProxy's configuration: round robin over the nodes, each checked with `GET /healthz`
/// every 300 ms (down after 2 failures, up after 2 successes); a failed connection is
/// retried on another node; `X-Forwarded-For` added; `X-Phr-Node` names the node that
/// answered; a CSV status page for the test.
fn haproxy_config(lb_port: u16, stats_port: u16, node_ports: &[u16]) -> String {
    let mut cfg = format!(
        "global\n    maxconn 4096\n\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 60s\n    timeout server 60s\n\
         \x20   timeout http-request 10s\n    timeout http-keep-alive 10s\n    timeout check 2s\n\
         \x20   retries 3\n    option redispatch 1\n    option forwardfor\n\n\
         frontend phr\n    bind 127.0.0.1:{lb_port}\n    default_backend nodes\n\n\
         backend nodes\n    balance roundrobin\n    option httpchk GET /healthz\n    http-check expect status 200\n\
         \x20   default-server inter 300ms fastinter 200ms downinter 300ms fall 2 rise 2\n\
         \x20   http-response set-header X-Phr-Node %s\n"
    );
    for (i, port) in node_ports.iter().enumerate() {
        cfg.push_str(&format!("    server node{} 127.0.0.1:{port} check\n", i + 1));
    }
    cfg.push_str(&format!("\nlisten stats\n    bind 127.0.0.1:{stats_port}\n    stats enable\n    stats uri /stats\n"));
    cfg
}

/// The parts of a `postgres://user@host:port/db` URL PgBouncer's `[databases]` needs.
fn pg_parts(url: &str) -> (String, String, String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split('?').next().unwrap_or(rest);
    let (user, rest) = rest.split_once('@').unwrap_or(("postgres", rest));
    let user = user.split(':').next().unwrap_or(user);
    let (hostport, db) = rest.split_once('/').expect("a database name in the URL");
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    (user.to_owned(), host.to_owned(), port.to_owned(), db.to_owned())
}

struct PgBouncer {
    child: Child,
    /// What the nodes connect to.
    url: String,
}

/// PgBouncer in transaction mode in front of `db`, with 3 server connections for the pool:
/// fewer than the nodes' pools hold, so consecutive transactions of one pooled connection
/// run on different server connections.
fn start_pgbouncer(bin: &Path, dir: &Path, db: &TestDatabase) -> PgBouncer {
    let (user, host, pg_port, name) = pg_parts(&db.url());
    let port = free_port();
    let users = dir.join("pgbouncer-users.txt");
    std::fs::write(&users, format!("\"{user}\" \"\"\n")).unwrap();
    let ini = dir.join("pgbouncer.ini");
    std::fs::write(
        &ini,
        format!(
            "[databases]\n{name} = host={host} port={pg_port} dbname={name}\n\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {}\npool_mode = transaction\ndefault_pool_size = 3\n\
             max_client_conn = 200\nignore_startup_parameters = extra_float_digits\n",
            users.display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(bin);
    // PgBouncer refuses to run as root; it reads its files first, then switches user.
    // SAFETY: geteuid(2) has no preconditions and touches no memory.
    if unsafe { libc::geteuid() } == 0 {
        cmd.args(["-u", "nobody"]);
    }
    cmd.arg(&ini);
    let child = spawn_tool(cmd, &dir.join("pgbouncer.log"));
    wait_for_port(port, "PgBouncer");
    PgBouncer { child, url: format!("postgres://{user}@127.0.0.1:{port}/{name}") }
}

struct Cluster {
    nodes: Vec<Option<ServerProcess>>,
    haproxy: Child,
    pgbouncer: Option<PgBouncer>,
    ports: Vec<u16>,
    /// `http://127.0.0.1:PORT` of the balancer: what every client uses.
    lb: String,
    stats: String,
    /// The database URL of the nodes (PgBouncer's when there is one).
    node_db_url: String,
    args: Vec<String>,
    data: PathBuf,
    dir: tempfile::TempDir,
    db: TestDatabase,
}

impl Cluster {
    fn start(db: TestDatabase, nodes: usize, haproxy: &Path, pgbouncer: Option<&Path>, extra: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (lb_port, stats_port) = (free_port(), free_port());
        let ports: Vec<u16> = (0..nodes).map(|_| free_port()).collect();
        let lb = format!("http://127.0.0.1:{lb_port}");
        let pgbouncer = pgbouncer.map(|bin| start_pgbouncer(bin, dir.path(), &db));
        let node_db_url = pgbouncer.as_ref().map_or_else(|| db.url(), |p| p.url.clone());
        let mut args: Vec<String> = [
            "--public-base-url",
            &lb,
            "--trusted-proxies",
            "127.0.0.1",
            "--workers",
            "2",
            "--db-pool-size",
            "6",
            "--rate-limit-per-device",
            "0",
            "--auth-rate-limit",
            "0",
            "--shutdown-timeout-secs",
            "10",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(&cfg, haproxy_config(lb_port, stats_port, &ports)).unwrap();
        let check = Command::new(haproxy).arg("-c").arg("-q").arg("-f").arg(&cfg).output().expect("haproxy -c");
        assert!(check.status.success(), "haproxy config: {}", String::from_utf8_lossy(&check.stderr));
        let mut hap = Command::new(haproxy);
        hap.arg("-db").arg("-f").arg(&cfg);
        let haproxy = spawn_tool(hap, &dir.path().join("haproxy.log"));
        let mut cluster = Cluster {
            nodes: (0..nodes).map(|_| None).collect(),
            haproxy,
            pgbouncer,
            ports,
            lb,
            stats: format!("http://127.0.0.1:{stats_port}/stats;csv"),
            node_db_url,
            args,
            data,
            dir,
            db,
        };
        // Node 1 first: its first start creates the keys every node shares.
        for i in 0..nodes {
            cluster.start_node(i);
        }
        cluster.wait_until_up(&(0..nodes).collect::<Vec<_>>());
        cluster
    }

    fn start_node(&mut self, i: usize) {
        assert!(self.nodes[i].is_none(), "node {} is running", i + 1);
        let node = ServerProcess::start_on(
            ServerOptions {
                binary: Path::new(BIN),
                data_dir: &self.data,
                database_url: Some(self.node_db_url.clone()),
                extra_args: self.args.clone(),
                env: vec![],
                text_logs: false,
                fd_soft_limit: None,
            },
            &format!("127.0.0.1:{}", self.ports[i]),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let resp = http().get(&node.url("/healthz")).call();
            if resp.is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(Instant::now() < deadline, "node {} is not healthy", i + 1);
            std::thread::sleep(Duration::from_millis(50));
        }
        self.nodes[i] = Some(node);
    }

    /// The HAProxy status (`UP`, `DOWN`, …) of each node.
    fn statuses(&self) -> Vec<String> {
        let Ok(mut resp) = http().get(&self.stats).call() else { return vec![] };
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").trim_start_matches("# ").split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let (Some(px), Some(sv), Some(st)) = (col("pxname"), col("svname"), col("status")) else { return vec![] };
        let mut out = vec![String::new(); self.ports.len()];
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            if f.get(px) == Some(&"nodes") {
                if let Some(n) = f.get(sv).and_then(|s| s.strip_prefix("node")).and_then(|n| n.parse::<usize>().ok()) {
                    out[n - 1] = f.get(st).unwrap_or(&"").to_string();
                }
            }
        }
        out
    }

    /// Waits until HAProxy's health checks take `nodes` into the rotation.
    fn wait_until_up(&self, nodes: &[usize]) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let statuses = self.statuses();
            if nodes.iter().all(|i| statuses.get(*i).is_some_and(|s| s == "UP")) {
                return;
            }
            assert!(Instant::now() < deadline, "nodes {nodes:?} not up in HAProxy: {statuses:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL, as a crash.
    fn kill(&mut self, i: usize) {
        let mut node = self.nodes[i].take().expect("node running");
        node.signal(libc::SIGKILL);
        node.wait_for_exit(Duration::from_secs(20)).expect("the killed node exited");
    }

    /// SIGTERM: the node stops accepting, finishes its in-flight requests and exits 0.
    fn drain(&mut self, i: usize) {
        let mut node = self.nodes[i].take().expect("node running");
        node.signal(libc::SIGTERM);
        let status = node.wait_for_exit(Duration::from_secs(30)).expect("the drained node exited within 30 s");
        assert!(status.success(), "a drained node exits 0: {status}");
        assert!(node.logs().iter().any(|l| l.contains("\"stopped\"")), "the drained node logged its stop");
    }

    fn restart(&mut self, i: usize) {
        self.start_node(i);
        self.wait_until_up(&[i]);
    }

    /// Registers an organization with the admin command on the shared data dir and database.
    fn org(&self, id: &str, scope: &str, kind: &str) -> OrgClient {
        let env: &[(&str, &str)] =
            if self.pgbouncer.is_some() { &[("PHR_PG_PREPARED_STATEMENTS", "off")] } else { &[] };
        OrgClient::register_kind(BIN.as_ref(), env, &self.data, &self.node_db_url, &self.lb, id, scope, kind)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut n) = node.take() {
                n.kill();
            }
        }
        let _ = self.haproxy.kill();
        let _ = self.haproxy.wait();
        if let Some(p) = &mut self.pgbouncer {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        if std::thread::panicking() {
            for log in ["haproxy.log", "pgbouncer.log"] {
                if let Ok(text) = std::fs::read_to_string(self.dir.path().join(log)) {
                    eprintln!("--- {log} (last lines)");
                    let lines: Vec<&str> = text.lines().collect();
                    eprintln!("{}", lines[lines.len().saturating_sub(30)..].join("\n"));
                }
            }
        }
    }
}

// --- clients that retry ------------------------------------------------------------------

/// What one family's devices did, as the answers told them.
#[derive(Default)]
struct Ledger {
    /// Every version an applied change was acknowledged with, per record.
    versions: BTreeMap<Uuid, Vec<u64>>,
    /// The edits (their `edit` ids) of the acknowledged versions.
    edits: BTreeSet<String>,
    pushes: usize,
    changes: usize,
    conflicts: usize,
    /// Conflicting batches whose other changes all applied.
    conflict_batches_with_others_applied: usize,
    retries: usize,
}

fn edit_ids(history: &History) -> Vec<String> {
    history.versions().filter_map(|v| v.edit()?.get("edit")?.as_str().map(str::to_owned)).collect()
}

/// Pushes one batch, retrying with the same batch id after a failed connection or a 5xx
/// (the server answers a retried batch with its first answer).
fn push(dev: &Device, batch_id: Uuid, changes: &[Change], ledger: &mut Ledger) -> PushResponse {
    let body = json!({ "batch_id": batch_id, "changes": changes });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let last = match dev.try_call("POST", "/sync/v1/push", Some(&body)) {
            Ok((200, answer)) => {
                ledger.pushes += 1;
                return serde_json::from_value(answer).expect("push answer");
            }
            Ok((status, answer)) if status >= 500 => format!("{status} {answer}"),
            Ok((status, answer)) => panic!("push answered {status}: {answer}"),
            Err(e) => e,
        };
        ledger.retries += 1;
        assert!(Instant::now() < deadline, "push of batch {batch_id} kept failing for 60 s: {last}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Pulls and merges, retrying a failed page.
fn pull(dev: &mut Device, ledger: &mut Ledger) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match dev.try_pull() {
            Ok(_) => return,
            Err(e) => {
                ledger.retries += 1;
                assert!(Instant::now() < deadline, "pull kept failing for 60 s: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Pushes the device's pending records until all are acknowledged (pulling and merging
/// after a conflict), recording every answer. Only `shared` may conflict.
fn sync(dev: &mut Device, ledger: &mut Ledger, shared: Option<Uuid>) {
    for _ in 0..20 {
        let pending: Vec<Uuid> = dev.records.iter().filter(|(_, r)| r.pending).map(|(id, _)| *id).collect();
        if pending.is_empty() {
            pull(dev, ledger);
            return;
        }
        let changes: Vec<Change> = pending.iter().map(|id| dev.sealed_change(*id)).collect();
        let edits: Vec<Vec<String>> = pending.iter().map(|id| edit_ids(&dev.records[id].history)).collect();
        let answer = push(dev, Uuid::now_v7(), &changes, ledger);
        assert_eq!(answer.results.len(), changes.len(), "one result per change");
        let mut conflicted = false;
        for ((result, change), edits) in answer.results.iter().zip(&changes).zip(edits) {
            assert_eq!(result.record_id, change.record_id, "results in request order");
            let record = dev.records.get_mut(&result.record_id).expect("pushed record");
            match result.status {
                ChangeStatus::Applied => {
                    assert_eq!(result.version, change.base_version + 1, "an applied change is the next version");
                    record.server_version = result.version;
                    record.pending = false;
                    ledger.versions.entry(result.record_id).or_default().push(result.version);
                    ledger.edits.extend(edits);
                    ledger.changes += 1;
                }
                ChangeStatus::Conflict => {
                    assert_eq!(Some(result.record_id), shared, "only the record edited on two devices conflicts");
                    ledger.conflicts += 1;
                    conflicted = true;
                }
            }
        }
        if conflicted && answer.results.len() > 1 {
            ledger.conflict_batches_with_others_applied += 1;
        }
        pull(dev, ledger);
    }
    panic!("sync did not settle in 20 rounds");
}

// --- families ----------------------------------------------------------------------------

struct Family {
    devices: Vec<Device>,
    /// The record both devices edit (families with two devices).
    shared: Option<Uuid>,
    /// Per device, the records only it edits.
    own: Vec<Vec<Uuid>>,
    /// The prenatal visit of a dataset family (what the clinic reads).
    visit: Option<Uuid>,
    ledger: Ledger,
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A churn edit: a body with a unique `edit` id.
fn churn_body(device: usize, round: usize) -> Value {
    json!({ "edit": Uuid::now_v7().to_string(), "device": device, "round": round })
}

/// A family through the balancer: a device (and a second one joined with a pairing code),
/// with dataset records (mother, visit, delivery, newborn, checkup, dose) when `dataset`
/// is `Some(i)` (as the research tests make them: birth dates two days apart, sexes
/// alternating, weights spread), and a record both devices will edit.
fn family(lb: &str, two_devices: bool, dataset: Option<usize>) -> Family {
    let mut first = Device::create_account(lb, "Mother's phone");
    let mut ledger = Ledger::default();
    let mut visit = None;
    if let Some(i) = dataset {
        let birth = d("2026-01-03") + chrono::Duration::days(i as i64 * 2);
        let child_id = Uuid::now_v7();
        let child = Subject::Child(child_id);
        let sex = if i % 2 == 0 { Sex::Female } else { Sex::Male };
        let bodies = phr_tests::families::birth_records(i, "クラスタ", child_id, birth, sex, 2500.0 + 113.0 * i as f64);
        for (subject, body) in bodies {
            let id = Uuid::now_v7();
            if body.kind() == RecordKind::PrenatalVisit {
                visit = Some(id);
            }
            first.edit(id, body.kind(), subject, serde_json::to_value(&body).unwrap());
        }
        sync(&mut first, &mut ledger, None);
        grant_research(&first, child);
    }
    let shared = two_devices.then(|| {
        let id = Uuid::now_v7();
        first.edit(id, RecordKind::SelfVitals, Subject::Mother, churn_body(0, 0));
        sync(&mut first, &mut ledger, None);
        id
    });
    let mut devices = vec![first];
    if two_devices {
        let code = devices[0].pairing_code();
        let mut second =
            Device::join(lb, &devices[0].account_id, &devices[0].account_key_bytes(), &code, "Father's phone")
                .unwrap_or_else(|e| panic!("join: {e:?}"));
        pull(&mut second, &mut ledger);
        devices.push(second);
    }
    let own = vec![Vec::new(); devices.len()];
    Family { devices, shared, own, visit, ledger }
}

/// The family grants the research programme every dataset module but self-vitals (the
/// churn records) for the mother and the child, with the keys of the records it covers.
fn grant_research(device: &Device, child: Subject) {
    let modules: Vec<RecordKind> = RecordKind::MODULES.into_iter().filter(|k| *k != RecordKind::SelfVitals).collect();
    let mut grant = grant_of(RESEARCH, &modules, &[Subject::Mother, child], Access::Read);
    grant.purpose = Purpose::Research;
    create_grant(device, &grant, &device.records_covered_by(&grant));
}

/// One round of a family: each device creates a record, edits one of its older ones and,
/// with two devices, the shared record (the second device's edit of it conflicts), and syncs.
fn churn_round(f: &mut Family, round: usize) {
    for i in 0..f.devices.len() {
        let dev = &mut f.devices[i];
        let own = &mut f.own[i];
        if !own.is_empty() {
            let older = own[(round * 7) % own.len()];
            dev.edit(older, RecordKind::SelfVitals, Subject::Mother, churn_body(i, round));
        }
        let new = Uuid::now_v7();
        dev.edit(new, RecordKind::SelfVitals, Subject::Mother, churn_body(i, round));
        own.push(new);
        if let Some(shared) = f.shared {
            dev.edit(shared, RecordKind::SelfVitals, Subject::Mother, churn_body(i, round));
        }
        sync(dev, &mut f.ledger, f.shared);
    }
}

/// What the final check of one family counted.
#[derive(Default, Debug)]
struct Checked {
    records: usize,
    versions: usize,
    edits: usize,
}

/// Every device syncs what it still has; then a fresh pull from the start holds every
/// acknowledged record once, at the version its last acknowledgement gave, with versions
/// 1..=v each acknowledged exactly once, and exactly the acknowledged edits, each once.
fn settle_and_check(f: &mut Family) -> Checked {
    for dev in &mut f.devices {
        sync(dev, &mut f.ledger, f.shared);
    }
    for dev in &mut f.devices {
        pull(dev, &mut f.ledger);
    }
    if let Some(shared) = f.shared {
        let winners: Vec<Option<&Value>> = f.devices.iter().map(|d| d.current(&shared)).collect();
        assert!(winners.windows(2).all(|w| w[0] == w[1]), "both devices converge on the shared record");
        let lens: Vec<usize> = f.devices.iter().map(|d| d.records[&shared].history.len()).collect();
        assert!(lens.windows(2).all(|w| w[0] == w[1]), "both devices hold the whole history: {lens:?}");
    }
    let dev = &mut f.devices[0];
    let mut pulled: Vec<PulledChange> = Vec::new();
    let mut cursor = 0;
    loop {
        let page = match dev.try_pull_page(cursor, 1000) {
            Ok(page) => page,
            Err(e) => panic!("final pull: {e}"),
        };
        cursor = page.next_cursor;
        pulled.extend(page.changes);
        if !page.more {
            break;
        }
    }
    assert!(pulled.windows(2).all(|w| w[0].seq < w[1].seq), "change numbers increase");
    let ids: BTreeSet<Uuid> = pulled.iter().map(|c| c.record_id).collect();
    assert_eq!(ids.len(), pulled.len(), "no record twice in a pull");
    assert_eq!(ids, f.ledger.versions.keys().copied().collect(), "exactly the acknowledged records are stored");
    let mut checked = Checked::default();
    let mut stored_edits = Vec::new();
    for change in &pulled {
        let mut acked = f.ledger.versions[&change.record_id].clone();
        acked.sort_unstable();
        assert_eq!(
            acked,
            (1..=change.version).collect::<Vec<_>>(),
            "record {}: each version acknowledged exactly once, the last one stored",
            change.record_id
        );
        let history = dev.open(change).unwrap_or_else(|e| panic!("open {}: {e}", change.record_id));
        stored_edits.extend(edit_ids(&history));
        checked.records += 1;
        checked.versions += acked.len();
    }
    let unique: BTreeSet<String> = stored_edits.iter().cloned().collect();
    assert_eq!(unique.len(), stored_edits.len(), "no edit stored twice");
    assert_eq!(unique, f.ledger.edits, "every acknowledged edit is stored, and nothing else");
    checked.edits = unique.len();
    let (status, info) = dev.call("GET", "/accounts/v1", None);
    assert_eq!(status, 200, "{info}");
    assert!(info["change_seq"].as_u64() >= pulled.last().map(|c| c.seq), "{info}");
    checked
}

// --- FHIR and research through the balancer -------------------------------------------------------

/// A GET with a bearer token (none if empty): `Err` for no answer, else (status, body text).
fn get_text(url: &str, token: &str, headers: &[(&str, &str)]) -> Result<(u16, String), String> {
    let mut req = http().get(url);
    if !token.is_empty() {
        req = req.header("Authorization", &format!("Bearer {token}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.call().map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let text = resp.body_mut().with_config().limit(u64::MAX).read_to_string().map_err(|e| e.to_string())?;
    Ok((status, text))
}

/// [`get_text`] with the body parsed as JSON (Null when it is not).
fn get(url: &str, token: &str, headers: &[(&str, &str)]) -> Result<(u16, Value), String> {
    get_text(url, token, headers).map(|(status, text)| (status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// [`get_text`], retried on no answer or a 5xx for up to `secs`.
fn get_text_retrying(url: &str, token: &str, headers: &[(&str, &str)], secs: u64) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let last = match get_text(url, token, headers) {
            Ok((status, body)) if status < 500 => return (status, body),
            Ok((status, body)) => format!("{status} {body}"),
            Err(e) => e,
        };
        assert!(Instant::now() < deadline, "GET {url} kept failing: {last}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// [`get_text_retrying`] with the body parsed as JSON.
fn get_retrying(url: &str, token: &str, headers: &[(&str, &str)], secs: u64) -> (u16, Value) {
    let (status, text) = get_text_retrying(url, token, headers, secs);
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {status} is not JSON ({e}): {text}")))
}

fn total(bundle: &Value) -> u64 {
    bundle["total"].as_u64().unwrap_or_else(|| panic!("no total: {bundle}"))
}

/// The clinic's reads of the granted families through the balancer: the visits as
/// Encounters, and each patient's `$everything`. Returns the number of reads.
fn clinic_reads(clinic: &OrgClient, lb: &str, visits: u64) -> usize {
    let (status, encounters) = get_retrying(&format!("{lb}/fhir/r4/Encounter"), &clinic.token, &[], 30);
    assert_eq!(status, 200, "{encounters}");
    assert_eq!(total(&encounters), visits, "{encounters}");
    let mut reads = 1;
    let patients: BTreeSet<String> = encounters["entry"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["resource"]["subject"]["reference"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    assert_eq!(patients.len() as u64, visits, "one patient per granted family");
    for patient in patients {
        let (status, everything) = get_retrying(&format!("{lb}/fhir/r4/{patient}/$everything"), &clinic.token, &[], 30);
        assert_eq!(status, 200, "{everything}");
        let types: Vec<&str> = everything["entry"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["resource"]["resourceType"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(types.first(), Some(&"Patient"), "{everything}");
        assert_eq!(types.iter().filter(|t| **t == "Encounter").count(), 1, "{everything}");
        reads += 1;
    }
    reads
}

const EXPORT_MODULES: &str = "newborn,child_checkup,immunization,delivery,prenatal_visit";

/// Kicks off a research export through the balancer; returns its status URL.
fn kick_off_export(lb: &str, token: &str) -> String {
    let resp = http()
        .get(&format!("{lb}/research/v1/$export?module={EXPORT_MODULES}"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Prefer", "respond-async")
        .call()
        .expect("kick-off answered");
    assert_eq!(resp.status().as_u16(), 202, "export kick-off");
    let location = resp.headers().get("content-location").and_then(|v| v.to_str().ok()).expect("Content-Location");
    assert!(location.starts_with(&format!("{lb}/research/v1/exports/")), "status URL at the balancer: {location}");
    location.to_owned()
}

/// A research export as a node `kill -9`ed in the middle of its run leaves it: running, held
/// by that run's claim, its heartbeat a minute old, half-written files in the run's directory
/// (`research_e2e` covers a restart of the only server). A sweeper of one of the live nodes must
/// queue it again and a node must run it from the start. Returns its status URL at the balancer
/// and the dead run's directory.
fn export_cut_off_mid_run(cluster: &Cluster) -> (String, PathBuf) {
    use phr_server::app::research::jobs::ExportRequest;
    use phr_server::app::research::kickoff::ExportType;
    let export_id = Uuid::new_v4().to_string();
    let request = ExportRequest {
        modules: vec![
            RecordKind::Newborn,
            RecordKind::ChildCheckup,
            RecordKind::Immunization,
            RecordKind::Delivery,
            RecordKind::PrenatalVisit,
        ],
        resources: vec![ExportType::Observation, ExportType::Patient],
        ignored: Vec::new(),
        since_ms: None,
        request_url: format!("{}/research/v1/$export?module={EXPORT_MODULES}", cluster.lb),
        k: 5,
    };
    let minute_ago = chrono::Utc::now().timestamp_millis() - 60_000;
    let (pool, _) = phr_server::store::open(&cluster.db.target, 1).expect("the cluster's database");
    let mut conn = pool.get().expect("a connection");
    phr_server::store::research::insert(
        &mut conn,
        &phr_server::store::research::ExportRow {
            export_id: export_id.clone(),
            organization_id: RESEARCH.into(),
            state: "running".into(),
            request_json: serde_json::to_string(&request).unwrap(),
            progress: 37,
            records_done: 20,
            manifest_json: None,
            error: None,
            created_at: minute_ago,
            updated_at: minute_ago,
            expires_at: None,
            claim: Some("killed-run".into()),
            attempts: 1,
        },
    )
    .expect("the cut-off export's row");
    let dead_run = cluster.data.join("research").join(&export_id).join("killed-run");
    std::fs::create_dir_all(&dead_run).unwrap();
    std::fs::write(dead_run.join("newborn.csv.part"), "person_id\r\nhalf").unwrap();
    (format!("{}/research/v1/exports/{export_id}", cluster.lb), dead_run)
}

/// How many times the export behind `status_url` was claimed.
fn export_attempts(cluster: &Cluster, status_url: &str) -> i64 {
    let export_id = status_url.rsplit('/').next().unwrap();
    let (pool, _) = phr_server::store::open(&cluster.db.target, 1).expect("the cluster's database");
    let row = phr_server::store::research::get(&mut pool.get().unwrap(), export_id).unwrap().expect("the export");
    row.attempts
}

/// Polls the export through the balancer until it completes; downloads every file of its
/// manifest through the balancer. Returns (NDJSON files, their resources, CSV files, newborn rows).
fn finish_export(lb: &str, status_url: &str, token: &str) -> (usize, u64, usize, usize) {
    let accept = [("Prefer", "respond-async")];
    let deadline = Instant::now() + Duration::from_secs(90);
    let manifest = loop {
        let (status, body) = get_retrying(status_url, token, &accept, 60);
        match status {
            200 => break body,
            202 => {}
            other => panic!("export status {other}: {body}"),
        }
        assert!(Instant::now() < deadline, "the export did not complete within 90 s");
        std::thread::sleep(Duration::from_millis(300));
    };
    let (mut files, mut resources) = (0, 0);
    for out in manifest["output"].as_array().expect("output") {
        let url = out["url"].as_str().expect("url");
        assert!(url.starts_with(lb), "files are served at the balancer: {url}");
        let (status, text) = get_text_retrying(url, token, &accept, 30);
        assert_eq!(status, 200, "{url}: {text}");
        let lines = text.lines().filter(|l| !l.is_empty()).count() as u64;
        assert_eq!(lines, out["count"].as_u64().unwrap(), "{url}: the manifest's count of resources");
        files += 1;
        resources += lines;
    }
    assert!(files > 0, "the export has NDJSON files: {manifest}");
    let (mut csvs, mut newborns) = (0, 0);
    for f in manifest["extension"]["csv"].as_array().expect("CSV files") {
        let url = f["url"].as_str().unwrap();
        let (status, text) = get_text_retrying(url, token, &accept, 30);
        assert_eq!(status, 200, "{url}: {text}");
        assert!(text.lines().next().is_some_and(|h| h.contains(',')), "{url}: a CSV header");
        if f["type"] == "csv:newborn" {
            newborns = text.lines().count() - 1;
        }
        csvs += 1;
    }
    (files, resources, csvs, newborns)
}

/// Sets the flag when dropped, so the client threads stop even if the fault schedule panics.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

// --- the scenarios -----------------------------------------------------------------------------

const FAMILIES: usize = 50;
/// The last ten families have a second device.
const TWO_DEVICE_FAMILIES: usize = 10;
/// The first twelve have dataset records and a research grant; the first six a clinic grant too.
const DATASET_FAMILIES: usize = 12;
const CLINIC_FAMILIES: usize = 6;

#[test]
fn every_acknowledged_change_survives_node_kills_and_a_drain_exactly_once_behind_a_balancer() {
    let _one = ONE_CLUSTER.lock().unwrap_or_else(|p| p.into_inner());
    let test = "every_acknowledged_change_survives_node_kills_and_a_drain_exactly_once_behind_a_balancer";
    let Some((db, tools)) = preconditions(test, &["haproxy"]) else { return };
    let started = Instant::now();
    let mut cluster = Cluster::start(db, 3, &tools[0], None, &[]);
    let lb = cluster.lb.clone();

    // Round robin: successive requests reach different nodes.
    let served_by: HashSet<String> = (0..6)
        .map(|_| {
            let resp = http().get(&format!("{lb}/healthz")).call().expect("the balancer answers");
            resp.headers().get("x-phr-node").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(served_by.len(), 3, "the balancer spreads requests over the three nodes: {served_by:?}");

    let clinic = cluster.org(CLINIC, "system/*.rs", "clinic");
    let research = cluster.org(RESEARCH, "system/*.rs", "research");
    let mut families: Vec<Family> = (0..FAMILIES)
        .map(|i| family(&lb, i >= FAMILIES - TWO_DEVICE_FAMILIES, (i < DATASET_FAMILIES).then_some(i)))
        .collect();
    for f in &families[..CLINIC_FAMILIES] {
        let grant = grant_of(CLINIC, &[RecordKind::PrenatalVisit], &[Subject::Mother], Access::Read);
        create_grant(&f.devices[0], &grant, &[f.visit.expect("a visit")]);
    }
    let setup = started.elapsed();

    // The export starts before the faults; another was cut off with the node running it.
    let export = kick_off_export(&lb, &research.token);
    let (cut_off, dead_run) = export_cut_off_mid_run(&cluster);

    let stop = AtomicBool::new(false);
    let rounds = AtomicUsize::new(0);
    let fhir_reads = AtomicUsize::new(0);
    let fhir_retries = AtomicUsize::new(0);
    let (kills, drains, export_done_before_kills) = std::thread::scope(|s| {
        let stop_on_drop = StopOnDrop(&stop);
        let (stop, rounds) = (&stop, &rounds);
        for f in families.iter_mut() {
            s.spawn(move || {
                let mut round = 0;
                while !stop.load(Ordering::SeqCst) {
                    churn_round(f, round);
                    round += 1;
                    rounds.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(150));
                }
            });
        }
        let (clinic, lb, fhir_reads, fhir_retries) = (&clinic, &lb, &fhir_reads, &fhir_retries);
        let (research, export) = (&research, &export);
        s.spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match get(&format!("{lb}/fhir/r4/Encounter"), &clinic.token, &[]) {
                    Ok((200, bundle)) => {
                        assert_eq!(total(&bundle), CLINIC_FAMILIES as u64, "{bundle}");
                        fhir_reads.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok((status, body)) if status < 500 => panic!("FHIR read answered {status}: {body}"),
                    _ => {
                        fhir_retries.fetch_add(1, Ordering::Relaxed);
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });

        // The faults, while the families push and pull. Node A is the first, B the second.
        let pause = |secs: u64| std::thread::sleep(Duration::from_secs(secs));
        let (a, b) = (0, 1);
        let (mut kills, mut drains) = (0, 0);
        pause(4);
        // Whether the export had finished before the first kill (else a node may die running it).
        let before = get(export, &research.token, &[("Prefer", "respond-async")]).map_or(0, |(status, _)| status);
        for round in 0..2 {
            cluster.kill(a);
            kills += 1;
            pause(2);
            cluster.restart(a);
            pause(3);
            if round == 0 {
                cluster.drain(b);
                drains += 1;
                pause(1);
                cluster.restart(b);
                pause(3);
            }
        }
        pause(2);
        drop(stop_on_drop);
        (kills, drains, before == 200)
    });
    let faults = started.elapsed();

    let mut checked = Checked::default();
    for f in &mut families {
        let c = settle_and_check(f);
        checked.records += c.records;
        checked.versions += c.versions;
        checked.edits += c.edits;
    }
    let sum = |field: fn(&Ledger) -> usize| families.iter().map(|f| field(&f.ledger)).sum::<usize>();
    let conflicts = sum(|l| l.conflicts);
    let conflict_batches = sum(|l| l.conflict_batches_with_others_applied);
    assert!(conflicts > 0, "the families with two devices had conflicts");
    assert!(conflict_batches > 0, "a conflict left the other changes of its batch applied");
    assert!(kills == 2 && drains == 1);

    let final_reads = clinic_reads(&clinic, &lb, CLINIC_FAMILIES as u64);
    let (files, resources, csvs, newborns) = finish_export(&lb, &export, &research.token);
    assert_eq!(newborns, DATASET_FAMILIES, "every consenting family's newborn is in the extract");
    let (taken_files, _, taken_csvs, taken_newborns) = finish_export(&lb, &cut_off, &research.token);
    assert_eq!(
        (taken_files, taken_csvs, taken_newborns),
        (files, csvs, DATASET_FAMILIES),
        "the export cut off mid-run was run again in full by a live node"
    );
    let taken_attempts = export_attempts(&cluster, &cut_off);
    assert!(taken_attempts >= 2, "claimed again after its node died: {taken_attempts} claims");
    assert!(!dead_run.exists(), "the dead run's partial files are removed, never delivered");

    assert_audit_verifies(BIN.as_ref(), &cluster.data, &cluster.db);
    let devices: usize = families.iter().map(|f| f.devices.len()).sum();
    eprintln!(
        "cluster: 3 nodes behind HAProxy; {FAMILIES} families, {devices} devices; {} rounds; \
         {} pushes acknowledged ({} changes), {} client retries; {conflicts} conflicts ({conflict_batches} \
         batches whose other changes applied); node A killed {kills}x, node B drained {drains}x; \
         final check: {} records, {} versions, {} edits each stored exactly once; \
         FHIR: {} Encounter searches during the faults ({} retried), {final_reads} reads after; \
         research export (complete before the first kill: {export_done_before_kills}): {files} NDJSON files \
         ({resources} resources), {csvs} CSV files, {newborns} newborns; an export cut off with its node \
         taken over and completed ({taken_attempts} claims); \
         audit chains verify; setup {:.1}s, faults {:.1}s, total {:.1}s",
        rounds.load(Ordering::Relaxed),
        sum(|l| l.pushes),
        sum(|l| l.changes),
        sum(|l| l.retries),
        checked.records,
        checked.versions,
        checked.edits,
        fhir_reads.load(Ordering::Relaxed),
        fhir_retries.load(Ordering::Relaxed),
        setup.as_secs_f64(),
        (faults - setup).as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    assert!(fhir_reads.load(Ordering::Relaxed) > 0, "FHIR reads completed during the faults");
}

/// Server connections PgBouncer holds to the test database (seen from PostgreSQL).
fn server_connections(db: &TestDatabase) -> i64 {
    use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = PgConnection::establish(&db.url()).expect("direct connection");
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
         AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
    )
    .get_result::<Count>(&mut conn)
    .expect("pg_stat_activity")
    .n
}

#[test]
fn sync_conflicts_and_fhir_reads_work_through_pgbouncer_in_transaction_mode() {
    let _one = ONE_CLUSTER.lock().unwrap_or_else(|p| p.into_inner());
    let test = "sync_conflicts_and_fhir_reads_work_through_pgbouncer_in_transaction_mode";
    let Some((db, tools)) = preconditions(test, &["haproxy", "pgbouncer"]) else { return };
    let cluster = Cluster::start(db, 2, &tools[0], Some(&tools[1]), &["--pg-prepared-statements", "off"]);
    let lb = cluster.lb.clone();
    let clinic = cluster.org(CLINIC, "system/*.rs", "clinic");
    let _research = cluster.org(RESEARCH, "system/*.rs", "research");
    let mut families: Vec<Family> = (0..4).map(|i| family(&lb, i >= 2, Some(i))).collect();
    for f in &families[..2] {
        let grant = grant_of(CLINIC, &[RecordKind::PrenatalVisit], &[Subject::Mother], Access::Read);
        create_grant(&f.devices[0], &grant, &[f.visit.expect("a visit")]);
    }
    for round in 0..6 {
        for f in &mut families {
            churn_round(f, round);
        }
    }
    let mut checked = Checked::default();
    for f in &mut families {
        let c = settle_and_check(f);
        checked.records += c.records;
        checked.edits += c.edits;
    }
    let conflicts: usize = families.iter().map(|f| f.ledger.conflicts).sum();
    assert!(conflicts > 0, "the families with two devices had conflicts");
    let reads = clinic_reads(&clinic, &lb, 2);
    // Two nodes with 6 pooled connections each, served by at most 3 server connections.
    let servers = server_connections(&cluster.db);
    assert!(servers <= 3, "PgBouncer multiplexes the nodes' 12 connections: {servers} server connections");
    assert_audit_verifies(BIN.as_ref(), &cluster.data, &cluster.db);
    eprintln!(
        "pgbouncer (transaction mode, 3 server connections): 2 nodes with --pg-prepared-statements off; \
         {} records and {} edits checked, {conflicts} conflicts, {reads} FHIR reads; \
         {servers} server connections to the database",
        checked.records, checked.edits
    );
}
