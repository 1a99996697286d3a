//! Arbitrary bytes as the browser's response to both passkey ceremonies,
//! against fixed states: never a panic, never an acceptance (the states'
//! challenges are random and the credential's key is not the fuzzer's).

#![no_main]

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use twofa_passkey::{
    AuthenticationState, CredentialName, Origin, PasskeyCredential, RegistrationState, RelyingParty,
};
use twofa_types::UserId;
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

struct Fixture {
    rp: RelyingParty,
    now: DateTime<Utc>,
    registration: RegistrationState,
    authentication: AuthenticationState,
    credentials: Vec<PasskeyCredential>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let origin = "https://login.example.com";
        let rp =
            RelyingParty::new("example.com", "Fuzz", [Origin::https(origin).unwrap()]).unwrap();
        let now = DateTime::from_timestamp(1_740_819_600, 0).unwrap();
        let user = UserId::new("alice").unwrap();
        // One real credential, registered by the software authenticator.
        let mut auth = SoftPasskey::new(true);
        let (options, state) = rp.start_registration(&user, "Alice", &[], now).unwrap();
        let options = serde_json::from_str(options.as_json()).unwrap();
        let response = auth
            .do_registration(url::Url::parse(origin).unwrap(), options)
            .unwrap();
        let credential = rp
            .finish_registration(
                &state,
                &serde_json::to_string(&response).unwrap(),
                CredentialName::new("Laptop").unwrap(),
                |_| false,
                now,
            )
            .unwrap();
        let credentials = vec![credential];
        let (_, registration) = rp
            .start_registration(&user, "Alice", &credentials, now)
            .unwrap();
        let (_, authentication) = rp.start_authentication(&credentials, now).unwrap();
        Fixture {
            rp,
            now,
            registration,
            authentication,
            credentials,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let json = String::from_utf8_lossy(data);
    let registered = fixture.rp.finish_registration(
        &fixture.registration,
        &json,
        CredentialName::new("Fuzz").unwrap(),
        |_| false,
        fixture.now,
    );
    assert!(
        registered.is_err(),
        "a fuzzed registration response was accepted"
    );
    let authenticated = fixture.rp.finish_authentication(
        &fixture.authentication,
        &json,
        &fixture.credentials,
        fixture.now,
    );
    assert!(
        authenticated.is_err(),
        "a fuzzed authentication response was accepted"
    );
    let _ = twofa_passkey::client_response_credential_id(&json);
});
