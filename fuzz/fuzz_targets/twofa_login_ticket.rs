//! Login-ticket parsing on arbitrary text, as it comes back from a session
//! or a form: no panic; a text is accepted exactly when it is 32 lower-case
//! hex digits; an accepted ticket prints back to the very text it was read
//! from and parses again to itself (`FromStr`, `TryFrom<String>` and
//! `From<LoginTicket> for String` agree); `Debug` shows no more than the
//! first byte; and tickets written from arbitrary bytes order and compare
//! as their texts do.

#![no_main]

use libfuzzer_sys::fuzz_target;
use twofa::{LoginTicket, TicketParseError};

fn well_formed(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check(text: &str) {
    let parsed: Result<LoginTicket, TicketParseError> = text.parse();
    assert_eq!(
        parsed,
        LoginTicket::try_from(text.to_owned()),
        "{text:?}: FromStr and TryFrom<String> disagree"
    );
    match parsed {
        Ok(ticket) => {
            assert!(well_formed(text), "{text:?} accepted");
            let printed = ticket.to_string();
            assert_eq!(printed, text);
            assert_eq!(String::from(ticket), printed);
            assert_eq!(printed.parse::<LoginTicket>(), Ok(ticket));
            let debug = format!("{ticket:?}");
            assert_eq!(debug, format!("LoginTicket({}…)", &text[..2]));
        }
        Err(error) => {
            assert!(!well_formed(text), "{text:?} refused");
            assert_eq!(error.to_string(), "login ticket is not 32 hex digits");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
        // What a careless caller might hand over: surrounding whitespace
        // and upper case are refused, not repaired.
        if well_formed(text) {
            check(&format!(" {text}"));
            check(&text.to_ascii_uppercase());
        }
    }
    // Arbitrary bytes as hex: two tickets order as their texts do.
    if let (Some(first), Some(second)) = (data.get(..16), data.get(16..32)) {
        let [a, b] = [first, second].map(|bytes| {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            check(&hex);
            let ticket: LoginTicket = hex.parse().unwrap_or_else(|_| panic!("{hex} refused"));
            (ticket, hex)
        });
        assert_eq!(a.0.cmp(&b.0), a.1.cmp(&b.1));
        assert_eq!(a.0 == b.0, first == second);
    }
});
