//! The convolution kernels on the CPU backend: im2col / col2im (see [`super::im2col`]) around
//! flex's multi-threaded GEMM, one image of the batch at a time.

use burn::backend::Flex;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::tensor::{DType, FloatDType, Shape, TensorData};
use burn_flex::FlexTensor;
use burn_flex::ops::matmul::matmul;

use super::ConvKernels;
use super::direct;
use super::im2col::{Geometry, col2im, im2col};
use crate::profile::{self, Kind, Operation};

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
        let weight_matrix = weight.reshape(Shape::new([out_channels, geometry.rows()])); // [O, C·k·k]
        let outputs = images(&x, batch)
            .map(|image| {
                profile::timed(operation(Kind::Conv, geometry, out_channels), || {
                    if out_channels == 1 {
                        let mut output = vec![0.0f32; geometry.columns()];
                        direct::forward(
                            image,
                            weight_matrix.storage::<f32>(),
                            geometry,
                            &mut output,
                        );
                        FlexTensor::from_data(TensorData::new(output, [1, geometry.columns()]))
                    } else {
                        matmul(weight_matrix.clone(), columns(image, geometry)) // [O, Ho·Wo]
                    }
                })
            })
            .collect();
        let shape = [
            batch,
            out_channels,
            geometry.out_height(),
            geometry.out_width(),
        ];
        restore(stack(outputs, shape), dtype)
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
        let weight_t = weight
            .clone()
            .reshape(Shape::new([out_channels, geometry.rows()]))
            .transpose(0, 1); // [C·k·k, O], a view
        let grad = grad.reshape(Shape::new([batch, out_channels, out_height * out_width]));
        let inputs = (0..batch)
            .map(|index| {
                let grad_image = grad
                    .narrow(0, index, 1)
                    .reshape(Shape::new([out_channels, out_height * out_width]));
                profile::timed(operation(Kind::ConvAdjoint, geometry, out_channels), || {
                    let mut image = vec![0.0f32; channels * height * width];
                    if out_channels == 1 {
                        let grad = image_values(&grad, index, batch);
                        direct::input_grad(grad, weight.storage::<f32>(), geometry, &mut image);
                    } else {
                        let grad_columns = matmul(weight_t.clone(), grad_image); // [C·k·k, Ho·Wo]
                        col2im(grad_columns.storage::<f32>(), geometry, &mut image);
                    }
                    FlexTensor::from_data(TensorData::new(image, [channels, height * width]))
                })
            })
            .collect();
        restore(stack(inputs, [batch, channels, height, width]), dtype)
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
        let [_, out_channels, out_height, out_width] = dims4(&grad);
        let geometry = Geometry {
            channels,
            height,
            width,
            kernel,
            stride,
            padding,
        };
        let grad = grad.reshape(Shape::new([batch, out_channels, out_height * out_width]));
        let weight_grad = images(&x, batch)
            .enumerate()
            .map(|(index, image)| {
                let grad_image = grad
                    .narrow(0, index, 1)
                    .reshape(Shape::new([out_channels, out_height * out_width]));
                profile::timed(operation(Kind::WeightGrad, geometry, out_channels), || {
                    if out_channels == 1 {
                        let mut weight_grad = vec![0.0f32; geometry.rows()];
                        let grad = image_values(&grad, index, batch);
                        direct::weight_grad(image, grad, geometry, &mut weight_grad);
                        return FlexTensor::from_data(TensorData::new(
                            weight_grad,
                            [1, geometry.rows()],
                        ));
                    }
                    let columns = columns(image, geometry); // [C·k·k, Ho·Wo]
                    if geometry.columns() >= geometry.rows() / 2 {
                        // A long product (many output pixels per weight) runs 1.7-5× faster as
                        // `dwᵀ = columns · dyᵀ`, both operands row-major, than as
                        // `dy · columnsᵀ`, whose right side is column-major; the two
                        // transposed copies are small beside it. (Measured with the gemm
                        // crate on AVX-512; for short products both layouts tie.)
                        let grad_t = grad_image.transpose(0, 1).to_contiguous(); // [Ho·Wo, O]
                        let weight_grad_t = matmul(columns, grad_t); // [C·k·k, O]
                        weight_grad_t.transpose(0, 1).to_contiguous() // [O, C·k·k]
                    } else {
                        matmul(grad_image, columns.transpose(0, 1)) // [O, C·k·k]
                    }
                })
            })
            .reduce(Flex::float_add)
            .unwrap_or_else(|| {
                FlexTensor::zeros(Shape::new([out_channels, geometry.rows()]), DType::F32)
            });
        let shape = Shape::new([out_channels, channels, kernel, kernel]);
        restore(weight_grad.reshape(shape), dtype)
    }
}

/// The profile's name for one product over one image (see [`crate::profile`]).
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

/// The images of a contiguous `[B, C, H, W]` batch as slices of `C·H·W` values.
fn images(batch: &FlexTensor, count: usize) -> impl Iterator<Item = &[f32]> {
    let values = batch.storage::<f32>();
    values
        .chunks((values.len() / count.max(1)).max(1))
        .take(count)
}

/// The values of image `index` of a contiguous batch of `count` images.
fn image_values(batch: &FlexTensor, index: usize, count: usize) -> &[f32] {
    let values = batch.storage::<f32>();
    let len = values.len() / count.max(1);
    &values[index * len..(index + 1) * len]
}

/// The column matrix `[C·k·k, Ho·Wo]` of one image.
fn columns(image: &[f32], geometry: Geometry) -> FlexTensor {
    let mut columns = vec![0.0f32; geometry.rows() * geometry.columns()];
    im2col(image, geometry, &mut columns);
    FlexTensor::from_data(TensorData::new(
        columns,
        [geometry.rows(), geometry.columns()],
    ))
}

/// Stacks per-image results (`[X, Y]` each) into one tensor of `shape`.
fn stack(per_image: Vec<FlexTensor>, shape: [usize; 4]) -> FlexTensor {
    let mut per_image = per_image;
    let joined = match per_image.len() {
        0 => return FlexTensor::zeros(Shape::new(shape), DType::F32),
        1 => per_image.swap_remove(0),
        _ => Flex::float_cat(per_image, 0), // [B·X, Y]
    };
    joined.reshape(Shape::new(shape))
}
