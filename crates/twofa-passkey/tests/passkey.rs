//! Real ceremonies against an in-process software authenticator: every
//! accepted ceremony next to a tampered twin that must be refused, and
//! each refusal reason on its own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly on unexpected input"
)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use serde_json::Value;
use twofa_passkey::{
    AuthenticationState, CreationOptions, CredentialId, CredentialName, Origin, PasskeyAccepted,
    PasskeyConfigError, PasskeyCredential, PasskeyRejected, RegistrationRejected,
    RegistrationState, RelyingParty, RequestOptions, StartError, UserVerification,
    client_response_credential_id, find_credential, remove_credential, replace_credential,
};
use twofa_types::UserId;
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};

const ORIGIN: &str = "https://login.example.com";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
}

fn rp() -> RelyingParty {
    RelyingParty::new(
        "example.com",
        "Partner Portal",
        [Origin::https(ORIGIN).unwrap()],
    )
    .unwrap()
}

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

fn name(text: &str) -> CredentialName {
    CredentialName::new(text).unwrap()
}

/// An authenticator that performs user verification when asked.
fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
}

/// The browser's half of a registration: optionally edits the options,
/// runs the authenticator on `origin` and returns the response JSON.
fn create(
    auth: &mut SoftPasskey,
    origin: &str,
    options: &CreationOptions,
    edit: impl FnOnce(&mut Value),
) -> String {
    let mut value: Value = serde_json::from_str(options.as_json()).unwrap();
    edit(&mut value);
    let options: CreationChallengeResponse = serde_json::from_value(value).unwrap();
    let response = auth
        .do_registration(Url::parse(origin).unwrap(), options)
        .unwrap();
    serde_json::to_string(&response).unwrap()
}

/// The browser's half of an authentication.
fn get(
    auth: &mut SoftPasskey,
    origin: &str,
    options: &RequestOptions,
    edit: impl FnOnce(&mut Value),
) -> String {
    let mut value: Value = serde_json::from_str(options.as_json()).unwrap();
    edit(&mut value);
    let options: RequestChallengeResponse = serde_json::from_value(value).unwrap();
    let response = auth
        .do_authentication(Url::parse(origin).unwrap(), options)
        .unwrap();
    serde_json::to_string(&response).unwrap()
}

fn unchanged(_: &mut Value) {}

fn nobody(_: &CredentialId) -> bool {
    false
}

/// Edits a base64url field of a response JSON.
fn edit_b64(json: &str, pointer: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut value: Value = serde_json::from_str(json).unwrap();
    let field = value.pointer_mut(pointer).unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(field.as_str().unwrap()).unwrap();
    edit(&mut bytes);
    *field = Value::String(URL_SAFE_NO_PAD.encode(bytes));
    value.to_string()
}

/// Registers a fresh passkey for `who` on `auth`.
fn register(rp: &RelyingParty, auth: &mut SoftPasskey, who: &str) -> PasskeyCredential {
    let (options, state) = rp.start_registration(&user(who), who, &[], t0()).unwrap();
    let response = create(auth, ORIGIN, &options, unchanged);
    rp.finish_registration(&state, &response, name("Laptop"), nobody, t0())
        .unwrap()
}

fn start_auth(
    rp: &RelyingParty,
    credentials: &[PasskeyCredential],
) -> (RequestOptions, AuthenticationState) {
    rp.start_authentication(credentials, t0()).unwrap()
}

fn registration(rp: &RelyingParty, who: &str) -> (CreationOptions, RegistrationState) {
    rp.start_registration(&user(who), "Alice A.", &[], t0())
        .unwrap()
}

#[test]
fn register_then_authenticate() {
    let rp = rp();
    let mut auth = authenticator();
    let (options, state) = registration(&rp, "alice");
    assert_eq!(state.expires_at(), t0() + TimeDelta::minutes(5));
    let response = create(&mut auth, ORIGIN, &options, unchanged);
    let credential = rp
        .finish_registration(&state, &response, name("  Laptop "), nobody, t0())
        .unwrap();
    assert_eq!(credential.user(), &user("alice"));
    assert_eq!(credential.name().as_str(), "Laptop");
    assert_eq!(credential.created_at(), t0());
    assert_eq!(credential.last_used_at(), None);
    assert_eq!(credential.sign_count(), 0);
    assert!(!credential.backup_eligible());

    let later = t0() + TimeDelta::minutes(1);
    let (options, state) = rp
        .start_authentication(std::slice::from_ref(&credential), later)
        .unwrap();
    assert_eq!(state.allowed_credentials(), &[credential.id().clone()]);
    let response = get(&mut auth, ORIGIN, &options, unchanged);
    assert_eq!(
        client_response_credential_id(&response).unwrap(),
        *credential.id()
    );
    let accepted: PasskeyAccepted = rp
        .finish_authentication(&state, &response, std::slice::from_ref(&credential), later)
        .unwrap();
    assert_eq!(accepted.credential_id, *credential.id());
    assert_eq!(accepted.credential.sign_count(), 1);
    assert_eq!(accepted.credential.last_used_at(), Some(later));
    assert_eq!(accepted.credential.name(), credential.name());
}

#[test]
fn tampered_registration_signature_is_refused() {
    let rp = rp();
    let mut auth = authenticator();
    let (options, state) = registration(&rp, "alice");
    let response = create(&mut auth, ORIGIN, &options, unchanged);
    // The client data the attestation signed, altered after signing.
    let tampered = edit_b64(&response, "/response/clientDataJSON", |bytes| {
        bytes.push(b' ');
    });
    assert_eq!(
        rp.finish_registration(&state, &tampered, name("Laptop"), nobody, t0())
            .map(drop),
        Err(RegistrationRejected::Unverifiable)
    );
    assert!(
        rp.finish_registration(&state, &response, name("Laptop"), nobody, t0())
            .is_ok()
    );
}

#[test]
fn tampered_authentication_signature_is_refused() {
    let rp = rp();
    let mut auth = authenticator();
    let credential = register(&rp, &mut auth, "alice");
    let credentials = [credential];
    let (options, state) = start_auth(&rp, &credentials);
    let response = get(&mut auth, ORIGIN, &options, unchanged);
    let tampered = edit_b64(&response, "/response/signature", |bytes| {
        let last = bytes.last_mut().unwrap();
        *last ^= 1;
    });
    assert!(matches!(
        rp.finish_authentication(&state, &tampered, &credentials, t0()),
        Err(PasskeyRejected::BadSignature | PasskeyRejected::Unverifiable)
    ));
    let tampered = edit_b64(&response, "/response/authenticatorData", |bytes| {
        // The counter's last byte.
        bytes[36] ^= 0x10;
    });
    assert_eq!(
        rp.finish_authentication(&state, &tampered, &credentials, t0())
            .unwrap_err(),
        PasskeyRejected::BadSignature
    );
    assert!(
        rp.finish_authentication(&state, &response, &credentials, t0())
            .is_ok()
    );
}

#[test]
fn a_second_named_credential_is_added_and_used() {
    let rp = rp();
    let (mut laptop, mut key) = (authenticator(), authenticator());
    let first = register(&rp, &mut laptop, "alice");
    let (options, state) = rp
        .start_registration(&user("alice"), "Alice", std::slice::from_ref(&first), t0())
        .unwrap();
    let options_json: Value = serde_json::from_str(options.as_json()).unwrap();
    assert_eq!(
        options_json["publicKey"]["excludeCredentials"][0]["id"],
        Value::String(first.id().to_base64url())
    );
    let response = create(&mut key, ORIGIN, &options, unchanged);
    let second = rp
        .finish_registration(
            &state,
            &response,
            name("YubiKey"),
            |id| id == first.id(),
            t0(),
        )
        .unwrap();
    assert_ne!(first.id(), second.id());

    let mut credentials = vec![first.clone(), second.clone()];
    let (options, state) = start_auth(&rp, &credentials);
    let response = get(&mut key, ORIGIN, &options, unchanged);
    let accepted = rp
        .finish_authentication(&state, &response, &credentials, t0())
        .unwrap();
    assert_eq!(accepted.credential_id, *second.id());
    assert_eq!(accepted.credential.name().as_str(), "YubiKey");

    // Rename, replace, find and remove: the caller's list.
    let renamed = accepted.credential.renamed(name("Blue key"));
    assert!(replace_credential(&mut credentials, renamed));
    assert_eq!(
        find_credential(&credentials, second.id())
            .unwrap()
            .name()
            .as_str(),
        "Blue key"
    );
    assert_eq!(
        find_credential(&credentials, second.id())
            .unwrap()
            .sign_count(),
        1
    );
    let removed = remove_credential(&mut credentials, first.id()).unwrap();
    assert_eq!(removed.id(), first.id());
    assert!(find_credential(&credentials, first.id()).is_none());
    assert!(remove_credential(&mut credentials, first.id()).is_none());
}

#[test]
fn a_credential_registered_to_anyone_is_refused() {
    let rp = rp();
    let mut auth = authenticator();
    let (options, state) = registration(&rp, "alice");
    let response = create(&mut auth, ORIGIN, &options, unchanged);
    let credential = rp
        .finish_registration(&state, &response, name("Laptop"), nobody, t0())
        .unwrap();
    // The same state and response again: the id is now stored.
    assert_eq!(
        rp.finish_registration(
            &state,
            &response,
            name("Laptop"),
            |id| id == credential.id(),
            t0()
        )
        .map(drop),
        Err(RegistrationRejected::AlreadyRegistered {
            id: credential.id().clone()
        })
    );
}

#[test]
fn another_origin_is_refused() {
    let rp = rp();
    let mut auth = authenticator();
    let evil = |value: &mut Value| {
        value["publicKey"]["rp"]["id"] = Value::String("evil.example".to_owned());
    };
    let (options, state) = registration(&rp, "alice");
    let response = create(&mut auth, "https://evil.example", &options, evil);
    assert_eq!(
        rp.finish_registration(&state, &response, name("Laptop"), nobody, t0())
            .map(drop),
        Err(RegistrationRejected::WrongOrigin)
    );

    let credential = register(&rp, &mut auth, "alice");
    let credentials = [credential];
    let (options, state) = start_auth(&rp, &credentials);
    let response = get(&mut auth, "https://evil.example", &options, |value| {
        value["publicKey"]["rpId"] = Value::String("evil.example".to_owned());
    });
    assert_eq!(
        rp.finish_authentication(&state, &response, &credentials, t0())
            .unwrap_err(),
        PasskeyRejected::WrongOrigin
    );
}

#[test]
fn another_relying_party_id_is_refused() {
    let rp = rp();
    let mut auth = authenticator();
    // The origin is allowed, but the authenticator signs for the
    // subdomain's id rather than the relying party's.
    let (options, state) = registration(&rp, "alice");
    let response = create(&mut auth, ORIGIN, &options, |value| {
        value["publicKey"]["rp"]["id"] = Value::String("login.example.com".to_owned());
    });
    assert_eq!(
        rp.finish_registration(&state, &response, name("Laptop"), nobody, t0())
            .map(drop),
        Err(RegistrationRejected::WrongRelyingParty)
    );

    let credential = register(&rp, &mut auth, "alice");
    let credentials = [credential];
    let (options, state) = start_auth(&rp, &credentials);
    let response = get(&mut auth, ORIGIN, &options, |value| {
        value["publicKey"]["rpId"] = Value::String("login.example.com".to_owned());
    });
    assert_eq!(
        rp.finish_authentication(&state, &response, &credentials, t0())
            .unwrap_err(),
        PasskeyRejected::WrongRelyingParty
    );

    // A state started by another relying party is refused as such.
    let other = RelyingParty::new(
        "other.example",
        "Other",
        [Origin::https("https://other.example").unwrap()],
    )
    .unwrap();
    let response = get(&mut auth, ORIGIN, &options, unchanged);
    assert_eq!(
        other
            .finish_authentication(&state, &response, &credentials, t0())
            .unwrap_err(),
        PasskeyRejected::WrongRelyingParty
    );
    assert!(
        rp.finish_authentication(&state, &response, &credentials, t0())
            .is_ok()
    );
}

#[test]
fn replayed_responses_are_refused() {
    let rp = rp();
    let mut auth = authenticator();
    let credential = register(&rp, &mut auth, "alice");
    let mut credentials = vec![credential];
    let (options, state) = start_auth(&rp, &credentials);
    let response = get(&mut auth, ORIGIN, &options, unchanged);
    let accepted = rp
        .finish_authentication(&state, &response, &credentials, t0())
        .unwrap();
    assert!(replace_credential(&mut credentials, accepted.credential));

    // The same state finished twice (the caller's compare-and-swap
    // failed): the stored counter already counts this signature.
    assert_eq!(
        rp.finish_authentication(&state, &response, &credentials, t0())
            .unwrap_err(),
        PasskeyRejected::CounterRegression { stored: 1 }
    );
    // The old response against a new state.
    let (_, new_state) = start_auth(&rp, &credentials);
    assert_eq!(
        rp.finish_authentication(&new_state, &response, &credentials, t0())
            .unwrap_err(),
        PasskeyRejected::ChallengeMismatch
    );
    // An old registration response against a new registration state.
    let (options, _) = registration(&rp, "alice");
    let old = create(&mut auth, ORIGIN, &options, unchanged);
    let (_, new_state) = registration(&rp, "alice");
    assert_eq!(
        rp.finish_registration(&new_state, &old, name("Laptop"), nobody, t0())
            .map(drop),
        Err(RegistrationRejected::ChallengeMismatch)
    );
}

#[test]
fn a_counter_that_goes_back_is_refused() {
    let rp = rp();
    let mut auth = authenticator();
    let credential = register(&rp, &mut auth, "alice");
    let mut credentials = vec![credential];
    let (options_a, state_a) = start_auth(&rp, &credentials);
    let (options_b, state_b) = start_auth(&rp, &credentials);
    let response_a = get(&mut auth, ORIGIN, &options_a, unchanged); // counter 1
    let response_b = get(&mut auth, ORIGIN, &options_b, unchanged); // counter 2
    let accepted = rp
        .finish_authentication(&state_b, &response_b, &credentials, t0())
        .unwrap();
    assert_eq!(accepted.credential.sign_count(), 2);
    assert!(replace_credential(&mut credentials, accepted.credential));
    assert_eq!(
        rp.finish_authentication(&state_a, &response_a, &credentials, t0())
            .unwrap_err(),
        PasskeyRejected::CounterRegression { stored: 2 }
    );
}

#[test]
fn expired_states_are_refused_from_expires_at_on() {
    let rp = rp();
    let lifetime = rp.challenge_lifetime();
    let mut auth = authenticator();
    let (options, state) = registration(&rp, "alice");
    let response = create(&mut auth, ORIGIN, &options, unchanged);
    let expires_at = t0() + lifetime;
    for late in [expires_at, expires_at + TimeDelta::seconds(1)] {
        assert_eq!(
            rp.finish_registration(&state, &response, name("Laptop"), nobody, late)
                .map(drop),
            Err(RegistrationRejected::Expired { expires_at })
        );
    }
    let credential = rp
        .finish_registration(
            &state,
            &response,
            name("Laptop"),
            nobody,
            expires_at - TimeDelta::seconds(1),
        )
        .unwrap();

    let credentials = [credential];
    let (options, state) = start_auth(&rp, &credentials);
    let response = get(&mut auth, ORIGIN, &options, unchanged);
    for late in [expires_at, expires_at + TimeDelta::seconds(1)] {
        assert_eq!(
            rp.finish_authentication(&state, &response, &credentials, late)
                .unwrap_err(),
            PasskeyRejected::Expired { expires_at }
        );
    }
    assert!(
        rp.finish_authentication(
            &state,
            &response,
            &credentials,
            expires_at - TimeDelta::seconds(1)
        )
        .is_ok()
    );
}

#[test]
fn an_unknown_credential_is_refused() {
    let rp = rp();
    let mut auth = authenticator();
    let credential = register(&rp, &mut auth, "alice");
    let credentials = [credential.clone()];
    let (options, state) = start_auth(&rp, &credentials);
    let response = get(&mut auth, ORIGIN, &options, unchanged);
    assert_eq!(
        rp.finish_authentication(&state, &response, &[], t0())
            .unwrap_err(),
        PasskeyRejected::UnknownCredential {
            id: credential.id().clone()
        }
    );
    // Known to the caller but not offered by the state (added later).
    let later = register(&rp, &mut auth, "alice");
    let (options, _) = start_auth(&rp, std::slice::from_ref(&later));
    let response = get(&mut auth, ORIGIN, &options, unchanged);
    assert_eq!(
        rp.finish_authentication(&state, &response, &[credential, later.clone()], t0())
            .unwrap_err(),
        PasskeyRejected::UnknownCredential {
            id: later.id().clone()
        }
    );
}

#[test]
fn another_users_credential_is_refused() {
    let rp = rp();
    let (mut alices, mut bobs) = (authenticator(), authenticator());
    let alice = register(&rp, &mut alices, "alice");
    let bob = register(&rp, &mut bobs, "bob");
    let all = [alice.clone(), bob.clone()];
    let (_, alice_state) = start_auth(&rp, std::slice::from_ref(&alice));
    let (options, bob_state) = start_auth(&rp, std::slice::from_ref(&bob));
    let response = get(&mut bobs, ORIGIN, &options, unchanged);
    assert_eq!(
        rp.finish_authentication(&alice_state, &response, &all, t0())
            .unwrap_err(),
        PasskeyRejected::CredentialOfAnotherUser {
            id: bob.id().clone()
        }
    );
    assert!(
        rp.finish_authentication(&bob_state, &response, &all, t0())
            .is_ok()
    );
    // One state never spans two users.
    assert_eq!(
        rp.start_authentication(&all, t0()).unwrap_err(),
        StartError::CredentialsOfSeveralUsers
    );
    assert_eq!(
        rp.start_authentication(&[], t0()).unwrap_err(),
        StartError::NoCredentials
    );
}

#[test]
fn missing_user_verification_is_refused_when_required() {
    let preferred = rp();
    let required = rp().with_user_verification(UserVerification::Required);
    let no_uv = |value: &mut Value| {
        value["publicKey"]["authenticatorSelection"]["userVerification"] =
            Value::String("preferred".to_owned());
    };
    let mut auth = authenticator();
    let (options, state) = registration(&required, "alice");
    let skipped = create(&mut auth, ORIGIN, &options, no_uv);
    assert_eq!(
        required
            .finish_registration(&state, &skipped, name("Laptop"), nobody, t0())
            .map(drop),
        Err(RegistrationRejected::UserNotVerified)
    );
    let verified = create(&mut auth, ORIGIN, &options, unchanged);
    let with_uv = required
        .finish_registration(&state, &verified, name("Laptop"), nobody, t0())
        .unwrap();
    assert!(with_uv.user_verified_at_registration());

    // Registered without verification under the preferred policy, then
    // held to the required one.
    let credential = register(&preferred, &mut auth, "alice");
    assert!(!credential.user_verified_at_registration());
    let credentials = [credential];
    let (options, state) = required.start_authentication(&credentials, t0()).unwrap();
    let skipped = get(&mut auth, ORIGIN, &options, |value| {
        value["publicKey"]["userVerification"] = Value::String("preferred".to_owned());
    });
    assert_eq!(
        required
            .finish_authentication(&state, &skipped, &credentials, t0())
            .unwrap_err(),
        PasskeyRejected::UserNotVerified
    );
    let verified = get(&mut auth, ORIGIN, &options, unchanged);
    let accepted = required
        .finish_authentication(&state, &verified, &credentials, t0())
        .unwrap();
    assert!(accepted.user_verified);
}

#[test]
fn malformed_responses_are_refused() {
    let rp = rp();
    let mut auth = authenticator();
    let (options, state) = registration(&rp, "alice");
    let response = create(&mut auth, ORIGIN, &options, unchanged);
    let truncated = edit_b64(&response, "/response/clientDataJSON", |bytes| {
        bytes.truncate(bytes.len() / 2);
    });
    let huge = format!("{{\"id\":\"{}\"}}", "a".repeat(70_000));
    for bad in [
        "",
        "{",
        "null",
        "[]",
        "{\"id\":1}",
        &response[..response.len() / 2],
        &huge,
        &truncated,
    ] {
        assert_eq!(
            rp.finish_registration(&state, bad, name("Laptop"), nobody, t0())
                .map(drop),
            Err(RegistrationRejected::Malformed),
            "{bad:.60}"
        );
    }
    let credential = rp
        .finish_registration(&state, &response, name("Laptop"), nobody, t0())
        .unwrap();

    let credentials = [credential];
    let (options, state) = start_auth(&rp, &credentials);
    let response = get(&mut auth, ORIGIN, &options, unchanged);
    let truncated = edit_b64(&response, "/response/clientDataJSON", |bytes| {
        bytes.truncate(bytes.len() / 2);
    });
    for bad in [
        "",
        "{",
        "null",
        "[]",
        &response[..response.len() / 2],
        &huge,
        &truncated,
    ] {
        assert_eq!(
            rp.finish_authentication(&state, bad, &credentials, t0())
                .unwrap_err(),
            PasskeyRejected::Malformed,
            "{bad:.60}"
        );
    }
    // A registration response is not an authentication response.
    let (reg_options, _) = registration(&rp, "alice");
    let registration_response = create(&mut auth, ORIGIN, &reg_options, unchanged);
    assert!(
        rp.finish_authentication(&state, &registration_response, &credentials, t0())
            .is_err()
    );
    assert!(
        rp.finish_authentication(&state, &response, &credentials, t0())
            .is_ok()
    );
}

#[test]
fn configuration_is_validated() {
    let origin = || Origin::https(ORIGIN).unwrap();
    assert!(matches!(
        RelyingParty::new("Example.com", "P", [origin()]),
        Err(PasskeyConfigError::InvalidRpId { .. })
    ));
    assert!(matches!(
        RelyingParty::new("example.com", "", [origin()]),
        Err(PasskeyConfigError::InvalidRpName)
    ));
    assert!(matches!(
        RelyingParty::new("example.com", "P", []),
        Err(PasskeyConfigError::NoOrigins)
    ));
    for bad in [
        "http://login.example.com",
        "https://login.example.com/path",
        "https://user@login.example.com",
        "https://203.0.113.9",
        "login.example.com",
    ] {
        assert!(
            matches!(
                Origin::https(bad),
                Err(PasskeyConfigError::InvalidOrigin { .. })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        RelyingParty::new(
            "example.com",
            "P",
            [Origin::https("https://badexample.com").unwrap()]
        ),
        Err(PasskeyConfigError::OriginOutsideRpId { .. })
    ));
    assert!(matches!(
        RelyingParty::new(
            "example.com",
            "P",
            [Origin::insecure_localhost(8080).unwrap()]
        ),
        Err(PasskeyConfigError::OriginOutsideRpId { .. })
    ));
    let dev = RelyingParty::new(
        "localhost",
        "Dev",
        [Origin::insecure_localhost(8080).unwrap()],
    )
    .unwrap();
    assert_eq!(dev.origins()[0].as_str(), "http://localhost:8080");
    assert_eq!(
        RelyingParty::new(
            "example.com",
            "P",
            [Origin::https("https://example.com:8443").unwrap()]
        )
        .unwrap()
        .origins()[0]
            .as_str(),
        "https://example.com:8443"
    );
    let rp = rp();
    assert_eq!(rp.user_verification(), UserVerification::Preferred);
    assert_eq!(rp.challenge_lifetime(), TimeDelta::minutes(5));
    for bad in [
        TimeDelta::zero(),
        TimeDelta::milliseconds(999),
        TimeDelta::seconds(3601),
    ] {
        assert!(matches!(
            rp.clone().with_challenge_lifetime(bad),
            Err(PasskeyConfigError::ChallengeLifetimeOutOfRange { .. })
        ));
    }
    let short = rp.with_challenge_lifetime(TimeDelta::seconds(30)).unwrap();
    let (options, state) = short
        .start_registration(&user("alice"), "Alice", &[], t0())
        .unwrap();
    assert_eq!(state.expires_at(), t0() + TimeDelta::seconds(30));
    let options: Value = serde_json::from_str(options.as_json()).unwrap();
    assert_eq!(options["publicKey"]["timeout"], 30_000);
    assert_eq!(
        short
            .start_registration(&user("alice"), "", &[], t0())
            .unwrap_err(),
        StartError::InvalidDisplayName
    );
    assert!(CredentialName::new(" \t ").is_err());
    assert!(CredentialName::new("a\nb").is_err());
    assert!(CredentialName::new(&"x".repeat(65)).is_err());
}

#[test]
fn debug_output_holds_no_challenge_or_key() {
    let rp = rp();
    let mut auth = authenticator();
    let (options, state) = registration(&rp, "alice");
    let options_json: Value = serde_json::from_str(options.as_json()).unwrap();
    let challenge = options_json["publicKey"]["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let printed = format!("{state:?} {options:?}");
    assert!(!printed.contains(&challenge), "{printed}");
    assert!(printed.contains("[REDACTED]"));
    let response = create(&mut auth, ORIGIN, &options, unchanged);
    let credential = rp
        .finish_registration(&state, &response, name("Laptop"), nobody, t0())
        .unwrap();
    let printed = format!("{credential:?}");
    assert!(
        printed.contains("[REDACTED]") && !printed.contains("cred_id"),
        "{printed}"
    );
    let (options, state) = start_auth(&rp, &[credential]);
    let options_json: Value = serde_json::from_str(options.as_json()).unwrap();
    let challenge = options_json["publicKey"]["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!format!("{state:?} {options:?}").contains(&challenge));
}

#[cfg(feature = "serde")]
#[test]
fn states_and_credentials_survive_a_store() {
    let rp = rp();
    let mut auth = authenticator();
    let (options, state) = registration(&rp, "alice");
    let stored: RegistrationState =
        serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
    assert_eq!(stored.id(), state.id());
    let response = create(&mut auth, ORIGIN, &options, unchanged);
    let credential = rp
        .finish_registration(&stored, &response, name("Laptop"), nobody, t0())
        .unwrap();
    let credential: PasskeyCredential =
        serde_json::from_str(&serde_json::to_string(&credential).unwrap()).unwrap();
    let credentials = [credential];
    let (options, state) = start_auth(&rp, &credentials);
    let stored: AuthenticationState =
        serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
    assert_eq!(stored.id(), state.id());
    assert_ne!(stored.id(), start_auth(&rp, &credentials).1.id());
    let response = get(&mut auth, ORIGIN, &options, unchanged);
    assert!(
        rp.finish_authentication(&stored, &response, &credentials, t0())
            .is_ok()
    );
}
