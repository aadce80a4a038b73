//! Reading the Maildir back: the messages in `new/`, their headers, and their MIME parts
//! decoded from quoted-printable, parsed independently of the code that wrote them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Every message in `new/` (name, content), ordered by name; `tmp/` must be empty.
pub(crate) fn messages(maildir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    let mut messages: Vec<(String, String)> = entries
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    messages.sort();
    messages
}

/// A parsed email.
#[derive(Debug)]
pub(crate) struct Email {
    /// Unfolded headers, in order.
    pub headers: Vec<(String, String)>,
    /// The parts of the multipart body: (Content-Type, decoded body).
    pub parts: Vec<(String, String)>,
}

impl Email {
    /// The value of header `name` (case-insensitive); fails if it is missing or repeated.
    pub(crate) fn header(&self, name: &str) -> &str {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(values.len(), 1, "header {name}: {:?}", self.headers);
        values[0]
    }

    /// The decoded body of the part of type `kind` (`text/plain`).
    pub(crate) fn part(&self, kind: &str) -> &str {
        self.parts
            .iter()
            .find(|(t, _)| t.starts_with(kind))
            .map_or_else(
                || panic!("no {kind} part in {:?}", self.parts),
                |(_, b)| b.as_str(),
            )
    }
}

fn split_headers(text: &str) -> (Vec<(String, String)>, &str) {
    let text = text.trim_start_matches('\n');
    let (head, body) = text
        .split_once("\n\n")
        .or_else(|| text.split_once("\r\n\r\n"))
        .expect("a blank line after the headers");
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            headers.last_mut().expect("a header to continue").1 += line.trim_end();
        } else {
            let (name, value) = line.split_once(':').expect("name: value");
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

/// Parses a `multipart/*` message with quoted-printable or 7-bit parts.
pub(crate) fn parse(text: &str) -> Email {
    let (headers, body) = split_headers(text);
    let content_type = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .expect("a Content-Type");
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .expect("a boundary")
        .trim_matches('"')
        .to_owned();
    let delimiter = format!("\n--{boundary}");
    let closing = format!("{delimiter}--");
    let (inner, _epilogue) = body.split_once(&closing).expect("a closing delimiter");
    let mut parts = Vec::new();
    // What precedes the first delimiter is the preamble.
    for chunk in format!("\n{inner}").split(&delimiter).skip(1) {
        let chunk = chunk
            .strip_prefix('\n')
            .expect("a line break after the delimiter");
        let (part_headers, part_body) = split_headers(chunk);
        let get = |name: &str| {
            part_headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let decoded = match get("content-transfer-encoding")
            .to_ascii_lowercase()
            .as_str()
        {
            "quoted-printable" => decode_quoted_printable(part_body),
            _ => part_body.to_owned(),
        };
        parts.push((get("content-type"), decoded));
    }
    Email { headers, parts }
}

/// Quoted-printable to text (RFC 2045 §6.7).
pub(crate) fn decode_quoted_printable(encoded: &str) -> String {
    let mut bytes = Vec::new();
    let lines: Vec<&str> = encoded.split('\n').collect();
    for (n, line) in lines.iter().enumerate() {
        let line = line.trim_end_matches('\r');
        let (line, soft) = match line.strip_suffix('=') {
            Some(rest) => (rest, true),
            None => (line, false),
        };
        let raw = line.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'=' {
                let hex = std::str::from_utf8(&raw[i + 1..i + 3]).expect("hex");
                bytes.push(u8::from_str_radix(hex, 16).expect("an escape"));
                i += 3;
            } else {
                bytes.push(raw[i]);
                i += 1;
            }
        }
        if !soft && n + 1 < lines.len() {
            bytes.push(b'\n');
        }
    }
    String::from_utf8(bytes).expect("UTF-8")
}

/// A mail reader on a thread of its own: it takes every message out of `new/` as soon as it
/// sees it (reads it, then moves it to `cur/` as seen, the way mail readers do), and keeps
/// what it took.
pub(crate) struct Reader {
    stop: Arc<AtomicBool>,
    taken: Arc<Mutex<Vec<(String, String)>>>,
    thread: JoinHandle<()>,
}

impl Reader {
    /// Starts reading `maildir`.
    pub(crate) fn start(maildir: &Path) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let taken = Arc::new(Mutex::new(Vec::new()));
        let maildir = maildir.to_owned();
        let thread = std::thread::spawn({
            let stop = Arc::clone(&stop);
            let taken = Arc::clone(&taken);
            move || loop {
                // One more pass after the stop, for what arrived meanwhile.
                let last = stop.load(Ordering::SeqCst);
                take_new(&maildir, &taken);
                if last {
                    return;
                }
                std::thread::yield_now();
            }
        });
        Self {
            stop,
            taken,
            thread,
        }
    }

    /// How many messages it has taken so far.
    pub(crate) fn taken(&self) -> usize {
        self.taken.lock().unwrap().len()
    }

    /// Stops it after a last look; every message it took (name, content as read).
    pub(crate) fn stop(self) -> Vec<(String, String)> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("the reader does not panic");
        std::mem::take(&mut *self.taken.lock().unwrap())
    }
}

/// Reads every message in `new/` and moves it to `cur/`, marked seen.
fn take_new(maildir: &Path, taken: &Mutex<Vec<(String, String)>>) {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path: PathBuf = entry.path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if std::fs::rename(&path, maildir.join("cur").join(format!("{name}:2,S"))).is_ok() {
            taken.lock().unwrap().push((name, text));
        }
    }
}
