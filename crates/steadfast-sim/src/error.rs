//! The simulator's error type.

/// An error starting the simulator or loading a scenario.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The listening socket could not be bound.
    #[error("cannot bind the simulator to {addr}")]
    Bind {
        /// The address that was requested.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An I/O error (reading a scenario file, ...).
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A scenario (file, string or HTTP body) is not valid.
    #[error("invalid scenario: {0}")]
    InvalidScenario(String),
}
