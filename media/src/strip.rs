//! Lossless metadata removal from photo originals: the coded image is copied byte for byte,
//! and only the containers' metadata (EXIF with its GPS position, XMP, IPTC, comments, text
//! chunks) is left out. Nothing is decoded or re-encoded, so the pixels are exactly those of the
//! photo as taken.
//!
//! The EXIF orientation is the one piece of metadata a viewer needs to show the photo upright;
//! when it is not "as stored" (1), a minimal EXIF block holding only the Orientation tag is
//! written in place of the original one.
//!
//! Every read is bounds-checked: malformed input is an error, never a panic.

use crate::MediaError;
use crate::photo::PhotoFormat;

fn corrupt(detail: &str) -> MediaError {
    MediaError::PhotoCorrupt { detail: format!("cannot strip metadata: {detail}") }
}

/// A little-endian TIFF structure with one IFD entry, Orientation (0x0112) = `orientation`.
fn orientation_tiff(orientation: u8) -> Vec<u8> {
    let mut tiff = vec![b'I', b'I', 42, 0, 8, 0, 0, 0, 1, 0];
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes()); // one value
    tiff.extend_from_slice(&u32::from(orientation).to_le_bytes()); // the value, left-justified
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    tiff
}

/// Returns the photo without its metadata. `orientation` is the EXIF orientation (1 to 8) the
/// decoder read from it; any other value counts as 1.
pub fn strip_metadata(bytes: &[u8], format: PhotoFormat, orientation: u8) -> Result<Vec<u8>, MediaError> {
    let orientation = if (2..=8).contains(&orientation) { Some(orientation) } else { None };
    match format {
        PhotoFormat::Jpeg => strip_jpeg(bytes, orientation),
        PhotoFormat::Png => strip_png(bytes, orientation),
        PhotoFormat::Webp => strip_webp(bytes),
    }
}

fn be16(bytes: &[u8], at: usize) -> Option<usize> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_be_bytes([b[0], b[1]])))
}

/// Whether an APPn/COM segment is kept: JFIF (APP0), the ICC colour profile (APP2) and Adobe's
/// colour-transform flag (APP14, needed to decode CMYK/YCCK) affect how the pixels look; every
/// other application segment and every comment is metadata.
fn keep_jpeg_segment(marker: u8, payload: &[u8]) -> bool {
    match marker {
        0xE0 => payload.starts_with(b"JFIF\0"),
        0xE2 => payload.starts_with(b"ICC_PROFILE\0"),
        0xEE => payload.starts_with(b"Adobe"),
        0xE1 | 0xE3..=0xED | 0xEF | 0xFE => false,
        _ => true,
    }
}

/// Copies a JPEG's segments, leaving out metadata segments and anything after the end-of-image
/// marker (where some phones append further images with their own EXIF).
fn strip_jpeg(bytes: &[u8], orientation: Option<u8>) -> Result<Vec<u8>, MediaError> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(corrupt("no JPEG start-of-image marker"));
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    if let Some(o) = orientation {
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&orientation_tiff(o));
        let len = u16::try_from(app1.len() + 2).map_err(|_| corrupt("EXIF block too long"))?;
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&app1);
    }
    let mut pos = 2;
    loop {
        // A marker: 0xFF, optional 0xFF fill bytes, then the marker code.
        if bytes.get(pos) != Some(&0xFF) {
            return Err(corrupt("expected a marker"));
        }
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *bytes.get(pos).ok_or_else(|| corrupt("truncated marker"))?;
        pos += 1;
        match marker {
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Ok(out);
            }
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, marker]);
                continue;
            }
            0x00 | 0xD8 => return Err(corrupt("unexpected marker")),
            _ => {}
        }
        let len = be16(bytes, pos).ok_or_else(|| corrupt("truncated segment length"))?;
        if len < 2 {
            return Err(corrupt("segment length below 2"));
        }
        let end =
            pos.checked_add(len).filter(|e| *e <= bytes.len()).ok_or_else(|| corrupt("truncated segment"))?;
        let payload = bytes.get(pos + 2..end).ok_or_else(|| corrupt("truncated segment"))?;
        if keep_jpeg_segment(marker, payload) {
            out.extend_from_slice(&[0xFF, marker]);
            out.extend_from_slice(bytes.get(pos..end).ok_or_else(|| corrupt("truncated segment"))?);
        }
        pos = end;
        if marker == 0xDA {
            // Entropy-coded data up to the next marker that is neither a stuffed 0xFF00 nor a
            // restart marker, copied as is.
            let start = pos;
            loop {
                let b = *bytes.get(pos).ok_or_else(|| corrupt("scan data without an end"))?;
                if b == 0xFF {
                    match bytes.get(pos + 1) {
                        None => return Err(corrupt("scan data without an end")),
                        Some(0x00 | 0xD0..=0xD7) => pos += 2,
                        Some(0xFF) => pos += 1,
                        Some(_) => break,
                    }
                } else {
                    pos += 1;
                }
            }
            out.extend_from_slice(bytes.get(start..pos).ok_or_else(|| corrupt("scan data"))?);
        }
    }
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// CRC-32 (ISO-HDLC, as PNG uses it), bit by bit: only a few bytes are ever checksummed here.
fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for part in parts {
        for &b in *part {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
    }
    !crc
}

/// Copies a PNG's chunks, leaving out EXIF (`eXIf`), text (`tEXt`, `zTXt`, `iTXt`) and the
/// modification time (`tIME`), and anything after `IEND`. An orientation other than 1 is kept in
/// a minimal `eXIf` chunk before the first `IDAT`.
fn strip_png(bytes: &[u8], orientation: Option<u8>) -> Result<Vec<u8>, MediaError> {
    if !bytes.starts_with(&PNG_SIGNATURE) {
        return Err(corrupt("no PNG signature"));
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&PNG_SIGNATURE);
    let mut pos = PNG_SIGNATURE.len();
    let mut orientation = orientation;
    loop {
        let head = bytes.get(pos..pos + 8).ok_or_else(|| corrupt("truncated PNG chunk"))?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = [head[4], head[5], head[6], head[7]];
        let end = pos
            .checked_add(12)
            .and_then(|e| e.checked_add(len))
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| corrupt("truncated PNG chunk"))?;
        if &kind == b"IDAT"
            && let Some(o) = orientation.take()
        {
            let data = orientation_tiff(o);
            let len = u32::try_from(data.len()).map_err(|_| corrupt("EXIF block too long"))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(b"eXIf");
            out.extend_from_slice(&data);
            out.extend_from_slice(&crc32(&[b"eXIf", &data]).to_be_bytes());
        }
        if !matches!(&kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.extend_from_slice(bytes.get(pos..end).ok_or_else(|| corrupt("truncated PNG chunk"))?);
        }
        pos = end;
        if &kind == b"IEND" {
            return Ok(out);
        }
    }
}

/// WebP: leaves out the `EXIF` and `XMP ` chunks and clears their flags in `VP8X`. (An EXIF
/// orientation in a WebP is not kept: browsers do not apply it to WebP anyway.)
fn strip_webp(bytes: &[u8]) -> Result<Vec<u8>, MediaError> {
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WEBP") {
        return Err(corrupt("no WebP header"));
    }
    let riff_len = bytes.get(4..8).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let riff_end = riff_len
        .and_then(|l| l.checked_add(8))
        .filter(|e| *e <= bytes.len())
        .ok_or_else(|| corrupt("truncated WebP"))?;
    let mut body = Vec::with_capacity(bytes.len());
    body.extend_from_slice(b"WEBP");
    let mut pos = 12;
    while pos < riff_end {
        let head = bytes.get(pos..pos + 8).ok_or_else(|| corrupt("truncated WebP chunk"))?;
        let kind = [head[0], head[1], head[2], head[3]];
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let padded = len.checked_add(len & 1).ok_or_else(|| corrupt("WebP chunk too long"))?;
        let end = pos.checked_add(8).and_then(|e| e.checked_add(padded));
        // The final chunk's padding byte is sometimes missing; accept that.
        let end = match end {
            Some(e) if e <= riff_end => e,
            Some(e) if e == riff_end + 1 && len & 1 == 1 => riff_end,
            _ => return Err(corrupt("truncated WebP chunk")),
        };
        let chunk = bytes.get(pos..end).ok_or_else(|| corrupt("truncated WebP chunk"))?;
        match &kind {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let mut c = chunk.to_vec();
                if let Some(flags) = c.get_mut(8) {
                    *flags &= !(0x08 | 0x04);
                }
                body.extend_from_slice(&c);
            }
            _ => body.extend_from_slice(chunk),
        }
        pos = end;
    }
    let len = u32::try_from(body.len()).map_err(|_| corrupt("WebP too long"))?;
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_png_iend_chunk() {
        assert_eq!(crc32(&[b"IEND"]), 0xAE42_6082);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10];
        jpeg.extend_from_slice(b"Exif\0\0");
        for n in 0..jpeg.len() {
            assert!(strip_metadata(&jpeg[..n], PhotoFormat::Jpeg, 1).is_err());
        }
        assert!(strip_metadata(&[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01], PhotoFormat::Jpeg, 6).is_err());
        assert!(strip_metadata(&PNG_SIGNATURE, PhotoFormat::Png, 1).is_err());
        assert!(strip_metadata(b"RIFF\xff\xff\xff\xffWEBP", PhotoFormat::Webp, 1).is_err());
        assert!(strip_metadata(b"RIFF\x0c\0\0\0WEBPVP8X\xff\xff\xff\x7f", PhotoFormat::Webp, 1).is_err());
    }
}
