//! The crate's one error type, split by who is at fault.

use std::fmt;

/// Everything that can go wrong in `ovsdb-proto`.
///
/// Variants are grouped by fault: the bytes or JSON a peer sent ([`Error::Framing`],
/// [`Error::FrameTooLarge`], [`Error::Decode`]), a value that breaks a schema
/// ([`Error::Schema`]), a write the server's schema cannot take ([`Error::Skew`]), a peer
/// that breaks the protocol ([`Error::Protocol`]), a caller that misuses the API
/// ([`Error::Usage`]) and the transport ([`Error::Io`]). An OVSDB `error`
/// reply is *not* an `Error`: it is data, see [`crate::OvsdbError`].
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The byte stream is not a sequence of JSON objects or arrays.
    #[error("malformed frame at stream byte {offset}: {reason}")]
    Framing {
        /// Offset of the offending byte, counted from the start of the stream.
        offset: u64,
        /// What was wrong there.
        reason: &'static str,
    },
    /// A single message grew beyond the configured maximum.
    #[error("message of at least {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// Bytes seen so far for the message (a lower bound of its size).
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// JSON that does not decode as the OVSDB value that was expected.
    #[error(transparent)]
    Decode(Box<DecodeError>),
    /// A value that breaks its column's type, or a malformed schema.
    #[error(transparent)]
    Schema(Box<SchemaError>),
    /// An operation needs a table or column the server's schema lacks (see
    /// [`crate::skew::check_operations`]).
    #[error(transparent)]
    Skew(Box<crate::skew::SkewError>),
    /// The peer broke the protocol (for example a reply to a request never sent).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The caller misused the API.
    #[error("invalid use: {0}")]
    Usage(String),
    /// The transport failed (only produced by the codec).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A decode failure with the place where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// What was being decoded, e.g. `"transact reply"` or `"schema"`.
    pub what: &'static str,
    /// Where in the input: a JSON path, or `line L column C` from the JSON parser.
    pub path: String,
    /// What was wrong.
    pub reason: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed {} at {}: {}",
            self.what, self.path, self.reason
        )
    }
}

impl std::error::Error for DecodeError {}

/// A schema violation, naming `table.column` and the offending value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// `table.column`, or the schema path being parsed.
    pub path: String,
    /// The offending value, as JSON text (may be empty).
    pub value: String,
    /// What rule it broke.
    pub reason: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}: {}", self.path, self.reason)
        } else {
            write!(f, "{}: {} (value {})", self.path, self.reason, self.value)
        }
    }
}

impl std::error::Error for SchemaError {}

impl Error {
    /// Builds an [`Error::Decode`].
    pub fn decode(what: &'static str, path: impl Into<String>, reason: impl fmt::Display) -> Self {
        Error::Decode(Box::new(DecodeError {
            what,
            path: path.into(),
            reason: reason.to_string(),
        }))
    }

    /// Builds an [`Error::Decode`] from a `serde_json` error, keeping its line and column.
    pub fn from_json(what: &'static str, err: &serde_json::Error) -> Self {
        let path = if err.line() == 0 {
            String::from("$")
        } else {
            format!("line {} column {}", err.line(), err.column())
        };
        Error::decode(what, path, err)
    }

    /// Builds an [`Error::Schema`].
    pub fn schema(
        path: impl Into<String>,
        value: impl Into<String>,
        reason: impl fmt::Display,
    ) -> Self {
        Error::Schema(Box::new(SchemaError {
            path: path.into(),
            value: value.into(),
            reason: reason.to_string(),
        }))
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
