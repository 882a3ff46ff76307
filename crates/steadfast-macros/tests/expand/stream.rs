// A stream, from message builders.
#[steadfast::call("openai:gpt-4o-mini", max_tokens = 50)]
fn stream_book(genre: &str) -> steadfast::Result<steadfast::ResponseStream> {
    [
        steadfast::Message::system("Be terse."),
        steadfast::Message::user(format!("Recommend a {genre} book")),
    ]
}
