//! The one place the command line's text meets a terminal or a spreadsheet.
//!
//! Principals, ids, activity kinds, error messages and credential accounts
//! come from connectors and vendors. Printed raw, an escape sequence in one
//! of them clears the screen or forges a green "validation passed", and a
//! bidi control reorders what the operator reads. So every line the command
//! line prints goes through [`escape`] (by the [`say!`](crate::say) and
//! [`say_err!`](crate::say_err) macros and the [`stdout`] writer), once, at
//! the renderer: control characters other than newline and tab, C1
//! controls, bidi and line-separator characters become `\uXXXX`, which
//! reads plainly on a terminal and is still valid inside JSON strings
//! (where serde already escaped everything else). CSV cells are also
//! defused against formula injection ([`csv_cell`]).

use std::borrow::Cow;
use std::io::Write;

/// Whether `c` must not reach a terminal as is.
fn dangerous(c: char) -> bool {
    c != '\n' && c != '\t' && seatwarden_domain::text::rewrites_display(c)
}

/// `text` with every dangerous character written as `\uXXXX`.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(dangerous) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if dangerous(c) {
            out.push_str(&format!("\\u{:04X}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Prints one escaped line on standard output.
pub fn line(args: std::fmt::Arguments<'_>) {
    let text = args.to_string();
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = writeln!(out, "{}", escape(&text));
}

/// Prints one escaped line on standard error.
pub fn line_err(args: std::fmt::Arguments<'_>) {
    let text = args.to_string();
    let _ = writeln!(std::io::stderr().lock(), "{}", escape(&text));
}

/// Prints escaped text on standard output, without adding a newline.
pub fn text(text: &str) {
    let _ = write!(std::io::stdout().lock(), "{}", escape(text));
}

/// `println!`, escaped for the terminal.
#[macro_export]
macro_rules! say {
    () => { $crate::output::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::line(format_args!($($arg)*)) };
}

/// `eprintln!`, escaped for the terminal.
#[macro_export]
macro_rules! say_err {
    () => { $crate::output::line_err(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::line_err(format_args!($($arg)*)) };
}

/// Standard output for renderers that write through `io::Write` (tables,
/// JSON, CSV): every byte passes through [`escape`].
pub fn stdout() -> Escaped<std::io::StdoutLock<'static>> {
    Escaped {
        inner: std::io::stdout().lock(),
        pending: Vec::new(),
    }
}

/// A writer that escapes what passes through it. UTF-8 sequences split
/// across writes are held until complete; invalid bytes become U+FFFD.
pub struct Escaped<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> Escaped<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Escaped {
            inner,
            pending: Vec::new(),
        }
    }

    fn drain(&mut self, all: bool) -> std::io::Result<()> {
        let valid_up_to = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(err) => match err.error_len() {
                // An incomplete sequence at the end: wait for the rest.
                None if !all => err.valid_up_to(),
                _ => self.pending.len(),
            },
        };
        let chunk: Vec<u8> = self.pending.drain(..valid_up_to).collect();
        let text = String::from_utf8_lossy(&chunk);
        self.inner.write_all(escape(&text).as_bytes())
    }
}

impl<W: Write> Write for Escaped<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        self.drain(false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.drain(true)?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for Escaped<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// A CSV cell that a spreadsheet will not run: text starting with `=`,
/// `+`, `-`, `@`, tab or carriage return gets a leading `'` (OWASP's
/// advice); numbers such as `-12.50` stay numbers.
pub fn csv_cell(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A CSV writer whose every cell passes through [`csv_cell`].
pub struct SafeCsv<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> SafeCsv<W> {
    /// A writer over `out`.
    pub fn new(out: W) -> Self {
        SafeCsv {
            inner: csv::Writer::from_writer(out),
        }
    }

    /// Writes one record.
    pub fn write_record<I, T>(&mut self, record: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.inner.write_record(
            record
                .into_iter()
                .map(|cell| csv_cell(cell.as_ref()).into_owned()),
        )
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A time (milliseconds since the epoch) as operators read it everywhere:
/// `2026-11-30 17:05:00 UTC`; the raw number if it is out of range.
pub fn date_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls_and_bidi_but_keeps_layout() {
        assert_eq!(
            escape("\u{1b}[2J\u{1b}[32mvalidation passed\tok\n"),
            "\\u001B[2J\\u001B[32mvalidation passed\tok\n"
        );
        assert_eq!(escape("seat\u{202e}txt.exe"), "seat\\u202Etxt.exe");
        assert_eq!(escape("\u{9b}31m"), "\\u009B31m");
        assert!(matches!(escape("plain ünïcode"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_writer_escapes_across_split_utf8_sequences() {
        let mut out = Vec::new();
        {
            let mut w = Escaped::new(&mut out);
            let bytes = "a\u{202e}b\u{1b}".as_bytes();
            for byte in bytes {
                w.write_all(std::slice::from_ref(byte)).unwrap();
            }
        }
        assert_eq!(String::from_utf8(out).unwrap(), "a\\u202Eb\\u001B");
    }

    #[test]
    fn csv_cells_cannot_become_formulas() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("-12.50"), "-12.50");
        assert_eq!(csv_cell("+1"), "+1");
        assert_eq!(csv_cell("-cmd"), "'-cmd");
        assert_eq!(csv_cell("jane@example.com"), "jane@example.com");
    }
}
