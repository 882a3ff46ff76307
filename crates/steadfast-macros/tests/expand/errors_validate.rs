// Error reinsertion: the errors parameter (here `#[errors]` under another name), a validator on
// the structured output.
#[steadfast::call("openai:gpt-4o-mini", validate = uppercase_author)]
#[steadfast::retry(attempts = 3, wait = none, on = [Validation])]
fn extract_book(text: &str, #[errors] earlier: &[steadfast::Error]) -> steadfast::Result<Book> {
    let mut prompt = format!("Extract the book: {text}");
    for e in earlier {
        prompt.push_str(&format!("\nPreviously: {e}"));
    }
    prompt
}
