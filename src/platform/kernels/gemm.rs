//! A safe matrix product over slices, on the `gemm` crate (the one burn's CPU backend uses
//! underneath), writing into a buffer the caller owns.
//!
//! burn-flex's `matmul` allocates every result as a zeroed byte vector and then copies it into
//! an aligned one (its `FlexTensor::empty`), two passes over the output before the product
//! writes it: for a 256 px U-Net's column matrices that was 5 % of a training step. `gemm`'s
//! entry point takes raw pointers and strides; [`product`] checks that every element the
//! shapes and strides reach lies inside the slices, which is what makes the call sound.

use rayon::prelude::*;

use super::scratch;

/// A matrix's layout in its slice: `rows × cols`, element `(i, j)` at
/// `i · row_stride + j · col_stride`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Matrix {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Distance between rows.
    pub row_stride: usize,
    /// Distance between columns.
    pub col_stride: usize,
}

impl Matrix {
    /// A dense row-major `rows × cols` matrix.
    pub fn row_major(rows: usize, cols: usize) -> Self {
        Matrix {
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The same values read as the transposed matrix (no copy).
    pub fn transposed(self) -> Self {
        Matrix {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// One past the largest offset the matrix reaches (0 when it is empty).
    fn extent(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            return 0;
        }
        (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride + 1
    }

    /// Whether distinct elements have distinct offsets: one stride is 1 and the other spans a
    /// whole line, so parallel writes never meet.
    fn is_injective(&self) -> bool {
        (self.col_stride == 1 && self.row_stride >= self.cols.max(1))
            || (self.row_stride == 1 && self.col_stride >= self.rows.max(1))
    }
}

/// `values` (`rows × cols`, row-major) transposed: `cols × rows`, row-major. In square tiles,
/// so both the reads and the writes stay within a few cache lines at a time; bands of output
/// rows on all threads when the matrix is large.
pub fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 16;
    assert_eq!(
        values.len(),
        rows * cols,
        "transposing a {rows}×{cols} matrix"
    );
    let mut out = scratch::zeroed(values.len());
    if values.is_empty() {
        return out;
    }
    // Output rows `band · TILE ..` are the input's columns from there.
    let fill_band = |(band, out_rows): (usize, &mut [f32])| {
        let col_start = band * TILE;
        let col_end = (col_start + TILE).min(cols);
        for row_start in (0..rows).step_by(TILE) {
            for i in row_start..(row_start + TILE).min(rows) {
                for j in col_start..col_end {
                    out_rows[(j - col_start) * rows + i] = values[i * cols + j];
                }
            }
        }
    };
    if values.len() < PARALLEL_TRANSPOSE_FROM {
        out.chunks_mut(TILE * rows).enumerate().for_each(fill_band);
    } else {
        out.par_chunks_mut(TILE * rows)
            .enumerate()
            .for_each(fill_band);
    }
    out
}

/// Matrices at least this large are transposed on all threads.
const PARALLEL_TRANSPOSE_FROM: usize = 1 << 16;

/// Work below which a product runs on one thread: 96³ multiply-adds, about 15 µs on one
/// core. burn-flex's 192³ left the inner layers of a 128 px U-Net on one thread; 96³ timed
/// the same within noise (0.128 against 0.130 s per step on two threads, docs/performance.md).
const PARALLEL_ABOVE: usize = 96 * 96 * 96;

/// `out = lhs · rhs` (`accumulate` false) or `out += lhs · rhs` (true), each matrix a slice and
/// its [`Matrix`].
///
/// # Panics
/// If the inner dimensions or the output's shape disagree, if a shape reaches outside its
/// slice, or if the output's strides would write two elements to one place: programming
/// errors of this module's callers, never a property of user data.
pub fn product(
    lhs: (&[f32], Matrix),
    rhs: (&[f32], Matrix),
    out: (&mut [f32], Matrix),
    accumulate: bool,
) {
    let ((lhs, l), (rhs, r), (out, o)) = (lhs, rhs, out);
    assert_eq!(l.cols, r.rows, "inner dimensions of the product");
    assert_eq!(
        (o.rows, o.cols),
        (l.rows, r.cols),
        "output shape of the product"
    );
    assert!(l.extent() <= lhs.len(), "left operand outside its slice");
    assert!(r.extent() <= rhs.len(), "right operand outside its slice");
    assert!(o.extent() <= out.len(), "output outside its slice");
    assert!(o.is_injective(), "output strides overlap");
    let (m, n, k) = (o.rows, o.cols, l.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            out.fill(0.0);
        }
        return;
    }
    let parts = if m.saturating_mul(n).saturating_mul(k) >= PARALLEL_ABOVE {
        rayon::current_num_threads()
    } else {
        1
    };
    let operands = Operands {
        lhs: lhs.as_ptr(),
        rhs: rhs.as_ptr(),
        out: out.as_mut_ptr(),
        l,
        r,
        o,
        k,
        accumulate,
    };
    // One block of the output per thread, each a sequential `gemm` call. `gemm`'s own
    // threading synchronises its threads once per depth block; on the small products of a
    // 128 px U-Net that gave the forward convolutions 1.14× from a second thread, whole blocks
    // 1.5× (docs/performance.md). The blocks split the longer side of the output.
    let (split_rows, length) = if m >= n { (true, m) } else { (false, n) };
    let step = length.div_ceil(parts).next_multiple_of(BLOCK_MULTIPLE);
    let block = |(start, end): (usize, usize)| {
        if split_rows {
            operands.block(start..end, 0..n);
        } else {
            operands.block(0..m, start..end);
        }
    };
    if step >= length {
        block((0, length));
    } else {
        (0..length)
            .step_by(step)
            .map(|start| (start, (start + step).min(length)))
            .collect::<Vec<_>>()
            .into_par_iter()
            .for_each(block);
    }
}

/// Blocks start at multiples of this: whole vectors of rows for the micro-kernel (16 lanes of
/// AVX-512) and whole cache lines of a row-major output split by columns.
const BLOCK_MULTIPLE: usize = 16;

/// The operands of one [`product`], checked, as the raw pointers `gemm` takes.
struct Operands {
    lhs: *const f32,
    rhs: *const f32,
    out: *mut f32,
    l: Matrix,
    r: Matrix,
    o: Matrix,
    k: usize,
    accumulate: bool,
}

// SAFETY: the pointers come from slices borrowed for the whole of `product` (shared for the
// operands, exclusive for the output), and the threads write disjoint blocks of the output.
#[expect(
    unsafe_code,
    reason = "the blocks of one product run on rayon's threads"
)]
unsafe impl Sync for Operands {}

impl Operands {
    /// The output's `rows × cols` block, on this thread.
    fn block(&self, rows: std::ops::Range<usize>, cols: std::ops::Range<usize>) {
        let (l, r, o) = (self.l, self.r, self.o);
        let stride = |s: usize| s as isize;
        // SAFETY: `product` checked that the whole output and both operands lie inside their
        // slices, so every block does too; the output's strides are injective and the blocks
        // of one product are disjoint, so no two writes meet. With `read_dst` false the
        // output's previous values are never read.
        #[expect(
            unsafe_code,
            reason = "gemm's entry point takes raw pointers; bounds are checked in `product`"
        )]
        unsafe {
            gemm::gemm(
                rows.len(),
                cols.len(),
                self.k,
                self.out
                    .add(rows.start * o.row_stride + cols.start * o.col_stride),
                stride(o.col_stride),
                stride(o.row_stride),
                self.accumulate,
                self.lhs.add(rows.start * l.row_stride),
                stride(l.col_stride),
                stride(l.row_stride),
                self.rhs.add(cols.start * r.col_stride),
                stride(r.col_stride),
                stride(r.row_stride),
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(lhs: &[f32], l: Matrix, rhs: &[f32], r: Matrix) -> Vec<f32> {
        let mut out = vec![0.0; l.rows * r.cols];
        for i in 0..l.rows {
            for j in 0..r.cols {
                out[i * r.cols + j] = (0..l.cols)
                    .map(|t| {
                        lhs[i * l.row_stride + t * l.col_stride]
                            * rhs[t * r.row_stride + j * r.col_stride]
                    })
                    .sum();
            }
        }
        out
    }

    #[test]
    fn products_match_the_definition_in_every_layout() {
        let (m, n, k) = (5, 7, 3);
        let lhs: Vec<f32> = (0..m * k).map(|v| v as f32 * 0.5 - 3.0).collect();
        let rhs: Vec<f32> = (0..k * n).map(|v| (v as f32).sin()).collect();
        for l in [
            Matrix::row_major(m, k),
            Matrix::row_major(k, m).transposed(),
        ] {
            for r in [
                Matrix::row_major(k, n),
                Matrix::row_major(n, k).transposed(),
            ] {
                let expected = naive(&lhs, l, &rhs, r);
                for o in [
                    Matrix::row_major(m, n),
                    Matrix::row_major(n, m).transposed(),
                ] {
                    let mut out = vec![f32::NAN; m * n];
                    product((&lhs, l), (&rhs, r), (&mut out, o), false);
                    for i in 0..m {
                        for j in 0..n {
                            let got = out[i * o.row_stride + j * o.col_stride];
                            assert!((got - expected[i * n + j]).abs() < 1e-5);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn products_split_over_threads_match_the_definition_in_every_layout() {
        // Above the threshold, so the output is split into blocks: by rows when m ≥ n, by
        // columns otherwise, with a last block shorter than the others (3 threads).
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("a thread pool");
        for (m, n, k) in [(101, 90, 100), (90, 101, 100)] {
            assert!(m * n * k >= PARALLEL_ABOVE);
            let lhs: Vec<f32> = (0..m * k).map(|v| (v as f32 * 0.1).cos()).collect();
            let rhs: Vec<f32> = (0..k * n).map(|v| (v as f32 * 0.3).sin()).collect();
            for (l, r, o) in [
                (
                    Matrix::row_major(m, k),
                    Matrix::row_major(k, n),
                    Matrix::row_major(m, n),
                ),
                (
                    Matrix::row_major(k, m).transposed(),
                    Matrix::row_major(n, k).transposed(),
                    Matrix::row_major(n, m).transposed(),
                ),
            ] {
                let expected = naive(&lhs, l, &rhs, r);
                for accumulate in [false, true] {
                    let mut out = vec![if accumulate { 1.0 } else { f32::NAN }; m * n];
                    pool.install(|| product((&lhs, l), (&rhs, r), (&mut out, o), accumulate));
                    let base = if accumulate { 1.0 } else { 0.0 };
                    for i in 0..m {
                        for j in 0..n {
                            let got = out[i * o.row_stride + j * o.col_stride];
                            let want = base + expected[i * n + j];
                            assert!(
                                (got - want).abs() < 1e-3,
                                "{m}×{n}×{k} at ({i}, {j}): {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn large_matrices_are_transposed_on_all_threads_like_small_ones() {
        let (rows, cols) = (300, 250);
        assert!(rows * cols >= PARALLEL_TRANSPOSE_FROM);
        let values: Vec<f32> = (0..rows * cols).map(|v| v as f32).collect();
        let out = transpose(&values, rows, cols);
        for i in 0..rows {
            for j in 0..cols {
                assert_eq!(out[j * rows + i], values[i * cols + j]);
            }
        }
    }

    #[test]
    fn accumulating_adds_to_the_output() {
        let lhs = [1.0, 2.0];
        let rhs = [3.0, 4.0];
        let mut out = [10.0];
        let (l, r) = (Matrix::row_major(1, 2), Matrix::row_major(2, 1));
        product(
            (&lhs, l),
            (&rhs, r),
            (&mut out, Matrix::row_major(1, 1)),
            true,
        );
        assert_eq!(out, [21.0]);
    }

    #[test]
    fn transposing_swaps_rows_and_columns() {
        let values: Vec<f32> = (0..6).map(|v| v as f32).collect();
        assert_eq!(transpose(&values, 2, 3), [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let large: Vec<f32> = (0..40 * 17).map(|v| v as f32).collect();
        assert_eq!(transpose(&transpose(&large, 40, 17), 17, 40), large);
    }

    #[test]
    #[should_panic(expected = "outside its slice")]
    fn a_shape_larger_than_its_slice_is_refused() {
        let lhs = [1.0; 5];
        let mut out = [0.0; 4];
        let (l, r) = (Matrix::row_major(2, 3), Matrix::row_major(3, 2));
        product(
            (&lhs, l),
            (&lhs, r),
            (&mut out, Matrix::row_major(2, 2)),
            false,
        );
    }
}
