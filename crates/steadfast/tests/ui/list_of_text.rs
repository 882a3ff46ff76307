#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::prompt_template("USER: {previous:list} Recommend a {genre} book")]
async fn recommend(genre: &str, previous: &str) -> steadfast::Result<String>;

fn main() {}
