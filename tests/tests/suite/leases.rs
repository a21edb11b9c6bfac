//! Profile leases that exclude for real: a job renews its lease while it
//! runs and learns at once when it lost it; a lease whose process died on
//! this machine is taken over; and a run's storage refuses the writes of an
//! attempt another one has resumed, so a process paused past its lease
//! cannot write over its successor.

use seatwarden_app::clock::{Clock, ManualClock, SystemClock};
use seatwarden_app::lease::{HeldLease, owner_is_dead, process_owner};
use seatwarden_store::{ProfileId, Storage, Stream, Trigger};
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::fixtures::{acme_profile, fresh_database};
use seatwarden_tests::smartrecruiters_fake::{aged_accounts, seed_tenant};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn profile(name: &str) -> (Storage, ProfileId) {
    let storage = Storage::open(&fresh_database(name)).await.unwrap();
    let (_, profile) = acme_profile(&storage, "smartrecruiters", "d").await;
    (storage, profile)
}

/// Takes the lease for `owner` on the wall clock for a minute.
async fn take_for_a_minute(
    storage: &Storage,
    profile: ProfileId,
    owner: &str,
) -> Result<HeldLease, seatwarden_app::lease::Busy> {
    HeldLease::take(
        storage,
        profile,
        owner,
        Duration::from_secs(60),
        Arc::new(SystemClock),
        CancellationToken::new(),
    )
    .await
    .unwrap()
}

/// Writes a lease row for `owner`, as its process would have.
async fn hold_for_an_hour(storage: &Storage, profile: ProfileId, owner: &str) {
    let now = now_ms();
    assert!(
        storage
            .try_lease(profile, owner, now, now + 3_600_000)
            .await
            .unwrap()
    );
}

/// An owner id of this machine whose process cannot exist.
fn dead_owner_here() -> String {
    let me = process_owner();
    let (host, rest) = me.split_once(':').unwrap();
    let (_, scope) = rest.split_once(':').unwrap();
    format!("{host}:{}:{scope}", 1u32 << 23)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_lease_is_taken_over_is_told_at_its_next_heartbeat() {
    let (storage, profile) = profile("lease-lost").await;
    // Time the test moves by hand; the heartbeat beats on the same clock,
    // every 100 ms of it.
    let clock = Arc::new(ManualClock::new(now_ms()));
    let lost = CancellationToken::new();
    let lease = HeldLease::take(
        &storage,
        profile,
        "this-host:1:aaaaaaaa-1",
        Duration::from_millis(300),
        clock.clone(),
        lost.clone(),
    )
    .await
    .unwrap()
    .expect("the lease is free");
    // This process "pauses" past its lease; another one takes it; then
    // time reaches this process's next heartbeat.
    let later = clock.now() + 10_000;
    assert!(
        storage
            .try_lease(profile, "other-host:2:bbbbbbbb-2", later, later + 60_000)
            .await
            .unwrap()
    );
    clock.set(later);
    lost.cancelled().await;
    assert!(lease.lost());
    lease.release().await.unwrap();
    assert_eq!(
        storage.lease_holder(profile).await.unwrap().unwrap().0,
        "other-host:2:bbbbbbbb-2",
        "releasing a lost lease leaves the new holder's alone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_lease_keeps_others_out_past_its_first_term() {
    let (storage, profile) = profile("lease-renewed").await;
    let lost = CancellationToken::new();
    let lease = HeldLease::take(
        &storage,
        profile,
        "this-host:1:aaaaaaaa-1",
        Duration::from_millis(300),
        Arc::new(SystemClock),
        lost.clone(),
    )
    .await
    .unwrap()
    .unwrap();
    let (_, first_expiry) = storage.lease_holder(profile).await.unwrap().unwrap();
    // Wait (on the database, not a timer) until the heartbeat has renewed it.
    loop {
        let (_, expiry) = storage.lease_holder(profile).await.unwrap().unwrap();
        if expiry > first_expiry {
            break;
        }
        tokio::task::yield_now().await;
    }
    let taken = take_for_a_minute(&storage, profile, "other-host:2:bbbbbbbb-2").await;
    let busy = taken.err().expect("the renewed lease is held");
    assert_eq!(busy.holder, "this-host:1:aaaaaaaa-1");
    assert!(!lost.is_cancelled());
    lease.release().await.unwrap();
    assert!(storage.lease_holder(profile).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lease_of_a_process_that_died_here_is_taken_over_and_elsewhere_waited_for() {
    let (storage, profile) = profile("lease-dead").await;
    let dead = dead_owner_here();
    assert!(owner_is_dead(&dead));
    hold_for_an_hour(&storage, profile, &dead).await;
    let lease = take_for_a_minute(&storage, profile, process_owner())
        .await
        .expect("a dead owner's lease is taken over");
    assert_eq!(
        storage.lease_holder(profile).await.unwrap().unwrap().0,
        process_owner()
    );
    lease.release().await.unwrap();

    // The same pid on another machine may well be alive: wait for it.
    let elsewhere = format!("elsewhere:{}:0badc0de-00000001", 1u32 << 23);
    assert!(!owner_is_dead(&elsewhere));
    hold_for_an_hour(&storage, profile, &elsewhere).await;
    let busy = take_for_a_minute(&storage, profile, process_owner())
        .await
        .err()
        .expect("a live lease elsewhere is waited for");
    assert_eq!(busy.holder, elsewhere);
}

/// Process A starts a listing and pauses; process B resumes the run. A's
/// later writes (a page, the finish that marks accounts gone) are refused
/// and change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_another_one_resumed_can_no_longer_write() {
    let (storage, profile) = profile("fenced").await;
    let now = now_ms();
    let accounts = aged_accounts(&seed_tenant("t", 30, now).users, 0, now);
    let a = storage
        .begin_attempt(
            profile,
            Stream::Users,
            None,
            Trigger::Manual,
            "host-a:1:aaaaaaaa-1",
            now,
        )
        .await
        .unwrap();
    storage
        .upsert_accounts_page(profile, a.run_id, &accounts[..10], Some("page-2"), now)
        .await
        .unwrap();
    let b = storage
        .begin_attempt(
            profile,
            Stream::Users,
            None,
            Trigger::Schedule,
            "host-b:2:bbbbbbbb-2",
            now,
        )
        .await
        .unwrap();
    assert!(b.resumed);
    assert_eq!(b.cursor.as_deref(), Some("page-2"));
    assert_eq!((b.pages, b.items), (1, 10), "the run's pages so far");

    let err = storage
        .upsert_accounts_page(profile, a.run_id, &accounts[10..20], None, now)
        .await
        .unwrap_err();
    let seatwarden_store::StoreError::Superseded(superseded) = &err else {
        panic!("a typed refusal, not {err:?}");
    };
    assert_eq!(superseded.current, Some(b.run_id));
    assert!(
        format!("{err}").contains(&format!("run #{} resumed it", b.run_id)),
        "{err}"
    );
    assert_eq!(storage.subscriptions(profile).await.unwrap().len(), 10);
    assert!(
        storage
            .finish_users_run(profile, a.run_id, now)
            .await
            .is_err()
    );

    // B goes on from A's cursor; the listing spans both attempts, so what A
    // stored counts as seen and nothing is marked gone.
    storage
        .upsert_accounts_page(profile, b.run_id, &accounts[10..30], None, now)
        .await
        .unwrap();
    assert_eq!(
        storage
            .finish_users_run(profile, b.run_id, now)
            .await
            .unwrap(),
        0
    );
    let runs = storage.job_runs(profile).await.unwrap();
    assert_eq!(runs[0].id, b.run_id);
    assert_eq!(runs[0].status, "succeeded");
    assert_eq!(runs[0].resumes, Some(a.run_id));
    assert_eq!(runs[0].owner.as_deref(), Some("host-b:2:bbbbbbbb-2"));
    assert_eq!(runs[0].profile_status.as_deref(), Some("draft"));
    assert_eq!(runs[1].status, "interrupted", "A never finished");
    assert_eq!(runs[1].created, 10);
    assert_eq!(runs[0].created, 20);
}
