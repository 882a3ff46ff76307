#[steadfast::call("openai:gpt-4o-mini")]
fn recommend(genre: &str) -> steadfast::Result<String> {
    genre.len()
}

fn main() {}
