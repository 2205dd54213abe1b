//! Error types of the render core: [`ConfigError`] (a wall file that cannot be used, with
//! every [`Problem`] in it), [`RenderError`] (anything that stops a frame) and [`GpuError`]
//! (what [`RenderError::Gpu`] carries: the GPU backend's failures, by kind).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Every problem on a line of its own, each with the file; at most
    /// [`crate::textfile::MAX_LISTED_PROBLEMS`] of them, then "… and N more". Control
    /// characters in the file name, the fields and the reasons are shown escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::textfile::{MAX_LISTED_PROBLEMS, escape_controls};
        let n = self.problems.len();
        let file = self.file.display().to_string();
        let file = escape_controls(&file, false);
        write!(f, "{file}: {n} problem{}", if n == 1 { "" } else { "s" })?;
        for p in self.problems.iter().take(MAX_LISTED_PROBLEMS) {
            // Reasons may span lines (a TOML parser's excerpt); nothing else may.
            let reason = escape_controls(&p.reason, true);
            if p.field.is_empty() {
                write!(f, "\n  {file}: {reason}")?;
            } else {
                let field = escape_controls(&p.field, false);
                write!(f, "\n  {file}: {field}: {reason}")?;
            }
        }
        if n > MAX_LISTED_PROBLEMS {
            write!(f, "\n  … and {} more", n - MAX_LISTED_PROBLEMS)?;
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
    /// A Y'CbCr source whose plane or stride does not fit its stated size.
    #[error("source image {width}x{height} ({layout}): {field}: {reason}")]
    YuvPlane {
        /// Stated width.
        width: u32,
        /// Stated height.
        height: u32,
        /// The layout's name (`yuv420p`, `nv12`, `yuv420p10le`, `p010le`).
        layout: &'static str,
        /// The plane or stride at fault, e.g. `strides[1]` or `planes[2]`.
        field: &'static str,
        /// What is wrong, with the numbers.
        reason: String,
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
    /// The rayon pool could not be built.
    #[error("could not start render threads: {0}")]
    ThreadPool(String),
    /// The GPU backend failed: no adapter, a device or validation error, a lost device, a
    /// misuse of the pipelined API ([`GpuError`] says which).
    #[error("GPU backend: {0}")]
    Gpu(GpuError),
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

impl From<GpuError> for RenderError {
    fn from(e: GpuError) -> RenderError {
        RenderError::Gpu(e)
    }
}

/// A failure of the GPU backend ([`RenderError::Gpu`]). Its message is what the backend
/// reported as one string before this type existed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GpuError {
    /// wgpu offers no adapter (none at all, or none of the `WGPU_BACKEND` ones).
    NoAdapter(String),
    /// No adapter's name contains the one asked for (`--adapter NAME`).
    NoMatchingAdapter {
        /// The name substring asked for.
        wanted: String,
        /// The names of every adapter there is.
        adapters: Vec<String>,
    },
    /// The adapter would not open a device.
    Device {
        /// The adapter's name.
        adapter: String,
        /// wgpu's reason.
        reason: String,
    },
    /// A texture the wall or a source needs is larger than the adapter allows.
    Limit {
        /// Which texture: the canvas, the source, the resample intermediate.
        what: &'static str,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The adapter's largest 2D texture side.
        limit: u32,
    },
    /// A validation error: a shader, pipeline, binding or command that wgpu refused.
    Validation {
        /// What was being built when it was raised inside an error scope (a kernel's
        /// label, the wall's resources...); `None` when it was raised later, uncaptured.
        context: Option<String>,
        /// wgpu's description.
        message: String,
    },
    /// The device ran out of memory.
    OutOfMemory {
        /// As for [`GpuError::Validation`].
        context: Option<String>,
        /// wgpu's message.
        message: String,
    },
    /// An internal error of wgpu or the driver.
    Internal {
        /// As for [`GpuError::Validation`].
        context: Option<String>,
        /// wgpu's description.
        message: String,
    },
    /// The device was lost (driver reset, destroyed device).
    DeviceLost {
        /// wgpu's reason, as its debug name (`Unknown`, `Destroyed`).
        reason: String,
        /// wgpu's message.
        message: String,
    },
    /// Several errors reported at once (by one submission), oldest first.
    Several(Vec<GpuError>),
    /// A staging buffer could not be mapped.
    Map {
        /// Which buffer: `upload buffer`, `readback buffer`, `readback`.
        buffer: &'static str,
        /// wgpu's reason.
        reason: String,
    },
    /// Polling the device failed.
    Wait(String),
    /// The GPU did not finish a frame in time.
    Timeout(Duration),
    /// [`crate::gpu::RING`] frames are in flight already: receive one first.
    RingFull(usize),
    /// `receive` was called with no frame in flight.
    NothingSubmitted,
    /// Every source placement kept is in use by this frame.
    NoPlanSlot,
    /// Profiling needs a rendered frame.
    NotRendered,
    /// No output port of the wall has this bit depth.
    NoDepth(u32),
    /// A quantized canvas buffer given to `pack_quantized` is shorter than the canvas.
    QuantizedTooShort,
    /// `keep_on_gpu` named a port the wall does not have.
    NoPort {
        /// The index asked for.
        port: usize,
        /// The wall's ports.
        ports: usize,
    },
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let in_context =
            |f: &mut fmt::Formatter<'_>, context: &Option<String>, message: &str| match context {
                Some(c) => write!(f, "{c}: {message}"),
                None => f.write_str(message),
            };
        match self {
            GpuError::NoAdapter(e) => write!(f, "no graphics adapter: {e}"),
            GpuError::NoMatchingAdapter { wanted, adapters } => {
                let names = if adapters.is_empty() {
                    "none".to_string()
                } else {
                    adapters.join(", ")
                };
                write!(f, "no adapter name contains {wanted:?}; adapters: {names}")
            }
            GpuError::Device { adapter, reason } => {
                write!(f, "cannot open a device on {adapter}: {reason}")
            }
            GpuError::Limit {
                what,
                width,
                height,
                limit,
            } => write!(
                f,
                "{what} is {width}x{height}, larger than the adapter's 2D texture limit of {limit}"
            ),
            GpuError::Validation { context, message }
            | GpuError::OutOfMemory { context, message }
            | GpuError::Internal { context, message } => in_context(f, context, message),
            GpuError::DeviceLost { reason, message } => {
                write!(f, "device lost ({reason}): {message}")
            }
            GpuError::Several(errors) => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            GpuError::Map { buffer, reason } => write!(f, "{buffer}: {reason}"),
            GpuError::Wait(e) => write!(f, "waiting for the GPU: {e}"),
            GpuError::Timeout(t) => {
                write!(f, "the GPU did not finish a frame within {} s", t.as_secs())
            }
            GpuError::RingFull(n) => write!(
                f,
                "{n} frames are already in flight: receive one before submitting another"
            ),
            GpuError::NothingSubmitted => f.write_str("no frame was submitted"),
            GpuError::NoPlanSlot => f.write_str("no free plan slot"),
            GpuError::NotRendered => f.write_str("render a frame before profiling"),
            GpuError::NoDepth(depth) => write!(f, "no output has depth {depth}"),
            GpuError::QuantizedTooShort => f.write_str("quantized buffer too short"),
            GpuError::NoPort { port, ports } => {
                write!(
                    f,
                    "no port {port} to keep on the GPU (the wall has {ports})"
                )
            }
        }
    }
}

impl std::error::Error for GpuError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_errors_read_as_one_message() {
        let e = RenderError::from(GpuError::Limit {
            what: "the canvas",
            width: 9000,
            height: 10,
            limit: 8192,
        });
        assert_eq!(
            e.to_string(),
            "GPU backend: the canvas is 9000x10, larger than the adapter's 2D texture limit of 8192"
        );
        let several = GpuError::Several(vec![
            GpuError::Validation {
                context: None,
                message: "a".into(),
            },
            GpuError::DeviceLost {
                reason: "Unknown".into(),
                message: "b".into(),
            },
        ]);
        assert_eq!(several.to_string(), "a; device lost (Unknown): b");
        let scoped = GpuError::Validation {
            context: Some("quantize".into()),
            message: "bad".into(),
        };
        assert_eq!(scoped.to_string(), "quantize: bad");
        let none = GpuError::NoMatchingAdapter {
            wanted: "nv".into(),
            adapters: vec![],
        };
        assert_eq!(
            none.to_string(),
            "no adapter name contains \"nv\"; adapters: none"
        );
        assert_eq!(
            GpuError::Timeout(Duration::from_secs(30)).to_string(),
            "the GPU did not finish a frame within 30 s"
        );
    }
}
