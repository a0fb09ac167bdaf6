//! The connections `serve` has open: capped in number, and known by socket,
//! so a shutdown can wait for the requests in flight and close the rest.
//!
//! A connection counts as idle until its first request byte arrives. Every
//! response closes its connection, so idle means "accepted, nothing sent yet":
//! such a connection carries no request, and waiting for it would hold a
//! shutdown for the whole head deadline. It is not closed the instant a stop
//! begins, though: a client's first bytes may be in the socket buffer, not yet
//! read by its thread. Only connections idle for `IDLE_AFTER` since their
//! accept are closed, the way Go's `http.Server.Shutdown` treats new ones.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long after its accept a connection that has sent nothing counts as idle during a shutdown.
pub const IDLE_AFTER: Duration = Duration::from_secs(1);

/// How often a draining server looks again for connections that have become idle.
const IDLE_RECHECK: Duration = Duration::from_millis(100);

pub struct Connections {
    max: usize,
    open: Mutex<Open>,
    /// Notified whenever a connection ends.
    ended: Condvar,
}

struct Open {
    next_id: u64,
    by_id: HashMap<u64, Entry>,
}

struct Entry {
    /// A second handle on the connection's socket, for closing it from the draining thread.
    socket: TcpStream,
    accepted: Instant,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Requesting,
    /// Shut down by a drain; its thread sees end-of-stream and ends.
    ClosedIdle,
}

impl Connections {
    pub fn new(max: usize) -> Arc<Connections> {
        Arc::new(Connections {
            max,
            open: Mutex::new(Open {
                next_id: 0,
                by_id: HashMap::new(),
            }),
            ended: Condvar::new(),
        })
    }

    /// Registers `stream` as open, or returns `None` when `max` are open already.
    pub fn admit(self: &Arc<Self>, stream: &TcpStream) -> io::Result<Option<Ticket>> {
        let mut open = self.lock();
        if open.by_id.len() >= self.max {
            return Ok(None);
        }
        let entry = Entry {
            socket: stream.try_clone()?,
            accepted: Instant::now(),
            state: State::Idle,
        };
        let id = open.next_id;
        open.next_id += 1;
        open.by_id.insert(id, entry);
        Ok(Some(Ticket {
            connections: Arc::clone(self),
            id,
        }))
    }

    /// Waits until every connection has ended or `deadline` has passed, closing
    /// idle connections meanwhile, and returns how many are still open.
    pub fn drain(&self, deadline: Option<Instant>) -> usize {
        let mut open = self.lock();
        loop {
            open.close_idle(Instant::now());
            if open.by_id.is_empty() {
                return 0;
            }
            let now = Instant::now();
            let wait = match deadline {
                Some(deadline) if deadline <= now => return open.by_id.len(),
                Some(deadline) => (deadline - now).min(IDLE_RECHECK),
                None => IDLE_RECHECK,
            };
            open = self
                .ended
                .wait_timeout(open, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// A connection thread that panics cannot leave the set half-updated, so a
    /// poisoned lock is still sound to use.
    fn lock(&self) -> MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Open {
    fn close_idle(&mut self, now: Instant) {
        for entry in self.by_id.values_mut() {
            if entry.state == State::Idle && now.duration_since(entry.accepted) >= IDLE_AFTER {
                entry.state = State::ClosedIdle;
                // Wakes the thread blocked reading it: its read returns end-of-stream.
                let _ = entry.socket.shutdown(Shutdown::Both);
            }
        }
    }
}

/// One open connection's place in `Connections`, given up when dropped,
/// including when its thread panics.
pub struct Ticket {
    connections: Arc<Connections>,
    id: u64,
}

impl Ticket {
    /// Marks the connection as carrying a request, once its first byte has been
    /// read; `false` when a drain has already closed it as idle, so the thread
    /// should drop the request rather than answer on a closed socket.
    pub fn begin_request(&self) -> bool {
        let mut open = self.connections.lock();
        match open.by_id.get_mut(&self.id) {
            Some(entry) if entry.state == State::Idle => {
                entry.state = State::Requesting;
                true
            }
            Some(entry) => entry.state == State::Requesting,
            None => false,
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.connections.lock().by_id.remove(&self.id);
        self.connections.ended.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    /// A connected pair: the client end and the server end.
    fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn admission_is_capped_and_released() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let connections = Connections::new(2);
        let (_c1, s1) = pair(&listener);
        let (_c2, s2) = pair(&listener);
        let (_c3, s3) = pair(&listener);
        let first = connections.admit(&s1).unwrap().unwrap();
        let _second = connections.admit(&s2).unwrap().unwrap();
        assert!(connections.admit(&s3).unwrap().is_none());
        drop(first);
        assert!(connections.admit(&s3).unwrap().is_some());
    }

    #[test]
    fn drain_closes_idle_connections_but_waits_for_requests() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let connections = Connections::new(8);
        let (mut idle_client, idle_server) = pair(&listener);
        let (_busy_client, busy_server) = pair(&listener);
        let idle = connections.admit(&idle_server).unwrap().unwrap();
        let busy = connections.admit(&busy_server).unwrap().unwrap();
        assert!(busy.begin_request());

        // The busy one keeps the drain waiting until the deadline.
        let deadline = Instant::now() + IDLE_AFTER + Duration::from_millis(300);
        assert_eq!(connections.drain(Some(deadline)), 2);
        // The idle one was shut down, so its client sees end-of-stream ...
        idle_client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(idle_client.read(&mut [0u8; 1]).unwrap(), 0);
        // ... and its thread, on reading its first byte too late, is told to drop it.
        assert!(!idle.begin_request());

        drop(idle);
        drop(busy);
        assert_eq!(connections.drain(None), 0);
    }
}
