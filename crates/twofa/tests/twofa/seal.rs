//! Sealed records: round trips, tampering, and no secret or number in
//! the stored form. The records are built with the enrollment machine
//! directly, so every state a record can be stored in is covered.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use twofa::delivery::TransactionId;
use twofa::delivery::{EmailAddress, Issuer, LineType, MessageTemplates, PhoneNumber, ServerKey};
use twofa::enrollment::DisplayName;
use twofa::enrollment::{
    Context, Effect, Enrollment, EnrollmentPolicy, EnrollmentState, Event, Factor, LastMethod,
    LoginAccepted, LoginAttempt, MethodId, PendingKind, PhoneChannel, PhoneSetup, SetupChoice,
    Transition,
};
use twofa::otp::{Algorithm, Secret, Totp};
use twofa::types::{OneTimeCode, UserId};
use twofa::{SealError, SealedEnrollment, XChaChaSealer};

/// What the machine needs to run: keys, templates and the default policy.
struct Env {
    key: ServerKey,
    issuer: Issuer,
    templates: MessageTemplates,
    policy: EnrollmentPolicy,
}

impl Env {
    fn new() -> Self {
        let issuer = Issuer::new("Example Portal").unwrap();
        Self {
            key: ServerKey::from_bytes(&[0x42; 32]).unwrap(),
            templates: MessageTemplates::new(issuer.clone()),
            issuer,
            policy: EnrollmentPolicy::default(),
        }
    }

    /// A company that leaves 2FA optional.
    fn optional(&self) -> Context<'_> {
        Context::new(
            LastMethod::Removable,
            &self.policy,
            &self.key,
            &self.templates,
            &self.issuer,
        )
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

/// A fresh generator per call: each seal draws different nonces and each
/// transition different secrets, as with an operating-system generator.
fn rng() -> StdRng {
    static NEXT: AtomicU64 = AtomicU64::new(2026);
    StdRng::seed_from_u64(NEXT.fetch_add(1, Ordering::Relaxed))
}

// Parsed once: validation against the numbering-plan metadata is slow in
// unoptimised builds.
fn mobile() -> PhoneNumber {
    static NUMBER: OnceLock<PhoneNumber> = OnceLock::new();
    NUMBER
        .get_or_init(|| PhoneNumber::from_e164("+447400123456").unwrap())
        .clone()
}

fn other_mobile() -> PhoneNumber {
    static NUMBER: OnceLock<PhoneNumber> = OnceLock::new();
    NUMBER
        .get_or_init(|| PhoneNumber::from_e164("+447400654321").unwrap())
        .clone()
}

fn record() -> Enrollment {
    Enrollment::new(
        UserId::new("user-1").unwrap(),
        DisplayName::new("Alice").unwrap(),
    )
    .with_email(EmailAddress::parse("alice@example.com").unwrap())
}

fn tx() -> TransactionId {
    TransactionId::new("login-1").unwrap()
}

fn totp_code(secret: &Secret, at: DateTime<Utc>) -> String {
    let at = u64::try_from(at.timestamp()).unwrap();
    Totp::new(secret, Algorithm::Sha1)
        .generate(at)
        .unwrap()
        .expose_secret()
        .as_str()
        .to_owned()
}

fn code(text: &str) -> OneTimeCode {
    OneTimeCode::parse(text).unwrap()
}

fn saved(transition: Transition) -> (Enrollment, Vec<Effect>) {
    match transition {
        Transition::Save(outcome) | Transition::LoginRefused { outcome, .. } => {
            outcome.into_parts()
        }
        Transition::LoginAccepted(accepted) => accepted.outcome.into_parts(),
        other => panic!("expected a transition without a send, got {other:?}"),
    }
}

fn sent(transition: Transition) -> (Enrollment, Vec<Effect>, String) {
    match transition {
        Transition::Send(dispatch) => {
            let code = dispatch.expose_code().to_owned();
            let (record, effects) = dispatch.sent().into_parts();
            (record, effects, code)
        }
        other => panic!("expected a send, got {other:?}"),
    }
}

fn pending_secret(record: &Enrollment) -> Secret {
    let pending = match record.state() {
        EnrollmentState::Pending(p) => p,
        EnrollmentState::Enrolled(e) => e.pending_change().unwrap(),
        other => panic!("not pending: {other:?}"),
    };
    match pending.kind() {
        PendingKind::App { secret } | PendingKind::Push { secret, .. } => secret.clone(),
        other => panic!("not an app: {other:?}"),
    }
}

fn method_secret(record: &Enrollment, id: u32) -> Secret {
    let EnrollmentState::Enrolled(e) = record.state() else {
        panic!("not enrolled");
    };
    e.method(MethodId::new(id))
        .unwrap()
        .factor()
        .totp()
        .unwrap()
        .expose_secret()
        .clone()
}

fn start_app(env: &Env, at: DateTime<Utc>) -> Enrollment {
    let started = record()
        .apply(
            Event::StartSetup(SetupChoice::App),
            &env.optional(),
            at,
            &mut rng(),
        )
        .unwrap();
    saved(started).0
}

/// An app-enrolled record (activated at `at`) and its recovery codes.
fn enrolled_app(env: &Env, at: DateTime<Utc>) -> (Enrollment, Vec<String>) {
    let pending = start_app(env, at);
    let c = totp_code(&pending_secret(&pending), at);
    let submitted = pending
        .apply(Event::SubmitCode(code(&c)), &env.optional(), at, &mut rng())
        .unwrap();
    let (record, effects) = saved(submitted);
    let codes = effects
        .iter()
        .find_map(|e| match e {
            Effect::ShowRecoveryCodes(sheet) => {
                Some(sheet.expose_secret().map(str::to_owned).collect())
            }
            _ => None,
        })
        .expect("recovery codes shown");
    (record, codes)
}

fn sms_setup() -> SetupChoice {
    SetupChoice::Phone(PhoneSetup::new(
        mobile(),
        LineType::Mobile,
        PhoneChannel::Sms,
    ))
}

fn login(
    record: &Enrollment,
    method: u32,
    c: &str,
    ctx: &Context<'_>,
    at: DateTime<Utc>,
) -> Result<LoginAccepted, twofa::enrollment::EnrollmentError> {
    let event = Event::Login {
        attempt: LoginAttempt::Code {
            method: MethodId::new(method),
            code: code(c),
        },
        transaction: tx(),
    };
    match record.apply(event, ctx, at, &mut seeded(0))? {
        Transition::LoginAccepted(accepted) => Ok(accepted),
        Transition::LoginRefused { reason, .. } => Err(reason),
        other => panic!("a login answers with acceptance or refusal, got {other:?}"),
    }
}

#[test]
fn sealed_types_are_send_and_sync_and_the_key_is_redacted() {
    fn check<T: Send + Sync>() {}
    check::<SealedEnrollment>();
    check::<XChaChaSealer>();
    check::<SealError>();
    assert_eq!(
        format!("{:?}", XChaChaSealer::from_bytes(&[1; 32]).unwrap()),
        "XChaChaSealer([REDACTED])"
    );
}

#[test]
fn sealing_round_trips_and_detects_tampering_and_moves() {
    let env = Env::new();
    let mut r = rng();
    let sealer = XChaChaSealer::generate(&mut r);
    let (record, _) = enrolled_app(&env, t0());
    let secret = method_secret(&record, 1);
    let sealed = SealedEnrollment::seal(&record, &sealer, &mut r).unwrap();
    let printed = format!("{sealed:?}");
    assert!(!printed.contains(&secret.to_base32()[..]));
    let opened = sealed.open(&sealer).unwrap();
    assert!(method_secret(&opened, 1).ct_eq(&secret));
    assert_eq!(opened.failures(), record.failures());
    // The wrong key fails.
    let other = XChaChaSealer::generate(&mut r);
    assert_eq!(sealed.open(&other).unwrap_err(), SealError::Open);
    // Pending secrets are sealed too.
    let pending = start_app(&env, t0());
    let reopened = SealedEnrollment::seal(&pending, &sealer, &mut r)
        .unwrap()
        .open(&sealer)
        .unwrap();
    assert!(pending_secret(&reopened).ct_eq(&pending_secret(&pending)));
    assert_eq!(
        XChaChaSealer::from_bytes(&[0; 31]).unwrap_err(),
        SealError::KeyLength { expected: 32 }
    );
}

#[cfg(feature = "serde")]
#[test]
fn serialised_records_hold_no_raw_secret_and_tampering_fails() {
    let env = Env::new();
    let mut r = rng();
    let sealer = XChaChaSealer::from_bytes(&[9; 32]).unwrap();
    let (record, codes) = enrolled_app(&env, t0());
    let secret = method_secret(&record, 1);
    let json =
        serde_json::to_string(&SealedEnrollment::seal(&record, &sealer, &mut r).unwrap()).unwrap();
    assert!(!json.contains(&secret.to_base32()[..]));
    assert!(!json.contains(&codes[0]));
    let back: SealedEnrollment = serde_json::from_str(&json).unwrap();
    assert!(method_secret(&back.open(&sealer).unwrap(), 1).ct_eq(&secret));
    // Flip one hex digit of the ciphertext.
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let sealed = value["state"]["Enrolled"]["methods"][0]["factor"]["App"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut chars: Vec<char> = sealed.chars().collect();
    chars[60] = if chars[60] == '0' { '1' } else { '0' };
    value["state"]["Enrolled"]["methods"][0]["factor"]["App"]["secret"] =
        serde_json::Value::String(chars.into_iter().collect());
    let tampered: SealedEnrollment = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(tampered.open(&sealer).unwrap_err(), SealError::Open);
    // Move the ciphertext to another user.
    let mut moved: serde_json::Value = serde_json::from_str(&json).unwrap();
    moved["user"] = serde_json::Value::String("user-2".to_owned());
    let moved: SealedEnrollment = serde_json::from_value(moved).unwrap();
    assert_eq!(moved.open(&sealer).unwrap_err(), SealError::Open);
}

/// A generator with a fixed seed: the codes and the serialised records of
/// the phone sealing tests are the same on every run.
fn seeded(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Records holding phone numbers, sealed by the tests below.
struct PhoneRecords {
    /// A first SMS set-up awaiting its code.
    pending: Enrollment,
    pending_code: String,
    /// The SMS method activated with that code.
    enrolled: Enrollment,
    /// The same user with a login code outstanding.
    login: Enrollment,
    login_code: String,
    /// The same user changing the number, the login code still outstanding.
    change: Enrollment,
    change_code: String,
}

fn phone_records(env: &Env) -> PhoneRecords {
    let ctx = env.optional();
    let send = |record: &Enrollment, event: Event, at: DateTime<Utc>, seed: u64| {
        let transition = record.apply(event, &ctx, at, &mut seeded(seed)).unwrap();
        let (record, _, code) = sent(transition);
        (record, code)
    };
    let (pending, pending_code) = send(&record(), Event::StartSetup(sms_setup()), t0(), 11);
    let enrolled = saved(
        pending
            .apply(
                Event::SubmitCode(code(&pending_code)),
                &ctx,
                t0(),
                &mut seeded(12),
            )
            .unwrap(),
    )
    .0;
    let event = Event::SendLoginCode {
        method: MethodId::new(1),
        channel: None,
        transaction: tx(),
    };
    let Transition::Send(dispatch) = enrolled
        .apply(event, &ctx, t0() + secs(60), &mut seeded(13))
        .unwrap()
    else {
        panic!("a login code is sent");
    };
    let login_code = dispatch.expose_code().to_owned();
    let login = dispatch.sent().into_parts().0;
    let (change, change_code) = send(
        &login,
        Event::StartNumberChange {
            method: MethodId::new(1),
            phone: PhoneSetup::new(other_mobile(), LineType::Mobile, PhoneChannel::Sms),
        },
        t0() + secs(120),
        14,
    );
    PhoneRecords {
        pending,
        pending_code,
        enrolled,
        login,
        login_code,
        change,
        change_code,
    }
}

/// The digit strings no stored record may contain: both numbers in E.164
/// digits and as national significant numbers (country code 44 removed).
const NUMBER_DIGITS: [&str; 4] = ["447400123456", "7400123456", "447400654321", "7400654321"];

/// Seals twice with the same generator: equal results mean every sealed
/// plaintext is equal too (same key, nonce and plaintext give the same
/// ciphertext), so the opened record is exactly the original.
fn assert_seals_exactly(record: &Enrollment, sealer: &XChaChaSealer) -> SealedEnrollment {
    let sealed = SealedEnrollment::seal(record, sealer, &mut seeded(99)).unwrap();
    let reopened = sealed.open(sealer).unwrap();
    assert_eq!(
        SealedEnrollment::seal(&reopened, sealer, &mut seeded(99)).unwrap(),
        sealed
    );
    sealed
}

#[test]
fn phone_records_round_trip_exactly_and_keep_working() {
    let env = Env::new();
    let ctx = env.optional();
    let sealer = XChaChaSealer::from_bytes(&[7; 32]).unwrap();
    let records = phone_records(&env);
    let all = [
        &records.pending,
        &records.enrolled,
        &records.login,
        &records.change,
    ];
    for record in all {
        let sealed = assert_seals_exactly(record, &sealer);
        // Debug shows only masked numbers.
        let printed = format!("{sealed:?}");
        assert!(printed.contains(&mobile().masked()), "{printed}");
        for digits in NUMBER_DIGITS {
            assert!(!printed.contains(digits), "{printed}");
        }
    }
    let open = |record: &Enrollment| {
        SealedEnrollment::seal(record, &sealer, &mut rng())
            .unwrap()
            .open(&sealer)
            .unwrap()
    };
    // The opened set-up takes its code and activates the number.
    let enrolled = saved(
        open(&records.pending)
            .apply(
                Event::SubmitCode(code(&records.pending_code)),
                &ctx,
                t0(),
                &mut rng(),
            )
            .unwrap(),
    )
    .0;
    let EnrollmentState::Enrolled(e) = enrolled.state() else {
        panic!("enrolled");
    };
    let Factor::Phone(phone) = e.method(MethodId::new(1)).unwrap().factor() else {
        panic!("phone");
    };
    assert_eq!(phone.number(), &mobile());
    // The opened login challenge takes its code, once.
    let at = t0() + secs(90);
    let accepted = login(&open(&records.login), 1, &records.login_code, &ctx, at).unwrap();
    let after = open(&accepted.outcome.into_parts().0);
    assert!(login(&after, 1, &records.login_code, &ctx, at).is_err());
    // The opened change takes its code and moves the method to the new number.
    let changed = saved(
        open(&records.change)
            .apply(
                Event::SubmitCode(code(&records.change_code)),
                &ctx,
                t0() + secs(150),
                &mut rng(),
            )
            .unwrap(),
    )
    .0;
    let EnrollmentState::Enrolled(e) = changed.state() else {
        panic!("enrolled");
    };
    let Factor::Phone(phone) = e.method(MethodId::new(1)).unwrap().factor() else {
        panic!("phone");
    };
    assert_eq!(phone.number(), &other_mobile());
}

#[cfg(feature = "serde")]
fn json_of(record: &Enrollment, sealer: &XChaChaSealer) -> serde_json::Value {
    serde_json::to_value(SealedEnrollment::seal(record, sealer, &mut seeded(5)).unwrap()).unwrap()
}

#[cfg(feature = "serde")]
fn open_json(value: &serde_json::Value, sealer: &XChaChaSealer) -> Result<Enrollment, SealError> {
    serde_json::from_value::<SealedEnrollment>(value.clone())
        .unwrap()
        .open(sealer)
}

#[cfg(feature = "serde")]
#[test]
fn serialised_phone_records_hold_no_number_and_no_code() {
    let env = Env::new();
    let sealer = XChaChaSealer::from_bytes(&[9; 32]).unwrap();
    let records = phone_records(&env);
    let codes = [
        &records.pending_code,
        &records.login_code,
        &records.change_code,
    ];
    let cases = [
        ("enrolled SMS method", &records.enrolled),
        ("pending SMS set-up", &records.pending),
        ("login code outstanding", &records.login),
        ("change of number pending", &records.change),
    ];
    for (case, record) in cases {
        let sealed = SealedEnrollment::seal(record, &sealer, &mut seeded(5)).unwrap();
        let json = serde_json::to_string(&sealed).unwrap();
        for digits in NUMBER_DIGITS {
            assert!(!json.contains(digits), "{case}: {json}");
        }
        for code in codes {
            assert!(!json.contains(code.as_str()), "{case}: {json}");
        }
        // Only the masked form is readable, for reports and admin views.
        assert!(json.contains(&mobile().masked()), "{case}: {json}");
        // The JSON round trip is exact.
        let back: SealedEnrollment = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sealed, "{case}");
        assert_seals_exactly(&back.open(&sealer).unwrap(), &sealer);
    }
    let change = serde_json::to_string(
        &SealedEnrollment::seal(&records.change, &sealer, &mut seeded(5)).unwrap(),
    )
    .unwrap();
    assert!(change.contains(&other_mobile().masked()), "{change}");
}

#[cfg(feature = "serde")]
#[test]
fn sealed_numbers_and_challenges_do_not_open_elsewhere() {
    use serde_json::Value;

    let env = Env::new();
    let sealer = XChaChaSealer::from_bytes(&[9; 32]).unwrap();
    let records = phone_records(&env);
    let enrolled = json_of(&records.enrolled, &sealer);
    let pending = json_of(&records.pending, &sealer);
    let login = json_of(&records.login, &sealer);
    let change = json_of(&records.change, &sealer);
    let method_number = "/state/Enrolled/methods/0/factor/Phone/number/sealed";
    let change_kind = "/state/Enrolled/change/kind/Phone";
    let login_challenge = "/state/Enrolled/login_challenge";
    let at = |value: &Value, path: &str| value.pointer(path).unwrap().clone();
    let with = |value: &Value, path: &str, new: Value| {
        let mut value = value.clone();
        *value.pointer_mut(path).unwrap() = new;
        value
    };
    for value in [&enrolled, &pending, &login, &change] {
        assert!(open_json(value, &sealer).is_ok());
    }

    // The same field of the same user opens in another record of theirs.
    let copied = with(&login, method_number, at(&enrolled, method_number));
    assert!(open_json(&copied, &sealer).is_ok());
    // Another user: the enrolled SMS record holds no sealed field but the
    // number, the pending one none but the number and the challenge.
    for value in [&enrolled, &pending] {
        let moved = with(value, "/user", Value::String("user-2".to_owned()));
        assert_eq!(open_json(&moved, &sealer).unwrap_err(), SealError::Open);
    }
    // Another field of the same user.
    let moves = [
        // method/1/number -> change/number
        (
            &change,
            format!("{change_kind}/number/sealed"),
            at(&change, method_number),
        ),
        // change/number -> method/1/number
        (
            &change,
            method_number.to_owned(),
            at(&change, &format!("{change_kind}/number/sealed")),
        ),
        // pending/number -> change/number
        (
            &change,
            format!("{change_kind}/number/sealed"),
            at(&pending, "/state/Pending/kind/Phone/number/sealed"),
        ),
        // pending/challenge -> change/challenge
        (
            &change,
            format!("{change_kind}/challenge"),
            at(&pending, "/state/Pending/kind/Phone/challenge"),
        ),
        // login/challenge -> change/challenge
        (
            &change,
            format!("{change_kind}/challenge"),
            at(&change, login_challenge),
        ),
        // change/challenge -> login/challenge
        (
            &change,
            login_challenge.to_owned(),
            at(&change, &format!("{change_kind}/challenge")),
        ),
        // change/challenge -> pending/challenge
        (
            &pending,
            "/state/Pending/kind/Phone/challenge".to_owned(),
            at(&change, &format!("{change_kind}/challenge")),
        ),
    ];
    for (value, path, moved) in moves {
        let tampered = with(value, &path, moved);
        assert_eq!(
            open_json(&tampered, &sealer).unwrap_err(),
            SealError::Open,
            "{path}"
        );
    }
    // One flipped hex digit.
    for path in [method_number, login_challenge] {
        let Value::String(hex) = at(&login, path) else {
            panic!("hex string at {path}");
        };
        let mut chars: Vec<char> = hex.chars().collect();
        chars[60] = if chars[60] == '0' { '1' } else { '0' };
        let tampered = with(&login, path, Value::String(chars.into_iter().collect()));
        assert_eq!(open_json(&tampered, &sealer).unwrap_err(), SealError::Open);
    }
    // The masked form is for display only: an edited one is ignored on
    // open and rewritten from the number at the next seal.
    let masked = "/state/Enrolled/methods/0/factor/Phone/number/masked";
    let edited = with(
        &enrolled,
        masked,
        Value::String("+1 ••• ••• 0000".to_owned()),
    );
    let resealed = json_of(&open_json(&edited, &sealer).unwrap(), &sealer);
    assert_eq!(at(&resealed, masked), Value::String(mobile().masked()));
}
