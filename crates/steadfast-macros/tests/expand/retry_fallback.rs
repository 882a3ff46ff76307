// The stack: fallback over the call over retry (each target gets the whole policy).
#[steadfast::fallback(on = [RateLimited], to = "anthropic:claude-3-5-sonnet-latest")]
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(attempts = 3, wait = exponential(multiplier = 1, min = 4, max = 10), on = [RateLimited, Overloaded])]
fn recommend_book(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}
