#[steadfast::call("openai:gpt-4o-mini", seed = 1, seed = 2)]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {}
