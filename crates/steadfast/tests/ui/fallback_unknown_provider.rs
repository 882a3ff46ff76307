#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::fallback(to = "antropic:claude-3-5-sonnet-latest")]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {}
