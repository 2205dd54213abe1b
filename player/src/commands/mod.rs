//! One module per subcommand. Each takes its parsed arguments and the streams to write to,
//! so tests can run them in process.

pub mod bench;
pub mod info;
pub mod play;
pub mod preview;
pub mod render;
pub mod validate;
