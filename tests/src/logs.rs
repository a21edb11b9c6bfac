//! Captures the host's log output so tests can assert what operators see.
//!
//! The subscriber is global (the sandbox logs from tokio worker threads), so
//! tests look for lines carrying something unique to them, e.g. a port.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

static BUFFER: OnceLock<Buffer> = OnceLock::new();

/// Installs the capturing subscriber (once per process).
pub fn capture() {
    BUFFER.get_or_init(|| {
        let buffer = Buffer::default();
        tracing_subscriber::fmt()
            .with_env_filter("seatwarden=debug")
            .with_ansi(false)
            .with_writer(buffer.clone())
            .init();
        buffer
    });
}

/// Captured lines containing every one of `needles`.
pub fn lines_with(needles: &[&str]) -> Vec<String> {
    let buffer = BUFFER.get().expect("call logs::capture() first");
    let text = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
    text.lines()
        .filter(|line| needles.iter().all(|n| line.contains(n)))
        .map(str::to_string)
        .collect()
}

/// All captured text.
pub fn all() -> String {
    let buffer = BUFFER.get().expect("call logs::capture() first");
    String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned()
}
