//! The U-Net generator of pix2pix (`UnetGenerator` in the reference), stored as a flat list of
//! levels (outermost first) instead of the reference's recursion, with the same weights.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::tanh;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngExt};

use super::blocks::{Conv, ConvTranspose, LEAKY_SLOPE, Norm2d, NormKind, NormMode, Normaliser};
use super::defaults;
use super::init::WeightInit;
use crate::error::Error;
use crate::platform::kernels::{leaky_relu, relu};

/// The smallest U-Net depth the reference's construction allows.
pub const MIN_NUM_DOWNS: usize = 5;
/// The deepest U-Net accepted (1024 px inputs at least).
pub const MAX_NUM_DOWNS: usize = 10;
/// The widest network accepted (ngf, and the discriminator's ndf): 16 times the paper's 64. The
/// innermost levels are 8 times wider, so this bounds every layer, and every size computed from
/// one, far below overflow.
pub const MAX_WIDTH: usize = 1024;
/// Levels from this depth on (up to the one just outside the innermost) carry dropout.
const FIRST_DROPOUT_LEVEL: usize = 4;
/// The reference's dropout probability; kept values are scaled by `1 / (1 - p)`.
pub const DROPOUT_PROBABILITY: f64 = 0.5;

/// Architecture of a [`UnetGenerator`].
#[derive(Config, Debug, PartialEq)]
pub struct UnetGeneratorConfig {
    /// Channels of the input image (1 or 3).
    #[config(default = "defaults::INPUT_CHANNELS")]
    pub input_channels: usize,
    /// Channels of the generated image (1 or 3).
    #[config(default = "defaults::OUTPUT_CHANNELS")]
    pub output_channels: usize,
    /// Down-sampling steps: 8 = `unet_256`, 7 = `unet_128`, 6 for 64 px, at least 5. Inputs must
    /// have H and W divisible by `2^num_downs`.
    #[config(default = "defaults::NUM_DOWNS")]
    pub num_downs: usize,
    /// Filters in the outermost layer (`--ngf`).
    #[config(default = "defaults::NGF")]
    pub ngf: usize,
    /// Normalisation layer (`--norm`).
    #[config(default = "defaults::NORM")]
    pub norm: NormKind,
    /// Dropout(0.5) in the innermost ngf*8 levels, the paper's noise (`--no_dropout` = false).
    #[config(default = "defaults::DROPOUT")]
    pub dropout: bool,
    /// U-Net skip connections; off is the paper's encoder-decoder ablation.
    #[config(default = "defaults::SKIPS")]
    pub skip_connections: bool,
}

/// The shapes and options of one level of the U-Net, derived from the config.
#[derive(Clone, Debug, PartialEq)]
pub struct LevelSpec {
    /// Depth, 0 = outermost.
    pub depth: usize,
    /// Down convolution `[out, in, 4, 4]`.
    pub down_shape: [usize; 4],
    /// Whether the down convolution has a bias.
    pub down_bias: bool,
    /// Channels of the norm layer after the down convolution, where the reference has one.
    pub down_norm: Option<usize>,
    /// Up (transposed) convolution `[in, out, 4, 4]`.
    pub up_shape: [usize; 4],
    /// Whether the up convolution has a bias.
    pub up_bias: bool,
    /// Channels of the norm layer after the up convolution, where the reference has one.
    pub up_norm: Option<usize>,
    /// Whether dropout follows the up path of this level.
    pub dropout: bool,
}

impl LevelSpec {
    /// Whether this is the innermost (bottleneck) level.
    pub fn is_innermost(&self, num_downs: usize) -> bool {
        self.depth + 1 == num_downs
    }
}

impl UnetGeneratorConfig {
    /// Checks the options a user can get wrong.
    pub fn validate(&self) -> crate::Result<()> {
        let channels_ok = |c: usize| c == 1 || c == 3;
        if !channels_ok(self.input_channels) || !channels_ok(self.output_channels) {
            return Err(Error::InvalidConfig(format!(
                "generator channels must be 1 or 3, got input {} and output {}",
                self.input_channels, self.output_channels
            )));
        }
        if !(MIN_NUM_DOWNS..=MAX_NUM_DOWNS).contains(&self.num_downs) {
            return Err(Error::InvalidConfig(format!(
                "num_downs must be between {MIN_NUM_DOWNS} and {MAX_NUM_DOWNS}, got {}",
                self.num_downs
            )));
        }
        if !(1..=MAX_WIDTH).contains(&self.ngf) {
            return Err(Error::InvalidConfig(format!(
                "ngf must be between 1 and {MAX_WIDTH}, got {}",
                self.ngf
            )));
        }
        Ok(())
    }

    /// H and W of an input must be multiples of this.
    pub fn size_multiple(&self) -> usize {
        1 << self.num_downs
    }

    /// The levels, outermost first, as the reference builds them.
    pub fn level_specs(&self) -> Vec<LevelSpec> {
        let bias = self.norm.conv_bias();
        let innermost = self.num_downs - 1;
        (0..self.num_downs)
            .map(|depth| {
                let inner = self.ngf * (1 << depth.min(3));
                let outer = if depth == 0 {
                    self.output_channels
                } else {
                    self.ngf * (1 << (depth - 1).min(3))
                };
                let down_in = if depth == 0 {
                    self.input_channels
                } else {
                    outer
                };
                let up_in = if depth == innermost || !self.skip_connections {
                    inner
                } else {
                    2 * inner
                };
                let outermost = depth == 0;
                LevelSpec {
                    depth,
                    down_shape: [inner, down_in, 4, 4],
                    down_bias: bias,
                    down_norm: (!outermost && depth != innermost).then_some(inner),
                    up_shape: [up_in, outer, 4, 4],
                    up_bias: outermost || bias,
                    up_norm: (!outermost).then_some(outer),
                    dropout: self.dropout && (FIRST_DROPOUT_LEVEL..innermost).contains(&depth),
                }
            })
            .collect()
    }

    /// Learned parameters (what PyTorch's `parameters()` counts; running statistics excluded).
    pub fn trainable_params(&self) -> usize {
        let norm_params = |channels: Option<usize>| match (self.norm, channels) {
            (NormKind::Batch, Some(c)) => 2 * c,
            _ => 0,
        };
        self.level_specs()
            .iter()
            .map(|s| {
                s.down_shape.iter().product::<usize>()
                    + usize::from(s.down_bias) * s.down_shape[0]
                    + norm_params(s.down_norm)
                    + s.up_shape.iter().product::<usize>()
                    + usize::from(s.up_bias) * s.up_shape[1]
                    + norm_params(s.up_norm)
            })
            .sum()
    }

    /// A generator with the reference's initialisation drawn from `seed`.
    pub fn init(&self, device: &Device, seed: u64) -> crate::Result<UnetGenerator> {
        self.validate()?;
        let mut init = WeightInit::new(seed, device);
        let levels = self
            .level_specs()
            .into_iter()
            .map(|spec| {
                let down = Conv::new(
                    init.conv_weight(spec.down_shape),
                    spec.down_bias.then(|| init.zeros(spec.down_shape[0])),
                    2,
                    1,
                );
                let down_norm = Norm2d::init(self.norm, spec.down_norm, &mut init);
                let up = ConvTranspose::new(
                    init.conv_weight(spec.up_shape),
                    spec.up_bias.then(|| init.zeros(spec.up_shape[1])),
                );
                let up_norm = Norm2d::init(self.norm, spec.up_norm, &mut init);
                UnetLevel::new(down, down_norm, up, up_norm, spec.dropout)
            })
            .collect();
        Ok(UnetGenerator::from_levels(self.clone(), levels))
    }
}

/// One level of the U-Net: the down path into it and the up path out of it.
#[derive(Module, Debug)]
pub struct UnetLevel {
    /// Stride-2 convolution (preceded by LeakyReLU except at the outermost level).
    pub down: Conv,
    /// Norm after `down` (none at the outermost and innermost levels).
    pub down_norm: Norm2d,
    /// Transposed convolution (preceded by ReLU).
    pub up: ConvTranspose,
    /// Norm after `up` (none at the outermost level, which ends in tanh).
    pub up_norm: Norm2d,
    #[module(skip)]
    dropout: bool,
}

impl UnetLevel {
    /// A level from its layers.
    pub fn new(
        down: Conv,
        down_norm: Norm2d,
        up: ConvTranspose,
        up_norm: Norm2d,
        dropout: bool,
    ) -> Self {
        Self {
            down,
            down_norm,
            up,
            up_norm,
            dropout,
        }
    }
}

/// The U-Net generator: input image in `[-1, 1]` to output image in `[-1, 1]`.
#[derive(Module, Debug)]
pub struct UnetGenerator {
    /// Levels, outermost first.
    pub levels: Vec<UnetLevel>,
    #[module(skip)]
    config: UnetGeneratorConfig,
}

/// Where the generator's dropout gets its keep-masks.
#[derive(Clone, Copy, Debug)]
pub enum Dropout<'a> {
    /// No dropout (the reference's `eval()`).
    Off,
    /// One mask per dropout level, outermost first, shaped like that level's output, holding
    /// the factor each value is multiplied by: 0 (dropped) or `1 / (1 - p)` = 2 (kept). See
    /// [`UnetGenerator::sample_dropout_masks`].
    Masks(&'a [Tensor<4>]),
}

impl UnetGenerator {
    /// Assembles a generator from levels built for `config`.
    pub fn from_levels(config: UnetGeneratorConfig, levels: Vec<UnetLevel>) -> Self {
        Self { levels, config }
    }

    /// The architecture.
    pub fn config(&self) -> &UnetGeneratorConfig {
        &self.config
    }

    /// Checks that `[B, C, H, W]` fits: C = input channels, H and W multiples of 2^num_downs.
    pub fn check_input(&self, dims: [usize; 4]) -> crate::Result<()> {
        let [batch, channels, height, width] = dims;
        let multiple = self.config.size_multiple();
        let reason = if batch == 0 {
            Some("the batch is empty".to_string())
        } else if channels != self.config.input_channels {
            Some(format!(
                "the generator takes {} channel(s), the image has {channels}",
                self.config.input_channels
            ))
        } else if height == 0 || width == 0 || height % multiple != 0 || width % multiple != 0 {
            Some(format!(
                "height and width must be positive multiples of {multiple} (2^{} for a U-Net with num_downs {}); \
                 resize, crop or pad the image, or use a smaller num_downs",
                self.config.num_downs, self.config.num_downs
            ))
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InputShape {
                found: dims,
                reason,
            }),
            None => Ok(()),
        }
    }

    /// Shapes of the dropout masks for an input of shape `dims`, outermost level first.
    pub fn dropout_mask_shapes(&self, dims: [usize; 4]) -> Vec<[usize; 4]> {
        let [batch, _, height, width] = dims;
        self.config
            .level_specs()
            .iter()
            .filter(|spec| spec.dropout)
            .map(|spec| {
                let scale = 1 << spec.depth;
                [batch, spec.up_shape[1], height / scale, width / scale]
            })
            .collect()
    }

    /// Draws fresh dropout masks (0 or 2 per value) for an input of shape `dims` from `rng`.
    /// Drawing on the host keeps runs reproducible from a seed on any device.
    pub fn sample_dropout_masks(
        &self,
        dims: [usize; 4],
        rng: &mut impl Rng,
        device: &Device,
    ) -> Vec<Tensor<4>> {
        let keep_scale = (1.0 / (1.0 - DROPOUT_PROBABILITY)) as f32;
        self.dropout_mask_shapes(dims)
            .into_iter()
            .map(|shape| {
                let count = shape.iter().product();
                let values: Vec<f32> = (0..count)
                    .map(|_| {
                        if rng.random::<f64>() < DROPOUT_PROBABILITY {
                            0.0
                        } else {
                            keep_scale
                        }
                    })
                    .collect();
                Tensor::from_data(TensorData::new(values, shape), device)
            })
            .collect()
    }

    /// Generates `[B, out, H, W]` from `[B, in, H, W]`.
    ///
    /// `mode` chooses batch or running statistics for BatchNorm; `dropout` supplies the masks.
    pub fn forward(
        &self,
        input: Tensor<4>,
        mode: NormMode,
        dropout: Dropout<'_>,
    ) -> crate::Result<Tensor<4>> {
        let mut mode = mode;
        self.forward_normalised(input, &mut mode, dropout)
    }

    /// [`Self::forward`] with each norm layer normalising as `normaliser` says (visited down
    /// path outermost first, then up path innermost first).
    pub fn forward_normalised(
        &self,
        input: Tensor<4>,
        normaliser: &mut impl Normaliser,
        dropout: Dropout<'_>,
    ) -> crate::Result<Tensor<4>> {
        let dims = input.dims();
        self.check_input(dims)?;
        let masks = match dropout {
            Dropout::Off => None,
            Dropout::Masks(masks) => {
                let expected = self.dropout_mask_shapes(dims);
                let found: Vec<[usize; 4]> = masks.iter().map(Tensor::dims).collect();
                if found != expected {
                    return Err(Error::InvalidConfig(format!(
                        "dropout masks of shapes {found:?} given, this input needs {expected:?}"
                    )));
                }
                Some(masks)
            }
        };

        // Down path: remember each level's input for its skip connection.
        let mut skips = Vec::with_capacity(self.levels.len());
        let mut hidden = input;
        for (depth, level) in self.levels.iter().enumerate() {
            let activated = if depth == 0 {
                hidden.clone()
            } else {
                leaky_relu(hidden.clone(), LEAKY_SLOPE)
            };
            skips.push(hidden);
            hidden = normaliser.normalise(&level.down_norm, level.down.forward(activated));
        }

        // Up path, innermost first. The reference's skip holds LeakyReLU(x) (an in-place
        // activation), but only ReLU ever reads it and ReLU(LeakyReLU(x)) = ReLU(x).
        let mut mask_index = masks.map_or(0, <[_]>::len);
        for (depth, (level, skip)) in self.levels.iter().zip(skips).enumerate().rev() {
            let mut up = normaliser.normalise(&level.up_norm, level.up.forward(relu(hidden)));
            if level.dropout
                && let Some(masks) = masks
            {
                mask_index -= 1;
                up = up.mul(masks[mask_index].clone());
            }
            if depth == 0 {
                return Ok(tanh(up));
            }
            hidden = if self.config.skip_connections {
                Tensor::cat(vec![skip, up], 1) // [B, 2C, H, W], skip first
            } else {
                up
            };
        }
        // The loop always returns at the outermost level.
        Err(Error::InvalidConfig("the generator has no levels".into()))
    }
}
