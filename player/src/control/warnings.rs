//! Recent warnings for the control API: a `tracing` layer that copies every WARN and ERROR
//! event into a bounded channel, which the control server drains into its list.
//!
//! The layer runs on the thread that logs (the output thread too, when a sink reports an
//! error), so it never waits: a full channel drops the event (the log line itself is still
//! written by the formatting layer). Events are formatted only when they are warnings.

use crossbeam_channel::{Receiver, Sender, bounded};
use std::fmt::Write as _;
use std::sync::OnceLock;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;

/// Warnings kept by the channel until the control server takes them.
pub const CHANNEL: usize = 256;

/// One warning or error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// When (RFC 3339, UTC, seconds).
    pub at: String,
    /// `warn` or `error`.
    pub level: &'static str,
    /// The message, with its fields (`item=3 ...`).
    pub message: String,
}

fn channel() -> &'static (Sender<Warning>, Receiver<Warning>) {
    static CH: OnceLock<(Sender<Warning>, Receiver<Warning>)> = OnceLock::new();
    CH.get_or_init(|| bounded(CHANNEL))
}

/// The warnings logged since the last call (at most [`CHANNEL`]).
pub fn drain() -> impl Iterator<Item = Warning> {
    channel().1.try_iter()
}

/// The layer to add to the subscriber.
#[derive(Debug, Default, Clone, Copy)]
pub struct WarningLayer;

struct Message<'a>(&'a mut String, &'a mut String);

impl Visit for Message<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.1, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.1, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for WarningLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        let name = if level == Level::ERROR {
            "error"
        } else if level == Level::WARN {
            "warn"
        } else {
            return;
        };
        let (mut message, mut fields) = (String::new(), String::new());
        event.record(&mut Message(&mut message, &mut fields));
        message.push_str(&fields);
        let at = jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or(jiff::Timestamp::now());
        let _ = channel().0.try_send(Warning {
            at: at.to_string(),
            level: name,
            message,
        });
    }
}
