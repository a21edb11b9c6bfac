//! Storage: every SQL statement Seatwarden runs, behind domain-named functions.
//!
//! SQLite is the embedded default (one file, WAL, foreign keys on);
//! PostgreSQL is the store several hosts share. Both are reached through
//! sqlx's `Any` driver with one SQL text per statement. Every transaction
//! names the tenant it works for ([`Tenancy`]), which PostgreSQL's row-level
//! security policies enforce. The schema is
//! versioned by sqlx's migrator (`host/store/migrations`). Each page of a sync is
//! written in one transaction together with the cursor that follows it: a
//! crash between pages resumes at the next page and never duplicates or loses
//! rows. Nothing outside this module knows which database is underneath.

use anyhow::Context;
pub use error::{Result, StoreError};
use seatwarden_domain::account::{Account, Activity};
use serde::Serialize;
use sql::Statement;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Row};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

mod audit;
mod candidates;
mod connections;
mod console;
mod copy;
mod entitlements;
mod error;
mod exclusions;
mod jobs;
mod listing;
mod models;
mod owner;
mod profiles;
mod rate_slots;
mod reconciliation;
mod sign_on;
mod source;
mod sql;
mod tokens;
mod trouble;

pub use audit::{AuditCheck, AuditEntry, AuditNote, GENESIS, check_chain};
pub use candidates::{Candidate, CandidateState, RefreshReport, RefreshScope, RuleChange};
pub use connections::{Change, StoredConnection, StoredUpload};
pub use console::{NewSession, NewSignIn, Session, StoredSignIn};
pub use copy::CopiedTable;
pub use listing::{
    AccountState, CandidateFilter, JobFilter, ListedSubscription, SubscriptionFilter,
    SubscriptionKey,
};
pub use owner::{owner_is_dead, process_owner};
pub use profiles::{
    ActivityFrom, ConnectorIdentity, ProfileRecord, ProfileSettings, ProfileStatus, ScheduledJob,
    Validation,
};
pub use reconciliation::{
    IdentifierGroup, LiveSubscription, NewReconciliationRun, Reclaimed, ReconciliationRun,
};
pub use seatwarden_domain::database::Database;
pub use seatwarden_domain::subscription::StoredSubscription;
pub use sign_on::{NewSignOn, PendingSignOn};
pub use source::Source;
pub use sql::Engine;
pub use tokens::{NewToken, StoredToken, TenantInfo, TokenInfo};
pub use trouble::explain as explain_database_error;

/// The schema on SQLite: every version since the first release.
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
/// The schema on PostgreSQL: the same tables, starting at the version
/// PostgreSQL support arrived with.
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Accounts per upsert statement: 14 parameters each stays far below
/// SQLite's 32,766-parameter limit (and PostgreSQL's 65,535).
const UPSERT_CHUNK: usize = 500;
/// Accounts whose last activity one statement moves (three values each).
const ACTIVITY_CHUNK: usize = 500;

/// A tenant's id. Obtained only by name, so callers always start from a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(i64);

/// A profile's id, obtained only through its tenant, which it carries: every
/// statement about a profile runs in its tenant's scope (see [`Tenancy`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProfileId {
    tenant: TenantId,
    id: i64,
}

impl ProfileId {
    /// The tenant the profile belongs to.
    pub fn tenant(self) -> TenantId {
        self.tenant
    }
}

/// Whose rows a transaction works on. On PostgreSQL every transaction
/// sets it (`seatwarden.tenant`), and the tables' row-level security
/// policies show and accept only that tenant's rows, so a statement that
/// forgot its tenant filter still cannot reach another tenant. SQLite has
/// no such policies; there the statements' own filters are the boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tenancy {
    /// One tenant's rows.
    Tenant(TenantId),
    /// Every tenant's: only for steps that work before a tenant is known
    /// (a token or session lookup) or across tenants by design (the
    /// scheduler's due list, the copy from SQLite).
    AllTenants,
}

impl Tenancy {
    /// The value of `seatwarden.tenant` for this scope.
    fn setting(self) -> String {
        match self {
            Tenancy::Tenant(tenant) => tenant.0.to_string(),
            Tenancy::AllTenants => "all".to_owned(),
        }
    }
}

impl From<TenantId> for Tenancy {
    fn from(tenant: TenantId) -> Tenancy {
        Tenancy::Tenant(tenant)
    }
}

impl From<ProfileId> for Tenancy {
    fn from(profile: ProfileId) -> Tenancy {
        Tenancy::Tenant(profile.tenant)
    }
}

/// The two paged streams a sync reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// The vendor's accounts (`list-users`), recorded as a subscriptions job.
    Users,
    /// Activity events (`get-activity`), pulled from where the last pull ended.
    Activity,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Users => "users",
            Stream::Activity => "activity",
        }
    }

    /// The job kind a run of this stream is recorded as.
    pub fn job_kind(self) -> JobKind {
        match self {
            Stream::Users => JobKind::Subscriptions,
            Stream::Activity => JobKind::Activity,
        }
    }
}

/// What started a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// The scheduler started it when its cron schedule came due.
    Schedule,
    /// Someone asked for it, e.g. with `seatwarden sync`.
    Manual,
}

impl Trigger {
    /// The name stored in the job's row and shown in its history.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
        }
    }
}

/// Where a stream stands: a fresh run, or an unfinished one to resume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunState {
    /// The job row of this attempt; every write of the run passes it.
    pub run_id: i64,
    /// Where the listing continues; `None`: at its first page.
    pub cursor: Option<String>,
    /// The last page was stored; only the finishing step is left.
    pub exhausted: bool,
    /// This attempt continues an unfinished run instead of starting a new one.
    pub resumed: bool,
    /// Pages the run stored so far, over all its attempts.
    pub pages: i64,
    /// Items (accounts or events) the run stored so far, over all its attempts.
    pub items: i64,
    /// For activity: the `since` the run started with.
    pub since_ms: Option<i64>,
}

/// A job run's record: what ran, why, when, what it did, how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobRun {
    /// The job row's id; each attempt of a run has its own.
    pub id: i64,
    /// The name of the profile it ran for.
    pub profile: String,
    /// What ran, as a [`JobKind`] name such as `subscriptions` or `deactivate`.
    pub kind: String,
    /// What started it: `schedule` or `manual`.
    pub trigger: String,
    /// `running`, `succeeded`, `failed` or `interrupted`.
    pub status: String,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at: i64,
    /// When it ended, in epoch milliseconds; `None` while it runs or if it never ended.
    pub finished_at: Option<i64>,
    /// Pages this attempt stored.
    pub pages: i64,
    /// Accounts (subscriptions) or events (activity) read.
    pub items: i64,
    /// Accounts stored that the profile had not seen before (subscriptions runs).
    pub created: i64,
    /// Accounts stored that the profile already knew (subscriptions runs).
    pub updated: i64,
    /// Accounts marked gone because the listing no longer had them.
    pub gone: i64,
    /// The connector's typed error (e.g. `rate-limited`, `unauthorized`) or
    /// the host's (`cpu-budget`, `deadline`, ...), when the run failed.
    pub error_kind: Option<String>,
    /// What the job did, or why it failed, in words; `None` if nothing was recorded.
    pub detail: Option<String>,
    /// The earlier attempt of the same run this one resumed.
    pub resumes: Option<i64>,
    /// The lease owner (process) that ran it.
    pub owner: Option<String>,
    /// The profile's state (`draft` or `published`) when it started.
    pub profile_status: Option<String>,
}

/// How much of a profile one users run may mark gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoneGuard {
    /// The largest share of live accounts, in percent, a run marks gone
    /// without a second run agreeing.
    pub max_percent: u8,
    /// The operator confirmed the held listing they were shown: mark what
    /// this run misses if it is no more than the held run missed.
    pub accept: bool,
}

/// How a users run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsersRunEnd {
    /// Accounts not seen were marked gone.
    Finished {
        /// How many live accounts this run marked gone (0 if none were missing).
        gone: u64,
    },
    /// Too many would have been: nothing was marked.
    Held(HeldListing),
}

/// A listing held as suspect: what it would have done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the vendor's listing left out {missing} of {live} live accounts; marking them gone is more than the {max_percent}% one run may, so nothing was marked gone and no candidate changed. If they really left, the next sync that misses the same accounts marks them, or confirm with `seatwarden sync --accept-gone` (it marks at most these {missing})"
)]
pub struct HeldListing {
    /// Live accounts the listing left out.
    pub missing: u64,
    /// Live accounts the profile had, not counting ones this run introduced.
    pub live: u64,
    /// The share of `live`, in percent, one run may mark gone.
    pub max_percent: u8,
}

/// A digest of the ids a run missed, sorted: equal sets, equal digests.
fn missing_digest(ids: &[String]) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    for id in ids {
        hash.update(id.as_bytes());
        hash.update([0u8]);
    }
    hex::encode(hash.finalize())
}

/// New and already-known accounts in a page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageCounts {
    /// Accounts the profile had not seen before.
    pub created: i64,
    /// Accounts the profile already knew, updated in place.
    pub updated: i64,
}

/// How an unfinished run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// It stopped on an error; its cursor is kept, so the next sync resumes.
    Failed,
    /// Stopped by a shutdown; resumes at its cursor.
    Interrupted,
}

/// Kinds of jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// A sync of the vendor's accounts (the users stream).
    Subscriptions,
    /// A sync of activity events.
    Activity,
    /// The removal candidates' refresh, after a sync.
    Candidates,
    /// A vendor write that deactivates an account (a reclamation).
    Deactivate,
    /// A vendor write that turns a reclaimed account back on.
    Reactivate,
    /// A run of the connector's read-only `validate` against the vendor.
    Validate,
    /// A tenant's reconciliation (not a profile's).
    Reconcile,
}

impl JobKind {
    /// The name a job of this kind is stored and shown under.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Subscriptions => "subscriptions",
            JobKind::Activity => "activity",
            JobKind::Candidates => "candidates",
            JobKind::Deactivate => "deactivate",
            JobKind::Reactivate => "reactivate",
            JobKind::Validate => "validate",
            JobKind::Reconcile => "reconcile",
        }
    }

    /// The kinds the scheduler runs.
    pub fn parse_scheduled(text: &str) -> Option<JobKind> {
        match text {
            "subscriptions" => Some(JobKind::Subscriptions),
            "activity" => Some(JobKind::Activity),
            _ => None,
        }
    }
}

/// A job with no pages: a vendor write or a validation.
#[derive(Clone, Debug)]
pub struct OneShotJob<'a> {
    /// What ran.
    pub kind: JobKind,
    /// What started it.
    pub trigger: Trigger,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at: i64,
    /// When it ended, in milliseconds since the Unix epoch.
    pub finished_at: i64,
    /// Set when the job failed.
    pub error_kind: Option<&'a str>,
    /// What happened, in words; clipped to [`MAX_STORED_TEXT`] bytes when stored.
    pub detail: &'a str,
}

/// The connector a profile was last synced with.
#[derive(Clone, Debug)]
pub struct ProfileConnector<'a> {
    /// The connector's name from its descriptor, e.g. `smartsheet`.
    pub name: &'a str,
    /// The connector's version, as its descriptor gives it.
    pub version: &'a str,
    /// The hex sha256 of the component's bytes.
    pub digest: &'a str,
    /// The base URL the connection used.
    pub base_url: &'a str,
}

/// The longest free text (job details, errors, audit details, validation
/// results) stored whole; longer text is clipped, saying how much was cut,
/// so no connector or vendor can grow a row (or the audit chain, which can
/// never shrink) without bound.
pub const MAX_STORED_TEXT: usize = 16 * 1024;

/// `text` as it is stored: at most [`MAX_STORED_TEXT`] bytes.
pub(crate) fn stored_text(text: &str) -> String {
    seatwarden_domain::text::clip(text, MAX_STORED_TEXT)
}

/// The database.
#[derive(Clone)]
pub struct Storage {
    pool: AnyPool,
    engine: Engine,
    read_only: bool,
    /// Where the store reads the time when a query needs it (whether a
    /// running job's lease has run out): the app's clock, the wall by default.
    now: Now,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("engine", &self.engine)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

/// The advisory lock key of PostgreSQL write transactions ("seatward" in
/// ASCII): a write across tenants holds it alone, a tenant's write shares
/// it with the other tenants' writes.
const WRITER_LOCK: i64 = 0x7365_6174_7761_7264;

/// The first half of a tenant's writer lock key ("seat"); the second is the
/// tenant's id (folded into 31 bits: two tenants that share a key only
/// wait for each other).
const TENANT_WRITER_LOCKS: i64 = 0x7365_6174;

/// The second half of `tenant`'s writer lock key.
fn tenant_lock_key(tenant: TenantId) -> i64 {
    tenant.0.rem_euclid(i64::from(i32::MAX))
}

/// A pool of SQLite connections to the file at `path` through the `Any`
/// driver (one pool type for both engines), with the file's settings made
/// on every connection: WAL, `synchronous = NORMAL`, foreign keys, and a
/// 10-second wait for another writer.
async fn sqlite_pool(path: &Path, read_only: bool, connections: u32) -> sqlx::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let absolute = std::path::absolute(path)?;
    let url = SqliteConnectOptions::new()
        .filename(&absolute)
        .create_if_missing(!read_only)
        .read_only(read_only)
        .to_url_lossy();
    let pragmas = if read_only {
        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;"
    } else {
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;"
    };
    AnyPoolOptions::new()
        .max_connections(connections)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                sqlx::raw_sql(pragmas).execute(conn).await?;
                Ok(())
            })
        })
        .connect(url.as_str())
        .await
}

/// A pool of PostgreSQL connections. A statement that runs longer than
/// 30 seconds is cancelled by the server and fails with a typed error
/// instead of holding the writer lock; waiting for a free connection gives
/// up after 30 seconds the same way.
async fn postgres_pool(url: &str) -> sqlx::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::raw_sql("SET statement_timeout = '30s'; SET lock_timeout = '30s';")
                    .execute(conn)
                    .await?;
                Ok(())
            })
        })
        .connect(url)
        .await
}

/// Refuses to work as a PostgreSQL role the tenant policies do not bind:
/// a superuser or a role with BYPASSRLS reads every tenant's rows whatever
/// a transaction's tenant is, so one missing filter would leak across
/// tenants.
async fn refuse_unpoliced_role(pool: &AnyPool, shown: &str) -> Result<()> {
    let row = sqlx::query(
        "SELECT current_user::TEXT AS name, CAST(rolsuper OR rolbypassrls AS INTEGER) AS unpoliced
         FROM pg_catalog.pg_roles WHERE rolname = current_user",
    )
    .fetch_one(pool)
    .await
    .with_context(|| format!("reading the role of database {shown}"))?;
    let name: String = row.get("name");
    if flag(&row, "unpoliced") {
        return Err(anyhow::anyhow!(
            "database {shown}: seatwarden is connected as role {name:?}, a superuser or a role with BYPASSRLS, which reads past the row-level security that keeps tenants apart; connect as a role without SUPERUSER and BYPASSRLS that owns the database (CREATE ROLE seatwarden LOGIN PASSWORD '...'; CREATE DATABASE seatwarden OWNER seatwarden), as the README's \"Running several hosts\" shows"
        )
        .into());
    }
    Ok(())
}

/// Whether the PostgreSQL database has a migrations table (one no host
/// has migrated yet has none).
async fn has_migrations_table(pool: &AnyPool) -> Result<bool> {
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE tablename = '_sqlx_migrations' AND schemaname = current_schema()",
    )
    .fetch_one(pool)
    .await?;
    Ok(tables > 0)
}

/// The newest version a migrator knows.
fn newest(migrator: &sqlx::migrate::Migrator) -> i64 {
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The time source of [`Storage`]: milliseconds since the epoch.
pub type Now = std::sync::Arc<dyn Fn() -> i64 + Send + Sync>;

fn wall_clock() -> Now {
    std::sync::Arc::new(|| jiff::Timestamp::now().as_millisecond())
}

impl Storage {
    /// The same store reading the time from `now` (the app's clock).
    pub fn with_clock(mut self, now: Now) -> Storage {
        self.now = now;
        self
    }

    /// Opens (creating if needed) the SQLite file and migrates it.
    pub async fn open(path: &Path) -> Result<Storage> {
        let pool = sqlite_pool(path, false, 4)
            .await
            .with_context(|| format!("opening database {}", path.display()))?;
        SQLITE_MIGRATIONS
            .run(&pool)
            .await
            .with_context(|| format!("migrating database {}", path.display()))?;
        Ok(Storage::over(pool, Engine::Sqlite, false))
    }

    /// Connects to the PostgreSQL database at `url` and migrates it. Several
    /// hosts may do this at once: the migrator takes an advisory lock.
    pub async fn connect_postgres(url: &str) -> Result<Storage> {
        let shown = seatwarden_domain::database::shown(url);
        let pool = postgres_pool(url)
            .await
            .with_context(|| format!("connecting to database {shown}"))?;
        refuse_unpoliced_role(&pool, &shown).await?;
        let storage = Storage::over(pool, Engine::Postgres, false);
        // A database at the newest version is left alone, so a host whose
        // role may only read and write rows (not change tables) starts on
        // a database its owner migrated with `seatwarden migrate`.
        let current = if has_migrations_table(&storage.pool).await? {
            storage.schema_version().await?
        } else {
            0
        };
        if current != newest(&POSTGRES_MIGRATIONS) {
            POSTGRES_MIGRATIONS
                .run(&storage.pool)
                .await
                .with_context(|| format!("migrating database {shown}"))?;
        }
        Ok(storage)
    }

    /// Connects to the PostgreSQL database at `url` to read only: no
    /// migration runs, and one at another schema version is refused.
    pub async fn connect_postgres_read_only(url: &str) -> Result<Storage> {
        let shown = seatwarden_domain::database::shown(url);
        let pool = postgres_pool(url)
            .await
            .with_context(|| format!("connecting to database {shown}"))?;
        refuse_unpoliced_role(&pool, &shown).await?;
        let storage = Storage::over(pool, Engine::Postgres, true);
        let migrated = has_migrations_table(&storage.pool)
            .await
            .with_context(|| format!("reading database {shown}"))?;
        storage
            .check_version(migrated, &shown, &POSTGRES_MIGRATIONS)
            .await?;
        Ok(storage)
    }

    fn over(pool: AnyPool, engine: Engine, read_only: bool) -> Storage {
        Storage {
            now: wall_clock(),
            pool,
            engine,
            read_only,
        }
    }

    /// Opens the database `database` names, creating (SQLite) and
    /// migrating it.
    pub async fn open_database(database: &Database) -> Result<Storage> {
        match database {
            Database::File(path) => Storage::open(path).await,
            Database::Postgres(url) => Storage::connect_postgres(url.expose()).await,
        }
    }

    /// Opens the database `database` names to read only; see
    /// [`Storage::open_read_only`].
    pub async fn open_database_read_only(database: &Database) -> Result<Storage> {
        match database {
            Database::File(path) => Storage::open_read_only(path).await,
            Database::Postgres(url) => Storage::connect_postgres_read_only(url.expose()).await,
        }
    }

    /// The engine underneath.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Opened with [`Storage::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Opens an existing database for reading only: no file is created, no
    /// migration runs, and any write fails. For commands that only read
    /// (`jobs`, `subscriptions`, reports, audit), so they work on a database
    /// the user may not write and can never change one by accident. A
    /// database an older seatwarden left is refused with the way to migrate
    /// it.
    pub async fn open_read_only(path: &Path) -> Result<Storage> {
        if !path.exists() {
            return Err(anyhow::anyhow!(
                "database {} does not exist yet: run `seatwarden apply` to create it",
                path.display()
            )
            .into());
        }
        let pool = sqlite_pool(path, true, 2)
            .await
            .with_context(|| format!("opening database {} to read", path.display()))?;
        let storage = Storage::over(pool, Engine::Sqlite, true);
        let tables: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(&storage.pool)
        .await
        .with_context(|| format!("reading database {}", path.display()))?;
        storage
            .check_version(tables > 0, &path.display().to_string(), &SQLITE_MIGRATIONS)
            .await?;
        Ok(storage)
    }

    /// Refuses a database at another schema version than `migrations` leave.
    async fn check_version(
        &self,
        has_migrations: bool,
        shown: &str,
        migrations: &sqlx::migrate::Migrator,
    ) -> Result<()> {
        let found = if has_migrations {
            self.schema_version().await?
        } else {
            0
        };
        let wanted = newest(migrations);
        if found < wanted {
            return Err(anyhow::anyhow!(
                "database {shown} is at schema version {found} and this seatwarden reads version {wanted}: run `seatwarden migrate` (or any command that writes) once to migrate it, then run this again",
            ).into());
        }
        if found > wanted {
            return Err(anyhow::anyhow!(
                "database {shown} is at schema version {found}, newer than this seatwarden understands ({wanted}): use the seatwarden that wrote it",
            ).into());
        }
        Ok(())
    }

    /// Starts a transaction that reads in `scope`: one consistent snapshot
    /// on both engines, and on PostgreSQL only `scope`'s rows. A read may
    /// simply drop it (written as `&mut *self.read(scope).await?` inside the
    /// statement): it rolls back, having changed nothing.
    async fn read(
        &self,
        scope: impl Into<Tenancy>,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.pool.begin().await?;
        self.enter(&mut tx, scope.into()).await?;
        Ok(tx)
    }

    /// Starts a write transaction in `scope` that no other write of that
    /// scope overlaps: read-then-write steps (the audit chain's next link,
    /// a job's due time, a candidate's state) need no retry loop, and no
    /// tenant's writes wait for another tenant's.
    ///
    /// On SQLite `BEGIN IMMEDIATE` takes the file's write lock up front, so
    /// concurrent writers queue on the busy timeout instead of failing
    /// with "database is locked" when a read transaction tries to become a
    /// write: every write runs alone. On PostgreSQL transaction-scoped
    /// advisory locks do it across every host on the database: a tenant's
    /// write holds that tenant's lock and shares the writer lock with other
    /// tenants' writes; a write across tenants holds the writer lock alone,
    /// so it runs as on SQLite. Every write takes the writer lock first, so
    /// the locks cannot deadlock; reads never wait for them. Everything a
    /// tenant's write reads and changes is that tenant's (row-level
    /// security holds it there), so tenants in parallel never race.
    async fn write(
        &self,
        scope: impl Into<Tenancy>,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        match self.engine {
            Engine::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
            Engine::Postgres => {
                let scope = scope.into();
                let mut tx = self.pool.begin().await?;
                // One round trip: the tenant setting, then the locks.
                let lock = match scope {
                    Tenancy::AllTenants => sqlx::query(
                        "SELECT set_config('seatwarden.tenant', $1, true), pg_advisory_xact_lock($2)",
                    )
                    .bind(scope.setting())
                    .bind(WRITER_LOCK),
                    Tenancy::Tenant(tenant) => sqlx::query(
                        "SELECT set_config('seatwarden.tenant', $1, true), pg_advisory_xact_lock_shared($2),
                           pg_advisory_xact_lock(CAST($3 AS INTEGER), CAST($4 AS INTEGER))",
                    )
                    .bind(scope.setting())
                    .bind(WRITER_LOCK)
                    .bind(TENANT_WRITER_LOCKS)
                    .bind(tenant_lock_key(tenant)),
                };
                lock.execute(&mut *tx).await?;
                Ok(tx)
            }
        }
    }

    /// Runs one statement that writes, in `scope` and alone (see
    /// [`Storage::write`]), and commits it.
    async fn write_one<'q>(
        &self,
        scope: impl Into<Tenancy>,
        statement: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<sqlx::any::AnyQueryResult> {
        let mut tx = self.write(scope).await?;
        let done = statement.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Sets the transaction's tenant on PostgreSQL (`set_config(..., true)`
    /// is `SET LOCAL`: it ends with the transaction, so a pooled connection
    /// never carries it into the next one).
    async fn enter(&self, tx: &mut sqlx::AnyConnection, scope: Tenancy) -> Result<()> {
        if self.engine == Engine::Postgres {
            sqlx::query("SELECT set_config('seatwarden.tenant', $1, true)")
                .bind(scope.setting())
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// The newest applied schema migration.
    pub async fn schema_version(&self) -> Result<i64> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.pool)
                .await?;
        Ok(version.unwrap_or(0))
    }

    /// Finds or creates a tenant by name. A tenant that exists is only
    /// read: creating one is a write across tenants, which every tenant's
    /// writes wait for, and every host start asks for each tenant.
    pub async fn ensure_tenant(&self, name: &str, now: i64) -> Result<TenantId> {
        if let Some(tenant) = self.find_tenant(name).await? {
            return Ok(tenant);
        }
        self.write_one(
            Tenancy::AllTenants,
            sqlx::query(
                "INSERT INTO tenants (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(now),
        )
        .await?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *self.read(Tenancy::AllTenants).await?)
            .await?;
        Ok(TenantId(id))
    }

    /// Finds or creates a tenant's profile, recording the connector it uses.
    pub async fn ensure_profile(
        &self,
        tenant: TenantId,
        name: &str,
        connector: &ProfileConnector<'_>,
        now: i64,
    ) -> Result<ProfileId> {
        self.write_one(
            tenant,
            sqlx::query(
                "INSERT INTO profiles (tenant_id, name, connector_name, connector_version, connector_digest, base_url, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (tenant_id, name) DO UPDATE SET
                   connector_name = excluded.connector_name, connector_version = excluded.connector_version,
                   connector_digest = excluded.connector_digest, base_url = excluded.base_url",
            )
            .bind(tenant.0)
            .bind(name)
            .bind(connector.name)
            .bind(connector.version)
            .bind(connector.digest)
            .bind(connector.base_url)
            .bind(now),
        )
        .await?;
        Ok(self
            .find_profile(tenant, name)
            .await?
            .context("the profile row was just written")?)
    }

    /// A tenant's profile by name.
    pub async fn find_profile(&self, tenant: TenantId, name: &str) -> Result<Option<ProfileId>> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM profiles WHERE tenant_id = $1 AND name = $2")
                .bind(tenant.0)
                .bind(name)
                .fetch_optional(&mut *self.read(tenant).await?)
                .await?;
        Ok(id.map(|id| ProfileId { tenant, id }))
    }

    /// Resumes the stream's unfinished run, or starts a new one (see
    /// [`Storage::begin_attempt`]; recorded under this process's owner id).
    pub async fn begin_or_resume(
        &self,
        profile: ProfileId,
        stream: Stream,
        since_ms: Option<i64>,
        trigger: Trigger,
        now: i64,
    ) -> Result<RunState> {
        self.begin_attempt(
            profile,
            stream,
            since_ms,
            trigger,
            crate::owner::process_owner(),
            now,
        )
        .await
    }

    /// Starts an attempt at the stream's run: the unfinished run's next
    /// attempt, or a new run's first. Each attempt is its own job row, so
    /// an earlier attempt's failure stays in the history; the new one names
    /// the attempt it resumes. An earlier attempt still marked running (its
    /// process ended without a word) is recorded as interrupted. From here
    /// on only the new attempt may write the stream: the earlier one's
    /// writes fail with [`Superseded`].
    pub async fn begin_attempt(
        &self,
        profile: ProfileId,
        stream: Stream,
        since_ms: Option<i64>,
        trigger: Trigger,
        owner: &str,
        now: i64,
    ) -> Result<RunState> {
        let mut tx = self.write(profile).await?;
        let existing = sqlx::query(
            "SELECT c.run_id, COALESCE(c.listing_run, c.run_id) AS listing, c.cursor,
               CAST(c.exhausted AS INTEGER) AS exhausted, c.since_ms
             FROM sync_cursors c WHERE c.profile_id = $1 AND c.stream = $2",
        )
        .bind(profile.id)
        .bind(stream.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let previous: Option<i64> = existing.as_ref().map(|row| row.get("run_id"));
        let listing: Option<i64> = existing.as_ref().map(|row| row.get("listing"));
        if let Some(previous) = previous {
            sqlx::query(
                "UPDATE job_runs SET status = 'interrupted', error_kind = 'ended-unfinished',
                   detail = 'its process ended (or lost the profile''s lease) before the run finished'
                 WHERE id = $1 AND status = 'running'",
            )
            .bind(previous)
            .execute(&mut *tx)
            .await?;
        }
        let run_id: i64 = sqlx::query_scalar(
            "INSERT INTO job_runs (profile_id, kind, status, started_at, trigger_kind, resumes, listing_run, owner, profile_status)
             VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, (SELECT status FROM profiles WHERE id = $8)) RETURNING id",
        )
        .bind(profile.id)
        .bind(stream.job_kind().as_str())
        .bind(now)
        .bind(trigger.as_str())
        .bind(previous)
        .bind(listing)
        .bind(stored_text(owner))
        .bind(profile.id)
        .fetch_one(&mut *tx)
        .await?;
        let state = match (existing, listing) {
            (Some(row), Some(listing)) => {
                sqlx::query(
                    "UPDATE sync_cursors SET run_id = $1 WHERE profile_id = $2 AND stream = $3",
                )
                .bind(run_id)
                .bind(profile.id)
                .bind(stream.as_str())
                .execute(&mut *tx)
                .await?;
                // The run's pages so far, over all its attempts: the page
                // guard counts the listing, not the attempt.
                let (pages, items): (i64, i64) = sqlx::query_as(
                    "SELECT CAST(COALESCE(SUM(pages), 0) AS BIGINT), CAST(COALESCE(SUM(items), 0) AS BIGINT) FROM job_runs
                     WHERE id = $1 OR listing_run = $2",
                )
                .bind(listing)
                .bind(listing)
                .fetch_one(&mut *tx)
                .await?;
                RunState {
                    run_id,
                    cursor: row.get("cursor"),
                    exhausted: flag(&row, "exhausted"),
                    resumed: true,
                    pages,
                    items,
                    since_ms: row.get("since_ms"),
                }
            }
            _ => {
                sqlx::query(
                    "INSERT INTO sync_cursors (profile_id, stream, run_id, cursor, exhausted, since_ms, listing_run)
                     VALUES ($1, $2, $3, NULL, FALSE, $4, $5)",
                )
                .bind(profile.id)
                .bind(stream.as_str())
                .bind(run_id)
                .bind(since_ms)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
                RunState {
                    run_id,
                    cursor: None,
                    exhausted: false,
                    resumed: false,
                    pages: 0,
                    items: 0,
                    since_ms,
                }
            }
        };
        tx.commit().await?;
        Ok(state)
    }

    /// Stores one page of accounts and the cursor after it, atomically.
    /// Returns how many accounts were new and how many were already known.
    pub async fn upsert_accounts_page(
        &self,
        profile: ProfileId,
        run_id: i64,
        accounts: &[Account],
        next_cursor: Option<&str>,
        now: i64,
    ) -> Result<PageCounts> {
        self.upsert_accounts_pages(profile, run_id, &[accounts], next_cursor, now)
            .await
    }

    /// Stores consecutive pages of accounts and the cursor after the last
    /// one in one transaction: a commit costs more than a hundred rows, and
    /// last-activity values land all over the idle-accounts index, so fewer,
    /// larger commits write far fewer pages (see BENCHMARKS.md, Storage).
    pub async fn upsert_accounts_pages(
        &self,
        profile: ProfileId,
        run_id: i64,
        pages: &[&[Account]],
        next_cursor: Option<&str>,
        now: i64,
    ) -> Result<PageCounts> {
        // A vendor that repeats an account, within a page or across pages:
        // the last copy wins (one multi-row upsert may not touch the same row
        // twice).
        let total: usize = pages.iter().map(|page| page.len()).sum();
        let mut seen = std::collections::HashSet::with_capacity(total);
        let unique: Vec<&Account> = pages
            .iter()
            .rev()
            .flat_map(|page| page.iter().rev())
            .filter(|a| seen.insert(a.id.as_str()))
            .collect();
        let mut counts = PageCounts::default();
        let mut tx = self.write(profile).await?;
        let listing = listing_of(&mut tx, profile, Stream::Users, run_id).await?;
        // One statement per chunk instead of one per account: each statement
        // is a round trip to sqlx's SQLite worker thread.
        for chunk in unique.chunks(UPSERT_CHUNK) {
            let mut rows = Vec::with_capacity(chunk.len());
            for account in chunk {
                rows.push((
                    account,
                    serde_json::to_string(&account.subscriptions)?,
                    serde_json::to_string(&account.attributes)?,
                ));
            }
            let mut query = Statement::new(
                self.engine,
                "INSERT INTO subscriptions (profile_id, account_id, principal, display_name, active, identifiers, attributes,
                     created_at, last_active_at, last_active_source, first_seen_at, last_seen_at, last_seen_run, gone_at, first_seen_run) VALUES ",
            );
            for (n, (account, identifiers, attributes)) in rows.into_iter().enumerate() {
                query.push_row(n == 0, |row| {
                    row.bind(profile.id)
                        .bind(account.id.clone())
                        .bind(account.principal.clone())
                        .bind(account.display_name.clone())
                        .bind(account.active)
                        .bind(identifiers)
                        .bind(attributes)
                        .bind(account.created_at)
                        .bind(account.last_active_at)
                        .bind(account.last_active_at.map(|_| "vendor:account"))
                        .bind(now)
                        .bind(now)
                        .bind(listing)
                        .bind(None::<i64>)
                        .bind(listing);
                });
            }
            query.push(
                " ON CONFLICT (profile_id, account_id) DO UPDATE SET
                   principal = excluded.principal, display_name = excluded.display_name, active = excluded.active,
                   reactivated_at = CASE WHEN excluded.active AND NOT subscriptions.active
                     THEN excluded.last_seen_at ELSE subscriptions.reactivated_at END,
                   identifiers = excluded.identifiers, attributes = excluded.attributes,
                   created_at = COALESCE(excluded.created_at, subscriptions.created_at),
                   last_active_source = CASE
                     WHEN excluded.last_active_at IS NOT NULL
                      AND (subscriptions.last_active_at IS NULL OR excluded.last_active_at > subscriptions.last_active_at)
                     THEN excluded.last_active_source ELSE subscriptions.last_active_source END,
                   last_active_at = CASE
                     WHEN excluded.last_active_at IS NOT NULL
                      AND (subscriptions.last_active_at IS NULL OR excluded.last_active_at > subscriptions.last_active_at)
                     THEN excluded.last_active_at ELSE subscriptions.last_active_at END,
                   last_seen_at = excluded.last_seen_at, last_seen_run = excluded.last_seen_run, gone_at = NULL
                 RETURNING first_seen_run",
            );
            let first_seen: Vec<i64> = query.build_scalar().fetch_all(&mut *tx).await?;
            let new = first_seen.iter().filter(|run| **run == listing).count() as i64;
            counts.created += new;
            counts.updated += first_seen.len() as i64 - new;
        }
        let stored = Stored {
            pages: pages.len(),
            items: total,
            counts,
        };
        advance(&mut tx, profile, Stream::Users, run_id, next_cursor, stored).await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// Closes a users run: accounts not seen in it are marked gone.
    /// Returns how many were newly marked.
    pub async fn finish_users_run(&self, profile: ProfileId, run_id: i64, now: i64) -> Result<u64> {
        self.finish_users_run_noting(profile, run_id, now, None)
            .await
    }

    /// Closes a users run like [`Storage::finish_users_run`], unless it
    /// would mark more than `guard.max_percent` of the profile's live
    /// accounts gone: then nothing is marked, the run is recorded as failed
    /// (`suspect-listing`) with the digest of the accounts it missed, and
    /// the next sync lists from the start. A later run that misses exactly
    /// the same accounts confirms it, as does `guard.accept`. `note` goes
    /// into the job's result (e.g. what the sync set aside as implausible).
    pub async fn finish_users_run_guarded(
        &self,
        profile: ProfileId,
        run_id: i64,
        now: i64,
        note: Option<String>,
        guard: GoneGuard,
    ) -> Result<UsersRunEnd> {
        let mut tx = self.write(profile).await?;
        let listing = listing_of(&mut tx, profile, Stream::Users, run_id).await?;
        // Accounts this very run introduced do not count: a listing padded
        // with invented accounts must not dilute the share it removes.
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM subscriptions
             WHERE profile_id = $1 AND gone_at IS NULL AND first_seen_run <> $2",
        )
        .bind(profile.id)
        .bind(listing)
        .fetch_one(&mut *tx)
        .await?;
        let missing: Vec<String> = sqlx::query_scalar(
            "SELECT account_id FROM subscriptions
             WHERE profile_id = $1 AND last_seen_run <> $2 AND gone_at IS NULL ORDER BY account_id",
        )
        .bind(profile.id)
        .bind(listing)
        .fetch_all(&mut *tx)
        .await?;
        let share_exceeded = (missing.len() as i64) * 100 > live * i64::from(guard.max_percent);
        if !missing.is_empty() && share_exceeded {
            let digest = missing_digest(&missing);
            let previous = sqlx::query(
                "SELECT held_gone_digest, held_gone_count FROM job_runs
                 WHERE profile_id = $1 AND id < $2 AND kind = (SELECT kind FROM job_runs WHERE id = $3)
                   AND COALESCE(listing_run, id) <> $4
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(profile.id)
            .bind(run_id)
            .bind(run_id)
            .bind(listing)
            .fetch_optional(&mut *tx)
            .await?;
            let (held_digest, held_count): (Option<String>, Option<i64>) = previous
                .map(|row| (row.get(0), row.get(1)))
                .unwrap_or_default();
            // A later run agrees when it misses the very same accounts. The
            // operator's confirmation covers what they were shown: no more
            // accounts than the held run would have marked.
            let agrees = held_digest.as_deref() == Some(digest.as_str());
            let confirmed =
                guard.accept && held_count.is_some_and(|held| missing.len() as i64 <= held);
            if !agrees && !confirmed {
                let held = HeldListing {
                    missing: missing.len() as u64,
                    live: live as u64,
                    max_percent: guard.max_percent,
                };
                sqlx::query("DELETE FROM sync_cursors WHERE profile_id = $1 AND stream = $2")
                    .bind(profile.id)
                    .bind(Stream::Users.as_str())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE job_runs SET status = 'failed', error_kind = 'suspect-listing', finished_at = $1,
                       detail = $2, held_gone_digest = $3, held_gone_count = $4 WHERE id = $5",
                )
                .bind(now)
                .bind(held.to_string())
                .bind(&digest)
                .bind(held.missing as i64)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                return Ok(UsersRunEnd::Held(held));
            }
        }
        let gone = self
            .mark_gone_and_finish(&mut tx, profile, run_id, listing, now, note)
            .await?;
        tx.commit().await?;
        Ok(UsersRunEnd::Finished { gone })
    }

    /// [`Storage::finish_users_run`], with a note for the job's result
    /// (e.g. what the sync set aside as implausible).
    pub async fn finish_users_run_noting(
        &self,
        profile: ProfileId,
        run_id: i64,
        now: i64,
        note: Option<String>,
    ) -> Result<u64> {
        let mut tx = self.write(profile).await?;
        let listing = listing_of(&mut tx, profile, Stream::Users, run_id).await?;
        let gone = self
            .mark_gone_and_finish(&mut tx, profile, run_id, listing, now, note)
            .await?;
        tx.commit().await?;
        Ok(gone)
    }

    async fn mark_gone_and_finish(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        profile: ProfileId,
        run_id: i64,
        listing: i64,
        now: i64,
        note: Option<String>,
    ) -> Result<u64> {
        let gone = sqlx::query(
            "UPDATE subscriptions SET gone_at = $1 WHERE profile_id = $2 AND last_seen_run <> $3 AND gone_at IS NULL",
        )
        .bind(now)
        .bind(profile.id)
        .bind(listing)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE job_runs SET gone = $1 WHERE id = $2")
            .bind(gone as i64)
            .bind(run_id)
            .execute(&mut **tx)
            .await?;
        finish_run(
            tx,
            profile,
            Stream::Users,
            run_id,
            now,
            Some(match note {
                Some(note) => format!("{gone} accounts gone; {note}"),
                None => format!("{gone} accounts gone"),
            }),
        )
        .await?;
        Ok(gone)
    }

    /// Where the next activity pull starts, if one ran before.
    pub async fn activity_since(&self, profile: ProfileId) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT since_ms FROM activity_watermarks WHERE profile_id = $1")
                .bind(profile.id)
                .fetch_optional(&mut *self.read(profile).await?)
                .await?,
        )
    }

    /// Applies one page of activity (newest event per account wins) and
    /// stores the cursor after it, atomically. Returns how many accounts
    /// got a newer last activity.
    pub async fn apply_activity_page(
        &self,
        profile: ProfileId,
        run_id: i64,
        events: &[Activity],
        next_cursor: Option<&str>,
    ) -> Result<u64> {
        self.apply_activity_pages(profile, run_id, &[events], next_cursor)
            .await
    }

    /// Applies consecutive pages of activity and stores the cursor after
    /// the last one in one transaction (why: see
    /// [`Storage::upsert_accounts_pages`]).
    pub async fn apply_activity_pages(
        &self,
        profile: ProfileId,
        run_id: i64,
        pages: &[&[Activity]],
        next_cursor: Option<&str>,
    ) -> Result<u64> {
        let mut newest: HashMap<&str, &Activity> = HashMap::new();
        for event in pages.iter().flat_map(|page| page.iter()) {
            let entry = newest.entry(event.account_id.as_str()).or_insert(event);
            if event.at > entry.at {
                *entry = event;
            }
        }
        let mut tx = self.write(profile).await?;
        listing_of(&mut tx, profile, Stream::Activity, run_id).await?;
        // One statement per chunk of accounts, not one per account: on
        // PostgreSQL each statement is a round trip, and a sync of a million
        // sign-ins over 50,000 people made a million of them (BENCHMARKS.md).
        // `UPDATE … FROM (VALUES …)` is the same SQL on both engines; each
        // account appears once (`newest`), so each row is updated once.
        let newest: Vec<&Activity> = newest.into_values().collect();
        let mut updated = 0;
        for chunk in newest.chunks(ACTIVITY_CHUNK) {
            let mut query = Statement::new(
                self.engine,
                "UPDATE subscriptions SET last_active_at = v.column2, last_active_source = v.column3
                 FROM (VALUES ",
            );
            for (n, event) in chunk.iter().enumerate() {
                query.push_row(n == 0, |row| {
                    row.bind(event.account_id.clone())
                        .bind(event.at)
                        .bind(format!("activity:{}", event.kind));
                });
            }
            query.push(") AS v WHERE subscriptions.profile_id = ");
            query.push_bind(profile.id);
            query.push(
                " AND subscriptions.account_id = v.column1
                  AND (subscriptions.last_active_at IS NULL OR subscriptions.last_active_at < v.column2)",
            );
            updated += query.build().execute(&mut *tx).await?.rows_affected();
        }
        let stored = Stored {
            pages: pages.len(),
            items: pages.iter().map(|page| page.len()).sum(),
            counts: PageCounts::default(),
        };
        advance(
            &mut tx,
            profile,
            Stream::Activity,
            run_id,
            next_cursor,
            stored,
        )
        .await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Closes an activity run and moves the watermark to `next_since`.
    pub async fn finish_activity_run(
        &self,
        profile: ProfileId,
        run_id: i64,
        next_since: i64,
        now: i64,
        detail: Option<String>,
    ) -> Result<()> {
        let mut tx = self.write(profile).await?;
        listing_of(&mut tx, profile, Stream::Activity, run_id).await?;
        sqlx::query(
            "INSERT INTO activity_watermarks (profile_id, since_ms) VALUES ($1, $2)
             ON CONFLICT (profile_id) DO UPDATE SET since_ms = excluded.since_ms",
        )
        .bind(profile.id)
        .bind(next_since)
        .execute(&mut *tx)
        .await?;
        finish_run(&mut tx, profile, Stream::Activity, run_id, now, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets a stream's unfinished run, so the next sync starts a fresh
    /// listing (after a runaway run, whose cursor would only loop again).
    pub async fn abandon_cursor(&self, profile: ProfileId, stream: Stream) -> Result<()> {
        self.write_one(
            profile,
            sqlx::query("DELETE FROM sync_cursors WHERE profile_id = $1 AND stream = $2")
                .bind(profile.id)
                .bind(stream.as_str()),
        )
        .await?;
        Ok(())
    }

    /// Marks a run failed (or `interrupted` by a shutdown), keeping its
    /// cursor so the next sync resumes.
    pub async fn fail_run(
        &self,
        profile: ProfileId,
        run_id: i64,
        now: i64,
        outcome: RunOutcome,
        error_kind: Option<&str>,
        error: &str,
    ) -> Result<()> {
        let status = match outcome {
            RunOutcome::Failed => "failed",
            RunOutcome::Interrupted => "interrupted",
        };
        self.write_one(
            profile,
            sqlx::query(
                "UPDATE job_runs SET status = $1, finished_at = $2, error_kind = $3, detail = $4 WHERE id = $5 AND profile_id = $6",
            )
            .bind(status)
            .bind(now)
            .bind(error_kind)
            .bind(stored_text(error))
            .bind(run_id)
            .bind(profile.id),
        )
        .await?;
        Ok(())
    }

    /// Records a one-shot job (e.g. a deactivation) with its outcome.
    pub async fn record_job(&self, profile: ProfileId, job: &OneShotJob<'_>) -> Result<i64> {
        let mut tx = self.write(profile).await?;
        let id = sqlx::query_scalar(
            "INSERT INTO job_runs (profile_id, kind, status, started_at, finished_at, pages, items, detail, trigger_kind, error_kind, owner, profile_status)
             VALUES ($1, $2, $3, $4, $5, 0, 1, $6, $7, $8, $9, (SELECT status FROM profiles WHERE id = $10)) RETURNING id",
        )
        .bind(profile.id)
        .bind(job.kind.as_str())
        .bind(if job.error_kind.is_some() { "failed" } else { "succeeded" })
        .bind(job.started_at)
        .bind(job.finished_at)
        .bind(stored_text(job.detail))
        .bind(job.trigger.as_str())
        .bind(job.error_kind)
        .bind(crate::owner::process_owner())
        .bind(profile.id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Sets the stored active flag after a vendor write succeeded.
    pub async fn set_active(
        &self,
        profile: ProfileId,
        account_id: &str,
        active: bool,
    ) -> Result<bool> {
        let changed = self.write_one(
            profile,
            sqlx::query(
                "UPDATE subscriptions SET active = $1 WHERE profile_id = $2 AND account_id = $3",
            )
            .bind(active)
            .bind(profile.id)
            .bind(account_id),
        )
        .await?
        .rows_affected();
        Ok(changed > 0)
    }

    /// Finds a stored account by id or principal.
    /// Refuses, naming the candidates, when more than one account matches
    /// (one's id is another's principal, or a principal is shared): an
    /// operator's command must never act on whichever row came first.
    pub async fn find_subscription(
        &self,
        profile: ProfileId,
        account: &str,
    ) -> Result<Option<StoredSubscription>> {
        let rows = sqlx::query(
            sqlx::AssertSqlSafe(format!(
            "{SUBSCRIPTION_COLUMNS} FROM subscriptions s WHERE profile_id = $1 AND (account_id = $2 OR principal = $3) LIMIT 3"
        )),
        )
            .bind(profile.id)
            .bind(account)
            .bind(account)
            .fetch_all(&mut *self.read(profile).await?)
            .await?;
        let mut found = rows
            .iter()
            .map(subscription_from_row)
            .collect::<Result<Vec<_>>>()?;
        if found.len() > 1 {
            let ids: Vec<String> = found
                .iter()
                .map(|s| format!("{} ({})", s.account_id, s.principal))
                .collect();
            return Err(anyhow::anyhow!(
                "{account:?} matches more than one account: {}; give the account id of the one you mean",
                ids.join(", ")
            ).into());
        }
        Ok(found.pop())
    }

    /// Every stored subscription of a profile, gone ones included, by principal.
    pub async fn subscriptions(&self, profile: ProfileId) -> Result<Vec<StoredSubscription>> {
        let rows = sqlx::query(
            sqlx::AssertSqlSafe(format!(
            "{SUBSCRIPTION_COLUMNS} FROM subscriptions s WHERE profile_id = $1 ORDER BY principal, account_id"
        )),
        )
            .bind(profile.id)
            .fetch_all(&mut *self.read(profile).await?)
            .await?;
        rows.iter().map(subscription_from_row).collect()
    }

    /// The principals of a profile's accounts that are still there (not
    /// gone), without the rest of each row: what the identity-provider
    /// overlay's count of unmatched people needs.
    pub async fn live_principals(&self, profile: ProfileId) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT principal FROM subscriptions WHERE profile_id = $1 AND gone_at IS NULL",
        )
        .bind(profile.id)
        .fetch_all(&mut *self.read(profile).await?)
        .await?;
        rows.iter()
            .map(|row| row.try_get::<String, _>(0).map_err(Into::into))
            .collect()
    }

    /// A profile's job runs, newest first.
    pub async fn job_runs(&self, profile: ProfileId) -> Result<Vec<JobRun>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{JOB_RUN_COLUMNS} WHERE j.profile_id = $1 ORDER BY j.id DESC"
        )))
        .bind(profile.id)
        .fetch_all(&mut *self.read(profile).await?)
        .await?;
        let now = (self.now)();
        Ok(rows.iter().map(|r| job_run_from_row(r, now)).collect())
    }

    /// A profile's newest run of one kind.
    pub async fn latest_job_run(
        &self,
        profile: ProfileId,
        kind: JobKind,
    ) -> Result<Option<JobRun>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{JOB_RUN_COLUMNS} WHERE j.profile_id = $1 AND j.kind = $2 ORDER BY j.id DESC LIMIT 1"
        )))
        .bind(profile.id)
        .bind(kind.as_str())
        .fetch_optional(&mut *self.read(profile).await?)
        .await?;
        Ok(row.as_ref().map(|r| job_run_from_row(r, (self.now)())))
    }

    /// How many of a profile's accounts are active and still at the vendor.
    pub async fn active_account_count(&self, profile: ProfileId) -> Result<usize> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM subscriptions WHERE profile_id = $1 AND active = TRUE AND gone_at IS NULL",
        )
        .bind(profile.id)
        .fetch_one(&mut *self.read(profile).await?)
        .await?;
        Ok(usize::try_from(count).unwrap_or(0))
    }
}

/// A boolean column, selected as `CAST(column AS INTEGER)`: the `Any`
/// driver reads no SQLite column declared `BOOLEAN`, and an integer reads
/// the same from both engines.
pub(crate) fn flag(row: &sqlx::any::AnyRow, column: &str) -> bool {
    row.get::<i64, _>(column) != 0
}

/// The columns `subscription_from_row` reads, from `subscriptions s`.
pub(crate) const SUBSCRIPTION_COLUMNS: &str =
    "SELECT s.account_id, s.principal, s.display_name, CAST(s.active AS INTEGER) AS active, s.identifiers, s.attributes,
        s.created_at, s.last_active_at, s.last_active_source, s.first_seen_at, s.last_seen_at,
        s.gone_at, s.reactivated_at";

pub(crate) const JOB_RUN_COLUMNS: &str =
    "SELECT j.id, p.name AS profile, j.kind, j.trigger_kind, j.status, j.started_at, j.finished_at,
        j.pages, j.items, j.created, j.updated, j.gone, j.error_kind, j.detail,
        j.resumes, j.owner, j.profile_status, l.owner AS lease_owner, l.expires_at AS lease_expires
     FROM job_runs j JOIN profiles p ON p.id = j.profile_id
     LEFT JOIN profile_leases l ON l.profile_id = j.profile_id";

/// What a run marked running is shown as: running only while a live
/// process holds the profile's lease for it. A run whose process was
/// killed (or lost the lease) stays marked running in its row until the
/// next attempt records it; until then it is shown as interrupted.
fn shown_status(r: &sqlx::any::AnyRow, now: i64) -> (String, Option<String>, Option<String>) {
    let status: String = r.get("status");
    let error_kind: Option<String> = r.get("error_kind");
    let detail: Option<String> = r.get("detail");
    if status != "running" {
        return (status, error_kind, detail);
    }
    let owner: Option<String> = r.get("owner");
    let lease_owner: Option<String> = r.get("lease_owner");
    let lease_expires: Option<i64> = r.get("lease_expires");
    let held = match (&lease_owner, lease_expires) {
        (Some(holder), Some(until)) => {
            until > now
                && owner.as_ref().is_none_or(|owner| owner == holder)
                && !crate::owner::owner_is_dead(holder)
        }
        _ => false,
    };
    if held {
        return (status, error_kind, detail);
    }
    (
        "interrupted".into(),
        Some("ended-unfinished".into()),
        Some(detail.unwrap_or_else(|| {
            "its process ended (or lost the profile's lease) before the run finished; the next sync resumes it".into()
        })),
    )
}

pub(crate) fn job_run_from_row(r: &sqlx::any::AnyRow, now: i64) -> JobRun {
    let (status, error_kind, detail) = shown_status(r, now);
    JobRun {
        id: r.get("id"),
        profile: r.get("profile"),
        kind: r.get("kind"),
        trigger: r.get("trigger_kind"),
        status,
        started_at: r.get("started_at"),
        finished_at: r.get("finished_at"),
        pages: r.get("pages"),
        items: r.get("items"),
        created: r.get("created"),
        updated: r.get("updated"),
        gone: r.get("gone"),
        error_kind,
        detail,
        resumes: r.get("resumes"),
        owner: r.get("owner"),
        profile_status: r.get("profile_status"),
    }
}

pub(crate) fn subscription_from_row(row: &sqlx::any::AnyRow) -> Result<StoredSubscription> {
    Ok(StoredSubscription {
        account_id: row.get("account_id"),
        principal: row.get("principal"),
        display_name: row.get("display_name"),
        active: flag(row, "active"),
        identifiers: serde_json::from_str(row.get("identifiers")).context("stored identifiers")?,
        attributes: serde_json::from_str(row.get("attributes")).context("stored attributes")?,
        created_at: row.get("created_at"),
        last_active_at: row.get("last_active_at"),
        last_active_source: row.get("last_active_source"),
        first_seen_at: row.get("first_seen_at"),
        last_seen_at: row.get("last_seen_at"),
        gone_at: row.get("gone_at"),
        reactivated_at: row.get("reactivated_at"),
    })
}

/// What one write added to a run.
struct Stored {
    pages: usize,
    items: usize,
    counts: PageCounts,
}

/// A sync attempt that may no longer write its stream: another attempt
/// resumed the run (this process was paused past its lease, or lost it), or
/// the run was closed.
#[derive(Debug, thiserror::Error)]
#[error(
    "run #{attempt} may no longer write the {stream} stream: {}; nothing of this write was stored",
    match .current { Some(current) => format!("run #{current} resumed it"), None => "the run was closed".to_string() }
)]
pub struct Superseded {
    /// The job row of the attempt whose write was refused.
    pub attempt: i64,
    /// The stream it tried to write: `users` or `activity`.
    pub stream: &'static str,
    /// The attempt that now owns the stream; `None` when the run was closed.
    pub current: Option<i64>,
}

/// The listing (first attempt) of the run whose current attempt is
/// `run_id`, or [`Superseded`] when `run_id` is not the stream's current
/// attempt. Called first in every write of a sync, inside its transaction.
async fn listing_of(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    profile: ProfileId,
    stream: Stream,
    run_id: i64,
) -> Result<i64> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT run_id, COALESCE(listing_run, run_id) FROM sync_cursors WHERE profile_id = $1 AND stream = $2",
    )
    .bind(profile.id)
    .bind(stream.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some((current, listing)) if current == run_id => Ok(listing),
        other => Err(Superseded {
            attempt: run_id,
            stream: stream.as_str(),
            current: other.map(|(current, _)| current),
        }
        .into()),
    }
}

async fn advance(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    profile: ProfileId,
    stream: Stream,
    run_id: i64,
    next_cursor: Option<&str>,
    stored: Stored,
) -> Result<()> {
    sqlx::query("UPDATE sync_cursors SET cursor = $1, exhausted = $2 WHERE profile_id = $3 AND stream = $4 AND run_id = $5")
        .bind(next_cursor)
        .bind(next_cursor.is_none())
        .bind(profile.id)
        .bind(stream.as_str())
        .bind(run_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE job_runs SET pages = pages + $1, items = items + $2, created = created + $3, updated = updated + $4 WHERE id = $5",
    )
    .bind(stored.pages as i64)
    .bind(stored.items as i64)
    .bind(stored.counts.created)
    .bind(stored.counts.updated)
    .bind(run_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn finish_run(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    profile: ProfileId,
    stream: Stream,
    run_id: i64,
    now: i64,
    detail: Option<String>,
) -> Result<()> {
    sqlx::query("DELETE FROM sync_cursors WHERE profile_id = $1 AND stream = $2")
        .bind(profile.id)
        .bind(stream.as_str())
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE job_runs SET status = 'succeeded', finished_at = $1, detail = $2 WHERE id = $3",
    )
    .bind(now)
    .bind(detail)
    .bind(run_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
