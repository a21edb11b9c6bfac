//! The conformance suite: does a connector keep the contract with a vendor?
//!
//! `seatwarden connector test` runs a connector in the real sandbox against
//! a vendor (a fake or a real test tenant) and checks what the host relies
//! on: a well-formed descriptor; listings that end, never repeat an account
//! and give the same page for the same cursor; activity at or after `since`;
//! reads that never write; idempotent deactivation that reactivation undoes;
//! a typed error, never a trap, for every bad day a vendor can have (the
//! connection's [`Tap`] answers 401/403/404/429/5xx in the vendor's place,
//! spoils real bodies, and breaks connections); and no request outside the
//! connection's hosts. Each check ends as pass, warn, fail or skip, with a
//! sentence a connector author can act on.

pub mod report;
pub mod settings;

use anyhow::Result;
pub use report::{Check, Outcome, Report};
use seatwarden_domain::account::Account;
use seatwarden_sandbox::Connection;
use seatwarden_sandbox::ConnectorError;
use seatwarden_sandbox::connection::ConnectionBuilder;
use seatwarden_sandbox::egress::policy::HostPattern;
use seatwarden_sandbox::egress::tap::{BodyFault, Exchange, Fault, TransportFault};
use seatwarden_sandbox::egress::{AllowedOrigin, Denial, DenialLog, Tap};
use seatwarden_sandbox::error::{CallError, CallErrorKind};
use seatwarden_sandbox::runtime::Connector;
pub use settings::{Plan, Settings};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

/// Runs every check against `connector` through connections made by
/// `builder` (the kit adds its tap and denial log to it).
pub async fn run(connector: &Connector, builder: ConnectionBuilder, plan: &Plan) -> Result<Report> {
    let tap = Arc::new(Tap::new());
    let denials = DenialLog::default();
    let connection = builder
        .tap(tap.clone())
        .record_denials(denials.clone())
        .build(connector.descriptor())?;
    let mut kit = Kit {
        connector,
        connection,
        tap,
        denials,
        plan,
        checks: Vec::new(),
        exchanges: Vec::new(),
        activity_unsupported: false,
    };
    kit.describe().await;
    kit.validate().await;
    let listing = kit.list_users().await;
    kit.activity(listing.as_deref()).await;
    kit.writes(listing.as_deref()).await;
    kit.faults().await;
    kit.reads_never_write();
    kit.stays_inside_its_hosts();
    Ok(Report {
        connector: connector.descriptor().label(),
        digest: connector.digest().to_string(),
        base_url: kit.connection.base_url().to_string(),
        requests: kit.exchanges.len(),
        answered_by_host: kit
            .exchanges
            .iter()
            .filter(|x| matches!(x.fault, Some(Fault::Status { .. } | Fault::Transport(_))))
            .count(),
        checks: kit.checks,
    })
}

struct Kit<'a> {
    connector: &'a Connector,
    connection: Connection,
    tap: Arc<Tap>,
    denials: DenialLog,
    plan: &'a Plan,
    checks: Vec<Check>,
    /// Every request of the run, tapped.
    exchanges: Vec<Exchange>,
    /// The unfaulted activity read said `unsupported` (the plan lacks it).
    activity_unsupported: bool,
}

/// A page read while walking a listing: its cursor and the ids on it.
struct Walked {
    cursor: Option<String>,
    ids: Vec<String>,
}

impl Kit<'_> {
    fn check(&mut self, name: &str, outcome: Outcome, detail: impl Into<String>) {
        // Details quote the connector and the vendor: untrusted text that
        // must not move the cursor or recolour the author's terminal.
        let detail: String = detail
            .into()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        self.checks.push(Check {
            name: name.to_string(),
            outcome,
            detail,
        });
    }

    fn collect(&mut self) {
        self.exchanges.extend(self.tap.take_exchanges());
    }

    async fn describe(&mut self) {
        let first = self.connector.descriptor().clone();
        let name = "describe is well-formed and stable";
        match self.connector.describe().await {
            Ok(again) if again == first => {
                let caps = &first.capabilities;
                let detail = format!(
                    "{} by {}; auth {}; capabilities: activity {}, deactivate {}, reactivate {}",
                    first.label(),
                    first.vendor,
                    first.auth,
                    caps.activity,
                    caps.deactivate,
                    caps.reactivate
                );
                self.check(name, Outcome::Pass, detail)
            }
            Ok(_) => self.check(
                name,
                Outcome::Fail,
                "a second describe returned a different descriptor: return constants",
            ),
            Err(e) => self.check(name, Outcome::Fail, e.to_string()),
        }
    }

    async fn validate(&mut self) {
        let result = self.connector.validate(&self.connection).await;
        self.collect();
        let name = "validate accepts the connection";
        match result {
            Ok(validated) => {
                let owner = validated.credential_account.map_or(
                    "the vendor does not say whose account the credentials are".into(),
                    |id| format!("the credentials act as account {id}"),
                );
                self.check(name, Outcome::Pass, owner)
            }
            Err(e) => self.check(name, Outcome::Fail, e.to_string()),
        }
    }

    /// Walks every page; returns the accounts when the walk completed.
    async fn list_users(&mut self) -> Option<Vec<Account>> {
        let walk = "list-users pages end";
        let mut cursor: Option<String> = None;
        let mut seen_cursors = HashSet::new();
        let mut accounts = Vec::new();
        let mut pages: Vec<Walked> = Vec::new();
        loop {
            if pages.len() as u32 >= self.plan.max_pages {
                self.check(
                    walk,
                    Outcome::Fail,
                    format!(
                        "still paging after {} pages: return next-cursor none on the last page (or raise conformance.max_pages for a big tenant)",
                        pages.len()
                    ),
                );
                self.collect();
                return None;
            }
            let result = self
                .connector
                .list_users(&self.connection, cursor.as_deref())
                .await;
            let page = match result {
                Ok(page) => page,
                Err(e) => {
                    self.check(
                        walk,
                        Outcome::Fail,
                        format!("page {} failed: {e}", pages.len() + 1),
                    );
                    self.collect();
                    return None;
                }
            };
            pages.push(Walked {
                cursor: cursor.clone(),
                ids: page.accounts.iter().map(|a| a.id.clone()).collect(),
            });
            accounts.extend(page.accounts);
            match page.next_cursor {
                None => break,
                Some(next)
                    if !seen_cursors.insert(next.clone()) || Some(&next) == cursor.as_ref() =>
                {
                    self.check(
                        walk,
                        Outcome::Fail,
                        format!(
                            "page {} returned cursor {next:?} again: the listing would loop; every page's next-cursor must move on",
                            pages.len()
                        ),
                    );
                    self.collect();
                    return None;
                }
                Some(next) => cursor = Some(next),
            }
        }
        self.collect();
        self.check(
            walk,
            Outcome::Pass,
            format!("{} accounts in {} pages", accounts.len(), pages.len()),
        );
        self.unique_and_well_formed(&accounts);
        self.cursor_is_stable(&pages).await;
        Some(accounts)
    }

    fn unique_and_well_formed(&mut self, accounts: &[Account]) {
        let mut ids = HashSet::new();
        let repeated: BTreeSet<&str> = accounts
            .iter()
            .filter(|a| !ids.insert(a.id.as_str()))
            .map(|a| a.id.as_str())
            .collect();
        if repeated.is_empty() {
            self.check(
                "no account repeats",
                Outcome::Pass,
                format!("{} distinct ids", ids.len()),
            );
        } else {
            let sample: Vec<&str> = repeated.iter().take(5).copied().collect();
            self.check(
                "no account repeats",
                Outcome::Fail,
                format!(
                    "{} ids appear more than once (e.g. {}): pages overlap or the cursor skips back",
                    repeated.len(),
                    sample.join(", ")
                ),
            );
        }
        let blank = accounts
            .iter()
            .filter(|a| a.id.trim().is_empty() || a.principal.trim().is_empty())
            .count();
        let name = "accounts have an id and a principal";
        if blank == 0 {
            self.check(name, Outcome::Pass, "every account");
        } else {
            self.check(
                name,
                Outcome::Fail,
                format!("{blank} accounts have an empty id or principal"),
            );
        }
    }

    async fn cursor_is_stable(&mut self, pages: &[Walked]) {
        let name = "the same cursor gives the same page";
        let Some(second) = pages.get(1) else {
            self.check(
                name,
                Outcome::Skip,
                "one page only: nothing to page back to",
            );
            return;
        };
        let again = self
            .connector
            .list_users(&self.connection, second.cursor.as_deref())
            .await;
        self.collect();
        match again {
            Ok(page) => {
                let ids: Vec<String> = page.accounts.into_iter().map(|a| a.id).collect();
                if ids == second.ids {
                    self.check(
                        name,
                        Outcome::Pass,
                        format!("page 2 again: the same {} accounts", ids.len()),
                    );
                } else {
                    self.check(
                        name,
                        Outcome::Fail,
                        format!(
                            "page 2 asked again returned {} accounts, {} of them different: a resumed sync would skip or repeat accounts (on a live tenant, rule out changes made meanwhile)",
                            ids.len(),
                            ids.iter().filter(|id| !second.ids.contains(id)).count()
                        ),
                    );
                }
            }
            Err(e) => self.check(name, Outcome::Fail, e.to_string()),
        }
    }

    async fn activity(&mut self, accounts: Option<&[Account]>) {
        let name = "get-activity respects since";
        if !self.connector.descriptor().capabilities.activity {
            self.check(
                name,
                Outcome::Skip,
                "the connector does not declare activity",
            );
            return;
        }
        let since = jiff::Timestamp::now().as_millisecond()
            - i64::from(self.plan.activity_days) * 86_400_000;
        let events = match self.activity_since(since).await {
            Ok(events) => events,
            Err(message) => {
                let outcome = if self.activity_unsupported {
                    Outcome::Warn
                } else {
                    Outcome::Fail
                };
                self.check(name, outcome, message);
                return;
            }
        };
        if let Some(early) = events.iter().find(|e| e.at < since) {
            self.check(
                name,
                Outcome::Fail,
                format!(
                    "asked for events since {since}, got one at {} ({} for {}): filter by since",
                    early.at, early.kind, early.account_id
                ),
            );
            return;
        }
        let mut times: Vec<i64> = events.iter().map(|e| e.at).collect();
        times.sort_unstable();
        let Some(&later) = times.get(times.len() / 2).filter(|&&t| t > since) else {
            self.check(
                name,
                Outcome::Pass,
                format!(
                    "{} events in the last {} days, none earlier (too few to try a later since)",
                    events.len(),
                    self.plan.activity_days
                ),
            );
            return;
        };
        match self.activity_since(later).await {
            Ok(narrower) => {
                // Distinct events: a vendor may repeat one across pages.
                let distinct: HashSet<(&str, i64, &str)> = events
                    .iter()
                    .filter(|e| e.at >= later)
                    .map(|e| (e.account_id.as_str(), e.at, e.kind.as_str()))
                    .collect();
                let expected = distinct.len();
                if let Some(early) = narrower.iter().find(|e| e.at < later) {
                    self.check(
                        name,
                        Outcome::Fail,
                        format!(
                            "asked for events since {later}, got one at {}: filter by since",
                            early.at
                        ),
                    );
                } else if narrower.len() < expected {
                    self.check(
                        name,
                        Outcome::Fail,
                        format!(
                            "since {later} returned {} events, but the wider read had {expected} at or after it",
                            narrower.len()
                        ),
                    );
                } else {
                    self.check(
                        name,
                        Outcome::Pass,
                        format!(
                            "{} events since {} days ago, {} since the median time; none earlier",
                            events.len(),
                            self.plan.activity_days,
                            narrower.len()
                        ),
                    );
                }
            }
            Err(message) => self.check(name, Outcome::Fail, message),
        }
        if let Some(accounts) = accounts {
            let known: HashSet<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
            let strangers = events
                .iter()
                .filter(|e| !known.contains(e.account_id.as_str()))
                .count();
            let name = "activity names listed accounts";
            if strangers == 0 {
                self.check(
                    name,
                    Outcome::Pass,
                    "every event's account-id is a listed id",
                );
            } else {
                self.check(
                    name,
                    Outcome::Warn,
                    format!(
                        "{strangers} of {} events name an account-id list-users did not return: use the same id as account.id",
                        events.len()
                    ),
                );
            }
        }
    }

    /// Every event at or after `since`, or why not.
    async fn activity_since(
        &mut self,
        since: i64,
    ) -> Result<Vec<seatwarden_domain::account::Activity>, String> {
        let mut cursor: Option<String> = None;
        let mut events = Vec::new();
        let mut seen = HashSet::new();
        for _ in 0..self.plan.max_pages {
            let result = self
                .connector
                .get_activity(&self.connection, since, cursor.as_deref())
                .await;
            self.collect();
            let page = match result {
                Ok(page) => page,
                Err(e) => {
                    return Err(match e.vendor_error() {
                        Some(ConnectorError::Unsupported(m)) if cursor.is_none() => {
                            self.activity_unsupported = true;
                            format!(
                                "unsupported: the connector declares activity but the vendor says {m:?}; fine if this test tenant's plan lacks it"
                            )
                        }
                        _ => e.to_string(),
                    });
                }
            };
            events.extend(page.events);
            match page.next_cursor {
                None => return Ok(events),
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(format!(
                        "get-activity returned cursor {next:?} twice: the stream would loop"
                    ));
                }
                Some(next) => cursor = Some(next),
            }
        }
        Err(format!(
            "get-activity still paging after {} pages",
            self.plan.max_pages
        ))
    }

    async fn writes(&mut self, accounts: Option<&[Account]>) {
        let deactivate = "deactivate-user is idempotent";
        let reactivate = "reactivate-user undoes it";
        let caps = self.connector.descriptor().capabilities;
        let ready = match (caps.deactivate, self.plan.write_account.clone(), accounts) {
            (false, _, _) => Err("the connector does not declare deactivate"),
            (true, None, _) => {
                Err("set conformance.write_account to an active test account to run it")
            }
            (true, Some(_), None) => {
                Err("list-users failed, so the account's state cannot be read back")
            }
            (true, Some(id), Some(accounts)) => Ok((id, accounts)),
        };
        let (id, accounts) = match ready {
            Ok(ready) => ready,
            Err(why) => {
                self.check(deactivate, Outcome::Skip, why);
                self.check(reactivate, Outcome::Skip, why);
                return;
            }
        };
        match accounts.iter().find(|a| a.id == id) {
            None => {
                self.check(
                    deactivate,
                    Outcome::Fail,
                    format!("write_account {id:?} is not in the listing"),
                );
                return;
            }
            Some(account) if !account.active => {
                self.check(
                    deactivate,
                    Outcome::Skip,
                    format!("write_account {id:?} is inactive already: name an active one"),
                );
                return;
            }
            Some(_) => {}
        }
        let outcome = self.write_twice(&id, true).await;
        self.pass_or_fail(deactivate, outcome);
        if !caps.reactivate {
            self.check(
                reactivate,
                Outcome::Warn,
                format!(
                    "the connector cannot reactivate: {id} stays deactivated; reactivate it at the vendor"
                ),
            );
            return;
        }
        let outcome = self.write_twice(&id, false).await;
        self.pass_or_fail(reactivate, outcome);
    }

    fn pass_or_fail(&mut self, name: &str, outcome: Result<String, String>) {
        match outcome {
            Ok(detail) => self.check(name, Outcome::Pass, detail),
            Err(detail) => self.check(name, Outcome::Fail, detail),
        }
    }

    /// Deactivates (or reactivates) `id` twice, then reads its state back.
    async fn write_twice(&mut self, id: &str, deactivate: bool) -> Result<String, String> {
        let call = || async {
            if deactivate {
                self.connector.deactivate_user(&self.connection, id).await
            } else {
                self.connector.reactivate_user(&self.connection, id).await
            }
        };
        let first = call().await;
        let second = call().await;
        self.collect();
        match (first, second) {
            (Ok(()), Ok(())) => {}
            (Err(e), _) => return Err(format!("the first call failed: {e}")),
            (Ok(()), Err(e)) => {
                return Err(format!(
                    "the second call failed (it must succeed on an account in that state already): {e}"
                ));
            }
        }
        let (verb, shown, still) = if deactivate {
            ("deactivated", "inactive", "active")
        } else {
            ("reactivated", "active again", "inactive")
        };
        if self.active(id).await? == deactivate {
            Err(format!(
                "{id} was {verb} twice without an error, but the listing still shows it {still}"
            ))
        } else {
            Ok(format!("{id} {verb} twice; the listing shows it {shown}"))
        }
    }

    /// Whether the listing shows `id` active now.
    async fn active(&mut self, id: &str) -> Result<bool, String> {
        let mut cursor: Option<String> = None;
        for _ in 0..self.plan.max_pages {
            let page = self
                .connector
                .list_users(&self.connection, cursor.as_deref())
                .await
                .map_err(|e| format!("reading the account back failed: {e}"))?;
            self.collect();
            if let Some(account) = page.accounts.iter().find(|a| a.id == id) {
                return Ok(account.active);
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Err(format!("{id} is no longer in the listing"))
    }

    /// Every bad day, through `list-users` (and `get-activity`, `validate`).
    async fn faults(&mut self) {
        use BodyFault::*;
        let status = |status: u16, retry_after: Option<&str>| Fault::Status {
            status,
            retry_after: retry_after.map(str::to_string),
        };
        let list_faults: Vec<(Fault, Expect)> = vec![
            (status(401, None), Expect::Kind("unauthorized")),
            (status(403, None), Expect::Kind("forbidden")),
            (status(404, None), Expect::Kind("not-found")),
            (status(429, Some("7")), Expect::RateLimited(Some(7_000))),
            (status(429, None), Expect::RateLimited(None)),
            (status(500, None), Expect::Kind("unavailable")),
            (status(502, None), Expect::Kind("unavailable")),
            (status(503, Some("3")), Expect::Kind("unavailable")),
            (Fault::Body(Garbage), Expect::Kind("invalid-response")),
            (Fault::Body(Empty), Expect::Kind("invalid-response")),
            (Fault::Body(Truncated), Expect::Kind("invalid-response")),
            (Fault::Body(WrongShape), Expect::Kind("invalid-response")),
            (
                Fault::Body(CutMidStream),
                Expect::AnyOf(&["unavailable", "invalid-response"]),
            ),
            (
                Fault::Transport(TransportFault::ReadTimeout),
                Expect::Kind("unavailable"),
            ),
            (
                Fault::Transport(TransportFault::ConnectionRefused),
                Expect::Kind("unavailable"),
            ),
        ];
        for (fault, expect) in list_faults {
            self.tap.set_fault(Some(fault.clone()));
            let result = self
                .connector
                .list_users(&self.connection, None)
                .await
                .map(|_| ());
            self.tap.set_fault(None);
            self.collect();
            self.judge("list-users", &fault, expect, result);
        }
        if self.connector.descriptor().capabilities.activity {
            let since = jiff::Timestamp::now().as_millisecond() - 86_400_000;
            for (fault, expect) in [
                (status(429, Some("2")), Expect::RateLimited(Some(2_000))),
                (status(500, None), Expect::Kind("unavailable")),
                (Fault::Body(Garbage), Expect::Kind("invalid-response")),
                (Fault::Body(Truncated), Expect::Kind("invalid-response")),
            ] {
                self.tap.set_fault(Some(fault.clone()));
                let result = self
                    .connector
                    .get_activity(&self.connection, since, None)
                    .await
                    .map(|_| ());
                self.tap.set_fault(None);
                self.collect();
                // A plan without activity answers `unsupported` before it
                // reads anything: nothing to judge then.
                if self.activity_unsupported {
                    continue;
                }
                self.judge("get-activity", &fault, expect, result);
            }
        }
        for (fault, expect) in [
            (status(401, None), Expect::Kind("unauthorized")),
            (status(503, None), Expect::Kind("unavailable")),
        ] {
            self.tap.set_fault(Some(fault.clone()));
            let result = self.connector.validate(&self.connection).await.map(|_| ());
            self.tap.set_fault(None);
            self.collect();
            self.judge("validate", &fault, expect, result);
        }
    }

    fn judge(&mut self, call: &str, fault: &Fault, expect: Expect, result: Result<(), CallError>) {
        let name = format!("{call} on {fault}");
        match result {
            Ok(()) => self.check(
                &name,
                Outcome::Fail,
                "succeeded: the connector took a failed answer for data; map it to a connector-error",
            ),
            Err(e) => match (&e.kind, expect) {
                (CallErrorKind::Vendor(err), expect) => {
                    let got = e.kind_name();
                    let wait = match err {
                        ConnectorError::RateLimited(wait) => *wait,
                        _ => None,
                    };
                    let (fine, wanted) = match expect {
                        Expect::Kind(kind) => (got == kind, kind.to_string()),
                        Expect::AnyOf(kinds) => (kinds.contains(&got), kinds.join(" or ")),
                        Expect::RateLimited(None) => {
                            (got == "rate-limited", "rate-limited".to_string())
                        }
                        // Waiting longer than the vendor asked is safe.
                        Expect::RateLimited(Some(ms)) => (
                            got == "rate-limited" && wait.is_some_and(|w| w >= ms),
                            format!("rate-limited with a wait of at least {ms} ms (Retry-After)"),
                        ),
                    };
                    if fine {
                        self.check(&name, Outcome::Pass, format!("{got}: {}", short(&e)));
                    } else {
                        self.check(
                            &name,
                            Outcome::Warn,
                            format!(
                                "typed, but {got}{} where {wanted} was expected: the host retries and reports by the error's kind",
                                wait.map(|w| format!("({w})")).unwrap_or_default()
                            ),
                        );
                    }
                }
                _ => self.check(
                    &name,
                    Outcome::Fail,
                    format!("not a connector-error: {e}"),
                ),
            },
        }
    }

    fn reads_never_write(&mut self) {
        let name = "reads send no writes";
        // The sandbox refuses a write inside a read call before it leaves
        // the host (or reaches the tap): its denial log is the record.
        let writes: Vec<String> = self
            .denials
            .lock()
            .expect("denial log poisoned")
            .iter()
            .filter(|d| matches!(d, Denial::WriteInReadCall { .. }))
            .map(|d| d.to_string())
            .collect();
        if writes.is_empty() {
            let reads = ["validate", "list-users", "get-activity"];
            let count = self
                .exchanges
                .iter()
                .filter(|x| reads.contains(&x.call))
                .count();
            self.check(
                name,
                Outcome::Pass,
                format!("{count} read requests, all GET or HEAD"),
            );
        } else {
            self.check(
                name,
                Outcome::Fail,
                format!(
                    "the sandbox refused writes during reads: {}",
                    writes.join("; ")
                ),
            );
        }
    }

    fn stays_inside_its_hosts(&mut self) {
        let name = "stays inside its hosts";
        let refused: Vec<String> = self
            .denials
            .lock()
            .expect("denial log poisoned")
            .iter()
            .filter(|d| !matches!(d, Denial::WriteInReadCall { .. }))
            .map(|d| d.to_string())
            .collect();
        if !refused.is_empty() {
            self.check(
                name,
                Outcome::Fail,
                format!("the sandbox refused: {}", refused.join("; ")),
            );
            return;
        }
        let origins: BTreeSet<&str> = self.exchanges.iter().map(|x| x.origin.as_str()).collect();
        // Hosts the operator allowed on top of the base URL pass the sandbox,
        // but a connector that needs them must say so in `default-hosts`.
        let mut declared = self.connector.descriptor().default_hosts.clone();
        declared.extend(AllowedOrigin::parse(self.connection.base_url()).ok());
        let undeclared: Vec<&str> = origins
            .iter()
            .copied()
            .filter(|origin| {
                AllowedOrigin::parse(origin).is_ok_and(|o| match &o.host {
                    HostPattern::Exact(host) => {
                        !declared.iter().any(|d| d.matches(o.scheme, host, o.port))
                    }
                    HostPattern::Subdomains(_) => true,
                })
            })
            .collect();
        let talked = origins.iter().copied().collect::<Vec<_>>().join(", ");
        if undeclared.is_empty() {
            self.check(
                name,
                Outcome::Pass,
                format!(
                    "talked to {}",
                    if talked.is_empty() { "nobody" } else { &talked }
                ),
            );
        } else {
            self.check(
                name,
                Outcome::Warn,
                format!(
                    "talked to {}, which is neither the base URL nor in default-hosts: declare it so operators know to allow it",
                    undeclared.join(", ")
                ),
            );
        }
    }
}

/// What a fault must come back as.
#[derive(Clone, Copy)]
enum Expect {
    Kind(&'static str),
    AnyOf(&'static [&'static str]),
    /// `rate-limited`, with this wait when the vendor named one.
    RateLimited(Option<u32>),
}

/// The connector's own message, cut for a table cell.
fn short(e: &CallError) -> String {
    let text = match e.vendor_error() {
        Some(
            ConnectorError::Unauthorized(m)
            | ConnectorError::Forbidden(m)
            | ConnectorError::NotFound(m)
            | ConnectorError::Unavailable(m)
            | ConnectorError::InvalidResponse(m)
            | ConnectorError::Unsupported(m)
            | ConnectorError::Config(m),
        ) => m.clone(),
        Some(ConnectorError::RateLimited(Some(wait))) => format!("wait {wait} ms"),
        Some(ConnectorError::RateLimited(None)) => "no wait given".to_string(),
        None => e.to_string(),
    };
    let mut cut: String = text.chars().take(80).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}
