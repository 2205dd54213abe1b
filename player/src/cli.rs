//! The command line (design §11), parsed with clap.

use clap::{Args, Parser, Subcommand, ValueEnum};
use ledwall_render::{Filter, Fit};
use std::path::PathBuf;

/// Images with more pixels than this are refused unless `--max-pixels` says otherwise.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// `ledwall`: renders media into the exact bytes LED-wall hardware needs.
#[derive(Debug, Parser)]
#[command(
    name = "ledwall",
    version,
    about = "Renders media into the exact bytes LED-wall hardware needs",
    after_help = "Exit codes: 0 success, 1 the work failed (unreadable media, write errors), \
                  2 the command line or a configuration file is wrong."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render one frame of any media (image, animation, image sequence, video, pattern:)
    /// into port buffers, their layout and a preview.
    ///
    /// Writes into DIR: PORT.bin for every output port (exactly the bytes the hardware
    /// gets), frame.json (the port layouts) and preview.png (the emulated wall).
    Render(RenderArgs),
    /// Check wall files; list every problem with its file and field.
    Validate(ValidateArgs),
    /// Show the version, the backends built in and the CPU features found.
    Info,
}

/// `ledwall render`
#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// The wall file (TOML, or JSON with a .json extension).
    #[arg(long, value_name = "WALL")]
    pub wall: PathBuf,
    /// What to show: an image (PNG 8/16-bit, JPEG, GIF, WebP, BMP, TIFF; alpha composited
    /// over the wall's background), an animation (GIF, APNG, WebP), a video (through
    /// ffmpeg), a folder or glob of images, or a test pattern (pattern:bars, pattern:grid,
    /// pattern:ramp, pattern:checker, pattern:line, pattern:gradient, pattern:solid:#RRGGBB).
    #[arg(long, short, value_name = "MEDIA")]
    pub input: PathBuf,
    /// Time into an animation, video, sequence or moving pattern, in seconds: the frame on
    /// screen at that time is rendered.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0,
          value_parser = parse_seconds)]
    pub at: f64,
    /// Frame rate of an image sequence (a folder or glob).
    #[arg(long, value_name = "FPS", default_value_t = crate::media::sequence::DEFAULT_FPS,
          value_parser = parse_fps)]
    pub fps: f64,
    /// How the image is fitted to the canvas.
    #[arg(long, value_enum, default_value_t = FitArg::Contain)]
    pub fit: FitArg,
    /// Resampling filter.
    #[arg(long, value_enum, default_value_t = FilterArg::Lanczos3)]
    pub filter: FilterArg,
    /// Render backend: `auto` takes the GPU on a hardware adapter and the CPU when the only
    /// adapter is a software one (lavapipe, llvmpipe) or none; `gpu` forces the GPU path.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
    /// Graphics adapter for the GPU backend: a case-insensitive part of its name, as
    /// `ledwall info` lists them. `WGPU_BACKEND=vulkan|gl` limits the APIs searched.
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
    /// Display tick to render (moves the temporal dither pattern).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub frame: u64,
    /// Refuse images with more pixels than this, before decoding them.
    #[arg(long, value_name = "PIXELS", default_value_t = DEFAULT_MAX_PIXELS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pixels: u64,
    /// Directory for the output files; created if missing.
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("\"{s}\" is not a number of seconds >= 0")),
    }
}

fn parse_fps(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 1000.0 => Ok(v),
        _ => Err(format!("\"{s}\" is not a frame rate in (0, 1000]")),
    }
}

/// `ledwall validate`
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Wall files to check.
    #[arg(value_name = "FILE", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
}

/// `--fit` values: the render crate's [`Fit`] modes, same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FitArg {
    /// Scale to fit inside, letterbox with the background.
    Contain,
    /// Scale to fill, crop the overflow.
    Cover,
    /// Scale each axis to the canvas.
    Stretch,
    /// No scaling: centre, crop or pad.
    Center,
}

impl From<FitArg> for Fit {
    fn from(f: FitArg) -> Fit {
        match f {
            FitArg::Contain => Fit::Contain,
            FitArg::Cover => Fit::Cover,
            FitArg::Stretch => Fit::Stretch,
            FitArg::Center => Fit::Center,
        }
    }
}

/// `--filter` values: the render crate's [`Filter`]s, same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FilterArg {
    /// Nearest neighbour (pixel art).
    Nearest,
    /// Bilinear.
    Bilinear,
    /// Catmull-Rom cubic.
    CatmullRom,
    /// Lanczos, 3 lobes.
    Lanczos3,
    /// Area (box) average, for large downscales.
    Area,
}

impl From<FilterArg> for Filter {
    fn from(f: FilterArg) -> Filter {
        match f {
            FilterArg::Nearest => Filter::Nearest,
            FilterArg::Bilinear => Filter::Bilinear,
            FilterArg::CatmullRom => Filter::CatmullRom,
            FilterArg::Lanczos3 => Filter::Lanczos3,
            FilterArg::Area => Filter::Area,
        }
    }
}

/// `--backend` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// GPU on a hardware adapter, else CPU.
    Auto,
    /// The CPU reference backend (rayon).
    Cpu,
    /// The wgpu compute backend, on any adapter (software ones included).
    Gpu,
}

impl From<BackendArg> for ledwall_render::BackendChoice {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Auto => ledwall_render::BackendChoice::Auto,
            BackendArg::Cpu => ledwall_render::BackendChoice::Cpu,
            BackendArg::Gpu => ledwall_render::BackendChoice::Gpu,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn value_names_are_the_render_crate_names() {
        for f in FitArg::value_variants() {
            let name = f.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(Fit::from(*f).name(), name);
        }
        for f in FilterArg::value_variants() {
            let name = f.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(Filter::from(*f).name(), name);
        }
        assert_eq!(FitArg::value_variants().len(), Fit::ALL.len());
        assert_eq!(FilterArg::value_variants().len(), Filter::ALL.len());
    }

    #[test]
    fn render_defaults() {
        let cli = Cli::try_parse_from([
            "ledwall", "render", "--wall", "w.toml", "--input", "a.png", "--out", "o",
        ])
        .unwrap();
        let Command::Render(a) = cli.command else {
            panic!("not render")
        };
        assert_eq!(a.fit, FitArg::Contain);
        assert_eq!(a.filter, FilterArg::Lanczos3);
        assert_eq!(a.backend, BackendArg::Auto);
        assert_eq!(a.frame, 0);
        assert_eq!(a.max_pixels, DEFAULT_MAX_PIXELS);
        assert_eq!(a.at, 0.0);
    }

    #[test]
    fn at_must_be_a_non_negative_number() {
        let parse = |at: &str| {
            Cli::try_parse_from([
                "ledwall", "render", "--wall", "w", "--input", "a", "--out", "o", "--at", at,
            ])
        };
        assert!(parse("0.15").is_ok());
        for bad in ["-1", "x", "inf", "NaN"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn max_pixels_zero_is_a_usage_error() {
        let r = Cli::try_parse_from([
            "ledwall",
            "render",
            "--wall",
            "w",
            "--input",
            "a",
            "--out",
            "o",
            "--max-pixels",
            "0",
        ]);
        assert!(r.is_err());
    }
}
