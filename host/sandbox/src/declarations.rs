//! What a connector declares about itself beyond its descriptor, cleaned
//! where it enters the host: links for operators (`about`, contract 0.2.1)
//! and its vendor's terms (`vendor`, 0.2.2: the published request rate and
//! the subscription identifiers' software models).
//!
//! Every value here comes from untrusted guest code and ends up in front of
//! an operator (inspect, reports) or in the rate limiter, so each is bounded:
//! short plain text without control or bidi-format characters, a capped
//! count, no identifier twice, a rate within sane bounds. Whatever fails is
//! dropped, not fatal: a connector with a bad link or model still syncs,
//! and what was dropped is said (`VendorTerms::dropped`) so that
//! `connector inspect` can show it to the operator and the author.

use crate::egress::AllowedOrigin;
use crate::ratelimit::{DEFAULT_RATE_LIMIT, RateLimit};
use seatwarden_domain::software_models::{Metric, SoftwareModel};
use seatwarden_domain::text::rewrites_display;
use std::collections::HashSet;
use std::time::Duration;

/// At most this many links are kept.
const MAX_LINKS: usize = 16;

/// At most this many subscription models are kept (the contract says so).
pub const MAX_DECLARED_MODELS: usize = 500;

/// The longest identifier, publisher, product or edition kept, in bytes.
const MAX_MODEL_TEXT: usize = 200;

/// The longest window a declared rate may count in: a day.
const MAX_RATE_WINDOW_SECONDS: u32 = 86_400;

/// The slowest declared rate kept: one request a minute. A slower one
/// would let a connector park every profile sharing the credential for
/// hours (each request reserves its slot before it leaves).
const MAX_DECLARED_INTERVAL: Duration = Duration::from_secs(60);

/// How many declared models are looked at before the rest are dropped
/// unread, and how many dropped ones are named (the rest are counted): a
/// connector must not flood the log or inspect with millions of lines.
const MAX_MODELS_EXAMINED: usize = 2 * MAX_DECLARED_MODELS;
const MAX_DROPPED_NAMED: usize = 20;

/// One subscription identifier and the model a connector says it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredModel {
    /// The identifier exactly as the connector reports it in accounts.
    pub identifier: String,
    /// What it is commercially (counted per user).
    pub model: SoftwareModel,
}

/// A connector's vendor terms, as far as they passed the host's checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VendorTerms {
    /// Whether the component exports the `vendor` interface at all.
    pub exported: bool,
    /// The vendor's published request rate per credential, as declared.
    /// The host never goes faster than its default on this alone.
    pub rate_limit: Option<RateLimit>,
    /// The identifiers' models, in the order declared.
    pub models: Vec<DeclaredModel>,
    /// What was declared but dropped, one line each, for operators.
    pub dropped: Vec<String>,
}

impl VendorTerms {
    /// Whether the connector declared anything: the SDK exports an empty
    /// `vendor` for connectors that implement none, which says nothing.
    pub fn declares_anything(&self) -> bool {
        self.rate_limit.is_some() || !self.models.is_empty() || !self.dropped.is_empty()
    }

    /// The rate the host holds this connector's connections to when the
    /// connection sets no `rate_limit`: the declared one, never faster than
    /// [`DEFAULT_RATE_LIMIT`], or the default when none is declared (a
    /// connector must never turn the host into a request cannon).
    pub fn host_rate(&self) -> RateLimit {
        self.rate_limit
            .map(|declared| declared.no_faster_than(DEFAULT_RATE_LIMIT))
            .unwrap_or(DEFAULT_RATE_LIMIT)
    }
}

/// Whether `text` is short, non-empty and free of control and bidi-format
/// characters (which could rewrite a terminal line or a report cell).
fn plain(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && !text.chars().any(rewrites_display)
}

/// Guest output shown to operators: at most 16 links, each an absolute
/// https URL and a short title, without control or format characters.
pub(crate) fn clean_links(links: Vec<(String, String)>) -> Vec<(String, String)> {
    links
        .into_iter()
        .filter(|(title, url)| {
            plain(title, 100)
                && plain(url, 500)
                && url.starts_with("https://")
                && AllowedOrigin::parse(url).is_ok()
        })
        .take(MAX_LINKS)
        .collect()
}

/// The `vendor` interface's answers, cleaned: an impossible rate (no
/// requests, a window of none or of more than a day) is dropped; models
/// whose text is not plain or too long, repeats of an identifier, and
/// models past the 500th are dropped.
pub(crate) fn clean_terms(
    rate: Option<crate::contract::vendor::RequestRate>,
    models: Vec<crate::contract::vendor::SubscriptionModel>,
) -> VendorTerms {
    let mut dropped = Vec::new();
    let rate_limit = rate.and_then(|rate| {
        let limit = RateLimit {
            requests: rate.requests,
            per: Duration::from_secs(u64::from(rate.per_seconds)),
        };
        if rate.requests == 0
            || rate.per_seconds == 0
            || rate.per_seconds > MAX_RATE_WINDOW_SECONDS
            || limit.interval() > MAX_DECLARED_INTERVAL
        {
            dropped.push(format!(
                "rate limit of {} requests per {} s (needs 1 to {MAX_RATE_WINDOW_SECONDS} s, and at least one request a minute)",
                rate.requests, rate.per_seconds
            ));
            return None;
        }
        Some(limit)
    });
    let declared = models.len();
    let mut seen = HashSet::new();
    let mut kept = Vec::new();
    let mut unnamed = 0usize;
    let mut drop_model = |dropped: &mut Vec<String>, line: String| {
        if dropped.len() < MAX_DROPPED_NAMED {
            dropped.push(line);
        } else {
            unnamed += 1;
        }
    };
    for (index, model) in models.into_iter().enumerate() {
        if kept.len() == MAX_DECLARED_MODELS || index == MAX_MODELS_EXAMINED {
            dropped.push(format!(
                "{} subscription models past the first {} (at most {MAX_DECLARED_MODELS} are kept)",
                declared - index,
                index
            ));
            break;
        }
        let texts = [
            &model.identifier,
            &model.publisher,
            &model.product,
            &model.edition,
        ];
        if !texts.iter().all(|text| plain(text, MAX_MODEL_TEXT)) {
            drop_model(
                &mut dropped,
                format!(
                    "subscription model #{} (empty, longer than {MAX_MODEL_TEXT} bytes, or with control characters)",
                    index + 1
                ),
            );
            continue;
        }
        if !seen.insert(model.identifier.clone()) {
            drop_model(
                &mut dropped,
                format!(
                    "subscription model #{} (identifier {:?} declared before)",
                    index + 1,
                    model.identifier
                ),
            );
            continue;
        }
        kept.push(DeclaredModel {
            identifier: model.identifier,
            model: SoftwareModel {
                publisher: model.publisher,
                product: model.product,
                edition: model.edition,
                metric: Metric::PerUser,
            },
        });
    }
    if unnamed > 0 {
        dropped.push(format!(
            "{unnamed} more subscription models like those above"
        ));
    }
    VendorTerms {
        exported: true,
        rate_limit,
        models: kept,
        dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::vendor::{RequestRate, SubscriptionModel};

    fn model(identifier: &str, edition: &str) -> SubscriptionModel {
        SubscriptionModel {
            identifier: identifier.into(),
            publisher: "Acme".into(),
            product: "Acme".into(),
            edition: edition.into(),
        }
    }

    #[test]
    fn impossible_rates_are_dropped() {
        for (requests, per_seconds) in [(0, 1), (5, 0), (5, 86_401), (1, 61), (10, 3_600)] {
            let terms = clean_terms(
                Some(RequestRate {
                    requests,
                    per_seconds,
                }),
                Vec::new(),
            );
            assert_eq!(terms.rate_limit, None, "{requests}/{per_seconds}");
            assert_eq!(terms.dropped.len(), 1);
        }
        let terms = clean_terms(
            Some(RequestRate {
                requests: 300,
                per_seconds: 60,
            }),
            Vec::new(),
        );
        assert_eq!(terms.rate_limit, Some("300/min".parse().unwrap()));
        assert!(terms.dropped.is_empty());
    }

    #[test]
    fn a_flood_of_bad_models_is_read_only_so_far_and_named_only_so_often() {
        let models: Vec<SubscriptionModel> =
            (0..100_000).map(|_| model("SAME", "\u{feff}")).collect();
        let terms = clean_terms(None, models);
        assert!(terms.models.is_empty());
        assert_eq!(
            terms.dropped.len(),
            MAX_DROPPED_NAMED + 2,
            "{:?}",
            terms.dropped
        );
        assert!(
            terms.dropped[MAX_DROPPED_NAMED]
                .starts_with("99000 subscription models past the first 1000"),
            "{:?}",
            terms.dropped
        );
        assert_eq!(
            terms.dropped[MAX_DROPPED_NAMED + 1],
            "980 more subscription models like those above"
        );
        // Declaring nothing at all (the SDK's empty `vendor`) says nothing.
        assert!(!clean_terms(None, Vec::new()).declares_anything());
    }

    #[test]
    fn models_are_plain_unique_and_capped() {
        let mut models = vec![
            model("MEMBER", "Member"),
            model("MEMBER", "Another member"),
            model("ESC", "\u{1b}[31mred"),
            model("RTL", "a\u{202e}b"),
            model("", "empty"),
            model("LONG", &"x".repeat(201)),
        ];
        models.extend((0..600).map(|i| model(&format!("R{i}"), "Role")));
        let terms = clean_terms(None, models);
        assert_eq!(terms.models.len(), MAX_DECLARED_MODELS);
        assert_eq!(terms.models[0].identifier, "MEMBER");
        assert_eq!(terms.models[0].model.edition, "Member");
        assert!(
            terms
                .models
                .iter()
                .all(|m| !["ESC", "RTL", "", "LONG"].contains(&m.identifier.as_str()))
        );
        assert_eq!(terms.dropped.len(), 6, "{:?}", terms.dropped);
        assert!(terms.dropped[5].starts_with("101 subscription models past the first 505"));
    }
}
