//! The coordination primitives and leases, with several simulated replicas sharing one
//! in-process backend under paused time.

use super::*;

fn replica(backend: &Arc<Memory>) -> Arc<Cluster> {
    Cluster::shared(backend.clone(), "t".into())
}

/// Moves paused time in small steps until `done` holds; how long that took (panics past
/// `within`).
async fn eventually(within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = tokio::time::Instant::now();
    while !done() {
        assert!(started.elapsed() <= within, "not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

#[tokio::test(start_paused = true)]
async fn a_lease_has_one_holder_and_moves_with_a_higher_term_when_its_holder_dies() {
    let backend = Arc::new(Memory::default());
    let (a, b) = (replica(&backend), replica(&backend));
    let (la, lb) = (Lease::new(&a, "alerts"), Lease::new(&b, "alerts"));
    la.start(CancellationToken::new());
    eventually(LEASE_RENEW, || la.held()).await;
    lb.start(CancellationToken::new());
    // However long they run, only the first holds it.
    for _ in 0..40 {
        tokio::time::sleep(LEASE_RENEW / 4).await;
        assert!(la.held() && !lb.held(), "one holder");
    }
    let first = la.term();
    // The holder dies without letting go: the other takes over once the lease runs out.
    la.crash();
    let took = eventually(LEASE_TTL + LEASE_RENEW * 2, || lb.held()).await;
    assert!(
        took >= LEASE_TTL - LEASE_RENEW,
        "not before it ran out: {took:?}"
    );
    assert!(
        lb.term() > first,
        "the next holder's term is higher (a fencing token)"
    );
    assert_eq!(b.leases(), vec![("alerts".to_owned(), true)]);
}

#[tokio::test(start_paused = true)]
async fn a_replica_that_stops_in_order_hands_its_lease_over_at_once() {
    let backend = Arc::new(Memory::default());
    let (a, b) = (replica(&backend), replica(&backend));
    let stop = CancellationToken::new();
    let (la, lb) = (Lease::new(&a, "prune"), Lease::new(&b, "prune"));
    la.start(stop.clone());
    eventually(LEASE_RENEW, || la.held()).await;
    lb.start(CancellationToken::new());
    tokio::time::sleep(LEASE_RENEW).await;
    stop.cancel();
    let took = eventually(LEASE_TTL, || lb.held()).await;
    assert!(took <= LEASE_RENEW + Duration::from_millis(100), "{took:?}");
    assert!(!la.held());
}

#[tokio::test(start_paused = true)]
async fn nobody_holds_a_lease_while_the_backend_is_away_and_one_does_after() {
    let backend = Arc::new(Memory::default());
    let (a, b) = (replica(&backend), replica(&backend));
    let (la, lb) = (Lease::new(&a, "samples"), Lease::new(&b, "samples"));
    la.start(CancellationToken::new());
    eventually(LEASE_RENEW, || la.held()).await;
    lb.start(CancellationToken::new());
    backend.set_up(false);
    assert!(!a.is_up() && a.went_down() == 1);
    // The holder keeps the job only while its last renewal would still hold.
    let gave_up = eventually(LEASE_TTL, || !la.held()).await;
    assert!(gave_up <= LEASE_TTL, "{gave_up:?}");
    for _ in 0..20 {
        tokio::time::sleep(LEASE_RENEW / 2).await;
        assert!(
            !la.held() && !lb.held(),
            "nobody runs the job while it is away"
        );
    }
    backend.set_up(true);
    eventually(LEASE_TTL + LEASE_RENEW, || la.held() != lb.held()).await;
}

#[tokio::test]
async fn alone_a_lease_is_held_from_the_start() {
    let lease = Lease::new(&Cluster::alone(), "alerts");
    assert!(
        lease.held() && lease.term() > 1_600_000_000_000,
        "its start time"
    );
    let later = Lease::new(&Cluster::alone(), "alerts");
    assert!(
        later.term() >= lease.term(),
        "a restart holds a term at least as high"
    );
    assert!(Cluster::alone().is_up() && !Cluster::alone().is_shared());
}

#[tokio::test(start_paused = true)]
async fn a_counter_window_starts_at_its_first_hit() {
    let backend = Memory::default();
    let window = Duration::from_secs(10);
    assert_eq!(backend.hit("k", window).await, Some((1, window)));
    tokio::time::advance(Duration::from_secs(4)).await;
    assert_eq!(
        backend.hit("k", window).await,
        Some((2, Duration::from_secs(6)))
    );
    tokio::time::advance(Duration::from_secs(6)).await;
    assert_eq!(
        backend.hit("k", window).await,
        Some((1, window)),
        "a new window"
    );
}

#[tokio::test(start_paused = true)]
async fn locks_are_released_only_by_their_holder_and_values_age() {
    let backend = Memory::default();
    let ttl = Duration::from_secs(15);
    assert_eq!(
        backend.acquire("l", "a", ttl, false).await,
        Some(Claim::Held(1))
    );
    assert_eq!(
        backend.acquire("l", "b", ttl, false).await,
        Some(Claim::Taken)
    );
    backend.release("l", "b").await;
    assert_eq!(
        backend.acquire("l", "b", ttl, false).await,
        Some(Claim::Taken)
    );
    backend.release("l", "a").await;
    assert_eq!(
        backend.acquire("l", "b", ttl, false).await,
        Some(Claim::Held(1))
    );
    backend.set("v", b"x", ttl).await;
    tokio::time::advance(Duration::from_secs(3)).await;
    assert_eq!(
        backend.get_aged("v", ttl).await,
        Some((b"x".to_vec(), Duration::from_secs(3)))
    );
    tokio::time::advance(ttl).await;
    assert_eq!(backend.get_aged("v", ttl).await, None, "expired");
}

#[tokio::test(start_paused = true)]
async fn a_stream_reads_in_order_after_a_cursor_and_keeps_its_newest() {
    let backend = Memory::default();
    let ttl = Duration::from_secs(60);
    for i in 0..5u8 {
        backend.append("s", &[i], 3, ttl).await;
    }
    let all = backend.read_after("s", "0-0", 10).await.unwrap();
    let data: Vec<u8> = all.iter().map(|(_, d)| d[0]).collect();
    assert_eq!(data, [2, 3, 4], "the oldest beyond `keep` are gone");
    let after = backend.read_after("s", &all[0].0, 10).await.unwrap();
    assert_eq!(after.len(), 2);
    let newest = backend.newest("s", 1).await.unwrap();
    assert_eq!(newest[0].1, [4]);
    backend.set_up(false);
    assert_eq!(backend.newest("s", 1).await, None);
}

#[tokio::test(start_paused = true)]
async fn slots_are_bounded_across_replicas_and_a_dead_holders_come_back() {
    let backend = Arc::new(Memory::default());
    let (a, b) = (replica(&backend), replica(&backend));
    let first = a.slot("exports of ana", 2).await.unwrap().expect("a place");
    let second = b.slot("exports of ana", 2).await.unwrap().expect("a place");
    assert!(
        a.slot("exports of ana", 2).await.unwrap().is_none(),
        "two at most"
    );
    assert!(
        b.slot("exports of bo", 2).await.unwrap().is_some(),
        "per name"
    );
    // Held for longer than its TTL: renewed, still taken.
    tokio::time::sleep(SLOT_TTL * 2).await;
    assert!(b.slot("exports of ana", 2).await.unwrap().is_none());
    drop(first);
    tokio::task::yield_now().await;
    let third = b.slot("exports of ana", 2).await.unwrap();
    assert!(third.is_some(), "given back");
    // A holder that dies (its renewal stops) frees its place once the TTL runs out.
    second.renew.abort();
    std::mem::forget(second);
    assert!(a.slot("exports of ana", 2).await.unwrap().is_none());
    tokio::time::sleep(SLOT_TTL + Duration::from_secs(1)).await;
    assert!(a.slot("exports of ana", 2).await.unwrap().is_some());
    backend.set_up(false);
    assert!(a.slot("exports of ana", 2).await.is_none(), "unreachable");
}
