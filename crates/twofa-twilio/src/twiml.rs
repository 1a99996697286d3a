//! The TwiML document a code call runs: the script read twice, with a pause
//! between.
//!
//! The script comes from the voice template of `twofa-delivery`, which
//! already separates the code's digits with commas so that text-to-speech
//! reads them one by one; the default script says the code twice itself,
//! and the whole script is read twice again here, so a user who picks up
//! late still hears it. Text is escaped for XML 1.0 (§2.4 character data,
//! §3.3.3 attribute values), and characters XML 1.0 §2.2 forbids are
//! replaced by spaces, so no template can change the document's structure.

use zeroize::Zeroizing;

use crate::config::VoiceLanguage;

/// How many times the script is read.
pub(crate) const READINGS: usize = 2;

/// Twilio refuses a `Twiml` parameter longer than this many characters.
pub(crate) const MAX_TWIML_LEN: usize = 4000;

/// Appends `text` escaped for XML character data and attribute values.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// The TwiML that reads `script` [`READINGS`] times in `language`.
///
/// The result holds the code, so it is wiped when dropped.
pub(crate) fn code_call(script: &str, language: &VoiceLanguage) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(
        script.len().saturating_mul(READINGS).saturating_add(160),
    ));
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#);
    for reading in 0..READINGS {
        if reading > 0 {
            out.push_str(r#"<Pause length="1"/>"#);
        }
        out.push_str(r#"<Say language=""#);
        push_escaped(&mut out, language.as_str());
        out.push_str(r#"">"#);
        push_escaped(&mut out, script);
        out.push_str("</Say>");
    }
    out.push_str("</Response>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_read_twice_with_a_pause_between() {
        let twiml = code_call("Your code is: 4, 2, 9, 1, 7, 3.", &VoiceLanguage::default());
        assert_eq!(
            twiml.as_str(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
                r#"<Say language="en-US">Your code is: 4, 2, 9, 1, 7, 3.</Say>"#,
                r#"<Pause length="1"/>"#,
                r#"<Say language="en-US">Your code is: 4, 2, 9, 1, 7, 3.</Say>"#,
                "</Response>"
            )
        );
    }

    #[test]
    fn markup_in_the_script_is_escaped() {
        let twiml = code_call(
            r#"Tom & Jerry's <Hangup/> "portal" > 1"#,
            &VoiceLanguage::new("en-GB").unwrap(),
        );
        let escaped = "Tom &amp; Jerry&apos;s &lt;Hangup/&gt; &quot;portal&quot; &gt; 1";
        assert_eq!(twiml.matches(escaped).count(), READINGS);
        assert!(!twiml.contains("<Hangup"));
        assert_eq!(twiml.matches("<Say ").count(), READINGS);
        assert_eq!(twiml.matches("</Say>").count(), READINGS);
        assert!(twiml.contains(r#"<Say language="en-GB">"#));
    }

    #[test]
    fn characters_xml_forbids_become_spaces() {
        let twiml = code_call("a\u{0}b\u{1b}c\u{FFFF}d\ne", &VoiceLanguage::default());
        assert!(twiml.contains("a b c d\ne"));
        assert!(!twiml.chars().any(|c| c.is_control() && c != '\n'));
    }

    #[test]
    fn the_default_script_fits_twilios_limit() {
        // The default voice template renders to about 170 characters.
        let script = "x".repeat(900);
        assert!(code_call(&script, &VoiceLanguage::default()).len() < MAX_TWIML_LEN);
    }
}
