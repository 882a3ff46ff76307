#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(attempts = 3, backoff = 2)]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {}
