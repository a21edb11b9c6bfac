//! Bounds on everything a connector returns, checked where it enters the host.
//!
//! Guest memory is capped per call, but what a call returns is copied out
//! of the guest and kept: a sync holds pages until it commits them, stores
//! every field, prints them, mails them. A connector that returns a 100 MB
//! attribute on every page would otherwise grow the host past what any
//! limit on the guest can see. So every string and list in a page has a
//! documented maximum ([`MAX`]), and a page that exceeds one is refused with
//! an [`OutputViolation`] naming the field and the limit; nothing of it is
//! stored. The maxima multiply to a bounded page (1,000 accounts of at most
//! ~45 KiB each), since the canonical ABI lets a guest point many strings
//! at the same bytes. Fields that name something (ids, principals,
//! identifiers, cursors) may not hold control characters; free text has them
//! turned into spaces, so no field can forge a line where it is shown. Text that only explains (error messages) is clipped instead of
//! refused, so the operator still learns what the vendor said. All of it
//! passes through the connection's [`Redactor`] on the way in.

use crate::contract::types;
use crate::error::ConnectorError;
use crate::redact::Redactor;
use std::fmt;

/// The most the host accepts from a connector, per field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputMaxima {
    /// Accounts on one `list-users` page.
    pub accounts_per_page: usize,
    /// Events on one `get-activity` page.
    pub events_per_page: usize,
    /// Bytes of an account id (also `activity.account-id` and the
    /// credentials' account).
    pub id: usize,
    /// Bytes of a principal.
    pub principal: usize,
    /// Bytes of a display name.
    pub display_name: usize,
    /// Subscription identifiers on one account.
    pub subscriptions: usize,
    /// Bytes of one subscription identifier.
    pub subscription: usize,
    /// Attributes on one account.
    pub attributes: usize,
    /// Bytes of an attribute name.
    pub attribute_name: usize,
    /// Bytes of an attribute value.
    pub attribute_value: usize,
    /// Bytes of an activity kind.
    pub activity_kind: usize,
    /// Bytes of a cursor.
    pub cursor: usize,
    /// Bytes of an error message kept (longer ones are clipped, not refused).
    pub error_message: usize,
}

/// The maxima every connector is held to (README, "Limits").
pub const MAX: OutputMaxima = OutputMaxima {
    accounts_per_page: 1_000,
    events_per_page: 10_000,
    id: 256,
    principal: 320,
    display_name: 256,
    subscriptions: 32,
    subscription: 256,
    attributes: 32,
    attribute_name: 128,
    attribute_value: 1024,
    activity_kind: 128,
    cursor: 8192,
    error_message: 1024,
};

/// A field of a connector's answer the host does not accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputViolation {
    /// Where, e.g. `accounts[3].attributes["bio"] value`.
    pub field: String,
    /// What is wrong with it.
    pub problem: OutputProblem,
}

/// What is wrong with the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputProblem {
    /// Over its maximum: `size` bytes (strings) or entries (lists).
    TooLarge {
        /// The field's size, in `unit`s.
        size: usize,
        /// The most the host accepts for the field, in `unit`s.
        limit: usize,
        /// `bytes` for a string, `entries` for a list.
        unit: &'static str,
    },
    /// A control character (a newline, an escape) in a field that names
    /// something: it would forge lines wherever the field is shown.
    ControlCharacter,
}

impl fmt::Display for OutputViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            OutputProblem::TooLarge { size, limit, unit } => write!(
                f,
                "returned {} of {size} {unit}; the host accepts at most {limit} {unit} (nothing of this page was kept)",
                self.field
            ),
            OutputProblem::ControlCharacter => write!(
                f,
                "returned {} with a control character in it; ids, principals, identifiers, names and cursors must be plain text (nothing of this page was kept)",
                self.field
            ),
        }
    }
}

fn bytes(field: impl FnOnce() -> String, text: &str, limit: usize) -> Result<(), OutputViolation> {
    if text.len() > limit {
        return Err(OutputViolation {
            field: field(),
            problem: OutputProblem::TooLarge {
                size: text.len(),
                limit,
                unit: "bytes",
            },
        });
    }
    Ok(())
}

/// [`bytes`], and no control character: for fields that name something.
fn name(field: impl Fn() -> String, text: &str, limit: usize) -> Result<(), OutputViolation> {
    bytes(&field, text, limit)?;
    if text.chars().any(char::is_control) {
        return Err(OutputViolation {
            field: field(),
            problem: OutputProblem::ControlCharacter,
        });
    }
    Ok(())
}

/// Control characters in free text (display names, attribute values, error
/// messages) become spaces: one field, one line, wherever it is shown.
fn flatten(text: &mut String) {
    if text.chars().any(char::is_control) {
        *text = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
    }
}

fn entries(
    field: impl FnOnce() -> String,
    len: usize,
    limit: usize,
) -> Result<(), OutputViolation> {
    if len > limit {
        return Err(OutputViolation {
            field: field(),
            problem: OutputProblem::TooLarge {
                size: len,
                limit,
                unit: "entries",
            },
        });
    }
    Ok(())
}

/// A name for an attribute in messages: the connector's own, cut short and
/// escaped (it may be the oversized or hostile part).
fn quoted(name: &str) -> String {
    format!("\"{}\"", crate::call_state::sanitize(name, 40))
}

/// Checks a page of accounts and redacts the secrets in its text.
pub fn account_page(
    page: &mut types::AccountPage,
    redactor: &Redactor,
) -> Result<(), OutputViolation> {
    entries(
        || "accounts".into(),
        page.accounts.len(),
        MAX.accounts_per_page,
    )?;
    if let Some(cursor) = &page.next_cursor {
        name(|| "next-cursor".into(), cursor, MAX.cursor)?;
    }
    for (i, account) in page.accounts.iter_mut().enumerate() {
        name(|| format!("accounts[{i}].id"), &account.id, MAX.id)?;
        name(
            || format!("accounts[{i}].principal"),
            &account.principal,
            MAX.principal,
        )?;
        if let Some(name) = &account.display_name {
            bytes(
                || format!("accounts[{i}].display-name"),
                name,
                MAX.display_name,
            )?;
        }
        entries(
            || format!("accounts[{i}].subscriptions"),
            account.subscriptions.len(),
            MAX.subscriptions,
        )?;
        for (j, sub) in account.subscriptions.iter().enumerate() {
            name(
                || format!("accounts[{i}].subscriptions[{j}]"),
                sub,
                MAX.subscription,
            )?;
        }
        entries(
            || format!("accounts[{i}].attributes"),
            account.attributes.len(),
            MAX.attributes,
        )?;
        for (name, value) in &account.attributes {
            self::name(
                || format!("accounts[{i}].attributes name {}", quoted(name)),
                name,
                MAX.attribute_name,
            )?;
            bytes(
                || format!("accounts[{i}].attributes[{}] value", quoted(name)),
                value,
                MAX.attribute_value,
            )?;
        }
        redactor.redact_in_place(&mut account.id);
        redactor.redact_in_place(&mut account.principal);
        if let Some(name) = &mut account.display_name {
            flatten(name);
            redactor.redact_in_place(name);
        }
        for sub in &mut account.subscriptions {
            redactor.redact_in_place(sub);
        }
        for (name, value) in &mut account.attributes {
            flatten(value);
            redactor.redact_in_place(name);
            redactor.redact_in_place(value);
        }
    }
    Ok(())
}

/// Checks a page of activity and redacts the secrets in its text.
pub fn activity_page(
    page: &mut types::ActivityPage,
    redactor: &Redactor,
) -> Result<(), OutputViolation> {
    entries(|| "events".into(), page.events.len(), MAX.events_per_page)?;
    if let Some(cursor) = &page.next_cursor {
        name(|| "next-cursor".into(), cursor, MAX.cursor)?;
    }
    for (i, event) in page.events.iter_mut().enumerate() {
        name(
            || format!("events[{i}].account-id"),
            &event.account_id,
            MAX.id,
        )?;
        name(
            || format!("events[{i}].kind"),
            &event.kind,
            MAX.activity_kind,
        )?;
        redactor.redact_in_place(&mut event.account_id);
        redactor.redact_in_place(&mut event.kind);
    }
    Ok(())
}

/// Checks a page of an identity provider's applications: at most as many
/// as accounts on a page, ids like account ids, labels like display names
/// (flattened), and redacts them.
pub fn application_page(
    page: &mut crate::contract::identity_provider::ApplicationPage,
    redactor: &Redactor,
) -> Result<(), OutputViolation> {
    entries(
        || "applications".into(),
        page.applications.len(),
        MAX.accounts_per_page,
    )?;
    if let Some(cursor) = &page.next_cursor {
        name(|| "next-cursor".into(), cursor, MAX.cursor)?;
    }
    for (i, app) in page.applications.iter_mut().enumerate() {
        name(|| format!("applications[{i}].id"), &app.id, MAX.id)?;
        bytes(
            || format!("applications[{i}].label"),
            &app.label,
            MAX.display_name,
        )?;
        flatten(&mut app.label);
        redactor.redact_in_place(&mut app.id);
        redactor.redact_in_place(&mut app.label);
    }
    Ok(())
}

/// Checks what `validate` returned.
pub fn validated(
    validated: &mut types::Validated,
    redactor: &Redactor,
) -> Result<(), OutputViolation> {
    if let Some(account) = &mut validated.credential_account {
        name(|| "credential-account".into(), account, MAX.id)?;
        redactor.redact_in_place(account);
    }
    Ok(())
}

/// Clips and redacts the message of a connector's error.
pub fn connector_error(err: &mut ConnectorError, redactor: &Redactor) {
    let message = match err {
        ConnectorError::Unauthorized(m)
        | ConnectorError::Forbidden(m)
        | ConnectorError::NotFound(m)
        | ConnectorError::Unavailable(m)
        | ConnectorError::InvalidResponse(m)
        | ConnectorError::Unsupported(m)
        | ConnectorError::Config(m) => m,
        ConnectorError::RateLimited(_) => return,
    };
    flatten(message);
    *message = clip(&redactor.redact(message), MAX.error_message);
}

pub use seatwarden_domain::text::clip;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Credential;

    fn account(id: &str) -> types::Account {
        types::Account {
            id: id.into(),
            principal: "p@example.com".into(),
            display_name: None,
            active: true,
            subscriptions: vec![],
            created_at: None,
            last_active_at: None,
            attributes: vec![],
        }
    }

    #[test]
    fn names_the_field_and_the_limit() {
        let mut acct = account("a");
        acct.attributes = vec![("bio".into(), "x".repeat(5000))];
        let mut page = types::AccountPage {
            accounts: vec![account("ok"), acct],
            next_cursor: None,
        };
        let err = account_page(&mut page, &Redactor::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "returned accounts[1].attributes[\"bio\"] value of 5000 bytes; the host accepts at most 1024 bytes (nothing of this page was kept)"
        );
    }

    #[test]
    fn redacts_fields_and_clips_errors() {
        let redactor = Redactor::for_credential(Some(&Credential::secret("s3cr3t-key")));
        let mut acct = account("a");
        acct.display_name = Some("echo s3cr3t-key".into());
        let mut page = types::AccountPage {
            accounts: vec![acct],
            next_cursor: None,
        };
        account_page(&mut page, &redactor).unwrap();
        assert_eq!(
            page.accounts[0].display_name.as_deref(),
            Some("echo [redacted]")
        );
        let mut err = ConnectorError::Forbidden(format!("s3cr3t-key {}", "e".repeat(5000)));
        connector_error(&mut err, &redactor);
        let ConnectorError::Forbidden(message) = err else {
            unreachable!()
        };
        assert!(message.starts_with("[redacted] eee"), "{message}");
        assert!(message.ends_with("…[3987 more bytes cut]"), "{message}");
    }
}
