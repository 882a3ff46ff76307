struct Librarian;

impl Librarian {
    #[steadfast::call("openai:gpt-4o-mini")]
    fn recommend(&self, genre: &str) -> steadfast::Result<String> {
        format!("Recommend a {genre} book")
    }
}

fn main() {}
