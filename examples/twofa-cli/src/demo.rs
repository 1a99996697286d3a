//! `twofa demo`: the partner portal's two-factor authentication, end to end.
//!
//! The scripted walkthrough plays every portal feature against in-memory
//! stores and a simulated clock: each step prints the screen a user would
//! see and checks that the portal behaved as it should. The run stops at
//! the first step that does not, and exits non-zero. All behaviour comes
//! from the `twofa` facade; this module only scripts, prints and checks.
//!
//! `--interactive` enrolls a real authenticator app instead: scan the QR
//! code drawn in the terminal and type the codes the app shows.
//!
//! `--database-url` plays either on PostgreSQL (an empty database; the
//! schema is created) instead of the in-memory stores.

use std::fmt::Display;
use std::future::Future;
use std::io::{self, Write};
use std::pin::pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use twofa::chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use twofa::delivery::{
    CodeChannel, EmailAddress, Issuer, LineType, Outbox, ResendOption, SentMessage, ServerKey,
};
use twofa::enforcement::{
    AccountKind, Actor, CompanyId, CompanyPolicy, CompanyRole, Method, MethodSet, TrustedNetworks,
    UserId,
};
use twofa::enrollment::{
    MethodKind, NotMobileAnswer, NotMobileDialog, PhoneChannel, ProvisioningUri, XChaChaSealer,
};
use twofa::otp::TerminalBackground;
use twofa::trusted_network::Cidr;
use twofa::{
    Allowed, AllowedBy, ChallengeScreen, Channels, ClientContext, CodeSent, CompanyRecord,
    LoginStep, LoginTicket, ManualClock, MethodChoice, PhoneChoice, Rejected, Resent, RetryAdvice,
    SaveError, SeededRandom, SetUpProgress, SetUpScreen, Stores, SystemClock, Twofa, UserRecord,
};
use twofa_store_postgres::PostgresStores;

/// How the demo runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DemoMode {
    /// The scripted walkthrough on a simulated clock.
    Scripted,
    /// A person enrolls a real authenticator app.
    Interactive,
}

/// Runs the demo on the in-memory stores, or on the PostgreSQL database
/// at `database_url`, and returns the process exit status: success only if
/// every step behaved as the portal should.
pub(crate) fn run(mode: DemoMode, database_url: Option<&str>) -> ExitCode {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = match database_url {
        None => block_on(play(mode, Stores::in_memory(), &mut out)),
        Some(url) => on_postgres(mode, url, &mut out),
    };
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
        DemoMode::Scripted => scripted(out, stores).await,
        DemoMode::Interactive => {
            let stdin = io::stdin();
            let mut input = stdin.lock();
            interactive(out, &mut input, stores).await
        }
    }
}

/// Connects to PostgreSQL, creates or upgrades the schema and plays the
/// demo on it. The driver needs a Tokio runtime; one thread is enough.
fn on_postgres(mode: DemoMode, url: &str, out: &mut dyn Write) -> Result<(), StepFailed> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| unexpected("starting the async runtime", e))?;
    runtime.block_on(async {
        let postgres = PostgresStores::connect(url)
            .await
            .map_err(|e| StepFailed(format!("connecting to the database: {e}")))?;
        postgres
            .migrate()
            .await
            .map_err(|e| StepFailed(format!("creating the schema: {e}")))?;
        let _ignored = writeln!(out, "Stores: PostgreSQL (schema migrated).");
        play(mode, postgres.stores(), out).await
    })
}

// ---- a minimal executor ---------------------------------------------------

/// Wakes the thread that runs [`block_on`].
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on this thread. The facade's futures are
/// plain `Send` futures; the in-memory stores and the outbox never wait,
/// so no runtime is needed.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => thread::park(),
        }
    }
}

// ---- the walkthrough ------------------------------------------------------

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

/// The scripted portal: one company, a simulated clock and phone network.
struct Portal<'a> {
    twofa: Twofa,
    clock: Arc<ManualClock>,
    outbox: Arc<Outbox>,
    acme: CompanyId,
    admin: Actor,
    out: &'a mut dyn Write,
    checks: u32,
}

impl Portal<'_> {
    fn say(&mut self, text: impl Display) {
        // The demo's output is best effort: a closed pipe ends nothing early.
        let _ignored = writeln!(self.out, "{text}");
    }

    fn heading(&mut self, number: u32, title: &str) {
        let now = self.clock_now();
        self.say(format!(
            "\n━━ {number}. {title} ━━  (simulated time {})",
            now.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }

    fn clock_now(&self) -> DateTime<Utc> {
        twofa::Clock::now(&*self.clock)
    }

    fn screen(&mut self, title: &str, lines: &[String]) {
        let width = lines
            .iter()
            .map(|line| line.chars().count())
            .chain([title.chars().count().saturating_add(4)])
            .max()
            .unwrap_or(0)
            .saturating_add(2);
        let rule = "─".repeat(
            width
                .saturating_sub(title.chars().count())
                .saturating_sub(3),
        );
        self.say(format!("  ┌─ {title} {rule}┐"));
        for line in lines {
            let pad = " ".repeat(width.saturating_sub(line.chars().count()));
            self.say(format!("  │ {line}{pad}│"));
        }
        self.say(format!("  └{}┘", "─".repeat(width.saturating_add(1))));
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
        let record = UserRecord::new(user.clone(), self.acme.clone(), kind, name).with_email(email);
        self.twofa
            .stores()
            .users()
            .save(&user, record, None)
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
        Ok((code, format!("{kind}: {}", text.replace('\n', " ⏎ "))))
    }

    fn show_set_up(&mut self, screen: &SetUpScreen) {
        let mut lines = vec![
            "You must set up two-factor authentication.".to_owned(),
            "Choose an authentication method:".to_owned(),
        ];
        lines.extend(method_lines(screen.methods));
        lines.push(String::new());
        match screen.remind_me_until {
            Some(until) => lines.push(format!(
                "[ Enable 2FA ]   [ Remind me in 48 hours ] (until {})",
                until.format("%a %H:%M UTC")
            )),
            None => lines.push("[ Enable 2FA ]".to_owned()),
        }
        self.screen(&format!("{PORTAL} · Enable 2FA"), &lines);
    }

    fn show_challenge(&mut self, screen: &ChallengeScreen) {
        let mut lines = vec!["2FA Verification".to_owned()];
        match &screen.sent_to {
            Some(to) => lines.push(format!("We sent a code to {to}.")),
            None => lines.push("Enter the code shown in your authenticator app.".to_owned()),
        }
        lines.push("Code: [______]   [ Submit ]".to_owned());
        let resend: Vec<&str> = screen.resend.iter().map(|o| resend_label(*o)).collect();
        lines.push(format!("Didn't get it?  {}", resend.join(" · ")));
        for other in &screen.other_methods {
            let label = match (&other.masked_number, other.kind) {
                (Some(number), MethodKind::Voice) => format!("a phone call to {number}"),
                (Some(number), _) => format!("a text message to {number}"),
                (None, MethodKind::Push) => "the push app".to_owned(),
                (None, _) => "the authenticator app".to_owned(),
            };
            lines.push(format!("Use another method: [ {label} ]"));
        }
        if screen.then_set_up.is_some() {
            lines.push(
                "Your company no longer allows this method: after this check, set up another one."
                    .to_owned(),
            );
        }
        self.screen(&format!("{PORTAL} · Verify"), &lines);
    }

    fn show_allowed(&mut self, allowed: &Allowed) {
        let why = match allowed.by {
            AllowedBy::SecondFactor { method } => format!("second factor completed ({method})"),
            AllowedBy::RecoveryCode => "recovery code accepted".to_owned(),
            AllowedBy::TrustedNetwork { network, until } => format!(
                "trusted network {network}: no prompt until {}",
                until.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            AllowedBy::DeferralRunning { until } | AllowedBy::Deferred { until } => format!(
                "2FA set-up postponed until {}",
                until.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            _ => "allowed".to_owned(),
        };
        let mut lines = vec![
            "Welcome to the Partner Portal.".to_owned(),
            format!("({why})"),
        ];
        if let Some(sheet) = &allowed.recovery_codes {
            lines.push(String::new());
            lines.push("2FA is active. Save these recovery codes; each works once:".to_owned());
            lines.extend(sheet.expose_secret().map(|code| format!("  {code}")));
        }
        self.screen(&format!("{PORTAL} · Dashboard"), &lines);
    }

    fn show_rejected(&mut self, rejected: Rejected) {
        let text = match rejected.advice() {
            RetryAdvice::IncorrectCode => "That code is not correct. Please try again.",
            RetryAdvice::NewCodeNeeded => "This code can no longer be used. Request a new one.",
            RetryAdvice::TryLater => "Please wait a moment before trying again.",
            RetryAdvice::CheckInput => "Please check what you entered.",
            _ => "Please log in again.",
        };
        self.screen(&format!("{PORTAL} · Verify"), &[format!("⚠ {text}")]);
    }

    fn show_dialog(&mut self, number: &str, dialog: &NotMobileDialog) {
        let why = match dialog.line_type {
            LineType::Unknown(_) => {
                "We cannot tell whether this number is a mobile (numbers in Canada and the US look alike)."
            }
            _ => "This looks like a landline or other non-mobile number.",
        };
        self.screen(
            &format!("{PORTAL} · {number}"),
            &[
                why.to_owned(),
                "Text messages may not arrive. We recommend an authenticator app".to_owned(),
                "(Authy or any app that scans a QR code).".to_owned(),
                String::new(),
                "[ Use an app instead ]   [ Call me with the code instead ]".to_owned(),
            ],
        );
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
    fn phone_code(&mut self, uri: &ProvisioningUri) -> Result<String, StepFailed> {
        let code = app_code(uri, self.clock_now())?;
        self.say(format!(
            "  📱 The authenticator app shows {code}; the user types it."
        ));
        Ok(code)
    }
}

fn method_lines(methods: MethodSet) -> Vec<String> {
    let mut lines = Vec::new();
    if methods.contains(Method::AuthenticatorApp) {
        lines.push("  ( ) Third-party authenticator app".to_owned());
    }
    if methods.contains(Method::PushApp) {
        lines.push("  ( ) Authy (push notification or token)".to_owned());
    }
    if methods.contains(Method::Sms) || methods.contains(Method::VoiceCall) {
        lines.push("  ( ) SMS / Voice".to_owned());
    }
    lines
}

fn resend_label(option: ResendOption) -> &'static str {
    match option {
        ResendOption::Sms => "[SMS]",
        ResendOption::Voice => "[Phone call]",
        ResendOption::Email => "[Email]",
        ResendOption::App => "check your device for a new code",
    }
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
    Ok(Twofa::builder(
        stores,
        Channels::outbox(outbox),
        server_key,
        Arc::new(sealer),
        issuer,
    )
    .with_clock(clock)
    .with_random(Arc::new(SeededRandom::new([7; 32])))
    .build())
}

/// Adds the demo's company; refuses a database that already holds it (the
/// demo's accounts would not start from scratch).
async fn provision_company(twofa: &Twofa, acme: &CompanyId) -> Result<(), StepFailed> {
    match twofa
        .stores()
        .companies()
        .save(acme, CompanyRecord::new(acme.clone()), None)
        .await
    {
        Ok(_) => Ok(()),
        Err(SaveError::Conflict) => {
            fail("the stores already hold the demo's company: run the demo on an empty database")
        }
        Err(e) => Err(unexpected("provisioning the company", e)),
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "the walkthrough reads as one script, step by step"
)]
async fn scripted(out: &mut dyn Write, stores: Stores) -> Result<(), StepFailed> {
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
    let mut p = Portal {
        twofa,
        clock,
        outbox,
        acme,
        admin,
        out,
        checks: 0,
    };
    p.say("twofa demo: the Partner Portal's two-factor authentication, scripted.");
    p.say("Every screen below comes from the twofa crates; every ✔ is a checked behaviour.");
    let home = client("203.0.113.9")?;
    let office = client("198.51.100.7")?;
    p.add_user("alice", "Alice Admin", AccountKind::PartnerEmployee)
        .await?;
    let bob = p
        .add_user("bob", "Bob Baker", AccountKind::PartnerEmployee)
        .await?;

    // 1. The password was accepted; 2FA is not set up yet.
    p.heading(1, "Bob logs in: the portal asks him to set up 2FA");
    let screen = p.expect_set_up(&bob, &home).await?;
    p.check(
        screen.methods.contains(Method::AuthenticatorApp) && screen.methods.contains(Method::Sms),
        "every method is offered: authenticator app, Authy, SMS/voice",
    )?;
    p.check(
        screen.remind_me_until == Some(start + TimeDelta::hours(48)),
        "\"Remind me in 48 hours\" is offered (the company does not enforce 2FA)",
    )?;

    // 2. The authenticator app: URI and QR code.
    p.heading(2, "Bob chooses the authenticator app and scans the QR code");
    let progress = p
        .twofa
        .choose_method(&bob, &screen.ticket, MethodChoice::AuthenticatorApp)
        .await
        .map_err(|e| unexpected("choosing the app", e))?;
    let SetUpProgress::ScanQrCode(uri) = progress else {
        return fail(format!("expected a QR code, got {progress:?}"));
    };
    let text = uri.expose_secret();
    p.say(format!("  Key URI: {}", text.as_str()));
    let qr = uri
        .key_uri()
        .to_qr_terminal(TerminalBackground::Dark)
        .map_err(|e| unexpected("QR code", e))?;
    p.say(qr.as_str());
    p.check(
        text.starts_with("otpauth://totp/Partner%20Portal:Bob%20Baker?"),
        "the QR code holds an RFC 6238 otpauth:// key for \"Partner Portal\"",
    )?;

    // 3. The simulated phone computes the code; activation.
    p.heading(3, "Bob types the code from his phone: 2FA is active");
    let first = p.phone_code(&uri)?;
    let allowed = p
        .twofa
        .submit_code(&bob, &screen.ticket, &first)
        .await
        .map_err(|e| unexpected("activation", e))
        .and_then(|step| allowed_step(step, "activation"))?;
    p.show_allowed(&allowed);
    p.check(
        allowed.by
            == AllowedBy::SecondFactor {
                method: Method::AuthenticatorApp,
            }
            && allowed
                .recovery_codes
                .as_ref()
                .is_some_and(|s| s.len() == 10),
        "the correct code activates the app and ten recovery codes are shown once",
    )?;
    let recovery: Vec<String> = allowed
        .recovery_codes
        .iter()
        .flat_map(|sheet| sheet.expose_secret().map(str::to_owned))
        .collect();

    // 4. A replayed code.
    p.heading(4, "Someone replays the code Bob just used");
    p.clock.advance(TimeDelta::seconds(10));
    let again = p.expect_challenge(&bob, &home).await?;
    match p.twofa.submit_code(&bob, &again.ticket, &first).await {
        Err(rejected) => {
            p.show_rejected(rejected);
            p.check(
                true,
                "a code that was already accepted is refused (RFC 6238 §5.2)",
            )?;
        }
        Ok(_) => return fail("a replayed code was accepted"),
    }
    p.clock.advance(TimeDelta::seconds(30));
    let next = p.phone_code(&uri)?;
    let allowed = p
        .twofa
        .submit_code(&bob, &again.ticket, &next)
        .await
        .map_err(|e| unexpected("the next code", e))
        .and_then(|step| allowed_step(step, "the next code"))?;
    p.show_allowed(&allowed);
    p.check(true, "the app's next code is accepted")?;

    // 5. SMS enrollment and a re-send by phone call.
    p.heading(5, "Carol sets up SMS, then asks for a phone call instead");
    let carol = p
        .add_user("carol", "Carol Chen", AccountKind::PartnerEmployee)
        .await?;
    let screen = p.expect_set_up(&carol, &home).await?;
    let (sent, sms_code) = p
        .choose_sms(&carol, &screen.ticket, "+44 7400 123456")
        .await?;
    p.screen(
        &format!("{PORTAL} · 2FA Verification"),
        &[
            format!("We sent a code to {}.", sent.to),
            "Code: [______]   [ Submit ]".to_owned(),
            "Didn't get it?  [SMS] · [Phone call] · [Email]".to_owned(),
        ],
    );
    p.check(
        sent.channel == CodeChannel::Sms && sent.to == "+44 ••• ••• 3456",
        "a mobile number gets its code by SMS; the screen shows it masked",
    )?;
    p.clock.advance(TimeDelta::seconds(30));
    let resent = p
        .twofa
        .resend(&carol, &screen.ticket, ResendOption::Voice)
        .await
        .map_err(|e| unexpected("re-send by call", e))?;
    let (call_code, call) = p.last_message()?;
    p.say(format!("  ☎ {call}"));
    p.check(
        matches!(resent, Resent::CodeSent(ref s) if s.channel == CodeChannel::Voice),
        "\"Phone call\" re-sends a fresh code by voice",
    )?;
    if call_code != sms_code {
        let stale = p.twofa.submit_code(&carol, &screen.ticket, &sms_code).await;
        p.check(
            stale.is_err(),
            "the SMS code stopped working when the call brought a new one",
        )?;
    }
    let allowed = p
        .twofa
        .submit_code(&carol, &screen.ticket, &call_code)
        .await
        .map_err(|e| unexpected("SMS activation", e))
        .and_then(|step| allowed_step(step, "SMS activation"))?;
    p.show_allowed(&allowed);
    p.check(
        allowed.by
            == AllowedBy::SecondFactor {
                method: Method::Sms,
            },
        "the code from the call activates SMS 2FA",
    )?;

    // 6. Numbers that are not mobiles.
    p.heading(
        6,
        "Numbers that are not (known to be) mobiles get the dialog",
    );
    for (id, name, number, region) in [
        ("dave", "Dave Dunn", "+44 121 234 5678", "a UK landline"),
        ("dirk", "Dirk Weber", "+49 30 123456", "a Berlin landline"),
        ("erin", "Erin Roy", "+1 506 234 5678", "a Canadian number"),
    ] {
        let user = p.add_user(id, name, AccountKind::PartnerEmployee).await?;
        let screen = p.expect_set_up(&user, &home).await?;
        let before = p.outbox.len();
        let progress = p
            .twofa
            .choose_method(
                &user,
                &screen.ticket,
                MethodChoice::Phone(PhoneChoice::new(number, PhoneChannel::Sms)),
            )
            .await
            .map_err(|e| unexpected("choosing SMS", e))?;
        let SetUpProgress::NotMobile(dialog) = progress else {
            return fail(format!(
                "expected the not-a-mobile dialog for {number}, got {progress:?}"
            ));
        };
        p.show_dialog(number, &dialog);
        p.check(
            dialog.recommended == MethodKind::App && p.outbox.len() == before,
            &format!("{region} ({number}) gets the dialog recommending the app; no SMS is sent"),
        )?;
        if id == "erin" {
            let progress = p
                .twofa
                .choose_method(
                    &user,
                    &screen.ticket,
                    MethodChoice::Phone(
                        PhoneChoice::new(number, PhoneChannel::Sms)
                            .with_answer(NotMobileAnswer::ContinueWithVoice),
                    ),
                )
                .await
                .map_err(|e| unexpected("continuing with a call", e))?;
            let (_, call) = p.last_message()?;
            p.say(format!("  ☎ {call}"));
            p.check(
                matches!(progress, SetUpProgress::CodeSent(ref s) if s.channel == CodeChannel::Voice),
                "choosing \"Call me\" in the dialog sends the code by voice",
            )?;
        }
    }

    // 7. Remind me in 48 hours.
    p.heading(7, "Frank chooses \"Remind me in 48 hours\"");
    let frank = p
        .add_user("frank", "Frank Fox", AccountKind::PartnerEmployee)
        .await?;
    let screen = p.expect_set_up(&frank, &home).await?;
    let deferred_at = p.clock_now();
    let allowed = p
        .twofa
        .defer(&frank, &screen.ticket)
        .await
        .map_err(|e| unexpected("deferral", e))?;
    p.show_allowed(&allowed);
    let until = deferred_at + TimeDelta::hours(48);
    p.check(
        allowed.by == AllowedBy::Deferred { until },
        "the deferral runs for exactly 48 hours",
    )?;
    p.clock.set(until - TimeDelta::seconds(1));
    p.say("  … 47 h 59 min 59 s later:");
    let allowed = p.expect_allowed(&frank, &home).await?;
    p.check(
        allowed.by == AllowedBy::DeferralRunning { until },
        "at 47:59:59 Frank logs in without a prompt",
    )?;
    p.clock.set(until);
    p.say("  … 48 h later:");
    let screen = p.expect_set_up(&frank, &home).await?;
    p.check(
        screen.remind_me_until.is_some(),
        "at exactly 48 h the set-up prompt is back (and he may defer again)",
    )?;

    // 8. The admin enforces 2FA.
    p.heading(8, "Alice, the company admin, requires 2FA for everyone");
    let admin = p.admin.clone();
    p.twofa
        .enforce_two_factor(&admin)
        .await
        .map_err(|e| unexpected("enforcing", e))?;
    p.screen(
        &format!("{PORTAL} · Company Settings"),
        &[
            "Authentication Settings".to_owned(),
            "Two-factor authentication is required for all users.".to_owned(),
            "(This cannot be turned off.)".to_owned(),
        ],
    );
    let screen = p.expect_set_up(&frank, &home).await?;
    p.check(
        screen.remind_me_until.is_none(),
        "the \"Remind me in 48 hours\" option is gone",
    )?;
    let refused = p.twofa.defer(&frank, &screen.ticket).await;
    p.check(refused.is_err(), "a deferral cannot be taken any more")?;

    // 9. Trusted networks.
    p.heading(9, "Alice adds the office network as a trusted network");
    let network = Cidr::parse(OFFICE).map_err(|e| unexpected("network", e))?;
    p.twofa
        .add_trusted_network(&admin, network, "Head office")
        .await
        .map_err(|e| unexpected("adding the network", e))?;
    p.screen(
        &format!("{PORTAL} · Trusted networks"),
        &[format!("{OFFICE}   Head office   added by alice")],
    );
    p.say("  Bob logs in at the office and answers the prompt once:");
    p.clock.advance(TimeDelta::minutes(1));
    let screen = p.expect_challenge(&bob, &office).await?;
    let code = p.phone_code(&uri)?;
    let allowed = p
        .twofa
        .submit_code(&bob, &screen.ticket, &code)
        .await
        .map_err(|e| unexpected("office login", e))
        .and_then(|step| allowed_step(step, "office login"))?;
    p.show_allowed(&allowed);
    let granted = p.clock_now();
    p.clock.set(granted + TimeDelta::days(20));
    p.say("  … 20 days later, at the office:");
    let allowed = p.expect_allowed(&bob, &office).await?;
    p.check(
        matches!(allowed.by, AllowedBy::TrustedNetwork { .. }),
        "20 days later on the trusted network: no prompt",
    )?;
    p.clock
        .set(granted + TimeDelta::days(21) - TimeDelta::seconds(1));
    let last_second = p.login(&bob, &office).await?;
    p.check(
        matches!(last_second, LoginStep::Allowed(_)),
        "still no prompt one second before 21 days",
    )?;
    p.clock.set(granted + TimeDelta::days(21));
    p.say("  … 21 days later, at the office:");
    p.expect_challenge(&bob, &office).await?;
    p.check(true, "after 21 days (three weeks) the prompt is back")?;

    // 10. Client accounts.
    p.heading(10, "Grace, an end-user client, always answers the prompt");
    let grace = p
        .add_user("grace", "Grace Hill", AccountKind::EndUserClient)
        .await?;
    let screen = p.expect_set_up(&grace, &office).await?;
    let SetUpProgress::ScanQrCode(grace_uri) = p
        .twofa
        .choose_method(&grace, &screen.ticket, MethodChoice::AuthenticatorApp)
        .await
        .map_err(|e| unexpected("choosing the app", e))?
    else {
        return fail("expected a QR code for Grace");
    };
    let code = app_code(&grace_uri, p.clock_now())?;
    p.twofa
        .submit_code(&grace, &screen.ticket, &code)
        .await
        .map_err(|e| unexpected("Grace's activation", e))
        .and_then(|step| allowed_step(step, "Grace's activation"))?;
    p.clock.advance(TimeDelta::hours(1));
    p.say("  An hour later, from the same trusted office network:");
    p.expect_challenge(&grace, &office).await?;
    p.check(
        true,
        "client accounts cannot use trusted networks: prompted at every login",
    )?;

    // 11. A recovery code.
    p.heading(11, "Bob lost his phone: he uses a recovery code");
    p.clock.advance(TimeDelta::hours(1));
    let screen = p.expect_challenge(&bob, &home).await?;
    let Some(code) = recovery.first().cloned() else {
        return fail("no recovery code was shown");
    };
    p.say(format!("  Bob types the recovery code {code}"));
    let allowed = p
        .twofa
        .use_recovery_code(&bob, &screen.ticket, &code)
        .await
        .map_err(|e| unexpected("recovery code", e))
        .and_then(|step| allowed_step(step, "recovery code"))?;
    p.show_allowed(&allowed);
    p.check(
        allowed.by == AllowedBy::RecoveryCode,
        "a recovery code completes the login",
    )?;
    let notice = match p.outbox.last() {
        Some(SentMessage::Notice(twofa::delivery::NoticeMessage::Email(mail))) => Some(mail),
        _ => None,
    };
    if let Some(mail) = &notice {
        p.say(format!(
            "  Email to {}: {}",
            mail.to,
            mail.body.trim_end().replace('\n', " ⏎ ")
        ));
    }
    p.check(
        notice.is_some_and(|mail| mail.body.contains("unused codes left: 9")),
        "Bob is told by email that a recovery code was used, and how many are left",
    )?;
    let screen = p.expect_challenge(&bob, &home).await?;
    let reused = p.twofa.use_recovery_code(&bob, &screen.ticket, &code).await;
    p.check(reused.is_err(), "the same recovery code never works twice")?;

    // 12. The status report.
    p.heading(12, "Alice reads the employees' enrollment status");
    let report = p
        .twofa
        .enrollment_report(&admin)
        .await
        .map_err(|e| unexpected("report", e))?;
    let mut lines = vec![format!(
        "{:<8} {:<21} {:<10} {}",
        "user", "status", "phone", "trusted networks"
    )];
    for row in report.rows() {
        let trusted = match row.trusted_networks() {
            TrustedNetworks::Apply => "apply",
            TrustedNetworks::DoNotApply => "do not apply (client)",
        };
        lines.push(format!(
            "{:<8} {:<21} {:<10} {trusted}",
            row.user_id().as_str(),
            row.kind().as_str(),
            row.phone_hint().map(|h| h.to_string()).unwrap_or_default(),
        ));
    }
    let totals = report.totals();
    lines.push(format!(
        "enrolled {} · pending {} · deferred {} · not enrolled {} · total {}",
        totals.enrolled,
        totals.pending_verification,
        totals.deferred,
        totals.not_enrolled,
        totals.total
    ));
    p.screen(&format!("{PORTAL} · User Settings · 2FA status"), &lines);
    p.check(
        totals.total == 8 && totals.enrolled == 3 && totals.pending_verification == 1,
        "the report lists all eight users: three enrolled, one waiting for a code",
    )?;

    // 13. The company switches a method off.
    p.heading(
        13,
        "Alice switches off authenticator apps: Bob proves it is him, then sets up SMS",
    );
    let apps_off = CompanyPolicy::builder()
        .with_allowed_methods(MethodSet::of(&[
            Method::PushApp,
            Method::Sms,
            Method::VoiceCall,
        ]))
        .build()
        .map_err(|e| unexpected("policy", e))?;
    p.twofa
        .set_company_policy(&admin, apps_off)
        .await
        .map_err(|e| unexpected("policy change", e))?;
    p.clock.advance(TimeDelta::minutes(1));
    let screen = p.expect_challenge(&bob, &home).await?;
    p.check(
        screen.method == MethodKind::App && screen.then_set_up.is_some(),
        "Bob's only method is switched off: he still answers with it, and is told a new one follows",
    )?;
    let code = p.phone_code(&uri)?;
    let step = p
        .twofa
        .submit_code(&bob, &screen.ticket, &code)
        .await
        .map_err(|e| unexpected("the app's code", e))?;
    let LoginStep::SetUp(set_up) = step else {
        return fail(format!("expected the set-up screen, got {step:?}"));
    };
    p.show_set_up(&set_up);
    p.check(
        set_up.ticket == screen.ticket
            && set_up.remind_me_until.is_none()
            && !set_up.methods.contains(Method::AuthenticatorApp),
        "the right code leads to set-up of an allowed method, with no \"remind me later\"",
    )?;
    let (_, sms_code) = p
        .choose_sms(&bob, &set_up.ticket, "+44 7400 654321")
        .await?;
    let allowed = p
        .twofa
        .submit_code(&bob, &set_up.ticket, &sms_code)
        .await
        .map_err(|e| unexpected("SMS activation", e))
        .and_then(|step| allowed_step(step, "SMS activation"))?;
    p.show_allowed(&allowed);
    p.check(
        allowed.by
            == AllowedBy::SecondFactor {
                method: Method::Sms,
            },
        "only the new, allowed method completes the login",
    )?;

    // 14. "Use another method".
    p.heading(
        14,
        "Alice allows apps again: Bob picks SMS instead of the app",
    );
    p.twofa
        .set_company_policy(&admin, CompanyPolicy::default())
        .await
        .map_err(|e| unexpected("policy change", e))?;
    p.clock.advance(TimeDelta::minutes(1));
    let screen = p.expect_challenge(&bob, &home).await?;
    let Some(sms) = screen
        .other_methods
        .iter()
        .find(|m| m.kind == MethodKind::Sms)
        .cloned()
    else {
        return fail("the SMS method was not offered");
    };
    p.check(
        screen.method == MethodKind::App && screen.other_methods.len() == 1,
        "the app comes first; Bob's SMS number is offered as another method",
    )?;
    let switched = p
        .twofa
        .switch_method(&bob, &screen.ticket, sms.id)
        .await
        .map_err(|e| unexpected("switching method", e))?;
    p.show_challenge(&switched);
    let (sms_code, text) = p.last_message()?;
    p.say(format!("  📱 {text}"));
    let allowed = p
        .twofa
        .submit_code(&bob, &switched.ticket, &sms_code)
        .await
        .map_err(|e| unexpected("SMS code", e))
        .and_then(|step| allowed_step(step, "SMS code"))?;
    p.show_allowed(&allowed);
    p.check(
        switched.ticket == screen.ticket
            && allowed.by
                == AllowedBy::SecondFactor {
                    method: Method::Sms,
                },
        "the code sent to the other method completes the same login",
    )?;

    let checks = p.checks;
    p.say(format!(
        "\nAll {checks} checks passed: the portal behaved as it should."
    ));
    Ok(())
}

// ---- interactive ----------------------------------------------------------

async fn interactive(
    out: &mut dyn Write,
    input: &mut dyn io::BufRead,
    stores: Stores,
) -> Result<(), StepFailed> {
    let mut say = |text: &str| {
        let _ignored = writeln!(out, "{text}");
        let _flushed = out.flush();
    };
    let outbox = Arc::new(Outbox::new());
    let server_key = ServerKey::from_bytes(&[0x5a; 32]).map_err(|e| unexpected("server key", e))?;
    let sealer =
        XChaChaSealer::from_bytes(&[0xa5; 32]).map_err(|e| unexpected("sealing key", e))?;
    let issuer = Issuer::new(PORTAL).map_err(|e| unexpected("issuer", e))?;
    // The real clock and the operating system's randomness: the codes come
    // from a real authenticator app.
    let twofa = Twofa::builder(
        stores,
        Channels::outbox(&outbox),
        server_key,
        Arc::new(sealer),
        issuer,
    )
    .with_clock(Arc::new(SystemClock))
    .build();
    let acme = CompanyId::new("acme").map_err(|e| unexpected("company id", e))?;
    let you = UserId::new("you").map_err(|e| unexpected("user id", e))?;
    provision_company(&twofa, &acme).await?;
    twofa
        .stores()
        .users()
        .save(
            &you,
            UserRecord::new(you.clone(), acme, AccountKind::PartnerEmployee, "demo user"),
            None,
        )
        .await
        .map_err(|e| unexpected("user", e))?;
    let home = client("203.0.113.9")?;

    say("twofa demo --interactive: enroll your authenticator app.");
    let LoginStep::SetUp(screen) = twofa
        .begin_login(&you, &home)
        .await
        .map_err(|e| unexpected("login", e))?
    else {
        return fail("expected the set-up prompt");
    };
    let SetUpProgress::ScanQrCode(uri) = twofa
        .choose_method(&you, &screen.ticket, MethodChoice::AuthenticatorApp)
        .await
        .map_err(|e| unexpected("choosing the app", e))?
    else {
        return fail("expected a QR code");
    };
    let qr = uri
        .key_uri()
        .to_qr_terminal(TerminalBackground::Dark)
        .map_err(|e| unexpected("QR code", e))?;
    say(qr.as_str());
    say(&format!(
        "Or enter the key URI by hand: {}",
        uri.expose_secret().as_str()
    ));

    let mut activated = false;
    for _ in 0..5 {
        say("Type the 6-digit code your app shows, then Enter:");
        let Some(code) = read_line(input)? else {
            return fail("input ended before a code was accepted");
        };
        match twofa.submit_code(&you, &screen.ticket, &code).await {
            Ok(_) => {
                say("✔ Accepted: your app is enrolled and 2FA is active.");
                activated = true;
                break;
            }
            Err(rejected) => say(&format!(
                "✘ Not accepted ({:?}); try again.",
                rejected.advice()
            )),
        }
    }
    if !activated {
        return fail("no code was accepted in five tries");
    }

    say("\nNow log in again. Wait for the app to show a new code (codes are single-use).");
    let LoginStep::Challenge(login) = twofa
        .begin_login(&you, &home)
        .await
        .map_err(|e| unexpected("login", e))?
    else {
        return fail("expected the verification prompt");
    };
    for _ in 0..5 {
        say("Type the code your app shows now, then Enter:");
        let Some(code) = read_line(input)? else {
            return fail("input ended before a code was accepted");
        };
        match twofa.submit_code(&you, &login.ticket, &code).await {
            Ok(_) => {
                say("✔ Logged in with your authenticator app.");
                return Ok(());
            }
            Err(rejected) => say(&format!(
                "✘ Not accepted ({:?}); try again.",
                rejected.advice()
            )),
        }
    }
    fail("no login code was accepted in five tries")
}

fn read_line(input: &mut dyn io::BufRead) -> Result<Option<String>, StepFailed> {
    let mut line = String::new();
    let read = input
        .read_line(&mut line)
        .map_err(|e| unexpected("reading input", e))?;
    Ok((read > 0).then(|| line.trim().to_owned()))
}
