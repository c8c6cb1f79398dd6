//! The sketch being drawn: a raster with strokes (pen, eraser, rectangle, fill), undo and redo.
//! Plain data, no egui: the canvas feeds it the raw pointer positions in canvas pixels.

use image::{DynamicImage, Rgb, RgbImage, imageops};
use imageproc::drawing::{draw_filled_circle_mut, draw_filled_rect_mut, flood_fill_mut};
use imageproc::rect::Rect;

/// Undo steps kept.
const MAX_UNDO: usize = 50;

/// The drawing tools.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Tool {
    /// Free-hand strokes in the chosen colour.
    #[default]
    Pen,
    /// Free-hand strokes in the background colour.
    Eraser,
    /// A filled rectangle from where the drag starts to where it ends.
    Rectangle,
    /// Flood fill of the region under the click.
    Fill,
}

/// A stroke in progress.
#[derive(Clone, Debug)]
struct Stroke {
    tool: Tool,
    color: Rgb<u8>,
    radius: f32,
    start: (f32, f32),
    last: (f32, f32),
    /// The image before the stroke (for undo, and redrawing a rectangle while it is dragged).
    before: RgbImage,
}

/// A sketch with its history.
#[derive(Clone, Debug)]
pub struct Sketch {
    image: RgbImage,
    background: Rgb<u8>,
    undo: Vec<RgbImage>,
    redo: Vec<RgbImage>,
    stroke: Option<Stroke>,
    revision: u64,
}

impl Sketch {
    /// A blank `side_px` square sheet of `background`.
    pub fn new(side_px: u32, background: Rgb<u8>) -> Self {
        Self {
            image: RgbImage::from_pixel(side_px, side_px, background),
            background,
            undo: Vec::new(),
            redo: Vec::new(),
            stroke: None,
            revision: 0,
        }
    }

    /// The current raster (a stroke in progress included).
    pub fn image(&self) -> &RgbImage {
        &self.image
    }

    /// Changes whenever the raster does (to know when to upload it again).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The background colour (what the eraser paints and `clear` fills with).
    pub fn background(&self) -> Rgb<u8> {
        self.background
    }

    /// Whether the sheet holds nothing but its background.
    pub fn is_blank(&self) -> bool {
        self.image.pixels().all(|pixel| *pixel == self.background)
    }

    /// Whether a stroke is being drawn.
    pub fn is_drawing(&self) -> bool {
        self.stroke.is_some()
    }

    /// Steps that can be undone / redone.
    pub fn history_len(&self) -> (usize, usize) {
        (self.undo.len(), self.redo.len())
    }

    /// Starts a stroke at `at` (canvas pixels); a fill happens at once.
    pub fn begin(&mut self, at: (f32, f32), tool: Tool, color: Rgb<u8>, radius: f32) {
        self.finish();
        let color = if tool == Tool::Eraser {
            self.background
        } else {
            color
        };
        self.stroke = Some(Stroke {
            tool,
            color,
            radius: radius.max(0.5),
            start: at,
            last: at,
            before: self.image.clone(),
        });
        self.draw_to(at);
    }

    /// Continues the stroke to `at`.
    pub fn extend(&mut self, at: (f32, f32)) {
        if self.stroke.is_some() {
            self.draw_to(at);
        }
    }

    /// Ends the stroke; true when it changed the sketch (an undo step was recorded).
    pub fn finish(&mut self) -> bool {
        let Some(stroke) = self.stroke.take() else {
            return false;
        };
        if stroke.before == self.image {
            return false;
        }
        self.push_undo(stroke.before);
        true
    }

    /// Undoes the last change; false when there is none.
    pub fn undo(&mut self) -> bool {
        self.finish();
        match self.undo.pop() {
            Some(previous) => {
                self.redo.push(std::mem::replace(&mut self.image, previous));
                self.revision += 1;
                true
            }
            None => false,
        }
    }

    /// Redoes the last undone change; false when there is none.
    pub fn redo(&mut self) -> bool {
        self.finish();
        match self.redo.pop() {
            Some(next) => {
                self.undo.push(std::mem::replace(&mut self.image, next));
                self.revision += 1;
                true
            }
            None => false,
        }
    }

    /// Fills the sheet with the background (undoable).
    pub fn clear(&mut self) {
        let blank = RgbImage::from_pixel(self.image.width(), self.image.height(), self.background);
        self.replace(blank);
    }

    /// Starts from a picture, resized to the sheet (undoable).
    pub fn load(&mut self, picture: &DynamicImage) {
        let (width, height) = self.image.dimensions();
        let resized = imageops::resize(
            &picture.to_rgb8(),
            width,
            height,
            imageops::FilterType::Triangle,
        );
        self.replace(resized);
    }

    /// A new sheet colour: palette mode and line mode have different backgrounds. The sheet is
    /// cleared to it (undoable) when it was blank.
    pub fn set_background(&mut self, background: Rgb<u8>) {
        let was_blank = self.is_blank();
        self.background = background;
        if was_blank {
            self.clear();
        }
    }

    fn replace(&mut self, image: RgbImage) {
        self.finish();
        if image != self.image {
            let before = std::mem::replace(&mut self.image, image);
            self.push_undo(before);
        }
    }

    fn push_undo(&mut self, before: RgbImage) {
        self.undo.push(before);
        if self.undo.len() > MAX_UNDO {
            self.undo.remove(0);
        }
        self.redo.clear();
        self.revision += 1;
    }

    fn draw_to(&mut self, at: (f32, f32)) {
        let Some(stroke) = self.stroke.as_mut() else {
            return;
        };
        match stroke.tool {
            Tool::Pen | Tool::Eraser => {
                stamp_segment(
                    &mut self.image,
                    stroke.last,
                    at,
                    stroke.radius,
                    stroke.color,
                );
            }
            Tool::Rectangle => {
                self.image.clone_from(&stroke.before);
                let (x0, y0) = stroke.start;
                let left = x0.min(at.0).round() as i32;
                let top = y0.min(at.1).round() as i32;
                let width = (x0 - at.0).abs().round() as u32 + 1;
                let height = (y0 - at.1).abs().round() as u32 + 1;
                draw_filled_rect_mut(
                    &mut self.image,
                    Rect::at(left, top).of_size(width, height),
                    stroke.color,
                );
            }
            Tool::Fill => {
                let (width, height) = self.image.dimensions();
                let (x, y) = (at.0.floor(), at.1.floor());
                let inside = x >= 0.0 && y >= 0.0 && (x as u32) < width && (y as u32) < height;
                if stroke.last == stroke.start && inside {
                    flood_fill_mut(&mut self.image, x as u32, y as u32, stroke.color);
                }
            }
        }
        stroke.last = at;
        self.revision += 1;
    }
}

/// Round brush stamps every half radius from `from` to `to`, so fast strokes stay unbroken.
fn stamp_segment(
    image: &mut RgbImage,
    from: (f32, f32),
    to: (f32, f32),
    radius: f32,
    color: Rgb<u8>,
) {
    let length = ((to.0 - from.0).powi(2) + (to.1 - from.1).powi(2)).sqrt();
    let steps = (length / (radius * 0.5).max(0.5)).ceil().max(1.0) as usize;
    for i in 0..=steps {
        let t = i as f32 / steps as f32;
        let x = from.0 + (to.0 - from.0) * t;
        let y = from.1 + (to.1 - from.1) * t;
        draw_filled_circle_mut(
            image,
            (x.round() as i32, y.round() as i32),
            (radius - 0.5).round().max(0.0) as i32,
            color,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
    const BLACK: Rgb<u8> = Rgb([0, 0, 0]);

    #[test]
    fn a_stroke_draws_along_its_path_and_undoes() {
        let mut sketch = Sketch::new(32, WHITE);
        sketch.begin((2.0, 16.0), Tool::Pen, BLACK, 1.5);
        sketch.extend((30.0, 16.0));
        assert!(sketch.finish());
        for x in 2..=30 {
            assert_eq!(*sketch.image().get_pixel(x, 16), BLACK, "gap at x = {x}");
        }
        assert_eq!(*sketch.image().get_pixel(16, 2), WHITE);
        assert!(sketch.undo());
        assert!(sketch.image().pixels().all(|pixel| *pixel == WHITE));
        assert!(sketch.redo());
        assert_eq!(*sketch.image().get_pixel(16, 16), BLACK);
    }

    #[test]
    fn rectangle_follows_the_drag_and_fill_stops_at_edges() {
        let mut sketch = Sketch::new(32, WHITE);
        let red = Rgb([255, 0, 0]);
        sketch.begin((4.0, 4.0), Tool::Rectangle, red, 1.0);
        sketch.extend((28.0, 28.0));
        sketch.extend((10.0, 10.0));
        assert!(sketch.finish());
        assert_eq!(*sketch.image().get_pixel(10, 10), red);
        assert_eq!(
            *sketch.image().get_pixel(20, 20),
            WHITE,
            "the larger drag was undone"
        );
        let blue = Rgb([0, 0, 255]);
        sketch.begin((7.0, 7.0), Tool::Fill, blue, 1.0);
        assert!(sketch.finish());
        assert_eq!(*sketch.image().get_pixel(4, 4), blue);
        assert_eq!(*sketch.image().get_pixel(20, 20), WHITE);
        assert_eq!(sketch.history_len(), (2, 0));
    }

    #[test]
    fn eraser_and_clear_use_the_background() {
        let mut sketch = Sketch::new(16, WHITE);
        sketch.begin((8.0, 8.0), Tool::Pen, BLACK, 3.0);
        sketch.finish();
        sketch.begin((8.0, 8.0), Tool::Eraser, BLACK, 4.0);
        sketch.finish();
        assert_eq!(*sketch.image().get_pixel(8, 8), WHITE);
        sketch.begin((8.0, 8.0), Tool::Pen, BLACK, 3.0);
        sketch.finish();
        sketch.clear();
        assert!(sketch.image().pixels().all(|pixel| *pixel == WHITE));
        assert!(sketch.undo());
        assert_eq!(*sketch.image().get_pixel(8, 8), BLACK);
    }
}
