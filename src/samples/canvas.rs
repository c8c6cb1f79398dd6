//! A tiny anti-aliased painter on signed distance functions, for the generated sample datasets.
//!
//! Written by hand rather than with imageproc's drawing: every shape here is filled with its own
//! shading and stroked with a soft-edged line in one painter's-algorithm pass, which needs the
//! distance to the shape's boundary at each pixel; imageproc draws hard-edged primitives.

use image::{Rgb, RgbImage};

/// A colour with components in `0..=1`.
pub type Color = [f32; 3];

/// Converts 8-bit components.
pub const fn rgb(r: u8, g: u8, b: u8) -> Color {
    [r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0]
}

/// Scales a colour's brightness.
pub fn shade(color: Color, factor: f32) -> Color {
    color.map(|c| (c * factor).clamp(0.0, 1.0))
}

/// Mixes two colours.
pub fn mix(a: Color, b: Color, t: f32) -> Color {
    [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t)
}

/// A floating-point RGB canvas.
#[derive(Clone)]
pub struct Canvas {
    size: usize,
    pixels: Vec<Color>,
}

impl Canvas {
    /// A square canvas filled with `background`.
    pub fn new(size: usize, background: Color) -> Self {
        Self {
            size,
            pixels: vec![background; size * size],
        }
    }

    /// Paints every pixel with `paint(x, y, current) -> Option<(color, coverage)>`, evaluated at
    /// the pixel centre.
    pub fn paint(&mut self, mut paint: impl FnMut(f32, f32, Color) -> Option<(Color, f32)>) {
        let size = self.size;
        for (index, pixel) in self.pixels.iter_mut().enumerate() {
            let (x, y) = ((index % size) as f32 + 0.5, (index / size) as f32 + 0.5);
            if let Some((color, coverage)) = paint(x, y, *pixel) {
                *pixel = mix(*pixel, color, coverage.clamp(0.0, 1.0));
            }
        }
    }

    /// Fills the inside of `sdf` (negative inside) with `fill(x, y)`, anti-aliased.
    pub fn fill(&mut self, sdf: &dyn Fn(f32, f32) -> f32, fill: &dyn Fn(f32, f32) -> Color) {
        self.paint(|x, y, _| {
            let d = sdf(x, y);
            (d < 0.5).then(|| (fill(x, y), 0.5 - d))
        });
    }

    /// Strokes the boundary of `sdf` with a line `width` pixels wide.
    pub fn stroke(&mut self, sdf: &dyn Fn(f32, f32) -> f32, width: f32, color: Color) {
        let half = width / 2.0;
        self.paint(|x, y, _| {
            let d = sdf(x, y).abs();
            (d < half + 0.5).then_some((color, half + 0.5 - d))
        });
    }

    /// The canvas as an 8-bit image.
    pub fn to_image(&self) -> RgbImage {
        let size = self.size as u32;
        RgbImage::from_fn(size, size, |x, y| {
            let color = self.pixels[(y * size + x) as usize];
            Rgb(color.map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8))
        })
    }
}

/// Distance to a circle's boundary (negative inside).
pub fn circle(x: f32, y: f32, center: (f32, f32), radius: f32) -> f32 {
    ((x - center.0).powi(2) + (y - center.1).powi(2)).sqrt() - radius
}

/// Approximate signed distance to an axis-aligned ellipse.
pub fn ellipse(x: f32, y: f32, center: (f32, f32), radii: (f32, f32)) -> f32 {
    let (dx, dy) = ((x - center.0) / radii.0, (y - center.1) / radii.1);
    let k = (dx * dx + dy * dy).sqrt();
    (k - 1.0) * radii.0.min(radii.1)
}

/// Signed distance to a rectangle given by its centre and half extents, rotated by `angle`.
pub fn rect(x: f32, y: f32, center: (f32, f32), half: (f32, f32), angle: f32) -> f32 {
    let (s, c) = angle.sin_cos();
    let (px, py) = (x - center.0, y - center.1);
    let (lx, ly) = (c * px + s * py, -s * px + c * py);
    let (qx, qy) = (lx.abs() - half.0, ly.abs() - half.1);
    let outside = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt();
    outside + qx.max(qy).min(0.0)
}

/// Distance from a point to a segment.
pub fn segment(x: f32, y: f32, a: (f32, f32), b: (f32, f32)) -> f32 {
    let (abx, aby) = (b.0 - a.0, b.1 - a.1);
    let (apx, apy) = (x - a.0, y - a.1);
    let length = abx * abx + aby * aby;
    let t = if length > 0.0 {
        ((apx * abx + apy * aby) / length).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((apx - t * abx).powi(2) + (apy - t * aby).powi(2)).sqrt()
}

/// Signed distance to a simple polygon (negative inside).
pub fn polygon(x: f32, y: f32, points: &[(f32, f32)]) -> f32 {
    let mut distance = f32::MAX;
    let mut inside = false;
    for (i, &a) in points.iter().enumerate() {
        let b = points[(i + 1) % points.len()];
        distance = distance.min(segment(x, y, a, b));
        if (a.1 > y) != (b.1 > y) && x < (b.0 - a.0) * (y - a.1) / (b.1 - a.1) + a.0 {
            inside = !inside;
        }
    }
    if inside { -distance } else { distance }
}

/// Smooth value noise in `0..1` at `(x, y)` for a `seed`, with features about `scale` pixels.
pub fn noise(x: f32, y: f32, scale: f32, seed: u32) -> f32 {
    let (fx, fy) = (x / scale, y / scale);
    let (ix, iy) = (fx.floor(), fy.floor());
    let (tx, ty) = (fx - ix, fy - iy);
    let smooth = |t: f32| t * t * (3.0 - 2.0 * t);
    let corner = |dx: f32, dy: f32| lattice((ix + dx) as i32, (iy + dy) as i32, seed);
    let top = corner(0.0, 0.0) + (corner(1.0, 0.0) - corner(0.0, 0.0)) * smooth(tx);
    let bottom = corner(0.0, 1.0) + (corner(1.0, 1.0) - corner(0.0, 1.0)) * smooth(tx);
    top + (bottom - top) * smooth(ty)
}

/// A pseudo-random value in `0..1` for an integer lattice point.
fn lattice(x: i32, y: i32, seed: u32) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x8DA6_B343)
        ^ (y as u32).wrapping_mul(0xD816_3841)
        ^ seed.wrapping_mul(0xCB1A_B31F);
    h ^= h >> 13;
    h = h.wrapping_mul(0x5BD1_E995);
    h ^= h >> 15;
    (h & 0x00FF_FFFF) as f32 / 16_777_216.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_have_the_right_sign_and_size() {
        assert!((circle(0.0, 0.0, (0.0, 0.0), 2.0) + 2.0).abs() < 1e-6);
        assert!((rect(3.0, 0.0, (0.0, 0.0), (1.0, 1.0), 0.0) - 2.0).abs() < 1e-6);
        let square = [(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)];
        assert!(polygon(2.0, 2.0, &square) < 0.0);
        assert!((polygon(6.0, 2.0, &square) - 2.0).abs() < 1e-6);
        let n = noise(3.3, 7.1, 8.0, 1);
        assert!((0.0..1.0).contains(&n));
        assert_eq!(n, noise(3.3, 7.1, 8.0, 1));
    }

    #[test]
    fn fill_and_stroke_paint_where_expected() {
        let mut canvas = Canvas::new(16, [1.0; 3]);
        canvas.fill(&|x, y| circle(x, y, (8.0, 8.0), 4.0), &|_, _| {
            [1.0, 0.0, 0.0]
        });
        canvas.stroke(&|x, y| circle(x, y, (8.0, 8.0), 4.0), 2.0, [0.0; 3]);
        let image = canvas.to_image();
        assert_eq!(image.get_pixel(8, 8).0, [255, 0, 0]);
        assert_eq!(image.get_pixel(0, 0).0, [255, 255, 255]);
        assert!(image.get_pixel(12, 8).0[0] < 128, "outline at radius 4");
    }
}
