//! A line drawing framed the way a model's training drawings were: the ink's bounding box
//! scaled to fill the frame as the training objects did, centred, and its lines thinned to the
//! training lines' width. People draw small, off-centre and with thick pens; an edges-to-photo
//! model has only seen thin lines around an object that fills the picture.
//!
//! Written by hand over `image` and `imageproc` (crop, resize, erosion): no crate frames a
//! drawing, and each step is a few lines over theirs.

use image::{GrayImage, Luma, Rgb, RgbImage, imageops};
use imageproc::distance_transform::Norm;
use imageproc::morphology::erode_mut;

use crate::platform::bundled::DemoModel;

/// How a model's training drawings sit in their frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DrawingFrame {
    /// The larger side of the ink's bounding box, as a fraction of the frame's side.
    pub fill: f32,
    /// The training lines' width, in pixels of the frame.
    pub line_px: f32,
}

impl DrawingFrame {
    /// The frame of `shoes_edges`, measured on its training pairs at 256 px: the larger side of
    /// an object's ink spans 93-99 % of the picture (median 97 %), its lines are 1-2 px wide.
    pub const SHOES: DrawingFrame = DrawingFrame {
        fill: 0.95,
        line_px: 2.0,
    };

    /// How a shipped model's training drawings sat in their frame; `None` where they did not
    /// share one (the sample sketches vary in size and place; label maps are not drawings).
    pub fn of_demo(model: DemoModel) -> Option<DrawingFrame> {
        match model {
            DemoModel::Shoes => Some(Self::SHOES),
            DemoModel::Sketches | DemoModel::Labels => None,
        }
    }
}

/// Luma below this is ink.
const INK_BELOW: u8 = 128;
/// Ink in a mask.
const INK: u8 = 255;

/// `drawing` (dark lines on a light sheet) with its ink scaled so that the larger side of its
/// bounding box is `frame.fill` of the sheet's side, centred, and lines wider than
/// `frame.line_px` thinned towards it: black lines on white. A blank drawing comes back as it
/// is.
pub fn frame_drawing(drawing: &RgbImage, frame: DrawingFrame) -> RgbImage {
    let ink = ink_mask(drawing);
    let Some((left, top, box_width, box_height)) = ink_bounds(&ink) else {
        return drawing.clone();
    };
    let (width, height) = drawing.dimensions();
    let scale = frame.fill * width.min(height) as f32 / box_width.max(box_height) as f32;
    let scaled_side =
        |side: u32, limit: u32| ((side as f32 * scale).round() as u32).clamp(1, limit);
    let (new_width, new_height) = (
        scaled_side(box_width, width),
        scaled_side(box_height, height),
    );
    let cropped = imageops::crop_imm(&ink, left, top, box_width, box_height).to_image();
    let coverage = imageops::resize(
        &cropped,
        new_width,
        new_height,
        imageops::FilterType::Triangle,
    );
    // Shrinking spreads a thin line over pixels each partly covered: a lower bar keeps it whole.
    let bar = (127.5 * scale.min(1.0)).max(32.0);
    let mut lines = GrayImage::new(width, height);
    let (offset_x, offset_y) = ((width - new_width) / 2, (height - new_height) / 2);
    for (x, y, value) in coverage.enumerate_pixels() {
        if f32::from(value[0]) >= bar {
            lines.put_pixel(x + offset_x, y + offset_y, Luma([INK]));
        }
    }
    let line_width = stroke_width(&ink) * scale;
    let excess = ((line_width - frame.line_px) / 2.0).floor();
    if excess >= 1.0 {
        erode_mut(&mut lines, Norm::LInf, excess.min(f32::from(u8::MAX)) as u8);
    }
    RgbImage::from_fn(width, height, |x, y| {
        if lines.get_pixel(x, y)[0] == INK {
            Rgb([0, 0, 0])
        } else {
            Rgb([255, 255, 255])
        }
    })
}

/// Ink as `INK`, the rest 0.
fn ink_mask(drawing: &RgbImage) -> GrayImage {
    GrayImage::from_fn(drawing.width(), drawing.height(), |x, y| {
        let [r, g, b] = drawing.get_pixel(x, y).0;
        let luma = (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000;
        Luma([if luma < u32::from(INK_BELOW) { INK } else { 0 }])
    })
}

/// The ink's bounding box: left, top, width, height; `None` without ink.
fn ink_bounds(ink: &GrayImage) -> Option<(u32, u32, u32, u32)> {
    let mut bounds: Option<(u32, u32, u32, u32)> = None;
    for (x, y, value) in ink.enumerate_pixels() {
        if value[0] == INK {
            let (x0, y0, x1, y1) = bounds.unwrap_or((x, y, x, y));
            bounds = Some((x0.min(x), y0.min(y), x1.max(x), y1.max(y)));
        }
    }
    bounds.map(|(x0, y0, x1, y1)| (x0, y0, x1 - x0 + 1, y1 - y0 + 1))
}

/// The lines' typical width: the median length of the ink's runs along rows and along
/// columns, whichever is shorter (a line's runs across it are its width, along it its length).
fn stroke_width(ink: &GrayImage) -> f32 {
    let along_rows = median_run(
        ink.rows()
            .map(|row| row.map(|pixel| pixel[0] == INK).collect()),
    );
    let columns = (0..ink.width()).map(|x| {
        (0..ink.height())
            .map(|y| ink.get_pixel(x, y)[0] == INK)
            .collect()
    });
    along_rows.min(median_run(columns))
}

/// The median length of the runs of `true` in `lines` (1 when there are none).
fn median_run(lines: impl Iterator<Item = Vec<bool>>) -> f32 {
    let mut runs = Vec::new();
    for line in lines {
        let mut run = 0u32;
        for inked in line.into_iter().chain([false]) {
            if inked {
                run += 1;
            } else if run > 0 {
                runs.push(run);
                run = 0;
            }
        }
    }
    if runs.is_empty() {
        return 1.0;
    }
    runs.sort_unstable();
    runs[runs.len() / 2] as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use imageproc::drawing::draw_hollow_rect_mut;
    use imageproc::rect::Rect;

    const FRAME: DrawingFrame = DrawingFrame {
        fill: 0.9,
        line_px: 2.0,
    };

    fn sheet_with_box(left: i32, top: i32, side: u32, line: u32) -> RgbImage {
        let mut sheet = RgbImage::from_pixel(128, 128, Rgb([255, 255, 255]));
        for inset in 0..line {
            let rect = Rect::at(left + inset as i32, top + inset as i32)
                .of_size(side - 2 * inset, side - 2 * inset);
            draw_hollow_rect_mut(&mut sheet, rect, Rgb([0, 0, 0]));
        }
        sheet
    }

    fn bounds_of(image: &RgbImage) -> (u32, u32, u32, u32) {
        ink_bounds(&ink_mask(image)).expect("ink")
    }

    #[test]
    fn a_small_drawing_in_a_corner_is_centred_and_fills_the_frame() {
        let framed = frame_drawing(&sheet_with_box(4, 6, 30, 1), FRAME);
        let (left, top, width, height) = bounds_of(&framed);
        assert!(
            (113..=117).contains(&width) && width == height,
            "{width}×{height}"
        );
        assert!(
            left.abs_diff(128 - left - width) <= 1,
            "left {left}, width {width}"
        );
        assert!(top.abs_diff(128 - top - height) <= 1, "top {top}");
    }

    #[test]
    fn thick_lines_are_thinned_towards_the_training_width() {
        let framed = frame_drawing(&sheet_with_box(7, 7, 115, 6), FRAME);
        let width = stroke_width(&ink_mask(&framed));
        assert!((1.0..=3.0).contains(&width), "line width {width}");
        let extent = bounds_of(&framed).2;
        assert!(
            (109..=115).contains(&extent),
            "the outline kept its extent: {extent}"
        );
    }

    #[test]
    fn a_thin_drawing_shrunk_to_the_frame_keeps_its_lines_whole() {
        let framed = frame_drawing(&sheet_with_box(0, 0, 128, 1), FRAME);
        let (left, top, width, _) = bounds_of(&framed);
        let row = top;
        for x in left..left + width {
            assert_eq!(framed.get_pixel(x, row).0, [0, 0, 0], "gap at x = {x}");
        }
    }

    #[test]
    fn a_blank_sheet_comes_back_unchanged() {
        let blank = RgbImage::from_pixel(64, 64, Rgb([255, 255, 255]));
        assert_eq!(frame_drawing(&blank, FRAME), blank);
    }
}
