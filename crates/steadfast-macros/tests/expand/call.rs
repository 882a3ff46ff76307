// A plain call: a string body, the text out.
#[steadfast::call("openai:gpt-4o-mini", temperature = 0.7, max_tokens = 100)]
pub fn recommend_book(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}
