//! How many threads the CPU backend computes on. By default one per physical core: an SMT
//! sibling shares its core's vector units, which the convolutions already keep busy, so a
//! second thread per core adds scheduling and cache pressure rather than arithmetic. The app's
//! training leaves a core to the window where there are four or more (on two cores that would
//! halve training, whose threads already run below the window). `--threads N` sets both, for
//! people who share a machine.

/// Physical cores (logical CPUs where the platform does not tell them apart).
pub fn physical_cores() -> usize {
    num_cpus::get_physical().max(1)
}

/// Threads for the engine's computations: `requested`, else one per physical core.
pub fn compute_threads(requested: Option<usize>) -> usize {
    requested.unwrap_or_else(physical_cores).max(1)
}

/// Threads for training beside a window: `requested`, else one per physical core, less one
/// for the window where there are four cores or more.
pub fn training_threads_beside_window(requested: Option<usize>) -> usize {
    match requested {
        Some(count) => count.max(1),
        None => leave_one_for_the_window(physical_cores()),
    }
}

fn leave_one_for_the_window(cores: usize) -> usize {
    if cores >= 4 { cores - 1 } else { cores.max(1) }
}

/// Makes rayon's global pool (where the CPU backend computes unless a caller installs its own)
/// `count` threads. Call once, before any parallel work: rayon builds the global pool once.
pub fn use_global_threads(count: usize) -> Result<(), String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(count)
        .build_global()
        .map_err(|err| format!("could not set {count} compute threads: {err}"))
}

/// Runs `work` on a thread of rayon's global pool (the current one if it is already there) and
/// waits for it. The kernels split every operation over the pool; called from a thread outside
/// it, each operation is handed over and the caller sleeps until it is done, two wake-ups per
/// operation, hundreds per training step. On a worker, the caller's thread takes its share
/// instead: a 128 px training step on two threads went from 0.105 to 0.094 s
/// (docs/performance.md).
pub fn on_global_pool<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    // `rayon::scope` runs its body on a worker of the global pool when called from outside one.
    rayon::scope(|_| work())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_gets_a_core_only_where_there_are_four_or_more() {
        assert_eq!(leave_one_for_the_window(1), 1);
        assert_eq!(leave_one_for_the_window(2), 2);
        assert_eq!(leave_one_for_the_window(4), 3);
        assert_eq!(leave_one_for_the_window(16), 15);
        assert_eq!(training_threads_beside_window(Some(3)), 3);
        assert_eq!(compute_threads(Some(0)), 1);
        assert!(compute_threads(None) >= 1);
    }

    #[test]
    fn work_handed_to_the_global_pool_runs_on_one_of_its_threads() {
        assert_eq!(rayon::current_thread_index(), None);
        let index = on_global_pool(rayon::current_thread_index);
        assert!(index.is_some_and(|index| index < rayon::current_num_threads()));
    }
}
