#[steadfast::fallback(on = [RateLimit], to = "anthropic:claude-3-5-sonnet-latest")]
#[steadfast::call("openai:gpt-4o-mini")]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {}
