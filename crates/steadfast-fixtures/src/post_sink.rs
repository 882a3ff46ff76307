//! A loopback HTTP/1.1 server that answers `200` to every request and hands over what was
//! posted — the receiving end for exporter tests (OTLP/HTTP), which then decode the bodies with
//! the official types. It reads `content-length` bodies only, which is what those clients send.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;

/// One request: its path and its body.
pub type Posted = (String, Vec<u8>);

/// Starts the sink on `127.0.0.1:0`: its base URL (`http://127.0.0.1:PORT`) and the requests it
/// received, in order.
///
/// # Errors
/// When no loopback port can be bound.
pub fn start() -> std::io::Result<(String, mpsc::Receiver<Posted>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || serve(conn, &tx));
        }
    });
    Ok((url, rx))
}

/// Answers the requests of one connection until it closes or breaks.
fn serve(mut conn: TcpStream, tx: &mpsc::Sender<Posted>) -> Option<()> {
    let mut reader = BufReader::new(conn.try_clone().ok()?);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return Some(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).ok()? == 0 || header == "\r\n" {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().ok()?;
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        // Handed over before the answer: when the client has its answer, the body is here.
        tx.send((path, body)).ok()?;
        conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .ok()?;
    }
}
