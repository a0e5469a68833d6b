//! Reconnect rules with literal times.

use super::*;

fn ms(n: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(n)
}

fn exact() -> ReconnectConfig {
    ReconnectConfig { jitter: Jitter::None, ..Default::default() }
}

fn refused() -> Failure {
    Failure::Transport("connection refused".into())
}

/// Fails every dial at the moment it is asked for, and returns the dial instants.
fn dial_times_until_give_up(
    machine: &mut Reconnect,
    limit: usize,
) -> (Vec<Instant>, Option<ReconnectAction>) {
    let mut now = Instant::ZERO;
    let mut dials = Vec::new();
    for _ in 0..limit {
        while let Some(action) = machine.poll_action() {
            match action {
                ReconnectAction::Dial { .. } => {
                    dials.push(now);
                    machine.on_dial_failed(now, refused()).unwrap();
                }
                give_up @ ReconnectAction::GiveUp { .. } => return (dials, Some(give_up)),
            }
        }
        let Some(deadline) = machine.poll_timeout() else { break };
        now = deadline;
        machine.handle_timeout(now);
    }
    (dials, None)
}

#[test]
fn failed_dials_follow_the_doubling_ladder_up_to_the_cap() {
    let mut machine = Reconnect::new(exact(), 1, ms(0)).unwrap();
    machine.start(ms(0)).unwrap();
    let (dials, _) = dial_times_until_give_up(&mut machine, 11);
    let gaps: Vec<u64> =
        dials.windows(2).map(|w| w[1].saturating_duration_since(w[0]).as_millis() as u64).collect();
    assert_eq!(gaps, [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
}

#[test]
fn a_server_that_accepts_then_drops_keeps_pushing_the_delay_up() {
    let mut machine = Reconnect::new(exact(), 1, ms(0)).unwrap();
    machine.start(ms(0)).unwrap();
    let mut now = ms(0);
    let mut delays = Vec::new();
    for _ in 0..6 {
        assert!(matches!(machine.poll_action(), Some(ReconnectAction::Dial { .. })));
        machine.on_connected(now).unwrap();
        now = now + Duration::from_millis(50); // dropped well before stable_after
        machine.on_disconnected(now, Failure::Transport("reset".into())).unwrap();
        delays.push(machine.last_delay().unwrap().as_millis());
        now = machine.poll_timeout().unwrap();
        machine.handle_timeout(now);
    }
    assert_eq!(delays, [250, 500, 1_000, 2_000, 4_000, 8_000]);
}

#[test]
fn staying_up_for_stable_after_resets_the_ladder() {
    let mut machine = Reconnect::new(exact(), 1, ms(0)).unwrap();
    machine.start(ms(0)).unwrap();
    machine.poll_action();
    machine.on_dial_failed(ms(0), refused()).unwrap();
    machine.handle_timeout(ms(250));
    machine.poll_action();
    machine.on_dial_failed(ms(250), refused()).unwrap();
    assert_eq!(machine.last_delay(), Some(Duration::from_millis(500)));
    machine.handle_timeout(ms(750));
    machine.poll_action();
    machine.on_connected(ms(750)).unwrap();
    assert_eq!(machine.poll_timeout(), Some(ms(10_750)));
    machine.handle_timeout(ms(10_749));
    assert_eq!(machine.failures(), 2, "an early call changes nothing");
    machine.handle_timeout(ms(10_750));
    assert_eq!((machine.failures(), machine.attempt(), machine.poll_timeout()), (0, 0, None));
    machine.on_disconnected(ms(60_000), refused()).unwrap();
    assert_eq!(machine.last_delay(), Some(Duration::from_millis(250)));
}

#[test]
fn max_attempts_gives_up_with_the_last_error() {
    let config = ReconnectConfig { max_attempts: Some(3), ..exact() };
    let mut machine = Reconnect::new(config, 1, ms(0)).unwrap();
    machine.start(ms(0)).unwrap();
    let (dials, give_up) = dial_times_until_give_up(&mut machine, 10);
    assert_eq!(dials, [ms(0), ms(250), ms(750)]);
    assert_eq!(
        give_up,
        Some(ReconnectAction::GiveUp {
            last_error: Some(refused()),
            reason: GiveUpReason::MaxAttempts
        })
    );
    assert_eq!(
        machine.start(ms(0)),
        Err(ReconnectError::Misuse { input: "start", state: ReconnectState::GaveUp })
    );
}

#[test]
fn max_elapsed_gives_up_before_a_dial_past_the_budget() {
    let config = ReconnectConfig { max_elapsed: Some(Duration::from_secs(2)), ..exact() };
    let mut machine = Reconnect::new(config, 1, ms(0)).unwrap();
    machine.start(ms(0)).unwrap();
    let (dials, give_up) = dial_times_until_give_up(&mut machine, 10);
    // 0, 250, 750, 1750; the next would be at 3750 > 2000.
    assert_eq!(dials, [ms(0), ms(250), ms(750), ms(1_750)]);
    assert!(matches!(
        give_up,
        Some(ReconnectAction::GiveUp { reason: GiveUpReason::MaxElapsed, .. })
    ));
}

#[test]
fn an_unauthorized_handshake_is_fatal_at_once() {
    let mut machine = Reconnect::new(exact(), 1, ms(0)).unwrap();
    machine.start(ms(0)).unwrap();
    machine.poll_action();
    let failure = Failure::HandshakeStatus { status: 401, retry_after: None };
    machine.on_dial_failed(ms(5), failure.clone()).unwrap();
    assert_eq!(
        machine.poll_action(),
        Some(ReconnectAction::GiveUp { last_error: Some(failure), reason: GiveUpReason::Fatal })
    );
    assert_eq!(machine.poll_timeout(), None);
}

#[test]
fn retry_after_on_503_is_a_lower_bound_on_the_wait() {
    let mut machine = Reconnect::new(exact(), 1, ms(0)).unwrap();
    machine.start(ms(0)).unwrap();
    machine.poll_action();
    let busy = Failure::HandshakeStatus { status: 503, retry_after: Some(Duration::from_secs(7)) };
    machine.on_dial_failed(ms(0), busy).unwrap();
    assert_eq!(machine.poll_timeout(), Some(ms(7_000)));
    machine.handle_timeout(ms(7_000));
    assert_eq!(machine.poll_action(), Some(ReconnectAction::Dial { attempt: 2 }));
}

#[test]
fn stop_ends_everything_and_later_inputs_are_misuse() {
    let mut machine = Reconnect::new(exact(), 1, ms(0)).unwrap();
    machine.start(ms(0)).unwrap();
    machine.poll_action();
    machine.on_dial_failed(ms(0), refused()).unwrap();
    machine.stop(ms(1)).unwrap();
    assert!(matches!(
        machine.poll_action(),
        Some(ReconnectAction::GiveUp { reason: GiveUpReason::Stopped, .. })
    ));
    assert_eq!(machine.poll_timeout(), None);
    machine.handle_timeout(ms(1_000_000));
    assert_eq!(machine.poll_action(), None);
    assert!(machine.on_connected(ms(2)).is_err());
    assert!(machine.stop(ms(2)).is_err());
}

#[test]
fn full_jitter_stays_within_the_ladder_and_repeats_for_a_seed() {
    let run = |seed| {
        let mut machine = Reconnect::new(ReconnectConfig::default(), seed, ms(0)).unwrap();
        machine.start(ms(0)).unwrap();
        let mut delays = Vec::new();
        let mut now = ms(0);
        for n in 0..12u32 {
            machine.poll_action();
            machine.on_dial_failed(now, refused()).unwrap();
            let delay = machine.last_delay().unwrap();
            let ceiling = Duration::from_millis(250 * 2u64.pow(n)).min(Duration::from_secs(30));
            assert!(delay <= ceiling, "failure {n}: {delay:?} > {ceiling:?}");
            delays.push(delay);
            now = machine.poll_timeout().unwrap();
            machine.handle_timeout(now);
        }
        delays
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
}

#[test]
fn nonsense_configs_are_refused() {
    let bad = |config: ReconnectConfig| Reconnect::new(config, 0, ms(0)).unwrap_err();
    assert!(matches!(
        bad(ReconnectConfig { multiplier: 0.5, ..exact() }),
        ReconnectError::InvalidConfig(_)
    ));
    assert!(matches!(
        bad(ReconnectConfig { multiplier: f64::NAN, ..exact() }),
        ReconnectError::InvalidConfig(_)
    ));
    assert!(matches!(
        bad(ReconnectConfig { initial_delay: Duration::from_secs(60), ..exact() }),
        ReconnectError::InvalidConfig(_)
    ));
    assert!(matches!(
        bad(ReconnectConfig { max_attempts: Some(0), ..exact() }),
        ReconnectError::InvalidConfig(_)
    ));
}

#[test]
fn a_huge_multiplier_saturates_at_the_cap_without_panicking() {
    let config = ReconnectConfig { multiplier: 1e300, ..exact() };
    let mut machine = Reconnect::new(config, 1, ms(0)).unwrap();
    machine.start(ms(0)).unwrap();
    let (dials, _) = dial_times_until_give_up(&mut machine, 5);
    assert_eq!(dials, [ms(0), ms(250), ms(30_250), ms(60_250), ms(90_250)]);
}

#[test]
fn retry_after_is_capped_at_max_retry_after() {
    let config = ReconnectConfig { max_retry_after: Duration::from_secs(60), ..exact() };
    let mut machine = Reconnect::new(config, 1, ms(0)).unwrap();
    machine.start(ms(0)).unwrap();
    machine.poll_action();
    let days = Some(Duration::from_secs(3 * 24 * 3600));
    machine
        .on_dial_failed(ms(0), Failure::HandshakeStatus { status: 429, retry_after: days })
        .unwrap();
    assert_eq!(machine.poll_timeout(), Some(ms(60_000)));
    machine.handle_timeout(ms(60_000));
    assert_eq!(machine.poll_action(), Some(ReconnectAction::Dial { attempt: 2 }));
}

#[test]
fn the_default_retry_after_cap_is_five_minutes() {
    assert_eq!(ReconnectConfig::default().max_retry_after, Duration::from_secs(300));
}
