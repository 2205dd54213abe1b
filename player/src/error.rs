//! How errors leave the program: the message on stderr and the exit code.

use ledwall_render::{ConfigError, RenderError};
use std::io::{self, Write};

/// The command line or a configuration file asks for something this program cannot do.
/// Reported with exit code 2, like clap's own usage errors and invalid wall files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The run went through, but a sink lost output (its flush at the end said so): exit code 3,
/// so that a supervisor or a script can tell "played, but the file is incomplete" from a
/// failure to play.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("output was lost: {0}")]
pub struct OutputLost(pub String);

/// Exit code for an error: 2 when the command line or a configuration file is wrong
/// (a [`UsageError`] or a wall [`ConfigError`] anywhere in the chain), 3 when a run went
/// through but lost output ([`OutputLost`]), 1 for everything that went wrong while doing
/// the work (unreadable or undecodable media, write failures...). The whole list, with the
/// codes of an emergency exit: [`crate::shutdown`].
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<OutputLost>()) {
        return crate::shutdown::EXIT_OUTPUT_LOST;
    }
    let usage = err.chain().any(|e| {
        e.is::<UsageError>()
            || e.is::<ConfigError>()
            || matches!(
                e.downcast_ref::<RenderError>(),
                Some(RenderError::Config(_))
            )
    });
    if usage {
        crate::shutdown::EXIT_USAGE
    } else {
        crate::shutdown::EXIT_FAILED
    }
}

/// Write `err` and every cause under it, one per line:
///
/// ```text
/// error: cannot write out/port1.bin
///   caused by: Permission denied (os error 13)
/// ```
///
/// A cause whose text the message above it already ends with (some libraries repeat their
/// source in their own message) is not repeated.
pub fn write_error(w: &mut impl Write, err: &anyhow::Error) -> io::Result<()> {
    let mut previous = String::new();
    for (i, cause) in err.chain().enumerate() {
        let text = cause.to_string();
        if i == 0 {
            writeln!(w, "error: {text}")?;
        } else if !previous.ends_with(&text) {
            writeln!(w, "  caused by: {text}")?;
        }
        previous = text;
    }
    Ok(())
}

/// [`write_error`] to stderr (if stderr itself fails there is nowhere left to report it).
pub fn report_error(err: &anyhow::Error) {
    let stderr = io::stderr();
    let _ = write_error(&mut stderr.lock(), err);
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn config_and_usage_errors_exit_2_anything_else_1() {
        let config = ConfigError::single("w.toml", "name", "must not be empty");
        assert_eq!(exit_code(&anyhow::Error::new(config.clone())), 2);
        let wrapped = Err::<(), _>(config).context("loading the wall");
        assert_eq!(exit_code(&wrapped.unwrap_err()), 2);
        assert_eq!(
            exit_code(&anyhow::Error::new(UsageError("no gpu".into()))),
            2
        );
        let io = io::Error::new(io::ErrorKind::NotFound, "gone");
        assert_eq!(exit_code(&anyhow::Error::new(io)), 1);
    }

    #[test]
    fn the_whole_chain_is_written() {
        let io = io::Error::new(io::ErrorKind::PermissionDenied, "denied");
        let err = Err::<(), _>(io).context("cannot write x").unwrap_err();
        let mut buf = Vec::new();
        write_error(&mut buf, &err).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "error: cannot write x\n  caused by: denied\n"
        );
    }

    #[derive(Debug, thiserror::Error)]
    #[error("decoding failed: {0}")]
    struct Repeats(#[source] io::Error);

    #[test]
    fn a_cause_repeated_by_its_parent_is_written_once() {
        let inner = io::Error::other("bad chunk");
        let err = Err::<(), _>(Repeats(inner))
            .context("cannot decode a.png")
            .unwrap_err();
        let mut buf = Vec::new();
        write_error(&mut buf, &err).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "error: cannot decode a.png\n  caused by: decoding failed: bad chunk\n"
        );
    }
}
