//! An email as RFC 5322 and MIME say it is written, by hand: no dependency needed.
//!
//! A confirmation is one `multipart/alternative` message with a `text/plain` and a
//! `text/html` part, both UTF-8 and quoted-printable, so every line is short 7-bit ASCII
//! whatever the product names hold. The boundary starts with `=_`, which quoted-printable
//! never produces (it writes `=` as `=3D`), so it cannot occur inside a part. Header values
//! are ours or parsed domain types ([`crate::domain::EmailAddress`], [`MailFrom`]), so no
//! header can be broken or added by an order's contents.
//!
//! Lines end with LF: Maildir keeps messages in the local line convention, and delivery
//! agents turn them into CRLF on the wire.

use bazaar_contract::values::calendar::UtcDateTime;

use crate::domain::{EmailAddress, MailFrom};

/// Longest encoded line, without its line ending (RFC 2045 §6.7).
const MAX_LINE: usize = 76;

/// What goes into one message.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    /// When it is sent, in milliseconds since the Unix epoch.
    pub date_ms: i64,
    /// The sender.
    pub from: &'a MailFrom,
    /// The recipient.
    pub to: &'a EmailAddress,
    /// The subject: printable ASCII, chosen by us.
    pub subject: &'a str,
    /// A unique id, the left part of `Message-ID` and of the boundary: `[0-9a-f]+`.
    pub id: &'a str,
    /// The plain-text body.
    pub text: &'a str,
    /// The HTML body.
    pub html: &'a str,
}

impl Message<'_> {
    /// The whole message, headers and body.
    pub fn render(&self) -> String {
        let boundary = format!("=_bazaar_{}", self.id);
        let mut out = String::new();
        let mut header = |name: &str, value: &str| {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(value);
            out.push('\n');
        };
        header("Date", &UtcDateTime::of_ms(self.date_ms).rfc5322());
        header("From", self.from.mailbox());
        header("To", self.to.as_str());
        header("Subject", self.subject);
        header(
            "Message-ID",
            &format!("<{}@{}>", self.id, self.from.domain()),
        );
        header("MIME-Version", "1.0");
        header(
            "Content-Type",
            &format!("multipart/alternative; boundary=\"{boundary}\""),
        );
        out.push('\n');
        out.push_str("This is a message in MIME format: a plain-text and an HTML version.\n");
        for (kind, body) in [("text/plain", self.text), ("text/html", self.html)] {
            out.push_str(&format!("\n--{boundary}\n"));
            out.push_str(&format!("Content-Type: {kind}; charset=utf-8\n"));
            out.push_str("Content-Transfer-Encoding: quoted-printable\n\n");
            out.push_str(&quoted_printable(body));
        }
        out.push_str(&format!("\n--{boundary}--\n"));
        out
    }
}

/// Quoted-printable (RFC 2045 §6.7) of UTF-8 text: line breaks stay line breaks, `=`, bytes
/// outside printable ASCII, and spaces or tabs at the end of a line are escaped, and lines
/// longer than 76 characters are broken with soft line breaks (`=` at the end).
pub fn quoted_printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let text = text.strip_suffix('\n').unwrap_or(text);
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        let bytes = line.as_bytes();
        let mut width = 0;
        for (i, &byte) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            let literal = ((byte == b' ' || byte == b'\t') && !last)
                || ((33..=126).contains(&byte) && byte != b'=');
            let token = if literal {
                (byte as char).to_string()
            } else {
                format!("={byte:02X}")
            };
            // Room must stay for the `=` of a soft break, unless this is the line's end.
            let room = if last { MAX_LINE } else { MAX_LINE - 1 };
            if width + token.len() > room {
                out.push_str("=\n");
                width = 0;
            }
            out.push_str(&token);
            width += token.len();
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inverse of [`quoted_printable`], to check it.
    fn decode(encoded: &str) -> String {
        let mut bytes = Vec::new();
        let mut lines = encoded
            .strip_suffix('\n')
            .unwrap_or(encoded)
            .split('\n')
            .peekable();
        while let Some(line) = lines.next() {
            let (line, soft) = match line.strip_suffix('=') {
                Some(rest) => (rest, true),
                None => (line, false),
            };
            let raw = line.as_bytes();
            let mut i = 0;
            while i < raw.len() {
                if raw[i] == b'=' {
                    let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap();
                    bytes.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                } else {
                    bytes.push(raw[i]);
                    i += 1;
                }
            }
            if !soft && lines.peek().is_some() {
                bytes.push(b'\n');
            }
        }
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn quoted_printable_round_trips_and_keeps_lines_short() {
        let samples = [
            "plain".to_owned(),
            "a = b\nline two ".to_owned(),
            "tab\tend\t".to_owned(),
            "ünïcödé – €5 ✓".to_owned(),
            "x".repeat(200),
            "é".repeat(80),
            format!("{} {}", "y".repeat(74), "z"),
            "=_bazaar_boundary".to_owned(),
            String::new(),
        ];
        for sample in samples {
            let encoded = quoted_printable(&sample);
            for line in encoded.lines() {
                assert!(line.len() <= MAX_LINE, "{line:?}");
                assert!(line.is_ascii());
                assert!(!line.ends_with(' ') && !line.ends_with('\t'), "{line:?}");
            }
            assert!(!encoded.contains("=_"));
            assert_eq!(decode(&encoded), sample, "{encoded}");
        }
    }

    #[test]
    fn messages_have_the_headers_and_both_parts() {
        let from = MailFrom::default();
        let to = EmailAddress::parse("ada@example.com").unwrap();
        let text = Message {
            date_ms: 0,
            from: &from,
            to: &to,
            subject: "Hi",
            id: "abc",
            text: "hello",
            html: "<p>hello</p>",
        }
        .render();
        assert!(text.starts_with("Date: Thu, 01 Jan 1970 00:00:00 +0000\n"));
        assert!(text.contains("\nTo: ada@example.com\n"));
        assert!(text.contains("\nMessage-ID: <abc@bazaar.localhost>\n"));
        assert!(text.contains("boundary=\"=_bazaar_abc\""));
        assert_eq!(text.matches("\n--=_bazaar_abc\n").count(), 2);
        assert!(text.ends_with("\n--=_bazaar_abc--\n"));
        assert!(text.contains("Content-Type: text/html; charset=utf-8\n"));
    }
}
