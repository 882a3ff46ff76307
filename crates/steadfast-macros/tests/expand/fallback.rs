// A fallback alone (one attempt per target), two backups, under the call.
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::fallback(on = [RateLimited, Overloaded], to = ["openai:gpt-4o", "anthropic:claude-3-5-sonnet-latest"])]
fn recommend_book(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}
