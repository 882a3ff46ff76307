#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::fallback(to = "openai:gpt-4o")]
#[steadfast::fallback(to = "anthropic:claude-3-5-sonnet-latest")]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {}
