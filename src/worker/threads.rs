//! What both worker threads share: background pools that run below the window, the text of a
//! caught panic, and the hint to try the CPU after a device failure.

use crate::platform::device::{self, DeviceChoice};

/// The text of a caught panic.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// What to try after a device failure: the CPU, when the choice runs on a GPU (the probe is
/// cached, so asking again costs nothing).
pub(crate) fn device_hint(choice: DeviceChoice) -> &'static str {
    if device::select(choice).is_ok_and(|selected| !selected.is_cpu()) {
        "; try the CPU (device: cpu)"
    } else {
        ""
    }
}

/// How far below the window a background pool's threads run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Yielding {
    /// The lowest priority (nice 19): the work keeps a small share of a busy CPU (training).
    LowestPriority,
    /// Linux's idle class (`SCHED_IDLE`): the work runs only when no other thread wants the CPU
    /// and is preempted at once when one wakes, so a window's frames (the renderer's threads
    /// wake several times a frame) never wait for it (scoring checkpoints). Elsewhere, as
    /// `LowestPriority`.
    IdleOnly,
}

/// A pool for background work when the app asks for background priority (training, and
/// scoring checkpoints): the threads of a dedicated rayon pool, named `{name}-N`, run below the
/// window (see [`Yielding`]), so on a busy CPU the window keeps its frame rate and a
/// translation (on the global pool, at the UI's priority) runs ahead of that work, which loses
/// nothing when nothing else wants the CPU. Without the pool (the CLI) the work runs at the
/// caller's priority. Failure to build the pool or to lower a thread only costs
/// responsiveness, so it is logged, not reported. `threads`: the pool's size (rayon's default
/// without it).
pub(crate) fn low_priority_pool(
    name: &'static str,
    yielding: Yielding,
    threads: Option<usize>,
) -> Option<rayon::ThreadPool> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .thread_name(move |index| format!("{name}-{index}"))
        .start_handler(move |_| {
            if let Err(err) = lower_current_thread(yielding) {
                log::debug!("could not lower the priority of a {name} thread: {err:?}");
            }
        })
        .build();
    match pool {
        Ok(pool) => Some(pool),
        Err(err) => {
            log::warn!("no low-priority {name} pool, working at normal priority: {err}");
            None
        }
    }
}

fn lower_current_thread(yielding: Yielding) -> Result<(), thread_priority::Error> {
    #[cfg(target_os = "linux")]
    if yielding == Yielding::IdleOnly {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        let min = thread_priority::ThreadPriority::Min;
        if set_thread_priority_and_policy(thread_native_id(), min, idle).is_ok() {
            return Ok(());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = yielding;
    thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
}
