//! An identity provider's sign-ins as a second activity signal for a
//! direct vendor profile.
//!
//! A SmartRecruiters or Smartsheet profile may name an identity-provider
//! profile of its tenant (`activity_also_from`): an account's last activity
//! is then the newer of the vendor's and the identity provider's, matched
//! by principal without regard to case (with an operator's mapping for the
//! principals that differ). A principal two of the identity provider's
//! accounts claim is ambiguous and matches nothing: guessing could keep an
//! idle seat alive on someone else's sign-in.

use crate::subscription::StoredSubscription;
use serde::Serialize;
use std::collections::BTreeMap;

/// The most ambiguous principals a report names (the rest are counted).
const AMBIGUOUS_NAMED: usize = 10;

/// The identity provider's last sign-in per principal, ready to lay over a
/// vendor profile's accounts.
///
/// It serializes as its source and a digest of everything it would lay
/// over: a refresh hashes that into its basis, so that new signals make it
/// judge every open candidate again, without writing out a map of tens of
/// thousands of principals for every profile it refreshes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ActivityOverlay {
    /// The identity-provider profile the signals come from.
    source_profile: String,
    /// SHA-256 (hex) over the signals and the mapping, in order.
    digest: String,
    /// Lowercased principal → (last activity, what set it), `None` for a
    /// person who has not signed in (within the provider's log).
    #[serde(skip)]
    by_principal: BTreeMap<String, Option<(i64, String)>>,
    /// Lowercased vendor principal → lowercased identity-provider principal.
    #[serde(skip)]
    mapping: BTreeMap<String, String>,
    /// Principals more than one identity-provider account claims.
    #[serde(skip)]
    ambiguous: Vec<String>,
}

impl ActivityOverlay {
    /// The overlay of `accounts` (the identity-provider profile's stored
    /// accounts), read through `mapping` (vendor principal → identity
    /// provider principal, any case).
    pub fn build<'a>(
        source_profile: &str,
        accounts: impl IntoIterator<Item = &'a StoredSubscription>,
        mapping: &BTreeMap<String, String>,
    ) -> ActivityOverlay {
        let mut claims: BTreeMap<String, (usize, Option<(i64, String)>)> = BTreeMap::new();
        for account in accounts {
            if account.gone_at.is_some() {
                continue;
            }
            let key = account.principal.trim().to_lowercase();
            if key.is_empty() {
                continue;
            }
            let signal = account.last_active_at.map(|at| {
                (
                    at,
                    format!(
                        "{} in identity-provider profile {source_profile}",
                        account.last_active_source.as_deref().unwrap_or("a sign-in")
                    ),
                )
            });
            let entry = claims.entry(key).or_insert((0, None));
            // The same person listed twice under one id is one claim.
            entry.0 += 1;
            entry.1 = match (entry.1.take(), signal) {
                (Some(a), Some(b)) => Some(if b.0 > a.0 { b } else { a }),
                (a, b) => a.or(b),
            };
        }
        let mut overlay = ActivityOverlay {
            source_profile: source_profile.to_string(),
            mapping: mapping
                .iter()
                .map(|(from, to)| (from.trim().to_lowercase(), to.trim().to_lowercase()))
                .collect(),
            ..ActivityOverlay::default()
        };
        for (principal, (count, signal)) in claims {
            if count > 1 {
                overlay.ambiguous.push(principal);
            } else {
                overlay.by_principal.insert(principal, signal);
            }
        }
        overlay.digest = overlay.fingerprint();
        overlay
    }

    /// The digest of the signals and the mapping: each field ends in a NUL
    /// byte (no principal or source holds one past the host's text guard),
    /// so no two different overlays hash the same stream.
    fn fingerprint(&self) -> String {
        use sha2::Digest;
        let mut hash = sha2::Sha256::new();
        for (principal, signal) in &self.by_principal {
            hash.update(principal.as_bytes());
            hash.update([0]);
            if let Some((at, source)) = signal {
                hash.update([1]);
                hash.update(at.to_be_bytes());
                hash.update(source.as_bytes());
            }
            hash.update([0]);
        }
        hash.update([0xff]);
        for (from, to) in &self.mapping {
            hash.update(from.as_bytes());
            hash.update([0]);
            hash.update(to.as_bytes());
            hash.update([0]);
        }
        hash.finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// Lays the identity provider's signal over `account` when it is newer
    /// than the vendor's; whether it did.
    pub fn apply(&self, account: &mut StoredSubscription) -> bool {
        let own = account.principal.trim().to_lowercase();
        let key = self.mapping.get(&own).unwrap_or(&own);
        match self.by_principal.get(key) {
            Some(Some((at, source)))
                if account.last_active_at.is_none_or(|vendor| *at > vendor) =>
            {
                account.last_active_at = Some(*at);
                account.last_active_source = Some(source.clone());
                true
            }
            _ => false,
        }
    }

    /// The identity-provider profile the signals come from.
    pub fn source_profile(&self) -> &str {
        &self.source_profile
    }

    /// The identity provider's people (each principal one account claims).
    pub fn principals(&self) -> usize {
        self.by_principal.len()
    }

    /// Those of them with a sign-in.
    pub fn signed_in(&self) -> usize {
        self.by_principal.values().filter(|s| s.is_some()).count()
    }

    /// How many of the identity provider's principals no account among
    /// `vendor_principals` (the vendor profile's, any case) matches,
    /// directly or through the mapping: people the identity provider has
    /// for this app and the vendor does not.
    pub fn unmatched<'a>(&self, vendor_principals: impl IntoIterator<Item = &'a str>) -> usize {
        let mut matched = std::collections::BTreeSet::new();
        for principal in vendor_principals {
            let own = principal.trim().to_lowercase();
            let key = self.mapping.get(&own).cloned().unwrap_or(own);
            if self.by_principal.contains_key(&key) {
                matched.insert(key);
            }
        }
        self.by_principal.len() - matched.len()
    }

    /// The principals left out because two accounts claim each.
    pub fn ambiguous(&self) -> &[String] {
        &self.ambiguous
    }

    /// One clause for a refresh's summary: where the second signal came
    /// from, and what was left out.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "activity also from identity-provider profile {}: {} principals, {} with a sign-in",
            self.source_profile,
            self.by_principal.len(),
            self.signed_in()
        );
        if !self.ambiguous.is_empty() {
            let named: Vec<&str> = self
                .ambiguous
                .iter()
                .take(AMBIGUOUS_NAMED)
                .map(String::as_str)
                .collect();
            text.push_str(&format!(
                ", {} ambiguous (claimed by two accounts, matched to none: {}{}; map them under activity_also_from.principals)",
                self.ambiguous.len(),
                crate::text::sanitize(&named.join(", "), 2048),
                if self.ambiguous.len() > AMBIGUOUS_NAMED {
                    ", ..."
                } else {
                    ""
                }
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, principal: &str, last: Option<i64>) -> StoredSubscription {
        StoredSubscription {
            account_id: id.into(),
            principal: principal.into(),
            display_name: None,
            active: true,
            identifiers: vec![],
            attributes: vec![],
            created_at: None,
            last_active_at: last,
            last_active_source: last.map(|_| "user.authentication.sso".into()),
            first_seen_at: 0,
            last_seen_at: 0,
            gone_at: None,
            reactivated_at: None,
        }
    }

    #[test]
    fn the_newer_signal_wins_matched_without_case() {
        let idp = [
            account("1", "Jo@Acme.example", Some(500)),
            account("2", "al@acme.example", Some(100)),
        ];
        let overlay = ActivityOverlay::build("okta", &idp, &BTreeMap::new());
        let mut jo = account("sr-1", "jo@acme.EXAMPLE", Some(300));
        assert!(overlay.apply(&mut jo));
        assert_eq!(jo.last_active_at, Some(500));
        assert_eq!(
            jo.last_active_source.as_deref(),
            Some("user.authentication.sso in identity-provider profile okta")
        );
        let mut al = account("sr-2", "al@acme.example", Some(300));
        assert!(!overlay.apply(&mut al), "the vendor's signal is newer");
        assert_eq!(al.last_active_at, Some(300));
        let mut never = account("sr-3", "al@acme.example", None);
        assert!(overlay.apply(&mut never));
        let mut stranger = account("sr-4", "nobody@acme.example", None);
        assert!(!overlay.apply(&mut stranger));
    }

    #[test]
    fn two_accounts_claiming_one_principal_match_nothing_and_are_reported() {
        let idp = [
            account("1", "jo@acme.example", Some(500)),
            account("2", "JO@acme.example", Some(900)),
        ];
        let overlay = ActivityOverlay::build("okta", &idp, &BTreeMap::new());
        let mut jo = account("sr-1", "jo@acme.example", None);
        assert!(!overlay.apply(&mut jo));
        assert_eq!(overlay.ambiguous(), ["jo@acme.example".to_string()]);
        assert!(
            overlay.summary().contains("1 ambiguous"),
            "{}",
            overlay.summary()
        );
    }

    #[test]
    fn people_of_the_identity_provider_without_an_account_are_counted() {
        let idp = [
            account("1", "jo@acme.example", Some(500)),
            account("2", "al@acme.example", Some(500)),
            account("3", "joanna@acme.example", Some(500)),
        ];
        let mapping = BTreeMap::from([(
            "jo.old@acme.example".to_string(),
            "joanna@acme.example".to_string(),
        )]);
        let overlay = ActivityOverlay::build("okta", &idp, &mapping);
        assert_eq!(
            overlay.unmatched(["JO@acme.example", "jo.old@acme.example", "x@y"]),
            1
        );
        assert_eq!(overlay.unmatched(["jo@acme.example", "jo@acme.example"]), 2);
    }

    #[test]
    fn a_mapping_joins_principals_that_differ() {
        let idp = [account("1", "joanna@acme.example", Some(500))];
        let mapping = BTreeMap::from([(
            "JO.OLD@acme.example".to_string(),
            "Joanna@acme.example".to_string(),
        )]);
        let overlay = ActivityOverlay::build("okta", &idp, &mapping);
        let mut jo = account("sr-1", "jo.old@acme.example", None);
        assert!(overlay.apply(&mut jo));
        assert_eq!(jo.last_active_at, Some(500));
    }

    #[test]
    fn the_digest_moves_with_any_signal_and_with_the_mapping_only() {
        let idp = [account("1", "jo@acme.example", Some(500))];
        let none = BTreeMap::new();
        let base = ActivityOverlay::build("okta", &idp, &none);
        assert_eq!(base, ActivityOverlay::build("okta", &idp, &none), "stable");
        let later =
            ActivityOverlay::build("okta", &[account("1", "jo@acme.example", Some(501))], &none);
        assert_ne!(base.digest, later.digest);
        let mapped = ActivityOverlay::build(
            "okta",
            &idp,
            &BTreeMap::from([("a@x".to_string(), "jo@acme.example".to_string())]),
        );
        assert_ne!(base.digest, mapped.digest);
        let json = serde_json::to_string(&base).unwrap();
        assert!(!json.contains("jo@acme.example"), "{json}");
    }
}
