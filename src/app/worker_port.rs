//! The app's view of the worker: send a command, take an event. The real `WorkerHandle`
//! implements it; tests drive the app with channels instead.

use crate::worker::{Command, Event, WorkerHandle};

/// Where the app sends commands and gets events.
pub trait WorkerPort {
    /// Sends a command without blocking; the error says why it could not be sent.
    fn send(&self, command: Command) -> Result<(), String>;
    /// The next event, if one is waiting.
    fn try_recv(&self) -> Option<Event>;
    /// Whether the worker is still there to answer.
    fn is_alive(&self) -> bool;
    /// Starts a fresh worker in place of one that ended; the error says why it could not.
    fn restart(&mut self) -> Result<(), String>;
}

impl WorkerPort for WorkerHandle {
    fn send(&self, command: Command) -> Result<(), String> {
        WorkerHandle::send(self, command).map_err(|err| err.to_string())
    }

    fn try_recv(&self) -> Option<Event> {
        WorkerHandle::try_recv(self)
    }

    fn is_alive(&self) -> bool {
        !self.is_finished()
    }

    fn restart(&mut self) -> Result<(), String> {
        WorkerHandle::restart(self).map_err(|err| err.to_string())
    }
}
