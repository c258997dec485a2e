//! The PDF as Debian's own tools read it: `qpdf --show-encryption` (encrypted, opens without a
//! password, modifying, copying and annotating forbidden), `pdffonts` (the CJK font embedded as
//! a subset), `qpdf --decrypt` then `pdftotext` per page (the text is there, and the platform,
//! IP owner and publication date are on every page), `pdfimages -list` (the photo embedded).
//! `packaging/deps.sh test` installs qpdf, poppler-utils and fonts-noto-cjk.

use std::path::Path;
use std::process::Command;

use yizhan_pdf::{CjkFont, Photo, Sheet, Watermark, render};

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} did not run ({e}); run packaging/deps.sh test"));
    assert!(
        out.status.success() || program == "qpdf" && out.status.code() == Some(3),
        "{program} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img =
        image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).expect("JPEG");
    out.into_inner()
}

fn sheet(paragraphs: usize) -> Sheet {
    let para = "蒲江县地处成都平原西南边缘，猕猴桃种植面积约二十万亩，主栽品种为红阳、东红和金艳。\
        近年来县农业农村局联合四川省农业科学院推广避雨栽培与水肥一体化技术，溃疡病发生率明显下降，\
        优质果率提高到百分之八十以上。";
    Sheet {
        title: "蒲江猕猴桃产业现状（2026年）".into(),
        facts: "产业现状 · 成都市 蒲江县 · 发布于 2026-12-07".into(),
        fields: vec![
            ("产业".into(), "川果".into()),
            ("品种".into(), "红阳 Hongyang、东红、金艳".into()),
            ("技术依托单位".into(), "四川省农业科学院园艺研究所".into()),
        ],
        body: vec![para; paragraphs].join("\n"),
        photos: vec![Photo { bytes: jpeg(640, 480), caption: "避雨棚下的红阳猕猴桃".into() }],
        closing: vec!["审核：李芳 · 签发：王强".into()],
    }
}

fn watermark() -> Watermark {
    Watermark {
        platform: "四川乡村振兴科技在线".into(),
        ip_owner: "蒲江县猕猴桃产业协会".into(),
        published: "2026-12-07".into(),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path.to_string_lossy().into_owned()
}

#[test]
fn encrypted_non_editable_watermarked_with_a_subset_cjk_font() {
    let font = CjkFont::system().expect("fonts-noto-cjk is installed by packaging/deps.sh");
    let dir = tempfile::tempdir().unwrap();
    let rendered = render(&font, &sheet(40), &watermark()).unwrap();
    assert!(rendered.pages >= 2, "40 paragraphs make more than a page: {}", rendered.pages);
    assert_eq!(rendered.photos_left_out, 0);
    let pdf = write(dir.path(), "item.pdf", &rendered.bytes);

    // Encrypted; no password needed to open; the restrictions as a reader sees them.
    let enc = run("qpdf", &["--show-encryption", &pdf]);
    assert!(enc.contains("R = 6"), "{enc}");
    assert!(
        enc.contains("User password = \n")
            || enc.contains("User password = \r\n")
            || enc.contains("User password = "),
        "{enc}"
    );
    for line in [
        "extract for any purpose: not allowed",
        "modify document assembly: not allowed",
        "modify annotations: not allowed",
        "modify other: not allowed",
        "modify forms: not allowed",
        "print high resolution: allowed",
    ] {
        assert!(enc.contains(line), "{line:?} missing in:\n{enc}");
    }
    // A password that is not the user's cannot be guessed to be empty owner access.
    assert!(!enc.contains("Supplied password is owner password"), "{enc}");

    // Fonts: a CJK font, embedded, as a subset (no other font).
    let fonts = run("pdffonts", &[&pdf]);
    let rows: Vec<&str> = fonts.lines().skip(2).filter(|l| !l.trim().is_empty()).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in &rows {
        let name = row.split_whitespace().next().unwrap_or("");
        assert!(name.contains('+'), "subset fonts are named TAG+Name: {row}");
        assert!(name.contains("CJK"), "{row}");
        let cols: Vec<&str> = row.split_whitespace().collect();
        // emb sub uni object ID: the last five columns are "yes yes yes N 0".
        let n = cols.len();
        assert_eq!(&cols[n - 5..n - 2], &["yes", "yes", "yes"], "{row}");
    }
    // Subset: far smaller than the 19 MiB collection.
    assert!(rendered.bytes.len() < 600_000, "{} bytes", rendered.bytes.len());

    // The text, page by page, after decrypting with the empty user password.
    let plain = dir.path().join("plain.pdf").to_string_lossy().into_owned();
    run("qpdf", &["--decrypt", &pdf, &plain]);
    let all = run("pdftotext", &["-layout", &plain, "-"]);
    for expected in
        ["蒲江猕猴桃产业现状", "四川省农业科学院园艺研究所", "水肥一体化", "Hongyang", "审核：李芳"]
    {
        assert!(all.contains(expected), "{expected:?} missing");
    }
    for page in 1..=rendered.pages {
        let p = page.to_string();
        // -raw: in the order drawn, so the diagonal lines come out whole (a character a line).
        let text = run("pdftotext", &["-raw", "-f", &p, "-l", &p, &plain, "-"]);
        let flat: String = text.split_whitespace().collect();
        for expected in ["四川乡村振兴科技在线", "知识产权归属：蒲江县猕猴桃产业协会", "发布日期：2026-12-07"]
        {
            // The watermark's three lines and the footer.
            let count = flat.matches(expected).count();
            assert_eq!(count, 4, "page {page}: {expected:?} found {count} times in:\n{text}");
        }
        assert!(flat.contains(&format!("第{page}/{}页", rendered.pages)), "page {page}:\n{text}");
    }

    // The photo is embedded once, at its size.
    let images = run("pdfimages", &["-list", &plain]);
    assert!(images.lines().any(|l| l.contains(" 640 ") && l.contains(" 480 ")), "{images}");

    // The same input twice gives two files that differ (a fresh key and owner password each).
    let again = render(&font, &sheet(40), &watermark()).unwrap();
    assert_ne!(again.bytes, rendered.bytes);
}

#[test]
fn bad_photos_are_left_out_and_limits_hold() {
    let font = CjkFont::system().unwrap();
    let mut s = sheet(1);
    s.photos.push(Photo { bytes: b"not an image".to_vec(), caption: String::new() });
    s.photos.push(Photo { bytes: jpeg(64, 64)[..100].to_vec(), caption: String::new() });
    let r = render(&font, &s, &watermark()).unwrap();
    assert_eq!((r.pages, r.photos_left_out), (1, 2));

    let mut s = sheet(1);
    s.body = "字".repeat(yizhan_pdf::TEXT_CHARS_MAX + 1);
    assert!(matches!(render(&font, &s, &watermark()), Err(yizhan_pdf::PdfError::TooMuchText)));

    // A file that is not a font: a plain error naming it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.ttc");
    std::fs::write(&path, b"nope").unwrap();
    let err = CjkFont::load(&path).unwrap_err().to_string();
    assert!(err.contains("x.ttc"), "{err}");
}
