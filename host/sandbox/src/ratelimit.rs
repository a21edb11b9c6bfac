//! Vendor rate limits, enforced by the host per credential.
//!
//! Vendors count requests per API credential (a connector declares its
//! vendor's published limit through the contract's `vendor` interface), so
//! the host keeps one [`TokenBucket`] per credential
//! and every outbound request of every profile using it takes a token before
//! it leaves. The bucket holds one token: requests are spaced evenly, a
//! tenth below the limit's rate, instead of bursting, which keeps any window the vendor
//! counts in at or under its limit (plus at most one). Waiters reserve their
//! slot before sleeping, so they are served in order. Time is tokio's, so
//! tests drive it with a paused clock instead of waiting.
//!
//! Several host processes may use one credential (profiles on it run on
//! whichever host takes them), and the vendor counts them together. So a
//! bucket may keep its next free slot in a [`SlotLedger`] every host sees
//! (the database): each request reserves its slot there, on the wall
//! clock, and the hosts together stay at the rate. A ledger that cannot be
//! reached falls back to this host's own spacing, and no reserved slot is
//! further away than [`max_wait`] (a host whose clock runs ahead cannot
//! stop the others).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Where the buckets of every host keep their next free slot.
pub trait SlotLedger: Send + Sync {
    /// Reserves the slot of the bucket named `key` (a digest, never a
    /// secret): the later of its next free slot and `now_us`, but no later
    /// than `now_us + max_wait_us`; the bucket's next free slot becomes the
    /// reserved one plus `interval_us`. Times are microseconds since the
    /// Unix epoch. Returns the reserved slot.
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        interval_us: i64,
        now_us: i64,
        max_wait_us: i64,
    ) -> Pin<Box<dyn Future<Output = Result<i64, String>> + Send + 'a>>;
}

/// The longest a request waits for a slot in a shared ledger: the limit's
/// window, and at least a minute. Queues of the hosts' concurrent jobs are
/// far shorter; a longer wait means a clock is off.
pub fn max_wait(limit: RateLimit) -> Duration {
    limit.per.max(Duration::from_secs(60))
}

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
pub struct TokenBucket {
    limit: RateLimit,
    /// The earliest instant the next request may leave (on this host).
    next_free: Mutex<Option<Instant>>,
    /// The ledger all hosts share, and this bucket's key in it.
    shared: Option<(Arc<dyn SlotLedger>, String)>,
}

impl std::fmt::Debug for TokenBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBucket")
            .field("limit", &self.limit)
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

impl TokenBucket {
    /// The gap kept between two requests: the limit's interval and a tenth
    /// more. Spaced at exactly the limit, a request that leaves late (a
    /// busy host, a slow connection) lets the next on-time one land inside
    /// the vendor's window with the limit already used: the tenth absorbs
    /// such delays up to a tenth of the window.
    fn spacing(&self) -> Duration {
        let interval = self.limit.interval();
        interval + interval / 10
    }

    /// A bucket spacing requests evenly at `limit`; the first request need not wait.
    pub fn new(limit: RateLimit) -> TokenBucket {
        TokenBucket {
            limit,
            next_free: Mutex::new(None),
            shared: None,
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
        *next = Some(slot + self.spacing());
        slot - now
    }

    /// Waits for this request's slot: in the shared ledger when there is
    /// one (on the wall clock every host reads), else on this host.
    pub async fn acquire(&self) {
        if let Some((ledger, key)) = &self.shared {
            let now = wall_clock_us();
            let interval = i64::try_from(self.spacing().as_micros()).unwrap_or(i64::MAX);
            let most = i64::try_from(max_wait(self.limit).as_micros()).unwrap_or(i64::MAX);
            match ledger.reserve(key, interval.max(1), now, most).await {
                Ok(slot) => {
                    let wait = slot.saturating_sub(now).clamp(0, most);
                    if wait > 0 {
                        tokio::time::sleep(Duration::from_micros(wait as u64)).await;
                    }
                    return;
                }
                Err(err) => tracing::warn!(
                    error = %err,
                    "the shared rate limit could not be read; spacing this host's requests by itself"
                ),
            }
        }
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

fn wall_clock_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// One bucket per credential, shared by every profile that uses it (and,
/// with a [`SlotLedger`], by every host).
#[derive(Default, Clone)]
pub struct RateLimiters {
    buckets: Arc<Mutex<HashMap<String, Arc<TokenBucket>>>>,
    ledger: Option<Arc<dyn SlotLedger>>,
}

impl std::fmt::Debug for RateLimiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiters")
            .field("shared", &self.ledger.is_some())
            .finish_non_exhaustive()
    }
}

impl RateLimiters {
    /// Buckets whose slots every host reserves in `ledger`.
    pub fn shared(ledger: Arc<dyn SlotLedger>) -> RateLimiters {
        RateLimiters {
            buckets: Arc::default(),
            ledger: Some(ledger),
        }
    }

    /// The bucket for `credential` (a stable name of the credential, never
    /// the secret), created at `limit` on first use. In a shared ledger its
    /// key is the name's SHA-256, the same on every host.
    pub fn bucket(&self, credential: &str, limit: RateLimit) -> Arc<TokenBucket> {
        let mut buckets = self.buckets.lock().expect("rate limiters poisoned");
        buckets
            .entry(credential.to_string())
            .or_insert_with(|| {
                let mut bucket = TokenBucket::new(limit);
                bucket.shared = self.ledger.clone().map(|ledger| {
                    use sha2::Digest;
                    (ledger, hex::encode(sha2::Sha256::digest(credential)))
                });
                Arc::new(bucket)
            })
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
    fn spaces_requests_at_the_rate_with_a_tenth_to_spare() {
        let bucket = TokenBucket::new("10/s".parse().unwrap());
        let t0 = Instant::now();
        let waits: Vec<Duration> = (0..4).map(|_| bucket.reserve(t0)).collect();
        assert_eq!(
            waits,
            [0, 110, 220, 330].map(Duration::from_millis).to_vec()
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
        // 300 a minute less the tenth kept to spare: one every 220 ms.
        assert_eq!(within_a_minute, 273);
    }
}
