//! The three products of a convolution with one output channel (the PatchGAN's last layer),
//! computed directly instead of through im2col.
//!
//! With one output channel the matrix products degenerate into matrix-vector products over a
//! column matrix 16 times the size of the input (29 MB at 256 px, written and read once per
//! product): a 256 px training step spent 5 % of its time there. Here each product is
//! `C·k·k` short multiply-adds over input rows, with no intermediate buffer; summed in another
//! order than the GEMM, so results agree to rounding.

use std::ops::Range;

use rayon::prelude::*;

use super::im2col::{Geometry, column_spans, input_row_index};

/// `output[i, j] = Σ_c Σ_(ky, kx) weight[c, ky, kx] · image[c, i·s + ky − p, j·s + kx − p]`
/// for one image `[C, H, W]`, weight `[C, k, k]` and output `[Ho, Wo]`.
pub fn forward(image: &[f32], weight: &[f32], geometry: Geometry, output: &mut [f32]) {
    let g = geometry;
    let out_w = g.out_width();
    let plane = g.height * g.width;
    let taps = g.kernel * g.kernel;
    let spans = column_spans(g);
    output
        .par_chunks_mut(out_w)
        .enumerate()
        .for_each(|(i, out_row)| {
            out_row.fill(0.0);
            for (channel, channel_weights) in image.chunks(plane).zip(weight.chunks(taps)) {
                for ky in 0..g.kernel {
                    let Some(y) = input_row_index(i, ky, g) else {
                        continue;
                    };
                    let input_row = &channel[y * g.width..(y + 1) * g.width];
                    let kernel_row = &channel_weights[ky * g.kernel..(ky + 1) * g.kernel];
                    for (&w, span) in kernel_row.iter().zip(&spans) {
                        let inside = &mut out_row[span.outputs.clone()];
                        if g.stride == 1 {
                            let source =
                                &input_row[span.first_input..span.first_input + inside.len()];
                            for (value, &pixel) in inside.iter_mut().zip(source) {
                                *value += w * pixel;
                            }
                        } else {
                            let source = input_row.iter().skip(span.first_input).step_by(g.stride);
                            for (value, &pixel) in inside.iter_mut().zip(source) {
                                *value += w * pixel;
                            }
                        }
                    }
                }
            }
        });
}

/// The adjoint in the image: adds `weight[c, ky, kx] · grad[i, j]` into
/// `image[c, i·s + ky − p, j·s + kx − p]` for `grad` `[Ho, Wo]`; `image` `[C, H, W]` is zeroed
/// by the caller.
pub fn input_grad(grad: &[f32], weight: &[f32], geometry: Geometry, image: &mut [f32]) {
    let g = geometry;
    image
        .par_chunks_mut(g.height * g.width)
        .zip(weight.par_chunks(g.kernel * g.kernel))
        .for_each(|(channel, channel_weights)| {
            for_each_tap_row(g, |tap, y, outputs, x_lo| {
                let w = channel_weights[tap];
                let input_row = &mut channel[y * g.width..(y + 1) * g.width];
                let grad_row = &grad[outputs];
                if g.stride == 1 {
                    let target = &mut input_row[x_lo..x_lo + grad_row.len()];
                    for (pixel, &value) in target.iter_mut().zip(grad_row) {
                        *pixel += w * value;
                    }
                } else {
                    let target = input_row.iter_mut().skip(x_lo).step_by(g.stride);
                    for (pixel, &value) in target.zip(grad_row) {
                        *pixel += w * value;
                    }
                }
            });
        });
}

/// The weight gradient of one image: `weight_grad[c, ky, kx] +=
/// Σ_(i, j) grad[i, j] · image[c, i·s + ky − p, j·s + kx − p]`.
pub fn weight_grad(image: &[f32], grad: &[f32], geometry: Geometry, weight_grad: &mut [f32]) {
    let g = geometry;
    weight_grad
        .par_chunks_mut(g.kernel * g.kernel)
        .zip(image.par_chunks(g.height * g.width))
        .for_each(|(channel_grads, channel)| {
            for_each_tap_row(g, |tap, y, outputs, x_lo| {
                let input_row = &channel[y * g.width..(y + 1) * g.width];
                let grad_row = &grad[outputs];
                channel_grads[tap] += if g.stride == 1 {
                    dot(&input_row[x_lo..x_lo + grad_row.len()], grad_row)
                } else {
                    let source = input_row.iter().skip(x_lo).step_by(g.stride);
                    source.zip(grad_row).map(|(&x, &dy)| x * dy).sum::<f32>()
                };
            });
        });
}

/// Calls `visit(tap, y, outputs, first_input)` for every kernel tap (`ky·k + kx`) and every
/// output row that the tap reads inside the image: `y` is the input row, `outputs` the range of
/// the row's output values (in `[Ho·Wo]`) whose input lies inside, `first_input` the input
/// column the first of them reads.
fn for_each_tap_row(g: Geometry, mut visit: impl FnMut(usize, usize, Range<usize>, usize)) {
    let (out_h, out_w) = (g.out_height(), g.out_width());
    for ky in 0..g.kernel {
        let (i_lo, i_hi, y_lo) = g.valid_outputs(ky, g.height, out_h);
        for kx in 0..g.kernel {
            let (j_lo, j_hi, x_lo) = g.valid_outputs(kx, g.width, out_w);
            for (step, i) in (i_lo..i_hi).enumerate() {
                let y = y_lo + step * g.stride;
                visit(
                    ky * g.kernel + kx,
                    y,
                    i * out_w + j_lo..i * out_w + j_hi,
                    x_lo,
                );
            }
        }
    }
}

/// `Σ a[i] · b[i]` for two slices of one length, in eight-lane blocks of independent partial
/// sums (a single running sum keeps the loop scalar: floating-point addition is not
/// reassociated by the compiler).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut partial = [0.0f32; LANES];
    let (a_blocks, b_blocks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_blocks
        .remainder()
        .iter()
        .zip(b_blocks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_blocks.zip(b_blocks) {
        for lane in 0..LANES {
            partial[lane] += x[lane] * y[lane];
        }
    }
    partial.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::super::im2col::im2col;
    use super::*;

    fn geometry(stride: usize, size: usize) -> Geometry {
        Geometry {
            channels: 3,
            height: size,
            width: size + 1,
            kernel: 4,
            stride,
            padding: 1,
        }
    }

    fn values(len: usize, seed: f32) -> Vec<f32> {
        (0..len).map(|i| ((i as f32 + seed) * 0.37).sin()).collect()
    }

    /// The column matrix times the weight vector: the GEMM path's answer.
    fn via_columns(image: &[f32], weight: &[f32], g: Geometry) -> Vec<f32> {
        let mut columns = vec![0.0; g.rows() * g.columns()];
        im2col(image, g, &mut columns);
        (0..g.columns())
            .map(|col| {
                (0..g.rows())
                    .map(|row| weight[row] * columns[row * g.columns() + col])
                    .sum()
            })
            .collect()
    }

    fn assert_close(ours: &[f32], expected: &[f32]) {
        assert_eq!(ours.len(), expected.len());
        for (a, b) in ours.iter().zip(expected) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }

    #[test]
    fn forward_matches_im2col_times_the_weights() {
        for (stride, size) in [(1, 9), (2, 10), (1, 2), (2, 2)] {
            let g = geometry(stride, size);
            let image = values(g.channels * g.height * g.width, 0.0);
            let weight = values(g.rows(), 5.0);
            let mut output = vec![f32::NAN; g.columns()];
            forward(&image, &weight, g, &mut output);
            assert_close(&output, &via_columns(&image, &weight, g));
        }
    }

    #[test]
    fn input_and_weight_gradients_are_the_adjoints_of_the_forward() {
        // <forward(x; w), dy> = <x, input_grad(dy; w)> = <w, weight_grad(x, dy)>.
        for (stride, size) in [(1, 9), (2, 10), (1, 2), (2, 2)] {
            let g = geometry(stride, size);
            let image = values(g.channels * g.height * g.width, 1.0);
            let weight = values(g.rows(), 2.0);
            let grad = values(g.columns(), 3.0);
            let mut output = vec![0.0; g.columns()];
            forward(&image, &weight, g, &mut output);
            let mut image_grad = vec![0.0; image.len()];
            input_grad(&grad, &weight, g, &mut image_grad);
            let mut weight_grads = vec![0.0; weight.len()];
            weight_grad(&image, &grad, g, &mut weight_grads);
            let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
            let reference = dot(&output, &grad);
            assert!((dot(&image, &image_grad) - reference).abs() < 1e-3);
            assert!((dot(&weight, &weight_grads) - reference).abs() < 1e-3);
        }
    }
}
