//! Cover images: recognised by their bytes (never by name or declared type), decoded to prove
//! they are images, and re-encoded as JPEG at the grid's and the book page's sizes. Re-encoding
//! keeps only pixels, so EXIF (camera, location), text chunks and colour profiles are dropped.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, ImageReader, Limits, Rgb, RgbImage};

use crate::storage::CoverSize;

/// The largest cover upload.
pub const MAX_COVER_BYTES: usize = 5 * 1024 * 1024;

/// The widest and tallest cover accepted, in pixels: a 5 MiB file can announce far more pixels
/// than memory holds, and a cover needs no more than this.
pub const MAX_COVER_SIDE: u32 = 6000;

/// JPEG quality of the stored sizes: no visible loss at these sizes.
const JPEG_QUALITY: u8 = 85;

/// Why an upload is not an acceptable cover.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoverError {
    #[error("the file is not a JPEG, PNG or WebP image (judged by its content)")]
    NotAnImage,
    #[error("the file looks like a {0} image but cannot be decoded: {1}")]
    Undecodable(&'static str, String),
    #[error(
        "the image is {0}×{1} pixels; a cover may be at most {MAX_COVER_SIDE}×{MAX_COVER_SIDE}"
    )]
    TooLarge(u32, u32),
}

/// A cover at every stored size, as JPEG bytes.
#[derive(Debug)]
pub struct DerivedCover {
    pub sizes: Vec<(CoverSize, Vec<u8>)>,
}

/// The image format of `bytes` by its signature, if it is one a cover may have.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else {
        None
    }
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Png => "PNG",
        _ => "WebP",
    }
}

/// Checks and decodes an uploaded cover and makes its stored sizes. CPU-bound: call it off the
/// async threads.
pub fn derive(bytes: &[u8]) -> Result<DerivedCover, CoverError> {
    let format = sniff(bytes).ok_or(CoverError::NotAnImage)?;
    let undecodable =
        |err: image::ImageError| CoverError::Undecodable(format_name(format), err.to_string());
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let (width, height) = reader.into_dimensions().map_err(undecodable)?;
    if width > MAX_COVER_SIDE || height > MAX_COVER_SIDE {
        return Err(CoverError::TooLarge(width, height));
    }
    reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_COVER_SIDE);
    limits.max_image_height = Some(MAX_COVER_SIDE);
    reader.limits(limits);
    let image = reader.decode().map_err(undecodable)?;
    let flat = on_white(&image);
    let sizes = CoverSize::ALL
        .into_iter()
        .map(|size| (size, encode(&fit_width(&flat, size.width()))))
        .collect();
    Ok(DerivedCover { sizes })
}

/// The image without transparency, as if laid on white paper (JPEG has no alpha).
fn on_white(image: &DynamicImage) -> RgbImage {
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend = |channel: u8| {
            let alpha = u16::from(a);
            // Integer blend over white: channel·α + 255·(255−α), over 255, rounded.
            let mixed = u16::from(channel) * alpha + 255 * (255 - alpha);
            u8::try_from((mixed + 127) / 255).unwrap_or(u8::MAX)
        };
        Rgb([blend(r), blend(g), blend(b)])
    })
}

/// `image` scaled down to at most `width` pixels across, keeping its proportions.
fn fit_width(image: &RgbImage, width: u32) -> RgbImage {
    if image.width() <= width {
        return image.clone();
    }
    let height = (u64::from(image.height()) * u64::from(width) / u64::from(image.width())).max(1);
    let height = u32::try_from(height).unwrap_or(u32::MAX);
    image::imageops::resize(image, width, height, FilterType::CatmullRom)
}

fn encode(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    // Encoding an in-memory RGB image into a Vec cannot fail for any size we produce; should it,
    // the empty result is refused by the caller as a failed derivation.
    if JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(image)
        .is_err()
    {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use image::{ImageEncoder, Rgba, RgbaImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = RgbaImage::from_pixel(width, height, Rgba([200, 30, 30, 128]));
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(
                image.as_raw(),
                width,
                height,
                image::ExtendedColorType::Rgba8,
            )
            .unwrap();
        out
    }

    #[test]
    fn formats_are_recognised_by_their_signature() {
        assert_eq!(sniff(&png(2, 2)), Some(ImageFormat::Png));
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some(ImageFormat::Jpeg));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageFormat::WebP));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"<svg xmlns="), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn a_cover_is_stored_at_both_widths_as_jpeg_on_white() {
        let derived = derive(&png(1200, 1800)).unwrap();
        for (size, bytes) in &derived.sizes {
            let image = image::load_from_memory_with_format(bytes, ImageFormat::Jpeg).unwrap();
            assert_eq!(image.width(), size.width());
            assert_eq!(image.height(), size.width() * 3 / 2);
            // Half-transparent red over white is pink, not dark red.
            let pixel = image.to_rgb8().get_pixel(10, 10).0;
            assert!(
                pixel[0] > 200 && pixel[1] > 120 && pixel[2] > 120,
                "{pixel:?}"
            );
        }
    }

    #[test]
    fn a_small_cover_is_not_enlarged() {
        let derived = derive(&png(100, 150)).unwrap();
        for (_, bytes) in &derived.sizes {
            let image = image::load_from_memory(bytes).unwrap();
            assert_eq!((image.width(), image.height()), (100, 150));
        }
    }

    #[test]
    fn a_broken_or_huge_image_is_refused() {
        let mut truncated = png(50, 50);
        truncated.truncate(40);
        assert!(matches!(
            derive(&truncated),
            Err(CoverError::Undecodable("PNG", _))
        ));
        assert_eq!(
            derive(&png(MAX_COVER_SIDE + 1, 1)).unwrap_err(),
            CoverError::TooLarge(MAX_COVER_SIDE + 1, 1)
        );
        assert_eq!(derive(b"%PDF-1.7").unwrap_err(), CoverError::NotAnImage);
    }
}
