//! Starting the worker thread and talking to it from the GUI or the CLI.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::protocol::{Command, Event};
use super::sink::{EventSink, Wake};
use crate::error::{Error, Result};

/// Commands waiting for the worker; more are refused rather than blocking the caller.
const COMMAND_CAPACITY: usize = 32;
/// Events waiting for the receiver; progress and previews beyond this are dropped.
const EVENT_CAPACITY: usize = 256;

/// How the worker runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerOptions {
    /// Train on threads of the lowest priority, so a window stays responsive and translations
    /// (at the caller's priority) go first. The app sets it; the CLI trains at its own priority.
    pub background_priority: bool,
}

/// The handle of a running worker thread. Dropping it shuts the worker down (saving a run in
/// progress) and waits for it.
pub struct WorkerHandle {
    commands: Sender<Command>,
    events: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
    /// Raised with Stop and Shutdown, so a run still starting gives up at once.
    stop_requested: Arc<AtomicBool>,
    wake: Wake,
    options: WorkerOptions,
}

impl WorkerHandle {
    /// Starts the worker on a thread named `worker`, training at the caller's priority; `wake`
    /// is called after each event, told whether it is urgent.
    pub fn spawn(wake: impl Fn(bool) + Send + Sync + 'static) -> Result<Self> {
        Self::spawn_with(Arc::new(wake), WorkerOptions::default())
    }

    /// Starts the worker with `options`.
    pub fn spawn_with(wake: Wake, options: WorkerOptions) -> Result<Self> {
        let (commands, command_receiver) = crossbeam_channel::bounded(COMMAND_CAPACITY);
        let (event_sender, events) = crossbeam_channel::bounded(EVENT_CAPACITY);
        let stop_requested = Arc::new(AtomicBool::new(false));
        let sink = EventSink::new(event_sender, Arc::clone(&wake));
        let stop = Arc::clone(&stop_requested);
        let thread = std::thread::Builder::new()
            .name("worker".into())
            .spawn(move || super::run(&command_receiver, sink, stop, options))
            .map_err(|err| Error::Backend(format!("could not start the worker thread: {err}")))?;
        Ok(Self {
            commands,
            events,
            thread: Some(thread),
            stop_requested,
            wake,
            options,
        })
    }

    /// Replaces a worker whose thread has ended (it cannot end but by a bug: every command's
    /// panic is caught) with a fresh one; events not yet taken are lost with the old one.
    pub fn restart(&mut self) -> Result<()> {
        *self = Self::spawn_with(Arc::clone(&self.wake), self.options)?;
        Ok(())
    }

    /// Sends a command without blocking.
    pub fn send(&self, command: Command) -> Result<()> {
        if matches!(command, Command::Stop | Command::Shutdown) {
            self.stop_requested.store(true, Ordering::SeqCst);
        }
        self.commands.try_send(command).map_err(|err| match err {
            TrySendError::Full(_) => Error::Backend("the worker is busy; try again".into()),
            TrySendError::Disconnected(_) => Error::Backend("the worker has stopped".into()),
        })
    }

    /// A sender for commands from another thread (the CLI's Ctrl-C handler).
    pub fn command_sender(&self) -> Sender<Command> {
        self.commands.clone()
    }

    /// The next event, if one is waiting.
    pub fn try_recv(&self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    /// The next event, waiting up to `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Whether the worker thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.stop_requested.store(true, Ordering::SeqCst);
        // Keep draining events while asking the worker to stop: it may be blocked on a full
        // event channel, and a lifecycle event (the last checkpoint) must not deadlock the exit.
        let mut asked = false;
        while !self.is_finished() {
            if !asked {
                asked = match self.commands.try_send(Command::Shutdown) {
                    Ok(()) | Err(TrySendError::Disconnected(_)) => true,
                    Err(TrySendError::Full(_)) => false,
                };
            }
            while self.events.try_recv().is_ok() {}
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
