//! The `labels` sample set: label maps of building fronts in a fixed palette (input) and the
//! fronts rendered with plaster or brick, roof tiles, glass reflecting the sky, wooden doors,
//! stone sills and the shadows they cast (target), like the paper's facades task.

use image::{Rgb, RgbImage};
use rand::RngExt;
use rand::rngs::StdRng;

use super::canvas::{Color, mix, noise, rgb, shade};

/// The classes of a label map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// Sky behind the building.
    Sky,
    /// The facade's wall.
    Wall,
    /// A window (glass and frame).
    Window,
    /// A door.
    Door,
    /// A window sill.
    Sill,
    /// The roof.
    Roof,
}

/// The palette: each label's colour in the label maps (and the sketch canvas's palette mode).
pub const PALETTE: [(Label, &str, [u8; 3]); 6] = [
    (Label::Sky, "sky", [70, 130, 255]),
    (Label::Wall, "wall", [255, 200, 40]),
    (Label::Window, "window", [0, 50, 140]),
    (Label::Door, "door", [160, 30, 30]),
    (Label::Sill, "sill", [120, 230, 120]),
    (Label::Roof, "roof", [255, 90, 200]),
];

impl Label {
    /// Its palette colour.
    pub fn color(self) -> [u8; 3] {
        PALETTE
            .iter()
            .find(|(label, _, _)| *label == self)
            .map_or([0, 0, 0], |(_, _, color)| *color)
    }
}

/// An axis-aligned box of pixels, `x0..x1` × `y0..y1`.
#[derive(Clone, Copy, Debug)]
struct Area {
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
}

impl Area {
    fn contains(&self, x: i32, y: i32) -> bool {
        (self.x0..self.x1).contains(&x) && (self.y0..self.y1).contains(&y)
    }

    /// Distance inward from the nearest edge (0 on the border).
    fn inset(&self, x: i32, y: i32) -> i32 {
        (x - self.x0)
            .min(self.x1 - 1 - x)
            .min(y - self.y0)
            .min(self.y1 - 1 - y)
    }
}

/// One building front.
struct Facade {
    size: i32,
    wall: Area,
    roof_apex: Option<(i32, i32)>,
    roof_top: i32,
    windows: Vec<Area>,
    sills: Vec<Area>,
    door: Area,
    wall_color: Color,
    roof_color: Color,
    frame_color: Color,
    brick: bool,
    seed: u32,
}

impl Facade {
    fn random(rng: &mut StdRng, size: usize) -> Self {
        let s = size as i32;
        let f = |lo: f32, hi: f32, rng: &mut StdRng| (rng.random_range(lo..hi) * s as f32) as i32;
        let inset = if rng.random_bool(0.5) {
            f(0.02, 0.12, rng)
        } else {
            0
        };
        let wall = Area {
            x0: inset,
            y0: f(0.22, 0.36, rng),
            x1: s - inset - if inset > 0 { f(0.0, 0.05, rng) } else { 0 },
            y1: s,
        };
        let gabled = rng.random_bool(0.5);
        let roof_top = if gabled {
            (wall.y0 - (wall.x1 - wall.x0) / 3).max(2)
        } else {
            wall.y0 - f(0.05, 0.10, rng)
        };
        let roof_apex = gabled.then_some(((wall.x0 + wall.x1) / 2, roof_top));

        let rows = rng.random_range(2..=4);
        let cols = rng.random_range(2..=5);
        let margin = f(0.04, 0.08, rng);
        let door_height = f(0.18, 0.24, rng);
        let usable_top = wall.y0 + margin;
        let usable_bottom = s - door_height - margin / 2;
        let cell_w = (wall.x1 - wall.x0 - 2 * margin) / cols;
        let cell_h = ((usable_bottom - usable_top) / rows).max(6);
        let window_w = ((cell_w as f32) * rng.random_range(0.45..0.7)) as i32;
        let window_h = ((cell_h as f32) * rng.random_range(0.55..0.75)) as i32;
        let mut windows = Vec::new();
        let mut sills = Vec::new();
        for row in 0..rows {
            for col in 0..cols {
                let cx = wall.x0 + margin + col * cell_w + cell_w / 2;
                let cy = usable_top + row * cell_h + cell_h / 2;
                let window = Area {
                    x0: cx - window_w / 2,
                    y0: cy - window_h / 2,
                    x1: cx - window_w / 2 + window_w.max(3),
                    y1: cy - window_h / 2 + window_h.max(4),
                };
                sills.push(Area {
                    x0: window.x0 - 2,
                    y0: window.y1,
                    x1: window.x1 + 2,
                    y1: window.y1 + 2,
                });
                windows.push(window);
            }
        }
        let door_col = rng.random_range(0..cols);
        let door_cx = wall.x0 + margin + door_col * cell_w + cell_w / 2;
        let door_w = (cell_w as f32 * rng.random_range(0.45..0.6)) as i32;
        let door = Area {
            x0: door_cx - door_w / 2,
            y0: s - door_height,
            x1: door_cx - door_w / 2 + door_w.max(4),
            y1: s,
        };
        let walls = [
            rgb(228, 210, 175),
            rgb(196, 112, 82),
            rgb(178, 176, 170),
            rgb(218, 182, 120),
            rgb(192, 204, 214),
        ];
        let roofs = [rgb(150, 62, 45), rgb(88, 90, 102), rgb(122, 72, 52)];
        let frames = [rgb(240, 240, 235), rgb(95, 60, 35), rgb(60, 75, 70)];
        let brick = rng.random_bool(0.35);
        Self {
            size: s,
            wall,
            roof_apex,
            roof_top,
            windows,
            sills,
            door,
            wall_color: if brick {
                rgb(170, 80, 60)
            } else {
                walls[rng.random_range(0..walls.len())]
            },
            roof_color: roofs[rng.random_range(0..roofs.len())],
            frame_color: frames[rng.random_range(0..frames.len())],
            brick,
            seed: rng.random(),
        }
    }

    fn label(&self, x: i32, y: i32) -> Label {
        if self.door.contains(x, y) {
            return Label::Door;
        }
        if self.sills.iter().any(|sill| sill.contains(x, y)) {
            return Label::Sill;
        }
        if self.windows.iter().any(|window| window.contains(x, y)) {
            return Label::Window;
        }
        if self.wall.contains(x, y) {
            return Label::Wall;
        }
        let overhang = 3;
        let in_span = x >= self.wall.x0 - overhang && x < self.wall.x1 + overhang;
        let roof = match self.roof_apex {
            // A triangle from the apex down to the eaves, a little wider than the wall.
            Some((apex_x, apex_y)) => {
                let half = (self.wall.x1 - self.wall.x0) / 2 + overhang;
                let rise = (self.wall.y0 - apex_y).max(1);
                y >= apex_y && y < self.wall.y0 && (x - apex_x).abs() * rise <= half * (y - apex_y)
            }
            None => in_span && y >= self.roof_top && y < self.wall.y0,
        };
        if roof { Label::Roof } else { Label::Sky }
    }

    fn render(&self, x: i32, y: i32, label: Label) -> Color {
        let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
        let s = self.size as f32;
        let grain = noise(fx, fy, 2.5, self.seed) - 0.5;
        match label {
            Label::Sky => {
                let t = fy / s;
                let base = mix(rgb(105, 165, 232), rgb(196, 220, 242), t.min(1.0));
                let cloud = (noise(fx, fy * 2.2, 18.0, self.seed ^ 7) - 0.55).max(0.0) * 2.5;
                mix(base, [0.97; 3], cloud.min(0.8))
            }
            Label::Wall => {
                let mut color = self.wall_color;
                if self.brick {
                    let row = y.div_euclid(4);
                    let offset = if row % 2 == 0 { 0 } else { 4 };
                    let mortar = y.rem_euclid(4) == 3 || (x + offset).rem_euclid(8) == 7;
                    let brick_tone = noise(
                        (x + offset).div_euclid(8) as f32,
                        row as f32,
                        1.0,
                        self.seed,
                    ) - 0.5;
                    color = if mortar {
                        rgb(205, 195, 180)
                    } else {
                        shade(color, 1.0 + 0.18 * brick_tone)
                    };
                } else {
                    color = shade(
                        color,
                        1.0 + 0.07 * grain + 0.05 * (noise(fx, fy, 11.0, self.seed ^ 3) - 0.5),
                    );
                }
                // Light from the upper left; shade under the roof's eaves and under sills.
                let mut light = 1.04 - 0.1 * fx / s;
                if y - self.wall.y0 < 4 {
                    light *= 0.78;
                }
                if self
                    .sills
                    .iter()
                    .any(|sill| x >= sill.x0 && x < sill.x1 && (sill.y1..sill.y1 + 2).contains(&y))
                {
                    light *= 0.8;
                }
                shade(color, light)
            }
            Label::Roof => {
                let tiles = if y.rem_euclid(3) == 0 {
                    0.75
                } else {
                    1.0 + 0.08 * grain
                };
                shade(self.roof_color, tiles * (1.05 - 0.2 * (fy / s)))
            }
            Label::Window => {
                let Some(window) = self.windows.iter().find(|w| w.contains(x, y)) else {
                    return rgb(40, 55, 70);
                };
                let (mid_x, mid_y) = ((window.x0 + window.x1) / 2, (window.y0 + window.y1) / 2);
                if window.inset(x, y) == 0 || x == mid_x || y == mid_y {
                    return self.frame_color;
                }
                // Glass: dark, with the sky reflected along a diagonal.
                let u = (x - window.x0) as f32 / (window.x1 - window.x0).max(1) as f32;
                let v = (y - window.y0) as f32 / (window.y1 - window.y0).max(1) as f32;
                let reflection = (1.0 - (u + v)).clamp(0.0, 1.0) * 0.55;
                mix(rgb(38, 52, 68), rgb(170, 200, 228), reflection)
            }
            Label::Door => {
                let door = self.door;
                if door.inset(x, y) == 0 {
                    return shade(rgb(95, 58, 32), 0.7);
                }
                let plank = if (x - door.x0).rem_euclid(3) == 0 {
                    0.8
                } else {
                    1.0 + 0.1 * grain
                };
                let knob =
                    (x - (door.x1 - 3)).abs() <= 0 && (y - (door.y0 + door.y1) / 2).abs() <= 1;
                if knob {
                    rgb(220, 190, 90)
                } else {
                    shade(rgb(118, 74, 40), plank)
                }
            }
            Label::Sill => {
                let top = self
                    .sills
                    .iter()
                    .any(|sill| sill.contains(x, y) && y == sill.y0);
                shade(rgb(226, 221, 210), if top { 1.05 } else { 0.85 })
            }
        }
    }
}

/// Draws one sample: `(label map, rendered front)`, both `size` × `size`.
pub fn draw(rng: &mut StdRng, size: usize) -> (RgbImage, RgbImage) {
    let facade = Facade::random(rng, size);
    let side = size as u32;
    let mut labels = RgbImage::new(side, side);
    let mut rendered = RgbImage::new(side, side);
    for y in 0..side {
        for x in 0..side {
            let label = facade.label(x as i32, y as i32);
            labels.put_pixel(x, y, Rgb(label.color()));
            let color = facade.render(x as i32, y as i32, label);
            rendered.put_pixel(
                x,
                y,
                Rgb(color.map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8)),
            );
        }
    }
    (labels, rendered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn label_maps_use_only_the_palette_and_hold_every_part() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..5 {
            let (labels, rendered) = draw(&mut rng, 64);
            assert_eq!(rendered.dimensions(), (64, 64));
            let palette: Vec<[u8; 3]> = PALETTE.iter().map(|(_, _, c)| *c).collect();
            assert!(labels.pixels().all(|p| palette.contains(&p.0)));
            for label in [Label::Wall, Label::Window, Label::Door, Label::Sill] {
                assert!(
                    labels.pixels().any(|p| p.0 == label.color()),
                    "{label:?} missing"
                );
            }
        }
    }
}
