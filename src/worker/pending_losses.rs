//! The training loop's losses on their way back from the device. A read waits for the device to
//! finish everything queued before it, so on a GPU the loop queues each step's losses and reads
//! them in one transfer when enough have gathered or a second has passed (the curves stay live)
//! or when something needs them (previews, validation, health, checkpoints, the end, a pause).
//! On the CPU a read waits for nothing, and each step is read at once.

use std::time::{Duration, Instant};

use crate::error::Result;
use crate::training::{QueuedLosses, StepLosses, read_losses};

/// When queued losses are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadPolicy {
    /// Read once this many steps are waiting.
    pub max_steps: usize,
    /// Read once the oldest waiting step was queued this long ago.
    pub max_wait: Duration,
}

impl ReadPolicy {
    /// On the CPU: every step (a read costs no wait there).
    pub const EVERY_STEP: Self = Self {
        max_steps: 1,
        max_wait: Duration::ZERO,
    };

    /// On a GPU: every 16 steps, or every second when steps are slow.
    pub const GPU: Self = Self {
        max_steps: 16,
        max_wait: Duration::from_secs(1),
    };

    /// The policy for a run on the GPU or not.
    pub fn for_device(on_gpu: bool) -> Self {
        if on_gpu { Self::GPU } else { Self::EVERY_STEP }
    }
}

/// What the loop knew of a step when it queued it; the losses complete it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepInfo {
    /// The step's number (1 for the first).
    pub step: u64,
    /// The epoch in progress.
    pub epoch: usize,
    /// The fractional epoch at the step's end (for the curves).
    pub fractional_epoch: f64,
    /// The learning rate it trained with.
    pub learning_rate: f64,
}

/// Steps whose losses are still on the device, oldest first.
pub struct PendingLosses {
    policy: ReadPolicy,
    queued: Vec<(StepInfo, QueuedLosses)>,
    /// When the oldest waiting step started (before its batch was fetched).
    oldest_started: Option<Instant>,
}

/// Losses read back, with the mean seconds per step over the steps they cover.
pub struct ReadBack {
    /// Each step and its losses, oldest first.
    pub steps: Vec<(StepInfo, StepLosses)>,
    /// Wall time from the start of the first of these steps to the read, per step.
    pub secs_per_step: f64,
}

impl PendingLosses {
    /// Nothing waiting, read by `policy`.
    pub fn new(policy: ReadPolicy) -> Self {
        Self {
            policy,
            queued: Vec::new(),
            oldest_started: None,
        }
    }

    /// A step is starting now (its time counts from here, when no step is waiting yet).
    pub fn step_starting(&mut self, now: Instant) {
        self.oldest_started.get_or_insert(now);
    }

    /// Queues a step's losses.
    pub fn push(&mut self, info: StepInfo, losses: QueuedLosses) {
        self.queued.push((info, losses));
    }

    /// Whether the policy says to read now.
    pub fn due(&self, now: Instant) -> bool {
        !self.queued.is_empty()
            && (self.queued.len() >= self.policy.max_steps
                || self
                    .oldest_started
                    .is_some_and(|started| now.duration_since(started) >= self.policy.max_wait))
    }

    /// Whether any step is waiting.
    pub fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }

    /// Reads every waiting step in one transfer (none when nothing waits).
    pub fn read(&mut self, now: Instant) -> Result<Option<ReadBack>> {
        if self.queued.is_empty() {
            return Ok(None);
        }
        let (infos, queued): (Vec<StepInfo>, Vec<QueuedLosses>) =
            std::mem::take(&mut self.queued).into_iter().unzip();
        let started = self.oldest_started.take().unwrap_or(now);
        let losses = read_losses(queued)?;
        // After the read: it waited for the steps to finish.
        let elapsed = now.max(Instant::now()).duration_since(started);
        Ok(Some(ReadBack {
            secs_per_step: elapsed.as_secs_f64() / infos.len() as f64,
            steps: infos.into_iter().zip(losses).collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn info(step: u64) -> StepInfo {
        StepInfo {
            step,
            epoch: 0,
            fractional_epoch: step as f64 / 10.0,
            learning_rate: 2e-4,
        }
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "tests make the CPU device directly"
    )]
    fn losses(value: f32) -> QueuedLosses {
        QueuedLosses::from_values([value; 6], &Device::flex())
    }

    #[test]
    fn on_the_cpu_every_step_is_due_at_once() {
        let start = Instant::now();
        let mut pending = PendingLosses::new(ReadPolicy::for_device(false));
        assert!(!pending.due(start));
        pending.step_starting(start);
        pending.push(info(1), losses(1.0));
        assert!(pending.due(start));
    }

    #[test]
    fn on_a_gpu_steps_wait_for_sixteen_or_a_second() {
        let start = Instant::now();
        let mut pending = PendingLosses::new(ReadPolicy::for_device(true));
        for step in 1..=15 {
            pending.step_starting(start);
            pending.push(info(step), losses(step as f32));
            assert!(!pending.due(start + Duration::from_millis(999)), "{step}");
        }
        assert!(pending.due(start + Duration::from_secs(1)));
        pending.push(info(16), losses(16.0));
        assert!(pending.due(start));
    }

    #[test]
    fn a_read_returns_every_waiting_step_in_order_and_empties_the_queue() {
        let start = Instant::now();
        let mut pending = PendingLosses::new(ReadPolicy::GPU);
        for step in 1..=3 {
            pending.step_starting(start);
            pending.push(info(step), losses(step as f32));
        }
        let before = crate::platform::readback::reads_on_this_thread();
        let read = pending.read(start).unwrap().unwrap();
        assert_eq!(
            crate::platform::readback::reads_on_this_thread(),
            before + 1
        );
        let steps: Vec<(u64, f32)> = read.steps.iter().map(|(i, l)| (i.step, l.d_fake)).collect();
        assert_eq!(steps, [(1, 1.0), (2, 2.0), (3, 3.0)]);
        assert!(read.secs_per_step >= 0.0);
        assert!(pending.is_empty());
        assert!(pending.read(start).unwrap().is_none());
    }

    #[test]
    fn the_time_of_a_read_counts_from_the_first_waiting_step() {
        let start = Instant::now();
        let mut pending = PendingLosses::new(ReadPolicy::GPU);
        pending.step_starting(start);
        pending.push(info(1), losses(0.5));
        pending.step_starting(start + Duration::from_secs(5)); // not the oldest: ignored
        pending.push(info(2), losses(0.5));
        let read = pending
            .read(start + Duration::from_secs(4))
            .unwrap()
            .unwrap();
        assert!(read.secs_per_step >= 2.0, "{}", read.secs_per_step);
    }
}
