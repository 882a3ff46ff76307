//! Where the recorded fixtures are, for tests.
//!
//! The recorded provider responses, official API specs and test vectors the tests read are other
//! projects' data, so they are not part of this repository: they live in `../shared/fixtures`
//! beside the checkout (or wherever `STEADFAST_FIXTURES` points). A test that needs them starts
//! with
//!
//! ```
//! let Some(root) = steadfast_fixtures::require() else { return };
//! let spec = root.join("openai/openapi.json");
//! # let _ = spec;
//! ```
//!
//! and without them prints one line saying it was skipped, and passes — except under
//! `STEADFAST_REQUIRE_FIXTURES=1` (set by CI), where their absence fails the test.

pub mod post_sink;
pub mod redis;

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// The environment variable that points at the fixtures directory.
pub const DIR_VAR: &str = "STEADFAST_FIXTURES";
/// The environment variable that turns missing fixtures into a failure (`1`).
pub const REQUIRE_VAR: &str = "STEADFAST_REQUIRE_FIXTURES";

/// Where the fixtures should be: `STEADFAST_FIXTURES`, else `../shared/fixtures` beside the
/// workspace root. It may not exist.
///
/// The workspace root is found from the `CARGO_MANIFEST_DIR` that cargo sets when it runs a
/// test (the tested crate is `crates/<name>/`), not from where this crate was compiled: a
/// build shared between two checkouts must look beside the one being tested.
pub fn location() -> PathBuf {
    if let Some(dir) = std::env::var_os(DIR_VAR).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    crate_dir.join("../../../shared/fixtures")
}

/// Whether missing fixtures fail the tests (`STEADFAST_REQUIRE_FIXTURES=1`).
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1")
}

/// The fixtures directory when it exists. When it does not, `None` after printing (once per
/// test, on stderr past the test harness's capture) `skipped: <test>: fixtures not found at <path> (set STEADFAST_FIXTURES)`.
///
/// # Panics
/// When the fixtures are missing and [`required`] — that is the point of the variable.
#[allow(
    clippy::panic,
    reason = "a test helper: CI must fail when its fixtures are missing"
)]
pub fn require() -> Option<PathBuf> {
    let dir = location();
    if dir.is_dir() {
        return Some(dir);
    }
    if required() {
        panic!(
            "the recorded fixtures are required ({REQUIRE_VAR}=1) but not found at {} (set {DIR_VAR})",
            dir.display()
        );
    }
    static SAID: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let mut said = SAID
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if said.get_or_insert_with(HashSet::new).insert(test.clone()) {
        // Straight to the process's stderr: the test harness captures `println!`/`eprintln!` of
        // a passing test, and this line is meant to be seen.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {test}: fixtures not found at {} (set {DIR_VAR})",
            dir.display()
        );
    }
    None
}
