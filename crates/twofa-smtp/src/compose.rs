//! Turning a rendered message into an Internet message (RFC 5322): the
//! headers, a text part and an HTML part made from it, and the envelope.

use lettre::Address;
use lettre::address::Envelope;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message, MultiPart};
use twofa_delivery::{EmailAddress, FailureCause, SendError};
use zeroize::Zeroizing;

use crate::config::SmtpSender;
use crate::outcome::Failure;

/// Runs of this many digits or more never go into a subject: every code
/// has at least six digits.
pub const MIN_DIGIT_RUN_IN_SUBJECT: usize = 6;

/// A message ready for the transport.
pub(crate) struct Composed {
    pub(crate) envelope: Envelope,
    /// The formatted message; it holds the code.
    pub(crate) bytes: Zeroizing<Vec<u8>>,
}

/// Whether `subject` holds [`MIN_DIGIT_RUN_IN_SUBJECT`] ASCII digits in a
/// row.
pub(crate) fn has_digit_run(subject: &str) -> bool {
    let mut run = 0usize;
    for byte in subject.bytes() {
        if byte.is_ascii_digit() {
            run = run.saturating_add(1);
            if run >= MIN_DIGIT_RUN_IN_SUBJECT {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// Builds the message: `From` the sender, `To` the recipient, the subject,
/// a fresh Message-ID on `id_domain`, the date, `Auto-Submitted:
/// auto-generated` (RFC 3834 §5, so that vacation responders stay quiet),
/// and a multipart/alternative body of `text` and its HTML rendering.
pub(crate) fn compose(
    sender: &SmtpSender,
    id_domain: &str,
    to: &EmailAddress,
    subject: &str,
    text: &str,
) -> Result<Composed, Failure> {
    let recipient: Address = to.expose_address().parse().map_err(|_| {
        Failure::local(
            SendError::Permanent(FailureCause::Unreachable),
            "recipient_address",
        )
    })?;
    let message_id = message_id(id_domain)?;
    let html = Zeroizing::new(html(subject, text));
    let message = Message::builder()
        .from(sender.mailbox().clone())
        .to(Mailbox::new(None, recipient))
        .subject(subject)
        .message_id(Some(message_id))
        .date_now()
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ))
        .multipart(MultiPart::alternative_plain_html(
            text.to_owned(),
            String::clone(&html),
        ))
        .map_err(|_| Failure::local(SendError::Permanent(FailureCause::Rejected), "compose"))?;
    Ok(Composed {
        envelope: message.envelope().clone(),
        bytes: Zeroizing::new(message.formatted()),
    })
}

/// `<32 hex digits@domain>`: 128 random bits, so two messages never share
/// an id (RFC 5322 §3.6.4).
fn message_id(domain: &str) -> Result<String, Failure> {
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).map_err(|_| {
        Failure::local(
            SendError::Transient(FailureCause::ProviderUnavailable),
            "random",
        )
    })?;
    let mut id = String::with_capacity(domain.len().saturating_add(35));
    id.push('<');
    for byte in random {
        id.push(hex_digit(byte >> 4));
        id.push(hex_digit(byte & 0x0f));
    }
    id.push('@');
    id.push_str(domain);
    id.push('>');
    Ok(id)
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

/// The HTML part: the text, escaped, one `<p>` per paragraph (blank-line
/// separated) and `<br>` for the line breaks inside one. No link, no
/// image, no style sheet: nothing that loads remote content.
pub(crate) fn html(subject: &str, text: &str) -> String {
    let mut out = String::with_capacity(text.len().saturating_mul(2).saturating_add(200));
    out.push_str("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>");
    escape_into(subject, &mut out);
    out.push_str("</title>\n</head>\n<body>\n");
    let normalised = text.replace("\r\n", "\n");
    for paragraph in normalised.split("\n\n") {
        let paragraph = paragraph.trim_matches('\n');
        if paragraph.is_empty() {
            continue;
        }
        out.push_str("<p>");
        for (index, line) in paragraph.split('\n').enumerate() {
            if index > 0 {
                out.push_str("<br>\n");
            }
            escape_into(line, &mut out);
        }
        out.push_str("</p>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// Escapes the five characters with a meaning in HTML text and attribute
/// values (HTML Living Standard §13.1.2.6 for the text, quotes for safety).
fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_runs_of_six_are_found() {
        assert!(has_digit_run("Your code 123456"));
        assert!(has_digit_run("1234567890"));
        assert!(!has_digit_run("Your code 12345"));
        assert!(!has_digit_run("12345 67890"));
        assert!(!has_digit_run("Your Example Portal verification code"));
        assert!(!has_digit_run(""));
    }

    #[test]
    fn html_escapes_and_keeps_line_breaks() {
        let page = html(
            "A <b> & \"c\"",
            "Hello,\n\nYour code is: 123456\nIt expires.\n\n<script>x</script> & 'y'\n",
        );
        assert!(page.contains("<title>A &lt;b&gt; &amp; &quot;c&quot;</title>"));
        assert!(page.contains("<p>Hello,</p>\n"));
        assert!(page.contains("<p>Your code is: 123456<br>\nIt expires.</p>\n"));
        assert!(page.contains("<p>&lt;script&gt;x&lt;/script&gt; &amp; &#39;y&#39;</p>\n"));
        assert!(!page.contains("<script>"));
        assert!(!page.contains("http"));
        assert!(!page.contains("src="));
    }

    #[test]
    fn message_ids_are_unique_on_the_domain() {
        let one = message_id("portal.example.com").unwrap_or_default();
        let two = message_id("portal.example.com").unwrap_or_default();
        assert_ne!(one, two);
        assert_eq!(one.len(), 1 + 32 + 1 + "portal.example.com".len() + 1);
        assert!(one.starts_with('<') && one.ends_with("@portal.example.com>"));
    }
}
