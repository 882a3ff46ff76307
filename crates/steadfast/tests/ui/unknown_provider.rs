#[steadfast::call("opnai:gpt-4o-mini")]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {}
