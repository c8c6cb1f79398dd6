//! A safe matrix product over slices, on the `gemm` crate (the one burn's CPU backend uses
//! underneath), writing into a buffer the caller owns.
//!
//! burn-flex's `matmul` allocates every result as a zeroed byte vector and then copies it into
//! an aligned one (its `FlexTensor::empty`), two passes over the output before the product
//! writes it: for a 256 px U-Net's column matrices that was 5 % of a training step. `gemm`'s
//! entry point takes raw pointers and strides; [`product`] checks that every element the
//! shapes and strides reach lies inside the slices, which is what makes the call sound.

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
/// so both the reads and the writes stay within a few cache lines at a time.
pub fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 16;
    assert_eq!(
        values.len(),
        rows * cols,
        "transposing a {rows}×{cols} matrix"
    );
    let mut out = vec![0.0f32; values.len()];
    for row_start in (0..rows).step_by(TILE) {
        for col_start in (0..cols).step_by(TILE) {
            for i in row_start..(row_start + TILE).min(rows) {
                for j in col_start..(col_start + TILE).min(cols) {
                    out[j * rows + i] = values[i * cols + j];
                }
            }
        }
    }
    out
}

/// Work below which one thread is faster than two (burn-flex's threshold, 192³ multiply-adds).
const PARALLEL_ABOVE: usize = 192 * 192 * 192;

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
    let parallelism = if m.saturating_mul(n).saturating_mul(k) >= PARALLEL_ABOVE {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    let stride = |s: usize| s as isize;
    // SAFETY: the asserts above keep every offset `gemm` reads or writes inside the three
    // slices; `out` is borrowed mutably, so it cannot alias `lhs` or `rhs`, and its strides
    // are injective, so no two (parallel) writes target one element. With `read_dst` false the
    // output's previous values are never read.
    #[expect(
        unsafe_code,
        reason = "gemm's entry point takes raw pointers; bounds are checked above"
    )]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            stride(o.col_stride),
            stride(o.row_stride),
            accumulate,
            lhs.as_ptr(),
            stride(l.col_stride),
            stride(l.row_stride),
            rhs.as_ptr(),
            stride(r.col_stride),
            stride(r.row_stride),
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
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
