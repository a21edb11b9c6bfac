//! What the API returns: its own types, decoupled from the store's.
//!
//! The store's rows carry ids, hashes and internal states the API does not
//! promise; these are the published shapes (their JSON Schema is in the
//! OpenAPI document), built from the store's types in one place. Times are
//! RFC 3339 strings in UTC.

use seatwarden_store::{
    AuditEntry, Candidate, JobRun, ListedSubscription, ProfileRecord, TenantInfo, TokenInfo,
};
use serde::Serialize;
use utoipa::ToSchema;

/// An epoch-milliseconds time as RFC 3339 (UTC).
pub fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| ms.to_string())
}

fn opt_time(ms: Option<i64>) -> Option<String> {
    ms.map(time)
}

/// A tenant.
#[derive(Serialize, ToSchema)]
pub struct TenantView {
    /// Its unique name.
    pub name: String,
    /// `file` (named in a configuration file) or `api` (created over the API).
    pub source: String,
    /// When it was created.
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<TenantInfo> for TenantView {
    fn from(t: TenantInfo) -> TenantView {
        TenantView {
            name: t.name,
            source: t.source,
            created_at: time(t.created_at),
        }
    }
}

/// An API token, without its secret.
#[derive(Serialize, ToSchema)]
pub struct TokenView {
    /// Its id.
    pub id: i64,
    /// The tenant it acts for; null for an operator token.
    pub tenant: Option<String>,
    /// What it is for.
    pub name: String,
    /// `read`, `operate`, `admin` or `operator`.
    pub scope: String,
    /// When it was made.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Who made it.
    pub created_by: String,
    /// When it last authenticated a request (to the minute).
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    /// When it was revoked.
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
}

impl From<TokenInfo> for TokenView {
    fn from(t: TokenInfo) -> TokenView {
        TokenView {
            id: t.id,
            tenant: t.tenant,
            name: t.name,
            scope: t.scope.to_string(),
            created_at: time(t.created_at),
            created_by: t.created_by,
            last_used_at: opt_time(t.last_used_at),
            revoked_at: opt_time(t.revoked_at),
        }
    }
}

/// A token just made. `token` is shown this once and never stored.
#[derive(Serialize, ToSchema)]
pub struct IssuedTokenView {
    /// The token's id.
    pub id: i64,
    /// The whole token, for `Authorization: Bearer`.
    pub token: String,
    /// Its scope.
    pub scope: String,
}

/// The connector a profile was last loaded with.
#[derive(Serialize, ToSchema)]
pub struct ConnectorView {
    /// Its name, from its descriptor.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The hex sha256 of the component.
    pub digest: String,
    /// The base URL its connection resolved to.
    pub base_url: String,
}

/// A profile's last validation.
#[derive(Serialize, ToSchema)]
pub struct ValidationView {
    /// When it ran.
    #[schema(format = DateTime)]
    pub at: String,
    /// Whether it passed.
    pub passed: bool,
    /// What the connector reported, or why it failed.
    pub detail: String,
}

/// An integration profile.
#[derive(Serialize, ToSchema)]
pub struct ProfileView {
    /// Its name, unique in the tenant.
    pub name: String,
    /// `draft` or `published`.
    pub status: String,
    /// The connection it uses.
    pub connection: String,
    /// Whether it downloads activity.
    pub download_activity: bool,
    /// Whether it deactivates reclaimed accounts (otherwise it reports only).
    pub reclaim: bool,
    /// The subscriptions job's cron schedule, if not the scheduler's default.
    pub subscriptions_schedule: Option<String>,
    /// The activity job's cron schedule, if not the scheduler's default.
    pub activity_schedule: Option<String>,
    /// The connector it was last loaded with.
    pub connector: ConnectorView,
    /// Its last validation, if any.
    pub validation: Option<ValidationView>,
    /// When it was last published.
    #[schema(format = DateTime)]
    pub published_at: Option<String>,
    /// When it was created.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Where it was made: `config` (the file; change it there), `cli` or
    /// `api`; absent for profiles older than this field.
    pub source: Option<String>,
}

impl From<ProfileRecord> for ProfileView {
    fn from(p: ProfileRecord) -> ProfileView {
        ProfileView {
            name: p.name,
            status: p.status.as_str().to_string(),
            connection: p.settings.connection,
            download_activity: p.settings.download_activity,
            reclaim: p.settings.reclaim,
            subscriptions_schedule: p.settings.subscriptions_cron,
            activity_schedule: p.settings.activity_cron,
            connector: ConnectorView {
                name: p.connector.name,
                version: p.connector.version,
                digest: p.connector.digest,
                base_url: p.connector.base_url,
            },
            validation: p.validation.map(|v| ValidationView {
                at: time(v.at),
                passed: v.passed,
                detail: v.detail,
            }),
            published_at: opt_time(p.published_at),
            created_at: time(p.created_at),
            source: p.source.map(|s| s.as_str().to_string()),
        }
    }
}

/// One account's subscriptions at the vendor, as last downloaded.
#[derive(Serialize, ToSchema)]
pub struct SubscriptionView {
    /// The profile it was downloaded by.
    pub profile: String,
    /// The vendor's id of the account.
    pub account_id: String,
    /// Its e-mail or other principal.
    pub principal: String,
    /// Its display name, if the vendor gives one.
    pub display_name: Option<String>,
    /// `active`, `inactive` (deactivated at the vendor) or `gone` (no longer listed).
    pub state: String,
    /// The subscription (licence, seat type) identifiers it consumes.
    pub identifiers: Vec<String>,
    /// When it was last active, if known.
    #[schema(format = DateTime)]
    pub last_active_at: Option<String>,
    /// Which signal set `last_active_at`, e.g. `vendor:account`.
    pub last_active_source: Option<String>,
    /// When the vendor says it was created.
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
    /// When Seatwarden first saw it.
    #[schema(format = DateTime)]
    pub first_seen_at: String,
    /// When it left the vendor's listing, if it did.
    #[schema(format = DateTime)]
    pub gone_at: Option<String>,
}

impl From<ListedSubscription> for SubscriptionView {
    fn from(listed: ListedSubscription) -> SubscriptionView {
        let s = listed.subscription;
        let state = if s.gone_at.is_some() {
            "gone"
        } else if s.active {
            "active"
        } else {
            "inactive"
        };
        SubscriptionView {
            profile: listed.profile,
            account_id: s.account_id,
            principal: s.principal,
            display_name: s.display_name,
            state: state.into(),
            identifiers: s.identifiers,
            last_active_at: opt_time(s.last_active_at),
            last_active_source: s.last_active_source,
            created_at: opt_time(s.created_at),
            first_seen_at: time(s.first_seen_at),
            gone_at: opt_time(s.gone_at),
        }
    }
}

/// A removal candidate with the evidence that made it.
#[derive(Serialize, ToSchema)]
pub struct CandidateView {
    /// Its id.
    pub id: i64,
    /// Its profile.
    pub profile: String,
    /// The vendor's id of the account it would reclaim.
    pub account_id: String,
    /// The account's principal.
    pub principal: String,
    /// Where it stands, e.g. `ready`, `awaiting-approval`, `closed-complete`.
    pub state: String,
    /// `stale` or `never-logged-in`.
    pub reason: String,
    /// Why, in words: days without activity against the rule's threshold, and which signal set the last activity.
    pub explanation: String,
    /// Days without activity when opened (for `never-logged-in`, the account's age).
    pub days_inactive: i64,
    /// The rule's threshold in days.
    pub threshold_days: i64,
    /// The last activity it was judged on.
    #[schema(format = DateTime)]
    pub last_active_at: Option<String>,
    /// Which signal set that activity.
    pub last_active_source: Option<String>,
    /// When it was opened.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it last changed.
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// When it closed, if it did.
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    /// Why it last changed state.
    pub close_reason: Option<String>,
    /// When the account was deactivated at the vendor.
    #[schema(format = DateTime)]
    pub deactivated_at: Option<String>,
    /// When the reclamation was undone.
    #[schema(format = DateTime)]
    pub reactivated_at: Option<String>,
}

impl CandidateView {
    /// The candidate of `profile` as the API shows it.
    pub fn new(profile: String, c: Candidate) -> CandidateView {
        let source = c.last_active_source.as_deref().unwrap_or("no signal");
        let explanation = match c.reason.as_str() {
            "never-logged-in" => format!(
                "never logged in, {} days after the account was created (threshold {} days)",
                c.days_inactive, c.threshold_days
            ),
            _ => format!(
                "no activity for {} days (threshold {} days); last activity set by {source}",
                c.days_inactive, c.threshold_days
            ),
        };
        CandidateView {
            id: c.id,
            profile,
            account_id: c.account_id,
            principal: c.principal,
            state: c.state.as_str().to_string(),
            reason: c.reason,
            explanation,
            days_inactive: c.days_inactive,
            threshold_days: c.threshold_days,
            last_active_at: opt_time(c.last_active_at),
            last_active_source: c.last_active_source,
            created_at: time(c.created_at),
            updated_at: time(c.updated_at),
            closed_at: opt_time(c.closed_at),
            close_reason: c.close_reason,
            deactivated_at: opt_time(c.deactivated_at),
            reactivated_at: opt_time(c.reactivated_at),
        }
    }
}

/// A job run.
#[derive(Serialize, ToSchema)]
pub struct JobView {
    /// Its id.
    pub id: i64,
    /// Its profile.
    pub profile: String,
    /// What ran, e.g. `subscriptions`, `activity`, `deactivate`.
    pub kind: String,
    /// `schedule` or `manual`.
    pub trigger: String,
    /// `running`, `succeeded`, `failed` or `interrupted`.
    pub status: String,
    /// When it started.
    #[schema(format = DateTime)]
    pub started_at: String,
    /// When it ended.
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
    /// Pages stored.
    pub pages: i64,
    /// Accounts or events read.
    pub items: i64,
    /// The typed error, when it failed.
    pub error_kind: Option<String>,
    /// What it did, or why it failed.
    pub detail: Option<String>,
}

impl From<JobRun> for JobView {
    fn from(j: JobRun) -> JobView {
        JobView {
            id: j.id,
            profile: j.profile,
            kind: j.kind,
            trigger: j.trigger,
            status: j.status,
            started_at: time(j.started_at),
            finished_at: opt_time(j.finished_at),
            pages: j.pages,
            items: j.items,
            error_kind: j.error_kind,
            detail: j.detail,
        }
    }
}

/// An audit entry, with the hashes that chain it.
#[derive(Serialize, ToSchema)]
pub struct AuditView {
    /// Its id; ids grow in the order entries were appended.
    pub id: i64,
    /// The profile it concerns, if any.
    pub profile: Option<String>,
    /// When.
    #[schema(format = DateTime)]
    pub at: String,
    /// Who acted, e.g. `cli:alice`, `scheduler`, `api:token:3:ci`.
    pub actor: String,
    /// What was done, e.g. `candidate.decide`.
    pub action: String,
    /// What happened, in words.
    pub detail: String,
    /// The hash of the entry before it.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl From<AuditEntry> for AuditView {
    fn from(a: AuditEntry) -> AuditView {
        AuditView {
            id: a.id,
            profile: a.profile,
            at: time(a.at),
            actor: a.actor,
            action: a.action,
            detail: a.detail,
            prev_hash: a.prev_hash,
            hash: a.hash,
        }
    }
}

/// The result of checking the audit chain.
#[derive(Serialize, ToSchema)]
pub struct AuditCheckView {
    /// Whether every entry links to the one before it and hashes to what it says.
    pub intact: bool,
    /// How many entries were checked (intact chains).
    pub entries: Option<u64>,
    /// The newest entry's hash, to keep elsewhere and compare later (intact chains).
    pub head: Option<String>,
    /// The first entry that does not match (broken chains).
    pub broken_at: Option<i64>,
    /// Why it does not match (broken chains).
    pub reason: Option<String>,
}

macro_rules! page {
    ($name:ident, $item:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Serialize, ToSchema)]
        pub struct $name {
            /// This page's items.
            pub items: Vec<$item>,
            /// Pass as `cursor` for the next page; null on the last page.
            pub next_cursor: Option<String>,
        }
    };
}

page!(
    SubscriptionPage,
    SubscriptionView,
    "A page of subscriptions."
);
page!(
    CandidatePage,
    CandidateView,
    "A page of removal candidates."
);
page!(JobPage, JobView, "A page of job runs.");
page!(AuditPage, AuditView, "A page of audit entries.");
