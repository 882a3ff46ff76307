//! `steadfast-load proxy-floor`: a bare HTTP/1.1 reverse proxy on hyper doing no work — no
//! parsing, no routing, no policy: each request is sent as it came (path, headers, streamed
//! body) to the upstream over a pooled connection, and the response streamed back. The floor
//! the gateway's CPU per proxied request is compared with.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// Arguments of `steadfast-load proxy-floor`.
#[derive(Debug, Clone, clap::Args)]
pub struct FloorArgs {
    /// The upstream's root URL (loopback), e.g. http://127.0.0.1:PORT.
    #[arg(long)]
    pub upstream: String,
    /// Where to listen (port 0: any free port; printed as `floor: http://ADDR`).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
}

/// Serves until killed.
///
/// # Errors
/// The upstream URL is not loopback, or the address cannot be bound.
pub async fn serve(args: FloorArgs) -> Result<()> {
    crate::sim::check_loopback(&args.upstream)?;
    let upstream: Uri = args.upstream.parse().context("the upstream URL")?;
    let authority = upstream
        .authority()
        .context("the upstream URL has no host")?
        .clone();
    let client: Client<HttpConnector, Incoming> =
        Client::builder(TokioExecutor::new()).build_http();
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    println!("floor: http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let client = client.clone();
        let authority = authority.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |mut req: Request<Incoming>| {
                let client = client.clone();
                let authority = authority.clone();
                async move {
                    let mut parts = req.uri().clone().into_parts();
                    parts.scheme = Some(hyper::http::uri::Scheme::HTTP);
                    parts.authority = Some(authority);
                    if let Ok(uri) = Uri::from_parts(parts) {
                        *req.uri_mut() = uri;
                    }
                    req.headers_mut().remove(hyper::header::HOST);
                    client.request(req).await
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
