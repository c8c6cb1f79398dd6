//! Seeded random test inputs, so a failing test can be repeated.

use burn::tensor::{Device, Tensor, TensorData};

thread_local! {
    /// The random stream of the test running on this thread: libtest runs each test on a
    /// thread of its own, so a test draws the same values whatever runs beside it.
    static TEST_RNG: std::cell::RefCell<rand::rngs::StdRng> =
        std::cell::RefCell::new(rand::SeedableRng::seed_from_u64(0x5EED_F00D));
}

/// A tensor of uniform values in `[-1, 1)` from the test's seeded stream (burn's
/// `Tensor::random` is seeded by the operating system, so a failure could not be repeated).
pub fn seeded_uniform<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    use rand::RngExt;
    let count = shape.iter().product();
    let values: Vec<f32> = TEST_RNG.with(|rng| {
        let mut rng = rng.borrow_mut();
        (0..count).map(|_| rng.random_range(-1.0..1.0)).collect()
    });
    Tensor::from_data(TensorData::new(values, shape), device)
}
