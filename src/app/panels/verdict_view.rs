//! A verdict map drawn over its image, and what hovering one of its cells shows: the patch of
//! the input that cell judges, outlined on the input and on the map, with its probability.
//! Shared by the Train tab's previews and the Translate tab's judgements.

use egui::Color32;

use crate::insight::verdict::VerdictMap;

/// The map cell under the pointer.
pub struct HoveredCell<'a> {
    /// What the map judged ("D on generated").
    pub role: &'a str,
    /// The map.
    pub map: &'a VerdictMap,
    /// The cell's row and column.
    pub cell: (usize, usize),
    /// Where the map is drawn.
    pub map_rect: egui::Rect,
}

/// Draws the map's `texture` at `size`; returns the cell under the pointer, if any.
pub fn verdict_image_ui<'a>(
    ui: &mut egui::Ui,
    texture: &egui::TextureHandle,
    size: egui::Vec2,
    alt: String,
    role: &'a str,
    map: &'a VerdictMap,
) -> Option<HoveredCell<'a>> {
    let image = egui::Image::new((texture.id(), size))
        .alt_text(alt)
        .sense(egui::Sense::hover());
    let response = ui.add(image);
    let pos = response.hover_pos()?;
    let at = (pos - response.rect.min) / response.rect.size();
    let (width, height) = map.image_size;
    let cell = map.cell_at(at.x * width as f32, at.y * height as f32)?;
    Some(HoveredCell {
        role,
        map,
        cell,
        map_rect: response.rect,
    })
}

/// Outlines the hovered cell on its map and its patch on the input drawn at `input_rect` (the
/// input may be drawn at another aspect than the map's square: each axis scales on its own),
/// and says the cell's probability below.
pub fn hovered_cell_ui(ui: &mut egui::Ui, hovered: &HoveredCell<'_>, input_rect: egui::Rect) {
    let HoveredCell {
        role,
        map,
        cell: (row, col),
        map_rect,
    } = *hovered;
    let patch = map.patch(row, col);
    let scale = input_rect.size() / egui::vec2(map.image_size.0 as f32, map.image_size.1 as f32);
    let patch_rect = egui::Rect::from_min_size(
        input_rect.min + egui::vec2(patch.x as f32, patch.y as f32) * scale,
        egui::Vec2::splat(patch.side as f32) * scale,
    )
    .intersect(input_rect);
    let cell_size = map_rect.size() / egui::vec2(map.cols as f32, map.rows as f32);
    let cell_rect = egui::Rect::from_min_size(
        map_rect.min + egui::vec2(col as f32, row as f32) * cell_size,
        cell_size,
    );
    // Blue inside a dark edge: seen on white sketches, dark photos and the red-to-green map.
    let painter = ui.painter();
    for rect in [patch_rect, cell_rect] {
        painter.rect_stroke(rect, 0.0, (4.0, Color32::BLACK), egui::StrokeKind::Inside);
        let inner = egui::Stroke::new(2.0, Color32::from_rgb(40, 150, 255));
        painter.rect_stroke(rect.shrink(1.0), 0.0, inner, egui::StrokeKind::Inside);
    }
    ui.label(format!(
        "{role}, patch ({row}, {col}): P(real) {:.2}. It judges the {side}×{side} square \
         at ({x}, {y}) of the input, outlined (mean over the map {mean:.2}).",
        map.at(row, col),
        side = patch.side,
        x = patch.x,
        y = patch.y,
        mean = map.mean(),
    ));
}
