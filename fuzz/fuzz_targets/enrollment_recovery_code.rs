//! Recovery codes typed at login, on a user enrolled once per process:
//! no panic; the sheet holds ten distinct codes grouped `XXXX-XXXX-XXXX-XXXX`
//! in the base32 alphabet; a typed text is read the one documented way
//! (at most 64 bytes, hyphens and spaces dropped, ASCII upper-cased, then
//! exactly 16 base32 symbols), so that:
//!
//! - a text that does not read as a code is refused unevaluated (nothing
//!   counted, nothing to save);
//! - a text that reads as an unused code of the sheet logs in, uses up that
//!   code (one fewer left, the others untouched) and clears the failure
//!   count, and the same text is refused afterwards, counted;
//! - a text that reads as a code but none of the sheet's is refused and
//!   counted, and uses up nothing;
//! - round trip: every code as the sheet prints it, and every spelling of
//!   it the reading allows (any case, hyphens or spaces anywhere), is
//!   accepted;
//! - nothing printable (records, effects, errors) holds a code.

#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use rand_core::{TryCryptoRng, TryRng};
use twofa_delivery::{Issuer, MessageTemplates, ServerKey, TransactionId};
use twofa_enrollment::{
    Context, DisplayName, Effect, Enrollment, EnrollmentError, EnrollmentPolicy, Event, LastMethod,
    LoginAttempt, SetupChoice, SubmittedCode, Transition,
};
use twofa_otp::{Algorithm, Totp};
use twofa_types::{OneTimeCode, UserId};

/// A deterministic generator (SplitMix64).
struct FixedRng(u64);

impl TryRng for FixedRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Ok(z ^ (z >> 31))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

impl TryCryptoRng for FixedRng {}

struct Fixture {
    policy: EnrollmentPolicy,
    key: ServerKey,
    templates: MessageTemplates,
    issuer: Issuer,
    now: DateTime<Utc>,
    enrolled: Enrollment,
    /// The codes as the sheet prints them.
    sheet: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (Ok(issuer), Ok(key), Ok(user), Ok(name)) = (
            Issuer::new("Fuzz Portal"),
            ServerKey::from_bytes(&[7; 32]),
            UserId::new("fuzz"),
            DisplayName::new("Fuzz"),
        ) else {
            panic!("built-in values refused");
        };
        let templates = MessageTemplates::new(issuer.clone());
        let policy = EnrollmentPolicy::default();
        let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap_or(DateTime::UNIX_EPOCH);
        let ctx = Context::new(LastMethod::Removable, &policy, &key, &templates, &issuer);
        let mut rng = FixedRng(1);
        let fresh = Enrollment::new(user, name);
        let Ok(Transition::Save(started)) =
            fresh.apply(Event::StartSetup(SetupChoice::App), &ctx, now, &mut rng)
        else {
            panic!("app set-up refused");
        };
        let (pending, effects) = started.into_parts();
        let Some(secret) = effects.iter().find_map(|effect| match effect {
            Effect::ShowKeyUri(uri) => Some(uri.key_uri().secret().clone()),
            _ => None,
        }) else {
            panic!("no key URI shown");
        };
        let seconds = u64::try_from(now.timestamp()).unwrap_or(0);
        let Ok(code) = Totp::new(&secret, Algorithm::Sha1).generate(seconds) else {
            panic!("no code at the fixed instant");
        };
        let Ok(code) = OneTimeCode::parse(code.expose_secret().as_str()) else {
            panic!("generated code refused");
        };
        let Ok(Transition::Save(activated)) =
            pending.apply(Event::SubmitCode(code), &ctx, now, &mut rng)
        else {
            panic!("the right code was refused");
        };
        let (enrolled, effects) = activated.into_parts();
        let Some(sheet) = effects.iter().find_map(|effect| match effect {
            Effect::ShowRecoveryCodes(sheet) => {
                Some(sheet.expose_secret().map(str::to_owned).collect::<Vec<_>>())
            }
            _ => None,
        }) else {
            panic!("no recovery codes after activation");
        };
        assert_eq!(sheet.len(), 10);
        for code in &sheet {
            assert_eq!(code.len(), 19, "{code}");
            for (i, c) in code.chars().enumerate() {
                if i % 5 == 4 {
                    assert_eq!(c, '-');
                } else {
                    assert!(c.is_ascii_uppercase() || ('2'..='7').contains(&c));
                }
            }
        }
        let mut distinct = sheet.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), sheet.len(), "a code repeats on the sheet");
        Fixture {
            policy,
            key,
            templates,
            issuer,
            now,
            enrolled,
            sheet,
        }
    })
}

/// The code a text reads as, by the documented rule.
fn read(text: &str) -> Option<String> {
    if text.len() > 64 {
        return None;
    }
    let symbols: String = text
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = symbols.len() == 16
        && symbols
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
    valid.then_some(symbols)
}

/// A spelling of `code` (16 symbols) that the reading allows: each symbol
/// in either case, with a run of hyphens or spaces before it.
fn spelled(code: &str, style: &[u8]) -> String {
    let mut out = String::new();
    for (i, c) in code.chars().enumerate() {
        let s = style.get(i).copied().unwrap_or(0);
        for _ in 0..(s >> 4) % 3 {
            out.push(if s & 2 == 0 { '-' } else { ' ' });
        }
        out.push(if s & 1 == 0 {
            c
        } else {
            c.to_ascii_lowercase()
        });
    }
    out
}

fn remaining(record: &Enrollment, now: DateTime<Utc>) -> usize {
    record.summary(now).recovery_codes_remaining
}

enum Answer {
    Accepted(Enrollment),
    Counted(Enrollment),
    Unevaluated(EnrollmentError),
}

fn attempt(record: &Enrollment, text: &str) -> Answer {
    let f = fixture();
    let ctx = Context::new(
        LastMethod::Removable,
        &f.policy,
        &f.key,
        &f.templates,
        &f.issuer,
    );
    let Ok(transaction) = TransactionId::new("login") else {
        panic!("built-in transaction refused");
    };
    let event = Event::Login {
        attempt: LoginAttempt::RecoveryCode(SubmittedCode::new(text)),
        transaction,
    };
    let answer = record.apply(event, &ctx, f.now, &mut FixedRng(2));
    let printed = format!("{answer:?}");
    for code in &f.sheet {
        assert!(!printed.contains(code.as_str()), "a code printed");
        assert!(!printed.contains(&code.replace('-', "")), "a code printed");
    }
    match answer {
        Ok(Transition::LoginAccepted(accepted)) => {
            Answer::Accepted(accepted.outcome.into_parts().0)
        }
        Ok(Transition::LoginRefused { outcome, reason }) => {
            assert_eq!(reason, EnrollmentError::WrongCode);
            Answer::Counted(outcome.into_parts().0)
        }
        Ok(other) => panic!("a recovery code answered {other:?}"),
        Err(error) => Answer::Unevaluated(error),
    }
}

/// Checks one typed text against `record`, whose unused codes are
/// `unused` (without separators); returns the record to go on with.
fn check(record: &Enrollment, unused: &[String], text: &str) -> Enrollment {
    let now = fixture().now;
    let before = remaining(record, now);
    let failures = record.failures().consecutive();
    match (read(text), attempt(record, text)) {
        (None, Answer::Unevaluated(error)) => {
            assert_eq!(error, EnrollmentError::MalformedCode);
            record.clone()
        }
        (None, _) => panic!("{text:?} does not read as a code but was evaluated"),
        (Some(code), Answer::Accepted(next)) => {
            assert!(unused.contains(&code), "{text:?} accepted");
            assert_eq!(remaining(&next, now), before - 1);
            assert_eq!(next.failures().consecutive(), 0);
            // Used up: the same text again is a counted refusal.
            match attempt(&next, text) {
                Answer::Counted(again) => {
                    assert_eq!(remaining(&again, now), before - 1);
                }
                _ => panic!("{text:?} accepted or unevaluated after its use"),
            }
            next
        }
        (Some(code), Answer::Counted(next)) => {
            assert!(!unused.contains(&code), "{text:?} refused");
            assert_eq!(remaining(&next, now), before);
            assert_eq!(next.failures().consecutive(), failures + 1);
            next
        }
        (Some(_), Answer::Unevaluated(error)) => {
            panic!("{text:?} reads as a code but was refused unevaluated: {error}")
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    /// Codes used up first (by index on the sheet).
    used: Vec<u8>,
    which: u8,
    style: Vec<u8>,
    text: String,
}

fuzz_target!(|input: Input| {
    let f = fixture();
    let plain: Vec<String> = f.sheet.iter().map(|code| code.replace('-', "")).collect();
    let mut record = f.enrolled.clone();
    let mut unused = plain.clone();
    for index in input.used.iter().take(4) {
        let code = &plain[usize::from(*index) % plain.len()];
        if !unused.contains(code) {
            continue;
        }
        record = check(&record, &unused, code);
        unused.retain(|c| c != code);
    }

    // Arbitrary text.
    record = check(&record, &unused, &input.text);
    unused.retain(|c| Some(c) != read(&input.text).as_ref());

    // A spelling of one of the sheet's codes, and the code as printed.
    let index = usize::from(input.which) % plain.len();
    let spelling = spelled(&plain[index], &input.style);
    record = check(&record, &unused, &spelling);
    unused.retain(|c| Some(c) != read(&spelling).as_ref());
    check(&record, &unused, &f.sheet[index]);
});
