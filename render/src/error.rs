//! Error types of the render core.

use std::fmt;
use std::path::PathBuf;

/// One problem found in a configuration file: where it is and why it is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Field path inside the file, e.g. `outputs[1].modules[0].type`; empty for the whole file.
    pub field: String,
    /// Why the value is wrong, in words a user can act on.
    pub reason: String,
}

impl Problem {
    /// A problem at `field` for `reason`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Problem {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A configuration file that cannot be used, with every problem found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the problems are in.
    pub file: PathBuf,
    /// Every problem found, in file order where possible; never empty.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// An error with a single problem.
    pub fn single(file: impl Into<PathBuf>, field: &str, reason: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            problems: vec![Problem::new(field, reason)],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{}: {} problem{}",
            self.file.display(),
            n,
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            if p.field.is_empty() {
                write!(f, "\n  {}: {}", self.file.display(), p.reason)?;
            } else {
                write!(f, "\n  {}: {}: {}", self.file.display(), p.field, p.reason)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Errors from rendering a frame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The wall configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A source image's buffer does not match its stated size.
    #[error("source image {width}x{height} needs {expected} samples, buffer has {actual}")]
    SourceSize {
        /// Stated width.
        width: u32,
        /// Stated height.
        height: u32,
        /// Samples the size needs.
        expected: usize,
        /// Samples the buffer has.
        actual: usize,
    },
    /// A source image with no pixels.
    #[error("source image is empty ({width}x{height})")]
    EmptySource {
        /// Stated width.
        width: u32,
        /// Stated height.
        height: u32,
    },
    /// The scene has more layers than the renderer composes.
    #[error("scene has {0} layers, at most {max} are supported", max = crate::frame::MAX_LAYERS)]
    TooManyLayers(usize),
    /// The output frame was made for another geometry.
    #[error("wall frame does not match the renderer's geometry: {0}")]
    FrameMismatch(String),
    /// The resampler refused the job.
    #[error("resample failed: {0}")]
    Resample(String),
    /// The rayon pool could not be built.
    #[error("could not start render threads: {0}")]
    ThreadPool(String),
    /// The GPU backend failed: no adapter, a device or validation error, a lost device.
    #[error("GPU backend: {0}")]
    Gpu(String),
    /// `set_color` was given another `bit_depth`: it sizes the port buffers (geometry), so
    /// it needs a new renderer; nothing was changed.
    #[error(
        "color.bit_depth {requested} differs from the renderer's {current}: a bit-depth change \
         changes the port buffers and needs a new renderer"
    )]
    BitDepthChange {
        /// The renderer's bit depth.
        current: u32,
        /// The bit depth asked for.
        requested: u32,
    },
    /// `set_color` refused a colour section (invalid values, each named by its field), or
    /// the renderer cannot change colours; nothing was changed.
    #[error("colour change refused: {0}")]
    ColorChange(String),
}
