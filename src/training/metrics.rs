//! Validation metrics between generated and target images: mean L1, PSNR and SSIM, all on
//! pixel values scaled to `[0, 1]`.
//!
//! SSIM is scikit-image's `structural_similarity` with its defaults (the figure most papers
//! and pix2pix follow-ups quote): a uniform 7×7 window, sample covariances (×49/48), K1 = 0.01,
//! K2 = 0.03, data range 1, averaged over the pixels whose window lies inside the image (a
//! 3-pixel border is left out) and then over channels. Images smaller than 7 px use the largest
//! odd window that fits (scikit-image refuses them). Written here with summed-area tables over
//! the planar buffers the engine already has; a test pins it to a value scikit-image 0.26 gives.

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

/// scikit-image's default window side.
const WINDOW: usize = 7;
const C1: f64 = 0.01 * 0.01;
const C2: f64 = 0.03 * 0.03;

/// Sums of a plane over any rectangle in constant time.
struct SummedArea {
    sums: Vec<f64>,
    width: usize,
}

impl SummedArea {
    /// The table of `value(i)` over a row-major `height` × `width` plane.
    fn new(height: usize, width: usize, value: impl Fn(usize) -> f64) -> Self {
        let stride = width + 1;
        let mut sums = vec![0.0; (height + 1) * stride];
        for y in 0..height {
            let mut row = 0.0;
            for x in 0..width {
                row += value(y * width + x);
                sums[(y + 1) * stride + x + 1] = sums[y * stride + x + 1] + row;
            }
        }
        Self { sums, width }
    }

    /// The sum over `side` × `side` pixels from `(top, left)`.
    fn square(&self, top: usize, left: usize, side: usize) -> f64 {
        let stride = self.width + 1;
        let at = |y: usize, x: usize| self.sums[y * stride + x];
        at(top + side, left + side) - at(top, left + side) - at(top + side, left) + at(top, left)
    }
}

fn ssim_plane(a: &[f64], b: &[f64], height: usize, width: usize) -> f64 {
    let fits = height.min(width).min(WINDOW);
    let side = if fits.is_multiple_of(2) {
        fits.saturating_sub(1)
    } else {
        fits
    };
    if side == 0 {
        return 1.0;
    }
    let count = (side * side) as f64;
    // Sample covariances, as scikit-image (`use_sample_covariance=True`).
    let covariance_norm = if side > 1 { count / (count - 1.0) } else { 1.0 };
    let sum_a = SummedArea::new(height, width, |i| a[i]);
    let sum_b = SummedArea::new(height, width, |i| b[i]);
    let sum_aa = SummedArea::new(height, width, |i| a[i] * a[i]);
    let sum_bb = SummedArea::new(height, width, |i| b[i] * b[i]);
    let sum_ab = SummedArea::new(height, width, |i| a[i] * b[i]);
    let mut total = 0.0;
    let mut windows = 0usize;
    for top in 0..=height - side {
        for left in 0..=width - side {
            let mean = |t: &SummedArea| t.square(top, left, side) / count;
            let (ma, mb) = (mean(&sum_a), mean(&sum_b));
            let var_a = covariance_norm * (mean(&sum_aa) - ma * ma);
            let var_b = covariance_norm * (mean(&sum_bb) - mb * mb);
            let cov = covariance_norm * (mean(&sum_ab) - ma * mb);
            total += ((2.0 * ma * mb + C1) * (2.0 * cov + C2))
                / ((ma * ma + mb * mb + C1) * (var_a + var_b + C2));
            windows += 1;
        }
    }
    total / windows.max(1) as f64
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

    #[test]
    fn ssim_matches_scikit_image() {
        // skimage.metrics.structural_similarity(A, B, data_range=1.0, channel_axis=0) on these
        // images, scikit-image 0.26.0 (the recipe is this test's inputs, in float32 then float64).
        let image = ramp(3 * 20 * 24, 0.0);
        let noisy: Vec<f32> = image
            .iter()
            .zip(ramp(image.len(), 1.3))
            .map(|(a, n)| (a + 0.2 * n).clamp(-1.0, 1.0))
            .collect();
        let ssim = Metrics::compare(&noisy, &image, 3, 20, 24).ssim;
        assert!((ssim - 0.982_192_099_445_603_8).abs() < 1e-6, "{ssim}");
        let a: Vec<f32> = (0..32 * 40).map(|i| (i as f32 * 0.11).sin()).collect();
        let b: Vec<f32> = (0..32 * 40).map(|i| (i as f32 * 0.05).cos()).collect();
        let ssim = Metrics::compare(&a, &b, 1, 32, 40).ssim;
        assert!((ssim - -0.083_860_641_743_371_53).abs() < 1e-6, "{ssim}");
    }
}
