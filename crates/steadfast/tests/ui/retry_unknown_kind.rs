#[steadfast::retry(attempts = 3, on = [RateLimited, TooManyRequests])]
#[steadfast::call("openai:gpt-4o-mini")]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {}
