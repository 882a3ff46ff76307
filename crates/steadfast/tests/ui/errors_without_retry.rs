#[steadfast::call("openai:gpt-4o-mini")]
fn recommend(genre: &str, errors: &[steadfast::Error]) -> steadfast::Result<String> {
    format!("Recommend a {genre} book ({} errors)", errors.len())
}

fn main() {}
