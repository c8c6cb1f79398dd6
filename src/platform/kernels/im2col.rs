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

/// Fills `columns` (`[C·k·k, Ho·Wo]`, row-major) from `image` (`[C, H, W]`), writing every value
/// (zeros where a patch hangs over the padding), so `columns` may hold anything before.
pub fn im2col(image: &[f32], geometry: Geometry, columns: &mut [f32]) {
    let g = geometry;
    let plane = g.height * g.width;
    let rows_per_channel = g.kernel * g.kernel * g.columns();
    let spans = column_spans(g);
    columns
        .par_chunks_mut(rows_per_channel)
        .zip(image.par_chunks(plane))
        .for_each(|(channel_rows, channel)| {
            let mut phases = Phases::new(g);
            for ky in 0..g.kernel {
                for i in 0..g.out_height() {
                    let input_row = input_row_index(i, ky, g).map(|y| {
                        let row = &channel[y * g.width..(y + 1) * g.width];
                        phases.split(row);
                        row
                    });
                    for (kx, span) in spans.iter().enumerate() {
                        let row = (ky * g.kernel + kx) * g.columns();
                        let out_row = &mut channel_rows[row + i * g.out_width()..][..g.out_width()];
                        let Some(input_row) = input_row else {
                            out_row.fill(0.0);
                            continue;
                        };
                        out_row[..span.outputs.start].fill(0.0);
                        out_row[span.outputs.end..].fill(0.0);
                        let inside = &mut out_row[span.outputs.clone()];
                        inside.copy_from_slice(phases.run(
                            input_row,
                            span.first_input,
                            inside.len(),
                        ));
                    }
                }
            }
        });
}

/// Adds `columns` (`[C·k·k, Ho·Wo]`) back into `image` (`[C, H, W]`, zeroed by the caller):
/// the adjoint of [`im2col`]. Each image row gathers its contributions into its stride phases
/// (contiguous adds) and takes them back in one interleaving pass.
pub fn col2im(columns: &[f32], geometry: Geometry, image: &mut [f32]) {
    let g = geometry;
    let plane = g.height * g.width;
    let rows_per_channel = g.kernel * g.kernel * g.columns();
    let spans = column_spans(g);
    image
        .par_chunks_mut(plane)
        .zip(columns.par_chunks(rows_per_channel))
        .for_each(|(channel, channel_rows)| {
            let mut phases = Phases::new(g);
            for (y, image_row) in channel.chunks_mut(g.width).enumerate() {
                phases.clear();
                for ky in 0..g.kernel {
                    // The output row i with i·s + ky − p = y, if there is one.
                    let Some(i) = (y + g.padding)
                        .checked_sub(ky)
                        .filter(|t| t % g.stride == 0)
                        .map(|t| t / g.stride)
                        .filter(|&i| i < g.out_height())
                    else {
                        continue;
                    };
                    for (kx, span) in spans.iter().enumerate() {
                        let row = (ky * g.kernel + kx) * g.columns() + i * g.out_width();
                        let inside =
                            &channel_rows[row + span.outputs.start..row + span.outputs.end];
                        let target = phases.run_mut(span.first_input, inside.len());
                        for (sum, &value) in target.iter_mut().zip(inside) {
                            *sum += value;
                        }
                    }
                }
                phases.add_into(image_row);
            }
        });
}

/// One image row split by stride phase: phase `φ` holds the pixels `x` with `x mod s = φ`, in
/// order. A kernel column at stride `s` reads every `s`-th pixel from some start, which is a
/// contiguous run of one phase: copies and adds over runs vectorise, strided ones do not.
struct Phases {
    stride: usize,
    len: usize,
    values: Vec<f32>,
}

impl Phases {
    fn new(g: Geometry) -> Self {
        let len = g.width.div_ceil(g.stride);
        Phases {
            stride: g.stride,
            len,
            values: vec![0.0; g.stride * len],
        }
    }

    /// Splits `row` into its phases (a no-op at stride 1, where the row is its only phase).
    fn split(&mut self, row: &[f32]) {
        match self.stride {
            1 => {}
            2 => {
                let (even, odd) = self.values.split_at_mut(self.len);
                for ((pair, e), o) in row.chunks_exact(2).zip(even.iter_mut()).zip(odd.iter_mut()) {
                    *e = pair[0];
                    *o = pair[1];
                }
                if row.len() % 2 == 1 {
                    even[self.len - 1] = row[row.len() - 1];
                }
            }
            s => {
                for (x, &value) in row.iter().enumerate() {
                    self.values[(x % s) * self.len + x / s] = value;
                }
            }
        }
    }

    /// The `len` pixels `first, first + s, …` of the row last split (or of `row` at stride 1).
    fn run<'a>(&'a self, row: &'a [f32], first: usize, len: usize) -> &'a [f32] {
        if self.stride == 1 {
            return &row[first..first + len];
        }
        let start = (first % self.stride) * self.len + first / self.stride;
        &self.values[start..start + len]
    }

    /// The sums for pixels `first, first + s, …` (`len` of them).
    fn run_mut(&mut self, first: usize, len: usize) -> &mut [f32] {
        let start = (first % self.stride) * self.len + first / self.stride;
        &mut self.values[start..start + len]
    }

    fn clear(&mut self) {
        self.values.fill(0.0);
    }

    /// Adds the phases back into `row`, interleaved.
    fn add_into(&self, row: &mut [f32]) {
        match self.stride {
            1 => {
                for (pixel, &sum) in row.iter_mut().zip(&self.values) {
                    *pixel += sum;
                }
            }
            2 => {
                let (even, odd) = self.values.split_at(self.len);
                for ((pair, &e), &o) in row.chunks_exact_mut(2).zip(even).zip(odd) {
                    pair[0] += e;
                    pair[1] += o;
                }
                if row.len() % 2 == 1 {
                    let last = row.len() - 1;
                    row[last] += even[self.len - 1];
                }
            }
            s => {
                for (x, pixel) in row.iter_mut().enumerate() {
                    *pixel += self.values[(x % s) * self.len + x / s];
                }
            }
        }
    }
}

/// For one kernel column: the output columns that read inside the image, and the input column
/// the first of them reads.
pub(super) struct ColumnSpan {
    pub(super) outputs: std::ops::Range<usize>,
    pub(super) first_input: usize,
}

/// The [`ColumnSpan`] of each kernel column, computed once per product.
pub(super) fn column_spans(g: Geometry) -> Vec<ColumnSpan> {
    (0..g.kernel)
        .map(|kx| {
            let (lo, hi, first_input) = g.valid_outputs(kx, g.width, g.out_width());
            ColumnSpan {
                outputs: lo..hi,
                first_input,
            }
        })
        .collect()
}

/// The input row that output row `i` reads through kernel row `ky`, if it is inside the image
/// (`i·s + ky − p` in `0..H`).
pub(super) fn input_row_index(i: usize, ky: usize, g: Geometry) -> Option<usize> {
    (i * g.stride + ky)
        .checked_sub(g.padding)
        .filter(|&y| y < g.height)
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

    /// The geometries the networks use, and strides 3 and odd kernels for the phase split.
    const CASES: [(usize, usize, usize); 5] =
        [(4, 2, 1), (4, 1, 1), (1, 1, 0), (3, 3, 1), (5, 2, 2)];

    #[test]
    fn columns_hold_the_patches() {
        for (k, s, p) in CASES {
            let g = geometry(k, s, p);
            let image = ramp(g.channels * g.height * g.width);
            let mut columns = vec![f32::NAN; g.rows() * g.columns()];
            im2col(&image, g, &mut columns);
            let (out_h, out_w) = (g.out_height(), g.out_width());
            for c in 0..g.channels {
                for (ky, kx, i, j) in patch_positions(k, out_h, out_w) {
                    let y = (i * s + ky) as isize - p as isize;
                    let x = (j * s + kx) as isize - p as isize;
                    let inside = (0..6).contains(&y) && (0..5).contains(&x);
                    let expected = if inside {
                        image[c * 30 + y as usize * 5 + x as usize]
                    } else {
                        0.0
                    };
                    let row = (c * k + ky) * k + kx;
                    let got = columns[row * out_h * out_w + i * out_w + j];
                    assert_eq!(got, expected, "k{k} s{s} p{p} c{c} ky{ky} kx{kx} i{i} j{j}");
                }
            }
        }
    }

    /// Every (ky, kx, i, j) of a `k`-kernel over an `out_h × out_w` output.
    fn patch_positions(
        k: usize,
        out_h: usize,
        out_w: usize,
    ) -> impl Iterator<Item = (usize, usize, usize, usize)> {
        (0..k).flat_map(move |ky| {
            (0..k).flat_map(move |kx| {
                (0..out_h).flat_map(move |i| (0..out_w).map(move |j| (ky, kx, i, j)))
            })
        })
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), y> == <x, col2im(y)> for every geometry the networks use.
        for (kernel, stride, padding) in CASES {
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
