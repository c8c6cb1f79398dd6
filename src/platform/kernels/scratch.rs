//! The kernels' buffers: one reusable buffer per thread for the column matrices of the
//! convolution kernels, and fresh outputs zeroed on all threads.
//!
//! A 256 px training step builds a column matrix for nearly every convolution product (16 MB
//! each in the outer layers). Fresh, each had to be zeroed before im2col or the GEMM overwrote
//! it; reused, it is written once. Whoever borrows the buffer must write every value before
//! reading it.

use std::cell::RefCell;

use rayon::prelude::*;

thread_local! {
    static BUFFER: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// The largest buffer kept between calls (64 MB, a 512 px training step's largest column
/// matrix). A larger one, such as an untiled translation of a photo, is freed after its call.
const RETAIN_AT_MOST: usize = 1 << 24;

/// Runs `work` on `len` values of this thread's buffer (grown as needed). The values are
/// whatever the last user left: `work` must overwrite them all before reading any. A nested
/// call on the same thread gets a fresh zeroed buffer instead.
pub fn with_buffer<T>(len: usize, work: impl FnOnce(&mut [f32]) -> T) -> T {
    BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffer) => {
            if buffer.len() < len {
                buffer.resize(len, 0.0);
            }
            let result = work(&mut buffer[..len]);
            if buffer.len() > RETAIN_AT_MOST {
                *buffer = Vec::new();
            }
            result
        }
        Err(_) => work(&mut vec![0.0; len]),
    })
}

/// Outputs at least this long are zeroed on all threads (256 KB: below it, waking the pool
/// costs more than the `memset` on one).
const ZERO_IN_PARALLEL_FROM: usize = 1 << 16;

/// `len` zeros, written by all of rayon's threads when the vector is long. A kernel's output
/// allocated with `vec![0.0; len]` was zeroed by the calling thread alone while the others
/// waited (the allocator reuses freed memory, so it must clear it): 4 % of a 128 px training
/// step on two threads (`perf`, docs/performance.md).
pub fn zeroed(len: usize) -> Vec<f32> {
    if len < ZERO_IN_PARALLEL_FROM {
        return vec![0.0; len];
    }
    let mut values = Vec::with_capacity(len);
    values.par_extend(rayon::iter::repeat_n(0.0f32, len));
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_is_reused_and_nested_calls_get_their_own() {
        with_buffer(4, |outer| {
            outer.fill(7.0);
            with_buffer(3, |inner| {
                assert_eq!(inner, [0.0; 3]);
                inner.fill(1.0);
            });
            assert_eq!(outer, [7.0; 4]);
        });
        with_buffer(2, |again| assert_eq!(again, [7.0; 2]));
    }

    #[test]
    fn zeroed_outputs_hold_only_zeros_at_every_length() {
        for len in [
            0,
            3,
            ZERO_IN_PARALLEL_FROM - 1,
            ZERO_IN_PARALLEL_FROM,
            3 * ZERO_IN_PARALLEL_FROM + 7,
        ] {
            let values = zeroed(len);
            assert_eq!(values.len(), len);
            assert!(values.iter().all(|&v| v == 0.0), "length {len}");
        }
    }

    #[test]
    fn a_buffer_above_the_retained_size_is_freed_after_its_call() {
        with_buffer(RETAIN_AT_MOST + 1, |large| large[..4].fill(3.0));
        with_buffer(4, |fresh| assert_eq!(fresh, [0.0; 4]));
    }
}
