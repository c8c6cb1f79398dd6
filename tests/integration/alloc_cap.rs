//! The test binary's allocator: the system's, plus a per-thread record of the largest single
//! allocation and an optional per-thread cap. A test that reads hostile files measures what a
//! read asked for; an allocation above the cap is refused, which ends the process with "memory
//! allocation of N bytes failed" instead of letting a reader take the machine's memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator with a per-thread watch.
pub struct CappedAllocator;

thread_local! {
    /// The largest allocation on this thread since [`watch`] began, in bytes.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    /// Allocations above this many bytes are refused on this thread (`usize::MAX`: none).
    static CAP: Cell<usize> = const { Cell::new(usize::MAX) };
}

impl CappedAllocator {
    fn admit(size: usize) -> bool {
        // `try_with`: a thread being torn down still allocates, after its locals are gone.
        let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
        CAP.try_with(|cap| size <= cap.get()).unwrap_or(true)
    }
}

#[allow(
    unsafe_code,
    reason = "a global allocator is an unsafe trait; this one defers to System"
)]
unsafe impl GlobalAlloc for CappedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::admit(layout.size()) {
            // SAFETY: the caller's contract is passed on unchanged.
            unsafe { System.alloc(layout) }
        } else {
            std::ptr::null_mut()
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::admit(layout.size()) {
            // SAFETY: as above.
            unsafe { System.alloc_zeroed(layout) }
        } else {
            std::ptr::null_mut()
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if Self::admit(new_size) {
            // SAFETY: as above.
            unsafe { System.realloc(ptr, layout, new_size) }
        } else {
            std::ptr::null_mut()
        }
    }
}

/// Runs `work` with allocations on this thread capped at `cap_bytes`; returns its result and the
/// largest single allocation it made.
pub fn watch<T>(cap_bytes: usize, work: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|largest| largest.set(0));
    let previous = CAP.with(|cap| cap.replace(cap_bytes));
    let result = work();
    CAP.with(|cap| cap.set(previous));
    (result, LARGEST.with(Cell::get))
}
