//! What the prompt hook adds to each prompt: bash running the hook from `opcp-cred hook bash`
//! a number of times in a shell set up by `eval $(opcp-cred env)`, against the same bash
//! running an empty function as often. The token is current, so each call is the cache hit
//! every prompt pays for.

use std::process::Command;
use std::time::Duration;

use opcp_cred_tests::bins;
use opcp_cred_tests::env::ok;

use crate::procs::{Bench, side_by_side};
use crate::report::{Table, ms};

/// Prompts per bash process: enough that bash's own start-up is a small part.
const PROMPTS: u32 = 50;

pub fn prompt_cost(bench: &Bench, runs: usize, table: &mut Table) -> anyhow::Result<()> {
    let hook = ok(&bench.env.run(["hook", "bash"]));
    let setup = format!(
        "{hook}\neval $('{}' env --profile {})\n",
        bins::client().display(),
        bench.profile
    );
    let bash = |call: &str| {
        let script =
            format!("{setup}noop() {{ :; }}\nfor _ in {{1..{PROMPTS}}}; do {call}; done\n");
        let mut cmd: Command = bench.env.command("bash");
        cmd.args(["--norc", "-c", &script]);
        cmd
    };
    let (with_hook, without) = side_by_side(runs, || bash("_opcp_cred_hook"), || bash("noop"))?;
    let per_prompt = with_hook.saturating_sub(without) / PROMPTS;
    table.row(
        &format!("prompt hook (bash), added per prompt, median of {runs}×{PROMPTS}"),
        ms(per_prompt),
        format!("target {}", ms(Duration::from_millis(5))),
        format!("{:.1}× under", 5.0 / (per_prompt.as_secs_f64() * 1000.0)),
    );
    Ok(())
}
