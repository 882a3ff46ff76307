#[steadfast::retry(attempts = 3)]
fn recommend(genre: &str) -> String {
    format!("Recommend a {genre} book")
}

fn main() {}
