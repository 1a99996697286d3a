//! Passkeys in the machine: set-up by a registration ceremony, login by an
//! authentication ceremony, each answered once; every refusal counted and
//! the ceremony spent.

use twofa_passkey::{CredentialName, RefusalReason, SoftAuthenticator};

use super::*;

const LOOK_ALIKE: &str = "https://login.example.co";

fn laptop() -> CredentialName {
    CredentialName::new("Work laptop").unwrap()
}

fn creation_options(effects: &[Effect]) -> &twofa_passkey::CreationOptions {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::ShowPasskeyCreation(options) => Some(options),
            _ => None,
        })
        .expect("creation options shown")
}

fn request_options(effects: &[Effect]) -> &twofa_passkey::RequestOptions {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::ShowPasskeyRequest(options) => Some(options),
            _ => None,
        })
        .expect("request options shown")
}

fn refusal(effects: &[Effect]) -> Option<RefusalReason> {
    effects.iter().find_map(|e| match e {
        Effect::PasskeyRefused(reason) => Some(*reason),
        _ => None,
    })
}

/// Starts a passkey set-up on `from`: the pending record and the effects
/// (with the options for the browser).
fn start_passkey(env: &Env, from: &Enrollment, at: DateTime<Utc>) -> (Enrollment, Vec<Effect>) {
    saved(
        apply(
            from,
            Event::StartSetup(SetupChoice::Passkey(laptop())),
            &env.passkeys(),
            at,
        )
        .unwrap(),
    )
}

/// Answers the pending set-up `pending` with `response`: the saved
/// record and the effects.
fn answer_setup(
    env: &Env,
    pending: &Enrollment,
    response: &str,
    at: DateTime<Utc>,
) -> (Enrollment, Vec<Effect>) {
    saved(
        apply(
            pending,
            Event::SubmitPasskey(PasskeyResponse::new(response)),
            &env.passkeys(),
            at,
        )
        .unwrap(),
    )
}

/// Starts a passkey set-up on `from` and answers it with `auth` on
/// `origin`: the transition's record and effects.
fn set_up_passkey(
    env: &Env,
    from: &Enrollment,
    auth: &mut SoftAuthenticator,
    origin: &str,
    at: DateTime<Utc>,
) -> (Enrollment, Vec<Effect>) {
    let (pending, effects) = start_passkey(env, from, at);
    let response = auth.create(origin, creation_options(&effects)).unwrap();
    answer_setup(env, &pending, &response, at)
}

fn enrolled_passkey(env: &Env, auth: &mut SoftAuthenticator) -> Enrollment {
    let (record, effects) = set_up_passkey(env, &record(), auth, PORTAL_ORIGIN, t0());
    assert!(refusal(&effects).is_none(), "{effects:?}");
    record
}

/// Starts the login ceremony for `transaction`: the record and the
/// options for the browser.
fn start_login(
    env: &Env,
    record: &Enrollment,
    transaction: &TransactionId,
    at: DateTime<Utc>,
) -> (Enrollment, twofa_passkey::RequestOptions) {
    let (next, effects) = saved(
        apply(
            record,
            Event::StartPasskeyLogin {
                transaction: transaction.clone(),
            },
            &env.passkeys(),
            at,
        )
        .unwrap(),
    );
    let options = request_options(&effects).clone();
    (next, options)
}

fn changed(effects: &[Effect], change: FactorChange) -> bool {
    effects
        .iter()
        .any(|e| matches!(e, Effect::FactorsChanged(c) if *c == change))
}

fn answer(response: &str) -> LoginAttempt {
    LoginAttempt::Passkey(PasskeyResponse::new(response))
}

#[test]
fn a_passkey_set_up_enrolls_the_user_with_recovery_codes() {
    let env = Env::new();
    let mut auth = SoftAuthenticator::new();
    let (record, effects) = set_up_passkey(&env, &record(), &mut auth, PORTAL_ORIGIN, t0());
    let EnrollmentState::Enrolled(enrolled) = record.state() else {
        panic!("not enrolled: {:?}", record.state());
    };
    let method = &enrolled.methods()[0];
    assert_eq!(method.kind(), Method::Passkey);
    assert_eq!(
        method.factor().passkey().unwrap().name().as_str(),
        "Work laptop"
    );
    assert_eq!(recovery_sheet(&effects).len(), RECOVERY_CODE_COUNT);
    assert!(audits(&effects).contains(&"enrollment.verified"));
    assert_eq!(record.last_second_factor_at(), Some(t0()));
    assert_eq!(
        record.status(t0()),
        EnrollmentStatus::Enrolled {
            methods: twofa_types::MethodSet::of(&[Method::Passkey]),
            since: t0()
        }
    );
}

#[test]
fn a_registration_from_a_look_alike_origin_is_refused_counted_and_spent() {
    let env = Env::new();
    let mut auth = SoftAuthenticator::new();
    let (pending, effects) = start_passkey(&env, &record(), t0());
    // What a look-alike site can forward: the browser's answer made on
    // its page, which names its own origin.
    let honest = auth
        .create(PORTAL_ORIGIN, creation_options(&effects))
        .unwrap();
    let response = retarget_origin(&honest, LOOK_ALIKE);
    let (next, effects) = answer_setup(&env, &pending, &response, t0());
    assert_eq!(refusal(&effects), Some(RefusalReason::WrongOrigin));
    assert_eq!(next.state().kind(), StateKind::NotEnrolled);
    assert_eq!(next.failures().consecutive(), 1);
    let audit = effects
        .iter()
        .find_map(|e| match e {
            Effect::Audit(a) if a.kind == AuditKind::EnrollmentCodeRejected => Some(a),
            _ => None,
        })
        .unwrap();
    assert_eq!(audit.method, Some(Method::Passkey));
    assert_eq!(audit.passkey_refusal, Some(RefusalReason::WrongOrigin));
    // The challenge is spent: not even the honest answer counts now.
    assert!(matches!(
        apply(
            &next,
            Event::SubmitPasskey(PasskeyResponse::new(&honest)),
            &env.passkeys(),
            t0()
        ),
        Err(EnrollmentError::NotAllowed { .. })
    ));
}

/// A response with its client data's origin replaced (the signature then
/// covers other bytes, as a relayed answer would).
fn retarget_origin(response: &str, origin: &str) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut value: serde_json::Value = serde_json::from_str(response).unwrap();
    let field = value.pointer_mut("/response/clientDataJSON").unwrap();
    let bytes = URL_SAFE_NO_PAD.decode(field.as_str().unwrap()).unwrap();
    let mut client: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    client["origin"] = serde_json::Value::String(origin.to_owned());
    *field = serde_json::Value::String(URL_SAFE_NO_PAD.encode(client.to_string()));
    value.to_string()
}

#[test]
fn a_passkey_login_is_accepted_once() {
    let env = Env::new();
    let mut auth = SoftAuthenticator::new();
    let record = enrolled_passkey(&env, &mut auth);
    let later = t0() + secs(3600);
    let (started, options) = start_login(&env, &record, &tx(), later);
    let response = auth.get(PORTAL_ORIGIN, &options).unwrap();
    let accepted = started
        .verify_login(&answer(&response), &tx(), &env.passkeys(), later)
        .unwrap();
    assert_eq!(accepted.method, Some(MethodId::new(1)));
    let (after, effects) = accepted.outcome.into_parts();
    assert_eq!(audits(&effects), ["login.succeeded"]);
    assert_eq!(after.last_second_factor_at(), Some(later));
    let EnrollmentState::Enrolled(enrolled) = after.state() else {
        panic!("not enrolled");
    };
    assert!(enrolled.passkey_login().is_none());
    let method = enrolled.method(MethodId::new(1)).unwrap();
    assert_eq!(method.last_used_at(), Some(later));
    assert_eq!(
        method
            .factor()
            .passkey()
            .unwrap()
            .credential()
            .last_used_at(),
        Some(later)
    );
    // The same answer again: the ceremony is over.
    let again = after
        .verify_login(&answer(&response), &tx(), &env.passkeys(), later)
        .unwrap_err();
    assert_eq!(again.reason, EnrollmentError::NoPasskeyOutstanding);
    assert!(again.outcome.is_none());
    // A new ceremony does not accept the old answer either.
    let (restarted, _) = start_login(&env, &after, &tx(), later);
    let replayed = restarted
        .verify_login(&answer(&response), &tx(), &env.passkeys(), later)
        .unwrap_err();
    assert!(matches!(
        replayed.reason,
        EnrollmentError::PasskeyRefused(
            RefusalReason::ChallengeMismatch | RefusalReason::CounterRegression
        )
    ));
    assert!(replayed.outcome.is_some());
}

#[test]
fn a_login_ceremony_belongs_to_its_login() {
    let env = Env::new();
    let mut auth = SoftAuthenticator::new();
    let record = enrolled_passkey(&env, &mut auth);
    let (started, options) = start_login(&env, &record, &tx(), t0());
    let response = auth.get(PORTAL_ORIGIN, &options).unwrap();
    let other = TransactionId::new("login-2").unwrap();
    let refused = started
        .verify_login(&answer(&response), &other, &env.passkeys(), t0())
        .unwrap_err();
    assert_eq!(refused.reason, EnrollmentError::NoPasskeyOutstanding);
    assert!(refused.outcome.is_none(), "nothing changes");
}

#[test]
fn a_login_answer_from_a_look_alike_origin_is_refused_and_counted() {
    let env = Env::new();
    let mut auth = SoftAuthenticator::new();
    let record = enrolled_passkey(&env, &mut auth);
    let (started, options) = start_login(&env, &record, &tx(), t0());
    let honest = auth.get(PORTAL_ORIGIN, &options).unwrap();
    let relayed = retarget_origin(&honest, LOOK_ALIKE);
    let refused = started
        .verify_login(&answer(&relayed), &tx(), &env.passkeys(), t0())
        .unwrap_err();
    assert_eq!(
        refused.reason,
        EnrollmentError::PasskeyRefused(RefusalReason::WrongOrigin)
    );
    let (after, effects) = refused.outcome.unwrap().into_parts();
    assert_eq!(after.failures().consecutive(), 1);
    let failed = effects
        .iter()
        .find_map(|e| match e {
            Effect::Audit(a) if a.kind == AuditKind::LoginFailed => Some(a),
            _ => None,
        })
        .unwrap();
    assert_eq!(failed.passkey_refusal, Some(RefusalReason::WrongOrigin));
    // The ceremony is spent: not even the honest answer is taken now.
    let late = after
        .verify_login(&answer(&honest), &tx(), &env.passkeys(), t0())
        .unwrap_err();
    assert_eq!(late.reason, EnrollmentError::NoPasskeyOutstanding);
}

#[test]
fn a_login_ceremony_expires_at_its_fifth_minute() {
    let env = Env::new();
    let mut auth = SoftAuthenticator::new();
    let record = enrolled_passkey(&env, &mut auth);
    let (started, options) = start_login(&env, &record, &tx(), t0());
    let response = auth.get(PORTAL_ORIGIN, &options).unwrap();
    let last = t0() + secs(299);
    assert!(
        started
            .verify_login(&answer(&response), &tx(), &env.passkeys(), last)
            .is_ok()
    );
    let refused = started
        .verify_login(&answer(&response), &tx(), &env.passkeys(), t0() + secs(300))
        .unwrap_err();
    assert_eq!(
        refused.reason,
        EnrollmentError::PasskeyRefused(RefusalReason::Expired)
    );
}

#[test]
fn a_registration_expires_at_its_fifth_minute() {
    let env = Env::new();
    let (pending, effects) = start_passkey(&env, &record(), t0());
    let response = SoftAuthenticator::new()
        .create(PORTAL_ORIGIN, creation_options(&effects))
        .unwrap();
    let submit = |at| {
        apply(
            &pending,
            Event::SubmitPasskey(PasskeyResponse::new(&response)),
            &env.passkeys(),
            at,
        )
    };
    assert!(matches!(
        submit(t0() + secs(300)),
        Err(EnrollmentError::PendingExpired { expired_at }) if expired_at == t0() + secs(300)
    ));
    let (record, _) = saved(submit(t0() + secs(299)).unwrap());
    assert_eq!(record.state().kind(), StateKind::Enrolled);
}

#[test]
fn a_second_passkey_needs_a_recent_second_factor_and_either_signs_in() {
    let env = Env::new();
    let mut laptop_key = SoftAuthenticator::new();
    let mut phone_key = SoftAuthenticator::new();
    let record = enrolled_passkey(&env, &mut laptop_key);
    // Past the step-up window, adding is refused.
    let stale = t0() + env.policy.step_up_freshness();
    assert_eq!(
        apply(
            &record,
            Event::StartSetup(SetupChoice::Passkey(laptop())),
            &env.passkeys(),
            stale
        )
        .unwrap_err(),
        EnrollmentError::StepUpRequired
    );
    let (two, effects) = set_up_passkey(&env, &record, &mut phone_key, PORTAL_ORIGIN, t0());
    assert!(changed(&effects, FactorChange::MethodAdded));
    let EnrollmentState::Enrolled(enrolled) = two.state() else {
        panic!("not enrolled");
    };
    assert_eq!(enrolled.methods().len(), 2);
    // A third registration asks the browser to exclude both: the same
    // authenticator is not registered twice.
    let (_, effects) = start_passkey(&env, &two, t0());
    let options: serde_json::Value =
        serde_json::from_str(creation_options(&effects).as_json()).unwrap();
    assert_eq!(
        options["publicKey"]["excludeCredentials"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    for (key, id) in [(&mut laptop_key, 1), (&mut phone_key, 2)] {
        let (started, options) = start_login(&env, &two, &tx(), t0());
        let response = key.get(PORTAL_ORIGIN, &options).unwrap();
        let accepted = started
            .verify_login(&answer(&response), &tx(), &env.passkeys(), t0())
            .unwrap();
        assert_eq!(accepted.method, Some(MethodId::new(id)));
    }
    // Removing one leaves the other.
    let (one, effects) = saved(
        apply(
            &two,
            Event::RemoveMethod(MethodId::new(1)),
            &env.passkeys(),
            t0(),
        )
        .unwrap(),
    );
    assert!(changed(&effects, FactorChange::MethodRemoved));
    let (started, options) = start_login(&env, &one, &tx(), t0());
    assert!(laptop_key.get(PORTAL_ORIGIN, &options).is_err());
    let response = phone_key.get(PORTAL_ORIGIN, &options).unwrap();
    assert!(
        started
            .verify_login(&answer(&response), &tx(), &env.passkeys(), t0())
            .is_ok()
    );
}

#[test]
fn user_verification_is_enforced_when_the_relying_party_requires_it() {
    let mut env = Env::new();
    env.rp = env
        .rp
        .clone()
        .with_user_verification(twofa_passkey::UserVerification::Required);
    let (pending, effects) = start_passkey(&env, &record(), t0());
    // A key without a PIN cannot answer a request that requires one ...
    assert!(
        SoftAuthenticator::without_user_verification()
            .create(PORTAL_ORIGIN, creation_options(&effects))
            .is_err()
    );
    // ... and a page that asked for less gets an answer the server refuses.
    let mut options: serde_json::Value =
        serde_json::from_str(creation_options(&effects).as_json()).unwrap();
    options["publicKey"]["authenticatorSelection"]["userVerification"] =
        serde_json::Value::String("discouraged".to_owned());
    let response = SoftAuthenticator::new()
        .create_json(PORTAL_ORIGIN, &options.to_string())
        .unwrap();
    let (record, effects) = answer_setup(&env, &pending, &response, t0());
    assert_eq!(refusal(&effects), Some(RefusalReason::UserNotVerified));
    assert_eq!(record.state().kind(), StateKind::NotEnrolled);
}

#[test]
fn without_a_relying_party_passkeys_are_refused_and_codes_do_not_answer_them() {
    let env = Env::new();
    assert_eq!(
        apply(
            &record(),
            Event::StartSetup(SetupChoice::Passkey(laptop())),
            &env.optional(),
            t0()
        )
        .unwrap_err(),
        EnrollmentError::PasskeysNotConfigured
    );
    let (pending, _) = start_passkey(&env, &record(), t0());
    assert_eq!(
        apply(
            &pending,
            Event::SubmitCode(code("123456")),
            &env.passkeys(),
            t0()
        )
        .unwrap_err(),
        EnrollmentError::PasskeyExpected
    );
    let mut auth = SoftAuthenticator::new();
    let enrolled = enrolled_passkey(&env, &mut auth);
    let typed = LoginAttempt::Code {
        method: MethodId::new(1),
        code: code("123456"),
    };
    let refused = enrolled
        .verify_login(&typed, &tx(), &env.passkeys(), t0())
        .unwrap_err();
    assert_eq!(refused.reason, EnrollmentError::PasskeyExpected);
    assert!(refused.outcome.is_none());
    // Text that is no answer is refused unevaluated: nothing counted, the
    // ceremony still open for the real answer.
    let (started, options) = start_login(&env, &enrolled, &tx(), t0());
    for garbage in ["", "{\"not\": 1}", "[]", &"{".repeat(70_000)] {
        let refused = started
            .verify_login(&answer(garbage), &tx(), &env.passkeys(), t0())
            .unwrap_err();
        assert_eq!(
            refused.reason,
            EnrollmentError::PasskeyRefused(RefusalReason::Malformed)
        );
        assert!(refused.outcome.is_none());
    }
    let response = auth.get(PORTAL_ORIGIN, &options).unwrap();
    assert!(
        started
            .verify_login(&answer(&response), &tx(), &env.passkeys(), t0())
            .is_ok()
    );
    // The same at set-up.
    let (pending, effects) = start_passkey(&env, &record(), t0());
    assert_eq!(
        apply(
            &pending,
            Event::SubmitPasskey(PasskeyResponse::new("{}")),
            &env.passkeys(),
            t0()
        )
        .unwrap_err(),
        EnrollmentError::PasskeyRefused(RefusalReason::Malformed)
    );
    let response = SoftAuthenticator::new()
        .create(PORTAL_ORIGIN, creation_options(&effects))
        .unwrap();
    let (record, _) = answer_setup(&env, &pending, &response, t0());
    assert_eq!(record.state().kind(), StateKind::Enrolled);
}

#[test]
fn a_passkey_response_shows_only_its_length_in_debug() {
    let response = PasskeyResponse::new("{\"id\":\"secret-looking\"}");
    assert_eq!(format!("{response:?}"), "PasskeyResponse(23 bytes)");
}
