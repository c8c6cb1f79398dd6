//! The PatchGAN discriminator (`NLayerDiscriminator`, and `PixelDiscriminator` for
//! `n_layers = 0`): one real/fake logit per overlapping image patch, conditioned on the input.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::blocks::{Conv, KERNEL, LEAKY_SLOPE, Norm2d, NormKind, NormMode};
use super::defaults;
use super::generator::MAX_WIDTH;
use super::init::WeightInit;
use crate::error::Error;
use crate::platform::kernels::leaky_relu;

/// The deepest discriminator offered (286×286 patches).
pub const MAX_N_LAYERS: usize = 6;
/// The most channels a pair has: a 3-channel input beside a 3-channel output.
pub const MAX_PAIR_CHANNELS: usize = 6;

/// Architecture of a [`PatchDiscriminator`].
#[derive(Config, Debug, PartialEq)]
pub struct PatchDiscriminatorConfig {
    /// Channels it sees: input channels + output channels (the pair is concatenated).
    #[config(default = "defaults::INPUT_CHANNELS + defaults::OUTPUT_CHANNELS")]
    pub input_channels: usize,
    /// Filters in the first layer (`--ndf`).
    #[config(default = "defaults::NDF")]
    pub ndf: usize,
    /// Stride-2 layers: 0 = 1×1 PixelGAN, 1 = 16×16, 2 = 34×34, 3 = 70×70 (default),
    /// 5 = 286×286 patches.
    #[config(default = "defaults::N_LAYERS_D")]
    pub n_layers: usize,
    /// Normalisation layer (`--norm`).
    #[config(default = "defaults::NORM")]
    pub norm: NormKind,
}

/// One convolution of the discriminator with what follows it.
#[derive(Clone, Debug, PartialEq)]
pub struct DiscLayerSpec {
    /// Convolution weight `[out, in, k, k]`.
    pub shape: [usize; 4],
    /// Stride, 1 or 2.
    pub stride: usize,
    /// Whether the convolution has a bias.
    pub bias: bool,
    /// Channels of the norm layer after it, where the reference has one.
    pub norm: Option<usize>,
    /// Whether a LeakyReLU(0.2) follows (all but the last layer).
    pub activation: bool,
    /// Index of the convolution in the reference's `nn.Sequential` (for its key names).
    pub sequential_index: usize,
}

impl PatchDiscriminatorConfig {
    /// Checks the options a user can get wrong.
    pub fn validate(&self) -> crate::Result<()> {
        if !(1..=MAX_PAIR_CHANNELS).contains(&self.input_channels) {
            return Err(Error::InvalidConfig(format!(
                "the discriminator sees 1 to {MAX_PAIR_CHANNELS} channels (input and output), got {}",
                self.input_channels
            )));
        }
        if !(1..=MAX_WIDTH).contains(&self.ndf) {
            return Err(Error::InvalidConfig(format!(
                "ndf must be between 1 and {MAX_WIDTH}, got {}",
                self.ndf
            )));
        }
        if self.n_layers > MAX_N_LAYERS {
            return Err(Error::InvalidConfig(format!(
                "n_layers must be at most {MAX_N_LAYERS}, got {}",
                self.n_layers
            )));
        }
        Ok(())
    }

    /// The layers in order, as the reference builds them.
    pub fn layer_specs(&self) -> Vec<DiscLayerSpec> {
        let bias = self.norm.conv_bias();
        let ndf = self.ndf;
        if self.n_layers == 0 {
            // PixelDiscriminator: 1×1 convolutions, `net.{0,2,5}`.
            let layer = |shape, bias, norm, activation, sequential_index| DiscLayerSpec {
                shape,
                stride: 1,
                bias,
                norm,
                activation,
                sequential_index,
            };
            return vec![
                layer([ndf, self.input_channels, 1, 1], true, None, true, 0),
                layer([2 * ndf, ndf, 1, 1], bias, Some(2 * ndf), true, 2),
                layer([1, 2 * ndf, 1, 1], bias, None, false, 5),
            ];
        }
        let k = KERNEL;
        let mut layers = vec![DiscLayerSpec {
            shape: [ndf, self.input_channels, k, k],
            stride: 2,
            bias: true,
            norm: None,
            activation: true,
            sequential_index: 0,
        }];
        let mut mult = 1;
        for n in 1..=self.n_layers {
            let prev = mult;
            mult = (1 << n).min(8);
            layers.push(DiscLayerSpec {
                shape: [ndf * mult, ndf * prev, k, k],
                stride: if n < self.n_layers { 2 } else { 1 },
                bias,
                norm: Some(ndf * mult),
                activation: true,
                sequential_index: 2 + 3 * (n - 1),
            });
        }
        layers.push(DiscLayerSpec {
            shape: [1, ndf * mult, k, k],
            stride: 1,
            bias: true,
            norm: None,
            activation: false,
            sequential_index: 2 + 3 * self.n_layers,
        });
        layers
    }

    /// Learned parameters (what PyTorch's `parameters()` counts; running statistics excluded).
    pub fn trainable_params(&self) -> usize {
        self.layer_specs()
            .iter()
            .map(|s| {
                let norm = match (self.norm, s.norm) {
                    (NormKind::Batch, Some(c)) => 2 * c,
                    _ => 0,
                };
                s.shape.iter().product::<usize>() + usize::from(s.bias) * s.shape[0] + norm
            })
            .sum()
    }

    /// Side of the square input patch each output logit sees, in pixels.
    pub fn receptive_field_px(&self) -> usize {
        self.layer_specs().iter().rev().fold(1, |field, layer| {
            field * layer.stride + layer.shape[2] - layer.stride
        })
    }

    /// The square of input pixels the logit at (`row`, `col`) judges: the `(x, y)` of its
    /// top-left corner (negative, or past the far edge, where it covers the padding) and its
    /// side, the receptive field. Found by walking back through the layers: output index `o`
    /// of a convolution sees inputs `o·stride − padding ..= o·stride − padding + kernel − 1`.
    pub fn patch_of(&self, row: usize, col: usize) -> (i64, i64, usize) {
        let (mut first, mut last) = ([row as i64, col as i64], [row as i64, col as i64]);
        for layer in self.layer_specs().iter().rev() {
            let kernel = layer.shape[2] as i64;
            let (stride, pad) = (layer.stride as i64, padding(layer.shape[2]) as i64);
            first = first.map(|o| o * stride - pad);
            last = last.map(|o| o * stride - pad + kernel - 1);
        }
        (first[1], first[0], (last[0] - first[0] + 1) as usize)
    }

    /// Output size for an input side of `size` pixels, or `None` when the input is too small.
    pub fn output_size(&self, size: usize) -> Option<usize> {
        self.layer_specs().iter().try_fold(size, |side, layer| {
            let padded = side + 2 * padding(layer.shape[2]);
            (padded >= layer.shape[2]).then(|| (padded - layer.shape[2]) / layer.stride + 1)
        })
    }

    /// A discriminator with the reference's initialisation drawn from `seed`.
    pub fn init(&self, device: &Device, seed: u64) -> crate::Result<PatchDiscriminator> {
        self.validate()?;
        let mut init = WeightInit::new(seed, device);
        let layers = self
            .layer_specs()
            .into_iter()
            .map(|spec| {
                let conv = Conv::new(
                    init.conv_weight(spec.shape),
                    spec.bias.then(|| init.zeros(spec.shape[0])),
                    spec.stride,
                    padding(spec.shape[2]),
                );
                let norm = Norm2d::init(self.norm, spec.norm, &mut init);
                DiscLayer::new(conv, norm, spec.activation)
            })
            .collect();
        Ok(PatchDiscriminator::from_layers(self.clone(), layers))
    }
}

/// Padding of a convolution with this kernel: 1 for the 4×4 layers, 0 for PixelGAN's 1×1.
pub fn padding(kernel: usize) -> usize {
    usize::from(kernel > 1)
}

/// One convolution of the discriminator, its norm and activation.
#[derive(Module, Debug)]
pub struct DiscLayer {
    /// The convolution.
    pub conv: Conv,
    /// Norm after it (none on the first and last layers).
    pub norm: Norm2d,
    #[module(skip)]
    activation: bool,
}

impl DiscLayer {
    /// A layer from its parts.
    pub fn new(conv: Conv, norm: Norm2d, activation: bool) -> Self {
        Self {
            conv,
            norm,
            activation,
        }
    }
}

/// The conditional PatchGAN discriminator: `[B, in+out, H, W]` to raw logits `[B, 1, H', W']`.
#[derive(Module, Debug)]
pub struct PatchDiscriminator {
    /// Layers in order.
    pub layers: Vec<DiscLayer>,
    #[module(skip)]
    config: PatchDiscriminatorConfig,
}

impl PatchDiscriminator {
    /// Assembles a discriminator from layers built for `config`.
    pub fn from_layers(config: PatchDiscriminatorConfig, layers: Vec<DiscLayer>) -> Self {
        Self { layers, config }
    }

    /// The architecture.
    pub fn config(&self) -> &PatchDiscriminatorConfig {
        &self.config
    }

    /// Side of the square patch each logit judges, in pixels.
    pub fn receptive_field_px(&self) -> usize {
        self.config.receptive_field_px()
    }

    /// Logits for a pair: `input` `[B, Cin, H, W]` and `image` (real or generated)
    /// `[B, Cout, H, W]`, concatenated input first as in the reference.
    pub fn forward_pair(
        &self,
        input: Tensor<4>,
        image: Tensor<4>,
        mode: NormMode,
    ) -> crate::Result<Tensor<4>> {
        self.forward(Tensor::cat(vec![input, image], 1), mode) // [B, Cin+Cout, H, W]
    }

    /// Logits `[B, 1, H', W']` for a concatenated pair `[B, in+out, H, W]`.
    pub fn forward(&self, pair: Tensor<4>, mode: NormMode) -> crate::Result<Tensor<4>> {
        let dims = pair.dims();
        let [_, channels, height, width] = dims;
        let too_small = self
            .config
            .output_size(height.min(width))
            .is_none_or(|s| s == 0);
        if channels != self.config.input_channels || too_small {
            return Err(Error::InputShape {
                found: dims,
                reason: format!(
                    "the discriminator takes {} channels and images large enough for {} layers",
                    self.config.input_channels, self.config.n_layers
                ),
            });
        }
        let mut hidden = pair;
        for layer in &self.layers {
            hidden = layer.norm.forward(layer.conv.forward(hidden), mode);
            if layer.activation {
                hidden = leaky_relu(hidden, LEAKY_SLOPE);
            }
        }
        Ok(hidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_70_pixel_patchgan_judges_70_pixel_squares_8_pixels_apart() {
        let config = PatchDiscriminatorConfig::new();
        assert_eq!(config.patch_of(0, 0), (-23, -23, 70));
        assert_eq!(config.patch_of(2, 5), (5 * 8 - 23, 2 * 8 - 23, 70));
        // At 256 px the map is 30 × 30; the last patch reaches past the far edge.
        assert_eq!(config.output_size(256), Some(30));
        let (x, _, side) = config.patch_of(29, 29);
        assert!(x + side as i64 > 256);
        // The PixelGAN judges single pixels.
        let pixel = PatchDiscriminatorConfig::new().with_n_layers(0);
        assert_eq!(pixel.patch_of(7, 3), (3, 7, 1));
    }
}
