#[steadfast::call("openai:gpt-4o-mini")]
#[steadfast::retry(attempts = 3)]
fn recommend(
    genre: &str,
    errors: &[steadfast::Error],
    #[errors] earlier: &[steadfast::Error],
) -> steadfast::Result<String> {
    format!("Recommend a {genre} book ({} and {} errors)", errors.len(), earlier.len())
}

fn main() {}
