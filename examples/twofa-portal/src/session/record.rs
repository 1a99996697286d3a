//! A session as a row: every value a session holds, serialized, then
//! sealed with the portal's sealing key (the recovery codes to show once
//! and the key of an authenticator app being set up are secrets; the rest
//! names the user). The row is found by a hash of the identifier, so the
//! table itself hands out no cookie, and the sealing binds the contents to
//! that hash: a sealed session copied to another row does not open.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use twofa::enrollment::MethodId;
use twofa::types::{Method, MethodSet};
use twofa::{LoginTicket, Sealer, XChaChaSealer};
use zeroize::Zeroizing;

use super::{
    CeremonyOptions, LoggedIn, NotMobileView, OtherMethodView, Partial, PasskeyCreateView, QrView,
    ReturnTo, Screen, Session, SessionError, SetUpView, Stage, Token, VerifyView,
};
use crate::accounts::DemoAccount;

/// The hash a session row is found by.
pub(crate) fn id_hash(id: &Token) -> Vec<u8> {
    Sha256::digest(id.expose().as_bytes()).to_vec()
}

/// What the sealing binds a row to: the kind of row, the jar and the hash
/// of the identifier.
fn associated_data(jar: u8, hash: &[u8]) -> Vec<u8> {
    let mut data = b"twofa-portal session ".to_vec();
    data.push(jar);
    data.extend_from_slice(hash);
    data
}

#[derive(Serialize, Deserialize)]
struct SessionRecord {
    csrf: String,
    flash: Option<String>,
    stage: StageRecord,
}

#[derive(Serialize, Deserialize)]
enum StageRecord {
    Anonymous,
    SecondFactor {
        account: String,
        ticket: LoginTicket,
        screen: ScreenRecord,
        #[serde(default)]
        return_to: Option<ReturnTo>,
    },
    LoggedIn {
        account: String,
        recovery_codes: Option<Vec<String>>,
        phone_change_pending: bool,
        not_mobile: Option<NotMobileRecord>,
        sign_in_again: bool,
        #[serde(default)]
        adding: Option<AddingRecord>,
        #[serde(default)]
        adding_passkey: Option<String>,
    },
}

#[derive(Serialize, Deserialize)]
enum ScreenRecord {
    SetUp {
        methods: Vec<Method>,
        remind_me_until: Option<chrono::DateTime<chrono::Utc>>,
        pending: Option<Method>,
        not_mobile: Option<NotMobileRecord>,
    },
    ScanQr {
        method: Method,
        key_uri: String,
    },
    Verify {
        method: Method,
        sent_to: Option<String>,
        resend: Vec<Resend>,
        setting_up: bool,
        push_number: Option<u8>,
        other_methods: Vec<OtherMethodRecord>,
        then_set_up: bool,
        #[serde(default)]
        passkey: Option<String>,
    },
    CreatePasskey {
        options: String,
        back: SetUpRecord,
    },
}

/// The set-up screen a passkey set-up goes back to.
#[derive(Serialize, Deserialize)]
struct SetUpRecord {
    methods: Vec<Method>,
    remind_me_until: Option<chrono::DateTime<chrono::Utc>>,
    pending: Option<Method>,
}

/// An app being added on the settings page.
#[derive(Serialize, Deserialize)]
struct AddingRecord {
    method: Method,
    key_uri: String,
}

#[derive(Serialize, Deserialize)]
struct NotMobileRecord {
    number: String,
    reason: String,
}

#[derive(Serialize, Deserialize)]
struct OtherMethodRecord {
    id: u32,
    kind: Method,
    masked_number: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// A re-send button ([`twofa::delivery::ResendOption`] has no serde
/// form of its own).
#[derive(Serialize, Deserialize)]
enum Resend {
    Sms,
    Voice,
    Email,
    App,
}

impl From<&twofa::delivery::ResendOption> for Resend {
    fn from(option: &twofa::delivery::ResendOption) -> Self {
        use twofa::delivery::ResendOption;
        match option {
            ResendOption::Sms => Self::Sms,
            ResendOption::Voice => Self::Voice,
            ResendOption::Email => Self::Email,
            ResendOption::App => Self::App,
        }
    }
}

impl From<Resend> for twofa::delivery::ResendOption {
    fn from(option: Resend) -> Self {
        match option {
            Resend::Sms => Self::Sms,
            Resend::Voice => Self::Voice,
            Resend::Email => Self::Email,
            Resend::App => Self::App,
        }
    }
}

fn not_mobile_record(view: Option<&NotMobileView>) -> Option<NotMobileRecord> {
    view.map(|view| NotMobileRecord {
        number: view.number.clone(),
        reason: view.reason.clone(),
    })
}

fn not_mobile_view(record: Option<NotMobileRecord>) -> Option<NotMobileView> {
    record.map(|record| NotMobileView {
        number: record.number,
        reason: record.reason,
    })
}

fn screen_record(screen: &Screen) -> ScreenRecord {
    match screen {
        Screen::SetUp(view) => ScreenRecord::SetUp {
            methods: view.methods.iter().collect(),
            remind_me_until: view.remind_me_until,
            pending: view.pending,
            not_mobile: not_mobile_record(view.not_mobile.as_ref()),
        },
        Screen::ScanQr(view) => ScreenRecord::ScanQr {
            method: view.method,
            key_uri: view.key_uri.as_str().to_owned(),
        },
        Screen::Verify(view) => ScreenRecord::Verify {
            method: view.method,
            sent_to: view.sent_to.clone(),
            resend: view.resend.iter().map(Resend::from).collect(),
            setting_up: view.setting_up,
            push_number: view.push_number,
            other_methods: view
                .other_methods
                .iter()
                .map(|other| OtherMethodRecord {
                    id: other.id.get(),
                    kind: other.kind,
                    masked_number: other.masked_number.clone(),
                    name: other.name.clone(),
                })
                .collect(),
            then_set_up: view.then_set_up,
            passkey: view.passkey.as_ref().map(|o| o.as_json().to_owned()),
        },
        Screen::CreatePasskey(view) => ScreenRecord::CreatePasskey {
            options: view.options.as_json().to_owned(),
            back: SetUpRecord {
                methods: view.back.methods.iter().collect(),
                remind_me_until: view.back.remind_me_until,
                pending: view.back.pending,
            },
        },
    }
}

fn screen_view(record: ScreenRecord) -> Screen {
    match record {
        ScreenRecord::SetUp {
            methods,
            remind_me_until,
            pending,
            not_mobile,
        } => Screen::SetUp(SetUpView {
            methods: MethodSet::of(&methods),
            remind_me_until,
            pending,
            not_mobile: not_mobile_view(not_mobile),
        }),
        ScreenRecord::ScanQr { method, key_uri } => Screen::ScanQr(QrView {
            method,
            key_uri: Zeroizing::new(key_uri),
        }),
        ScreenRecord::Verify {
            method,
            sent_to,
            resend,
            setting_up,
            push_number,
            other_methods,
            then_set_up,
            passkey,
        } => Screen::Verify(VerifyView {
            method,
            sent_to,
            resend: resend.into_iter().map(Into::into).collect(),
            setting_up,
            push_number,
            other_methods: other_methods
                .into_iter()
                .map(|other| OtherMethodView {
                    id: MethodId::new(other.id),
                    kind: other.kind,
                    masked_number: other.masked_number,
                    name: other.name,
                })
                .collect(),
            then_set_up,
            passkey: passkey.map(CeremonyOptions::new),
        }),
        ScreenRecord::CreatePasskey { options, back } => Screen::CreatePasskey(PasskeyCreateView {
            options: CeremonyOptions::new(options),
            back: SetUpView {
                methods: MethodSet::of(&back.methods),
                remind_me_until: back.remind_me_until,
                pending: back.pending,
                not_mobile: None,
            },
        }),
    }
}

fn record_of(session: &Session) -> SessionRecord {
    let stage = match &session.stage {
        Stage::Anonymous => StageRecord::Anonymous,
        Stage::SecondFactor(partial) => StageRecord::SecondFactor {
            account: partial.account.login.to_owned(),
            ticket: partial.ticket,
            screen: screen_record(&partial.screen),
            return_to: partial.return_to,
        },
        Stage::LoggedIn(logged_in) => StageRecord::LoggedIn {
            account: logged_in.account.login.to_owned(),
            recovery_codes: logged_in.recovery_codes.as_deref().cloned(),
            phone_change_pending: logged_in.phone_change_pending,
            not_mobile: not_mobile_record(logged_in.not_mobile.as_ref()),
            sign_in_again: logged_in.sign_in_again,
            adding: logged_in.adding.as_ref().map(|view| AddingRecord {
                method: view.method,
                key_uri: view.key_uri.as_str().to_owned(),
            }),
            adding_passkey: logged_in
                .adding_passkey
                .as_ref()
                .map(|o| o.as_json().to_owned()),
        },
    };
    SessionRecord {
        csrf: session.csrf.expose().to_owned(),
        flash: session.flash.clone(),
        stage,
    }
}

/// The sealed row contents of `session`.
pub(crate) fn seal(
    sealer: &XChaChaSealer,
    jar: u8,
    hash: &[u8],
    session: &Session,
) -> Result<Vec<u8>, SessionError> {
    let record = record_of(session);
    let plain = Zeroizing::new(serde_json::to_vec(&record).map_err(|_| SessionError::Unavailable)?);
    if let StageRecord::LoggedIn {
        recovery_codes: Some(codes),
        ..
    } = record.stage
    {
        drop(Zeroizing::new(codes));
    }
    sealer
        .seal(&associated_data(jar, hash), &plain, &mut rand::rng())
        .map_err(|_| SessionError::Unavailable)
}

/// A session from its sealed row. `created_at` and `touched_at` are the
/// row's columns. A row that does not open, or that names an account the
/// portal does not have, reads as unavailable (never as another session).
pub(crate) fn open(
    sealer: &XChaChaSealer,
    accounts: &[&'static DemoAccount],
    jar: u8,
    hash: &[u8],
    sealed: &[u8],
    times: (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
) -> Result<Session, SessionError> {
    let plain = sealer
        .open(&associated_data(jar, hash), sealed)
        .map_err(|_| SessionError::Unavailable)?;
    let record: SessionRecord =
        serde_json::from_slice(&plain).map_err(|_| SessionError::Unavailable)?;
    let account = |login: &str| {
        accounts
            .iter()
            .copied()
            .find(|account| account.login == login)
            .ok_or(SessionError::Unavailable)
    };
    let stage = match record.stage {
        StageRecord::Anonymous => Stage::Anonymous,
        StageRecord::SecondFactor {
            account: login,
            ticket,
            screen,
            return_to,
        } => Stage::SecondFactor(Partial {
            account: account(&login)?,
            ticket,
            screen: screen_view(screen),
            return_to,
        }),
        StageRecord::LoggedIn {
            account: login,
            recovery_codes,
            phone_change_pending,
            not_mobile,
            sign_in_again,
            adding,
            adding_passkey,
        } => Stage::LoggedIn(LoggedIn {
            account: account(&login)?,
            recovery_codes: recovery_codes.map(Zeroizing::new),
            phone_change_pending,
            not_mobile: not_mobile_view(not_mobile),
            sign_in_again,
            adding: adding.map(|record| QrView {
                method: record.method,
                key_uri: Zeroizing::new(record.key_uri),
            }),
            adding_passkey: adding_passkey.map(CeremonyOptions::new),
        }),
    };
    Ok(Session {
        csrf: Token::parse(&record.csrf).ok_or(SessionError::Unavailable)?,
        stage,
        flash: record.flash,
        created_at: times.0,
        touched_at: times.1,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use twofa::delivery::ResendOption;

    use super::*;
    use crate::accounts::DEMO_ACCOUNTS;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn sealer() -> XChaChaSealer {
        XChaChaSealer::from_bytes(&[7; 32]).unwrap()
    }

    fn accounts() -> Vec<&'static DemoAccount> {
        DEMO_ACCOUNTS.iter().collect()
    }

    fn round_trip(session: &Session) -> Session {
        let id = Token::generate().unwrap();
        let hash = id_hash(&id);
        let sealed = seal(&sealer(), 0, &hash, session).unwrap();
        open(
            &sealer(),
            &accounts(),
            0,
            &hash,
            &sealed,
            (session.created_at, session.touched_at),
        )
        .unwrap()
    }

    fn base(stage: Stage) -> Session {
        Session {
            csrf: Token::generate().unwrap(),
            stage,
            flash: Some("We sent a code to +44 ••• ••• 3456.".to_owned()),
            created_at: at(0),
            touched_at: at(5),
        }
    }

    fn partial(screen: Screen) -> Stage {
        Stage::SecondFactor(Partial {
            account: &DEMO_ACCOUNTS[1],
            ticket: "00112233445566778899aabbccddeeff".parse().unwrap(),
            screen,
            return_to: Some(ReturnTo::Company),
        })
    }

    /// Every value of every stage and screen comes back as it was.
    #[test]
    fn every_session_value_survives_the_round_trip() {
        let sessions = [
            base(Stage::Anonymous),
            base(partial(Screen::SetUp(SetUpView {
                methods: MethodSet::of(&[Method::AuthenticatorApp, Method::Sms]),
                remind_me_until: Some(at(48 * 3600)),
                pending: Some(Method::Sms),
                not_mobile: Some(NotMobileView {
                    number: "+1 204 555 0100".to_owned(),
                    reason: "We cannot tell.".to_owned(),
                }),
            }))),
            base(partial(Screen::ScanQr(QrView {
                method: Method::AuthenticatorApp,
                key_uri: Zeroizing::new(
                    "otpauth://totp/Partner%20Portal:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Partner%20Portal".to_owned(),
                ),
            }))),
            base(partial(Screen::Verify(VerifyView {
                method: Method::VoiceCall,
                sent_to: Some("+44 ••• ••• 3456".to_owned()),
                resend: vec![
                    ResendOption::Sms,
                    ResendOption::Voice,
                    ResendOption::Email,
                    ResendOption::App,
                ],
                setting_up: true,
                push_number: Some(42),
                other_methods: vec![OtherMethodView {
                    id: MethodId::new(2),
                    kind: Method::Sms,
                    masked_number: Some("+44 ••• ••• 3456".to_owned()),
                    name: None,
                }, OtherMethodView {
                    id: MethodId::new(3),
                    kind: Method::Passkey,
                    masked_number: None,
                    name: Some("Work laptop".to_owned()),
                }],
                then_set_up: true,
                passkey: Some(CeremonyOptions::new(r#"{"publicKey":{"challenge":"AAAA"}}"#)),
            }))),
            base(partial(Screen::CreatePasskey(PasskeyCreateView {
                options: CeremonyOptions::new(r#"{"publicKey":{"challenge":"BBBB"}}"#),
                back: SetUpView {
                    methods: MethodSet::of(&[Method::Passkey]),
                    remind_me_until: Some(at(48 * 3600)),
                    pending: Some(Method::Passkey),
                    not_mobile: None,
                },
            }))),
            base(Stage::LoggedIn(LoggedIn {
                account: &DEMO_ACCOUNTS[0],
                recovery_codes: Some(Zeroizing::new(vec!["abcd-efgh".to_owned()])),
                phone_change_pending: true,
                not_mobile: Some(NotMobileView {
                    number: "+44 20 7946 0000".to_owned(),
                    reason: "A landline.".to_owned(),
                }),
                sign_in_again: true,
                adding: Some(QrView {
                    method: Method::PushApp,
                    key_uri: Zeroizing::new(
                        "otpauth://totp/Partner%20Portal:bob?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Partner%20Portal".to_owned(),
                    ),
                }),
                adding_passkey: Some(CeremonyOptions::new(r#"{"publicKey":{"challenge":"CCCC"}}"#)),
            })),
        ];
        for session in &sessions {
            let back = round_trip(session);
            // The debug forms hide secrets; compare the record forms,
            // which hold everything.
            assert_eq!(
                serde_json::to_string(&record_of(&back)).unwrap(),
                serde_json::to_string(&record_of(session)).unwrap()
            );
            assert_eq!(back.created_at, session.created_at);
            assert_eq!(back.touched_at, session.touched_at);
        }
    }

    #[test]
    fn ceremony_options_stay_out_of_debug() {
        let options = CeremonyOptions::new(r#"{"publicKey":{"challenge":"c2VjcmV0"}}"#);
        let session = base(partial(Screen::CreatePasskey(PasskeyCreateView {
            options: options.clone(),
            back: SetUpView {
                methods: MethodSet::of(&[Method::Passkey]),
                remind_me_until: None,
                pending: None,
                not_mobile: None,
            },
        })));
        let printed = format!("{session:?} {options:?}");
        assert!(!printed.contains("c2VjcmV0"), "{printed}");
        assert!(printed.contains("CeremonyOptions([REDACTED])"));
    }

    #[test]
    fn a_row_opens_only_under_its_own_identifier_and_jar() {
        let session = base(Stage::Anonymous);
        let id = Token::generate().unwrap();
        let hash = id_hash(&id);
        let sealed = seal(&sealer(), 0, &hash, &session).unwrap();
        let other = id_hash(&Token::generate().unwrap());
        let times = (at(0), at(0));
        assert!(open(&sealer(), &accounts(), 0, &other, &sealed, times).is_err());
        assert!(open(&sealer(), &accounts(), 1, &hash, &sealed, times).is_err());
        let wrong_key = XChaChaSealer::from_bytes(&[8; 32]).unwrap();
        assert!(open(&wrong_key, &accounts(), 0, &hash, &sealed, times).is_err());
        assert!(open(&sealer(), &accounts(), 0, &hash, &sealed, times).is_ok());
        // Nothing of the session is readable in the row.
        let text = String::from_utf8_lossy(&sealed);
        assert!(!text.contains(session.csrf.expose()));
    }
}
