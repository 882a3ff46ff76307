// Tools: a type (named `format_book`, described by its doc comment) and an expression.
#[steadfast::call("openai:gpt-4o-mini", tools = [FormatBook, lookup_tool()], tool_choice = steadfast::ToolChoice::Required)]
fn shelve_book(title: &str) -> steadfast::Result<steadfast::Response> {
    format!("Shelve {title}")
}
