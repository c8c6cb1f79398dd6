//! The reference's weight initialisation (`init_type normal`, gain 0.02) from a seed.
//!
//! Weights are drawn on the host from one seeded generator in a fixed layer order, then uploaded,
//! so the same seed gives the same network on every device (burn's own initialisers draw from
//! the backend's generator, which differs between CPU and GPU).

use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};

/// Standard deviation of every initial weight (the reference's `init_gain`).
pub const INIT_GAIN: f32 = 0.02;

/// Draws initial weights: conv N(0, 0.02), BatchNorm scale N(1, 0.02), biases and shifts 0.
pub struct WeightInit {
    rng: StdRng,
    device: Device,
}

impl WeightInit {
    /// A generator for `seed` producing tensors on `device`.
    pub fn new(seed: u64, device: &Device) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            device: device.clone(),
        }
    }

    /// A convolution weight of any layout, N(0, 0.02).
    pub fn conv_weight(&mut self, shape: [usize; 4]) -> Tensor<4> {
        self.normal(shape, 0.0)
    }

    /// A BatchNorm scale, N(1, 0.02).
    pub fn norm_scale(&mut self, channels: usize) -> Tensor<1> {
        self.normal([channels], 1.0)
    }

    /// A bias or shift: zeros.
    pub fn zeros(&self, channels: usize) -> Tensor<1> {
        Tensor::zeros([channels], &self.device)
    }

    /// A tensor filled with `value`.
    pub fn full(&self, channels: usize, value: f32) -> Tensor<1> {
        Tensor::full([channels], value, &self.device)
    }

    fn normal<const D: usize>(&mut self, shape: [usize; D], mean: f32) -> Tensor<D> {
        let count = shape.iter().product();
        // The parameters are constants, so the distribution is always valid.
        let values: Vec<f32> = match Normal::new(mean, INIT_GAIN) {
            Ok(normal) => (0..count).map(|_| normal.sample(&mut self.rng)).collect(),
            Err(_) => vec![mean; count],
        };
        Tensor::from_data(TensorData::new(values, shape), &self.device)
    }
}
