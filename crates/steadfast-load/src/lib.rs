//! `steadfast-load`: the load, floor and soak harness of Steadfast.
//!
//! - `steadfast-load calls`: N non-streaming logical calls at concurrency C through
//!   `call.retry(policy)` (zero waits) against a `steadfast-sim` **process** whose scenario
//!   answers 20% of requests with 429 + `retry-after: 0` (seeded), beside the floor — bare
//!   `reqwest` POSTs of the same body, a `serde_json` parse and the same retry loop by hand — and
//!   optionally the Python peers (`../shared/peers/bench_peer.py --child ...`) against the same
//!   simulator. Each phase runs in a fresh worker process; it reports calls/s, client CPU per
//!   HTTP request (user + system, all threads), peak RSS, the requests the simulator journaled and
//!   HTTP requests per logical call.
//! - `steadfast-load stream`: N streams of a long answer; answer bytes/s, CPU per stream and per
//!   event, and memory per open stream (many held open at once).
//! - `steadfast-load soak`: a bounded soak under ~30% mixed faults through retry + fallback +
//!   circuit breakers, with the accounting check (attempt histories = journaled requests) and
//!   task / fd / RSS samples.
//! - `steadfast-load fleet`: N client processes sharing one simulated provider quota through a
//!   client quota in Redis (or one per process, or none), optionally with Redis killed, stopped
//!   or restarted mid-run; see [`fleet`].
//! - `steadfast-load gateway`: what `steadfast gateway` adds to a call — direct to the simulator
//!   vs through a bare hyper proxy (`proxy-floor`), the gateway (optionally with its quota in
//!   Redis and its access log on) and LiteLLM's proxy; added p50/p99, proxy CPU per request,
//!   RSS, memory per open stream; see [`gateway`].
//! - `--telemetry none|noop|memory` (calls, stream): what listens to the library's spans in its
//!   worker, to measure their cost (the floor never has a subscriber).
//!
//! Only loopback URLs are accepted; every run is bounded in calls and in time. CPU and memory
//! figures come from Linux `/proc`.

pub mod bench;
pub mod calls;
pub mod cli;
pub mod fleet;
pub mod floor;
pub mod gateway;
pub mod procstat;
pub mod sim;
pub mod soak;
pub mod streams;
pub mod telemetry;
pub mod worker;
pub mod workload;
