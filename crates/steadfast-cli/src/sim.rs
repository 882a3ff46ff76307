//! `steadfast sim`: the simulator as a server for testing any application.

use std::process::ExitCode;

use anyhow::Context;
use steadfast_sim::Simulator;

use crate::args::SimArgs;
use crate::embedded::load_scenario;

pub(crate) async fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let scenario = load_scenario(args.scenario.as_deref())?;
    let sim = Simulator::start_on(args.addr, scenario)
        .await
        .with_context(|| format!("could not start the simulator on {}", args.addr))?;
    println!("{}", steadfast_sim::describe(&sim));
    tokio::signal::ctrl_c()
        .await
        .context("could not wait for Ctrl-C")?;
    sim.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
