//! Pictures laid out in rows in one image, each row side by side, top-aligned: the previews'
//! grid a run saves (input | generated | target per sample) and `checkpoints --sheet`.

use image::RgbImage;

/// `rows` of pictures in one image (black where a row is shorter or narrower than the rest).
pub fn sheet(rows: &[Vec<&RgbImage>]) -> RgbImage {
    let row_width = |row: &Vec<&RgbImage>| row.iter().map(|image| image.width()).sum::<u32>();
    let row_height = |row: &Vec<&RgbImage>| row.iter().map(|image| image.height()).max();
    let width = rows.iter().map(row_width).max().unwrap_or(0).max(1);
    let height = rows.iter().filter_map(row_height).sum::<u32>().max(1);
    let mut sheet = RgbImage::new(width, height);
    let mut y = 0;
    for row in rows {
        let mut x = 0;
        for image in row {
            image::imageops::replace(&mut sheet, *image, i64::from(x), i64::from(y));
            x += image.width();
        }
        y += row_height(row).unwrap_or(0);
    }
    sheet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_lie_side_by_side_and_stack() {
        let red = RgbImage::from_pixel(2, 3, image::Rgb([255, 0, 0]));
        let blue = RgbImage::from_pixel(4, 2, image::Rgb([0, 0, 255]));
        let green = RgbImage::from_pixel(1, 1, image::Rgb([0, 255, 0]));
        let sheet = sheet(&[vec![&red, &blue], vec![&green]]);
        assert_eq!(sheet.dimensions(), (6, 4));
        assert_eq!(sheet.get_pixel(1, 2).0, [255, 0, 0]);
        assert_eq!(sheet.get_pixel(5, 1).0, [0, 0, 255]);
        assert_eq!(sheet.get_pixel(5, 2).0, [0, 0, 0]);
        assert_eq!(sheet.get_pixel(0, 3).0, [0, 255, 0]);
        assert_eq!(sheet.get_pixel(1, 3).0, [0, 0, 0]);
    }
}
