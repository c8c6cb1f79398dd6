//! The library's error type: every failure a user can cause, with the file or value at fault.

use std::path::PathBuf;

/// Everything that can go wrong in the library. Each variant names what it is about (a file, a
/// weight key, a size) so the message alone tells the user what to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model or training option is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// An image does not fit the network (wrong channels or a size it cannot halve often enough).
    #[error("input of shape {found:?} does not fit this network: {reason}")]
    InputShape {
        /// The shape that was given, `[batch, channels, height, width]`.
        found: [usize; 4],
        /// What the network needs instead.
        reason: String,
    },

    /// A file could not be read or written. The operating system's error is part of the
    /// message, not a separate `source()`, so a report of the cause chain names it once.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        cause: std::io::Error,
    },

    /// A weight file is not a readable state dict.
    #[error("{}: not a readable PyTorch state dict: {reason}", path.display())]
    WeightFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A weight file lacks a key the architecture needs.
    #[error("{}: missing key `{key}` (expected shape {expected:?}); is this the right architecture?", path.display())]
    MissingKey {
        /// The file.
        path: PathBuf,
        /// The reference's key name.
        key: String,
        /// The shape the architecture needs.
        expected: Vec<usize>,
    },

    /// A weight file holds a tensor of the wrong shape.
    #[error("{}: key `{key}` has shape {found:?}, the architecture expects {expected:?} (another width, depth or channel count?)", path.display())]
    ShapeMismatch {
        /// The file.
        path: PathBuf,
        /// The reference's key name.
        key: String,
        /// The shape the architecture needs.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },

    /// A weight file holds keys the architecture does not have.
    #[error("{}: {} unexpected key(s), first `{}`: the file is for another architecture", path.display(), keys.len(), keys.first().map(String::as_str).unwrap_or(""))]
    UnexpectedKeys {
        /// The file.
        path: PathBuf,
        /// The keys without a place in the architecture.
        keys: Vec<String>,
    },

    /// An image file could not be decoded.
    #[error("{}: {reason}", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },

    /// A dataset folder holds no pair that can be trained on.
    #[error("{}: no usable training pairs. {summary}", path.display())]
    NoUsablePairs {
        /// The folder.
        path: PathBuf,
        /// The validation report's summary of what was found and skipped.
        summary: String,
    },

    /// A checkpoint or run folder is missing a part, damaged, or from something else.
    #[error("{}: not a usable checkpoint: {reason}", path.display())]
    Checkpoint {
        /// The checkpoint folder or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A model cannot be written in the requested export format.
    #[error("{}: cannot export: {reason}", path.display())]
    Export {
        /// The file that was to be written.
        path: PathBuf,
        /// Why not, and what to do instead.
        reason: String,
    },

    /// The requested compute device cannot be used.
    #[error("device: {0}")]
    Device(String),

    /// A tensor held NaN or infinity where a number was needed.
    #[error("non-finite value in {0}")]
    NonFinite(String),

    /// The backend failed to run an operation or read a result back.
    #[error("backend: {0}")]
    Backend(String),
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            cause,
        }
    }
}
