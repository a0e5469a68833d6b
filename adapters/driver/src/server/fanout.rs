//! Fan-out of change notifications across server nodes.
//!
//! A [`super::Server`] delivers what it publishes ([`super::Notifier`]) to its own sessions
//! itself, at once, and hands the same [`ChangeEvent`] to its [`Fanout`], whose job is to
//! bring it to every *other* node; each node then delivers it to its own subscribed sessions.
//! A fan-out therefore never returns a node's own events to it, and a broken fan-out (a lost
//! broker connection) stops only the cross-node part: local delivery goes on.
//!
//! - [`LocalBus`]: the in-process fan-out, the default. Every server has its own unless it is
//!   given a node of a shared bus, which links servers in one process (tests, several
//!   listeners).
//! - A Redis pub/sub fan-out lives in `mcp-ws-tokio` behind its `redis` feature.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::subscriptions::ChangeEvent;

/// Where a node's fan-out hands the events other nodes published.
pub type Deliver = Arc<dyn Fn(ChangeEvent) + Send + Sync>;

/// Carries change events between the nodes that serve one MCP server.
pub trait Fanout: Send + Sync + 'static {
    /// Sends `event`, published on this node, to the other nodes. Must not block: an
    /// implementation that talks to a broker queues (bounded) and sends from its own task.
    fn publish(&self, event: &ChangeEvent);

    /// Registers where events from other nodes go. Called once, by the server the fan-out is
    /// given to ([`super::Server::with_fanout`]); `deliver` may be called from any thread.
    fn attach(&self, deliver: Deliver);
}

/// An in-process fan-out: the nodes made with [`LocalBus::node`] hear each other's events.
#[derive(Clone, Default)]
pub struct LocalBus {
    nodes: Arc<Mutex<Vec<(u64, Deliver)>>>,
    next: Arc<AtomicU64>,
}

impl std::fmt::Debug for LocalBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nodes = self.nodes.lock().expect("lock").len();
        f.debug_struct("LocalBus").field("attached", &nodes).finish()
    }
}

impl LocalBus {
    /// A bus with no nodes.
    pub fn new() -> Self {
        LocalBus::default()
    }

    /// A new node on this bus, to give to one server.
    pub fn node(&self) -> LocalNode {
        LocalNode { bus: self.clone(), id: self.next.fetch_add(1, Ordering::Relaxed) }
    }
}

/// One server's place on a [`LocalBus`]. Dropping it detaches the server.
#[derive(Debug)]
pub struct LocalNode {
    bus: LocalBus,
    id: u64,
}

impl Fanout for LocalNode {
    fn publish(&self, event: &ChangeEvent) {
        // Called outside the lock: a delivery may publish in turn.
        let others: Vec<Deliver> = {
            let nodes = self.bus.nodes.lock().expect("lock");
            nodes.iter().filter(|(id, _)| *id != self.id).map(|(_, d)| d.clone()).collect()
        };
        for deliver in others {
            deliver(event.clone());
        }
    }

    fn attach(&self, deliver: Deliver) {
        self.bus.nodes.lock().expect("lock").push((self.id, deliver));
    }
}

impl Drop for LocalNode {
    fn drop(&mut self) {
        self.bus.nodes.lock().expect("lock").retain(|(id, _)| *id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::subscriptions::ListKind;

    fn recorder() -> (Deliver, Arc<Mutex<Vec<ChangeEvent>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        (Arc::new(move |event| sink.lock().unwrap().push(event)), seen)
    }

    #[test]
    fn a_node_hears_the_others_but_not_itself_and_a_dropped_node_hears_nothing() {
        let bus = LocalBus::new();
        let (a, b, c) = (bus.node(), bus.node(), bus.node());
        let (deliver_a, seen_a) = recorder();
        let (deliver_b, seen_b) = recorder();
        let (deliver_c, seen_c) = recorder();
        a.attach(deliver_a);
        b.attach(deliver_b);
        c.attach(deliver_c);
        let event = ChangeEvent::ListChanged { list: ListKind::Tools };
        a.publish(&event);
        assert!(seen_a.lock().unwrap().is_empty());
        assert_eq!(*seen_b.lock().unwrap(), vec![event.clone()]);
        assert_eq!(*seen_c.lock().unwrap(), vec![event.clone()]);
        drop(c);
        b.publish(&event);
        assert_eq!(seen_a.lock().unwrap().len(), 1);
        assert_eq!(seen_c.lock().unwrap().len(), 1);
    }
}
