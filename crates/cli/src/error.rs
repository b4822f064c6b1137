//! The tool's errors, by whose fault: the operator's input, or a database that cannot be
//! reached or refused a write. Each maps to exit status 2 with a one-line message.

/// What stopped a command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A flag, file or policy that cannot be used as given.
    #[error("{0}")]
    Input(String),
    /// A database that cannot be reached or read.
    #[error("cannot reach {0}")]
    Unreachable(String),
    /// A database refused a write.
    #[error("{0}")]
    Write(String),
}
