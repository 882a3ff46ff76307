// `custom = true` accepts a provider registered at run time; this file must compile.
#[steadfast::call("my-gateway:some-model", custom = true)]
fn recommend(genre: &str) -> steadfast::Result<String> {
    format!("Recommend a {genre} book")
}

fn main() {
    let _ = recommend::TARGET;
}
