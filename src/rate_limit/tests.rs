use super::*;

const MINUTE: Duration = Duration::from_secs(60);

/// 3 failures a minute: one more every 20 s.
fn three_a_minute() -> FailureLimit {
    FailureLimit::new(3, MINUTE)
}

fn fail_times(limit: &FailureLimit, key: &str, times: usize, now: Instant) {
    for _ in 0..times {
        limit.fail(key, now);
    }
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

#[test]
fn a_burst_of_failures_is_allowed_then_the_key_waits_one_interval() {
    let limit = three_a_minute();
    let t0 = Instant::now();
    fail_times(&limit, "alice", 2, t0);
    assert_eq!(limit.check("alice", t0), Ok(()));
    limit.fail("alice", t0);
    assert_eq!(limit.check("alice", t0), Err(RetryAfter(secs(20))));
    assert_eq!(
        limit.check("alice", t0 + secs(5)),
        Err(RetryAfter(secs(15)))
    );
}

#[test]
fn one_more_attempt_comes_back_every_window_over_allowed() {
    let limit = three_a_minute();
    let t0 = Instant::now();
    fail_times(&limit, "alice", 3, t0);
    assert_eq!(
        limit.check("alice", t0 + secs(20) - Duration::from_millis(1)),
        Err(RetryAfter(Duration::from_millis(1)))
    );
    let t1 = t0 + secs(20);
    assert_eq!(limit.check("alice", t1), Ok(()));
    limit.fail("alice", t1);
    assert_eq!(limit.check("alice", t1), Err(RetryAfter(secs(20))));
    // After the whole window the burst is back.
    let t2 = t1 + MINUTE;
    fail_times(&limit, "alice", 2, t2);
    assert_eq!(limit.check("alice", t2), Ok(()));
}

#[test]
fn checking_does_not_consume_an_attempt() {
    let limit = three_a_minute();
    let t0 = Instant::now();
    for _ in 0..10 {
        assert_eq!(limit.check("alice", t0), Ok(()));
    }
    fail_times(&limit, "alice", 2, t0);
    for _ in 0..10 {
        assert_eq!(limit.check("alice", t0), Ok(()));
    }
    limit.fail("alice", t0);
    assert!(limit.check("alice", t0).is_err());
}

#[test]
fn a_success_forgets_the_failures() {
    let limit = three_a_minute();
    let t0 = Instant::now();
    fail_times(&limit, "alice", 3, t0);
    assert!(limit.check("alice", t0).is_err());
    limit.clear("alice");
    assert_eq!(limit.check("alice", t0), Ok(()));
    fail_times(&limit, "alice", 2, t0);
    assert_eq!(limit.check("alice", t0), Ok(()), "the whole burst is back");
}

#[test]
fn a_lockout_of_one_key_never_locks_out_another() {
    let limit = three_a_minute();
    let t0 = Instant::now();
    fail_times(&limit, "alice", 3, t0);
    assert!(limit.check("alice", t0).is_err());
    assert_eq!(limit.check("bob", t0), Ok(()));
    assert_eq!(
        limit.check("Alice", t0),
        Ok(()),
        "keys are compared as given"
    );
    fail_times(&limit, "bob", 2, t0);
    assert_eq!(limit.check("bob", t0), Ok(()), "bob has his own burst");
    limit.clear("bob");
    assert!(
        limit.check("alice", t0).is_err(),
        "clearing bob leaves alice"
    );
}

#[test]
fn failing_while_refused_does_not_push_the_key_further_back() {
    let limit = three_a_minute();
    let t0 = Instant::now();
    fail_times(&limit, "alice", 20, t0);
    assert_eq!(limit.check("alice", t0), Err(RetryAfter(secs(20))));
    assert_eq!(limit.check("alice", t0 + secs(20)), Ok(()));
}

#[test]
fn allowed_zero_counts_as_one() {
    let limit = FailureLimit::new(0, MINUTE);
    let t0 = Instant::now();
    assert_eq!(limit.check("alice", t0), Ok(()));
    limit.fail("alice", t0);
    assert_eq!(limit.check("alice", t0), Err(RetryAfter(MINUTE)));
    assert_eq!(limit.check("alice", t0 + MINUTE), Ok(()));
}

#[test]
fn a_flood_of_fresh_keys_leaves_a_locked_key_locked_and_refuses_none_of_them() {
    let limit = FailureLimit::with_capacity(3, MINUTE, 10);
    let t0 = Instant::now();
    fail_times(&limit, "alice", 3, t0);
    for n in 0..1000 {
        let key = format!("flood-{n}");
        assert_eq!(limit.check(&key, t0), Ok(()), "{key}");
        limit.fail(&key, t0);
        assert_eq!(limit.check(&key, t0), Ok(()), "{key}");
    }
    assert!(limit.check("alice", t0).is_err());
    let entries = limit.entries();
    assert!(entries.forgiven_at.len() <= 10);
    assert_eq!(entries.by_forgiveness.len(), entries.forgiven_at.len());
}

#[test]
fn when_full_the_entry_closest_to_being_forgiven_goes() {
    let limit = FailureLimit::with_capacity(3, MINUTE, 2);
    let t0 = Instant::now();
    limit.fail("once", t0);
    fail_times(&limit, "locked", 3, t0);
    let t1 = t0 + secs(1);
    fail_times(&limit, "newcomer", 3, t1);
    assert!(limit.check("locked", t1).is_err());
    assert!(limit.check("newcomer", t1).is_err());
    assert!(!limit.entries().forgiven_at.contains_key(&digest("once")));
}

#[test]
fn forgiven_entries_are_dropped_at_the_next_failure() {
    let limit = three_a_minute();
    let t0 = Instant::now();
    fail_times(&limit, "alice", 3, t0);
    limit.fail("bob", t0 + secs(30));
    assert_eq!(limit.entries().forgiven_at.len(), 2);
    limit.fail("carol", t0 + MINUTE);
    let entries = limit.entries();
    assert_eq!(entries.forgiven_at.len(), 1, "alice and bob are forgiven");
    assert_eq!(entries.by_forgiveness.len(), 1);
}

#[test]
fn a_poisoned_table_counts_as_empty() {
    let limit = three_a_minute();
    let t0 = Instant::now();
    fail_times(&limit, "alice", 3, t0);
    let poisoned = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let _entries = limit.entries.lock();
                panic!("poisoning the table");
            })
            .join()
    });
    assert!(poisoned.is_err());
    assert!(limit.entries.is_poisoned());
    assert_eq!(limit.check("alice", t0), Ok(()));
    assert!(!limit.entries.is_poisoned());
    fail_times(&limit, "alice", 3, t0);
    assert!(limit.check("alice", t0).is_err(), "the table works again");
}

#[test]
fn retry_after_is_whole_seconds_rounded_up_and_at_least_one() {
    let cases = [
        (Duration::ZERO, 1),
        (Duration::from_nanos(1), 1),
        (secs(1), 1),
        (Duration::from_nanos(1_000_000_001), 2),
        (Duration::from_millis(19_500), 20),
        (secs(20), 20),
        (Duration::MAX, u64::MAX),
    ];
    for (wait, seconds) in cases {
        assert_eq!(RetryAfter(wait).seconds(), seconds, "{wait:?}");
    }
}
