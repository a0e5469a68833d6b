//! The reconnect loop behind a [`super::Client`].
//!
//! The supervisor owns the core's reconnect machine and the current connection. Calls from the
//! client arrive as commands: with a connection they are forwarded to its driver; between
//! connections requests wait in a queue (bounded by the session's `max_pending_outgoing` and by
//! each call's timeout) and notifications are refused. When a connection ends, retryable calls
//! come back from its driver and join the queue; the machine decides when to dial again.
//!
//! - A call's timeout is total: its deadline is fixed when the supervisor first sees it and
//!   travels with it across queues and connections (each connection gets what remains).
//! - A call whose caller has dropped its future is never issued again: neither when it comes
//!   back from an ended connection nor when the queue goes to a new one.
//! - The timer is polled before commands and connection ends, so a flood of calls cannot
//!   postpone the expiry of queued ones or a redial.
//! - A lifecycle failure ends reconnecting only when the server's version cannot be spoken; an
//!   error answer to `initialize` or a slow one is a failure like a dropped connection.
//! - The era and version a dual-era probe found are remembered for the endpoint; later
//!   sessions speak them directly instead of probing again (and forget them if they fail).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use futures_channel::mpsc;
use futures_util::StreamExt;
use mcp_ws_core::reconnect::{Failure, Reconnect, ReconnectAction};
use mcp_ws_core::session::{
    ClosedBy, EraPolicy, LifecycleFailure, Outcome, RequestOptions, Role, SessionConfig,
    SessionError,
};
use mcp_ws_core::time::Instant;
use mcp_ws_core::{CloseCode, CloseReason, Era};

use super::{ClientConfig, ClientEvent, ClientShared, start_session};
use crate::connection::{ConnectionEnd, ConnectionEnded};
use crate::dial::{DialError, Endpoint, SubprotocolMemory};
use crate::handle::{Command, ConnectionHandle};
use crate::http_client::ClientIo;
use crate::runtime::{Alarm, BoxFuture, Network};

/// What the supervisor starts with: an open first connection.
pub(super) struct Supervisor<N: Network> {
    pub net: N,
    pub endpoint: Endpoint,
    pub memory: Arc<SubprotocolMemory>,
    pub config: ClientConfig,
    pub shared: Arc<ClientShared>,
    pub current: Option<(ConnectionHandle, ConnectionEnded)>,
}

/// A request waiting for a connection.
struct Queued {
    command: Command,
    deadline: Instant,
}

enum Wake<S> {
    Command(Option<Command>),
    Ended(ConnectionEnd),
    Dialed(Result<ClientIo<S>, DialError>),
    Timer,
}

impl<N: Network> Supervisor<N> {
    /// Runs until the client is closed or reconnecting gives up.
    pub async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let now = self.net.now();
        let mut machine = self.config.reconnect.clone().map(|config| {
            let seed = self.config.jitter_seed.unwrap_or_else(random_seed);
            let mut machine = Reconnect::new(config, seed, now).expect("validated");
            machine.start(now).expect("a new machine starts");
            // The first dial was made by `connect`.
            while machine.poll_action().is_some() {}
            machine.on_connected(now).expect("dialing after start");
            machine
        });
        let mut queue: VecDeque<Queued> = VecDeque::new();
        let mut dialing: Option<BoxFuture<'static, Result<ClientIo<N::Stream>, DialError>>> = None;
        let mut alarm = Alarm::<N>::new();
        let mut closing = false;
        let mut commands_open = true;
        loop {
            // 1. Perform the machine's actions.
            if let Some(machine) = machine.as_mut() {
                while let Some(action) = machine.poll_action() {
                    match action {
                        ReconnectAction::Dial { attempt } => {
                            self.shared.emit(ClientEvent::Reconnecting { attempt });
                            dialing = Some(self.dial());
                        }
                        ReconnectAction::GiveUp { reason, last_error } => {
                            closing = true;
                            self.shared.emit(ClientEvent::GaveUp { reason, last_error });
                        }
                    }
                }
            }
            if closing && self.current.is_none() {
                break;
            }
            if self.current.is_none() && machine.is_none() {
                break;
            }
            // 2. Arm the timer at the earliest of the machine's deadline and the queue's.
            let deadline = [
                machine.as_ref().and_then(Reconnect::poll_timeout),
                queue.iter().map(|q| q.deadline).min(),
            ]
            .into_iter()
            .flatten()
            .min();
            alarm.arm(&self.net, deadline);
            // 3. Wait.
            let wake = std::future::poll_fn(|cx| {
                // The timer first: a flood of commands must not postpone expiry or a redial.
                if alarm.poll_woken(cx) {
                    return Poll::Ready(Wake::Timer);
                }
                if commands_open {
                    if let Poll::Ready(c) = commands.poll_next_unpin(cx) {
                        return Poll::Ready(Wake::Command(c));
                    }
                }
                if let Some((_, ended)) = self.current.as_mut() {
                    if let Poll::Ready(end) = Pin::new(ended).poll(cx) {
                        return Poll::Ready(Wake::Ended(end));
                    }
                }
                if let Some(dial) = dialing.as_mut() {
                    if let Poll::Ready(result) = dial.as_mut().poll(cx) {
                        return Poll::Ready(Wake::Dialed(result));
                    }
                }
                Poll::Pending
            })
            .await;
            let now = self.net.now();
            match wake {
                Wake::Command(Some(command)) if !matches!(command, Command::Close(_)) => {
                    self.route(command, now, &mut queue);
                }
                Wake::Command(close) => {
                    // An explicit close, or every client clone is gone (closed as if asked to).
                    let reason = match close {
                        Some(Command::Close(reason)) => reason,
                        _ => {
                            commands_open = false;
                            CloseReason::new(CloseCode::NORMAL, "the client was dropped")
                        }
                    };
                    closing = true;
                    if let Some(machine) = machine.as_mut() {
                        let _ = machine.stop(now);
                    }
                    dialing = None;
                    match &self.current {
                        Some((connection, _)) => connection.close(reason),
                        None => break,
                    }
                }
                Wake::Ended(mut end) => {
                    self.current = None;
                    for command in std::mem::take(&mut end.retry).into_iter().rev() {
                        // A caller that stopped waiting (its abandon may have reached the
                        // ended connection too late) does not get its call issued again.
                        if command.caller_gone() {
                            continue;
                        }
                        let command = stamp_deadline(command, now, &self.config.session);
                        let deadline = deadline_of(&command).unwrap_or(now);
                        queue.push_front(Queued { command, deadline });
                    }
                    expire(&mut queue, now);
                    self.shared
                        .emit(ClientEvent::Disconnected { reason: end.reason.clone(), by: end.by });
                    if closing {
                        break;
                    }
                    match machine.as_mut() {
                        Some(machine) => {
                            let remembered = self.remembered_era().is_some();
                            if end.lifecycle_failure.is_some() {
                                // The server may have changed: probe again next time.
                                *self.shared.settled.lock().expect("lock") = None;
                            }
                            let failure = disconnect_failure(&end, remembered);
                            let _ = machine.on_disconnected(now, failure);
                        }
                        None => break,
                    }
                }
                Wake::Dialed(result) => {
                    dialing = None;
                    let Some(machine) = machine.as_mut() else { continue };
                    match result {
                        Ok(dialed) => {
                            let (connection, ended) = start_session(
                                &self.net,
                                &self.session_config(),
                                &self.config,
                                &self.shared,
                                dialed,
                                None,
                            );
                            let _ = machine.on_connected(now);
                            for queued in queue.drain(..) {
                                if queued.command.caller_gone() {
                                    continue;
                                }
                                if let Some(command) = with_remaining_time(queued.command, now) {
                                    forward(&connection, command);
                                }
                            }
                            self.current = Some((connection, ended));
                        }
                        Err(error) => {
                            let failure = error.to_failure();
                            self.shared.emit(ClientEvent::DialFailed { failure: failure.clone() });
                            let _ = machine.on_dial_failed(now, failure);
                        }
                    }
                }
                Wake::Timer => {
                    if alarm.take_due(now) {
                        if let Some(machine) = machine.as_mut() {
                            machine.handle_timeout(now);
                        }
                        expire(&mut queue, now);
                    }
                }
            }
        }
        // Whatever still waits ends now.
        for queued in queue.drain(..) {
            queued.command.end(Outcome::Disconnected);
        }
        commands.close();
        while let Ok(command) = commands.try_recv() {
            command.end(Outcome::Disconnected);
        }
    }

    fn dial(&self) -> BoxFuture<'static, Result<ClientIo<N::Stream>, DialError>> {
        super::open_io(&self.net, &self.endpoint, &self.memory, &self.config)
    }

    /// The era a dual-era client settled on before, as the policy to speak it directly.
    fn remembered_era(&self) -> Option<EraPolicy> {
        let Role::Client { era: EraPolicy::DualEra { .. }, .. } = &self.config.session.role else {
            return None;
        };
        match (*self.shared.settled.lock().expect("lock"))? {
            (Era::Legacy, version) => Some(EraPolicy::Legacy(version)),
            (Era::Modern, _) => Some(EraPolicy::Modern),
        }
    }

    /// The session configuration of the next connection: the configured one, speaking the
    /// remembered era if there is one.
    fn session_config(&self) -> SessionConfig {
        let mut config = self.config.session.clone();
        if let (Some(remembered), Role::Client { era, .. }) =
            (self.remembered_era(), &mut config.role)
        {
            *era = remembered;
        }
        config
    }

    fn route(&self, command: Command, now: Instant, queue: &mut VecDeque<Queued>) {
        match (&self.current, command) {
            (_, Command::Abandon { token }) => {
                let before = queue.len();
                queue.retain(
                    |q| !matches!(&q.command, Command::Request { token: t, .. } if *t == token),
                );
                if queue.len() == before {
                    if let Some((connection, _)) = &self.current {
                        forward(connection, Command::Abandon { token });
                    }
                }
            }
            (Some((connection, _)), command) => {
                let command = stamp_deadline(command, now, &self.config.session);
                let Some(command) = with_remaining_time(command, now) else { return };
                if let Err(command) = connection.send_command(command) {
                    // The connection is ending; the request waits for the next one.
                    self.enqueue(command, now, queue);
                }
            }
            (None, command) => self.enqueue(command, now, queue),
        }
    }

    fn enqueue(&self, command: Command, now: Instant, queue: &mut VecDeque<Queued>) {
        match command {
            Command::Request { reply, .. }
                if queue.len() >= self.config.session.max_pending_outgoing =>
            {
                let limit = self.config.session.max_pending_outgoing;
                let _ = reply.send(Err(SessionError::TooManyPending { limit }));
            }
            command @ Command::Request { .. } => {
                let command = stamp_deadline(command, now, &self.config.session);
                let deadline = deadline_of(&command).unwrap_or(now);
                queue.push_back(Queued { command, deadline });
            }
            other => other.end(Outcome::Disconnected),
        }
    }
}

/// Forwards a command to a connection's driver, refusing it if the driver has just ended.
fn forward(connection: &ConnectionHandle, command: Command) {
    if let Err(command) = connection.send_command(command) {
        command.end(Outcome::Disconnected);
    }
}

/// Ends queued requests whose deadline has passed.
fn expire(queue: &mut VecDeque<Queued>, now: Instant) {
    let mut kept = VecDeque::with_capacity(queue.len());
    for queued in queue.drain(..) {
        if now >= queued.deadline {
            queued.command.end(Outcome::TimedOut);
        } else {
            kept.push_back(queued);
        }
    }
    *queue = kept;
}

/// Fixes a request's total deadline the first time the supervisor sees it: its timeout (or,
/// when progress resets the timeout, its maximum total) from now.
fn stamp_deadline(mut command: Command, now: Instant, session: &SessionConfig) -> Command {
    if let Command::Request { options, deadline: deadline @ None, .. } = &mut command {
        *deadline = Some(now + total_timeout(options, session));
    }
    command
}

/// The longest a call may take in all.
fn total_timeout(options: &RequestOptions, session: &SessionConfig) -> std::time::Duration {
    let timeout = options.timeout.unwrap_or(session.request_timeout);
    if options.reset_timeout_on_progress {
        options.max_total_timeout.unwrap_or(timeout.saturating_mul(10))
    } else {
        timeout
    }
}

/// A request's total deadline, once stamped.
fn deadline_of(command: &Command) -> Option<Instant> {
    match command {
        Command::Request { deadline, .. } => *deadline,
        _ => None,
    }
}

/// A request about to go to a connection, with its timeouts cut to what remains of its total
/// deadline; `None` (and the caller told `TimedOut`) when nothing remains.
fn with_remaining_time(command: Command, now: Instant) -> Option<Command> {
    let Command::Request {
        token,
        method,
        params,
        mut options,
        deadline,
        reply,
        progress,
        retryable,
        related,
    } = command
    else {
        return Some(command);
    };
    if let Some(deadline) = deadline {
        if now >= deadline {
            let _ = reply.send(Ok(Outcome::TimedOut));
            return None;
        }
        let remaining = deadline.saturating_duration_since(now);
        if options.reset_timeout_on_progress {
            options.max_total_timeout = Some(remaining);
            options.timeout = Some(options.timeout.map_or(remaining, |t| t.min(remaining)));
        } else {
            options.timeout = Some(remaining);
        }
    }
    Some(Command::Request {
        token,
        method,
        params,
        options,
        deadline,
        reply,
        progress,
        retryable,
        related,
    })
}

/// How a lost connection counts for the reconnect machine: only a session that closed because
/// the server's version cannot be spoken will fail the same way again, and not even that when
/// the session spoke a remembered era (the server may have changed; the next one probes).
fn disconnect_failure(end: &ConnectionEnd, remembered_era: bool) -> Failure {
    let text = format!("{} ({})", end.reason.reason, end.reason.code.0);
    let refused = end.lifecycle_failure == Some(LifecycleFailure::VersionRefused);
    if end.by == ClosedBy::Session && refused && !remembered_era {
        Failure::Fatal(text)
    } else {
        Failure::Transport(text)
    }
}

/// A jitter seed from the standard library's per-process random hasher keys.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x6d63_702d_7773);
    hasher.finish()
}
