//! The embedded simulator: pointing a call at it.

use anyhow::Context;
use steadfast::Call;
use steadfast_sim::{Dialect, Scenario, Simulator};

/// The simulator provider that serves a Steadfast provider's protocol.
pub(crate) fn sim_provider(name: &str) -> anyhow::Result<Dialect> {
    let sim_name = match name {
        // Local OpenAI-compatible servers speak plain OpenAI.
        "ollama" | "vllm" => "openai",
        other => other,
    };
    sim_name
        .parse::<Dialect>()
        .map_err(|_| anyhow::anyhow!("the simulator does not speak the `{name}` protocol"))
}

/// Loads a scenario file, or the default (no faults).
pub(crate) fn load_scenario(path: Option<&std::path::Path>) -> anyhow::Result<Scenario> {
    match path {
        Some(p) => Scenario::from_path(p)
            .with_context(|| format!("could not load scenario {}", p.display())),
        None => Ok(Scenario::default()),
    }
}

/// Points `call` at `sim`, with a stand-in key when none is configured.
pub(crate) fn point_at(call: Call, sim: &Simulator) -> anyhow::Result<Call> {
    let provider = sim_provider(call.provider_name())?;
    let mut call = call.base_url(sim.base_url(provider));
    if call.client().api_key.is_none() {
        call = call.api_key("sim-key");
    }
    Ok(call)
}
