//! Perceptual photo hashes (64-bit DCT pHash): a re-encoded or resized copy of a photo hashes
//! within a few bits of the original, an unrelated photo ~30 bits away.
//!
//! Cropping moves a pHash faster (3% off each side: up to ~14 bits), so each photo is hashed
//! as a set: the whole frame and central crops of 3, 6 and 9% a side ([`photo_hashes`]). A copy
//! cropped by up to ~10% is then within 1.5% of one of them, and two photos match when any
//! pair of their hashes is within [`PHOTO_DISTANCE_MAX`] bits.

use std::io::Cursor;

use image::{DynamicImage, ImageReader, Limits, imageops::FilterType};

/// Photos larger than this are refused before decoding (a 50-megapixel camera is 8,700 px wide).
pub const PHOTO_SIDE_PX_MAX: u32 = 12_000;
/// Memory the decoder may allocate for one photo.
pub const PHOTO_DECODE_BYTES_MAX: u64 = 512 * 1024 * 1024;
/// Two photos are "the same picture" when their hashes differ in at most this many of 64 bits.
/// Measured on synthetic photos (`tests/photos.rs`, `distance_statistics`): re-encoding and
/// resizing move a hash by 0-4 bits; crops of 2-8% a side are within 4 bits of the nearest
/// hashed crop; unrelated photos' hash sets are >= 10 bits apart (median 26). 7 sits between.
pub const PHOTO_DISTANCE_MAX: u32 = 7;
/// Central crops (fraction cut from each side) hashed for every photo.
pub const CROP_FRACTIONS: [f32; 4] = [0.0, 0.03, 0.06, 0.09];

/// Side of the grey image the DCT runs on; the hash keeps the 8x8 lowest frequencies.
const SIDE: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("cannot decode the photo: {0}")]
    Decode(#[from] image::ImageError),
    #[error("cannot read the photo: {0}")]
    Io(#[from] std::io::Error),
}

/// Hash of an encoded photo (JPEG, PNG or WebP), whole frame.
pub fn photo_hash(bytes: &[u8]) -> Result<u64, PhotoError> {
    Ok(image_hash(&decode(bytes)?))
}

/// The hash set of an encoded photo: whole frame, then the central crops of
/// [`CROP_FRACTIONS`]. Store all of them in [`crate::KnowledgeCase::photo_hashes`] and pass
/// them in [`crate::SearchQuery::photo_hashes`].
pub fn photo_hashes(bytes: &[u8]) -> Result<Vec<u64>, PhotoError> {
    Ok(image_hashes(&decode(bytes)?))
}

/// [`photo_hashes`] of a decoded image.
pub fn image_hashes(img: &DynamicImage) -> Vec<u64> {
    let (w, h) = (img.width(), img.height());
    CROP_FRACTIONS
        .iter()
        .map(|f| {
            let (dx, dy) = ((w as f32 * f) as u32, (h as f32 * f) as u32);
            if *f == 0.0 || w <= 2 * dx + 8 || h <= 2 * dy + 8 {
                image_hash(img)
            } else {
                image_hash(&img.crop_imm(dx, dy, w - 2 * dx, h - 2 * dy))
            }
        })
        .collect()
}

fn decode(bytes: &[u8]) -> Result<DynamicImage, PhotoError> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(PHOTO_SIDE_PX_MAX);
    limits.max_image_height = Some(PHOTO_SIDE_PX_MAX);
    limits.max_alloc = Some(PHOTO_DECODE_BYTES_MAX);
    reader.limits(limits);
    Ok(reader.decode()?)
}

/// Hash of a decoded image.
pub fn image_hash(img: &DynamicImage) -> u64 {
    // Shrink in two steps: a cheap box thumbnail first keeps large photos fast, then a
    // triangle filter to 32x32 so the result does not depend on the original size.
    let grey = img.to_luma8();
    let small = if grey.width() > 4 * SIDE as u32 || grey.height() > 4 * SIDE as u32 {
        image::imageops::thumbnail(&grey, 4 * SIDE as u32, 4 * SIDE as u32)
    } else {
        grey
    };
    let tiny = image::imageops::resize(&small, SIDE as u32, SIDE as u32, FilterType::Triangle);
    let mut px = [[0f32; SIDE]; SIDE];
    for (x, y, p) in tiny.enumerate_pixels() {
        px[y as usize][x as usize] = f32::from(p.0[0]);
    }
    let coeffs = dct_low_8x8(&px);
    // Median of the 63 AC coefficients: each bit says "above the median".
    let mut ac: Vec<f32> = coeffs.iter().skip(1).copied().collect();
    ac.sort_by(f32::total_cmp);
    let median = (ac[31] + ac[32]) / 2.0;
    let mut hash = 0u64;
    for (i, c) in coeffs.iter().enumerate().skip(1) {
        if *c > median {
            hash |= 1 << i;
        }
    }
    hash
}

/// The 8x8 lowest-frequency coefficients of the 2-D DCT-II of a 32x32 block, row-major.
fn dct_low_8x8(px: &[[f32; SIDE]; SIDE]) -> [f32; 64] {
    let mut cos = [[0f32; SIDE]; 8];
    for (u, row) in cos.iter_mut().enumerate() {
        for (x, c) in row.iter_mut().enumerate() {
            *c = (std::f32::consts::PI * (2 * x + 1) as f32 * u as f32 / (2 * SIDE) as f32).cos();
        }
    }
    // Rows first (32 rows x 8 frequencies), then columns.
    let mut rows = [[0f32; 8]; SIDE];
    for (y, line) in px.iter().enumerate() {
        for u in 0..8 {
            rows[y][u] = line.iter().zip(cos[u].iter()).map(|(p, c)| p * c).sum();
        }
    }
    let mut out = [0f32; 64];
    for v in 0..8 {
        for u in 0..8 {
            out[v * 8 + u] = (0..SIDE).map(|y| rows[y][u] * cos[v][y]).sum();
        }
    }
    out
}

/// Number of differing bits.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}
