//! One module per subcommand, each with a `run` that [`crate::run`] calls with the parsed
//! arguments and the streams to write to, so tests can run them in process (`play` writes
//! to stdout itself: its terminal view runs on its own thread). `bench` holds its `--plot`
//! figure in [`bench::plot`].

pub mod bench;
pub mod completions;
pub mod info;
pub mod init;
pub mod play;
pub mod preview;
pub mod render;
pub mod validate;
