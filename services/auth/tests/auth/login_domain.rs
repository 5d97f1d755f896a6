//! The sign-in throttling policy (given/when/then): the threshold, the window, the growing
//! lock, the reset on success; stored shapes round-trip.

use std::time::Duration;

use ecohub_auth::domain::*;
use ecohub_kernel::testing::{given, given_no_history};
use ecohub_kernel::{Aggregate, DomainEvent};

use crate::support::at;

fn policy() -> LoginPolicy {
    LoginPolicy::default()
}

fn fail() -> LoginAttemptCommand {
    LoginAttemptCommand::RecordLoginFailure(policy())
}

fn failed(secs: i64) -> LoginAttemptEvent {
    LoginAttemptEvent::Failed(LoginFailure {
        at: at(secs),
        locked_until: None,
    })
}

fn locking(secs: i64, lock_secs: i64) -> LoginAttemptEvent {
    LoginAttemptEvent::Failed(LoginFailure {
        at: at(secs),
        locked_until: Some(at(secs + lock_secs)),
    })
}

fn succeeded(secs: i64) -> LoginAttemptEvent {
    LoginAttemptEvent::Succeeded { at: at(secs) }
}

/// Four failures 10 s apart starting at `from`.
fn four_failures(from: i64) -> Vec<LoginAttemptEvent> {
    (0..4).map(|i| failed(from + i * 10)).collect()
}

#[test]
fn the_defaults_lock_after_five_failures_for_a_minute_doubling_to_an_hour() {
    let p = policy();
    assert_eq!(p.max_failures, 5);
    assert_eq!(p.failure_window, Duration::from_secs(900));
    let locks: Vec<u64> = (0..9).map(|n| p.lockout_after(n).as_secs()).collect();
    assert_eq!(locks, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    assert_eq!(p.lockout_after(u32::MAX).as_secs(), 3600);
}

#[test]
fn failures_below_the_threshold_are_recorded_without_a_lock() {
    given_no_history::<LoginAttempts>()
        .at(at(0))
        .when(fail())
        .then([failed(0)]);
    given::<LoginAttempts>(four_failures(0)[..3].to_vec())
        .at(at(40))
        .when(fail())
        .then([failed(40)]);
}

#[test]
fn the_fifth_failure_within_the_window_locks_for_the_first_lockout() {
    let state = given::<LoginAttempts>(four_failures(0))
        .at(at(40))
        .when(fail())
        .then([locking(40, 60)]);
    assert_eq!(state.locked_until(at(40)), Some(at(100)));
    assert_eq!(state.locked_until(at(99)), Some(at(100)));
    assert_eq!(state.locked_until(at(100)), None);
}

#[test]
fn while_locked_a_failure_is_refused_and_nothing_is_recorded() {
    let history = [four_failures(0), vec![locking(40, 60)]].concat();
    given::<LoginAttempts>(history.clone())
        .at(at(99))
        .when(fail())
        .then_refused_with(|e| assert_eq!(*e, LoginRefusal::Locked { until: at(100) }));
    given::<LoginAttempts>(history)
        .at(at(99))
        .when(fail())
        .then_refused("too many failed sign-in attempts");
}

#[test]
fn failures_older_than_the_window_do_not_count() {
    // Four failures, then the fifth 15 minutes after the first: only three are in the window.
    given::<LoginAttempts>(four_failures(0))
        .at(at(900))
        .when(fail())
        .then([failed(900)]);
    // Just inside the window: locked.
    given::<LoginAttempts>(four_failures(0))
        .at(at(899))
        .when(fail())
        .then([locking(899, 60)]);
}

#[test]
fn each_further_lock_doubles_up_to_the_cap() {
    let mut history = Vec::new();
    let mut now = 0;
    let mut expected_locks = Vec::new();
    for _ in 0..8 {
        for _ in 0..4 {
            history.push(failed(now));
            now += 1;
        }
        let lock = LoginAttempts::replay(history.iter())
            .decide(fail(), at(now))
            .unwrap();
        let LoginAttemptEvent::Failed(f) = lock[0] else {
            panic!("a failure")
        };
        let until = f.locked_until.expect("the fifth failure locks");
        expected_locks.push(until.since(at(now)).as_secs());
        history.push(lock[0]);
        now = until.since(at(0)).as_secs() as i64;
    }
    assert_eq!(expected_locks, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
}

#[test]
fn after_a_lock_the_count_starts_again() {
    // The lock has ended: one more failure does not lock again at once.
    let history = [four_failures(0), vec![locking(40, 60)]].concat();
    given::<LoginAttempts>(history.clone())
        .at(at(100))
        .when(fail())
        .then([failed(100)]);
    // Five more failures do, for twice as long.
    let history = [history, four_failures(100)].concat();
    given::<LoginAttempts>(history)
        .at(at(140))
        .when(fail())
        .then([locking(140, 120)]);
}

#[test]
fn locks_older_than_a_day_no_longer_make_the_next_one_longer() {
    let day = LOCK_MEMORY.as_secs() as i64;
    let history = [
        four_failures(0),
        vec![locking(40, 60)],
        four_failures(day + 41),
    ]
    .concat();
    given::<LoginAttempts>(history)
        .at(at(day + 81))
        .when(fail())
        .then([locking(day + 81, 60)]);
}

#[test]
fn a_success_resets_the_count_and_the_growth() {
    let history = [
        four_failures(0),
        vec![locking(40, 60)],
        vec![succeeded(100)],
        four_failures(110),
    ]
    .concat();
    // Four failures after the success: the fifth locks for the first lockout again.
    given::<LoginAttempts>(history.clone())
        .at(at(150))
        .when(fail())
        .then([locking(150, 60)]);
    let state = given::<LoginAttempts>(history).state().clone();
    assert_eq!(state.failures().len(), 4);
}

#[test]
fn a_success_is_recorded_only_when_it_resets_failures() {
    given_no_history::<LoginAttempts>()
        .when(LoginAttemptCommand::RecordLoginSuccess)
        .then([]);
    given::<LoginAttempts>([failed(0), succeeded(1)])
        .at(at(2))
        .when(LoginAttemptCommand::RecordLoginSuccess)
        .then([]);
    given::<LoginAttempts>([failed(0)])
        .at(at(2))
        .when(LoginAttemptCommand::RecordLoginSuccess)
        .then([succeeded(2)]);
}

#[test]
fn a_threshold_of_one_locks_at_the_first_failure() {
    let strict = LoginPolicy {
        max_failures: 1,
        ..LoginPolicy::default()
    };
    given_no_history::<LoginAttempts>()
        .at(at(0))
        .when(LoginAttemptCommand::RecordLoginFailure(strict))
        .then([locking(0, 60)]);
}

#[test]
fn stored_shapes_round_trip_and_hold_only_times() {
    for event in [failed(0), locking(5, 60), succeeded(9)] {
        let data = event.encode();
        let keys: Vec<&String> = data.as_object().unwrap().keys().collect();
        assert!(
            keys.iter()
                .all(|k| ["at", "locked_until"].contains(&k.as_str())),
            "{data}"
        );
        let back = LoginAttemptEvent::decode(event.event_type(), 1, &data).unwrap();
        assert_eq!(back, event);
    }
    assert_eq!(failed(0).encode(), serde_json::json!({ "at": at(0) }));
    assert!(LoginAttemptEvent::decode("LoginFailed", 2, &failed(0).encode()).is_err());
}
