#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::prompt_template("Recommend a {genre} book by {author}")]
async fn recommend(genre: &str) -> steadfast::Result<String>;

fn main() {}
