//! Images of any size translated in overlapping tiles, blended so no tile edge shows, at memory
//! bounded by the tile size: the network only ever sees one tile, and the blended result is
//! kept for a strip two tiles high (plus the decoded input and the 8-bit output).
//!
//! **One set of statistics.** Normalising each tile by its own statistics (what the
//! reference's test does on a crop) shifts colours from tile to tile, which shows as a grid.
//! Here every tile is normalised with the same statistics: running statistics (`--eval`) when
//! asked for; otherwise (batch statistics, the default, and InstanceNorm models) statistics
//! pooled over all the image's tiles in a first pass without overlap ([`crate::inference::shared_norm`]
//! says how), or given by the caller (pooled over the frames of a video). An image that fits
//! in one tile pools its own statistics, so its tiled translation is the untiled one.
//!
//! **Blending.** Tiles overlap by `overlap` pixels; each weighs its pixels by a raised-cosine
//! ramp over `overlap` pixels at each edge (the network's edges see zero padding and the least
//! context), flat inside, and the weighted sum is divided by the summed weights.

use burn::tensor::{Device, Tensor};
use image::{DynamicImage, GrayImage, RgbImage};
use serde::{Deserialize, Serialize};

use crate::data::convert::{image_to_planar, planar_to_tensor, unit_to_u8};
use crate::error::{Error, Result};
use crate::inference::shared_norm::{SharedStatistics, StatisticsPool, needs_pooling};
use crate::model::{Dropout, NormMode, UnetGenerator};
use crate::platform::readback::host_values;

/// Images larger than this on either side are tiled automatically where tiling is
/// [`Tiling::Auto`] (the app), when they are translated at their own size.
pub const AUTO_TILE_ABOVE_PX: u32 = 1024;

/// Whether and how an image translated at its own size is cut into tiles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tiling {
    /// The whole image in one pass.
    #[default]
    Off,
    /// Tiles of the default size when the image is larger than [`AUTO_TILE_ABOVE_PX`].
    Auto,
    /// Always tiles (`translate --tile`); unset sizes take their defaults.
    Tiles(TileSize),
}

/// A tile's side and the overlap of neighbouring tiles, in pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileSize {
    /// The side: a multiple of 2^num_downs. Default: the size the model was trained at.
    pub side: Option<u32>,
    /// The overlap, less than the side. Default: a quarter of the side.
    pub overlap: Option<u32>,
}

/// A resolved tile layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiles {
    /// The side in pixels.
    pub side: usize,
    /// The overlap in pixels.
    pub overlap: usize,
}

impl Tiles {
    /// The tile size `requested`, with defaults from the trained size, checked against the
    /// network's size multiple.
    pub fn resolve(requested: TileSize, trained_px: u32, multiple: u32) -> Result<Self> {
        let side = requested
            .side
            .unwrap_or_else(|| trained_px.div_ceil(multiple).max(1) * multiple);
        let overlap = requested.overlap.unwrap_or(side / 4);
        if side == 0 || !side.is_multiple_of(multiple) {
            return Err(Error::InvalidConfig(format!(
                "a tile side of {side} px does not fit this U-Net: use a multiple of {multiple}"
            )));
        }
        if overlap >= side {
            return Err(Error::InvalidConfig(format!(
                "a tile overlap of {overlap} px leaves nothing of a {side} px tile: use less than \
                 the side"
            )));
        }
        Ok(Self {
            side: side as usize,
            overlap: overlap as usize,
        })
    }
}

/// Where tiles of `side` start along an axis of `length` pixels, `side - overlap` apart, the
/// last flush with the end (an axis shorter than a tile gets one tile, padded).
pub fn tile_starts(length: usize, side: usize, overlap: usize) -> Vec<usize> {
    if length <= side {
        return vec![0];
    }
    let stride = (side - overlap).max(1);
    let last = length - side;
    let mut starts: Vec<usize> = (0..last).step_by(stride).collect();
    starts.push(last);
    starts
}

/// The blending weight of each of a tile's `side` positions along one axis: a raised cosine
/// rising over `overlap` pixels from each edge, 1 inside. Never zero, so a pixel covered by a
/// single tile's edge (at the image border) keeps its value.
pub fn blend_ramp(side: usize, overlap: usize) -> Vec<f32> {
    let rise = |distance: usize| {
        if distance >= overlap {
            1.0
        } else {
            let phase = (distance as f32 + 0.5) / overlap as f32;
            0.5 - 0.5 * (std::f32::consts::PI * phase).cos()
        }
    };
    (0..side).map(|i| rise(i).min(rise(side - 1 - i))).collect()
}

/// Progress of a tiled translation: tiles done of tiles in all (both passes).
pub type TileProgress<'a> = &'a mut dyn FnMut(usize, usize);

/// Translates `image` (any size) with `generator` in `tiles`; the result has the image's size.
/// Sides are padded by repeating the edge pixels up to multiples of the network's size
/// multiple, as the `pad` size mode does. `norm` chooses batch or running statistics; with
/// batch statistics every tile is normalised with `shared` statistics, or with statistics
/// pooled over this image's tiles first. Dropout stays off (its noise would differ from tile
/// to tile and show as seams).
pub fn translate_tiled(
    generator: &UnetGenerator,
    device: &Device,
    image: &DynamicImage,
    norm: NormMode,
    tiles: Tiles,
    shared: Option<&SharedStatistics>,
    progress: TileProgress<'_>,
) -> Result<DynamicImage> {
    let layout = TileLayout::of(generator, image, tiles)?;
    let source = TileSource {
        image,
        channels: generator.config().input_channels,
        device,
    };
    let pool_first = needs_pooling(generator.config().norm, norm) && shared.is_none();
    let pooled_tiles = if pool_first { layout.pool_count() } else { 0 };
    let total = pooled_tiles + layout.xs.len() * layout.ys.len();
    let pooled;
    let shared = match shared {
        Some(shared) => Some(shared),
        None if pool_first => {
            let mut pool = StatisticsPool::default();
            pool_tiles_into(&mut pool, generator, &source, &layout, &mut |done| {
                progress(done, total)
            })?;
            pooled = pool.finish()?;
            Some(&pooled)
        }
        None => None,
    };
    let mut normaliser = shared.map(|shared| shared.normaliser(device));

    let (width, height) = (layout.width, layout.height);
    let out_channels = generator.config().output_channels;
    let mut output = vec![0u8; width * height * out_channels];
    let mut strip = Strip::new(width, 2 * layout.tile_h, out_channels);
    let blend_x = blend_ramp(layout.tile_w, tiles.overlap.min(layout.tile_w / 2));
    let blend_y = blend_ramp(layout.tile_h, tiles.overlap.min(layout.tile_h / 2));
    let mut done = pooled_tiles;
    for &y in &layout.ys {
        strip.flush_until(y, &mut output, height);
        for &x in &layout.xs {
            let input = source.tile(x, y, layout.tile_w, layout.tile_h);
            let translated = match &mut normaliser {
                Some(shared) => {
                    generator.forward_normalised(input, shared.start(), Dropout::Off)?
                }
                None => generator.forward(input, norm, Dropout::Off)?,
            };
            let values = host_values(translated, "a tile")?;
            strip.add(
                &values,
                x,
                y,
                layout.tile_w,
                layout.tile_h,
                &blend_x,
                &blend_y,
            );
            done += 1;
            progress(done, total);
        }
    }
    strip.flush_until(height, &mut output, height);
    image_from_interleaved(output, width, height, out_channels)
}

/// Adds the statistics of `image`'s tiles (without overlap) to `pool`: a frame of a video
/// translated in tiles.
pub fn pool_tiles(
    pool: &mut StatisticsPool,
    generator: &UnetGenerator,
    device: &Device,
    image: &DynamicImage,
    tiles: Tiles,
) -> Result<()> {
    let layout = TileLayout::of(generator, image, tiles)?;
    let source = TileSource {
        image,
        channels: generator.config().input_channels,
        device,
    };
    pool_tiles_into(pool, generator, &source, &layout, &mut |_| {})
}

fn pool_tiles_into(
    pool: &mut StatisticsPool,
    generator: &UnetGenerator,
    source: &TileSource<'_>,
    layout: &TileLayout,
    progress: &mut dyn FnMut(usize),
) -> Result<()> {
    let mut done = 0;
    for &y in &layout.pool_ys {
        for &x in &layout.pool_xs {
            pool.add(generator, source.tile(x, y, layout.tile_w, layout.tile_h))?;
            done += 1;
            progress(done);
        }
    }
    Ok(())
}

/// Where the tiles of one image go: their size (never larger than the padded image, so a small
/// image is one untiled pass), the blended layout, and the layout without overlap that pooling
/// uses.
struct TileLayout {
    width: usize,
    height: usize,
    tile_w: usize,
    tile_h: usize,
    xs: Vec<usize>,
    ys: Vec<usize>,
    pool_xs: Vec<usize>,
    pool_ys: Vec<usize>,
}

impl TileLayout {
    fn of(generator: &UnetGenerator, image: &DynamicImage, tiles: Tiles) -> Result<Self> {
        let multiple = generator.config().size_multiple();
        let (width, height) = (image.width() as usize, image.height() as usize);
        if width == 0 || height == 0 {
            return Err(Error::InvalidConfig("the image is empty".into()));
        }
        let padded = |length: usize| length.div_ceil(multiple) * multiple;
        let (tile_w, tile_h) = (
            tiles.side.min(padded(width)),
            tiles.side.min(padded(height)),
        );
        Ok(Self {
            width,
            height,
            tile_w,
            tile_h,
            xs: tile_starts(width, tile_w, tiles.overlap),
            ys: tile_starts(height, tile_h, tiles.overlap),
            pool_xs: tile_starts(width, tile_w, 0),
            pool_ys: tile_starts(height, tile_h, 0),
        })
    }

    fn pool_count(&self) -> usize {
        self.pool_xs.len() * self.pool_ys.len()
    }
}

/// Where tiles are cut from: the image, read with its edge pixels repeated beyond its sides.
struct TileSource<'a> {
    image: &'a DynamicImage,
    channels: usize,
    device: &'a Device,
}

impl TileSource<'_> {
    /// The `[1, C, h, w]` input of the tile at (x, y).
    fn tile(&self, x: usize, y: usize, tile_w: usize, tile_h: usize) -> Tensor<4> {
        let (width, height) = (self.image.width() as usize, self.image.height() as usize);
        let inside_w = tile_w.min(width - x);
        let inside_h = tile_h.min(height - y);
        let crop = self
            .image
            .crop_imm(x as u32, y as u32, inside_w as u32, inside_h as u32);
        let inside = image_to_planar(&crop, self.channels);
        let planar = if (inside_w, inside_h) == (tile_w, tile_h) {
            inside
        } else {
            let mut padded = Vec::with_capacity(self.channels * tile_w * tile_h);
            for channel in 0..self.channels {
                for row in 0..tile_h {
                    let source_row = row.min(inside_h - 1);
                    for column in 0..tile_w {
                        let source_column = column.min(inside_w - 1);
                        let index = (channel * inside_h + source_row) * inside_w + source_column;
                        padded.push(inside[index]);
                    }
                }
            }
            padded
        };
        planar_to_tensor(vec![planar], [self.channels, tile_h, tile_w], self.device)
    }
}

/// The blended result for a band of rows: weighted sums and weights, from `origin` down.
struct Strip {
    origin: usize,
    width: usize,
    rows: usize,
    channels: usize,
    sums: Vec<f32>,
    weights: Vec<f32>,
}

impl Strip {
    fn new(width: usize, rows: usize, channels: usize) -> Self {
        Self {
            origin: 0,
            width,
            rows,
            channels,
            sums: vec![0.0; channels * rows * width],
            weights: vec![0.0; rows * width],
        }
    }

    /// Adds a translated tile `[C, h, w]` at (x, y), weighted by the ramps; the parts beyond
    /// the image (padding) are dropped.
    #[allow(
        clippy::too_many_arguments,
        reason = "a tile's place, size and both ramps"
    )]
    fn add(
        &mut self,
        tile: &[f32],
        x: usize,
        y: usize,
        tile_w: usize,
        tile_h: usize,
        blend_x: &[f32],
        blend_y: &[f32],
    ) {
        let columns = tile_w.min(self.width - x);
        for row in 0..tile_h {
            let strip_row = y + row - self.origin;
            if strip_row >= self.rows {
                break;
            }
            for column in 0..columns {
                let weight = blend_x[column] * blend_y[row];
                let at = strip_row * self.width + x + column;
                self.weights[at] += weight;
                for channel in 0..self.channels {
                    let value = tile[(channel * tile_h + row) * tile_w + column];
                    self.sums[channel * self.rows * self.width + at] += weight * value;
                }
            }
        }
    }

    /// Writes the finished rows above `until` into `output` (interleaved, `height` rows) and
    /// moves the strip down so it starts there.
    fn flush_until(&mut self, until: usize, output: &mut [u8], height: usize) {
        let done = until.saturating_sub(self.origin).min(self.rows);
        let plane = self.rows * self.width;
        for strip_row in 0..done {
            let image_row = self.origin + strip_row;
            if image_row >= height {
                break;
            }
            for column in 0..self.width {
                let at = strip_row * self.width + column;
                let weight = self.weights[at].max(f32::MIN_POSITIVE);
                for channel in 0..self.channels {
                    let value = self.sums[channel * plane + at] / weight;
                    output[(image_row * self.width + column) * self.channels + channel] =
                        unit_to_u8(value);
                }
            }
        }
        // Shift the unfinished rows up and clear the rest.
        let keep = self.rows - done;
        for channel in 0..self.channels {
            let start = channel * plane;
            self.sums
                .copy_within(start + done * self.width..start + plane, start);
            self.sums[start + keep * self.width..start + plane].fill(0.0);
        }
        self.weights.copy_within(done * self.width..plane, 0);
        self.weights[keep * self.width..].fill(0.0);
        self.origin += done;
    }
}

/// An 8-bit image from interleaved values: grey for one channel, RGB for three.
fn image_from_interleaved(
    values: Vec<u8>,
    width: usize,
    height: usize,
    channels: usize,
) -> Result<DynamicImage> {
    let (w, h) = (width as u32, height as u32);
    let image = if channels == 1 {
        GrayImage::from_raw(w, h, values).map(DynamicImage::ImageLuma8)
    } else {
        RgbImage::from_raw(w, h, values).map(DynamicImage::ImageRgb8)
    };
    image.ok_or_else(|| Error::Backend("a tiled output of the wrong size".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_an_axis_with_the_last_flush_with_the_end() {
        assert_eq!(tile_starts(256, 256, 64), [0]);
        assert_eq!(tile_starts(100, 256, 64), [0]);
        assert_eq!(tile_starts(600, 256, 64), [0, 192, 344]);
        assert_eq!(tile_starts(512, 256, 0), [0, 256]);
        assert_eq!(tile_starts(520, 256, 0), [0, 256, 264]);
    }

    #[test]
    fn the_ramp_is_symmetric_positive_and_flat_inside() {
        let ramp = blend_ramp(16, 4);
        assert!(ramp.iter().all(|&w| w > 0.0 && w <= 1.0));
        assert_eq!(ramp[4..12], [1.0; 8]);
        for i in 0..16 {
            assert!((ramp[i] - ramp[15 - i]).abs() < 1e-6);
        }
        assert_eq!(blend_ramp(8, 0), vec![1.0; 8]);
    }

    #[test]
    fn tile_sizes_default_from_the_trained_size_and_are_checked() {
        let resolved = Tiles::resolve(TileSize::default(), 256, 256).unwrap();
        assert_eq!(
            resolved,
            Tiles {
                side: 256,
                overlap: 64
            }
        );
        let err = Tiles::resolve(
            TileSize {
                side: Some(300),
                overlap: None,
            },
            256,
            256,
        );
        assert!(err.unwrap_err().to_string().contains("multiple of 256"));
        let err = Tiles::resolve(
            TileSize {
                side: Some(256),
                overlap: Some(256),
            },
            256,
            256,
        );
        assert!(err.unwrap_err().to_string().contains("less than the side"));
    }
}
