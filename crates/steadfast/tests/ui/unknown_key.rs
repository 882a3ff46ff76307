#[steadfast::call("openai:gpt-4o-mini", temprature = 0.7)]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {}
