// A template under the call (a body-less async function, the response out), and on its own.
#[steadfast::call("anthropic:claude-3-5-sonnet-latest", max_tokens = 256)]
#[steadfast::prompt_template("SYSTEM: You are a librarian.\nUSER: {previous:list}\nRecommend a {genre} book")]
async fn recommend_book(genre: &str, previous: Vec<String>) -> steadfast::Result<steadfast::Response>;

#[steadfast::prompt_template("USER: {previous:list}\nRecommend a {genre} book")]
fn book_prompt(genre: &str, previous: Vec<String>) -> steadfast::Result<steadfast::Prompt>;
