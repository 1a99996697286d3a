//! The test SMTP server (`server.py`, on Python's aiosmtpd) as a child
//! process, a server that accepts connections and never answers, and the
//! test certificate authority.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp/server.py");

const INSTALL: &str = "the twofa-smtp tests run a real SMTP server on loopback with Python 3 \
    and aiosmtpd; install them with `apt-get install python3 python3-aiosmtpd` (Debian) or \
    `pip install aiosmtpd`, or point TWOFA_TEST_PYTHON at a python3 that has aiosmtpd";

/// A Python interpreter that can import aiosmtpd: `$TWOFA_TEST_PYTHON`,
/// else the first of `python3` on the path and Debian's `/usr/bin/python3`
/// that has it (a Python from pyenv or a virtualenv may shadow the system
/// one that Debian's package installs into).
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let candidates: Vec<PathBuf> = match std::env::var_os("TWOFA_TEST_PYTHON") {
            Some(path) => vec![PathBuf::from(path)],
            None => vec![PathBuf::from("python3"), PathBuf::from("/usr/bin/python3")],
        };
        candidates
            .into_iter()
            .find(|python| {
                Command::new(python)
                    .args(["-c", "import aiosmtpd.smtp"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|status| status.success())
            })
            .unwrap_or_else(|| panic!("{INSTALL}"))
    })
}

/// How the test server accepts clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTls {
    None,
    StartTls,
    Implicit,
}

/// What the test server is started with.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub tls: ServerTls,
    pub auth: Option<(&'static str, &'static str)>,
    pub replies: Vec<(&'static str, u16)>,
    pub misnamed: bool,
    pub stalls: Vec<&'static str>,
}

impl ServerOptions {
    pub fn plain() -> Self {
        Self {
            tls: ServerTls::None,
            auth: None,
            replies: Vec::new(),
            misnamed: false,
            stalls: Vec::new(),
        }
    }

    pub fn tls(tls: ServerTls) -> Self {
        Self {
            tls,
            ..Self::plain()
        }
    }

    pub fn with_auth(mut self, user: &'static str, password: &'static str) -> Self {
        self.auth = Some((user, password));
        self
    }

    /// Serves a certificate of the trusted authority that names
    /// `mail.example.org` only.
    pub fn with_misnamed_certificate(mut self) -> Self {
        self.misnamed = true;
        self
    }

    /// Never answers the end of a message to `address`.
    pub fn with_stall(mut self, address: &'static str) -> Self {
        self.stalls.push(address);
        self
    }

    pub fn with_reply(mut self, address: &'static str, code: u16) -> Self {
        self.replies.push((address, code));
        self
    }
}

/// A running `server.py`; stopped when dropped.
pub struct SmtpServer {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts a server and waits until it listens.
    pub fn start(options: &ServerOptions) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let out = dir.path().join("messages");
        std::fs::create_dir(&out).expect("messages directory");
        let mut command = Command::new(python());
        command.arg(SCRIPT).arg("--out").arg(&out);
        match options.tls {
            ServerTls::None => {
                command.args(["--tls", "none"]);
            }
            ServerTls::StartTls | ServerTls::Implicit => {
                let pki = pki();
                let cert = dir.path().join("server.pem");
                let key = dir.path().join("server.key");
                let (leaf, leaf_key) = if options.misnamed {
                    (&pki.misnamed_pem, &pki.misnamed_key_pem)
                } else {
                    (&pki.leaf_pem, &pki.leaf_key_pem)
                };
                std::fs::write(&cert, leaf).expect("write certificate");
                std::fs::write(&key, leaf_key).expect("write key");
                let mode = if options.tls == ServerTls::StartTls {
                    "starttls"
                } else {
                    "implicit"
                };
                command
                    .args(["--tls", mode, "--cert"])
                    .arg(&cert)
                    .arg("--key")
                    .arg(&key);
            }
        }
        if let Some((user, password)) = options.auth {
            command.arg("--auth").arg(format!("{user}:{password}"));
        }
        for (address, code) in &options.replies {
            command.arg("--reply").arg(format!("{address}={code}"));
        }
        for address in &options.stalls {
            command.arg("--stall").arg(address);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {}: {error}; {INSTALL}", SCRIPT));
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let read = stdout.read_line(&mut line).expect("reading the server");
        let port = line
            .strip_prefix("READY ")
            .and_then(|port| port.trim().parse().ok());
        let Some(port) = port.filter(|_| read > 0) else {
            let mut errors = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = child.kill();
                let _ = stderr.read_to_string(&mut errors);
            }
            panic!("the test SMTP server did not start: {line}{errors}");
        };
        // aiosmtpd logs every connection on stderr: let it drain so that a
        // full pipe never blocks the server.
        if let Some(mut stderr) = child.stderr.take() {
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        }
        Self {
            child,
            stdin,
            port,
            dir,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<Received> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("messages"))
            .expect("messages directory")
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path).expect("message file");
                Received(serde_json::from_str(&text).expect("message json"))
            })
            .collect()
    }

    /// The only message accepted so far.
    pub fn only_message(&self) -> Received {
        let mut messages = self.messages();
        assert_eq!(messages.len(), 1, "exactly one message expected");
        messages.remove(0)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A message as the test server received it.
#[derive(Debug, Clone)]
pub struct Received(pub Value);

impl Received {
    pub fn mail_from(&self) -> &str {
        self.0["mail_from"].as_str().expect("mail_from")
    }

    pub fn rcpt_tos(&self) -> Vec<&str> {
        self.0["rcpt_tos"]
            .as_array()
            .expect("rcpt_tos")
            .iter()
            .map(|value| value.as_str().expect("recipient"))
            .collect()
    }

    pub fn tls(&self) -> bool {
        self.0["tls"].as_bool().expect("tls")
    }

    pub fn auth_user(&self) -> Option<&str> {
        self.0["auth_user"].as_str()
    }

    pub fn connection(&self) -> u64 {
        self.0["connection"].as_u64().expect("connection")
    }

    pub fn content_type(&self) -> &str {
        self.0["content_type"].as_str().expect("content_type")
    }

    /// The one value of header `name` (lower case), decoded.
    pub fn header(&self, name: &str) -> &str {
        let values = self.0["headers"][name]
            .as_array()
            .unwrap_or_else(|| panic!("no {name} header"));
        assert_eq!(values.len(), 1, "one {name} header expected");
        values[0].as_str().expect("header value")
    }

    /// The decoded text of the part of `content_type`, with line feeds
    /// for line ends.
    pub fn part(&self, content_type: &str) -> String {
        self.0["parts"]
            .as_array()
            .expect("parts")
            .iter()
            .find(|part| part["content_type"] == content_type)
            .unwrap_or_else(|| panic!("no {content_type} part"))["text"]
            .as_str()
            .expect("part text")
            .replace("\r\n", "\n")
    }

    pub fn part_types(&self) -> Vec<&str> {
        self.0["parts"]
            .as_array()
            .expect("parts")
            .iter()
            .map(|part| part["content_type"].as_str().expect("content type"))
            .collect()
    }

    pub fn raw(&self) -> &str {
        self.0["raw"].as_str().expect("raw")
    }
}

/// A loopback server that accepts connections and never says a word.
pub struct SilentServer {
    port: u16,
    held: Arc<(Mutex<Vec<TcpStream>>, Condvar)>,
}

impl SilentServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("local address").port();
        let held = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let keep = Arc::clone(&held);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (streams, accepted) = &*keep;
                streams.lock().expect("held connections").push(stream);
                accepted.notify_all();
            }
        });
        Self { port, held }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits until `count` connections were accepted; fails after a
    /// minute rather than hang.
    pub fn wait_for_connections(&self, count: usize) {
        let (streams, accepted) = &*self.held;
        let (streams, wait) = accepted
            .wait_timeout_while(
                streams.lock().expect("held connections"),
                Duration::from_secs(60),
                |streams| streams.len() < count,
            )
            .expect("held connections");
        assert!(
            !wait.timed_out(),
            "{} connections accepted, {count} expected",
            streams.len()
        );
    }

    pub fn connections(&self) -> usize {
        self.held.0.lock().expect("held connections").len()
    }
}

/// The test certificate authority, the server certificate it signed (for
/// `127.0.0.1` and `localhost`) and one for another name, made once per
/// test process; and a second authority that signed nothing the server
/// uses.
pub struct Pki {
    pub ca_pem: String,
    pub other_ca_pem: String,
    pub leaf_pem: String,
    pub leaf_key_pem: String,
    pub misnamed_pem: String,
    pub misnamed_key_pem: String,
}

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
            IsCa, KeyPair, KeyUsagePurpose,
        };
        let authority = |name: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            CertifiedIssuer::self_signed(params, KeyPair::generate().expect("ca key"))
                .expect("ca certificate")
        };
        let ca = authority("twofa test authority");
        let other = authority("another test authority");
        let leaf = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
            let mut params = CertificateParams::new(names).expect("leaf params");
            params
                .distinguished_name
                .push(DnType::CommonName, "smtp test server");
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            let key = KeyPair::generate().expect("leaf key");
            let certificate = params.signed_by(&key, &ca).expect("leaf certificate");
            (certificate.pem(), key.serialize_pem())
        };
        let (leaf_pem, leaf_key_pem) = leaf(&["127.0.0.1", "localhost"]);
        let (misnamed_pem, misnamed_key_pem) = leaf(&["mail.example.org"]);
        Pki {
            ca_pem: ca.pem(),
            other_ca_pem: other.pem(),
            leaf_pem,
            leaf_key_pem,
            misnamed_pem,
            misnamed_key_pem,
        }
    })
}
