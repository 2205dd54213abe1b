//! # ledwall-render
//!
//! The render core of ledwall: it turns source frames (RGBA code values) into exactly the
//! bytes that LED wall hardware needs.
//!
//! * [`wall`]: the wall file (a public format, design §3), its validation and the validated
//!   [`Wall`] model.
//! * [`mapper`]: HUB75 multiplex mappers, visible pixel → matrix position (design §4).
//! * [`geometry`]: the wall compiled once into flat index tables (output slot → canvas pixel)
//!   that every backend reads.
//! * What both backends compute the same way, owned by neither: [`stage`] (the six stages,
//!   named once, and their times), [`color`] (transfer curves, LUTs, gains), [`place`]
//!   (fit mode → source crop and canvas rect), [`filter`] (resampling filters and the
//!   coefficient tables both backends read), [`dither`] (thresholds, the background's
//!   code), [`cache`] (the still cache's slot choice).
//! * [`cpu`]: the reference backend, six stages (linearize, resample, compose, colour,
//!   quantize, pack) on rayon, writing into caller-owned buffers; its SIMD kernels are
//!   chosen in one place, [`cpu::simd`].
//! * [`gpu`]: the same six stages as WGSL compute shaders on wgpu, held to the CPU backend
//!   by parity tests; [`backend`] picks one (`auto`, `cpu`, `gpu`).
//! * [`emulate`]: output buffers → the canvas the wall shows; the inverse of pack.
//!
//! ```
//! use ledwall_render::{Wall, Renderer, Scene, Layer, SourceImage, WallFrame};
//! let wall = Wall::from_toml_str(r#"
//!     name = "tiny"
//!     [canvas]
//!     width = 8
//!     height = 4
//!     [module_types.m]
//!     size = [8, 4]
//!     scan = 2
//!     [[outputs]]
//!     name = "p"
//!     format = "rgb8"
//!     modules = [{ type = "m", at = [0, 0] }]
//! "#, "tiny.toml").unwrap();
//! let mut renderer = Renderer::new(&wall).unwrap();
//! let mut frame = WallFrame::new(renderer.geometry());
//! let white = vec![255u8; 8 * 4 * 4];
//! let layer = Layer::new(SourceImage::rgba8(8, 4, &white));
//! renderer.render_into(&Scene::single(0, layer), &mut frame).unwrap();
//! assert!(frame.ports[0].bytes.iter().all(|&b| b == 255));
//! ```

pub mod backend;
pub mod cache;
pub mod color;
pub mod cpu;
pub mod dither;
pub mod emulate;
mod error;
pub mod filter;
pub mod frame;
pub mod geometry;
pub mod gpu;
pub mod mapper;
pub mod place;
pub mod stage;
pub mod textfile;
pub mod wall;
pub mod yuv;

pub use backend::{AnyRenderer, BackendChoice, BackendOptions};
pub use cpu::Renderer;
pub use error::{ConfigError, GpuError, Problem, RenderError};
pub use frame::{Filter, Fit, Layer, PixelData, Scene, SourceImage, WallFrame};
pub use geometry::Geometry;
pub use stage::{Stage, StageTimes};
pub use wall::Wall;
