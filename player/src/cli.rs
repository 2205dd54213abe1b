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
    /// Render one frame of a still image into port buffers, their layout and a preview.
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
    /// The image to show: PNG (8 or 16 bits per channel, alpha composited over the wall's
    /// background) or JPEG.
    #[arg(long, short, value_name = "IMAGE")]
    pub input: PathBuf,
    /// How the image is fitted to the canvas.
    #[arg(long, value_enum, default_value_t = FitArg::Contain)]
    pub fit: FitArg,
    /// Resampling filter.
    #[arg(long, value_enum, default_value_t = FilterArg::Lanczos3)]
    pub filter: FilterArg,
    /// Render backend (`auto` picks the best one built in).
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
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
    /// The best backend built in (today: cpu).
    Auto,
    /// The CPU reference backend (rayon).
    Cpu,
    /// The wgpu compute backend (not built yet).
    Gpu,
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
