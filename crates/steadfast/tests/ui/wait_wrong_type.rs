use std::time::Duration;

#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(wait = Duration::from_secs(4))]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {}
