#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(attempts = 3)]
fn recommend(genre: &str, #[errors] previous: Vec<String>) -> steadfast::Result<String> {
    format!("Recommend a {genre} book, not {previous:?}")
}

fn main() {}
