//! Text the `steadfast-sim` binary and `steadfast sim` print: base URLs and environment exports.

use crate::provider::Dialect;
use crate::server::Simulator;

/// The API key value printed in the exports (any non-empty key is accepted unless the scenario
/// sets `require_key`).
pub const DEFAULT_KEY: &str = "sk-sim";

/// A human-readable description of a running simulator: its address, scenario, the base URL of
/// each provider, and `export` lines for the environment variables SDKs read.
pub fn describe(sim: &Simulator) -> String {
    let scenario = sim.scenario();
    let key = scenario
        .require_key
        .clone()
        .unwrap_or_else(|| DEFAULT_KEY.to_owned());
    let mut out = format!("steadfast-sim listening on {}\n", sim.url());
    if let Some(name) = &scenario.name {
        out.push_str(&format!(
            "scenario: {name} ({} rules)\n",
            scenario.rules.len()
        ));
    } else {
        out.push_str(&format!(
            "scenario: {} rules (no match = deterministic model)\n",
            scenario.rules.len()
        ));
    }
    out.push_str("\nbase URLs:\n");
    for p in Dialect::ALL {
        out.push_str(&format!("  {:<16} {}\n", p.name(), sim.base_url(p)));
    }
    out.push_str("\ncontrol plane: GET /__sim/journal, POST /__sim/reset, POST /__sim/scenario, GET /__sim/health\n");
    out.push_str("\n# environment for the official SDKs:\n");
    out.push_str(&exports(sim, &key));
    out
}

/// Only the `export NAME=value` lines (one base URL and one key per provider, plus
/// `OPENAI_API_VERSION` for Azure and dummy AWS credentials for boto3).
pub fn exports(sim: &Simulator, key: &str) -> String {
    let mut out = String::new();
    for p in Dialect::ALL {
        let vars = p.env_vars();
        out.push_str(&format!("export {}={}\n", vars.base_url, sim.base_url(p)));
        out.push_str(&format!("export {}={}\n", vars.api_key, key));
    }
    out.push_str("export OPENAI_API_VERSION=2024-10-21\n");
    out.push_str("export AWS_ACCESS_KEY_ID=AKIDSIMULATOR\nexport AWS_SECRET_ACCESS_KEY=simulator-secret\nexport AWS_REGION=us-east-1\n");
    out
}
