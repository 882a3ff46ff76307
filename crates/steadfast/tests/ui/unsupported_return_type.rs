#[steadfast::call("openai:gpt-4o-mini")]
fn recommend(genre: &str) -> String {
    format!("Recommend a {genre} book")
}

fn main() {}
