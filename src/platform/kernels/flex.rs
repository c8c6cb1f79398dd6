//! The convolution kernels on the CPU backend: im2col / col2im (see [`super::im2col`]) around
//! a multi-threaded GEMM into buffers of our own ([`super::gemm`]), one image of the batch at a
//! time; one-output-channel convolutions go straight through [`super::direct`].

use burn::backend::Flex;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::tensor::{DType, FloatDType, TensorData};
use burn_flex::FlexTensor;

use super::ConvKernels;
use super::gemm::{Matrix, product, transpose};
use super::im2col::{Geometry, col2im, im2col};
use super::{direct, scratch};
use crate::platform::profile::{self, Kind, Operation};

impl ConvKernels for Flex {
    fn conv_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self> {
        let (x, dtype) = as_f32(x);
        let (weight, _) = as_f32(weight);
        let [batch, channels, height, width] = dims4(&x);
        let [out_channels, _, kernel, _] = dims4(&weight);
        let geometry = Geometry {
            channels,
            height,
            width,
            kernel,
            stride,
            padding,
        };
        let (rows, pixels) = (geometry.rows(), geometry.columns());
        let weight = weight.storage::<f32>(); // [O, C·k·k]
        let mut outputs = scratch::zeroed(batch * out_channels * pixels);
        profile::timed(operation(Kind::Conv, geometry, out_channels), || {
            for (index, output) in outputs.chunks_mut(out_channels * pixels).enumerate() {
                let image = image_values(&x, index, batch);
                if out_channels == 1 {
                    direct::forward(image, weight, geometry, output);
                } else {
                    scratch::with_buffer(rows * pixels, |columns| {
                        im2col(image, geometry, columns);
                        product(
                            (weight, Matrix::row_major(out_channels, rows)),
                            (columns, Matrix::row_major(rows, pixels)),
                            (output, Matrix::row_major(out_channels, pixels)),
                            false,
                        );
                    });
                }
            }
        });
        let shape = [
            batch,
            out_channels,
            geometry.out_height(),
            geometry.out_width(),
        ];
        restore(
            FlexTensor::from_data(TensorData::new(outputs, shape)),
            dtype,
        )
    }

    fn conv_input_grad(
        grad: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding: usize,
        height: usize,
        width: usize,
    ) -> FloatTensor<Self> {
        let (grad, dtype) = as_f32(grad);
        let (weight, _) = as_f32(weight);
        let [batch, out_channels, out_height, out_width] = dims4(&grad);
        let [_, channels, kernel, _] = dims4(&weight);
        let geometry = Geometry {
            channels,
            height,
            width,
            kernel,
            stride,
            padding,
        };
        debug_assert_eq!(
            (geometry.out_height(), geometry.out_width()),
            (out_height, out_width)
        );
        let (rows, pixels) = (geometry.rows(), geometry.columns());
        let weight = weight.storage::<f32>(); // [O, C·k·k]
        let mut images = scratch::zeroed(batch * channels * height * width);
        profile::timed(operation(Kind::ConvAdjoint, geometry, out_channels), || {
            for (index, image) in images.chunks_mut(channels * height * width).enumerate() {
                let grad = image_values(&grad, index, batch); // [O, Ho·Wo]
                if out_channels == 1 {
                    direct::input_grad(grad, weight, geometry, image);
                } else {
                    scratch::with_buffer(rows * pixels, |grad_columns| {
                        product(
                            (weight, Matrix::row_major(out_channels, rows).transposed()),
                            (grad, Matrix::row_major(out_channels, pixels)),
                            (grad_columns, Matrix::row_major(rows, pixels)),
                            false,
                        );
                        col2im(grad_columns, geometry, image);
                    });
                }
            }
        });
        let shape = [batch, channels, height, width];
        restore(FlexTensor::from_data(TensorData::new(images, shape)), dtype)
    }

    fn conv_weight_grad(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        stride: usize,
        padding: usize,
        kernel: usize,
    ) -> FloatTensor<Self> {
        let (x, dtype) = as_f32(x);
        let (grad, _) = as_f32(grad);
        let [batch, channels, height, width] = dims4(&x);
        let [_, out_channels, _, _] = dims4(&grad);
        let geometry = Geometry {
            channels,
            height,
            width,
            kernel,
            stride,
            padding,
        };
        let (rows, pixels) = (geometry.rows(), geometry.columns());
        // A long product (many output pixels per weight) runs 1.7-5× faster as
        // `dwᵀ = columns · dyᵀ`, both operands row-major, than as `dy · columnsᵀ`, whose right
        // side is column-major; the two transposed copies are small beside it. (Measured with
        // the gemm crate on AVX-512; for short products both layouts tie.)
        let transposed = out_channels > 1 && pixels >= rows / 2;
        let mut weight_grad = scratch::zeroed(out_channels * rows); // [O, C·k·k], or its transpose
        profile::timed(operation(Kind::WeightGrad, geometry, out_channels), || {
            for index in 0..batch {
                let (image, grad) = (
                    image_values(&x, index, batch),
                    image_values(&grad, index, batch),
                );
                if out_channels == 1 {
                    direct::weight_grad(image, grad, geometry, &mut weight_grad);
                    continue;
                }
                let columns_shape = Matrix::row_major(rows, pixels);
                scratch::with_buffer(rows * pixels, |columns| {
                    im2col(image, geometry, columns);
                    if transposed {
                        let grad_t = transpose(grad, out_channels, pixels); // [Ho·Wo, O]
                        product(
                            (columns, columns_shape),
                            (&grad_t, Matrix::row_major(pixels, out_channels)),
                            (&mut weight_grad, Matrix::row_major(rows, out_channels)),
                            index > 0,
                        );
                    } else {
                        product(
                            (grad, Matrix::row_major(out_channels, pixels)),
                            (columns, columns_shape.transposed()),
                            (&mut weight_grad, Matrix::row_major(out_channels, rows)),
                            index > 0,
                        );
                    }
                });
            }
            if transposed {
                weight_grad = transpose(&weight_grad, rows, out_channels);
            }
        });
        let shape = [out_channels, channels, kernel, kernel];
        restore(
            FlexTensor::from_data(TensorData::new(weight_grad, shape)),
            dtype,
        )
    }
}

/// The profile's name for one product, over all images of the batch (see [`crate::platform::profile`]).
fn operation(kind: Kind, g: Geometry, out_channels: usize) -> impl FnOnce() -> Operation {
    move || {
        let shape = [
            g.channels,
            out_channels,
            g.height,
            g.width,
            g.kernel,
            g.stride,
            g.padding,
        ];
        Operation::conv(kind, shape)
    }
}

/// The four extents of a rank-4 tensor.
fn dims4(tensor: &FlexTensor) -> [usize; 4] {
    let shape = tensor.layout().shape();
    [shape[0], shape[1], shape[2], shape[3]]
}

/// A contiguous `f32` copy of `tensor` (a no-op for the networks' own tensors) and its dtype.
pub(super) fn as_f32(tensor: FlexTensor) -> (FlexTensor, DType) {
    let dtype = tensor.dtype();
    let tensor = if dtype == DType::F32 {
        tensor
    } else {
        Flex::float_cast(tensor, FloatDType::F32)
    };
    (tensor.to_contiguous(), dtype)
}

/// Casts a result back to the dtype the caller used.
pub(super) fn restore(tensor: FlexTensor, dtype: DType) -> FlexTensor {
    match dtype {
        DType::F64 => Flex::float_cast(tensor, FloatDType::F64),
        DType::F16 => Flex::float_cast(tensor, FloatDType::F16),
        DType::BF16 => Flex::float_cast(tensor, FloatDType::BF16),
        _ => tensor,
    }
}

/// The values of image `index` of a contiguous batch of `count` images.
fn image_values(batch: &FlexTensor, index: usize, count: usize) -> &[f32] {
    let values = batch.storage::<f32>();
    let len = values.len() / count.max(1);
    &values[index * len..(index + 1) * len]
}
