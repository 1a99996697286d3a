#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod demo;

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::error::{ContextKind, ErrorKind};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use twofa_otp::{
    Algorithm, Digits, Hotp, KeyUri, LookAhead, OtpKind, ParseMode, Secret, SecretStrength, Step,
    TerminalBackground, Totp, UriError, UriPart, Window,
};
use zeroize::Zeroizing;

/// Exit status of a rejected code (`verify`).
const EXIT_REJECTED: u8 = 1;
/// Exit status of any invalid input, ours or the argument parser's.
const EXIT_INVALID: u8 = 2;

/// One-time passwords (RFC 4226 HOTP, RFC 6238 TOTP) and otpauth:// key URIs.
#[derive(Debug, Parser)]
#[command(name = "twofa", version, subcommand_required = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the code for a time (TOTP, the default) or a counter (HOTP).
    // Negative numbers are read as values, so that `--time -5` gets the
    // tool's own "not a whole number" error.
    #[command(allow_negative_numbers = true)]
    Code(CodeArgs),
    /// Check a code: print the matched step (TOTP) or the next counter (HOTP).
    #[command(allow_negative_numbers = true)]
    Verify(VerifyArgs),
    /// Build or read otpauth:// key URIs.
    #[command(subcommand)]
    Uri(UriCommand),
    /// Create a fresh key and show everything a person needs to add it to an
    /// authenticator app: URI, QR code, key for manual entry, current code.
    #[command(allow_negative_numbers = true)]
    Provision(ProvisionArgs),
    /// Play the partner portal's two-factor authentication end to end on a
    /// simulated clock, scene by scene, checking every step.
    Demo(DemoArgs),
}

/// Options of `demo`.
#[derive(Debug, Args)]
struct DemoArgs {
    /// Play the scenes one at a time (Enter for the next, a name or number
    /// to jump); `app` enrolls a real authenticator app.
    #[arg(long, conflicts_with_all = ["scene", "list"])]
    interactive: bool,
    /// Play one scene (a name or number from `--list`); the scenes before
    /// it run silently first.
    #[arg(long, value_name = "NAME", conflicts_with = "list")]
    scene: Option<String>,
    /// Print the scenes, in order, and exit.
    #[arg(long, conflicts_with = "database_url")]
    list: bool,
    /// Play on this PostgreSQL database (`postgresql://user@host/db`; an
    /// empty database, whose schema is created) instead of in memory.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum UriCommand {
    /// Print the fields of a key URI as one JSON object.
    Parse(UriParseArgs),
    /// Print a new TOTP key URI (with a fresh secret unless one is given).
    New(UriNewArgs),
}

/// The secret and the code shape shared by `code` and `verify`.
#[derive(Debug, Args)]
struct KeyArgs {
    /// The secret in base32, or `-` to read it from standard input.
    // Hyphen values allowed: a secret is never parsed as an option, so it
    // cannot end up quoted in an "unexpected argument" error.
    #[arg(long, value_name = "B32", allow_hyphen_values = true)]
    secret: String,
    #[command(flatten)]
    shape: ShapeArgs,
}

/// Algorithm and digits.
#[derive(Debug, Args)]
struct ShapeArgs {
    /// HMAC hash function: sha1, sha256 or sha512.
    #[arg(long, value_name = "ALG", default_value = "sha1")]
    algorithm: String,
    /// Code length: 6, 7 or 8.
    #[arg(long, value_name = "N", default_value = "6")]
    digits: String,
}

#[derive(Debug, Args)]
struct CodeArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// TOTP time step in seconds (1 to 120).
    #[arg(
        long,
        value_name = "S",
        default_value = "30",
        conflicts_with = "counter"
    )]
    period: String,
    /// TOTP start time T0 in Unix seconds.
    #[arg(
        long,
        value_name = "S",
        default_value = "0",
        conflicts_with = "counter"
    )]
    t0: String,
    /// TOTP at this Unix time instead of now.
    #[arg(long, value_name = "UNIX", conflicts_with = "counter")]
    time: Option<String>,
    /// HOTP at this counter.
    #[arg(long, value_name = "N")]
    counter: Option<String>,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// TOTP time step in seconds (1 to 120).
    #[arg(
        long,
        value_name = "S",
        default_value = "30",
        conflicts_with = "counter"
    )]
    period: String,
    /// TOTP start time T0 in Unix seconds.
    #[arg(
        long,
        value_name = "S",
        default_value = "0",
        conflicts_with = "counter"
    )]
    t0: String,
    /// The code to check.
    #[arg(long, value_name = "C")]
    code: String,
    /// TOTP steps accepted behind the current one (0 to 10).
    #[arg(
        long,
        value_name = "N",
        default_value = "1",
        conflicts_with = "counter"
    )]
    behind: String,
    /// TOTP steps accepted ahead of the current one (0 to 10).
    #[arg(
        long,
        value_name = "N",
        default_value = "1",
        conflicts_with = "counter"
    )]
    ahead: String,
    /// TOTP step accepted last: it and every earlier step are refused.
    #[arg(long, value_name = "N", conflicts_with = "counter")]
    last_step: Option<String>,
    /// TOTP at this Unix time instead of now.
    #[arg(long, value_name = "UNIX", conflicts_with = "counter")]
    time: Option<String>,
    /// HOTP: the next counter the key is expected at.
    #[arg(long, value_name = "N")]
    counter: Option<String>,
    /// HOTP: how many counters beyond --counter are tried (0 to 100).
    #[arg(long, value_name = "N", default_value = "10", requires = "counter")]
    look_ahead: String,
}

#[derive(Debug, Args)]
struct UriParseArgs {
    /// Accept the format deviations some vendors emit (`%3A` separator,
    /// differing issuers, raw spaces, 80-bit secrets).
    #[arg(long)]
    lenient: bool,
    /// The otpauth:// URI, or `-` to read it from standard input.
    #[arg(value_name = "URI")]
    uri: String,
}

/// Issuer, account and TOTP parameters of a new key.
#[derive(Debug, Args)]
struct NewKeyArgs {
    /// Who issues the key, e.g. the site name.
    #[arg(long, value_name = "I")]
    issuer: String,
    /// The account at the issuer, e.g. an email address.
    #[arg(long, value_name = "A")]
    account: String,
    #[command(flatten)]
    shape: ShapeArgs,
    /// TOTP time step in seconds (1 to 120).
    #[arg(long, value_name = "S", default_value = "30")]
    period: String,
}

#[derive(Debug, Args)]
struct UriNewArgs {
    #[command(flatten)]
    key: NewKeyArgs,
    /// The secret in base32, or `-` to read it from standard input
    /// (default: a fresh secret from the operating system's generator).
    #[arg(long, value_name = "B32", allow_hyphen_values = true)]
    secret: Option<String>,
    /// Also draw the URI as a QR code in the terminal.
    #[arg(long)]
    qr: bool,
}

#[derive(Debug, Args)]
struct ProvisionArgs {
    #[command(flatten)]
    key: NewKeyArgs,
    /// Show the current code for this Unix time instead of now.
    #[arg(long, value_name = "UNIX")]
    time: Option<String>,
    /// How to show the QR code: terminal (for dark backgrounds),
    /// terminal-light (for light backgrounds), svg or png (written to
    /// --out), or none.
    #[arg(long, value_name = "FORMAT", default_value = "terminal")]
    qr: String,
    /// The file the svg or png QR code is written to (it holds the secret).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long, requires = "out")]
    force: bool,
}

/// Where `provision` puts the QR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QrOutput {
    Terminal(TerminalBackground),
    Svg,
    Png,
    None,
}

/// Why the tool stops early.
#[derive(Debug)]
enum Failure {
    /// Invalid input: exit status 2.
    Invalid(String),
    /// A code was checked and refused: exit status 1.
    Rejected(String),
}

impl Failure {
    /// Invalid input, naming the flag or argument it came from.
    fn invalid(what: &str, message: impl std::fmt::Display) -> Self {
        Self::Invalid(format!("{what}: {message}"))
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_exit(&error),
    };
    if let Command::Demo(args) = &cli.command {
        // The demo reports its own exit status: success only if every step
        // behaved as the portal should.
        if args.list {
            return match print_str(&demo::listing()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            };
        }
        let mode = match (&args.scene, args.interactive) {
            (_, true) => demo::DemoMode::Interactive,
            (None, false) => demo::DemoMode::Scripted(None),
            (Some(name), false) => match demo::Scene::named(name) {
                Some(scene) => demo::DemoMode::Scripted(Some(scene)),
                None => {
                    warn("error: --scene: no such scene (see twofa demo --list)");
                    return ExitCode::from(EXIT_INVALID);
                }
            },
        };
        return demo::run(mode, args.database_url.as_deref());
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid(message)) => {
            warn(&format!("error: {message}"));
            ExitCode::from(EXIT_INVALID)
        }
        Err(Failure::Rejected(message)) => {
            warn(&format!("rejected: {message}"));
            ExitCode::from(EXIT_REJECTED)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Code(args) => code(&args),
        Command::Verify(args) => verify(&args),
        Command::Uri(UriCommand::Parse(args)) => uri_parse(&args),
        Command::Uri(UriCommand::New(args)) => uri_new(&args),
        Command::Provision(args) => provision(&args),
        // Run by `main`, which returns the demo's own exit status.
        Command::Demo(_) => Ok(()),
    }
}

// ---- commands ------------------------------------------------------------

fn code(args: &CodeArgs) -> Result<(), Failure> {
    let secret = read_secret(&args.key.secret)?;
    let (algorithm, digits) = shape(&args.key.shape)?;
    let code = if let Some(counter) = &args.counter {
        let counter = number("--counter", counter)?;
        Hotp::new(&secret, algorithm)
            .with_digits(digits)
            .generate(counter)
    } else {
        let totp = totp(&secret, algorithm, digits, &args.period, &args.t0)?;
        let now = time(args.time.as_deref())?;
        totp.generate(now)
            .map_err(|error| Failure::invalid(time_flag(args.time.as_deref()), error))?
    };
    print_line(code.expose_secret().as_str())
}

fn verify(args: &VerifyArgs) -> Result<(), Failure> {
    let secret = read_secret(&args.key.secret)?;
    let (algorithm, digits) = shape(&args.key.shape)?;
    if let Some(counter) = &args.counter {
        let counter = number("--counter", counter)?;
        let look_ahead = LookAhead::new(number_u32("--look-ahead", &args.look_ahead)?)
            .map_err(|error| Failure::invalid("--look-ahead", error))?;
        let hotp = Hotp::new(&secret, algorithm).with_digits(digits);
        let accepted = hotp
            .verify(&args.code, counter, look_ahead)
            .map_err(|rejected| Failure::Rejected(rejected.to_string()))?;
        match accepted.next_counter {
            Some(next) => print_line(&next.to_string()),
            // RFC 4226 §5.2 keeps the counter strictly increasing: after
            // u64::MAX no counter is left, so nothing can be stored as
            // "next". The code is accepted (it matched), stdout stays empty
            // and the key must be replaced.
            None => {
                warn(&format!(
                    "warning: the code matched counter {}, the last one: this key is exhausted, replace it",
                    accepted.counter
                ));
                Ok(())
            }
        }
    } else {
        let totp = totp(&secret, algorithm, digits, &args.period, &args.t0)?;
        let behind = number_u32("--behind", &args.behind)?;
        let ahead = number_u32("--ahead", &args.ahead)?;
        let window = Window::new(behind, ahead).map_err(|error| {
            let flag = if behind > Window::MAX_SIDE {
                "--behind"
            } else {
                "--ahead"
            };
            Failure::invalid(flag, error)
        })?;
        let last = args
            .last_step
            .as_deref()
            .map(|text| number("--last-step", text))
            .transpose()?;
        let now = time(args.time.as_deref())?;
        // A time before T0 is a configuration mistake, not a wrong code.
        totp.step_at(now)
            .map_err(|error| Failure::invalid(time_flag(args.time.as_deref()), error))?;
        let accepted = totp
            .verify(&args.code, now, last, window)
            .map_err(|rejected| Failure::Rejected(rejected.to_string()))?;
        print_line(&accepted.step.to_string())
    }
}

/// The fields `uri parse` prints. `issuer` is always present (`null` when
/// the URI names none) so that scripts can rely on the key; `period` or
/// `counter` follows the type; `image` appears only when the URI has one.
#[derive(Debug, Serialize)]
struct UriFields<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    issuer: Option<&'a str>,
    account: &'a str,
    secret: &'a str,
    algorithm: &'static str,
    digits: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    period: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counter: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
}

fn uri_parse(args: &UriParseArgs) -> Result<(), Failure> {
    let text = if args.uri == "-" {
        read_stdin("URI")?
    } else {
        Zeroizing::new(args.uri.clone())
    };
    let mode = if args.lenient {
        ParseMode::Lenient
    } else {
        ParseMode::Strict
    };
    // Importing a key someone else issued: a legacy 80-bit secret is
    // accepted with a warning, as `code` and `verify` accept it.
    let (uri, strength) =
        KeyUri::parse_weak(&text, mode).map_err(|error| Failure::invalid("URI", error))?;
    warn_strength(strength);
    let secret = uri.secret().to_base32();
    let fields = UriFields {
        kind: uri.kind().name(),
        issuer: uri.issuer(),
        account: uri.account(),
        secret: &secret,
        algorithm: uri.algorithm().name(),
        digits: uri.digits().get(),
        period: uri.step().map(Step::seconds),
        counter: uri.counter(),
        image: uri.image(),
    };
    let json = Zeroizing::new(
        serde_json::to_string(&fields)
            .map_err(|error| Failure::Invalid(format!("cannot write json: {error}")))?,
    );
    print_line(&json)
}

fn uri_new(args: &UriNewArgs) -> Result<(), Failure> {
    let (algorithm, digits) = shape(&args.key.shape)?;
    let secret = match &args.secret {
        Some(text) => read_secret(text)?,
        None => fresh_secret(algorithm)?,
    };
    let uri = new_key_uri(&args.key, secret, algorithm, digits)?;
    print_line(&uri.to_uri())?;
    if args.qr {
        print_qr(&uri)?;
    }
    Ok(())
}

fn provision(args: &ProvisionArgs) -> Result<(), Failure> {
    let (algorithm, digits) = shape(&args.key.shape)?;
    let now = time(args.time.as_deref())?;
    let output = qr_output(&args.qr, args.out.as_deref())?;
    let uri = new_key_uri(&args.key, fresh_secret(algorithm)?, algorithm, digits)?;
    let Some(totp) = uri.to_totp() else {
        return Err(Failure::Invalid(String::from("key uri is not time-based")));
    };
    let code = totp
        .generate(now)
        .map_err(|error| Failure::invalid(time_flag(args.time.as_deref()), error))?;
    let valid_for = totp
        .seconds_left_at(now)
        .map_err(|error| Failure::invalid(time_flag(args.time.as_deref()), error))?;
    let qr_error = |error| Failure::invalid("--issuer/--account", error);
    // The file is written before anything is printed: if it cannot be,
    // nothing of the key is shown.
    let picture = match output {
        QrOutput::Svg => Some(Zeroizing::new(
            uri.to_qr_svg().map_err(qr_error)?.as_bytes().to_vec(),
        )),
        QrOutput::Png => Some(uri.to_qr_png().map_err(qr_error)?),
        QrOutput::Terminal(_) | QrOutput::None => None,
    };
    if let (Some(picture), Some(path)) = (&picture, &args.out) {
        write_new_file(path, picture, args.force)?;
    }

    let mut text = Zeroizing::new(String::new());
    let _ = writeln!(
        text,
        "New authenticator key for {} at {}\n",
        uri.account(),
        uri.issuer().unwrap_or_default()
    );
    let _ = writeln!(text, "Key URI: {}\n", uri.to_uri().as_str());
    match (output, &args.out) {
        (QrOutput::Terminal(background), _) => {
            let _ = writeln!(text, "Scan this QR code with an authenticator app:\n");
            let qr = uri.to_qr_terminal(background).map_err(qr_error)?;
            let _ = writeln!(text, "{}\n", qr.as_str());
        }
        (QrOutput::Svg | QrOutput::Png, Some(path)) => {
            let _ = writeln!(
                text,
                "QR code written to {} (it holds the secret: delete it once scanned)\n",
                path.display()
            );
        }
        _ => {}
    }
    let _ = writeln!(
        text,
        "Or enter this key by hand (time-based, {}, {} digits, every {} seconds):\n",
        algorithm.name(),
        digits.get(),
        totp.step().seconds()
    );
    let _ = writeln!(
        text,
        "    {}\n",
        grouped(&uri.secret().to_base32()).as_str()
    );
    let _ = writeln!(
        text,
        "Current code: {} (valid for {valid_for} more seconds)",
        code.expose_secret().as_str()
    );
    print_str(&text)
}

/// `--qr`, checked against `--out`: a picture format needs a file, and a
/// file needs a picture format.
fn qr_output(format: &str, out: Option<&Path>) -> Result<QrOutput, Failure> {
    let output = match format {
        "terminal" => QrOutput::Terminal(TerminalBackground::Dark),
        "terminal-light" => QrOutput::Terminal(TerminalBackground::Light),
        "svg" => QrOutput::Svg,
        "png" => QrOutput::Png,
        "none" => QrOutput::None,
        _ => {
            return Err(Failure::invalid(
                "--qr",
                "format must be terminal, terminal-light, svg, png or none",
            ));
        }
    };
    match (output, out) {
        (QrOutput::Svg | QrOutput::Png, None) => Err(Failure::invalid(
            "--qr",
            format!("{format} writes a file: give it with --out FILE"),
        )),
        (QrOutput::Terminal(_) | QrOutput::None, Some(_)) => Err(Failure::invalid(
            "--out",
            "only --qr svg and --qr png write a file",
        )),
        _ => Ok(output),
    }
}

/// Writes `bytes` to a new file at `path`, readable by its owner only (on
/// Unix). An existing file is refused unless `force`.
fn write_new_file(path: &Path, bytes: &[u8], force: bool) -> Result<(), Failure> {
    let mut options = fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        // Atomic: no window in which another file can appear at `path`.
        options.create_new(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|error| {
        if error.kind() == io::ErrorKind::AlreadyExists {
            Failure::invalid(
                "--out",
                format!("{} exists; --force replaces it", path.display()),
            )
        } else {
            Failure::invalid(
                "--out",
                format!("cannot create {}: {error}", path.display()),
            )
        }
    })?;
    // A replaced file keeps its mode: narrow it as a new one would be.
    #[cfg(unix)]
    if force {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|error| {
                Failure::invalid(
                    "--out",
                    format!("cannot restrict {}: {error}", path.display()),
                )
            })?;
    }
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|error| {
            Failure::invalid("--out", format!("cannot write {}: {error}", path.display()))
        })
}

// ---- input ---------------------------------------------------------------

/// The secret of `--secret`, from the text or from stdin for `-`.
///
/// Legacy secrets of 80 to 127 bits are accepted (existing keys must keep
/// working) with a warning; the error never contains the text.
fn read_secret(text: &str) -> Result<Secret, Failure> {
    let text = if text == "-" {
        read_stdin("--secret")?
    } else {
        Zeroizing::new(String::from(text))
    };
    if text.trim().is_empty() {
        return Err(Failure::invalid("--secret", "secret is empty"));
    }
    let (secret, strength) =
        Secret::from_base32_weak(&text).map_err(|error| Failure::invalid("--secret", error))?;
    warn_strength(strength);
    Ok(secret)
}

/// Standard input up to the end, without its trailing line break.
fn read_stdin(what: &str) -> Result<Zeroizing<String>, Failure> {
    let mut text = Zeroizing::new(String::new());
    io::stdin()
        .read_to_string(&mut text)
        .map_err(|error| Failure::invalid(what, format!("cannot read standard input: {error}")))?;
    let kept = text.trim_end_matches(['\n', '\r']).len();
    text.truncate(kept);
    Ok(text)
}

fn fresh_secret(algorithm: Algorithm) -> Result<Secret, Failure> {
    // The thread's generator is a CSPRNG seeded from the operating system.
    Ok(Secret::generate(&mut rand::rng(), algorithm))
}

fn shape(args: &ShapeArgs) -> Result<(Algorithm, Digits), Failure> {
    Ok((algorithm(&args.algorithm)?, digits(&args.digits)?))
}

/// `sha1`, `sha256` or `sha512`, in any case (`SHA1` as in key URIs too).
fn algorithm(text: &str) -> Result<Algorithm, Failure> {
    text.parse()
        .map_err(|_| Failure::invalid("--algorithm", "algorithm must be sha1, sha256 or sha512"))
}

fn digits(text: &str) -> Result<Digits, Failure> {
    let refused = || Failure::invalid("--digits", "digits must be 6, 7 or 8");
    let value = number("--digits", text).map_err(|_| refused())?;
    let value = u32::try_from(value).map_err(|_| refused())?;
    Digits::new(value).map_err(|error| Failure::invalid("--digits", error))
}

fn totp(
    secret: &Secret,
    algorithm: Algorithm,
    digits: Digits,
    period: &str,
    t0: &str,
) -> Result<Totp, Failure> {
    Ok(Totp::new(secret, algorithm)
        .with_digits(digits)
        .with_step(step(period)?)
        .with_t0(number("--t0", t0)?))
}

fn step(text: &str) -> Result<Step, Failure> {
    let refused = || Failure::invalid("--period", "time step must be 1 to 120 seconds");
    let value = number("--period", text).map_err(|_| refused())?;
    Step::new(value).map_err(|error| Failure::invalid("--period", error))
}

/// A decimal number from 0 to `u64::MAX`: ASCII digits only (no sign, no
/// spaces), so that a typo is an error rather than another number.
fn number(flag: &str, text: &str) -> Result<u64, Failure> {
    if text.is_empty() {
        return Err(Failure::invalid(flag, "value is empty"));
    }
    if !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(Failure::invalid(flag, "not a whole number"));
    }
    text.parse()
        .map_err(|_| Failure::invalid(flag, format!("number is larger than {}", u64::MAX)))
}

fn number_u32(flag: &str, text: &str) -> Result<u32, Failure> {
    u32::try_from(number(flag, text)?)
        .map_err(|_| Failure::invalid(flag, format!("number is larger than {}", u32::MAX)))
}

/// `--time`, or the system clock when it is absent.
fn time(flag: Option<&str>) -> Result<u64, Failure> {
    match flag {
        Some(text) => number("--time", text),
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .map_err(|_| Failure::Invalid(String::from("the system clock is before 1970"))),
    }
}

/// The flag to blame for a time before T0.
fn time_flag(time: Option<&str>) -> &'static str {
    if time.is_some() { "--time" } else { "--t0" }
}

fn new_key_uri(
    args: &NewKeyArgs,
    secret: Secret,
    algorithm: Algorithm,
    digits: Digits,
) -> Result<KeyUri, Failure> {
    let step = step(&args.period)?;
    let uri = KeyUri::new(&args.issuer, &args.account, secret, OtpKind::Totp { step })
        .map_err(|error| Failure::invalid(uri_error_flag(error), error))?
        .with_algorithm(algorithm)
        .with_digits(digits);
    for warning in uri.compatibility_warnings() {
        warn(&format!("warning: {warning}"));
    }
    Ok(uri)
}

/// The flag a key URI field error comes from.
fn uri_error_flag(error: UriError) -> &'static str {
    match error {
        UriError::EmptyIssuer
        | UriError::ColonInIssuer
        | UriError::ControlCharacter {
            part: UriPart::Issuer,
        } => "--issuer",
        UriError::EmptyAccount
        | UriError::ColonInAccount
        | UriError::LeadingSpace
        | UriError::ControlCharacter {
            part: UriPart::Account,
        } => "--account",
        _ => "--issuer/--account",
    }
}

// ---- output --------------------------------------------------------------

fn warn_strength(strength: SecretStrength) {
    if let SecretStrength::Legacy { bits } = strength {
        // RFC 4226 §4 R6: at least 128 bits, 160 recommended.
        warn(&format!(
            "warning: secret has only {bits} bits; 128 or more are recommended"
        ));
    }
}

fn print_qr(uri: &KeyUri) -> Result<(), Failure> {
    let qr = uri
        .to_qr_terminal(TerminalBackground::Dark)
        .map_err(|error| Failure::invalid("--issuer/--account", error))?;
    print_line(&qr)
}

/// The base32 key in groups of four, eight groups a line.
fn grouped(key: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(key.len().saturating_mul(2)));
    for (index, symbol) in key.chars().enumerate() {
        if index > 0 && index % 32 == 0 {
            out.push_str("\n    ");
        } else if index > 0 && index % 4 == 0 {
            out.push(' ');
        }
        out.push(symbol);
    }
    out
}

fn print_line(text: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(|error| Failure::Invalid(format!("cannot write to standard output: {error}")))
}

fn print_str(text: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| Failure::Invalid(format!("cannot write to standard output: {error}")))
}

/// One line on stderr; a failing stderr has nowhere left to report to.
fn warn(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Help and version go to stdout with status 0; every usage error becomes
/// one line on stderr with status 2, in the same style as the tool's own
/// errors. Values the user typed are not repeated: a misplaced secret must
/// not be echoed.
fn clap_exit(error: &clap::Error) -> ExitCode {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    let context = |kind| error.get(kind).map(ToString::to_string);
    let arg = context(ContextKind::InvalidArg);
    let message = match error.kind() {
        ErrorKind::UnknownArgument => match arg {
            Some(arg) if arg.starts_with('-') => format!("unexpected argument {arg}"),
            _ => String::from("unexpected argument (see --help)"),
        },
        ErrorKind::MissingRequiredArgument => {
            format!("missing required argument {}", arg.unwrap_or_default())
        }
        ErrorKind::ArgumentConflict => {
            let prior = context(ContextKind::PriorArg).unwrap_or_default();
            let arg = arg
                .or_else(|| context(ContextKind::InvalidSubcommand))
                .unwrap_or_default();
            if arg == prior {
                format!("{arg} given more than once")
            } else {
                format!("{arg} cannot be used with {prior}")
            }
        }
        ErrorKind::InvalidSubcommand => format!(
            "unknown command {}",
            context(ContextKind::InvalidSubcommand).unwrap_or_default()
        ),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            String::from("a command is required (see --help)")
        }
        _ => match arg {
            Some(arg) => format!("{arg}: invalid value (see --help)"),
            None => String::from("invalid arguments (see --help)"),
        },
    };
    warn(&format!("error: {message}"));
    ExitCode::from(EXIT_INVALID)
}
