//! The rate limits' shared slots: one row per credential holding the next
//! moment a request on it may leave, so every host process on the database
//! spaces its requests with the others' (the vendor counts them together).
//!
//! A reservation is one upsert, atomic on its own: of two hosts reserving
//! at once, each gets its own slot.

use super::Storage;
use crate::{Engine, Result};

impl Storage {
    /// Reserves the next slot of `bucket` (see the sandbox's `SlotLedger`):
    /// the later of its next free slot and `now_us`, at most `max_wait_us`
    /// after `now_us`; the next free slot becomes the reserved one plus
    /// `interval_us`. Returns the reserved slot.
    pub async fn reserve_rate_slot(
        &self,
        bucket: &str,
        interval_us: i64,
        now_us: i64,
        max_wait_us: i64,
    ) -> Result<i64> {
        let latest = now_us.saturating_add(max_wait_us);
        let next_free: i64 = sqlx::query_scalar(match self.engine {
            Engine::Sqlite => {
                "INSERT INTO rate_slots (bucket, next_free_us) VALUES ($1, $2)
                 ON CONFLICT (bucket) DO UPDATE SET next_free_us =
                   MIN(MAX(rate_slots.next_free_us, $3), $4) + $5
                 RETURNING next_free_us"
            }
            Engine::Postgres => {
                "INSERT INTO rate_slots (bucket, next_free_us) VALUES ($1, $2)
                 ON CONFLICT (bucket) DO UPDATE SET next_free_us =
                   LEAST(GREATEST(rate_slots.next_free_us, $3), $4) + $5
                 RETURNING next_free_us"
            }
        })
        .bind(bucket)
        .bind(now_us.saturating_add(interval_us))
        .bind(now_us)
        .bind(latest)
        .bind(interval_us)
        // One statement on its own (autocommit), outside the writer lock: the
        // upsert is atomic on both engines, and rate slots belong to a vendor
        // credential, not a tenant, so the table has no row policy.
        .fetch_one(&self.pool)
        .await?;
        Ok(next_free - interval_us)
    }
}
