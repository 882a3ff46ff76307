#[steadfast::prompt_template("Recommend a {genre:upper} book")]
fn recommend(genre: &str) -> steadfast::Result<steadfast::Prompt>;

fn main() {}
