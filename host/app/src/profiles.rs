//! The integration profile lifecycle: create (draft), validate, publish,
//! unpublish, delete, and applying the configuration file's profiles.
//!
//! The rules, in one place:
//! - a profile is created as a draft;
//! - `validate` calls the connector's read-only `validate` (the host refuses
//!   writes during it, so the reclaim path is never touched) and records the
//!   outcome with the fingerprint of the connection and connector it ran
//!   against;
//! - `publish` is refused unless the last validation passed against the
//!   current fingerprint, and creates the profile's jobs;
//! - changing the connection, or the download-activity toggle, of a
//!   published profile returns it to draft (its jobs go) until it is
//!   validated and published again; a changed connection or connector file
//!   does the same when the configuration is applied;
//! - deleting needs confirmation and keeps the audit entries.
//!
//! Every change is written with an audit entry naming who made it.

use crate::wiring::App;
use anyhow::{Result, bail};
use seatwarden_domain::cron::CronSchedule;
use seatwarden_store::{
    ActivityFrom, AuditNote, JobKind, OneShotJob, ProfileRecord, ProfileSettings, ProfileStatus,
    RuleChange, ScheduledJob, Source, TenantId, Trigger, Validation,
};
use std::fmt;

/// Why a lifecycle step was refused. Callers (the CLI, tests) branch on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A profile of that name already exists in the tenant.
    #[error(
        "profile {0} already exists in this tenant; change it in the configuration and run `seatwarden apply`"
    )]
    AlreadyExists(String),
    /// The named profile cannot be published: it has no validation on record.
    #[error("profile {0} has never been validated; run `seatwarden profile validate {0}` first")]
    NeverValidated(String),
    /// The profile's last validation failed, so it may not be published.
    #[error(
        "the last validation of profile {name} failed ({detail}); fix the connection and validate again"
    )]
    ValidationFailed {
        /// The profile's name.
        name: String,
        /// Why that validation failed, as it was recorded.
        detail: String,
    },
    /// The named profile's validation passed against a connection or connector since changed.
    #[error(
        "profile {0} changed since it was validated (its connection, connector version or download settings); validate it again"
    )]
    ValidationStale(String),
    /// The named profile cannot be published: it already is.
    #[error("profile {0} is already published")]
    AlreadyPublished(String),
    /// The named profile cannot be unpublished: it is a draft.
    #[error("profile {0} is not published")]
    NotPublished(String),
    /// The named profile would be deleted without the operator's confirmation.
    #[error(
        "deleting profile {0} removes its subscriptions, jobs and job results (its audit entries stay); pass --yes to confirm"
    )]
    NeedsConfirmation(String),
    /// The activity start date is more than 60 days before today (UTC).
    #[error("analyze activity from {date}: that is more than 60 days ago (earliest: {earliest})")]
    ActivityTooOld {
        /// The start date asked for, as `YYYY-MM-DD`.
        date: String,
        /// The earliest date accepted today, 60 days back, as `YYYY-MM-DD`.
        earliest: String,
    },
    /// The activity start date (given as `YYYY-MM-DD`) is after today (UTC).
    #[error("analyze activity from {0}: that is in the future")]
    ActivityInFuture(String),
}

/// What applying the configuration did to one profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The named profile was in the file only and was created as a draft.
    Created(String),
    /// The profile differed from the file, or its connector changed, and was updated.
    Updated {
        /// The profile's name.
        name: String,
        /// What changed, one line each (e.g. `connection a -> b`, or a return to draft).
        changes: Vec<String>,
    },
    /// The named profile already matched the file.
    Unchanged(String),
    /// In the database but not in the file: left alone.
    NotInFile(String),
    /// A tenant-wide setting changed: an exclusion added, changed or
    /// switched off, or an identifier's software model mapped.
    TenantSetting(String),
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Applied::Created(name) => write!(f, "+ {name}: created (draft)"),
            Applied::TenantSetting(change) => write!(f, "~ {change}"),
            Applied::Updated { name, changes } => {
                write!(f, "~ {name}: {}", changes.join("; "))
            }
            Applied::Unchanged(name) => write!(f, "= {name}: unchanged"),
            Applied::NotInFile(name) => write!(
                f,
                "? {name}: not in the configuration file (left alone; `seatwarden profile delete {name}` removes it)"
            ),
        }
    }
}

/// Lifecycle operations for one tenant.
pub struct Profiles<'a> {
    /// The application whose storage, configuration and connectors the operations use.
    pub app: &'a App,
    /// The tenant's database id; every profile touched belongs to it.
    pub tenant: TenantId,
    /// The tenant's name in the configuration, used to resolve its connections.
    pub tenant_name: String,
    /// Who acts, for the audit log (e.g. `cli:alice` or `apply`).
    pub actor: String,
}

impl Profiles<'_> {
    fn note<'n>(&'n self, action: &'n str, detail: &'n str) -> AuditNote<'n> {
        AuditNote {
            actor: &self.actor,
            action,
            detail,
            at: self.app.now(),
        }
    }

    /// Creates a draft profile on one of the tenant's connections,
    /// recording where it was made (`source`).
    pub async fn create(
        &self,
        name: &str,
        settings: &ProfileSettings,
        source: Source,
    ) -> Result<ProfileRecord> {
        if self.app.storage.profile(self.tenant, name).await?.is_some() {
            bail!(Refusal::AlreadyExists(name.to_string()));
        }
        check_activity_from(settings.activity_from, self.app.now())?;
        let connected = self
            .app
            .connect(&self.tenant_name, &settings.connection)
            .await?;
        let identity = connected.identity();
        let detail = format!(
            "connection {}, connector {}@{}, {}",
            settings.connection,
            identity.name,
            identity.version,
            describe_settings(settings)
        );
        self.app
            .storage
            .create_profile(
                self.tenant,
                name,
                settings,
                &identity,
                source,
                &self.note("profile.create", &detail),
            )
            .await?;
        self.get(name).await
    }

    /// The tenant's profile by name.
    pub async fn get(&self, name: &str) -> Result<ProfileRecord> {
        self.app
            .find_profile(self.tenant, &self.tenant_name, name)
            .await
    }

    /// Changes a profile's settings; returns what changed (empty: nothing).
    pub async fn update(&self, name: &str, settings: &ProfileSettings) -> Result<Vec<String>> {
        let record = self.get(name).await?;
        let connected = self
            .app
            .connect(&self.tenant_name, &settings.connection)
            .await?;
        let identity = connected.identity();
        let mut changes = diff(&record.settings, settings);
        if settings.activity_from != record.settings.activity_from {
            check_activity_from(settings.activity_from, self.app.now())?;
        }
        let stale = record.status == ProfileStatus::Published
            && record
                .validation
                .as_ref()
                .is_none_or(|v| v.fingerprint != connected.fingerprint);
        let mut status = record.status;
        if record.status == ProfileStatus::Published {
            if settings.download_activity != record.settings.download_activity {
                status = ProfileStatus::Draft;
                changes.push(
                    "back to draft: download activity changed (validate and publish again)".into(),
                );
            } else if settings.connection != record.settings.connection || stale {
                status = ProfileStatus::Draft;
                changes.push(
                    "back to draft: the connection or its connector changed since validation (validate and publish again)"
                        .into(),
                );
            }
        }
        if identity != record.connector && changes.is_empty() {
            changes.push(format!(
                "connector now {}@{}",
                identity.name, identity.version
            ));
        }
        if changes.is_empty() {
            return Ok(changes);
        }
        let detail = changes.join("; ");
        self.app
            .storage
            .update_profile(
                &record,
                settings,
                &identity,
                status,
                settings.download_activity != record.settings.download_activity,
                &self.note("profile.update", &detail),
            )
            .await?;
        let schedule_changed = settings.subscriptions_cron != record.settings.subscriptions_cron
            || settings.activity_cron != record.settings.activity_cron;
        if status == ProfileStatus::Published && schedule_changed {
            let updated = self.get(name).await?;
            let jobs = self.jobs(
                &updated,
                connected.connector.descriptor().capabilities.activity,
                false,
            )?;
            self.app
                .storage
                .publish_profile(&updated, &jobs, &self.note("profile.reschedule", &detail))
                .await?;
        }
        Ok(changes)
    }

    /// Runs the connector's `validate` and records the outcome.
    pub async fn validate(&self, name: &str) -> Result<Validation> {
        let record = self.get(name).await?;
        let started = self.app.now();
        let connected = self
            .app
            .connect(&self.tenant_name, &record.settings.connection)
            .await?;
        let outcome = connected.connector.validate(&connected.connection).await;
        let (passed, detail, error_kind) = match &outcome {
            Ok(validated) => (
                true,
                format!(
                    "connector {}@{} reached {} and can read users{}; {}; the credential goes to {} only",
                    connected.identity().name,
                    connected.identity().version,
                    connected.connection.base_url(),
                    if record.settings.download_activity
                        && connected.connector.descriptor().capabilities.activity
                    {
                        " and activity"
                    } else {
                        ""
                    },
                    match &validated.credential_account {
                        Some(id) =>
                            format!("the credentials act as account {id}, which is never reclaimed"),
                        None => "the vendor does not say whose account the credentials \
                                 are (name it in the rule's protected list)"
                            .to_string(),
                    },
                    connected.connection.credential_destinations().join(", "),
                ),
                None,
            ),
            Err(err) => (false, err.to_string(), Some(err.kind_name())),
        };
        let validation = Validation {
            at: self.app.now(),
            passed,
            detail: detail.clone(),
            fingerprint: connected.fingerprint.clone(),
            // A failed validation learns nothing: the account found by the
            // last passing one stays protected.
            credential_account: match outcome {
                Ok(validated) => validated.credential_account,
                Err(_) => record
                    .validation
                    .as_ref()
                    .and_then(|v| v.credential_account.clone()),
            },
        };
        let action = if passed {
            "profile.validate.passed"
        } else {
            "profile.validate.failed"
        };
        self.app
            .storage
            .record_validation(&record, &validation, &self.note(action, &detail))
            .await?;
        if passed {
            self.app
                .remember_declared_models(record.tenant, &connected.connector)
                .await?;
        }
        self.app
            .storage
            .record_job(
                record.id,
                &OneShotJob {
                    kind: JobKind::Validate,
                    trigger: Trigger::Manual,
                    started_at: started,
                    finished_at: validation.at,
                    error_kind,
                    detail: &detail,
                },
            )
            .await?;
        Ok(validation)
    }

    /// Publishes a validated profile and creates its jobs.
    pub async fn publish(&self, name: &str) -> Result<Vec<ScheduledJob>> {
        let record = self.get(name).await?;
        if record.status == ProfileStatus::Published {
            bail!(Refusal::AlreadyPublished(name.into()));
        }
        let Some(validation) = &record.validation else {
            bail!(Refusal::NeverValidated(name.into()));
        };
        if !validation.passed {
            bail!(Refusal::ValidationFailed {
                name: name.into(),
                detail: validation.detail.clone(),
            });
        }
        let connected = self
            .app
            .connect(&self.tenant_name, &record.settings.connection)
            .await?;
        if connected.fingerprint != validation.fingerprint {
            bail!(Refusal::ValidationStale(name.into()));
        }
        let jobs = self.jobs(
            &record,
            connected.connector.descriptor().capabilities.activity,
            true,
        )?;
        let detail = jobs
            .iter()
            .map(|j| format!("{} at \"{}\" ({})", j.kind, j.cron, j.time_zone))
            .collect::<Vec<_>>()
            .join(", ");
        self.app
            .storage
            .publish_profile(&record, &jobs, &self.note("profile.publish", &detail))
            .await?;
        Ok(jobs)
    }

    /// Returns a published profile to draft and removes its jobs.
    pub async fn unpublish(&self, name: &str) -> Result<()> {
        let record = self.get(name).await?;
        if record.status != ProfileStatus::Published {
            bail!(Refusal::NotPublished(name.into()));
        }
        self.app
            .storage
            .unpublish_profile(&record, &self.note("profile.unpublish", "jobs removed"))
            .await?;
        Ok(())
    }

    /// Deletes a profile and its data; refused without `confirmed`.
    pub async fn delete(&self, name: &str, confirmed: bool) -> Result<()> {
        let record = self.get(name).await?;
        if !confirmed {
            bail!(Refusal::NeedsConfirmation(name.into()));
        }
        self.app
            .storage
            .delete_profile(
                &record,
                &self.note(
                    "profile.delete",
                    "profile, subscriptions, jobs and job results removed",
                ),
            )
            .await?;
        Ok(())
    }

    /// Applies the configuration file's profiles of this tenant: creates
    /// the missing ones, updates the changed ones, and reports the rest.
    /// Running it twice changes nothing the second time.
    pub async fn apply(&self) -> Result<Vec<Applied>> {
        // The tenant-wide settings first, in one moment.
        let (config, storage, at) = (&self.app.config, &self.app.storage, self.app.now());
        let name = self.tenant_name.as_str();
        let mut changes = storage
            .apply_exclusions(
                self.tenant,
                &tenant_entries(&config.exclusions, name, |e| (&e.tenant, &e.exclusion)),
                &self.actor,
                at,
            )
            .await?;
        changes.extend(
            storage
                .apply_model_mappings(
                    self.tenant,
                    &tenant_entries(&config.models, name, |m| (&m.tenant, &m.mapping)),
                    &self.actor,
                    at,
                )
                .await?,
        );
        changes.extend(
            storage
                .apply_entitlements(
                    self.tenant,
                    &tenant_entries(&config.entitlements, name, |e| (&e.tenant, &e.entitlement)),
                    &self.actor,
                    at,
                )
                .await?,
        );
        let mut report: Vec<Applied> = changes.into_iter().map(Applied::TenantSetting).collect();
        let wanted: Vec<_> = self
            .app
            .config
            .profiles
            .values()
            .filter(|p| p.tenant == self.tenant_name)
            .collect();
        // A setting the file holds is reported where the file holds it.
        let in_file = |name: &str, err: anyhow::Error| match err.downcast_ref::<Refusal>() {
            Some(refusal @ (Refusal::ActivityTooOld { .. } | Refusal::ActivityInFuture(_))) => {
                anyhow::anyhow!(
                    "{}: profiles.{name}.activity_from: {refusal}. Use a day within the last 60 days, or activity_from_days = 1 to 60",
                    config.path.display()
                )
            }
            _ => err,
        };
        for profile in &wanted {
            let existing = self.app.storage.profile(self.tenant, &profile.name).await?;
            match existing {
                None => {
                    let record = self
                        .create(&profile.name, &profile.settings, Source::Config)
                        .await
                        .map_err(|e| in_file(&profile.name, e))?;
                    self.apply_rule(&record, &profile.rule).await?;
                    report.push(Applied::Created(profile.name.clone()));
                }
                Some(_) => {
                    let mut changes = self
                        .update(&profile.name, &profile.settings)
                        .await
                        .map_err(|e| in_file(&profile.name, e))?;
                    let record = self.get(&profile.name).await?;
                    changes.extend(self.apply_rule(&record, &profile.rule).await?);
                    report.push(if changes.is_empty() {
                        Applied::Unchanged(profile.name.clone())
                    } else {
                        Applied::Updated {
                            name: profile.name.clone(),
                            changes,
                        }
                    });
                }
            }
        }
        for stored in self.app.storage.profiles(self.tenant).await? {
            if !wanted.iter().any(|p| p.name == stored.name) {
                report.push(Applied::NotInFile(stored.name));
            }
        }
        Ok(report)
    }

    /// Puts `rule` in force for the profile `name` (a new version when it
    /// differs from the one in force, audited); says what changed.
    pub async fn set_rule(
        &self,
        name: &str,
        rule: &seatwarden_domain::rules::ReclamationRule,
    ) -> Result<Option<String>> {
        let record = self.get(name).await?;
        self.apply_rule(&record, rule).await
    }

    /// Stores the file's rule for a profile when it differs from the one in
    /// force; says so when it did.
    async fn apply_rule(
        &self,
        record: &ProfileRecord,
        rule: &seatwarden_domain::rules::ReclamationRule,
    ) -> Result<Option<String>> {
        let change = self
            .app
            .storage
            .store_rule(
                self.tenant,
                record.id,
                &record.name,
                rule,
                &self.actor,
                self.app.now(),
            )
            .await?;
        Ok(match change {
            RuleChange::Replaced { from, to } => Some(format!("reclamation rule v{from} -> v{to}")),
            RuleChange::Unchanged(_) | RuleChange::Created(_) => None,
        })
    }

    /// The jobs a published profile gets; the first run of each is due at
    /// once when `run_now`, else at its next cron time.
    fn jobs(
        &self,
        record: &ProfileRecord,
        connector_has_activity: bool,
        run_now: bool,
    ) -> Result<Vec<ScheduledJob>> {
        let scheduler = &self.app.config.scheduler;
        let now = self.app.now();
        let mut kinds = vec![(
            JobKind::Subscriptions,
            record
                .settings
                .subscriptions_cron
                .clone()
                .unwrap_or_else(|| scheduler.subscriptions_cron.clone()),
        )];
        if record.settings.download_activity && connector_has_activity {
            kinds.push((
                JobKind::Activity,
                record
                    .settings
                    .activity_cron
                    .clone()
                    .unwrap_or_else(|| scheduler.activity_cron.clone()),
            ));
        }
        kinds
            .into_iter()
            .map(|(kind, cron)| {
                let next_due_at = if run_now {
                    now
                } else {
                    CronSchedule::parse(&cron)
                        .map_err(anyhow::Error::msg)?
                        .next_after(now, &scheduler.time_zone)?
                };
                Ok(ScheduledJob {
                    profile: record.id,
                    kind: kind.as_str().to_string(),
                    cron,
                    time_zone: scheduler.zone_name(),
                    next_due_at,
                    last_run_at: None,
                })
            })
            .collect()
    }
}

/// "Analyze activity from" must be a day at most 60 days back, not ahead.
pub fn check_activity_from(from: ActivityFrom, now: i64) -> Result<(), Refusal> {
    let ActivityFrom::Date(date) = from else {
        return Ok(());
    };
    let today = jiff::Timestamp::from_millisecond(now)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let earliest = today
        .checked_sub(jiff::Span::new().days(60))
        .unwrap_or(today);
    if date < earliest {
        return Err(Refusal::ActivityTooOld {
            date: date.to_string(),
            earliest: earliest.to_string(),
        });
    }
    if date > today {
        return Err(Refusal::ActivityInFuture(date.to_string()));
    }
    Ok(())
}

fn describe_settings(s: &ProfileSettings) -> String {
    format!(
        "download activity {}, reclaim {}, analyze activity from {}",
        on_off(s.download_activity),
        if s.reclaim { "on" } else { "off (report only)" },
        s.activity_from
    )
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn diff(old: &ProfileSettings, new: &ProfileSettings) -> Vec<String> {
    let mut changes = Vec::new();
    if old.connection != new.connection {
        changes.push(format!(
            "connection {} -> {}",
            old.connection, new.connection
        ));
    }
    if old.download_activity != new.download_activity {
        changes.push(format!(
            "download activity {} -> {}",
            on_off(old.download_activity),
            on_off(new.download_activity)
        ));
    }
    if old.reclaim != new.reclaim {
        changes.push(format!(
            "reclaim {} -> {}",
            on_off(old.reclaim),
            on_off(new.reclaim)
        ));
    }
    if old.activity_from != new.activity_from {
        changes.push(format!(
            "analyze activity from {} -> {}",
            old.activity_from, new.activity_from
        ));
    }
    let cron = |c: &Option<String>| c.clone().unwrap_or_else(|| "default".into());
    if old.subscriptions_cron != new.subscriptions_cron {
        changes.push(format!(
            "subscriptions schedule {} -> {}",
            cron(&old.subscriptions_cron),
            cron(&new.subscriptions_cron)
        ));
    }
    if old.activity_cron != new.activity_cron {
        changes.push(format!(
            "activity schedule {} -> {}",
            cron(&old.activity_cron),
            cron(&new.activity_cron)
        ));
    }
    changes
}

/// The entries of a tenant-wide configuration list (`[[exclusions]]`,
/// `[[models]]`, `[[entitlements]]`) that belong to `tenant`.
fn tenant_entries<T, U: Clone>(
    list: &[T],
    tenant: &str,
    split: impl Fn(&T) -> (&String, &U),
) -> Vec<U> {
    list.iter()
        .map(split)
        .filter(|(of, _)| of.as_str() == tenant)
        .map(|(_, entry)| entry.clone())
        .collect()
}
