//! A PostgreSQL server for the tests and the bench.
//!
//! With `DATABASE_URL` set, that server is used (its role needs the
//! `CREATEDB` privilege). Otherwise a throwaway cluster is created once per
//! process: `initdb` in a directory under the system temp dir, then
//! `pg_ctl start` on a free loopback port with its unix socket in that
//! directory and trust authentication (reachable only from this host, and
//! gone afterwards). PostgreSQL refuses to run as root, so under root the
//! server runs as the unprivileged `postgres` system user.
//!
//! A static is never dropped, so the cluster is not stopped by a `Drop`:
//! a watchdog process, started before the server, blocks reading a pipe
//! whose only writer is this process. When the process ends for any reason
//! (success, panic, abort, kill) the kernel closes the pipe, and the
//! watchdog stops the server and deletes the directory.

use std::fmt;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use tokio_postgres::NoTls;

/// Why the server could not be provided.
#[derive(Debug)]
pub(crate) struct HarnessError(String);

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HarnessError {}

fn fail(what: impl Into<String>) -> HarnessError {
    HarnessError(what.into())
}

/// The server shared by every test of this process.
pub(crate) struct Cluster {
    /// Connection string of the maintenance database, without `dbname`.
    base: String,
    /// Keeps the watchdog's pipe open while the process lives.
    _watchdog: Option<Mutex<(Child, ChildStdin)>>,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

impl Cluster {
    /// The shared server, started on first use.
    pub(crate) fn shared() -> Result<&'static Cluster, HarnessError> {
        CLUSTER
            .get_or_init(|| Self::start().map_err(|error| error.0))
            .as_ref()
            .map_err(|error| fail(error.clone()))
    }

    fn start() -> Result<Self, HarnessError> {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return Ok(Self {
                base: url,
                _watchdog: None,
            });
        }
        let bin = binaries()?;
        let as_postgres = running_as_root()?;
        let dir = std::env::temp_dir().join(format!("twofa-pg-{}", std::process::id()));
        if dir.exists() {
            // Left by a process that had this id and died before its
            // watchdog could clean up: that process is gone.
            std::fs::remove_dir_all(&dir).map_err(|e| fail(format!("removing {dir:?}: {e}")))?;
        }
        std::fs::create_dir(&dir).map_err(|e| fail(format!("creating {dir:?}: {e}")))?;
        let data = dir.join("data");
        let watchdog = spawn_watchdog(&bin, &dir, &data, as_postgres)?;
        if as_postgres {
            run(Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(&dir))?;
        }
        run(server_command(&bin.join("initdb"), as_postgres)
            .arg("-D")
            .arg(&data)
            .args([
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ])
            .stdout(Stdio::null()))?;
        let port = free_port()?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 \
             -c fsync=off -c full_page_writes=off",
            dir.display()
        );
        run(server_command(&bin.join("pg_ctl"), as_postgres)
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "120", "-o", &options, "start"])
            .stdout(Stdio::null()))?;
        Ok(Self {
            base: format!("host=127.0.0.1 port={port} user=postgres"),
            _watchdog: Some(Mutex::new(watchdog)),
        })
    }

    /// The connection string of a new, empty database named after `name`
    /// (unique per caller; on a shared server, a run replaces the database
    /// the previous run left under that name).
    pub(crate) async fn database(&self, name: &str) -> Result<String, HarnessError> {
        let database = format!("twofa_test_{name}");
        let admin = self.connect_admin().await?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .await
            .map_err(|e| fail(format!("dropping {database}: {e}")))?;
        admin
            .batch_execute(&format!("CREATE DATABASE {database}"))
            .await
            .map_err(|e| fail(format!("creating {database}: {e}")))?;
        Ok(self.url(&database))
    }

    /// The connection string of `database` on this server.
    pub(crate) fn url(&self, database: &str) -> String {
        if let Some((scheme, rest)) = self.base.split_once("://") {
            // scheme://authority/dbname?params: replace only the dbname.
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let params = path.split_once('?').map_or("", |(_, params)| params);
            let separator = if params.is_empty() { "" } else { "?" };
            format!("{scheme}://{authority}/{database}{separator}{params}")
        } else {
            format!("{} dbname={database}", self.base)
        }
    }

    async fn connect_admin(&self) -> Result<tokio_postgres::Client, HarnessError> {
        let url = if self.base.contains("://") {
            self.base.clone()
        } else {
            self.url("postgres")
        };
        connect(&url).await
    }
}

/// A plain driver connection, its connection task spawned on the current
/// runtime.
pub(crate) async fn connect(url: &str) -> Result<tokio_postgres::Client, HarnessError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| fail(format!("connecting: {e}")))?;
    tokio::spawn(connection);
    Ok(client)
}

/// The directory of the newest installed PostgreSQL's programs.
fn binaries() -> Result<PathBuf, HarnessError> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
        .ok_or_else(|| {
            fail("no PostgreSQL server programs (initdb, pg_ctl) found; install the postgresql package or set DATABASE_URL")
        })
}

fn running_as_root() -> Result<bool, HarnessError> {
    let output = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| fail(format!("running id: {e}")))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// A command for a server program, as the `postgres` user under root.
fn server_command(program: &Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) -> Result<(), HarnessError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail(format!("running {command:?}: {e}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(fail(format!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}

/// Starts the process that stops the server and removes `dir` once this
/// process is gone. It runs in its own process group so that an interrupt
/// from the terminal does not end it before it has cleaned up.
fn spawn_watchdog(
    bin: &Path,
    dir: &Path,
    data: &Path,
    as_postgres: bool,
) -> Result<(Child, ChildStdin), HarnessError> {
    use std::os::unix::process::CommandExt;

    let as_user = if as_postgres {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "cat >/dev/null; {as_user}'{pg_ctl}' -D '{data}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{dir}'",
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| fail(format!("starting the cleanup watchdog: {e}")))?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| fail("the cleanup watchdog has no stdin"))?;
    Ok((child, stdin))
}

/// A port no one listens on right now, found by letting the kernel pick one.
fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| fail(format!("finding a free port: {e}")))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|e| fail(format!("finding a free port: {e}")))
}
