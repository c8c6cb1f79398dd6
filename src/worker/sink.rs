//! The worker's side of the event channel: droppable events never block training, lifecycle
//! events always arrive, and every send wakes the receiver (the GUI repaints).

use crossbeam_channel::{Sender, TrySendError};

use super::protocol::Event;

/// Wakes whoever receives events (the GUI's `request_repaint`; nothing in the CLI).
pub type Wake = Box<dyn Fn() + Send>;

/// Sends events to the GUI or the CLI.
pub struct EventSink {
    sender: Sender<Event>,
    wake: Wake,
}

impl EventSink {
    /// A sink over a bounded channel.
    pub fn new(sender: Sender<Event>, wake: Wake) -> Self {
        Self { sender, wake }
    }

    /// Sends an event: progress and previews are dropped when the channel is full, everything
    /// else waits for room. Returns false once the receiver is gone.
    pub fn send(&self, event: Event) -> bool {
        let delivered = if event.is_droppable() {
            match self.sender.try_send(event) {
                Ok(()) | Err(TrySendError::Full(_)) => true,
                Err(TrySendError::Disconnected(_)) => false,
            }
        } else {
            self.sender.send(event).is_ok()
        };
        (self.wake)();
        delivered
    }
}
