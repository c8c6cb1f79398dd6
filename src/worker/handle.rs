//! Starting the worker thread and talking to it from the GUI or the CLI.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::protocol::{Command, Event, WorkerOptions};
use super::sink::{EventSink, Wake};
use super::translate::{Job, LiveModel};
use crate::error::{Error, Result};

/// Commands waiting for the worker; more are refused rather than blocking the caller.
const COMMAND_CAPACITY: usize = 32;
/// Events waiting for the receiver; progress and previews beyond this are dropped.
const EVENT_CAPACITY: usize = 256;

/// The handle of a running worker thread. Dropping it shuts the worker down (saving a run in
/// progress) and waits for it.
pub struct WorkerHandle {
    commands: Sender<Command>,
    /// Translations go straight to the translation thread, never behind training.
    translations: Sender<Job>,
    events: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
    translation_thread: Option<JoinHandle<()>>,
    /// Raised with Stop and Shutdown, so a run still starting gives up at once.
    stop_requested: Arc<AtomicBool>,
    /// The run as translations see it: marked as starting when StartTraining is sent, so a
    /// translation of the current run sent right after waits for its weights.
    live: Arc<LiveModel>,
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
        let (translations, translation_receiver) = crossbeam_channel::bounded(COMMAND_CAPACITY);
        let (event_sender, events) = crossbeam_channel::bounded(EVENT_CAPACITY);
        let stop_requested = Arc::new(AtomicBool::new(false));
        let live = Arc::new(LiveModel::default());
        let sink = EventSink::new(event_sender, Arc::clone(&wake));
        let translation_sink = sink.clone();
        let translation_live = Arc::clone(&live);
        let translation_thread = std::thread::Builder::new()
            .name("translate".into())
            .spawn(move || {
                super::translate::run(
                    &translation_receiver,
                    translation_sink,
                    translation_live,
                    options,
                );
            })
            .map_err(|err| {
                Error::Backend(format!("could not start the translation thread: {err}"))
            })?;
        let stop = Arc::clone(&stop_requested);
        let forward = translations.clone();
        let worker_live = Arc::clone(&live);
        let thread = std::thread::Builder::new()
            .name("worker".into())
            .spawn(move || {
                super::training_thread::run(
                    &command_receiver,
                    sink,
                    stop,
                    worker_live,
                    forward,
                    options,
                );
            })
            .map_err(|err| Error::Backend(format!("could not start the worker thread: {err}")))?;
        Ok(Self {
            commands,
            translations,
            events,
            thread: Some(thread),
            translation_thread: Some(translation_thread),
            stop_requested,
            live,
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
        let starting = matches!(command, Command::StartTraining(_));
        let was_training = starting && self.live.run_started();
        // Inference goes straight to the translation thread; the rest to the worker.
        let sent = match Job::of(command) {
            Ok(job) => self.translations.try_send(job).map_err(refused),
            Err(command) => self.commands.try_send(command).map_err(refused),
        };
        if sent.is_err() && starting && !was_training {
            self.live.run_ended();
        }
        sent
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

    /// Whether the worker thread or the translation thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
            || self
                .translation_thread
                .as_ref()
                .is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.stop_requested.store(true, Ordering::SeqCst);
        // The translation thread ends when no one can send it more (the worker drops its sender
        // when it exits).
        let (closed, _) = crossbeam_channel::bounded(1);
        drop(std::mem::replace(&mut self.translations, closed));
        // Keep draining events while asking the worker to stop: it may be blocked on a full
        // event channel, and a lifecycle event (the last checkpoint) must not deadlock the exit.
        let running = |thread: &Option<JoinHandle<()>>| {
            thread.as_ref().is_some_and(|thread| !thread.is_finished())
        };
        let mut asked = false;
        while running(&self.thread) || running(&self.translation_thread) {
            if !asked {
                asked = match self.commands.try_send(Command::Shutdown) {
                    Ok(()) | Err(TrySendError::Disconnected(_)) => true,
                    Err(TrySendError::Full(_)) => false,
                };
            }
            while self.events.try_recv().is_ok() {}
            std::thread::sleep(Duration::from_millis(5));
        }
        for thread in [self.thread.take(), self.translation_thread.take()]
            .into_iter()
            .flatten()
        {
            let _ = thread.join();
        }
    }
}

/// Why a command could not be sent, for the caller.
fn refused<T>(err: TrySendError<T>) -> Error {
    match err {
        TrySendError::Full(_) => Error::Backend("the worker is busy; try again".into()),
        TrySendError::Disconnected(_) => Error::Backend("the worker has stopped".into()),
    }
}
