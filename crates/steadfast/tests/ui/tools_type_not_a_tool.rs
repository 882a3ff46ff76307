/// Not a tool: neither `Deserialize` nor `JsonSchema`.
struct FormatBook {
    title: String,
}

#[steadfast::call("openai:gpt-4o-mini", tools = [FormatBook])]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {}
