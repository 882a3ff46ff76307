//! Prints the capability table of every registered provider (the README's table is checked
//! against the same data by `tests/capabilities.rs`).

fn main() {
    println!(
        "| provider | tools | streaming tools | JSON-schema output | images | seed | penalties |"
    );
    println!("|---|---|---|---|---|---|---|");
    let yes = |b: bool| if b { "yes" } else { "no" };
    for name in steadfast::llm::names() {
        if let Ok(p) = steadfast::llm::provider(&name) {
            let c = p.capabilities();
            println!(
                "| `{name}` | {} | {} | {} | {} | {} | {} |",
                yes(c.tools),
                yes(c.streaming_tools),
                yes(c.json_schema_output),
                yes(c.images),
                yes(c.seed),
                yes(c.penalties)
            );
        }
    }
}
