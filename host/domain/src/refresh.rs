//! The candidates refresh as a plan: from the rule in force, the
//! exclusions and what the store read (idle accounts without a candidate,
//! open candidates with their account, open candidates whose account is no
//! longer stored), decide which candidates to open and which to move (timed
//! out, canceled by new activity, closed as no longer qualifying), with the
//! reason each records, and count what was seen.
//!
//! It is a pure function so that the rules of the refresh live with the
//! other rules, are tested without a database, and are the same whichever
//! store applies them: the store reads, calls [`plan`], and applies the
//! plan in one transaction with an audit entry per change.

use crate::candidate_state::{CandidateState, Decision, Refused, next};
use crate::rules::{Exclusion, ReclamationRule, Staleness, Verdict, evaluate};
use crate::subscription::StoredSubscription;
use serde::Serialize;
use std::collections::HashMap;

/// The part of an open candidate a refresh judges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenCandidate {
    /// The candidate's id.
    pub id: i64,
    /// Its account's principal, as the candidate recorded it.
    pub principal: String,
    /// Its state (open).
    pub state: CandidateState,
    /// The reclamation date the user was given, if told.
    pub reclaim_after: Option<i64>,
}

/// What a refresh judges against, besides the accounts.
#[derive(Clone, Copy, Debug)]
pub struct Judge<'a> {
    /// The rule in force.
    pub rule: &'a ReclamationRule,
    /// The tenant's exclusions.
    pub exclusions: &'a [Exclusion],
    /// The connector's name, for identifier exclusions.
    pub connector: &'a str,
    /// The vendor account the profile's credentials act as (protected).
    pub credential_account: Option<&'a str>,
    /// When the refresh runs, in milliseconds since the Unix epoch.
    pub now: i64,
}

/// One change a refresh makes.
#[derive(Clone, Debug, PartialEq)]
pub enum Change<'a> {
    /// Open a candidate for an idle account that has none.
    Open {
        /// The account.
        account: &'a StoredSubscription,
        /// Why it is idle.
        staleness: Staleness,
        /// The reason the audit entry gives, e.g. `no activity for 90 days
        /// (last from login)`.
        why: String,
    },
    /// Move an open candidate.
    Move {
        /// The candidate as read.
        candidate: &'a OpenCandidate,
        /// The decision that moves it.
        decision: Decision,
        /// The state it moves to.
        to: CandidateState,
        /// The reason its record and audit entry give.
        why: String,
        /// Its account left the vendor's listing: the candidate remembers
        /// the state it was in, so one opened when the account comes back
        /// carries on from there.
        left_listing: bool,
    },
}

/// What a refresh changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RefreshReport {
    /// Candidates opened for idle accounts that had none.
    pub opened: usize,
    /// Open candidates closed because their account showed new activity.
    pub canceled: usize,
    /// Open candidates closed because their account no longer qualifies (it left, was
    /// deactivated, or is now excluded or protected).
    pub skipped: usize,
    /// Open candidates that stay open.
    pub still_open: usize,
    /// Idle accounts (past the rule's threshold, or never active) spared
    /// by an exclusion, by the exclusion's description. Recently active
    /// accounts are not looked at, so they are not counted.
    pub excluded: HashMap<String, usize>,
    /// Idle accounts spared as protected (administrators, the credentials'
    /// own account, the rule's protected list).
    pub protected: usize,
    /// Candidates the rule would have opened with `create_candidates` off.
    pub measured_only: usize,
    /// Candidates whose user did not answer by the reclamation date (now
    /// awaiting revocation).
    pub timed_out: usize,
    /// Accounts (and orphaned open candidates) read and judged: what the
    /// refresh cost. Idle accounts without a candidate are always read;
    /// open candidates only when their account changed, unless
    /// `judged_every_open`.
    pub judged: usize,
    /// Every open candidate was judged again because the rule, the
    /// exclusions or the credentials' account changed since the last
    /// refresh (not set on a profile's first refresh).
    pub judged_every_open: bool,
}

/// The changes a refresh makes, in order, and its counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RefreshPlan<'a> {
    /// What to apply, in the order the accounts were given, orphans last.
    pub changes: Vec<Change<'a>>,
    /// What was seen and decided. `still_open` counts only the candidates
    /// judged here; the store adds the open ones it did not read.
    pub report: RefreshReport,
}

/// A stored candidate whose state does not take the refresh's decision
/// (only a database edited by hand gets here: an open candidate takes
/// every decision a refresh makes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanRefused {
    /// The candidate.
    pub candidate: i64,
    /// Its principal.
    pub principal: String,
    /// What the state machine said.
    pub refused: Refused,
}

impl std::fmt::Display for PlanRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "candidate {} ({}): {}",
            self.candidate, self.principal, self.refused
        )
    }
}

impl std::error::Error for PlanRefused {}

/// Judges every account (with its open candidate, if any) and every
/// orphaned open candidate (whose account is no longer stored), and
/// returns what to change.
pub fn plan<'a>(
    judge: &Judge<'_>,
    accounts: &'a [(StoredSubscription, Option<OpenCandidate>)],
    orphans: &'a [OpenCandidate],
) -> Result<RefreshPlan<'a>, PlanRefused> {
    let mut plan = RefreshPlan {
        report: RefreshReport {
            judged: accounts.len() + orphans.len(),
            ..RefreshReport::default()
        },
        ..RefreshPlan::default()
    };
    let report = &mut plan.report;
    let movement = |candidate: &'a OpenCandidate, decision, why, left_listing| {
        next(candidate.state, decision)
            .map(|to| Change::Move {
                candidate,
                decision,
                to,
                why,
                left_listing,
            })
            .map_err(|refused| PlanRefused {
                candidate: candidate.id,
                principal: candidate.principal.clone(),
                refused,
            })
    };
    for (account, existing) in accounts {
        let verdict = evaluate(
            judge.rule,
            judge.exclusions,
            judge.connector,
            judge.credential_account,
            account,
            judge.now,
        );
        match &verdict {
            Verdict::Excluded { by } => match report.excluded.get_mut(by) {
                Some(count) => *count += 1,
                None => {
                    report.excluded.insert(by.clone(), 1);
                }
            },
            Verdict::Protected { .. } => report.protected += 1,
            _ => {}
        }
        match (verdict, existing.as_ref()) {
            (Verdict::Candidate(staleness), None) => {
                if judge.rule.create_candidates {
                    let why = match account.granted_by_group() {
                        Some(group) => format!(
                            "{}; held through the identity provider's {group}: reclaim by removing the person from that group there (Seatwarden never removes a group assignment)",
                            staleness_reason(&staleness)
                        ),
                        None => staleness_reason(&staleness),
                    };
                    plan.changes.push(Change::Open {
                        account,
                        why,
                        staleness,
                    });
                    report.opened += 1;
                } else {
                    report.measured_only += 1;
                }
            }
            (Verdict::Candidate(_), Some(candidate))
                if candidate.state == CandidateState::AwaitingUser
                    && candidate.reclaim_after.is_some_and(|at| at <= judge.now) =>
            {
                plan.changes.push(movement(
                    candidate,
                    Decision::NoAnswer,
                    "no answer from the user by the reclamation date".into(),
                    false,
                )?);
                report.timed_out += 1;
                report.still_open += 1;
            }
            (Verdict::Candidate(_), Some(_)) => report.still_open += 1,
            (Verdict::Active { days_inactive }, Some(candidate)) => {
                let why = format!(
                    "new activity: last active {days_inactive} days ago{}",
                    account
                        .last_active_source
                        .as_deref()
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default()
                );
                plan.changes
                    .push(movement(candidate, Decision::NewActivity, why, false)?);
                report.canceled += 1;
            }
            (other, Some(candidate)) => {
                let gone = account.gone_at.is_some();
                let why = if gone {
                    format!(
                        "no longer a candidate: the account left the vendor's listing; if it comes back, its candidate carries on from {}",
                        candidate.state.as_str()
                    )
                } else {
                    format!("no longer a candidate: {}", describe(&other))
                };
                plan.changes
                    .push(movement(candidate, Decision::NoLongerCandidate, why, gone)?);
                report.skipped += 1;
            }
            (_, None) => {}
        }
    }
    for candidate in orphans {
        plan.changes.push(movement(
            candidate,
            Decision::NoLongerCandidate,
            "the account is no longer stored for this profile".into(),
            false,
        )?);
        report.skipped += 1;
    }
    Ok(plan)
}

/// Why an idle account is a candidate, as its audit entry says it.
fn staleness_reason(staleness: &Staleness) -> String {
    match staleness {
        Staleness::Stale {
            days_inactive,
            source,
            ..
        } => format!(
            "no activity for {days_inactive} days (last from {})",
            source.as_deref().unwrap_or("an unnamed source")
        ),
        Staleness::NeverLoggedIn { days_since_created } => {
            format!("never logged in, account {days_since_created} days old")
        }
    }
}

/// Why a verdict is not (or no longer) a candidate, in a few words.
fn describe(verdict: &Verdict) -> String {
    match verdict {
        Verdict::NotActive => "the account is deactivated or gone at the vendor".into(),
        Verdict::Excluded { by } => format!("excluded by {by}"),
        Verdict::Protected { why } => format!("protected: {why}"),
        Verdict::OutOfScope { condition } => format!("out of the rule's scope: {condition}"),
        Verdict::Grace { days_old } => format!("in grace: {days_old} days old"),
        Verdict::Active { days_inactive } => format!("active {days_inactive} days ago"),
        Verdict::Candidate(_) => "still a candidate".into(),
    }
}
