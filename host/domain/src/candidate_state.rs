//! The removal-candidate state machine: which decision may move a candidate
//! from which state, and where to. It is pure so every transition and every
//! refusal is tested directly; storage applies the result and the audit log
//! records it.
//!
//! ```text
//! ready ──notify──▶ awaiting-user ──keep──▶ awaiting-approval ──reject──▶ closed-skipped
//!   │                  │  release / no answer        │ approve
//!   │ approve          ▼                             ▼
//!   └────────────▶ awaiting-revocation ◀─────────────┘
//!                      │ deactivated        │ deactivation failed
//!                      ▼                    ▼
//!               closed-complete      attention-required ──approve──▶ awaiting-revocation
//! ```
//!
//! Any open candidate is `closed-canceled` by new activity and
//! `closed-skipped` by `skip` or when it stops being a candidate (account
//! gone, deactivated elsewhere, excluded, protected).

use serde::Serialize;
use std::fmt;

/// Where a candidate stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CandidateState {
    /// Newly found stale; nothing has been done about it yet.
    Ready,
    /// The user was notified and has until the reclamation date to answer.
    AwaitingUser,
    /// The user asked to keep the seat; an administrator approves or rejects
    /// the reclamation.
    AwaitingApproval,
    /// Cleared for reclamation (approved, released or unanswered); the next
    /// reclaim run deactivates the account.
    AwaitingRevocation,
    /// The account was deactivated.
    ClosedComplete,
    /// Dropped without reclaiming: skipped, rejected, or no longer a candidate.
    ClosedSkipped,
    /// Canceled because new activity arrived before the reclamation.
    ClosedCanceled,
    /// Deactivation failed; an administrator may approve a retry.
    AttentionRequired,
}

impl CandidateState {
    /// Every state, in lifecycle order.
    pub const ALL: [CandidateState; 8] = [
        CandidateState::Ready,
        CandidateState::AwaitingUser,
        CandidateState::AwaitingApproval,
        CandidateState::AwaitingRevocation,
        CandidateState::ClosedComplete,
        CandidateState::ClosedSkipped,
        CandidateState::ClosedCanceled,
        CandidateState::AttentionRequired,
    ];

    /// The state's stored and displayed name (e.g. `awaiting-user`).
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateState::Ready => "ready",
            CandidateState::AwaitingUser => "awaiting-user",
            CandidateState::AwaitingApproval => "awaiting-approval",
            CandidateState::AwaitingRevocation => "awaiting-revocation",
            CandidateState::ClosedComplete => "closed-complete",
            CandidateState::ClosedSkipped => "closed-skipped",
            CandidateState::ClosedCanceled => "closed-canceled",
            CandidateState::AttentionRequired => "attention-required",
        }
    }

    /// Whether the state is final (`closed-complete`, `closed-skipped` or `closed-canceled`).
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            CandidateState::ClosedComplete
                | CandidateState::ClosedSkipped
                | CandidateState::ClosedCanceled
        )
    }

    /// Parses a stored state name.
    pub fn parse(text: &str) -> Option<CandidateState> {
        CandidateState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for CandidateState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happens to a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The user was told the reclamation date.
    Notified,
    /// The user wants to keep the seat (link or CLI): a manager decides.
    Keep,
    /// The user lets the seat go.
    Release,
    /// The user did not answer by the reclamation date.
    NoAnswer,
    /// An administrator approves the reclamation (or retries a failed one).
    Approve,
    /// An administrator turns down the reclamation the user asked to avoid.
    Reject,
    /// An administrator drops the candidate.
    Skip,
    /// The connector deactivated the account.
    Deactivated,
    /// The connector failed to deactivate it.
    DeactivationFailed,
    /// New activity arrived before the reclamation.
    NewActivity,
    /// The account is no longer a candidate (gone, excluded, protected...).
    NoLongerCandidate,
}

impl Decision {
    /// The verb the CLI and the audit log use.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Notified => "notified",
            Decision::Keep => "keep",
            Decision::Release => "release",
            Decision::NoAnswer => "no-answer",
            Decision::Approve => "approve",
            Decision::Reject => "reject",
            Decision::Skip => "skip",
            Decision::Deactivated => "deactivated",
            Decision::DeactivationFailed => "deactivation-failed",
            Decision::NewActivity => "new-activity",
            Decision::NoLongerCandidate => "no-longer-candidate",
        }
    }
}

/// A decision that does not apply in the candidate's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The state the candidate was in.
    pub from: CandidateState,
    /// The decision that does not apply there.
    pub decision: Decision,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CandidateState::*;
        use Decision::*;
        let hint = match (self.from, self.decision) {
            (from, _) if from.is_closed() => {
                "it is closed; a new candidate opens if the account goes stale again"
            }
            (AwaitingUser, Approve) => {
                "the user has until the reclamation date to answer; use `release` if they answered in person, or `skip`"
            }
            (_, Reject) => {
                "only a candidate awaiting approval (the user asked to keep the seat) can be rejected; use `skip` to drop it"
            }
            (_, Keep | Release) => {
                "only a candidate that is ready or awaiting the user's answer takes the user's answer"
            }
            (AwaitingRevocation, Approve) => {
                "it is already approved and waits for the next reclaim run"
            }
            _ => "see `seatwarden candidates show` for its history",
        };
        write!(
            f,
            "a candidate in state {} cannot take `{}`: {hint}",
            self.from,
            self.decision.as_str()
        )
    }
}

impl std::error::Error for Refused {}

/// Where `decision` moves a candidate that is in `from`.
pub fn next(from: CandidateState, decision: Decision) -> Result<CandidateState, Refused> {
    use CandidateState::*;
    use Decision::*;
    let refused = Err(Refused { from, decision });
    if from.is_closed() {
        return refused;
    }
    Ok(match (from, decision) {
        (_, NewActivity) => ClosedCanceled,
        (_, NoLongerCandidate | Skip) => ClosedSkipped,
        (Ready, Notified) => AwaitingUser,
        (Ready | AwaitingUser, Keep) => AwaitingApproval,
        (Ready | AwaitingUser, Release) => AwaitingRevocation,
        (AwaitingUser, NoAnswer) => AwaitingRevocation,
        (Ready | AwaitingApproval | AttentionRequired, Approve) => AwaitingRevocation,
        (AwaitingApproval, Reject) => ClosedSkipped,
        (Ready | AwaitingRevocation, Deactivated) => ClosedComplete,
        (Ready | AwaitingRevocation, DeactivationFailed) => AttentionRequired,
        _ => return refused,
    })
}

#[cfg(test)]
mod tests {
    use super::CandidateState::*;
    use super::Decision::*;
    use super::*;

    const DECISIONS: [Decision; 11] = [
        Notified,
        Keep,
        Release,
        NoAnswer,
        Approve,
        Reject,
        Skip,
        Deactivated,
        DeactivationFailed,
        NewActivity,
        NoLongerCandidate,
    ];

    #[test]
    fn the_documented_paths() {
        assert_eq!(next(Ready, Notified), Ok(AwaitingUser));
        assert_eq!(next(AwaitingUser, Keep), Ok(AwaitingApproval));
        assert_eq!(next(AwaitingApproval, Approve), Ok(AwaitingRevocation));
        assert_eq!(next(AwaitingApproval, Reject), Ok(ClosedSkipped));
        assert_eq!(next(AwaitingUser, Release), Ok(AwaitingRevocation));
        assert_eq!(next(AwaitingUser, NoAnswer), Ok(AwaitingRevocation));
        assert_eq!(next(AwaitingRevocation, Deactivated), Ok(ClosedComplete));
        assert_eq!(next(Ready, Deactivated), Ok(ClosedComplete));
        assert_eq!(
            next(AwaitingRevocation, DeactivationFailed),
            Ok(AttentionRequired)
        );
        assert_eq!(next(AttentionRequired, Approve), Ok(AwaitingRevocation));
    }

    #[test]
    fn every_open_state_is_canceled_by_activity_and_skippable() {
        for state in CandidateState::ALL.into_iter().filter(|s| !s.is_closed()) {
            assert_eq!(next(state, NewActivity), Ok(ClosedCanceled), "{state}");
            assert_eq!(next(state, Skip), Ok(ClosedSkipped), "{state}");
            assert_eq!(next(state, NoLongerCandidate), Ok(ClosedSkipped), "{state}");
        }
    }

    #[test]
    fn closed_candidates_take_nothing() {
        for state in [ClosedComplete, ClosedSkipped, ClosedCanceled] {
            for decision in DECISIONS {
                let refused = next(state, decision).unwrap_err();
                assert!(refused.to_string().contains("closed"), "{refused}");
            }
        }
    }

    #[test]
    fn refusals_say_what_to_do_instead() {
        let early = next(AwaitingUser, Approve).unwrap_err().to_string();
        assert!(
            early.contains("release") && early.contains("skip"),
            "{early}"
        );
        let reject = next(Ready, Reject).unwrap_err().to_string();
        assert!(reject.contains("awaiting approval"), "{reject}");
        // The user's answer is taken once: a kept candidate cannot be released.
        assert!(next(AwaitingApproval, Release).is_err());
        assert!(next(AwaitingRevocation, Keep).is_err());
        // A timeout only applies while the user may still answer.
        assert!(next(AwaitingApproval, NoAnswer).is_err());
        // Nothing is deactivated without approval once the user was asked.
        assert!(next(AwaitingUser, Deactivated).is_err());
        assert!(next(AwaitingApproval, Deactivated).is_err());
    }

    #[test]
    fn state_names_round_trip() {
        for state in CandidateState::ALL {
            assert_eq!(CandidateState::parse(state.as_str()), Some(state));
        }
        assert_eq!(CandidateState::parse("bogus"), None);
    }
}
