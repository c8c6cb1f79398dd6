//! The reference's preprocessing (`--preprocess`, `--load_size`, `--crop_size`, `--no_flip`),
//! with the same random crop and flip for input and target, and sizes fitted to what the U-Net
//! can take.

use image::DynamicImage;
use image::imageops::FilterType;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// Resampling used everywhere: bicubic, as the reference (PIL's BICUBIC is Catmull-Rom too).
pub const FILTER: FilterType = FilterType::CatmullRom;

/// How a pair is brought to the training size (the reference's `--preprocess`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Preprocess {
    /// Resize both sides to `load` × `load`, then a random `size` × `size` crop (default).
    #[default]
    ResizeAndCrop,
    /// A random `size` × `size` crop of the original.
    Crop,
    /// Resize to width `load`, keeping the aspect (at least `size` high); sides rounded to the
    /// U-Net's multiple.
    ScaleWidth,
    /// Resize to width `load`, keeping the aspect (at least `size` high), then a random crop.
    ScaleWidthAndCrop,
    /// Keep the size, rounded to the U-Net's multiple.
    None,
}

impl Preprocess {
    /// Whether every pair comes out `size` × `size` (so pairs can share a batch).
    pub fn fixed_size(self) -> bool {
        matches!(
            self,
            Preprocess::ResizeAndCrop | Preprocess::Crop | Preprocess::ScaleWidthAndCrop
        )
    }
}

/// The preprocessing of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AugmentConfig {
    /// The mode.
    pub preprocess: Preprocess,
    /// The training size (the reference's `crop_size`).
    pub image_size_px: u32,
    /// The size before cropping (the reference's `load_size`).
    pub load_size_px: u32,
    /// Random horizontal flips (the reference's default; `--no_flip` turns them off).
    pub flip: bool,
    /// Sides are rounded to multiples of this (2^num_downs) where the mode keeps the aspect.
    pub size_multiple: u32,
}

/// The reference's load size for a crop size: 286 for 256, scaled (`size · 286 / 256`, rounded
/// up), so the random crop has the same room at every size. The one place this rule lives.
pub fn reference_load_size(image_size_px: u32) -> u32 {
    (image_size_px * 286).div_ceil(256)
}

impl AugmentConfig {
    /// The reference's defaults scaled to `image_size_px`: the [`reference_load_size`], flips on.
    pub fn new(preprocess: Preprocess, image_size_px: u32, size_multiple: u32) -> Self {
        Self {
            preprocess,
            image_size_px,
            load_size_px: reference_load_size(image_size_px),
            flip: true,
            size_multiple,
        }
    }
}

/// The random choices for one pair, shared by its two sides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Jitter {
    /// Crop offset as a fraction of the room left (0..=1), so it fits any size.
    pub crop_x: f64,
    /// Vertical crop offset, likewise.
    pub crop_y: f64,
    /// Mirror horizontally.
    pub flip: bool,
}

impl Jitter {
    /// Draws the choices for one pair.
    pub fn draw(config: &AugmentConfig, rng: &mut impl Rng) -> Self {
        Self {
            crop_x: rng.random(),
            crop_y: rng.random(),
            flip: config.flip && rng.random::<bool>(),
        }
    }

    /// No crop offset and no flip (for previews and validation).
    pub fn none() -> Self {
        Self {
            crop_x: 0.5,
            crop_y: 0.5,
            flip: false,
        }
    }
}

/// Preprocesses one side of a pair; call it with the same `jitter` for the other side.
pub fn augment(image: &DynamicImage, config: &AugmentConfig, jitter: Jitter) -> DynamicImage {
    let size = config.image_size_px;
    let load = config.load_size_px.max(size);
    let (width, height) = (image.width(), image.height());
    let resized = match config.preprocess {
        Preprocess::ResizeAndCrop => image.resize_exact(load, load, FILTER),
        Preprocess::Crop if width < size || height < size => {
            // Validation skips such pairs; this keeps a stray one from failing.
            image.resize_exact(width.max(size), height.max(size), FILTER)
        }
        Preprocess::Crop => image.clone(),
        Preprocess::ScaleWidth => {
            // The reference's `__scale_width(img, load_size, crop_size)`: width `load_size`,
            // height kept in proportion but at least `crop_size`; both then rounded to the
            // U-Net's multiple (the reference leaves that to the user and fails otherwise).
            let multiple = config.size_multiple.max(1);
            let target_height = (load * height / width.max(1)).max(size);
            image.resize_exact(
                round_to_multiple(load, multiple),
                round_to_multiple(target_height, multiple),
                FILTER,
            )
        }
        Preprocess::ScaleWidthAndCrop => {
            let target_height = (load * height / width.max(1)).max(size);
            image.resize_exact(load, target_height, FILTER)
        }
        Preprocess::None => {
            let multiple = config.size_multiple.max(1);
            let (w, h) = (
                round_to_multiple(width, multiple),
                round_to_multiple(height, multiple),
            );
            if (w, h) == (width, height) {
                image.clone()
            } else {
                image.resize_exact(w, h, FILTER)
            }
        }
    };
    let cropped = if config.preprocess.fixed_size() {
        let x = offset(resized.width(), size, jitter.crop_x);
        let y = offset(resized.height(), size, jitter.crop_y);
        resized.crop_imm(x, y, size, size)
    } else {
        resized
    };
    if jitter.flip {
        cropped.fliph()
    } else {
        cropped
    }
}

/// How an image of any size is brought to sides that are multiples of 2^num_downs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FitMode {
    /// Resize to the nearest multiples (slight stretch).
    #[default]
    Resize,
    /// Pad up to the next multiples by repeating the border pixels (no stretch).
    Pad,
}

/// An image fitted to the U-Net, with what it takes to bring a result back to the original.
#[derive(Clone, Debug)]
pub struct Fitted {
    /// The fitted image.
    pub image: DynamicImage,
    /// How to undo the fit on an output of the fitted size.
    pub undo: Undo,
}

/// The inverse of a fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Undo {
    /// Original width and height.
    pub original: (u32, u32),
    /// The fit that was applied.
    pub mode: FitMode,
    /// Top-left of the original inside a padded image.
    pub offset: (u32, u32),
}

impl Undo {
    /// Brings an output of the fitted size back to the original size.
    pub fn apply(&self, output: &DynamicImage) -> DynamicImage {
        let (width, height) = self.original;
        if (output.width(), output.height()) == (width, height) {
            return output.clone();
        }
        match self.mode {
            FitMode::Resize => output.resize_exact(width, height, FILTER),
            FitMode::Pad => output.crop_imm(self.offset.0, self.offset.1, width, height),
        }
    }
}

/// Fits `image` to sides that are multiples of `multiple`.
pub fn fit_to_multiple(image: &DynamicImage, multiple: u32, mode: FitMode) -> Fitted {
    let multiple = multiple.max(1);
    let (width, height) = (image.width(), image.height());
    let undo = |offset| Undo {
        original: (width, height),
        mode,
        offset,
    };
    let fitted = match mode {
        FitMode::Resize => (
            round_to_multiple(width, multiple),
            round_to_multiple(height, multiple),
        ),
        FitMode::Pad => (
            width.div_ceil(multiple).max(1) * multiple,
            height.div_ceil(multiple).max(1) * multiple,
        ),
    };
    if fitted == (width, height) {
        return Fitted {
            image: image.clone(),
            undo: undo((0, 0)),
        };
    }
    match mode {
        FitMode::Resize => Fitted {
            image: image.resize_exact(fitted.0, fitted.1, FILTER),
            undo: undo((0, 0)),
        },
        FitMode::Pad => {
            let offset = ((fitted.0 - width) / 2, (fitted.1 - height) / 2);
            let rgba = image.to_rgba8();
            let padded = image::RgbaImage::from_fn(fitted.0, fitted.1, |x, y| {
                let source_x = x.saturating_sub(offset.0).min(width.saturating_sub(1));
                let source_y = y.saturating_sub(offset.1).min(height.saturating_sub(1));
                *rgba.get_pixel(source_x, source_y)
            });
            Fitted {
                image: DynamicImage::ImageRgba8(padded),
                undo: undo(offset),
            }
        }
    }
}

/// The crop offset for a fraction (0..1) of the room left: each of the `room + 1` offsets is
/// equally likely, as the reference's `random.randint(0, room)` draws them (rounding the
/// fraction instead would make the two edges half as likely).
fn offset(length: u32, size: u32, fraction: f64) -> u32 {
    let room = length.saturating_sub(size);
    ((f64::from(room + 1) * fraction).floor() as u32).min(room)
}

/// The nearest positive multiple of `multiple`.
pub fn round_to_multiple(value: u32, multiple: u32) -> u32 {
    let multiple = multiple.max(1);
    ((value + multiple / 2) / multiple).max(1) * multiple
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 7])
        }))
    }

    #[test]
    fn sizes_per_mode() {
        let image = gradient(300, 200);
        let size_of = |preprocess| {
            let config = AugmentConfig::new(preprocess, 64, 32);
            let out = augment(&image, &config, Jitter::none());
            (out.width(), out.height())
        };
        assert_eq!(size_of(Preprocess::ResizeAndCrop), (64, 64));
        assert_eq!(size_of(Preprocess::Crop), (64, 64));
        assert_eq!(size_of(Preprocess::ScaleWidthAndCrop), (64, 64));
        // load 72 wide -> 64; height 72 · 200/300 = 48 -> 64 (rounded to the multiple 32).
        assert_eq!(size_of(Preprocess::ScaleWidth), (64, 64));
        assert_eq!(size_of(Preprocess::None), (288, 192));
        assert_eq!(
            AugmentConfig::new(Preprocess::ResizeAndCrop, 256, 256).load_size_px,
            286
        );
    }

    #[test]
    fn flip_mirrors() {
        let image = gradient(64, 64);
        let config = AugmentConfig::new(Preprocess::Crop, 64, 32);
        let jitter = Jitter {
            flip: true,
            ..Jitter::none()
        };
        let flipped = augment(&image, &config, jitter).to_rgb8();
        assert_eq!(flipped.get_pixel(0, 5), image.to_rgb8().get_pixel(63, 5));
    }

    #[test]
    fn fitting_pads_or_resizes_and_undoes() {
        let image = gradient(100, 70);
        for mode in [FitMode::Pad, FitMode::Resize] {
            let fitted = fit_to_multiple(&image, 32, mode);
            let (w, h) = (fitted.image.width(), fitted.image.height());
            assert!(w % 32 == 0 && h % 32 == 0, "{mode:?}: {w}×{h}");
            let back = fitted.undo.apply(&fitted.image);
            assert_eq!((back.width(), back.height()), (100, 70));
            if mode == FitMode::Pad {
                assert_eq!((w, h), (128, 96));
                assert_eq!(
                    back.to_rgb8(),
                    image.to_rgb8(),
                    "padding is cropped away exactly"
                );
            }
        }
    }

    #[test]
    fn rounding_keeps_a_positive_multiple() {
        assert_eq!(round_to_multiple(0, 32), 32);
        assert_eq!(round_to_multiple(47, 32), 32);
        assert_eq!(round_to_multiple(48, 32), 64);
        assert_eq!(round_to_multiple(100, 1), 100);
    }

    #[test]
    fn scale_width_uses_load_size_as_width() {
        // The reference: width load_size (here 160), height in proportion but >= crop_size.
        let config = AugmentConfig {
            load_size_px: 160,
            ..AugmentConfig::new(Preprocess::ScaleWidth, 64, 32)
        };
        let wide = augment(&gradient(400, 100), &config, Jitter::none());
        assert_eq!((wide.width(), wide.height()), (160, 64)); // 160 · 100/400 = 40 -> at least 64
        let tall = augment(&gradient(200, 400), &config, Jitter::none());
        assert_eq!((tall.width(), tall.height()), (160, 320));
    }

    #[test]
    fn random_crop_offsets_are_uniform_like_randint() {
        // randint(0, 2) draws 0, 1 and 2 equally often; so must uniform fractions.
        let mut counts = [0usize; 3];
        for i in 0..3000 {
            let fraction = (f64::from(i) + 0.5) / 3000.0;
            counts[offset(34, 32, fraction) as usize] += 1;
        }
        assert_eq!(counts, [1000, 1000, 1000]);
        assert_eq!(offset(32, 32, 0.99), 0);
    }
}
