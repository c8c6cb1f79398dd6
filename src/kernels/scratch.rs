//! One reusable buffer per thread for the column matrices of the convolution kernels.
//!
//! A 256 px training step builds column matrices of about 550 MB in all (16 MB each in the
//! outer layers). Fresh, each had to be zeroed before im2col or the GEMM overwrote it; reused,
//! it is written once. Whoever borrows the buffer must write every value before reading it.

use std::cell::RefCell;

thread_local! {
    static BUFFER: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` on `len` values of this thread's buffer (grown as needed, never shrunk). The
/// values are whatever the last user left: `work` must overwrite them all before reading any.
/// A nested call on the same thread gets a fresh zeroed buffer instead.
pub fn with_buffer<T>(len: usize, work: impl FnOnce(&mut [f32]) -> T) -> T {
    BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffer) => {
            if buffer.len() < len {
                buffer.resize(len, 0.0);
            }
            work(&mut buffer[..len])
        }
        Err(_) => work(&mut vec![0.0; len]),
    })
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
}
