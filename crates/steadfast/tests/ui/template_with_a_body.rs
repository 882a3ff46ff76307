#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::prompt_template("Recommend a {genre} book")]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {}
