//! The worker's side of the event channel: droppable events never block training, lifecycle
//! events always arrive, and every send wakes the receiver (the GUI repaints).

use crossbeam_channel::{Sender, TrySendError};

use super::protocol::Event;

/// Wakes whoever receives events, told whether the event is urgent (a lifecycle event or a
/// translation result) or a progress report that may wait a little: the GUI repaints at once
/// for the first and coalesces the second; the CLI does nothing.
pub type Wake = std::sync::Arc<dyn Fn(bool) + Send + Sync>;

/// Sends events to the GUI or the CLI (the worker and the translation thread each hold one).
#[derive(Clone)]
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
        let urgent = !event.is_droppable();
        let delivered = if !urgent {
            match self.sender.try_send(event) {
                Ok(()) | Err(TrySendError::Full(_)) => true,
                Err(TrySendError::Disconnected(_)) => false,
            }
        } else {
            self.sender.send(event).is_ok()
        };
        (self.wake)(urgent);
        delivered
    }
}
