//! Photo intake: sniff, check limits, decode, orient, derive clean JPEGs.

use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, RgbImage};

use crate::{
    DERIVED_JPEG_QUALITY, DISPLAY_LONG_SIDE_PX, Limits, MediaError, PHOTO_SIDE_PX_MAX, THUMB_JPEG_QUALITY,
    THUMB_LONG_SIDE_PX,
};

/// Bytes per pixel of the widest decoded layout (RGBA, 16 bits per channel). Used to size
/// `image::Limits::max_alloc` so that image's own allocation guard only trips after our pixel
/// check has already passed, i.e. only on something genuinely odd.
const DECODE_BYTES_PER_PIXEL_MAX: u64 = 8;

/// Allocation slack on top of the pixel buffer for decoder-internal tables (Huffman tables,
/// PNG zlib window, ICC profiles).
const DECODE_ALLOC_SLACK_BYTES: u64 = 64 * 1024 * 1024;

/// How far into an ISO-BMFF `ftyp` box we look for brands. Real boxes are 20-40 bytes.
const FTYP_SCAN_BYTES_MAX: usize = 256;

/// ISO-BMFF brands that mean "HEIF image" (HEIC is HEIF with HEVC inside).
const HEIF_BRANDS: [&[u8; 4]; 7] = [b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"];

/// The photo formats we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhotoFormat {
    Jpeg,
    Png,
    Webp,
}

impl PhotoFormat {
    /// MIME type of the original, for serving it back with the right `Content-Type`.
    pub fn mime(&self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Png => "image/png",
            PhotoFormat::Webp => "image/webp",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            PhotoFormat::Jpeg => ImageFormat::Jpeg,
            PhotoFormat::Png => ImageFormat::Png,
            PhotoFormat::Webp => ImageFormat::WebP,
        }
    }
}

/// A checked photo and its two derived copies.
#[derive(Debug, Clone)]
pub struct ProcessedPhoto {
    /// Format of the original bytes.
    pub format: PhotoFormat,
    /// Width of the original once its EXIF orientation is applied (what a viewer shows).
    pub width: u32,
    /// Height of the original once its EXIF orientation is applied.
    pub height: u32,
    /// Oriented JPEG, longest side <= [`DISPLAY_LONG_SIDE_PX`] (never upscaled), no metadata.
    pub display_jpeg: Vec<u8>,
    /// Oriented JPEG, longest side <= [`THUMB_LONG_SIDE_PX`] (never upscaled), no metadata.
    pub thumb_jpeg: Vec<u8>,
    /// The original (as stored, without metadata) serves as the display copy: it is already
    /// within the display bounds, or the re-encoded copy would not be smaller. No derived copy
    /// is ever larger than what it derives from, and a small photo crosses a rural link once.
    pub display_is_original: bool,
    /// Likewise for the thumbnail: a tiny original is its own thumbnail.
    pub thumb_is_original: bool,
    /// The original's bytes without their metadata (EXIF with GPS, XMP, comments, text chunks;
    /// see [`crate::strip_metadata`]): the coded image is copied losslessly, and an orientation
    /// other than "as stored" is kept in a minimal EXIF block. This is what is stored.
    pub original: Vec<u8>,
}

/// What the magic bytes say.
#[derive(Debug, PartialEq, Eq)]
enum Sniffed {
    Photo(PhotoFormat),
    Heif { brand: String },
    Other(String),
}

/// Checks a photo and derives the display and thumbnail JPEGs.
///
/// Order of checks, cheapest first: byte size, magic bytes, header dimensions, then decoding.
/// The derived JPEGs are re-encoded from pixels, so they carry no EXIF, XMP, ICC or comments:
/// the GPS position a phone embeds in the original is not in them.
pub fn process_photo(bytes: &[u8], limits: &Limits) -> Result<ProcessedPhoto, MediaError> {
    let size_bytes = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size_bytes > limits.photo_bytes_max {
        return Err(MediaError::PhotoTooLarge { size_bytes, limit_bytes: limits.photo_bytes_max });
    }
    let format = match sniff(bytes) {
        Sniffed::Photo(format) => format,
        Sniffed::Heif { brand } => return Err(MediaError::PhotoHeic { brand }),
        Sniffed::Other(detected) => return Err(MediaError::PhotoUnsupportedFormat { detected }),
    };
    // The decoders are third-party parsers of hostile input. They are meant not to panic, but
    // if one does, the officer should see "corrupt photo", not lose the kiosk's worker thread.
    // Nothing is shared across this boundary except the input slice, so unwinding is harmless.
    match panic::catch_unwind(AssertUnwindSafe(|| derive(bytes, format, limits))) {
        Ok(result) => result,
        Err(_) => {
            tracing::error!(?format, size_bytes, "image decoder panicked on a photo");
            Err(MediaError::PhotoCorrupt { detail: "the decoder panicked".to_owned() })
        }
    }
}

fn derive(bytes: &[u8], format: PhotoFormat, limits: &Limits) -> Result<ProcessedPhoto, MediaError> {
    if format == PhotoFormat::Jpeg && !jpeg_has_end_of_image(bytes) {
        // zune-jpeg (non-strict) fills a cut-off scan with grey and reports success. A photo cut
        // off during a Bluetooth/USB transfer must be rejected so the officer re-sends it,
        // instead of being kept with its lower half missing.
        return Err(MediaError::PhotoCorrupt {
            detail: "JPEG has no end-of-image marker after its scan (truncated)".to_owned(),
        });
    }

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    // Only the allocation cap goes to image: its width/height limits would fire inside
    // `into_decoder` with an error that does not say the size, whereas our own check right
    // after reading the header reports it to the officer.
    let mut decode_limits = image::Limits::default();
    decode_limits.max_alloc = Some(
        limits
            .photo_pixels_max
            .saturating_mul(DECODE_BYTES_PER_PIXEL_MAX)
            .saturating_add(DECODE_ALLOC_SLACK_BYTES),
    );
    reader.limits(decode_limits);

    // Reading the header only; no pixel buffer exists yet.
    let mut decoder = reader.into_decoder().map_err(|e| decode_error(e, None, limits))?;
    let (stored_width, stored_height) = decoder.dimensions();
    check_pixels(stored_width, stored_height, limits)?;

    // A malformed EXIF block should not cost the officer the photo: fall back to "as stored".
    let orientation = decoder.orientation().unwrap_or_else(|e| {
        tracing::debug!(error = %e, "unreadable EXIF orientation; using the stored orientation");
        Orientation::NoTransforms
    });
    let (width, height) = oriented_size(stored_width, stored_height, orientation);

    let decoded = DynamicImage::from_decoder(decoder)
        .map_err(|e| decode_error(e, Some((stored_width, stored_height)), limits))?;
    if decoded.width() != stored_width || decoded.height() != stored_height {
        return Err(MediaError::PhotoCorrupt {
            detail: format!(
                "decoded size {}x{} differs from header size {stored_width}x{stored_height}",
                decoded.width(),
                decoded.height()
            ),
        });
    }

    let rgb = flatten_onto_white(decoded);
    // Resize before rotating: the long side is the same in both orientations, and rotating the
    // small copy instead of a 50 MP original saves a full-size allocation.
    let display = fit_within(rgb, DISPLAY_LONG_SIDE_PX, FilterType::CatmullRom);
    let mut display = DynamicImage::ImageRgb8(display);
    display.apply_orientation(orientation);
    let display = display.into_rgb8();
    // Triangle (bilinear with a support widened to the reduction) averages all source pixels, so
    // the thumbnail does not alias.
    let thumb = fit_within(display.clone(), THUMB_LONG_SIDE_PX, FilterType::Triangle);

    let original = crate::strip::strip_metadata(bytes, format, orientation.to_exif())?;
    let (display_jpeg, thumb_jpeg) =
        (encode_jpeg(&display, DERIVED_JPEG_QUALITY)?, encode_jpeg(&thumb, THUMB_JPEG_QUALITY)?);
    let within_display = width <= DISPLAY_LONG_SIDE_PX && height <= DISPLAY_LONG_SIDE_PX;
    let display_is_original = within_display || display_jpeg.len() >= original.len();
    let thumb_is_original = thumb_jpeg.len() >= original.len();
    Ok(ProcessedPhoto {
        original,
        format,
        width,
        height,
        display_jpeg,
        thumb_jpeg,
        display_is_original,
        thumb_is_original,
    })
}

fn check_pixels(width: u32, height: u32, limits: &Limits) -> Result<(), MediaError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.photo_pixels_max || width > PHOTO_SIDE_PX_MAX || height > PHOTO_SIDE_PX_MAX {
        return Err(MediaError::PhotoTooManyPixels { width, height, limit_pixels: limits.photo_pixels_max });
    }
    if width == 0 || height == 0 {
        return Err(MediaError::PhotoCorrupt {
            detail: format!("header declares an empty image ({width}x{height})"),
        });
    }
    Ok(())
}

fn decode_error(error: ImageError, size: Option<(u32, u32)>, limits: &Limits) -> MediaError {
    match (error, size) {
        // image's own guard tripped: the image is too big in a way our header check did not see
        // (for example 16-bit RGBA near the pixel limit). Report it as too big, not as corrupt.
        (ImageError::Limits(_), Some((width, height))) => {
            MediaError::PhotoTooManyPixels { width, height, limit_pixels: limits.photo_pixels_max }
        }
        (error, _) => MediaError::PhotoCorrupt { detail: error.to_string() },
    }
}

/// Size after applying an EXIF orientation: the four transposing orientations swap the sides.
fn oriented_size(width: u32, height: u32, orientation: Orientation) -> (u32, u32) {
    match orientation {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (height, width),
        Orientation::NoTransforms
        | Orientation::Rotate180
        | Orientation::FlipHorizontal
        | Orientation::FlipVertical => (width, height),
    }
}

/// JPEG has no alpha. Transparent areas (screenshots, PNG diagrams) would otherwise turn black;
/// white matches the paper-like background of the kiosk UI.
fn flatten_onto_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        // A no-copy move for the common Rgb8 case; converts 16-bit and grey images to RGB8.
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (width, height) = rgba.dimensions();
    let mut rgb = RgbImage::new(width, height);
    for (out, px) in rgb.pixels_mut().zip(rgba.pixels()) {
        let [r, g, b, a] = px.0;
        let alpha = u32::from(a);
        // out = c * a + 255 * (1 - a), in 0..=255 integer arithmetic with rounding.
        let blend = |c: u8| -> u8 {
            let value = (u32::from(c) * alpha + 255 * (255 - alpha) + 127) / 255;
            u8::try_from(value).unwrap_or(u8::MAX)
        };
        out.0 = [blend(r), blend(g), blend(b)];
    }
    rgb
}

/// Scales down so the longest side is at most `long_side_px`; never scales up.
fn fit_within(image: RgbImage, long_side_px: u32, filter: FilterType) -> RgbImage {
    let (width, height) = image.dimensions();
    let long = width.max(height);
    if long <= long_side_px {
        return image;
    }
    let (new_width, new_height) = scaled_size(width, height, long_side_px);
    image::imageops::resize(&image, new_width, new_height, filter)
}

/// `(width, height)` scaled so the longest side is `long_side_px`, rounding to the nearest pixel
/// and never below 1 (a 1 x 60 000 strip must not become 0 wide).
pub(crate) fn scaled_size(width: u32, height: u32, long_side_px: u32) -> (u32, u32) {
    let long = u64::from(width.max(height).max(1));
    let scale = |side: u32| -> u32 {
        let scaled = (u64::from(side) * u64::from(long_side_px) + long / 2) / long;
        u32::try_from(scaled).unwrap_or(long_side_px).clamp(1, long_side_px)
    };
    (scale(width), scale(height))
}

fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    // JpegEncoder writes only SOI, a JFIF APP0 and the image: no EXIF, XMP or ICC unless asked.
    let encoder = JpegEncoder::new_with_quality(&mut out, quality);
    image.write_with_encoder(encoder).map_err(MediaError::PhotoEncode)?;
    Ok(out)
}

fn sniff(bytes: &[u8]) -> Sniffed {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed::Photo(PhotoFormat::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Sniffed::Photo(PhotoFormat::Png);
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return Sniffed::Photo(PhotoFormat::Webp);
    }
    if bytes.get(4..8) == Some(b"ftyp") {
        return sniff_iso_bmff(bytes);
    }
    let detected = if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        "GIF"
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        // Also camera RAW (DNG, CR2, NEF), which are TIFF containers.
        "TIFF/RAW"
    } else if bytes.starts_with(b"BM") {
        "BMP"
    } else if bytes.starts_with(b"%PDF") {
        "PDF"
    } else if bytes.starts_with(&[0x00, 0x00, 0x00, 0x0C, b'j', b'P', b' ', b' ']) {
        "JPEG 2000"
    } else if bytes.starts_with(&[0xFF, 0x0A]) || bytes.get(4..12) == Some(b"JXL \r\n\x87\n") {
        "JPEG XL"
    } else {
        "unknown"
    };
    Sniffed::Other(detected.to_owned())
}

/// ISO-BMFF (`....ftyp`): HEIC/HEIF photos, AVIF photos, and MP4/MOV videos all start this way.
fn sniff_iso_bmff(bytes: &[u8]) -> Sniffed {
    let declared = bytes.get(0..4).and_then(|b| <[u8; 4]>::try_from(b).ok()).map_or(0, u32::from_be_bytes);
    // Size 0 means "to end of file", size 1 means a 64-bit size follows; neither happens for a
    // real ftyp box, so scan a bounded prefix instead of trusting the field.
    let box_end = match usize::try_from(declared) {
        Ok(size) if size >= 16 => size,
        _ => FTYP_SCAN_BYTES_MAX,
    }
    .min(FTYP_SCAN_BYTES_MAX)
    .min(bytes.len());
    let major = bytes.get(8..12).unwrap_or_default();
    let compatible = bytes.get(16..box_end).unwrap_or_default().chunks_exact(4);
    let brand_text = |b: &[u8]| -> String {
        b.iter()
            .map(|&c| if c.is_ascii_graphic() || c == b' ' { char::from(c) } else { '?' })
            .collect::<String>()
            .trim_end()
            .to_owned()
    };
    if major == b"avif" || major == b"avis" {
        // AVIF also lists `mif1`; it is a different codec and gets its own name.
        return Sniffed::Other("AVIF".to_owned());
    }
    let is_heif = std::iter::once(major)
        .chain(compatible)
        .any(|brand| HEIF_BRANDS.iter().any(|h| h.as_slice() == brand));
    if is_heif {
        return Sniffed::Heif { brand: brand_text(major) };
    }
    Sniffed::Other(format!("MP4/MOV ({})", brand_text(major)))
}

/// True if a JPEG has an EOI marker (FF D9) after its first SOS segment.
///
/// Inside entropy-coded data every FF byte is followed by 00 or a restart marker (D0-D7), so an
/// FF D9 there is the real end of the scan. Data after EOI (some phones append extra images) is
/// allowed. Segments before SOS are walked by their lengths, so an embedded EXIF thumbnail's
/// own EOI does not count.
fn jpeg_has_end_of_image(bytes: &[u8]) -> bool {
    let scan_start = jpeg_first_scan_data(bytes).or_else(|| {
        // The segment walk failed (padding between segments, which lenient decoders accept).
        // Fall back to the first SOS byte pattern rather than rejecting a photo image can read.
        bytes.windows(2).position(|w| w == [0xFF, 0xDA]).map(|p| p + 2)
    });
    scan_start
        .and_then(|start| bytes.get(start..))
        .is_some_and(|rest| rest.windows(2).any(|w| w == [0xFF, 0xD9]))
}

/// Offset just past the first SOS segment header, found by walking the marker segments.
fn jpeg_first_scan_data(bytes: &[u8]) -> Option<usize> {
    let mut pos = 2; // after SOI
    loop {
        // Markers may be preceded by any number of FF fill bytes.
        while bytes.get(pos) == Some(&0xFF) && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(pos), bytes.get(pos + 1)) else {
            return None;
        };
        pos += 2;
        if matches!(marker, 0x01 | 0xD0..=0xD7) {
            continue; // stand-alone markers without a length
        }
        if marker == 0xD9 {
            return None; // EOI before any scan
        }
        let length = bytes.get(pos..pos + 2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))?;
        if length < 2 {
            return None;
        }
        pos += length;
        if marker == 0xDA {
            return Some(pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_magic_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0"), Sniffed::Photo(PhotoFormat::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0"), Sniffed::Photo(PhotoFormat::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8L"), Sniffed::Photo(PhotoFormat::Webp));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), Sniffed::Other("unknown".into()));
        assert_eq!(sniff(b"GIF89a...."), Sniffed::Other("GIF".into()));
        assert_eq!(sniff(b""), Sniffed::Other("unknown".into()));
    }

    #[test]
    fn sniffs_heif_brands_major_and_compatible() {
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        assert_eq!(sniff(heic), Sniffed::Heif { brand: "heic".into() });
        // Some Android phones write major brand `mif1` with `heic` compatible.
        let mif1 = b"\0\0\0\x1cftypmif1\0\0\0\0mif1heicmiaf";
        assert_eq!(sniff(mif1), Sniffed::Heif { brand: "mif1".into() });
        let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf";
        assert_eq!(sniff(avif), Sniffed::Other("AVIF".into()));
        let mp4 = b"\0\0\0\x1cftypisom\0\0\x02\0isomiso2avc1";
        assert_eq!(sniff(mp4), Sniffed::Other("MP4/MOV (isom)".into()));
        // A lying box size must not make us read out of bounds.
        let liar = b"\xff\xff\xff\xffftypmp42\0\0";
        assert_eq!(sniff(liar), Sniffed::Other("MP4/MOV (mp42)".into()));
    }

    #[test]
    fn scaled_size_keeps_aspect_and_never_hits_zero() {
        assert_eq!(scaled_size(4000, 3000, 1280), (1280, 960));
        assert_eq!(scaled_size(3000, 4000, 320), (240, 320));
        assert_eq!(scaled_size(60_000, 1, 1280), (1280, 1));
    }

    #[test]
    fn jpeg_end_marker_walk() {
        // SOI, APP0(len 4 with 2 bytes), SOS(len 2), data with a stuffed FF00, EOI.
        let ok = [0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0xFF, 0xDA, 0, 2, 9, 0xFF, 0, 9, 0xFF, 0xD9];
        assert!(jpeg_has_end_of_image(&ok));
        assert!(!jpeg_has_end_of_image(&ok[..ok.len() - 1]));
        // An FF D9 inside APP data (an EXIF thumbnail) does not count.
        let thumb_only = [0xFF, 0xD8, 0xFF, 0xE1, 0, 4, 0xFF, 0xD9, 0xFF, 0xDA, 0, 2, 9, 9];
        assert!(!jpeg_has_end_of_image(&thumb_only));
        assert!(!jpeg_has_end_of_image(&[0xFF, 0xD8]));
        assert!(!jpeg_has_end_of_image(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]));
    }
}
