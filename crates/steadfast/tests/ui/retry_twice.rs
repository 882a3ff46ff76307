#[steadfast::retry(attempts = 2)]
#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(on = [RateLimited])]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {}
