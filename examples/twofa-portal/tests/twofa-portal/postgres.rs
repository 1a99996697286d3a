//! The portal on PostgreSQL: records outlive the process.

use std::net::SocketAddr;

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
    _stdout: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl PortalProcess {
    /// Starts the binary on a free loopback port with `--database-url`
    /// and fixed keys, and waits for the line that says where it listens.
    fn start(url: &str, log: &std::path::Path) -> Self {
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
                    _stdout: stdout,
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
