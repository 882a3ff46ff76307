//! `steadfast gateway`: a bad config names its line; `--sim` prints its URLs and answers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[test]
fn a_bad_config_is_refused_naming_the_line() {
    let dir = std::env::temp_dir().join(format!("steadfast-gw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gateway.toml");
    std::fs::write(
        &path,
        "[models.fast]\ntargets = [\"openai:gpt-4o-mini\"]\nretry_on = [\"rate-limited\", \"often\"]\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args(["gateway", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 3, column 29"), "{err}");
    assert!(err.contains("unknown error kind `often`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sim_mode_prints_its_urls_and_answers_any_provider_model() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args(["gateway", "--sim", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first.strip_prefix("gateway: http://").unwrap().to_owned();
    let second = lines.next().unwrap().unwrap();
    assert!(
        second.starts_with("simulator: http://127.0.0.1:"),
        "{second}"
    );

    let body = r#"{"model":"cohere:command-r-plus","messages":[{"role":"user","content":"hi"}]}"#;
    let mut conn = TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer anything\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("x-steadfast-target: cohere:command-r-plus"),
        "{answer}"
    );
    assert!(answer.contains("\"content\":\"Echo: hi\""), "{answer}");
}
