//! The simulator the load runs against: a `steadfast-sim` process this harness starts (so the
//! server's CPU is not mixed with the client's), or one already running on loopback. Control goes
//! through its HTTP control plane (`/__sim/*`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use steadfast_sim::Scenario;

/// A simulator reachable on loopback; kills the process it started when dropped.
#[derive(Debug)]
pub struct Sim {
    url: String,
    child: Option<Child>,
    http: reqwest::Client,
}

/// What the simulator's journal says about a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalSummary {
    /// Requests received since the last reset (the highest sequence number).
    pub requests: u64,
    /// Entries the journal still holds (at most 100,000; fewer than `requests` beyond that).
    pub retained: u64,
    /// Retained requests for the model of interest (when one was given).
    pub for_model: u64,
    /// Retained requests answered with an HTTP status ≥ 400 or reset (status 0).
    pub failed: u64,
    /// Retained requests per scenario rule that decided them (`-` for none: the model answered).
    pub by_rule: BTreeMap<String, u64>,
}

impl JournalSummary {
    /// Whether the journal dropped entries (so `for_model` and `failed` cover only the latest
    /// 100,000 requests).
    pub fn truncated(&self) -> bool {
        self.retained < self.requests
    }
}

/// The fields of a journal entry this harness reads.
#[derive(Debug, serde::Deserialize)]
struct Entry {
    seq: u64,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    status: u16,
    #[serde(default)]
    rule: Option<u64>,
}

/// Only loopback addresses: this harness never sends load anywhere else.
pub fn check_loopback(url: &str) -> Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("invalid URL `{url}`"))?;
    match parsed.host_str() {
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1") => Ok(()),
        other => bail!(
            "refusing to send load to {}: only loopback (127.0.0.1, localhost, ::1) is allowed",
            other.unwrap_or("(no host)")
        ),
    }
}

fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .context("building the control-plane HTTP client")
}

/// The `steadfast-sim` binary next to this executable (same cargo profile directory).
pub fn default_sim_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    // Integration tests and benches live in `deps/`; the binaries one level up.
    [dir.join("steadfast-sim"), dir.join("../steadfast-sim")]
        .into_iter()
        .find(|p| p.is_file())
}

impl Sim {
    /// Starts `bin --addr 127.0.0.1:0 --quiet [--threads N]` and waits for the address it prints.
    ///
    /// # Errors
    /// The binary cannot be started or prints no address.
    pub fn spawn(bin: &Path, threads: Option<usize>) -> Result<Sim> {
        let mut cmd = Command::new(bin);
        cmd.args(["--addr", "127.0.0.1:0", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(n) = threads {
            cmd.args(["--threads", &n.to_string()]);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting the simulator {}", bin.display()))?;
        let stdout = child
            .stdout
            .take()
            .context("the simulator's standard output")?;
        let mut url = None;
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let line = line.context("reading the simulator's output")?;
            if let Some(base) = line.strip_prefix("export OPENAI_BASE_URL=") {
                url = base.strip_suffix("/openai/v1").map(str::to_owned);
                break;
            }
        }
        // Keep reading: a closed pipe would make the simulator's next print fail.
        std::thread::spawn(move || lines.for_each(drop));
        let Some(url) = url else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the simulator printed no OPENAI_BASE_URL line");
        };
        Ok(Sim {
            url,
            child: Some(child),
            http: http_client()?,
        })
    }

    /// A simulator already running at `url` (its root, e.g. `http://127.0.0.1:8080`).
    ///
    /// # Errors
    /// The URL is not a loopback URL.
    pub fn external(url: &str) -> Result<Sim> {
        check_loopback(url)?;
        Ok(Sim {
            url: url.trim_end_matches('/').to_owned(),
            child: None,
            http: http_client()?,
        })
    }

    /// The root URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The operating-system id of the simulator process this harness started.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Replaces the scenario (rule counters restart).
    ///
    /// # Errors
    /// The simulator rejects it or cannot be reached.
    pub async fn set_scenario(&self, scenario: &Scenario) -> Result<()> {
        let body = serde_json::to_string(scenario).context("serialising the scenario")?;
        let resp = self
            .http
            .post(format!("{}/__sim/scenario", self.url))
            .body(body)
            .send()
            .await
            .context("POST /__sim/scenario")?;
        if !resp.status().is_success() {
            bail!(
                "the simulator rejected the scenario: {}",
                resp.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }

    /// Clears the journal and every counter.
    ///
    /// # Errors
    /// The simulator cannot be reached.
    pub async fn reset(&self) -> Result<()> {
        self.http
            .post(format!("{}/__sim/reset", self.url))
            .send()
            .await
            .context("POST /__sim/reset")?
            .error_for_status()
            .context("POST /__sim/reset")?;
        Ok(())
    }

    /// Waits until `/__sim/health` answers.
    ///
    /// # Errors
    /// No answer within ten seconds.
    pub async fn wait_healthy(&self) -> Result<()> {
        for _ in 0..100 {
            if let Ok(r) = self
                .http
                .get(format!("{}/__sim/health", self.url))
                .send()
                .await
            {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the simulator at {} does not answer", self.url)
    }

    /// The journal as the control plane serves it (JSON).
    async fn journal_bytes(&self) -> Result<bytes::Bytes> {
        self.http
            .get(format!("{}/__sim/journal", self.url))
            .send()
            .await
            .context("GET /__sim/journal")?
            .bytes()
            .await
            .context("reading the journal")
    }

    /// Reads the journal: requests since the last reset, and how many were for `model`.
    ///
    /// # Errors
    /// The simulator cannot be reached or answers something that is not a journal.
    pub async fn journal(&self, model: Option<&str>) -> Result<JournalSummary> {
        let bytes = self.journal_bytes().await?;
        // Only the fields counted here are kept (the rest is skipped without allocating), so a
        // journal of 100,000 entries does not inflate this process's memory — which a child
        // process would inherit as its `ru_maxrss`.
        let entries: Vec<Entry> = serde_json::from_slice(&bytes).context("parsing the journal")?;
        drop(bytes);
        let mut s = JournalSummary {
            retained: entries.len() as u64,
            ..JournalSummary::default()
        };
        for e in entries {
            s.requests = s.requests.max(e.seq);
            if model.is_some() && e.model.as_deref() == model {
                s.for_model += 1;
            }
            if e.status == 0 || e.status >= 400 {
                s.failed += 1;
            }
            let rule = e.rule.map_or_else(|| "-".to_owned(), |r| r.to_string());
            *s.by_rule.entry(rule).or_default() += 1;
        }
        Ok(s)
    }

    /// When each journaled request arrived (Unix ms) and the status it was answered with, in
    /// arrival order.
    ///
    /// # Errors
    /// The simulator cannot be reached or answers something that is not a journal.
    pub async fn arrivals(&self) -> Result<Vec<(u64, u16)>> {
        #[derive(serde::Deserialize)]
        struct Arrival {
            received_ms: u64,
            #[serde(default)]
            status: u16,
        }
        let bytes = self.journal_bytes().await?;
        let entries: Vec<Arrival> =
            serde_json::from_slice(&bytes).context("parsing the journal")?;
        let mut out: Vec<(u64, u16)> = entries
            .into_iter()
            .map(|e| (e.received_ms, e.status))
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// The last journaled request body (what a client sent), if any.
    ///
    /// # Errors
    /// The simulator cannot be reached.
    pub async fn last_body(&self) -> Result<Option<String>> {
        let bytes = self.journal_bytes().await?;
        let v: Value = serde_json::from_slice(&bytes).context("parsing the journal")?;
        Ok(v.as_array()
            .and_then(|a| a.last())
            .and_then(|e| e["body"].as_str())
            .map(str::to_owned))
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
