//! `display:`: hands a `canvas` port's bytes to a window on a monitor (design §7.1).
//!
//! The sink runs on the output thread like every other sink: at each tick it copies the
//! port's bytes into the display's [`Mailbox`] (a triple buffer allocated once) and returns;
//! the window's presenter shows the newest frame at the monitor's vertical blank
//! ([`crate::display`]). A slow or missing monitor never stalls the pacer: the mailbox
//! replaces a frame the presenter has not taken yet.

use super::{ErrorLog, PortShape, Sink, SinkError, SinkStats, check_port};
use crate::display::Mailbox;
use ledwall_render::frame::PortBuffer;
use ledwall_render::wall::SinkUrl;
use std::sync::Arc;

/// The mailboxes of the `display:` sinks that `ledwall play` opened windows for, by URL.
/// Sinks for other display URLs cannot be opened (no window shows them).
#[derive(Clone, Default)]
pub struct Displays {
    boxes: Vec<(SinkUrl, Arc<Mailbox>)>,
}

impl Displays {
    /// Register the mailbox a window of `url` shows.
    pub fn insert(&mut self, url: SinkUrl, mailbox: Arc<Mailbox>) {
        self.boxes.push((url, mailbox));
    }

    /// The mailbox for `url`.
    pub fn get(&self, url: &SinkUrl) -> Option<&Arc<Mailbox>> {
        self.boxes.iter().find(|(u, _)| u == url).map(|(_, m)| m)
    }

    /// Every display URL with its mailbox.
    pub fn iter(&self) -> impl Iterator<Item = &(SinkUrl, Arc<Mailbox>)> {
        self.boxes.iter()
    }
}

impl std::fmt::Debug for Displays {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.boxes.iter().map(|(u, m)| (u, m.byte_len())))
            .finish()
    }
}

/// Two registries are the same when they hold the same mailboxes for the same URLs.
impl PartialEq for Displays {
    fn eq(&self, other: &Self) -> bool {
        self.boxes.len() == other.boxes.len()
            && self
                .boxes
                .iter()
                .zip(&other.boxes)
                .all(|((a, ma), (b, mb))| a == b && Arc::ptr_eq(ma, mb))
    }
}

impl Eq for Displays {}

/// Publishes one canvas port into a display's mailbox.
pub struct DisplaySink {
    url: String,
    shapes: [PortShape; 1],
    mailbox: Arc<Mailbox>,
    stats: SinkStats,
    log: ErrorLog,
    sent: bool,
}

impl DisplaySink {
    /// A sink for one port of `shape` shown through `mailbox` (whose frames have the port's
    /// length).
    pub fn new(
        url: impl Into<String>,
        shape: PortShape,
        mailbox: Arc<Mailbox>,
    ) -> Result<DisplaySink, SinkError> {
        let url = url.into();
        if mailbox.byte_len() != shape.bytes {
            return Err(SinkError::Config {
                url,
                reason: format!(
                    "the window shows {} bytes a frame, the port has {}: a changed region needs a restart",
                    mailbox.byte_len(),
                    shape.bytes
                ),
            });
        }
        Ok(DisplaySink {
            url,
            shapes: [shape],
            mailbox,
            stats: SinkStats::default(),
            log: ErrorLog::default(),
            sent: false,
        })
    }

    /// The mailbox this sink publishes into.
    pub fn mailbox(&self) -> &Arc<Mailbox> {
        &self.mailbox
    }
}

impl Sink for DisplaySink {
    fn url(&self) -> &str {
        &self.url
    }

    fn send(&mut self, port: usize, bytes: &[u8], tick: u64) {
        if check_port(&self.shapes, port, bytes, &self.url, &mut self.log) {
            self.mailbox.publish(bytes, tick);
            self.stats.bytes += bytes.len() as u64;
            self.stats.packets += 1;
            self.sent = true;
        }
        self.stats.errors = self.log.total();
    }

    /// A port kept on the GPU goes from the frame's GPU buffer to the display's without
    /// leaving the GPU (the renderer shares the display's device); anything else as bytes.
    fn send_buffer(&mut self, port: usize, buf: &PortBuffer, tick: u64) {
        let Some(gpu) = &buf.gpu else {
            return self.send(port, &buf.bytes, tick);
        };
        if port != 0 {
            self.log.record(
                &self.url,
                format_args!("port {port} is not routed to this sink; not sent"),
            );
        } else if self.mailbox.publish_gpu(gpu, tick) {
            self.stats.bytes += buf.bytes.len() as u64;
            self.stats.packets += 1;
            self.sent = true;
        } else {
            self.log.record(
                &self.url,
                format_args!("the frame's GPU buffer is shorter than the port; not shown"),
            );
        }
        self.stats.errors = self.log.total();
    }

    fn sync(&mut self, _tick: u64) {
        if std::mem::take(&mut self.sent) {
            self.stats.frames += 1;
        }
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    fn stats(&self) -> SinkStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledwall_render::wall::OutputFormat;

    #[test]
    fn publishes_each_frame_and_refuses_other_lengths() {
        let shape = PortShape {
            format: OutputFormat::Canvas,
            bytes: 12,
        };
        let mailbox = Arc::new(Mailbox::new(12));
        assert!(DisplaySink::new("display:0", shape, Arc::new(Mailbox::new(9))).is_err());
        let mut s = DisplaySink::new("display:0", shape, Arc::clone(&mailbox)).unwrap();
        for tick in 0..3 {
            s.send(0, &[tick as u8; 12], tick);
            s.sync(tick);
        }
        s.send(0, &[0; 11], 3);
        s.send(1, &[0; 12], 3);
        s.sync(3);
        let st = s.stats();
        assert_eq!((st.frames, st.bytes, st.packets, st.errors), (3, 36, 3, 2));
        assert_eq!(mailbox.stats().published, 3);
    }
}
