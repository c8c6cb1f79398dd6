//! Device → host reads. Every read of a tensor's values goes through [`host_data`] (clippy's
//! `disallowed-methods` keeps burn's own readers out of the rest of the crate), and each is
//! counted per thread: on a GPU a read waits for the device to finish everything queued before
//! it, so the training loop is held to a budget of reads per step that a test can check (per
//! thread, so tests running beside it do not disturb the count).

use std::cell::Cell;

use burn::tensor::{Tensor, TensorData};

use crate::error::{Error, Result};

thread_local! {
    static READS: Cell<u64> = const { Cell::new(0) };
}

/// Reads a tensor's values back to the host (one transfer, and on a GPU one wait for the queue);
/// `what` names it in the error.
#[allow(
    clippy::disallowed_methods,
    reason = "the one place a tensor is read back, so that every read is counted"
)]
pub fn host_data<const D: usize>(tensor: Tensor<D>, what: &str) -> Result<TensorData> {
    READS.with(|reads| reads.set(reads.get() + 1));
    tensor
        .try_into_data()
        .map_err(|err| Error::Backend(format!("reading {what} back: {err:?}")))
}

/// The values of a tensor on the host as `f32`, row-major; `what` names it in the error.
pub fn host_values<const D: usize>(tensor: Tensor<D>, what: &str) -> Result<Vec<f32>> {
    host_data(tensor, what)?
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|err| Error::Backend(format!("reading {what} back: {err:?}")))
}

/// Reads made by the calling thread so far (on any device).
pub fn reads_on_this_thread() -> u64 {
    READS.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(
        clippy::disallowed_methods,
        reason = "tests make the CPU device directly"
    )]
    fn every_read_is_counted() {
        let device = burn::tensor::Device::flex();
        let before = reads_on_this_thread();
        let tensor = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &device);
        assert_eq!(
            host_values(tensor.clone(), "a test tensor").unwrap(),
            [1.0, 2.0, 3.0, 4.0]
        );
        assert_eq!(
            host_data(tensor, "a test tensor").unwrap().shape().to_vec(),
            [2, 2]
        );
        assert_eq!(reads_on_this_thread(), before + 2);
    }
}
