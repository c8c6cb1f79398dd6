//! The `sketches` sample set: line drawings of simple objects (input) and the same objects
//! filled with their class's colours, shaded by a light from the upper left, with clean
//! outlines (target). A model trained on it learns "draw an outline, get a coloured object".

use std::f32::consts::PI;

use image::RgbImage;
use rand::RngExt;
use rand::rngs::StdRng;

use super::canvas::{Canvas, Color, circle, ellipse, mix, noise, polygon, rect, rgb, shade};

/// The object classes, each with fixed colours so the mapping is learnable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    /// A red apple with a stem and a leaf.
    Apple,
    /// A yellow sun with orange rays.
    Sun,
    /// A house: walls, roof, door, window.
    House,
    /// A tree: trunk and round crown.
    Tree,
    /// An orange fish.
    Fish,
    /// A golden five-pointed star.
    Star,
    /// A pink heart.
    Heart,
    /// A blue balloon on a string.
    Balloon,
    /// A red mushroom with white spots.
    Mushroom,
}

impl Object {
    /// Every class.
    pub const ALL: [Object; 9] = [
        Object::Apple,
        Object::Sun,
        Object::House,
        Object::Tree,
        Object::Fish,
        Object::Star,
        Object::Heart,
        Object::Balloon,
        Object::Mushroom,
    ];

    /// File-name friendly name.
    pub fn name(self) -> &'static str {
        match self {
            Object::Apple => "apple",
            Object::Sun => "sun",
            Object::House => "house",
            Object::Tree => "tree",
            Object::Fish => "fish",
            Object::Star => "star",
            Object::Heart => "heart",
            Object::Balloon => "balloon",
            Object::Mushroom => "mushroom",
        }
    }
}

/// How a part is lit.
#[derive(Clone, Copy)]
enum Light {
    /// A ball: bright towards the upper left, with a highlight.
    Round { center: (f32, f32), radius: f32 },
    /// A flat face: a gentle gradient from the upper left.
    Flat { center: (f32, f32), radius: f32 },
}

type Sdf = Box<dyn Fn(f32, f32) -> f32>;

/// One filled, outlined shape of an object.
struct Part {
    sdf: Sdf,
    color: Color,
    light: Light,
}

fn part(sdf: impl Fn(f32, f32) -> f32 + 'static, color: Color, light: Light) -> Part {
    Part {
        sdf: Box::new(sdf),
        color,
        light,
    }
}

/// Draws one sample: `(sketch, coloured)`, both `size` × `size`.
pub fn draw(object: Object, rng: &mut StdRng, size: usize) -> (RgbImage, RgbImage) {
    let s = size as f32;
    let scale = rng.random_range(0.28..0.40) * s;
    let center = (
        rng.random_range(0.40..0.60) * s,
        rng.random_range(0.42..0.58) * s,
    );
    let tint = rng.random_range(0.92..1.08);
    let parts = parts(object, center, scale, rng);
    let wobble_seed: u32 = rng.random();
    let pen = rng.random_range(1.6..2.4);

    let white = [1.0; 3];
    let mut sketch = Canvas::new(size, white);
    let mut coloured = Canvas::new(size, white);
    for part in &parts {
        let color = shade(part.color, tint);
        let light = part.light;
        coloured.fill(&part.sdf, &|x, y| lit(color, light, x, y));
        coloured.stroke(&part.sdf, 1.4, shade(color, 0.45));
        // The sketch: white paper over what lies behind, a slightly wobbly pen line.
        let sdf = &part.sdf;
        let wobbly = move |x: f32, y: f32| sdf(x, y) + (noise(x, y, 9.0, wobble_seed) - 0.5) * 1.6;
        sketch.fill(&wobbly, &|_, _| white);
        sketch.stroke(&wobbly, pen, rgb(25, 25, 30));
    }
    (sketch.to_image(), coloured.to_image())
}

fn lit(color: Color, light: Light, x: f32, y: f32) -> Color {
    match light {
        Light::Round { center, radius } => {
            let (dx, dy) = ((x - center.0) / radius, (y - center.1) / radius);
            let facing = (-0.55 * dx - 0.65 * dy).clamp(-1.0, 1.0);
            let base = shade(color, 0.82 + 0.3 * facing);
            let highlight = circle(
                x,
                y,
                (center.0 - 0.35 * radius, center.1 - 0.4 * radius),
                0.22 * radius,
            );
            let glow = (-highlight / (0.22 * radius)).clamp(0.0, 1.0);
            mix(base, [1.0; 3], 0.55 * glow)
        }
        Light::Flat { center, radius } => {
            let along = ((x - center.0) * 0.5 + (y - center.1) * 0.8) / radius;
            shade(color, 1.02 - 0.14 * along.clamp(-1.5, 1.5))
        }
    }
}

/// The parts of `object`, centred at `c` with radius `r`, back to front.
fn parts(object: Object, c: (f32, f32), r: f32, rng: &mut StdRng) -> Vec<Part> {
    match object {
        Object::Apple => apple(c, r),
        Object::Sun => sun(c, r, rng),
        Object::House => house(c, r, rng),
        Object::Tree => tree(c, r),
        Object::Fish => fish(c, r, rng),
        Object::Star => star(c, r, rng),
        Object::Heart => heart(c, r),
        Object::Balloon => balloon(c, r, rng),
        Object::Mushroom => mushroom(c, r, rng),
    }
}

/// Light on a ball at `center`.
fn round(center: (f32, f32), radius: f32) -> Light {
    Light::Round { center, radius }
}

/// Light on a flat face at `center`.
fn flat(center: (f32, f32), radius: f32) -> Light {
    Light::Flat { center, radius }
}

/// A red apple with a stalk and a leaf.
fn apple(c: (f32, f32), r: f32) -> Vec<Part> {
    let body = (c.0, c.1 + 0.08 * r);
    vec![
        part(
            move |x, y| {
                rect(
                    x,
                    y,
                    (c.0 + 0.05 * r, c.1 - 0.95 * r),
                    (0.07 * r, 0.22 * r),
                    0.25,
                )
            },
            rgb(110, 70, 30),
            flat(c, r),
        ),
        part(
            move |x, y| ellipse(x, y, (c.0 + 0.32 * r, c.1 - 0.92 * r), (0.3 * r, 0.13 * r)),
            rgb(60, 150, 50),
            flat(c, r),
        ),
        part(
            move |x, y| ellipse(x, y, body, (0.95 * r, 0.85 * r)),
            rgb(205, 32, 38),
            round(body, r),
        ),
    ]
}

/// A yellow sun with rays around it.
fn sun(c: (f32, f32), r: f32, rng: &mut StdRng) -> Vec<Part> {
    let rays = rng.random_range(7..11);
    let twist = rng.random_range(0.0..PI);
    let mut parts: Vec<Part> = (0..rays)
        .map(|i| {
            let a = twist + i as f32 * 2.0 * PI / rays as f32;
            let (s, co) = a.sin_cos();
            let tip = (c.0 + co * 1.25 * r, c.1 + s * 1.25 * r);
            let (s2, c2) = (a + 0.22).sin_cos();
            let (s3, c3) = (a - 0.22).sin_cos();
            let base1 = (c.0 + c2 * 0.6 * r, c.1 + s2 * 0.6 * r);
            let base2 = (c.0 + c3 * 0.6 * r, c.1 + s3 * 0.6 * r);
            part(
                move |x, y| polygon(x, y, &[tip, base1, base2]),
                rgb(255, 150, 30),
                flat(c, r),
            )
        })
        .collect();
    parts.push(part(
        move |x, y| circle(x, y, c, 0.7 * r),
        rgb(255, 212, 40),
        round(c, 0.7 * r),
    ));
    parts
}

/// A house: walls, a roof, a door and a window.
fn house(c: (f32, f32), r: f32, rng: &mut StdRng) -> Vec<Part> {
    let wall = (c.0, c.1 + 0.3 * r);
    let roof = [
        (c.0 - 1.05 * r, c.1 - 0.3 * r),
        (c.0 + 1.05 * r, c.1 - 0.3 * r),
        (c.0, c.1 - 1.15 * r),
    ];
    let door_x = c.0 + rng.random_range(-0.4..0.4) * r;
    let window_x = if door_x > c.0 {
        c.0 - 0.45 * r
    } else {
        c.0 + 0.45 * r
    };
    vec![
        part(
            move |x, y| rect(x, y, wall, (0.85 * r, 0.6 * r), 0.0),
            rgb(232, 205, 160),
            flat(wall, r),
        ),
        part(
            move |x, y| polygon(x, y, &roof),
            rgb(170, 60, 45),
            flat(c, r),
        ),
        part(
            move |x, y| rect(x, y, (door_x, c.1 + 0.55 * r), (0.18 * r, 0.35 * r), 0.0),
            rgb(120, 75, 40),
            flat(c, r),
        ),
        part(
            move |x, y| rect(x, y, (window_x, c.1 + 0.2 * r), (0.18 * r, 0.18 * r), 0.0),
            rgb(150, 200, 240),
            flat(c, r),
        ),
    ]
}

/// A tree: a trunk and a round crown.
fn tree(c: (f32, f32), r: f32) -> Vec<Part> {
    let crown = (c.0, c.1 - 0.3 * r);
    let lobes = [(-0.45, 0.05), (0.45, 0.05), (0.0, -0.35)];
    let mut parts = vec![part(
        move |x, y| rect(x, y, (c.0, c.1 + 0.6 * r), (0.16 * r, 0.55 * r), 0.0),
        rgb(120, 80, 45),
        flat(c, r),
    )];
    parts.push(part(
        move |x, y| {
            lobes
                .iter()
                .map(|(dx, dy)| circle(x, y, (crown.0 + dx * r, crown.1 + dy * r), 0.55 * r))
                .fold(f32::MAX, f32::min)
        },
        rgb(50, 140, 60),
        round(crown, r),
    ));
    parts
}

/// A fish facing left or right.
fn fish(c: (f32, f32), r: f32, rng: &mut StdRng) -> Vec<Part> {
    let facing = if rng.random::<bool>() { 1.0 } else { -1.0 };
    let tail = [
        (c.0 - facing * 0.75 * r, c.1),
        (c.0 - facing * 1.25 * r, c.1 - 0.45 * r),
        (c.0 - facing * 1.25 * r, c.1 + 0.45 * r),
    ];
    let eye = (c.0 + facing * 0.5 * r, c.1 - 0.12 * r);
    vec![
        part(
            move |x, y| polygon(x, y, &tail),
            rgb(230, 110, 30),
            flat(c, r),
        ),
        part(
            move |x, y| ellipse(x, y, c, (0.95 * r, 0.5 * r)),
            rgb(250, 140, 40),
            round(c, r),
        ),
        part(
            move |x, y| circle(x, y, eye, 0.09 * r),
            rgb(20, 20, 20),
            flat(eye, r),
        ),
    ]
}

/// A five-pointed star, a little turned.
fn star(c: (f32, f32), r: f32, rng: &mut StdRng) -> Vec<Part> {
    let turn = rng.random_range(-0.3..0.3);
    let points: Vec<(f32, f32)> = (0..10)
        .map(|i| {
            let a = turn - PI / 2.0 + i as f32 * PI / 5.0;
            let radius = if i % 2 == 0 { 1.05 * r } else { 0.45 * r };
            (c.0 + a.cos() * radius, c.1 + a.sin() * radius)
        })
        .collect();
    vec![part(
        move |x, y| polygon(x, y, &points),
        rgb(250, 200, 40),
        round(c, r),
    )]
}

/// A red heart.
fn heart(c: (f32, f32), r: f32) -> Vec<Part> {
    let points: Vec<(f32, f32)> = (0..48)
        .map(|i| {
            let t = i as f32 * 2.0 * PI / 48.0;
            let hx = 16.0 * t.sin().powi(3);
            let hy =
                13.0 * t.cos() - 5.0 * (2.0 * t).cos() - 2.0 * (3.0 * t).cos() - (4.0 * t).cos();
            (c.0 + hx * r / 16.0, c.1 - hy * r / 16.0 - 0.1 * r)
        })
        .collect();
    vec![part(
        move |x, y| polygon(x, y, &points),
        rgb(230, 60, 100),
        round(c, r),
    )]
}

/// A balloon on a string.
fn balloon(c: (f32, f32), r: f32, rng: &mut StdRng) -> Vec<Part> {
    let body = (c.0, c.1 - 0.3 * r);
    let knot = [
        (c.0, c.1 + 0.55 * r),
        (c.0 - 0.1 * r, c.1 + 0.68 * r),
        (c.0 + 0.1 * r, c.1 + 0.68 * r),
    ];
    let string_end = (c.0 + rng.random_range(-0.3..0.3) * r, c.1 + 1.3 * r);
    vec![
        part(
            move |x, y| super::canvas::segment(x, y, (c.0, c.1 + 0.6 * r), string_end) - 0.6,
            rgb(90, 90, 90),
            flat(c, r),
        ),
        part(
            move |x, y| polygon(x, y, &knot),
            rgb(50, 95, 200),
            flat(c, r),
        ),
        part(
            move |x, y| ellipse(x, y, body, (0.75 * r, 0.9 * r)),
            rgb(60, 110, 220),
            round(body, r),
        ),
    ]
}

/// A mushroom: a stem and a spotted cap.
fn mushroom(c: (f32, f32), r: f32, rng: &mut StdRng) -> Vec<Part> {
    let cap = (c.0, c.1 - 0.1 * r);
    let spots: Vec<(f32, f32)> = (0..3)
        .map(|_| {
            (
                cap.0 + rng.random_range(-0.55..0.55) * r,
                cap.1 - rng.random_range(0.2..0.55) * r,
            )
        })
        .collect();
    let mut parts = vec![
        part(
            move |x, y| rect(x, y, (c.0, c.1 + 0.45 * r), (0.28 * r, 0.5 * r), 0.0),
            rgb(240, 225, 190),
            flat(c, r),
        ),
        part(
            move |x, y| ellipse(x, y, cap, (1.0 * r, 0.75 * r)).max(y - cap.1),
            rgb(210, 40, 40),
            round(cap, r),
        ),
    ];
    for spot in spots {
        parts.push(part(
            move |x, y| circle(x, y, spot, 0.13 * r),
            rgb(250, 245, 235),
            flat(spot, r),
        ));
    }
    parts
}

/// Draws a random object: its class and the two images.
pub fn draw_random(rng: &mut StdRng, size: usize) -> (Object, RgbImage, RgbImage) {
    let object = Object::ALL[rng.random_range(0..Object::ALL.len())];
    let (sketch, coloured) = draw(object, rng, size);
    (object, sketch, coloured)
}
