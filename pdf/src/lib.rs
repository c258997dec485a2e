//! The PDF of a published item (已发布信息的 PDF): what a centre hands out and what a visitor
//! downloads. Every page carries the platform's name, the item's IP owner (知识产权归属) and
//! its publication date twice: as a diagonal watermark across the page and in the footer. The
//! text is set in a CJK font whose used glyphs only are embedded (a subset, so a record of a
//! few pages stays small), photos are embedded as they are (JPEG or PNG), and the file is
//! encrypted (AES-256, PDF 2.0 security handler revision 6) with a random owner password that
//! nobody keeps and an empty user password: it opens without a password, and a conforming
//! reader refuses to modify it, copy from it or annotate it. Printing is allowed.
//!
//! Layout is deliberately plain (a title, a line of facts, the fields as label and value, the
//! body, the photos), so it is done here in a few lines: text is broken into lines by the
//! font's own advance widths, a run of Latin letters or digits is kept whole, and a closing
//! punctuation mark never starts a line.
//!
//! Nothing here reads the clock, the network or a store: the caller gives the text, the photos'
//! bytes and the font.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use krilla::color::rgb;
use krilla::geom::{Point, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size as FontSize};

/// A4, in points.
pub const PAGE_WIDTH: f32 = 595.28;
pub const PAGE_HEIGHT: f32 = 841.89;
const MARGIN_X: f32 = 56.0;
const MARGIN_TOP: f32 = 64.0;
/// The footer sits in the bottom margin.
const MARGIN_BOTTOM: f32 = 72.0;
/// At most this many pages: a longer document is refused, not cut.
pub const PAGES_MAX: usize = 200;
/// Photos embedded at most (the first ones given), and the bytes of one photo at most.
pub const PHOTOS_MAX: usize = 12;
pub const PHOTO_BYTES_MAX: usize = 10 * 1024 * 1024;
/// A photo is drawn at most this high (points), keeping its aspect ratio.
const PHOTO_HEIGHT_MAX: f32 = 300.0;
/// A font file read at most (Noto Sans CJK's collection is about 19 MiB).
pub const FONT_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Characters of text given at most (title, facts, fields and body together).
pub const TEXT_CHARS_MAX: usize = 100_000;

/// Where Debian's CJK fonts are, in the order tried by [`CjkFont::system`]. The package
/// depends on `fonts-noto-cjk`, which provides the first.
pub const SYSTEM_FONTS: &[&str] = &[
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
];

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("no CJK font found (tried {0}); install fonts-noto-cjk")]
    NoFont(String),
    #[error("font {path}: {reason}")]
    Font { path: PathBuf, reason: String },
    #[error("the document would have more than {PAGES_MAX} pages")]
    TooLong,
    #[error("the text is longer than {TEXT_CHARS_MAX} characters")]
    TooMuchText,
    #[error("writing the PDF failed: {0}")]
    Write(String),
    #[error("encrypting the PDF failed: {0}")]
    Encrypt(String),
}

/// A CJK font, loaded once and shared (cheap to clone).
#[derive(Clone)]
pub struct CjkFont {
    data: Arc<Vec<u8>>,
    index: u32,
    font: Font,
}

impl std::fmt::Debug for CjkFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CjkFont").field("bytes", &self.data.len()).field("index", &self.index).finish()
    }
}

impl CjkFont {
    /// The first of [`SYSTEM_FONTS`] that loads.
    pub fn system() -> Result<CjkFont, PdfError> {
        for path in SYSTEM_FONTS {
            if Path::new(path).exists() {
                return CjkFont::load(Path::new(path));
            }
        }
        Err(PdfError::NoFont(SYSTEM_FONTS.join(", ")))
    }

    /// A font file (TrueType, OpenType or a collection). In a collection, the face for
    /// Simplified Chinese is taken (its name says "SC"), else the first that has glyphs for
    /// common Chinese characters.
    pub fn load(path: &Path) -> Result<CjkFont, PdfError> {
        let err = |reason: String| PdfError::Font { path: path.to_path_buf(), reason };
        let size = std::fs::metadata(path).map_err(|e| err(e.to_string()))?.len();
        if size > FONT_BYTES_MAX {
            return Err(err(format!("{size} bytes, more than {FONT_BYTES_MAX}")));
        }
        let data = Arc::new(std::fs::read(path).map_err(|e| err(e.to_string()))?);
        let faces = skrifa::raw::FileRef::new(&data).map_err(|e| err(e.to_string()))?;
        let mut chosen = None;
        for (index, face) in faces.fonts().enumerate() {
            let Ok(face) = face else { continue };
            let covers = "中文农业".chars().all(|c| face.charmap().map(c).is_some());
            if !covers {
                continue;
            }
            let names: String = face
                .localized_strings(skrifa::string::StringId::FAMILY_NAME)
                .map(|s| s.chars().collect::<String>())
                .collect();
            let index = u32::try_from(index).map_err(|e| err(e.to_string()))?;
            if names.contains("SC") {
                chosen = Some(index);
                break;
            }
            chosen.get_or_insert(index);
        }
        let index = chosen.ok_or_else(|| err("no face with Chinese glyphs".into()))?;
        let font = Font::new(krilla::Data::from(data.clone()), index)
            .ok_or_else(|| err("krilla cannot read this face".into()))?;
        Ok(CjkFont { data, index, font })
    }

    /// A measure of `size` points.
    fn measure(&self, size: f32) -> Result<Measure<'_>, PdfError> {
        let face = skrifa::FontRef::from_index(&self.data, self.index)
            .map_err(|e| PdfError::Write(format!("font: {e}")))?;
        let metrics = face.glyph_metrics(FontSize::new(size), LocationRef::default());
        Ok(Measure { charmap: face.charmap(), metrics, fallback: size })
    }
}

struct Measure<'a> {
    charmap: skrifa::charmap::Charmap<'a>,
    metrics: skrifa::metrics::GlyphMetrics<'a>,
    /// The advance taken for a character the font lacks (drawn as its missing-glyph box).
    fallback: f32,
}

impl Measure<'_> {
    fn width(&self, c: char) -> f32 {
        self.charmap.map(c).and_then(|g| self.metrics.advance_width(g)).unwrap_or(self.fallback)
    }
}

/// What every page carries.
#[derive(Debug, Clone)]
pub struct Watermark {
    /// The platform's name, e.g. 四川乡村振兴科技在线.
    pub platform: String,
    /// The IP owner (知识产权归属).
    pub ip_owner: String,
    /// The publication date as the reader reads it, e.g. 2026-12-07.
    pub published: String,
}

impl Watermark {
    fn line(&self) -> String {
        format!("{} · 知识产权归属：{} · 发布日期：{}", self.platform, self.ip_owner, self.published)
    }
}

/// A photo to embed: its bytes as stored (JPEG or PNG).
#[derive(Debug, Clone)]
pub struct Photo {
    pub bytes: Vec<u8>,
    pub caption: String,
}

/// The item as the PDF shows it.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub title: String,
    /// One line under the title: kind, centre, dates.
    pub facts: String,
    /// (label, value), in order.
    pub fields: Vec<(String, String)>,
    pub body: String,
    pub photos: Vec<Photo>,
    /// Lines after the body (reviewer and signer).
    pub closing: Vec<String>,
}

/// A rendered document.
#[derive(Debug)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub pages: usize,
    /// Photos given but not embedded: over [`PHOTOS_MAX`], too large, or not a readable JPEG
    /// or PNG.
    pub photos_left_out: usize,
}

/// The watermark's size (points) and its angle from the horizontal (degrees, rising).
const WATERMARK_SIZE: f32 = 13.0;
const WATERMARK_ANGLE: f32 = 50.0;
const GREY: (u8, u8, u8) = (110, 110, 110);
const BLACK: (u8, u8, u8) = (20, 20, 20);

enum Op {
    Text { x: f32, y: f32, size: f32, colour: (u8, u8, u8), text: String },
    Image { x: f32, y: f32, w: f32, h: f32, image: Image },
}

/// Lays out the sheet, page by page.
struct Layout<'f> {
    font: &'f CjkFont,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl<'f> Layout<'f> {
    fn new(font: &'f CjkFont) -> Layout<'f> {
        Layout { font, pages: vec![Vec::new()], y: MARGIN_TOP }
    }

    fn bottom() -> f32 {
        PAGE_HEIGHT - MARGIN_BOTTOM
    }

    /// Makes room for `height` points, starting a page when this one is full.
    fn room(&mut self, height: f32) -> Result<(), PdfError> {
        if self.y + height > Self::bottom() && self.y > MARGIN_TOP {
            if self.pages.len() >= PAGES_MAX {
                return Err(PdfError::TooLong);
            }
            self.pages.push(Vec::new());
            self.y = MARGIN_TOP;
        }
        Ok(())
    }

    fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    /// A paragraph (each `\n` a new line), wrapped to the width from `indent`.
    fn paragraph(
        &mut self,
        text: &str,
        size: f32,
        colour: (u8, u8, u8),
        indent: f32,
    ) -> Result<(), PdfError> {
        let width = PAGE_WIDTH - 2.0 * MARGIN_X - indent;
        let measure = self.font.measure(size)?;
        let leading = size * 1.6;
        for line in text.lines() {
            for piece in wrap(line, width, &|c| measure.width(c)) {
                self.room(leading)?;
                self.y += leading;
                self.push(Op::Text {
                    x: MARGIN_X + indent,
                    y: self.y - size * 0.35,
                    size,
                    colour,
                    text: piece,
                });
            }
        }
        Ok(())
    }

    fn gap(&mut self, points: f32) {
        self.y += points;
    }

    fn photo(&mut self, photo: &Photo) -> Result<bool, PdfError> {
        if photo.bytes.len() > PHOTO_BYTES_MAX {
            return Ok(false);
        }
        let data = krilla::Data::from(photo.bytes.clone());
        let image = match Image::from_jpeg(data.clone(), true) {
            Ok(i) => i,
            Err(_) => match Image::from_png(data, true) {
                Ok(i) => i,
                Err(_) => return Ok(false),
            },
        };
        let (pw, ph) = image.size();
        if pw == 0 || ph == 0 {
            return Ok(false);
        }
        let max_w = PAGE_WIDTH - 2.0 * MARGIN_X;
        let scale = (max_w / pw as f32).min(PHOTO_HEIGHT_MAX / ph as f32);
        let (w, h) = (pw as f32 * scale, ph as f32 * scale);
        self.room(h + 8.0)?;
        self.y += 8.0;
        self.push(Op::Image { x: MARGIN_X, y: self.y, w, h, image });
        self.y += h;
        if !photo.caption.trim().is_empty() {
            self.paragraph(photo.caption.trim(), 9.0, GREY, 0.0)?;
        }
        Ok(true)
    }
}

/// Whether `c` must not begin a line (closing punctuation, Chinese and Latin).
fn no_line_start(c: char) -> bool {
    "，。、；：！？）》」』】〕”’,.;:!?)]}%".contains(c)
}

/// Breaks `line` into pieces no wider than `width` (as `advance` measures): anywhere between
/// CJK characters, at spaces between Latin words; a run of Latin letters and digits wider than
/// the line is broken anywhere; a closing punctuation mark stays on the line before it.
fn wrap(line: &str, width: f32, advance: &dyn Fn(char) -> f32) -> Vec<String> {
    // Tokens: a run of ASCII letters and digits, or one other character.
    let mut tokens: Vec<String> = Vec::new();
    for c in line.chars() {
        let word = c.is_ascii_alphanumeric();
        match tokens.last_mut() {
            Some(t) if word && t.chars().all(|p| p.is_ascii_alphanumeric()) => t.push(c),
            _ => tokens.push(c.to_string()),
        }
    }
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut used = 0.0;
    for token in tokens {
        let w: f32 = token.chars().map(advance).sum();
        let first = token.chars().next().unwrap_or(' ');
        if used + w > width && !current.is_empty() && !no_line_start(first) {
            lines.push(std::mem::take(&mut current).trim_end().to_string());
            used = 0.0;
            if first == ' ' {
                continue;
            }
        }
        if w > width {
            // A Latin run longer than the line: character by character.
            for c in token.chars() {
                let cw = advance(c);
                if used + cw > width && !current.is_empty() {
                    lines.push(std::mem::take(&mut current));
                    used = 0.0;
                }
                current.push(c);
                used += cw;
            }
            continue;
        }
        current.push_str(&token);
        used += w;
    }
    if !current.trim().is_empty() || lines.is_empty() {
        lines.push(current.trim_end().to_string());
    }
    lines
}

fn fill(colour: (u8, u8, u8), opacity: f32) -> Fill {
    Fill {
        paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
        opacity: NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE),
        rule: Default::default(),
    }
}

/// Renders `sheet` with `watermark` on every page, then encrypts it (see the module's text).
pub fn render(font: &CjkFont, sheet: &Sheet, watermark: &Watermark) -> Result<Rendered, PdfError> {
    let chars = sheet.title.chars().count()
        + sheet.facts.chars().count()
        + sheet.body.chars().count()
        + sheet.fields.iter().map(|(l, v)| l.chars().count() + v.chars().count()).sum::<usize>();
    if chars > TEXT_CHARS_MAX {
        return Err(PdfError::TooMuchText);
    }
    let mut layout = Layout::new(font);
    layout.paragraph(sheet.title.trim(), 18.0, BLACK, 0.0)?;
    if !sheet.facts.trim().is_empty() {
        layout.paragraph(sheet.facts.trim(), 9.5, GREY, 0.0)?;
    }
    layout.gap(6.0);
    for (label, value) in &sheet.fields {
        layout.paragraph(&format!("{label}：{value}"), 10.5, BLACK, 0.0)?;
    }
    layout.gap(8.0);
    layout.paragraph(sheet.body.trim(), 11.0, BLACK, 0.0)?;
    let mut photos_left_out = sheet.photos.len().saturating_sub(PHOTOS_MAX);
    for photo in sheet.photos.iter().take(PHOTOS_MAX) {
        if !layout.photo(photo)? {
            photos_left_out += 1;
        }
    }
    if !sheet.closing.is_empty() {
        layout.gap(10.0);
        for line in &sheet.closing {
            layout.paragraph(line, 9.5, GREY, 0.0)?;
        }
    }
    let pages = layout.pages.len();
    let plain = draw(font, &sheet.title, layout.pages, watermark)?;
    let bytes = encrypt(&plain)?;
    Ok(Rendered { bytes, pages, photos_left_out })
}

fn draw(
    font: &CjkFont,
    title: &str,
    pages: Vec<Vec<Op>>,
    watermark: &Watermark,
) -> Result<Vec<u8>, PdfError> {
    let mut document = krilla::Document::new();
    document.set_metadata(
        Metadata::new()
            .title(title.to_string())
            .creator(watermark.platform.clone())
            .producer("Yizhan".into())
            .language("zh-CN".into()),
    );
    let count = pages.len();
    let line = watermark.line();
    let measure = font.measure(WATERMARK_SIZE)?;
    let watermark_width: f32 = line.chars().map(|c| measure.width(c)).sum();
    let settings = || PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT);
    for (n, ops) in pages.into_iter().enumerate() {
        let mut page =
            document.start_page_with(settings().ok_or_else(|| PdfError::Write("page size".into()))?);
        let mut surface = page.surface();
        // The watermark first, under the text: three diagonal lines across the page.
        // Each line centred on the page's diagonal, so it is whole on the page.
        surface.set_fill(Some(fill((120, 120, 120), 0.22)));
        surface.push_transform(&Transform::from_rotate_at(
            -WATERMARK_ANGLE,
            PAGE_WIDTH / 2.0,
            PAGE_HEIGHT / 2.0,
        ));
        for k in [-1.0f32, 0.0, 1.0] {
            let x = (PAGE_WIDTH - watermark_width) / 2.0;
            let y = PAGE_HEIGHT / 2.0 + k * 170.0;
            let start = Point::from_xy(x, y);
            surface.draw_text(start, font.font.clone(), WATERMARK_SIZE, &line, false, TextDirection::Auto);
        }
        surface.pop();
        for op in ops {
            match op {
                Op::Text { x, y, size, colour, text } => {
                    surface.set_fill(Some(fill(colour, 1.0)));
                    surface.draw_text(
                        Point::from_xy(x, y),
                        font.font.clone(),
                        size,
                        &text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Image { x, y, w, h, image } => {
                    let size = Size::from_wh(w, h).ok_or_else(|| PdfError::Write("photo size".into()))?;
                    surface.push_transform(&Transform::from_translate(x, y));
                    surface.draw_image(image, size);
                    surface.pop();
                }
            }
        }
        // The footer: the same facts, and the page.
        surface.set_fill(Some(fill(GREY, 1.0)));
        let footer = format!("{line} · 第 {} / {count} 页", n + 1);
        surface.draw_text(
            Point::from_xy(MARGIN_X, PAGE_HEIGHT - MARGIN_BOTTOM / 2.0),
            font.font.clone(),
            7.5,
            &footer,
            false,
            TextDirection::Auto,
        );
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}

/// AES-256 (revision 6), empty user password, a random owner password thrown away: printing
/// allowed; modifying, copying, annotating, filling forms and assembling not.
fn encrypt(plain: &[u8]) -> Result<Vec<u8>, PdfError> {
    use lopdf::encryption::crypt_filters::{Aes256CryptFilter, CryptFilter};
    use lopdf::{EncryptionState, EncryptionVersion, Permissions};
    use rand::RngCore;

    let mut doc = lopdf::Document::load_mem(plain).map_err(|e| PdfError::Encrypt(e.to_string()))?;
    let mut rng = rand::rng();
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    let mut owner = [0u8; 24];
    rng.fill_bytes(&mut owner);
    let owner: String = owner.iter().map(|b| format!("{b:02x}")).collect();
    let filter: Arc<dyn CryptFilter> = Arc::new(Aes256CryptFilter);
    let version = EncryptionVersion::V5 {
        encrypt_metadata: true,
        crypt_filters: std::collections::BTreeMap::from([(b"StdCF".to_vec(), filter)]),
        file_encryption_key: &key,
        stream_filter: b"StdCF".to_vec(),
        string_filter: b"StdCF".to_vec(),
        owner_password: &owner,
        user_password: "",
        permissions: Permissions::PRINTABLE
            | Permissions::PRINTABLE_IN_HIGH_QUALITY
            | Permissions::COPYABLE_FOR_ACCESSIBILITY,
    };
    let state = EncryptionState::try_from(version).map_err(|e| PdfError::Encrypt(e.to_string()))?;
    doc.encrypt(&state).map_err(|e| PdfError::Encrypt(e.to_string()))?;
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(|e| PdfError::Encrypt(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn width(c: char) -> f32 {
        if c.is_ascii() { 5.0 } else { 10.0 }
    }

    #[test]
    fn wrapping_keeps_words_and_punctuation() {
        // 10 CJK characters per line of 100.
        let lines = wrap("一二三四五六七八九十，甲乙", 100.0, &width);
        assert_eq!(lines, vec!["一二三四五六七八九十，", "甲乙"]);
        let lines = wrap("品种 Hongyang kiwifruit 红阳", 100.0, &width);
        assert!(lines.iter().all(|l| !l.starts_with(' ')), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("Hongyang")), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("kiwifruit")), "{lines:?}");
        let long = "x".repeat(50);
        let lines = wrap(&long, 100.0, &width);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines.concat(), long);
        assert_eq!(wrap("", 100.0, &width), vec![String::new()]);
    }
}
