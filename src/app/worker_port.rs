//! The app's view of the worker: send a command, take an event. The real `WorkerHandle`
//! implements it; tests drive the app with channels instead.

use crate::worker::{Command, Event, WorkerHandle};

/// Where the app sends commands and gets events.
pub trait WorkerPort {
    /// Sends a command without blocking; the error says why it could not be sent.
    fn send(&self, command: Command) -> Result<(), String>;
    /// The next event, if one is waiting.
    fn try_recv(&self) -> Option<Event>;
}

impl WorkerPort for WorkerHandle {
    fn send(&self, command: Command) -> Result<(), String> {
        WorkerHandle::send(self, command).map_err(|err| err.to_string())
    }

    fn try_recv(&self) -> Option<Event> {
        WorkerHandle::try_recv(self)
    }
}
