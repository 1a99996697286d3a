//! The portal on PostgreSQL: records outlive the process.

use std::net::SocketAddr;

use axum::http::StatusCode;

use crate::{Browser, code_from_outbox, enroll_sms, methods_table};

/// The throwaway PostgreSQL server of the store's tests (or `DATABASE_URL`).
#[path = "../../../../crates/twofa-store-postgres/tests/support/cluster.rs"]
pub(crate) mod cluster;

/// The `twofa-portal` binary, running until dropped.
struct PortalProcess {
    child: std::process::Child,
    addr: SocketAddr,
    /// Kept open: the portal goes on printing its demo accounts, and a
    /// closed pipe would end it.
    stdout: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl PortalProcess {
    /// Starts the binary on a free loopback port with `--database-url`
    /// and fixed keys, and waits until it serves logins.
    fn start(url: &str, log: &std::path::Path) -> Self {
        let mut process = Self::listening(url, log);
        process.wait_ready();
        process
    }

    /// Reads the portal's standard output until it says it serves logins
    /// (the database reached and migrated).
    fn wait_ready(&mut self) {
        for line in self.stdout.by_ref() {
            if line.unwrap().starts_with("Ready:") {
                return;
            }
        }
        panic!("the portal stopped before it was ready");
    }

    /// Starts the binary like [`PortalProcess::start`] and returns as soon
    /// as it listens, ready or not.
    fn listening(url: &str, log: &std::path::Path) -> Self {
        use std::io::BufRead;

        let keys: String = (0..64_u8).map(|i| format!("{:02x}", i ^ 0x5a)).collect();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_twofa-portal"))
            .args(["--demo", "--listen", "127.0.0.1:0", "--database-url", url])
            .env("TWOFA_PORTAL_KEYS", keys)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut printed = String::new();
        for line in stdout.by_ref() {
            let line = line.unwrap();
            printed.push_str(&line);
            printed.push('\n');
            if line.contains("stores: PostgreSQL") {
                let marker = "listening on http://";
                let start = printed.find(marker).unwrap() + marker.len();
                let end = printed[start..].find('/').unwrap();
                let addr = printed[start..start + end].parse().unwrap();
                return Self {
                    child,
                    addr,
                    stdout,
                };
            }
        }
        let status = child.wait().unwrap();
        panic!(
            "the portal exited ({status}) before serving:\n{printed}{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
}

impl Drop for PortalProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn with_a_database_url_the_records_outlive_the_process() {
    let url = cluster::Cluster::shared()
        .unwrap()
        .database("portal")
        .await
        .unwrap();
    let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("portal-database-url.log");

    // First run: the schema and the demo accounts are created, and Alice
    // sets up codes by text message.
    let first = PortalProcess::start(&url, &log);
    let mut alice = Browser::at(first.addr);
    enroll_sms(&mut alice, "alice", "+44 7400 123456").await;
    drop(first);

    // Second run on the same database and keys: Alice is challenged for
    // the number she set up (not asked to set up 2FA), and her code from
    // this run's outbox lets her in.
    let second = PortalProcess::start(&url, &log);
    let mut alice = Browser::at(second.addr);
    let reply = alice.log_in("alice", "alice-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
    let page = alice.get("/login/2fa").await;
    assert!(page.body.contains("2FA Verification"), "{}", page.body);
    assert!(page.body.contains("id=\"sent-to\""));
    let code = code_from_outbox(&mut alice, "sms").await;
    let reply = alice.enter_code(&code).await;
    assert_eq!(reply.location(), "/home");
    let methods = methods_table(&alice.get("/settings").await.body);
    assert!(methods.contains("3456"), "{methods}");
}

/// A loopback port that forwards every connection to `target` once
/// [`LateDatabase::come_up`] is called; until then nothing listens on it,
/// exactly as before a database server starts.
struct LateDatabase {
    port: u16,
    target: (String, u16),
    task: Option<tokio::task::JoinHandle<()>>,
}

impl LateDatabase {
    /// A free port for the database at `url`, not listening yet.
    fn new(url: &str) -> Self {
        let config: tokio_postgres::Config = url.parse().unwrap();
        let host = match &config.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(host) => host.clone(),
            other => panic!("a TCP database host, not {other:?}"),
        };
        let target = (host, config.get_ports().first().copied().unwrap_or(5432));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self {
            port,
            target,
            task: None,
        }
    }

    /// The connection string of `url`'s database through this port.
    fn url(&self, url: &str) -> String {
        let config: tokio_postgres::Config = url.parse().unwrap();
        let quote = |text: &str| format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"));
        let mut line = format!(
            "host=127.0.0.1 port={} user={} dbname={}",
            self.port,
            quote(config.get_user().unwrap()),
            quote(config.get_dbname().unwrap()),
        );
        if let Some(password) = config.get_password() {
            line.push_str(&format!(
                " password={}",
                quote(std::str::from_utf8(password).unwrap())
            ));
        }
        line
    }

    /// The database starts listening.
    async fn come_up(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            loop {
                let (mut inbound, _) = listener.accept().await.unwrap();
                let target = target.clone();
                tokio::spawn(async move {
                    let mut outbound = tokio::net::TcpStream::connect(target).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
            }
        }));
    }
}

impl Drop for LateDatabase {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn until_the_database_is_up_the_portal_answers_that_it_is_starting() {
    let url = cluster::Cluster::shared()
        .unwrap()
        .database("portal_late")
        .await
        .unwrap();
    let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("portal-late-database.log");
    let mut database = LateDatabase::new(&url);

    // The portal listens at once, its database not up yet.
    let mut portal = PortalProcess::listening(&database.url(&url), &log);
    let mut browser = Browser::at(portal.addr);
    let alive = browser.get("/healthz").await;
    assert_eq!(alive.status, StatusCode::OK);
    let ready = browser.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    for path in ["/", "/login", "/home", "/device/outbox"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(page.body.contains("The portal is starting"), "{path}");
        assert_eq!(page.header("retry-after"), "5", "{path}");
        assert_eq!(page.header("x-content-type-options"), "nosniff", "{path}");
    }
    let post = browser
        .post(
            "/login",
            &[("login", "alice"), ("password", "alice-demo-password")],
        )
        .await;
    assert_eq!(post.status, StatusCode::SERVICE_UNAVAILABLE);

    // The database comes up: the portal connects, migrates and serves.
    database.come_up().await;
    portal.wait_ready();
    assert_eq!(browser.get("/readyz").await.status, StatusCode::OK);
    let reply = browser.log_in("alice", "alice-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
    // Whether the first connection attempt failed (and was logged as a
    // wait) or was still pending when the database came up depends on the
    // timing; either way the portal waited and now serves.
}

#[tokio::test]
async fn two_portal_processes_on_one_database_serve_alternate_requests() {
    let url = cluster::Cluster::shared()
        .unwrap()
        .database("portal_two_processes")
        .await
        .unwrap();
    let logs = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    // Two operating-system processes of the binary, the same keys and
    // database, nothing else in common: a load balancer without sticky
    // sessions in front of them.
    let first = PortalProcess::start(&url, &logs.join("portal-process-a.log"));
    let second = PortalProcess::start(&url, &logs.join("portal-process-b.log"));
    let mut bob = Browser::alternating(&[first.addr, second.addr]);

    // Password, set-up by text message and its code (sent by one process,
    // read from the other's outbox page), each request on the other one.
    enroll_sms(&mut bob, "bob", "+44 7400 123456").await;
    let settings = bob
        .change_setting("/settings/name", &[("name", "Bob Two Processes")])
        .await;
    assert!(settings.body.contains("value=\"Bob Two Processes\""));

    // Logout ends the session on both.
    let reply = bob.submit("/home", "/logout", &[]).await;
    assert_eq!(reply.location(), "/login");
    assert_eq!(bob.get("/home").await.location(), "/login");
    assert_eq!(bob.get("/home").await.location(), "/login");

    // A later login: challenged by one process, answered on the other.
    let reply = bob.log_in("bob", "bob-demo-password").await;
    assert_eq!(reply.location(), "/login/2fa");
    let code = code_from_outbox(&mut bob, "sms").await;
    let reply = bob.enter_code(&code).await;
    assert_eq!(reply.location(), "/home");
    assert!(
        bob.get("/settings")
            .await
            .body
            .contains("Bob Two Processes")
    );
    assert!(
        bob.sent_to.iter().all(|requests| *requests >= 8),
        "both processes served: {:?}",
        bob.sent_to
    );
}
