#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::fallback(on = [RateLimited], target = "anthropic:claude-3-5-sonnet-latest")]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {}
