//! Telling users that their seat is about to be reclaimed, and giving them a
//! way to answer.
//!
//! After each candidate refresh, a rule with `notify_days` sends every
//! `ready` candidate's user a message with the reclamation date and two
//! signed single-use links (keep, release), then moves the candidate to
//! `awaiting-user`. The message is sent before the state changes: a failed
//! send leaves the candidate `ready` and the next refresh tries again, so
//! nobody is reclaimed on the strength of a notice that never left.
//!
//! Notices go only for profiles that can reclaim (published, `reclaim =
//! true`): a notice promising a deactivation that can never happen is a lie
//! sent through the operator's relay. The recipient is the principal only
//! when it is a bare mail address; connector text in the body is limited to
//! that address.

pub mod links;
mod mail;

use anyhow::{Context, Result};
use lettre::message::Mailbox;
use links::LinkSigner;
use mail::Mailer;
use seatwarden_config::NotificationSettings;
use seatwarden_domain::rules::DAY_MS;
use seatwarden_sandbox::trust::TrustedRoots;
use seatwarden_store::{Candidate, CandidateState, ProfileRecord, RefreshScope, Storage};

/// What sending notices did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoticeReport {
    /// How many users were sent a notice (their candidates are now `awaiting-user`).
    pub sent: usize,
    /// Principal and why, for notices that could not be sent (the
    /// candidates stay ready and are tried again at the next refresh).
    pub failed: Vec<(String, String)>,
}

/// The configured way to reach users.
pub struct Notifier {
    /// Signs the answer links in notices and checks them when a user answers.
    pub signer: LinkSigner,
    mailer: Mailer,
    answer_url: String,
}

impl Notifier {
    /// Loads the link key and SMTP password and prepares the transport,
    /// trusting `roots` for the relay's certificate.
    pub fn new(settings: &NotificationSettings, roots: &TrustedRoots) -> Result<Notifier> {
        let key = settings.link_key.load().context("notifications.link_key")?;
        Ok(Notifier {
            signer: LinkSigner::new(&key).context("notifications.link_key")?,
            mailer: Mailer::new(&settings.smtp, &settings.from, roots)?,
            answer_url: settings.answer_url.clone(),
        })
    }

    /// Tells the user of every ready candidate of the profile, giving them
    /// `notify_days` to answer.
    pub async fn notify_ready(
        &self,
        storage: &Storage,
        record: &ProfileRecord,
        notify_days: u32,
        actor: &str,
        now: i64,
    ) -> Result<NoticeReport> {
        let mut report = NoticeReport::default();
        let ready = storage
            .candidates(record.id, false)
            .await?
            .into_iter()
            .filter(|c| c.state == CandidateState::Ready);
        for candidate in ready {
            let reclaim_after = now + i64::from(notify_days) * DAY_MS;
            match self
                .notify(storage, record, &candidate, reclaim_after, actor, now)
                .await
            {
                Ok(()) => report.sent += 1,
                Err(err) => report
                    .failed
                    .push((candidate.principal.clone(), format!("{err:#}"))),
            }
        }
        Ok(report)
    }

    async fn notify(
        &self,
        storage: &Storage,
        record: &ProfileRecord,
        candidate: &Candidate,
        reclaim_after: i64,
        actor: &str,
        now: i64,
    ) -> Result<()> {
        let to = recipient(&candidate.principal).with_context(|| {
            format!(
                "{:?} is not a plain mail address; answer for the user with `seatwarden candidates keep|release {}`",
                seatwarden_sandbox::guest_output::clip(&candidate.principal, 80),
                candidate.id
            )
        })?;
        let links = self.signer.issue(candidate.id, reclaim_after)?;
        let date = day(reclaim_after);
        let vendor = &record.connector.name;
        let subject = format!("Your {vendor} account will be deactivated after {date}");
        let idle = match candidate.reason.as_str() {
            "never-logged-in" => format!(
                "has not been used since it was created {} days ago",
                candidate.days_inactive
            ),
            _ => format!("has not been used for {} days", candidate.days_inactive),
        };
        let body = format!(
            "Hello,\n\n\
             your {vendor} account {principal} {idle}.\n\
             To save its licence, it will be deactivated after {date} unless you keep it.\n\n\
             Keep my account (your administrator reviews the request):\n{url}/answer?t={keep}\n\n\
             I no longer need it:\n{url}/answer?t={release}\n\n\
             Each link works once, until {date}. If you do nothing, the account is deactivated;\n\
             an administrator can restore it for a while afterwards.\n",
            principal = to.email,
            url = self.answer_url,
            keep = links.keep,
            release = links.release,
        );
        self.mailer.send(to.clone(), &subject, body).await?;
        let why = format!(
            "told {} by e-mail: deactivated after {date} unless they keep it",
            to.email
        );
        storage
            .record_notice(
                RefreshScope::of(record, actor, now),
                candidate,
                reclaim_after,
                &links.nonce_hash,
                &why,
            )
            .await?;
        Ok(())
    }
}

/// The one mailbox a notice goes to: the principal, if it is a bare mail
/// address and nothing more. A connector controls principals, so no display
/// name (which would carry text, or a link, into the mail's header), no
/// quoted local part, no spaces or controls, at most 254 bytes.
fn recipient(principal: &str) -> Result<Mailbox> {
    let plain = principal.len() <= 254
        && principal.chars().all(|c| {
            c.is_ascii_graphic()
                && !matches!(
                    c,
                    '"' | '<' | '>' | '(' | ')' | ',' | ';' | '\\' | '[' | ']'
                )
        });
    if !plain {
        anyhow::bail!("not a bare address");
    }
    let address: lettre::Address = principal.parse()?;
    Ok(Mailbox::new(None, address))
}

/// A day in UTC, for messages.
pub fn day(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| ms.to_string())
}
