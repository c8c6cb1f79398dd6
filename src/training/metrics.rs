//! Validation metrics between generated and target images: mean L1, PSNR and SSIM, all on
//! pixel values scaled to `[0, 1]`.
//!
//! SSIM is the standard one (Wang et al. 2004: 11-tap Gaussian window, sigma 1.5, K1 = 0.01,
//! K2 = 0.03), averaged over pixels and channels; written here because it is a few lines on the
//! planar buffers the engine already has.

use serde::{Deserialize, Serialize};

/// The metrics of one comparison or their mean over a set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Mean absolute difference, `[0, 1]`, lower is better.
    pub l1: f64,
    /// Peak signal-to-noise ratio in dB, higher is better (capped at 100 for identical images).
    pub psnr_db: f64,
    /// Structural similarity, `[-1, 1]`, higher is better.
    pub ssim: f64,
}

impl Metrics {
    /// Compares planar `[C, H, W]` images in `[-1, 1]`.
    pub fn compare(
        generated: &[f32],
        target: &[f32],
        channels: usize,
        height: usize,
        width: usize,
    ) -> Self {
        let to_unit = |v: &f32| ((f64::from(*v) + 1.0) / 2.0).clamp(0.0, 1.0);
        let a: Vec<f64> = generated.iter().map(to_unit).collect();
        let b: Vec<f64> = target.iter().map(to_unit).collect();
        let count = a.len().max(1) as f64;
        let l1 = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / count;
        let mse = a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / count;
        let psnr_db = if mse > 0.0 {
            (10.0 * (1.0 / mse).log10()).min(100.0)
        } else {
            100.0
        };
        let plane = height * width;
        let ssim = (0..channels)
            .map(|c| {
                ssim_plane(
                    &a[c * plane..(c + 1) * plane],
                    &b[c * plane..(c + 1) * plane],
                    height,
                    width,
                )
            })
            .sum::<f64>()
            / channels.max(1) as f64;
        Self { l1, psnr_db, ssim }
    }

    /// The mean of several.
    pub fn mean(all: &[Metrics]) -> Self {
        let n = all.len().max(1) as f64;
        Self {
            l1: all.iter().map(|m| m.l1).sum::<f64>() / n,
            psnr_db: all.iter().map(|m| m.psnr_db).sum::<f64>() / n,
            ssim: all.iter().map(|m| m.ssim).sum::<f64>() / n,
        }
    }
}

const WINDOW_RADIUS: usize = 5;
const WINDOW_SIGMA: f64 = 1.5;
const C1: f64 = 0.01 * 0.01;
const C2: f64 = 0.03 * 0.03;

fn gaussian_window() -> Vec<f64> {
    let weights: Vec<f64> = (0..=2 * WINDOW_RADIUS)
        .map(|i| {
            let d = i as f64 - WINDOW_RADIUS as f64;
            (-d * d / (2.0 * WINDOW_SIGMA * WINDOW_SIGMA)).exp()
        })
        .collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
}

/// Separable Gaussian blur with clamped borders.
fn blur(plane: &[f64], height: usize, width: usize, window: &[f64]) -> Vec<f64> {
    let r = WINDOW_RADIUS as isize;
    let clamp = |v: isize, len: usize| v.clamp(0, len as isize - 1) as usize;
    let mut rows = vec![0.0; plane.len()];
    for y in 0..height {
        for x in 0..width {
            rows[y * width + x] = (-r..=r)
                .map(|d| window[(d + r) as usize] * plane[y * width + clamp(x as isize + d, width)])
                .sum();
        }
    }
    let mut out = vec![0.0; plane.len()];
    for y in 0..height {
        for x in 0..width {
            out[y * width + x] = (-r..=r)
                .map(|d| window[(d + r) as usize] * rows[clamp(y as isize + d, height) * width + x])
                .sum();
        }
    }
    out
}

fn ssim_plane(a: &[f64], b: &[f64], height: usize, width: usize) -> f64 {
    if a.is_empty() {
        return 1.0;
    }
    let window = gaussian_window();
    let product = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(p, q)| p * q).collect::<Vec<f64>>();
    let mu_a = blur(a, height, width, &window);
    let mu_b = blur(b, height, width, &window);
    let aa = blur(&product(a, a), height, width, &window);
    let bb = blur(&product(b, b), height, width, &window);
    let ab = blur(&product(a, b), height, width, &window);
    let total: f64 = (0..a.len())
        .map(|i| {
            let (ma, mb) = (mu_a[i], mu_b[i]);
            let var_a = aa[i] - ma * ma;
            let var_b = bb[i] - mb * mb;
            let cov = ab[i] - ma * mb;
            ((2.0 * ma * mb + C1) * (2.0 * cov + C2))
                / ((ma * ma + mb * mb + C1) * (var_a + var_b + C2))
        })
        .sum();
    total / a.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize, offset: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * 0.37 + offset).sin()).collect()
    }

    #[test]
    fn identical_images_are_perfect_and_noise_lowers_every_metric() {
        let image = ramp(3 * 16 * 16, 0.0);
        let same = Metrics::compare(&image, &image, 3, 16, 16);
        assert_eq!(same.l1, 0.0);
        assert_eq!(same.psnr_db, 100.0);
        assert!((same.ssim - 1.0).abs() < 1e-12);
        let noisy: Vec<f32> = image
            .iter()
            .zip(ramp(image.len(), 1.3))
            .map(|(a, n)| (a + 0.2 * n).clamp(-1.0, 1.0))
            .collect();
        let worse = Metrics::compare(&noisy, &image, 3, 16, 16);
        assert!(
            worse.l1 > 0.0 && worse.psnr_db < 40.0 && worse.ssim < 0.99,
            "{worse:?}"
        );
        // PSNR of a constant error of 0.1 (in [0, 1]) is 20 dB.
        let shifted: Vec<f32> = vec![0.0; 64];
        let target: Vec<f32> = vec![0.2; 64];
        assert!((Metrics::compare(&shifted, &target, 1, 8, 8).psnr_db - 20.0).abs() < 1e-6);
    }
}
