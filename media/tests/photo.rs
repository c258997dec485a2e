//! Photo intake against real encoded files built in the test: EXIF orientation, metadata
//! stripping, sizes, formats and every rejection path.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};
use yizhan_media::{Limits, MediaError, PhotoFormat, ProcessedPhoto, process_photo};

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];
const GREEN: [u8; 3] = [0, 160, 0];

/// The GPS latitude seconds we plant (1234/100), to look for in the output.
const GPS_SECONDS_RATIONAL: [u8; 8] = [0xD2, 0x04, 0, 0, 0x64, 0, 0, 0];

/// Left half red, right half blue.
fn split_image(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, _| if x < width / 2 { Rgb(RED) } else { Rgb(BLUE) })
}

fn encode_jpeg(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 95).encode_image(image).unwrap();
    out
}

/// An APP1 segment with a little-endian TIFF block: IFD0 holds Orientation and a pointer to a
/// GPS IFD with GPSLatitudeRef "N" and GPSLatitude 30° 39' 12.34" (Chengdu).
fn exif_app1(orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II\x2A\x00");
    tiff.extend_from_slice(&8u32.to_le_bytes()); // IFD0 offset
    // IFD0 at 8: two entries.
    tiff.extend_from_slice(&2u16.to_le_bytes());
    // Orientation, SHORT, 1, value.
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]);
    // GPSInfo IFD pointer, LONG, 1, offset 38.
    tiff.extend_from_slice(&0x8825u16.to_le_bytes());
    tiff.extend_from_slice(&4u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&38u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no IFD1
    assert_eq!(tiff.len(), 38);
    // GPS IFD at 38: two entries.
    tiff.extend_from_slice(&2u16.to_le_bytes());
    // GPSLatitudeRef, ASCII, 2, "N\0".
    tiff.extend_from_slice(&0x0001u16.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&2u32.to_le_bytes());
    tiff.extend_from_slice(b"N\0\0\0");
    // GPSLatitude, RATIONAL, 3, offset 68.
    tiff.extend_from_slice(&0x0002u16.to_le_bytes());
    tiff.extend_from_slice(&5u16.to_le_bytes());
    tiff.extend_from_slice(&3u32.to_le_bytes());
    tiff.extend_from_slice(&68u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(tiff.len(), 68);
    for (num, den) in [(30u32, 1u32), (39, 1)] {
        tiff.extend_from_slice(&num.to_le_bytes());
        tiff.extend_from_slice(&den.to_le_bytes());
    }
    tiff.extend_from_slice(&GPS_SECONDS_RATIONAL);

    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    segment.extend_from_slice(&payload);
    segment
}

/// A JPEG with the EXIF segment right after SOI, where cameras put it.
fn jpeg_with_exif(image: &RgbImage, orientation: u16) -> Vec<u8> {
    let plain = encode_jpeg(image);
    assert_eq!(&plain[..2], &[0xFF, 0xD8]);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&exif_app1(orientation));
    out.extend_from_slice(&plain[2..]);
    out
}

/// Markers of the segments before the first SOS.
fn jpeg_header_markers(jpeg: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "not a JPEG");
    let mut markers = Vec::new();
    let mut pos = 2;
    loop {
        assert_eq!(jpeg[pos], 0xFF, "segment walk lost at {pos}");
        let marker = jpeg[pos + 1];
        markers.push(marker);
        if marker == 0xDA {
            return markers;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        pos += 2 + len;
    }
}

fn assert_no_metadata(jpeg: &[u8]) {
    let markers = jpeg_header_markers(jpeg);
    assert!(!markers.contains(&0xE1), "derived JPEG has an APP1 (EXIF/XMP) segment: {markers:x?}");
    assert!(!markers.contains(&0xE2), "derived JPEG has an APP2 (ICC) segment");
    assert!(!contains(jpeg, b"Exif\0\0"), "derived JPEG contains an Exif header");
    assert!(!contains(jpeg, &GPS_SECONDS_RATIONAL), "derived JPEG contains the planted GPS value");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn decode(jpeg: &[u8]) -> RgbImage {
    let image = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).unwrap();
    image.to_rgb8()
}

/// Colour at a fractional position, compared loosely (JPEG is lossy).
fn assert_colour_at(image: &RgbImage, fx: f32, fy: f32, expected: [u8; 3], what: &str) {
    let x = ((image.width() as f32 * fx) as u32).min(image.width() - 1);
    let y = ((image.height() as f32 * fy) as u32).min(image.height() - 1);
    let actual = image.get_pixel(x, y).0;
    let close = actual.iter().zip(expected).all(|(&a, e)| (i16::from(a) - i16::from(e)).abs() < 40);
    assert!(close, "{what}: pixel at ({x},{y}) is {actual:?}, expected about {expected:?}");
}

fn process(bytes: &[u8]) -> ProcessedPhoto {
    process_photo(bytes, &Limits::default()).unwrap()
}

fn check_dims(photo: &ProcessedPhoto, display: (u32, u32), thumb: (u32, u32)) {
    assert_eq!(decode(&photo.display_jpeg).dimensions(), display, "display size");
    assert_eq!(decode(&photo.thumb_jpeg).dimensions(), thumb, "thumb size");
}

#[test]
fn exif_orientation_6_rotates_clockwise_and_strips_gps() {
    let photo = process(&jpeg_with_exif(&split_image(400, 200), 6));
    assert_eq!(photo.format, PhotoFormat::Jpeg);
    assert_eq!((photo.width, photo.height), (200, 400));
    check_dims(&photo, (200, 400), (120, 240));
    // Rotating 90° clockwise moves the left (red) half to the top.
    for jpeg in [&photo.display_jpeg, &photo.thumb_jpeg] {
        let image = decode(jpeg);
        assert_colour_at(&image, 0.5, 0.2, RED, "top");
        assert_colour_at(&image, 0.5, 0.8, BLUE, "bottom");
        assert_no_metadata(jpeg);
    }
}

#[test]
fn exif_orientation_3_rotates_half_a_turn() {
    let photo = process(&jpeg_with_exif(&split_image(400, 200), 3));
    assert_eq!((photo.width, photo.height), (400, 200));
    check_dims(&photo, (400, 200), (240, 120));
    let image = decode(&photo.display_jpeg);
    assert_colour_at(&image, 0.2, 0.5, BLUE, "left");
    assert_colour_at(&image, 0.8, 0.5, RED, "right");
    assert_no_metadata(&photo.display_jpeg);
    assert_no_metadata(&photo.thumb_jpeg);
}

#[test]
fn exif_orientation_8_rotates_counter_clockwise() {
    let photo = process(&jpeg_with_exif(&split_image(400, 200), 8));
    assert_eq!((photo.width, photo.height), (200, 400));
    let image = decode(&photo.display_jpeg);
    assert_colour_at(&image, 0.5, 0.2, BLUE, "top");
    assert_colour_at(&image, 0.5, 0.8, RED, "bottom");
    assert_no_metadata(&photo.display_jpeg);
}

#[test]
fn exif_orientation_1_and_no_exif_keep_the_stored_layout() {
    for bytes in [jpeg_with_exif(&split_image(400, 200), 1), encode_jpeg(&split_image(400, 200))] {
        let photo = process(&bytes);
        assert_eq!((photo.width, photo.height), (400, 200));
        let image = decode(&photo.display_jpeg);
        assert_colour_at(&image, 0.2, 0.5, RED, "left");
        assert_colour_at(&image, 0.8, 0.5, BLUE, "right");
        assert_no_metadata(&photo.display_jpeg);
    }
}

#[test]
fn large_photo_is_scaled_to_1280_and_240() {
    let photo = process(&jpeg_with_exif(&split_image(3000, 1500), 6));
    assert_eq!((photo.width, photo.height), (1500, 3000));
    check_dims(&photo, (640, 1280), (120, 240));
    let image = decode(&photo.display_jpeg);
    assert_colour_at(&image, 0.5, 0.1, RED, "top");
    assert_colour_at(&image, 0.5, 0.9, BLUE, "bottom");
    // A display copy is meant to sync over a weak link.
    assert!(photo.display_jpeg.len() < 300_000, "{}", photo.display_jpeg.len());
}

#[test]
fn small_photo_is_not_upscaled() {
    let photo = process(&encode_jpeg(&split_image(100, 50)));
    assert_eq!((photo.width, photo.height), (100, 50));
    check_dims(&photo, (100, 50), (100, 50));
}

#[test]
fn png_with_alpha_is_flattened_onto_white() {
    // Left half fully transparent (its colour channels say black), right half opaque green.
    let rgba = RgbaImage::from_fn(64, 32, |x, _| {
        if x < 32 { Rgba([0, 0, 0, 0]) } else { Rgba([GREEN[0], GREEN[1], GREEN[2], 255]) }
    });
    let mut png = Vec::new();
    PngEncoder::new(&mut png).write_image(rgba.as_raw(), 64, 32, image::ExtendedColorType::Rgba8).unwrap();
    let photo = process(&png);
    assert_eq!(photo.format, PhotoFormat::Png);
    assert_eq!(photo.format.mime(), "image/png");
    assert_eq!((photo.width, photo.height), (64, 32));
    let image = decode(&photo.display_jpeg);
    assert_colour_at(&image, 0.2, 0.5, WHITE, "transparent half");
    assert_colour_at(&image, 0.8, 0.5, GREEN, "opaque half");
    assert_no_metadata(&photo.display_jpeg);
}

#[test]
fn lossless_webp_decodes() {
    let rgb = split_image(50, 40);
    let mut webp = Vec::new();
    WebPEncoder::new_lossless(&mut webp)
        .write_image(rgb.as_raw(), 50, 40, image::ExtendedColorType::Rgb8)
        .unwrap();
    let photo = process(&webp);
    assert_eq!(photo.format, PhotoFormat::Webp);
    assert_eq!(photo.format.mime(), "image/webp");
    assert_eq!((photo.width, photo.height), (50, 40));
    let image = decode(&photo.display_jpeg);
    assert_colour_at(&image, 0.2, 0.5, RED, "left");
    assert_colour_at(&image, 0.8, 0.5, BLUE, "right");
}

#[test]
fn format_comes_from_magic_bytes_not_names() {
    // A PNG is a PNG whatever it is called; process_photo never sees a name at all, and
    // reports the sniffed format.
    let mut png = Vec::new();
    split_image(8, 8).write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    assert_eq!(process(&png).format, PhotoFormat::Png);
    assert_eq!(PhotoFormat::Jpeg.mime(), "image/jpeg");
}

fn expect_error(bytes: &[u8], limits: &Limits) -> MediaError {
    let error = process_photo(bytes, limits).unwrap_err();
    let message = error.user_message_zh();
    assert!(!message.is_empty());
    // Chinese, not a leaked English error.
    assert!(message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{message}");
    error
}

#[test]
fn heic_is_recognised_with_instructions() {
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend_from_slice(&[0u8; 200]);
    let error = expect_error(&heic, &Limits::default());
    assert!(matches!(error, MediaError::PhotoHeic { ref brand } if brand == "heic"), "{error:?}");
    let message = error.user_message_zh();
    assert!(message.contains("HEIC"), "{message}");
    assert!(message.contains("兼容性最佳"), "{message}");
    assert!(message.contains("JPEG"), "{message}");
}

#[test]
fn garbage_is_an_unsupported_format() {
    // Deterministic pseudo-random bytes.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let error = expect_error(&garbage, &Limits::default());
    assert!(matches!(error, MediaError::PhotoUnsupportedFormat { .. }), "{error:?}");
    let error = expect_error(&[], &Limits::default());
    assert!(matches!(error, MediaError::PhotoUnsupportedFormat { .. }), "{error:?}");
    let error = expect_error(b"GIF89a\x01\0\x01\0", &Limits::default());
    assert!(
        matches!(error, MediaError::PhotoUnsupportedFormat { ref detected } if detected == "GIF"),
        "{error:?}"
    );
}

#[test]
fn garbage_behind_a_jpeg_signature_is_corrupt() {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend((0..2000u32).map(|i| (i * 7 % 251) as u8));
    let error = expect_error(&bytes, &Limits::default());
    assert!(matches!(error, MediaError::PhotoCorrupt { .. }), "{error:?}");
}

#[test]
fn truncated_files_are_corrupt() {
    let jpeg = jpeg_with_exif(&split_image(400, 200), 6);
    for cut in [jpeg.len() / 2, jpeg.len() - 2, 120, 3] {
        let error = expect_error(&jpeg[..cut], &Limits::default());
        assert!(matches!(error, MediaError::PhotoCorrupt { .. }), "cut at {cut}: {error:?}");
    }
    let mut png = Vec::new();
    split_image(64, 64).write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    let error = expect_error(&png[..png.len() / 2], &Limits::default());
    assert!(matches!(error, MediaError::PhotoCorrupt { .. }), "{error:?}");
}

#[test]
fn oversized_file_is_rejected_before_decoding() {
    let jpeg = encode_jpeg(&split_image(64, 64));
    let limits = Limits { photo_bytes_max: 100, ..Limits::default() };
    let error = expect_error(&jpeg, &limits);
    assert!(matches!(error, MediaError::PhotoTooLarge { limit_bytes: 100, .. }), "{error:?}");
    // Even bytes that are not an image at all: the size check comes first.
    let error = expect_error(&[0u8; 101], &limits);
    assert!(matches!(error, MediaError::PhotoTooLarge { .. }), "{error:?}");
    assert!(error.user_message_zh().contains("太大"));
}

/// Rewrites the SOF0 dimensions of a real JPEG: a valid header for a 60000 x 60000 image
/// (10.8 GB of RGB) whose pixel data is a few hundred bytes.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = encode_jpeg(&split_image(16, 16));
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A real PNG whose IHDR (with a correct CRC) claims `width` x `height`.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = Vec::new();
    split_image(16, 16).write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    assert_eq!(&png[12..16], b"IHDR");
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

#[test]
fn over_pixel_limit_is_rejected_from_the_header() {
    for (bytes, dims) in [
        (jpeg_claiming(60_000, 60_000), (60_000, 60_000)),
        (png_claiming(60_000, 60_000), (60_000, 60_000)),
        (png_claiming(100_000, 10), (100_000, 10)),
    ] {
        let error = expect_error(&bytes, &Limits::default());
        assert!(
            matches!(error, MediaError::PhotoTooManyPixels { width, height, .. } if (width, height) == dims),
            "{error:?}"
        );
        assert!(error.user_message_zh().contains("万像素"));
    }
    // The configured limit, not a built-in one, decides.
    let limits = Limits { photo_pixels_max: 1000, ..Limits::default() };
    let error = expect_error(&encode_jpeg(&split_image(40, 40)), &limits);
    assert!(
        matches!(error, MediaError::PhotoTooManyPixels { width: 40, height: 40, limit_pixels: 1000 }),
        "{error:?}"
    );
}

#[test]
fn malformed_exif_does_not_lose_the_photo() {
    // An APP1 "Exif" segment whose TIFF header is nonsense.
    let plain = encode_jpeg(&split_image(40, 20));
    let mut bytes = plain[..2].to_vec();
    bytes.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x0C]);
    bytes.extend_from_slice(b"Exif\0\0XXXX");
    bytes.extend_from_slice(&plain[2..]);
    let photo = process(&bytes);
    assert_eq!((photo.width, photo.height), (40, 20));
    assert_no_metadata(&photo.display_jpeg);
}

/// Deterministic xorshift, so a failing case can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Cut and corrupted versions of valid files must give a result or an error, never a panic.
/// `process_photo` turns a decoder panic into `PhotoCorrupt { detail: "the decoder panicked" }`,
/// so that detail is what this test looks for.
#[test]
fn damaged_photos_never_panic() {
    let jpeg = jpeg_with_exif(&split_image(96, 64), 6);
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(
            RgbaImage::from_pixel(48, 32, Rgba([10, 200, 30, 128])).as_raw(),
            48,
            32,
            image::ExtendedColorType::Rgba8,
        )
        .unwrap();
    let mut webp = Vec::new();
    WebPEncoder::new_lossless(&mut webp)
        .write_image(split_image(48, 32).as_raw(), 48, 32, image::ExtendedColorType::Rgb8)
        .unwrap();

    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for original in [&jpeg, &png, &webp] {
        let mut cases: Vec<Vec<u8>> =
            (0..original.len()).step_by(13).map(|cut| original[..cut].to_vec()).collect();
        for _ in 0..300 {
            let mut damaged = original.clone();
            for _ in 0..=(rng.next() % 4) {
                let at = (rng.next() % damaged.len() as u64) as usize;
                damaged[at] = rng.next() as u8;
            }
            cases.push(damaged);
        }
        for (i, case) in cases.iter().enumerate() {
            if let Err(MediaError::PhotoCorrupt { detail }) = process_photo(case, &Limits::default()) {
                assert_ne!(detail, "the decoder panicked", "case {i} panicked");
            }
        }
    }
}

/// A JPEG segment `marker` with `payload`.
fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    s.extend_from_slice(payload);
    s
}

#[test]
fn the_original_is_kept_without_gps_xmp_or_comments_losslessly_and_upright() {
    let plain = encode_jpeg(&split_image(400, 200));
    let mut input = plain[..2].to_vec();
    input.extend_from_slice(&exif_app1(6));
    input.extend_from_slice(&segment(
        0xE1,
        b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>GPS-XMP-MARK</x:xmpmeta>",
    ));
    input.extend_from_slice(&segment(0xED, b"Photoshop 3.0\0IPTC-MARK"));
    input.extend_from_slice(&segment(0xFE, b"COMMENT-MARK"));
    input.extend_from_slice(&plain[2..]);
    input.extend_from_slice(b"TRAILER-MARK"); // bytes after the end-of-image marker
    let photo = process(&input);
    let original = &photo.original;
    for mark in [&GPS_SECONDS_RATIONAL[..], b"GPS-XMP-MARK", b"IPTC-MARK", b"COMMENT-MARK", b"TRAILER-MARK"] {
        assert!(contains(&input, mark));
        assert!(!contains(original, mark), "the original still holds {:?}", String::from_utf8_lossy(mark));
    }
    let markers = jpeg_header_markers(original);
    assert!(!markers.contains(&0xED) && !markers.contains(&0xFE), "{markers:x?}");
    assert_eq!(markers.iter().filter(|m| **m == 0xE1).count(), 1, "one APP1: the orientation alone");
    assert!(!contains(original, &0x8825u16.to_le_bytes()), "no GPS IFD pointer");
    // The same pixels, not re-encoded: every coding segment and the scan are copied.
    assert_eq!(decode(original), decode(&input));
    assert!(contains(original, &plain[plain.len() - 1000..]), "scan data copied byte for byte");
    // Still shown upright: the orientation survives.
    let again = process(original);
    assert_eq!((again.width, again.height), (200, 400));
    assert_eq!(again.original, *original, "stripping is idempotent");
    // A photo without metadata is kept exactly as it was.
    assert_eq!(process(&plain).original, plain);
}

#[test]
fn png_text_and_exif_chunks_are_dropped() {
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(split_image(8, 4).as_raw(), 8, 4, image::ExtendedColorType::Rgb8)
        .unwrap();
    // tEXt after IHDR (8-byte signature + 25-byte IHDR chunk), with a correct CRC.
    let data = b"Comment\0PNG-TEXT-MARK";
    let mut chunk = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    chunk.extend_from_slice(b"tEXt");
    chunk.extend_from_slice(data);
    let mut crc = 0xFFFF_FFFFu32;
    for &b in b"tEXt".iter().chain(data.iter()) {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    chunk.extend_from_slice(&(!crc).to_be_bytes());
    let mut input = png[..33].to_vec();
    input.extend_from_slice(&chunk);
    input.extend_from_slice(&png[33..]);
    let photo = process(&input);
    assert!(contains(&input, b"PNG-TEXT-MARK") && !contains(&photo.original, b"PNG-TEXT-MARK"));
    assert_eq!(photo.original, png);
}

#[test]
fn stripping_damaged_photos_never_panics() {
    let mut jpeg = encode_jpeg(&split_image(64, 48));
    jpeg.splice(2..2, exif_app1(6));
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(split_image(16, 8).as_raw(), 16, 8, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut webp = Vec::new();
    WebPEncoder::new_lossless(&mut webp)
        .write_image(split_image(16, 8).as_raw(), 16, 8, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (bytes, format) in [(jpeg, PhotoFormat::Jpeg), (png, PhotoFormat::Png), (webp, PhotoFormat::Webp)] {
        assert!(yizhan_media::strip_metadata(&bytes, format, 6).is_ok(), "{format:?}");
        for n in 0..bytes.len() {
            let _ = yizhan_media::strip_metadata(&bytes[..n], format, 6);
        }
        for _ in 0..2000 {
            let mut damaged = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % damaged.len() as u64) as usize;
                damaged[at] = next() as u8;
            }
            let _ = yizhan_media::strip_metadata(&damaged, format, (next() % 10) as u8);
        }
    }
}

/// Issue 13: no derived copy is larger than what it derives from. A photo already within the
/// display bounds (the 640x480 that messaging apps send) is its own display copy, stored and
/// sent once; a large one gets a re-encoded copy only when that is smaller.
#[test]
fn a_display_copy_is_never_larger_than_its_original() {
    let textured = |w: u32, h: u32| {
        RgbImage::from_fn(w, h, |x, y| {
            let n = (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)) % 97;
            image::Rgb([(x % 256) as u8 / 2 + n as u8, (y % 256) as u8 / 2, ((x + y) % 200) as u8])
        })
    };
    let encode = |img: &RgbImage, q: u8| {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q).encode_image(img).unwrap();
        out
    };
    for (what, bytes, within_bounds) in [
        ("640x480 at quality 80", encode(&textured(640, 480), 80), true),
        ("1280x960 at quality 60", encode(&textured(1280, 960), 60), true),
        ("3000x2000 at quality 95", encode(&textured(3000, 2000), 95), false),
        ("3000x2000 at quality 30", encode(&textured(3000, 2000), 30), false),
    ] {
        let photo = process(&bytes);
        let display: &[u8] = if photo.display_is_original { &photo.original } else { &photo.display_jpeg };
        let thumb: &[u8] = if photo.thumb_is_original { &photo.original } else { &photo.thumb_jpeg };
        assert!(
            display.len() <= photo.original.len(),
            "{what}: display {} > original {}",
            display.len(),
            photo.original.len()
        );
        assert!(
            thumb.len() <= photo.original.len(),
            "{what}: thumb {} > original {}",
            thumb.len(),
            photo.original.len()
        );
        assert!(thumb.len() <= display.len(), "{what}: thumb larger than display");
        if within_bounds {
            assert!(photo.display_is_original, "{what}: within the display bounds, the original is shown");
        } else if !photo.display_is_original {
            assert!(photo.display_jpeg.len() < photo.original.len(), "{what}");
        }
    }
}
