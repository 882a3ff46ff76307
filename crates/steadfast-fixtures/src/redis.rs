//! A real `redis-server` for tests, started on a free loopback port and stopped on drop.
//!
//! Policy (the same for every test that needs Redis):
//!
//! - [`shared`]: a server the test may use but not harm. `STEADFAST_REDIS_URL` when set (CI's
//!   `.ci/run` starts one and sets it); otherwise a server of the test's own when the
//!   `redis-server` binary is on `PATH`.
//! - [`own`]: a server the test may stop, freeze or restart — always its own, so the binary must
//!   be installed.
//!
//! When neither is possible the test prints `skipped: <test>: STEADFAST_REDIS_URL unset and no
//! redis-server` and passes — except with `CI` set or `STEADFAST_REQUIRE_REDIS=1`, where it
//! fails: in CI these tests must run.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The variable naming a Redis the tests may share (`redis://127.0.0.1:PORT`).
pub const URL_VAR: &str = "STEADFAST_REDIS_URL";
/// The variable that turns a missing Redis into a failure (`1`); `CI` does too.
pub const REQUIRE_VAR: &str = "STEADFAST_REQUIRE_REDIS";

/// A Redis for a test: its URL, and the server when the test started it.
#[derive(Debug)]
pub struct Redis {
    /// Where it listens.
    pub url: String,
    /// The server this test started, if it did (dropped with it).
    pub server: Option<RedisServer>,
}

/// Whether a missing Redis fails the test.
pub fn required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1")
}

/// A Redis the test may use but not harm; see the [module](self) docs.
pub fn shared() -> Option<Redis> {
    if let Some(url) = std::env::var(URL_VAR).ok().filter(|u| !u.is_empty()) {
        return Some(Redis { url, server: None });
    }
    own().map(|server| Redis {
        url: server.url(),
        server: Some(server),
    })
}

/// A server of the test's own; see the [module](self) docs.
///
/// # Panics
/// When there is no `redis-server` and [`required`], or when the server does not start.
#[allow(
    clippy::panic,
    reason = "a test helper: CI must fail when Redis is missing"
)]
pub fn own() -> Option<RedisServer> {
    if Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        let test = std::thread::current()
            .name()
            .unwrap_or("a test")
            .to_string();
        if required() {
            panic!(
                "{test}: Redis is required (CI or {REQUIRE_VAR}=1) but redis-server is not installed"
            );
        }
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {test}: {URL_VAR} unset and no redis-server"
        );
        return None;
    }
    match RedisServer::start() {
        Ok(server) => Some(server),
        Err(e) => panic!("redis-server did not start: {e}"),
    }
}

/// A `redis-server` child process on a loopback port, without persistence. Killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one on a free port (found by binding port 0 and closing it; retried if the port is
    /// taken in between).
    ///
    /// # Errors
    /// When no server answers `PING` after a few tries.
    pub fn start() -> std::io::Result<RedisServer> {
        let mut last = None;
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let mut server = RedisServer { port, child: None };
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("redis-server did not start")))
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        // Bounded: 500 tries 10 ms apart.
        for _ in 0..500 {
            if self.ping() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    return Err(std::io::Error::other(format!(
                        "redis-server exited: {status}"
                    )));
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
        Err(std::io::Error::other("redis-server never answered PING"))
    }

    fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    /// Kills it (SIGKILL) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (empty: no persistence), after [`kill`](Self::kill).
    ///
    /// # Errors
    /// When it does not answer `PING`.
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.kill();
        self.spawn()
    }

    /// Freezes it (SIGSTOP): connections stay open, nothing answers.
    pub fn freeze(&self) -> std::io::Result<()> {
        self.signal("-STOP")
    }

    /// Thaws it after [`freeze`](Self::freeze) (SIGCONT).
    pub fn thaw(&self) -> std::io::Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, signal: &str) -> std::io::Result<()> {
        let pid = self
            .pid()
            .ok_or_else(|| std::io::Error::other("redis-server is not running"))?;
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "kill {signal} {pid}: {status}"
            )))
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // A frozen server would ignore nothing but SIGKILL anyway; thaw first to be tidy.
        let _ = self.thaw();
        self.kill();
    }
}

/// Sends one command to the Redis at `url` (`redis://host:port[/…]`, no password) over a plain
/// connection and returns the first line of its reply (`+OK`, `:42`, `-ERR …`; for a bulk string
/// the string itself). For test set-up and inspection only.
///
/// # Errors
/// When the URL has no host:port, or the connection fails.
pub fn command(url: &str, args: &[&str]) -> std::io::Result<String> {
    let authority = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?'])
        .next()
        .unwrap_or_default();
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(request.as_bytes())?;
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    let mut lines = 0;
    loop {
        stream.read_exact(&mut byte)?;
        reply.push(byte[0]);
        if reply.ends_with(b"\r\n") {
            lines += 1;
            let first = reply.first().copied();
            // A bulk string ($len) has its value on the next line; `$-1` (nil) does not.
            if lines == 2 || first != Some(b'$') || reply.starts_with(b"$-1") {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&reply).into_owned();
    Ok(match text.strip_prefix('$') {
        Some(bulk) => bulk
            .split_once("\r\n")
            .map_or("", |(_, value)| value)
            .trim_end()
            .to_owned(),
        None => text.trim_end().to_owned(),
    })
}
