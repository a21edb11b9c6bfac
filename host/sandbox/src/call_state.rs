//! The per-call store state: what one connector instance can reach.
//!
//! A fresh [`StoreState`] is built for every call. WASI gets an empty
//! context (no environment, arguments, preopened directories or sockets;
//! stdout discarded, stderr captured), `wasi:http` goes through the call's
//! [`EgressHooks`], and the memory limiter records *why* a call stopped so
//! the error can say so (the CPU budget is charged around the call, in
//! `cpu_meter`). Guest text (log lines, stderr) is redacted and escaped here.

use crate::contract::log::{self, Level};
use crate::egress::EgressHooks;
use crate::redact::Redactor;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Refuses memory growth past the limit and remembers that it did.
pub(crate) struct MemoryLimiter {
    pub max_bytes: usize,
    pub refused: Option<usize>,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.refused = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// Forwards guest log lines to `tracing`, capped per call.
pub(crate) struct LogSink {
    pub label: Arc<str>,
    pub call: &'static str,
    pub written: u32,
    pub dropped: u32,
    pub max_lines: u32,
    pub max_line_bytes: usize,
    /// Takes the connection's secrets out of each line.
    pub redactor: Arc<Redactor>,
}

impl LogSink {
    fn write(&mut self, level: Level, message: &str) {
        if self.written >= self.max_lines {
            self.dropped += 1;
            return;
        }
        self.written += 1;
        let line = sanitize(&self.redactor.redact(message), self.max_line_bytes);
        let (label, call) = (&*self.label, self.call);
        match level {
            Level::Trace => tracing::trace!(connector = label, call, "{line}"),
            Level::Debug => tracing::debug!(connector = label, call, "{line}"),
            Level::Info => tracing::info!(connector = label, call, "{line}"),
            Level::Warn => tracing::warn!(connector = label, call, "{line}"),
            Level::Error => tracing::error!(connector = label, call, "{line}"),
        }
    }

    /// Reports lines dropped over the cap, once, at the end of the call.
    pub fn finish(&self) {
        if self.dropped > 0 {
            tracing::warn!(
                connector = &*self.label,
                call = self.call,
                dropped = self.dropped,
                "connector exceeded its log line limit; further lines were dropped"
            );
        }
    }
}

pub(crate) use seatwarden_domain::text::sanitize;

/// Everything a connector instance can touch during one call.
pub(crate) struct StoreState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub http: WasiHttpCtx,
    pub hooks: EgressHooks,
    pub limiter: MemoryLimiter,
    pub log: LogSink,
    pub stderr: MemoryOutputPipe,
    stderr_bytes: usize,
}

/// Stderr captured beyond `stderr_bytes` so redaction sees whole secrets.
const STDERR_REDACTION_MARGIN: usize = 4096;

impl StoreState {
    pub fn new(
        hooks: EgressHooks,
        limiter: MemoryLimiter,
        log: LogSink,
        stderr_bytes: usize,
    ) -> Self {
        // Captured with room beyond the limit, so a secret written across
        // the limit is still whole when it is redacted (then clipped).
        let stderr = MemoryOutputPipe::new(stderr_bytes + STDERR_REDACTION_MARGIN);
        // The builder's defaults are already closed: no env, args, preopens,
        // stdin; sockets deny every address. Only stderr is wired up.
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        StoreState {
            wasi,
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks,
            limiter,
            log,
            stderr,
            stderr_bytes,
        }
    }

    /// What the guest wrote to stderr, lossily decoded, redacted, then cut
    /// to the limit.
    pub fn stderr_text(&self) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let redacted = self.log.redactor.redact(&text);
        sanitize_multiline(&crate::guest_output::clip(&redacted, self.stderr_bytes))
    }
}

fn sanitize_multiline(text: &str) -> String {
    text.lines()
        .map(|line| sanitize(line, 1024))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl log::Host for StoreState {
    fn log(&mut self, level: Level, message: String) {
        self.log.write(level, &message);
    }
}
