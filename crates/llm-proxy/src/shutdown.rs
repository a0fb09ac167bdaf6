//! SIGTERM and SIGINT: the signals that stop `serve` gracefully.
//!
//! Kubernetes stops a pod with SIGTERM and, after the pod's
//! `terminationGracePeriodSeconds`, SIGKILL. The service runs as PID 1 of a
//! `FROM scratch` image, and the kernel delivers no signal to PID 1 that has no
//! handler for it, so without this module SIGTERM did nothing and every pod
//! waited out the whole grace period. This is the only file that knows about
//! signals: a thread receives them (through signal-hook, so no `unsafe` here)
//! and turns the first one into `StopHandle::stop`.

use std::io;
use std::thread;
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::server::StopHandle;

/// How long requests in flight get to finish after SIGTERM or SIGINT before
/// the process exits anyway (`serve --shutdown-timeout` overrides it).
///
/// The chart's `terminationGracePeriodSeconds` must be larger than this, so
/// the service ends itself before the kubelet's SIGKILL.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Handles SIGTERM and SIGINT from now on: the first one stops the server,
/// later ones only say that it is stopping already.
///
/// Call it before announcing the service as ready, so that no signal can
/// arrive while the default action (terminate at once) still applies.
pub fn stop_on_signals(stop: StopHandle, shutdown_timeout: Duration) -> io::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGINT])?;
    thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut received = signals.forever();
            if let Some(signal) = received.next() {
                eprintln!(
                    "llm-proxy: {} received: refusing new connections, \
                     waiting up to {}s for requests in flight",
                    name(signal),
                    shutdown_timeout.as_secs()
                );
                stop.stop();
            }
            for signal in received {
                eprintln!("llm-proxy: {} received: already stopping", name(signal));
            }
        })?;
    Ok(())
}

fn name(signal: i32) -> &'static str {
    match signal {
        SIGTERM => "SIGTERM",
        SIGINT => "SIGINT",
        _ => "signal",
    }
}
