//! `twofa demo`: the partner portal's two-factor authentication, end to end.
//!
//! The scripted walkthrough plays every feature of the portal's help
//! article, scene by scene, against in-memory stores and a simulated clock:
//! each scene prints the screens a user would see and checks that the
//! portal behaved as it should. The run stops at the first check that
//! fails, and exits non-zero. All behaviour comes from the `twofa` facade;
//! this module only scripts, prints and checks.
//!
//! `--scene NAME` plays one scene (the scenes before it run silently
//! first); `--list` names the scenes; `--interactive` plays them one at a
//! time at the reader's pace, and can enroll a real authenticator app.
//!
//! `--database-url` plays on PostgreSQL (an empty database; the schema is
//! created) instead of the in-memory stores.

use std::fmt::Display;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::Arc;

use twofa::chrono::{DateTime, TimeZone as _, Utc};
use twofa::delivery::{EmailAddress, Issuer, NoticeMessage, Outbox, SentMessage, ServerKey};
use twofa::enforcement::{Actor, CompanyRole};
use twofa::enrollment::{PhoneChannel, ProvisioningUri};
use twofa::passkey::{Origin, RelyingParty};
use twofa::types::{AccountKind, CompanyId, UserId};
use twofa::{
    Allowed, ChallengeScreen, Channels, ClientContext, CodeSent, LoginStep, LoginTicket,
    ManualClock, MethodChoice, NewCompany, NewUser, PhoneChoice, ProvisionError, SeededRandom,
    SetUpProgress, SetUpScreen, Stores, Twofa, XChaChaSealer,
};
use twofa_store_postgres::PostgresStores;

mod account;
mod company;
mod interactive;
mod login;
mod passkey;
mod push;
mod scenes;
mod screens;
mod setup;

pub(crate) use scenes::{Scene, listing};

/// How the demo runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DemoMode {
    /// The scripted walkthrough on a simulated clock: every scene, or one.
    Scripted(Option<Scene>),
    /// The scenes one at a time, at a person's pace.
    Interactive,
}

/// Runs the demo on the in-memory stores, or on the PostgreSQL database
/// at `database_url`, and returns the process exit status: success only if
/// every step behaved as the portal should.
pub(crate) fn run(mode: DemoMode, database_url: Option<&str>) -> ExitCode {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    // One thread is enough: the in-memory stores and the outbox never wait,
    // and the PostgreSQL driver needs only a runtime to run on.
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| unexpected("starting the async runtime", e))
        .and_then(|runtime| {
            runtime.block_on(async {
                match database_url {
                    None => play(mode, Stores::in_memory(), &mut out).await,
                    Some(url) => on_postgres(mode, url, &mut out).await,
                }
            })
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // The failure goes to the same stream as the screens, in order.
            let _ignored = writeln!(
                out,
                "\n✘ {failure}\n\nThe demo stopped: the portal did not behave as it should."
            );
            ExitCode::FAILURE
        }
    }
}

async fn play(mode: DemoMode, stores: Stores, out: &mut dyn Write) -> Result<(), StepFailed> {
    match mode {
        DemoMode::Scripted(None) => scripted(out, stores).await,
        DemoMode::Scripted(Some(scene)) => one_scene(out, stores, scene).await,
        DemoMode::Interactive => {
            let stdin = io::stdin();
            let mut input = stdin.lock();
            interactive::interactive(out, &mut input, stores).await
        }
    }
}

/// Connects to PostgreSQL, creates or upgrades the schema and plays the
/// demo on it.
async fn on_postgres(mode: DemoMode, url: &str, out: &mut dyn Write) -> Result<(), StepFailed> {
    let postgres = PostgresStores::connect(url)
        .await
        .map_err(|e| StepFailed(format!("connecting to the database: {e}")))?;
    postgres
        .migrate()
        .await
        .map_err(|e| StepFailed(format!("creating the schema: {e}")))?;
    let _ignored = writeln!(out, "Stores: PostgreSQL (schema migrated).");
    play(mode, postgres.stores(), out).await
}

// ---- the walkthrough ------------------------------------------------------

/// The scripted walkthrough: every scene in order, on one portal.
async fn scripted(out: &mut dyn Write, stores: Stores) -> Result<(), StepFailed> {
    let mut p = Portal::open(out, stores).await?;
    p.say("twofa demo: the Partner Portal's two-factor authentication, scripted.");
    p.say("Every screen below comes from the twofa crates; every ✔ is a checked behaviour.");
    let mut cast = Cast::arrive(&mut p).await?;
    for scene in Scene::ALL {
        p.play(scene, &mut cast).await?;
    }
    let (checks, played) = (p.checks, p.scenes_played);
    if played != Scene::ALL.len() {
        return fail(format!("{played} of {} scenes played", Scene::ALL.len()));
    }
    p.say(format!(
        "\nAll {played} scenes played. All {checks} checks passed: the portal behaved as it should."
    ));
    Ok(())
}

/// One scene, after the scenes before it have run silently.
async fn one_scene(out: &mut dyn Write, stores: Stores, scene: Scene) -> Result<(), StepFailed> {
    let mut p = Portal::open(out, stores).await?;
    p.say(format!(
        "twofa demo --scene {}: one scene of the Partner Portal's two-factor authentication.",
        scene.name()
    ));
    let mut cast = Cast::arrive(&mut p).await?;
    let earlier = p.catch_up(scene, &mut cast, 0).await?;
    if earlier > 0 {
        p.say(format!(
            "(The {} before it ran silently: {} passed.)",
            counted(scene.number().saturating_sub(1), "scene"),
            counted(usize::try_from(earlier).unwrap_or(usize::MAX), "check")
        ));
    }
    let before = p.checks;
    p.play(scene, &mut cast).await?;
    let checks = p.checks.saturating_sub(before);
    p.say(format!(
        "\nScene {} ({}): all {checks} checks passed: the portal behaved as it should.",
        scene.number(),
        scene.name()
    ));
    Ok(())
}

/// Why the walkthrough stopped.
#[derive(Debug)]
struct StepFailed(String);

impl Display for StepFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn fail<T>(what: impl Into<String>) -> Result<T, StepFailed> {
    Err(StepFailed(what.into()))
}

fn unexpected(what: &str, error: impl std::fmt::Debug) -> StepFailed {
    StepFailed(format!("{what}: unexpected {error:?}"))
}

/// The login must be complete after this step.
fn allowed_step(step: LoginStep, what: &str) -> Result<Allowed, StepFailed> {
    match step {
        LoginStep::Allowed(allowed) => Ok(allowed),
        other => Err(unexpected(what, other)),
    }
}

const OFFICE: &str = "198.51.100.0/24";
const PORTAL: &str = "Partner Portal";
/// The passkeys' relying party, and the one web origin it runs ceremonies
/// on.
const RP_ID: &str = "example.com";
const LOGIN_ORIGIN: &str = "https://login.example.com";

/// The scripted portal: one company, a simulated clock and phone network.
struct Portal<'a> {
    twofa: Twofa,
    clock: Arc<ManualClock>,
    outbox: Arc<Outbox>,
    acme: CompanyId,
    admin: Actor,
    /// The key in Alice's authenticator app.
    admin_app: Option<ProvisioningUri>,
    /// Until when Alice's last second factor is recent enough for company
    /// settings.
    admin_fresh_until: DateTime<Utc>,
    out: &'a mut dyn Write,
    /// Set while earlier scenes catch up without printing.
    quiet: bool,
    checks: u32,
    scenes_played: usize,
    /// When the walkthrough begins, on the simulated clock.
    start: DateTime<Utc>,
}

/// What the scenes share: where people log in from, Bob, and what the
/// scenes before hand to the scenes after.
struct Cast {
    home: ClientContext,
    office: ClientContext,
    bob: UserId,
    /// Bob's first set-up screen (scene "set-up-prompt").
    bob_set_up: Option<SetUpScreen>,
    /// The key in Bob's authenticator app (scene "qr-code").
    bob_app: Option<ProvisioningUri>,
    /// The first code Bob typed (scene "activate-app").
    bob_first_code: Option<String>,
    /// Bob's recovery codes (scene "activate-app").
    bob_recovery: Vec<String>,
}

impl Cast {
    /// Alice and Bob get their accounts.
    async fn arrive(p: &mut Portal<'_>) -> Result<Self, StepFailed> {
        let home = client("203.0.113.9")?;
        let office = client("198.51.100.7")?;
        p.say("\nThe company Acme uses the portal. Everyone gets an account on screen:");
        p.add_user("alice", "Alice Admin", AccountKind::PartnerEmployee)
            .await?;
        p.say("    Alice is the company's Partner Portal admin.");
        p.enroll_admin().await?;
        let bob = p
            .add_user("bob", "Bob Baker", AccountKind::PartnerEmployee)
            .await?;
        Ok(Self {
            home,
            office,
            bob,
            bob_set_up: None,
            bob_app: None,
            bob_first_code: None,
            bob_recovery: Vec::new(),
        })
    }
}

/// What an earlier scene left, or a failure naming that scene.
fn needs<T>(value: Option<&T>, scene: Scene) -> Result<&T, StepFailed> {
    value.ok_or_else(|| StepFailed(format!("scene {} has not played", scene.name())))
}

impl<'a> Portal<'a> {
    /// The demo's company on a simulated clock, with Alice as its
    /// administrator.
    async fn open(out: &'a mut dyn Write, stores: Stores) -> Result<Self, StepFailed> {
        let start = Utc
            .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
            .single()
            .ok_or_else(|| StepFailed("start time".to_owned()))?;
        let clock = Arc::new(ManualClock::new(start));
        let outbox = Arc::new(Outbox::new());
        let twofa = service(clock.clone(), &outbox, stores)?;
        let acme = CompanyId::new("acme").map_err(|e| unexpected("company id", e))?;
        let alice = UserId::new("alice").map_err(|e| unexpected("user id", e))?;
        let admin = Actor::new(alice, acme.clone(), CompanyRole::Admin);
        provision_company(&twofa, &acme).await?;
        Ok(Self {
            twofa,
            clock,
            outbox,
            acme,
            admin,
            admin_app: None,
            admin_fresh_until: start,
            out,
            quiet: false,
            checks: 0,
            scenes_played: 0,
            start,
        })
    }
}

impl Portal<'_> {
    fn say(&mut self, text: impl Display) {
        if self.quiet {
            return;
        }
        // The demo's output is best effort: a closed pipe ends nothing early.
        let _ignored = writeln!(self.out, "{text}");
    }

    fn flush(&mut self) {
        let _ignored = self.out.flush();
    }

    fn heading(&mut self, number: usize, title: &str) {
        let now = self.clock_now();
        self.say(format!(
            "\n━━ {number}. {title} ━━  (simulated time {})",
            now.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }

    fn clock_now(&self) -> DateTime<Utc> {
        twofa::Clock::now(&*self.clock)
    }

    fn check(&mut self, ok: bool, what: &str) -> Result<(), StepFailed> {
        if ok {
            self.checks = self.checks.saturating_add(1);
            self.say(format!("  ✔ {what}"));
            Ok(())
        } else {
            fail(format!("check failed: {what}"))
        }
    }

    async fn add_user(
        &mut self,
        id: &str,
        name: &str,
        kind: AccountKind,
    ) -> Result<UserId, StepFailed> {
        let user = UserId::new(id).map_err(|e| unexpected("user id", e))?;
        let email = EmailAddress::parse(&format!("{id}@acme.example"))
            .map_err(|e| unexpected("email", e))?;
        let record =
            NewUser::new(user.clone(), self.acme.clone(), kind, name).with_email(email.clone());
        self.say(format!(
            "  👤 New account: {name} · {} · {}",
            screens::account_label(kind),
            email.masked()
        ));
        self.twofa
            .create_user(record)
            .await
            .map_err(|e| unexpected("provisioning a user", e))?;
        Ok(user)
    }

    /// The code in the last message the simulated phone network carried,
    /// and what the user saw or heard.
    fn last_message(&self) -> Result<(String, String), StepFailed> {
        let (kind, text) = match self.outbox.last() {
            Some(SentMessage::Sms(sms)) => ("SMS", sms.body.expose_secret().to_owned()),
            Some(SentMessage::Voice(call)) => ("Call", call.script.expose_secret().to_owned()),
            Some(SentMessage::Email(mail)) => ("Email", mail.body.expose_secret().to_owned()),
            _ => return fail("no message was sent"),
        };
        let code = code_in(&text).ok_or_else(|| StepFailed(format!("no code in the {kind}")))?;
        Ok((code, format!("{kind}: {}", one_line(&text))))
    }

    /// Shows every message the simulated networks carried from message
    /// number `from` on: texts, calls, emails and notices.
    fn show_messages_since(&mut self, from: usize) {
        for message in self.outbox.sent().into_iter().skip(from) {
            let line = match message {
                SentMessage::Sms(sms) => format!(
                    "📱 SMS to {}: {}",
                    sms.to.masked(),
                    one_line(sms.body.expose_secret())
                ),
                SentMessage::Voice(call) => format!(
                    "☎ Call to {}: {}",
                    call.to.masked(),
                    one_line(call.script.expose_secret())
                ),
                SentMessage::Email(mail) => format!(
                    "✉ Email to {}: {}",
                    mail.to.masked(),
                    one_line(mail.body.expose_secret())
                ),
                SentMessage::Notice(NoticeMessage::Sms(sms)) => {
                    format!("📱 SMS to {}: {}", sms.to.masked(), one_line(&sms.text))
                }
                SentMessage::Notice(NoticeMessage::Email(mail)) => format!(
                    "✉ Email to {}: {} ⏎ {}",
                    mail.to.masked(),
                    mail.subject,
                    one_line(&mail.body)
                ),
                _ => "(a message the demo does not draw)".to_owned(),
            };
            self.say(format!("  {line}"));
        }
    }

    async fn login(
        &mut self,
        user: &UserId,
        client: &ClientContext,
    ) -> Result<LoginStep, StepFailed> {
        self.twofa
            .begin_login(user, client)
            .await
            .map_err(|e| unexpected("login", e))
    }

    async fn expect_set_up(
        &mut self,
        user: &UserId,
        client: &ClientContext,
    ) -> Result<SetUpScreen, StepFailed> {
        match self.login(user, client).await? {
            LoginStep::SetUp(screen) => {
                self.show_set_up(&screen);
                Ok(screen)
            }
            other => fail(format!("expected the set-up prompt, got {other:?}")),
        }
    }

    async fn expect_challenge(
        &mut self,
        user: &UserId,
        client: &ClientContext,
    ) -> Result<ChallengeScreen, StepFailed> {
        match self.login(user, client).await? {
            LoginStep::Challenge(screen) => {
                self.show_challenge(&screen);
                Ok(screen)
            }
            other => fail(format!("expected the verification prompt, got {other:?}")),
        }
    }

    async fn expect_allowed(
        &mut self,
        user: &UserId,
        client: &ClientContext,
    ) -> Result<Allowed, StepFailed> {
        match self.login(user, client).await? {
            LoginStep::Allowed(allowed) => {
                self.show_allowed(&allowed);
                Ok(allowed)
            }
            other => fail(format!("expected no prompt, got {other:?}")),
        }
    }

    /// The user picks SMS for `number` on the set-up screen; the text
    /// arrives. Returns what the screen shows and the code.
    async fn choose_sms(
        &mut self,
        user: &UserId,
        ticket: &LoginTicket,
        number: &str,
    ) -> Result<(CodeSent, String), StepFailed> {
        let progress = self
            .twofa
            .choose_method(
                user,
                ticket,
                MethodChoice::Phone(PhoneChoice::new(number, PhoneChannel::Sms)),
            )
            .await
            .map_err(|e| unexpected("choosing SMS", e))?;
        let SetUpProgress::CodeSent(sent) = progress else {
            return fail(format!("expected an SMS, got {progress:?}"));
        };
        let (code, sms) = self.last_message()?;
        self.say(format!("  📱 {sms}"));
        Ok((sent, code))
    }

    /// Bob's phone: the authenticator app computes the current code.
    /// Alice sets up her authenticator app: company settings need her
    /// second factor from the last ten minutes.
    async fn enroll_admin(&mut self) -> Result<(), StepFailed> {
        let alice = self.admin.user().clone();
        let client = client("198.51.100.7")?;
        let LoginStep::SetUp(screen) = self
            .twofa
            .begin_login(&alice, &client)
            .await
            .map_err(|e| unexpected("Alice's login", e))?
        else {
            return fail("Alice is asked to set up 2FA");
        };
        let progress = self
            .twofa
            .choose_method(&alice, &screen.ticket, MethodChoice::AuthenticatorApp)
            .await
            .map_err(|e| unexpected("Alice's app", e))?;
        let SetUpProgress::ScanQrCode(uri) = progress else {
            return fail(format!("expected Alice's QR code, got {progress:?}"));
        };
        let code = app_code(&uri, self.clock_now())?;
        let step = self
            .twofa
            .submit_code(&alice, &screen.ticket, &code)
            .await
            .map_err(|e| unexpected("Alice's first code", e))?;
        allowed_step(step, "Alice's first code")?;
        self.say(
            "    Alice has set up her authenticator app: company settings need her second factor from the last 10 minutes.",
        );
        self.admin_fresh_until = self.clock_now() + twofa::chrono::TimeDelta::minutes(10);
        self.admin_app = Some(uri);
        Ok(())
    }

    /// Alice, for a change of company settings: when her last second
    /// factor is older than ten minutes she confirms it is her first
    /// (step-up), even on the trusted office network.
    async fn admin_stepped_up(&mut self) -> Result<Actor, StepFailed> {
        let now = self.clock_now();
        if now >= self.admin_fresh_until {
            let alice = self.admin.user().clone();
            let uri = self
                .admin_app
                .clone()
                .ok_or_else(|| StepFailed("Alice has no app".to_owned()))?;
            let step = self
                .twofa
                .begin_step_up(&alice, &client("198.51.100.7")?)
                .await
                .map_err(|e| unexpected("Alice's step-up", e))?;
            let LoginStep::Challenge(screen) = step else {
                return fail(format!("expected Alice's step-up prompt, got {step:?}"));
            };
            let code = app_code(&uri, now)?;
            let step = self
                .twofa
                .submit_code(&alice, &screen.ticket, &code)
                .await
                .map_err(|e| unexpected("Alice's step-up code", e))?;
            allowed_step(step, "Alice's step-up")?;
            self.say("  🔐 Company settings: Alice confirms it is her with a code from her app.");
            self.admin_fresh_until = now + twofa::chrono::TimeDelta::minutes(10);
        }
        Ok(self.admin.clone())
    }

    fn phone_code(&mut self, uri: &ProvisioningUri) -> Result<String, StepFailed> {
        let code = app_code(uri, self.clock_now())?;
        self.say(format!(
            "  📱 The authenticator app shows {code}; the user types it."
        ));
        Ok(code)
    }
}

/// "1 scene", "2 scenes".
fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// A message's lines on one line.
fn one_line(text: &str) -> String {
    text.trim_end().replace('\n', " ⏎ ")
}

/// The digits after the first "code" and colon of a message.
fn code_in(text: &str) -> Option<String> {
    let after = text.get(text.find("code")?..)?;
    let from = after.get(after.find(':')?..)?;
    let code: String = from.chars().filter(char::is_ascii_digit).take(6).collect();
    (code.len() == 6).then_some(code)
}

/// What an authenticator app holding this key shows at `now`.
fn app_code(uri: &ProvisioningUri, now: DateTime<Utc>) -> Result<String, StepFailed> {
    let totp = uri
        .key_uri()
        .to_totp()
        .ok_or_else(|| StepFailed("the key URI is not a TOTP key".to_owned()))?;
    let seconds = u64::try_from(now.timestamp()).map_err(|e| unexpected("time", e))?;
    let code = totp.generate(seconds).map_err(|e| unexpected("code", e))?;
    Ok(code.expose_secret().as_str().to_owned())
}

/// A user the scenes before have given an account.
fn user(id: &str) -> Result<UserId, StepFailed> {
    UserId::new(id).map_err(|e| unexpected("user id", e))
}

fn client(ip: &str) -> Result<ClientContext, StepFailed> {
    ip.parse()
        .map(ClientContext::new)
        .map_err(|e| unexpected("address", e))
}

fn service(
    clock: Arc<ManualClock>,
    outbox: &Arc<Outbox>,
    stores: Stores,
) -> Result<Twofa, StepFailed> {
    // Fixed demo keys: a real service loads them from its secret store.
    let server_key = ServerKey::from_bytes(&[0x5a; 32]).map_err(|e| unexpected("server key", e))?;
    let sealer =
        XChaChaSealer::from_bytes(&[0xa5; 32]).map_err(|e| unexpected("sealing key", e))?;
    let issuer = Issuer::new(PORTAL).map_err(|e| unexpected("issuer", e))?;
    let login_origin = Origin::https(LOGIN_ORIGIN).map_err(|e| unexpected("origin", e))?;
    let passkeys = RelyingParty::new(RP_ID, PORTAL, [login_origin])
        .map_err(|e| unexpected("relying party", e))?;
    Twofa::builder()
        .stores(stores)
        .channels(Channels::outbox(outbox))
        .server_key(server_key)
        .sealer(Arc::new(sealer))
        .issuer(issuer)
        .with_passkeys(passkeys)
        .with_clock(clock)
        .with_random(Arc::new(SeededRandom::new([7; 32])))
        .build()
        .map_err(|e| unexpected("service", e))
}

/// Adds the demo's company; refuses a database that already holds it (the
/// demo's accounts would not start from scratch).
async fn provision_company(twofa: &Twofa, acme: &CompanyId) -> Result<(), StepFailed> {
    match twofa.create_company(NewCompany::new(acme.clone())).await {
        Ok(()) => Ok(()),
        Err(ProvisionError::CompanyExists) => {
            fail("the stores already hold the demo's company: run the demo on an empty database")
        }
        Err(e) => Err(unexpected("provisioning the company", e)),
    }
}
