#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::prompt_template("USER: {errors:list} Recommend a {genre} book")]
async fn recommend(genre: &str, errors: &str) -> steadfast::Result<String>;

fn main() {}
