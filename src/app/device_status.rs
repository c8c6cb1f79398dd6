//! What the app knows of the compute device: the choice last sent to the worker to resolve
//! (the GPU probe can take seconds, so the worker runs it, never the UI thread) and, once it
//! answers, the device in words and why no GPU is used.

use crate::platform::device::DeviceChoice;
use crate::worker::{Command, DeviceReport};

/// The device as the status bar and the Train form show it.
#[derive(Debug, Default)]
pub struct DeviceStatus {
    asked: Option<DeviceChoice>,
    label: String,
    note: Option<String>,
}

impl DeviceStatus {
    /// The command asking the worker for `choice`, when it was not the last one asked.
    pub fn ask(&mut self, choice: DeviceChoice) -> Option<Command> {
        if self.asked == Some(choice) {
            return None;
        }
        self.asked = Some(choice);
        self.label = match choice {
            DeviceChoice::Cpu => "CPU".into(),
            DeviceChoice::Auto | DeviceChoice::Gpu => "looking for a GPU...".into(),
        };
        self.note = None;
        Some(Command::SelectDevice(choice))
    }

    /// Takes the worker's answer for `choice` (ignored when another one was asked since); the
    /// error to show when the choice cannot be met.
    pub fn selected(
        &mut self,
        choice: DeviceChoice,
        outcome: Result<DeviceReport, String>,
    ) -> Option<String> {
        if self.asked != Some(choice) {
            return None;
        }
        match outcome {
            Ok(report) => {
                self.label = report.info.to_string();
                self.note = report.fallback_reason;
                None
            }
            Err(reason) => {
                self.label = "no GPU".into();
                self.note = Some(reason.clone());
                Some(format!("device `{choice}`: {reason}"))
            }
        }
    }

    /// A new worker knows no device yet: the next [`Self::ask`] asks again.
    pub fn forget(&mut self) {
        self.asked = None;
    }

    /// The device in words ("looking for a GPU..." until the worker answers).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Why no GPU is used, when one was looked for.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// The label with the reason no GPU is used, for the Train form.
    pub fn describe(&self) -> String {
        match &self.note {
            Some(note) => format!("{} (no GPU: {note})", self.label),
            None => self.label.clone(),
        }
    }
}
