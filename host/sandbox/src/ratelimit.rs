//! Vendor rate limits, enforced by the host per credential.
//!
//! Vendors count requests per API credential (a connector declares its
//! vendor's published limit through the contract's `vendor` interface), so
//! the host keeps one [`TokenBucket`] per credential
//! and every outbound request of every profile using it takes a token before
//! it leaves. The bucket holds one token: requests are spaced evenly at the
//! limit's rate instead of bursting, which keeps any window the vendor
//! counts in at or under its limit (plus at most one). Waiters reserve their
//! slot before sleeping, so they are served in order. Time is tokio's, so
//! tests drive it with a paused clock instead of waiting.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A request rate: `requests` per `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed in each `per`; at least 1 ([`Self::interval`] divides by it).
    pub requests: u32,
    /// The window `requests` are counted in: a second, a minute or an hour when parsed.
    pub per: Duration,
}

impl RateLimit {
    /// The time between two requests at this rate.
    pub fn interval(&self) -> Duration {
        self.per / self.requests
    }

    /// This rate, or `ceiling` where this one is faster: what a connector
    /// declares may slow its requests down, never speed them past the
    /// host's default (only an operator's `rate_limit` may).
    pub fn no_faster_than(self, ceiling: RateLimit) -> RateLimit {
        if self.interval() >= ceiling.interval() {
            self
        } else {
            ceiling
        }
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.per.as_secs() {
            1 => write!(f, "{}/s", self.requests),
            60 => write!(f, "{}/min", self.requests),
            3600 => write!(f, "{}/h", self.requests),
            _ => write!(f, "{}/{:?}", self.requests, self.per),
        }
    }
}

impl FromStr for RateLimit {
    type Err = String;

    /// `10/s`, `300/min`, `1000/h`.
    fn from_str(text: &str) -> Result<RateLimit, String> {
        let (count, unit) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not a rate"))?;
        let requests: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{count:?} is not a positive number of requests"))?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            other => return Err(format!("unknown unit {other:?} (use s, min or h)")),
        };
        Ok(RateLimit { requests, per })
    }
}

/// The limit of a connection whose vendor publishes none and whose
/// configuration sets none: 20 requests per second per credential.
pub const DEFAULT_RATE_LIMIT: RateLimit = RateLimit {
    requests: 20,
    per: Duration::from_secs(1),
};

/// Evenly spaced requests at one rate.
#[derive(Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    /// The earliest instant the next request may leave.
    next_free: Mutex<Option<Instant>>,
}

impl TokenBucket {
    /// A bucket spacing requests evenly at `limit`; the first request need not wait.
    pub fn new(limit: RateLimit) -> TokenBucket {
        TokenBucket {
            limit,
            next_free: Mutex::new(None),
        }
    }

    /// The rate this bucket spaces requests at.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Reserves the next slot at `now`; returns how long to wait for it.
    pub fn reserve(&self, now: Instant) -> Duration {
        let mut next = self.next_free.lock().expect("rate limiter poisoned");
        let slot = match *next {
            Some(at) if at > now => at,
            _ => now,
        };
        *next = Some(slot + self.limit.interval());
        slot - now
    }

    /// Waits for this request's slot.
    pub async fn acquire(&self) {
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// One bucket per credential, shared by every profile that uses it.
#[derive(Debug, Default, Clone)]
pub struct RateLimiters {
    buckets: Arc<Mutex<HashMap<String, Arc<TokenBucket>>>>,
}

impl RateLimiters {
    /// The bucket for `credential` (a stable name of the credential, never
    /// the secret), created at `limit` on first use.
    pub fn bucket(&self, credential: &str, limit: RateLimit) -> Arc<TokenBucket> {
        let mut buckets = self.buckets.lock().expect("rate limiters poisoned");
        buckets
            .entry(credential.to_string())
            .or_insert_with(|| Arc::new(TokenBucket::new(limit)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_vendor_forms() {
        assert_eq!(
            "10/s".parse::<RateLimit>(),
            Ok(RateLimit {
                requests: 10,
                per: Duration::from_secs(1)
            })
        );
        assert_eq!(
            "300/min".parse::<RateLimit>(),
            Ok(RateLimit {
                requests: 300,
                per: Duration::from_secs(60)
            })
        );
        assert!("0/s".parse::<RateLimit>().is_err());
        assert!("10/fortnight".parse::<RateLimit>().is_err());
        assert!("ten".parse::<RateLimit>().is_err());
    }

    #[test]
    fn a_declared_rate_never_goes_past_the_ceiling() {
        let ceiling: RateLimit = "20/s".parse().unwrap();
        let slow: RateLimit = "300/min".parse().unwrap();
        let fast: RateLimit = "1000/s".parse().unwrap();
        assert_eq!(slow.no_faster_than(ceiling), slow);
        assert_eq!(fast.no_faster_than(ceiling), ceiling);
        assert_eq!(ceiling.no_faster_than(ceiling), ceiling);
    }

    #[test]
    fn spaces_requests_at_the_rate() {
        let bucket = TokenBucket::new("10/s".parse().unwrap());
        let t0 = Instant::now();
        let waits: Vec<Duration> = (0..4).map(|_| bucket.reserve(t0)).collect();
        assert_eq!(
            waits,
            [0, 100, 200, 300].map(Duration::from_millis).to_vec()
        );
        // After a quiet period the next request leaves at once.
        assert_eq!(bucket.reserve(t0 + Duration::from_secs(5)), Duration::ZERO);
    }

    #[test]
    fn smartsheet_gets_at_most_its_limit_per_minute() {
        let bucket = TokenBucket::new("300/min".parse().unwrap());
        let t0 = Instant::now();
        let within_a_minute = (0..1000)
            .map(|_| bucket.reserve(t0))
            .filter(|wait| *wait < Duration::from_secs(60))
            .count();
        assert_eq!(within_a_minute, 300);
    }
}
