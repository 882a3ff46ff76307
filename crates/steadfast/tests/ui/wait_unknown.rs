#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(wait = exponentail(min = 4, max = 10))]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {}
