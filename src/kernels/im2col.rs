//! `im2col` and its adjoint `col2im` on plain slices: the data movement that turns a
//! convolution into one matrix product.
//!
//! For one image `[C, H, W]`, `im2col` writes the matrix `[C·k·k, Ho·Wo]` whose column `(i, j)`
//! holds the `k×k` patch under output pixel `(i, j)` (zeros where the patch hangs over the
//! padding). `col2im` scatters such a matrix back, summing overlapping contributions. Rows are
//! independent per input channel, so both run in parallel over channels.

use rayon::prelude::*;

/// The spatial geometry of a square-kernel convolution over one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Input channels.
    pub channels: usize,
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Stride in both directions.
    pub stride: usize,
    /// Zero padding on every side.
    pub padding: usize,
}

impl Geometry {
    /// Output height.
    pub fn out_height(&self) -> usize {
        (self.height + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// Output width.
    pub fn out_width(&self) -> usize {
        (self.width + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// Rows of the column matrix: `C·k·k`.
    pub fn rows(&self) -> usize {
        self.channels * self.kernel * self.kernel
    }

    /// Columns of the column matrix: `Ho·Wo`.
    pub fn columns(&self) -> usize {
        self.out_height() * self.out_width()
    }

    /// For kernel offset `offset` along an input axis of length `len`, the output positions
    /// `lo..hi` (of `out_len`) that read inside the image, and the input position of `lo`.
    pub(super) fn valid_outputs(
        &self,
        offset: usize,
        len: usize,
        out_len: usize,
    ) -> (usize, usize, usize) {
        let lo = self.padding.saturating_sub(offset).div_ceil(self.stride);
        let hi = if len + self.padding > offset {
            ((len - 1 + self.padding - offset) / self.stride + 1).min(out_len)
        } else {
            0
        };
        let lo = lo.min(hi);
        (
            lo,
            hi,
            (lo * self.stride + offset).saturating_sub(self.padding),
        )
    }
}

/// Fills `columns` (`[C·k·k, Ho·Wo]`, row-major) from `image` (`[C, H, W]`).
pub fn im2col(image: &[f32], geometry: Geometry, columns: &mut [f32]) {
    let g = geometry;
    let (out_h, out_w) = (g.out_height(), g.out_width());
    let plane = g.height * g.width;
    let rows_per_channel = g.kernel * g.kernel * out_h * out_w;
    columns
        .par_chunks_mut(rows_per_channel)
        .zip(image.par_chunks(plane))
        .for_each(|(channel_rows, channel)| {
            for (row_index, row) in channel_rows.chunks_mut(out_h * out_w).enumerate() {
                let (ky, kx) = (row_index / g.kernel, row_index % g.kernel);
                let (i_lo, i_hi, y_lo) = g.valid_outputs(ky, g.height, out_h);
                let (j_lo, j_hi, x_lo) = g.valid_outputs(kx, g.width, out_w);
                row[..i_lo * out_w].fill(0.0);
                row[i_hi * out_w..].fill(0.0);
                for (step, i) in (i_lo..i_hi).enumerate() {
                    let y = y_lo + step * g.stride;
                    let input_row = &channel[y * g.width..(y + 1) * g.width];
                    let out_row = &mut row[i * out_w..(i + 1) * out_w];
                    out_row[..j_lo].fill(0.0);
                    out_row[j_hi..].fill(0.0);
                    let inside = &mut out_row[j_lo..j_hi];
                    if g.stride == 1 {
                        inside.copy_from_slice(&input_row[x_lo..x_lo + inside.len()]);
                    } else {
                        let source = input_row[x_lo..].iter().step_by(g.stride);
                        for (value, &pixel) in inside.iter_mut().zip(source) {
                            *value = pixel;
                        }
                    }
                }
            }
        });
}

/// Adds `columns` (`[C·k·k, Ho·Wo]`) back into `image` (`[C, H, W]`, zeroed by the caller):
/// the adjoint of [`im2col`].
pub fn col2im(columns: &[f32], geometry: Geometry, image: &mut [f32]) {
    let g = geometry;
    let (out_h, out_w) = (g.out_height(), g.out_width());
    let plane = g.height * g.width;
    let rows_per_channel = g.kernel * g.kernel * out_h * out_w;
    image
        .par_chunks_mut(plane)
        .zip(columns.par_chunks(rows_per_channel))
        .for_each(|(channel, channel_rows)| {
            for (row_index, row) in channel_rows.chunks(out_h * out_w).enumerate() {
                let (ky, kx) = (row_index / g.kernel, row_index % g.kernel);
                let (i_lo, i_hi, y_lo) = g.valid_outputs(ky, g.height, out_h);
                let (j_lo, j_hi, x_lo) = g.valid_outputs(kx, g.width, out_w);
                for (step, i) in (i_lo..i_hi).enumerate() {
                    let y = y_lo + step * g.stride;
                    let input_row = &mut channel[y * g.width..(y + 1) * g.width];
                    let inside = &row[i * out_w + j_lo..i * out_w + j_hi];
                    if g.stride == 1 {
                        let target = &mut input_row[x_lo..x_lo + inside.len()];
                        for (pixel, &value) in target.iter_mut().zip(inside) {
                            *pixel += value;
                        }
                    } else {
                        let target = input_row[x_lo..].iter_mut().step_by(g.stride);
                        for (pixel, &value) in target.zip(inside) {
                            *pixel += value;
                        }
                    }
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(kernel: usize, stride: usize, padding: usize) -> Geometry {
        Geometry {
            channels: 2,
            height: 6,
            width: 5,
            kernel,
            stride,
            padding,
        }
    }

    fn ramp(len: usize) -> Vec<f32> {
        (0..len).map(|i| (i as f32 * 0.37).sin()).collect()
    }

    #[test]
    fn columns_hold_the_patches() {
        let g = geometry(4, 2, 1);
        let image = ramp(g.channels * g.height * g.width);
        let mut columns = vec![f32::NAN; g.rows() * g.columns()];
        im2col(&image, g, &mut columns);
        let (out_h, out_w) = (g.out_height(), g.out_width());
        assert_eq!((out_h, out_w), (3, 2));
        for c in 0..g.channels {
            for ky in 0..4 {
                for kx in 0..4 {
                    for i in 0..out_h {
                        for j in 0..out_w {
                            let y = (i * 2 + ky) as isize - 1;
                            let x = (j * 2 + kx) as isize - 1;
                            let inside = (0..6).contains(&y) && (0..5).contains(&x);
                            let expected = if inside {
                                image[c * 30 + y as usize * 5 + x as usize]
                            } else {
                                0.0
                            };
                            let row = (c * 4 + ky) * 4 + kx;
                            assert_eq!(columns[row * out_h * out_w + i * out_w + j], expected);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), y> == <x, col2im(y)> for every geometry the networks use.
        for (kernel, stride, padding) in [(4, 2, 1), (4, 1, 1), (1, 1, 0)] {
            let g = geometry(kernel, stride, padding);
            let image = ramp(g.channels * g.height * g.width);
            let other: Vec<f32> = ramp(g.rows() * g.columns() + 3)[3..].to_vec();
            let mut columns = vec![0.0; g.rows() * g.columns()];
            im2col(&image, g, &mut columns);
            let mut back = vec![0.0; image.len()];
            col2im(&other, g, &mut back);
            let lhs: f32 = columns.iter().zip(&other).map(|(a, b)| a * b).sum();
            let rhs: f32 = image.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert!(
                (lhs - rhs).abs() < 1e-4,
                "k{kernel} s{stride} p{padding}: {lhs} vs {rhs}"
            );
        }
    }
}
