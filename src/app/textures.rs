//! Images to egui textures: conversion, and a cache so a picture is uploaded once and kept
//! while it is shown.

use std::collections::HashMap;

use egui::{ColorImage, TextureHandle, TextureOptions};
use image::RgbImage;

/// An 8-bit RGB picture as egui pixels.
pub fn color_image(image: &RgbImage) -> ColorImage {
    ColorImage::from_rgb(
        [image.width() as usize, image.height() as usize],
        image.as_raw(),
    )
}

/// Textures by key, uploaded on first use; `retain` drops the ones no longer shown.
#[derive(Default)]
pub struct TextureCache {
    textures: HashMap<String, TextureHandle>,
}

impl TextureCache {
    /// The texture for `key`, uploading `image()` the first time.
    pub fn get(
        &mut self,
        ctx: &egui::Context,
        key: &str,
        image: impl FnOnce() -> ColorImage,
    ) -> TextureHandle {
        self.textures
            .entry(key.to_owned())
            .or_insert_with(|| ctx.load_texture(key, image(), TextureOptions::LINEAR))
            .clone()
    }

    /// Keeps only the textures whose key passes `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.textures.retain(|key, _| keep(key));
    }
}
