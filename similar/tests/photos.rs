//! A photo re-encoded, resized or slightly cropped still finds its original case among many
//! other photos; an unrelated photo finds nothing.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use yizhan_similar::phash::{PHOTO_DISTANCE_MAX, hamming, photo_hash, photo_hashes};
use yizhan_similar::{KnowledgeCase, SearchQuery, SimilarIndex};

/// Deterministic generator (splitmix64): tests must not depend on a crate's RNG algorithm.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn f(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A photo-like picture: smooth blobs of colour (leaves, spots) on a gradient, plus fine noise.
fn picture(seed: u64) -> DynamicImage {
    let mut rng = Rng(seed);
    let (w, h) = (240u32, 180u32);
    let blobs: Vec<(f32, f32, f32, [f32; 3])> = (0..8)
        .map(|_| (rng.f() * w as f32, rng.f() * h as f32, 20.0 + rng.f() * 90.0, [rng.f(), rng.f(), rng.f()]))
        .collect();
    let base = [rng.f(), rng.f(), rng.f()];
    let slope = rng.f();
    let mut img = RgbImage::new(w, h);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let mut c = [0f32; 3];
        for (i, ch) in c.iter_mut().enumerate() {
            *ch = 60.0 * base[i] + 40.0 * slope * x as f32 / w as f32;
        }
        for (bx, by, r, col) in &blobs {
            let d2 = ((x as f32 - bx).powi(2) + (y as f32 - by).powi(2)) / (r * r);
            let k = (-d2).exp();
            for i in 0..3 {
                c[i] += 180.0 * col[i] * k;
            }
        }
        let noise = (rng.next() % 9) as f32 - 4.0;
        *p = Rgb(c.map(|v| (v + noise).clamp(0.0, 255.0) as u8));
    }
    DynamicImage::ImageRgb8(img)
}

fn png(img: &DynamicImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

fn jpeg(img: &DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    img.to_rgb8().write_with_encoder(JpegEncoder::new_with_quality(&mut out, quality)).unwrap();
    out
}

fn crop(img: &DynamicImage, percent: u32) -> DynamicImage {
    let (w, h) = (img.width(), img.height());
    let (dx, dy) = (w * percent / 100, h * percent / 100);
    img.crop_imm(dx, dy, w - 2 * dx, h - 2 * dy)
}

const PHOTOS: u64 = 120;

fn index_of_photos() -> (SimilarIndex, Vec<DynamicImage>) {
    let mut index = SimilarIndex::new();
    let mut images = Vec::new();
    for i in 0..PHOTOS {
        let img = picture(1000 + i);
        let hashes = photo_hashes(&png(&img)).unwrap();
        index
            .upsert(KnowledgeCase {
                id: format!("photo-{i}"),
                question: format!("第{i}号田块叶片出现斑点"),
                answer: format!("处理办法{i}"),
                industry: String::new(),
                crop: String::new(),
                season: None,
                region_code: String::new(),
                source: "test".into(),
                photo_hashes: hashes,
            })
            .unwrap();
        images.push(img);
    }
    (index, images)
}

fn top_photo_hit(index: &SimilarIndex, bytes: &[u8]) -> Option<(String, u32)> {
    let q = SearchQuery { photo_hashes: photo_hashes(bytes).unwrap(), ..Default::default() };
    let hits = index.search(&q, 5).unwrap();
    hits.into_iter().find_map(|h| h.photo_distance.map(|d| (h.id, d)))
}

#[test]
fn altered_copies_find_their_case_and_strangers_find_none() {
    let (index, images) = index_of_photos();
    for target in [3usize, 77, 119] {
        let img = &images[target];
        let want = format!("photo-{target}");
        let variants: Vec<(&str, Vec<u8>)> = vec![
            ("jpeg q90", jpeg(img, 90)),
            ("jpeg q35", jpeg(img, 35)),
            ("resized to 50%", png(&img.resize_exact(120, 90, image::imageops::FilterType::Triangle))),
            ("resized to 160%", jpeg(&img.resize_exact(384, 288, image::imageops::FilterType::Lanczos3), 80)),
            ("cropped 3% each side", jpeg(&crop(img, 3), 85)),
            ("cropped 5% each side", png(&crop(img, 5))),
        ];
        for (what, bytes) in variants {
            let hit = top_photo_hit(&index, &bytes);
            assert_eq!(
                hit.as_ref().map(|h| h.0.as_str()),
                Some(want.as_str()),
                "{what} of {target}: {hit:?}"
            );
        }
    }
    for stranger in 0..20 {
        let bytes = jpeg(&picture(90_000 + stranger), 80);
        assert_eq!(top_photo_hit(&index, &bytes), None, "unrelated photo {stranger} matched");
    }
}

#[test]
fn hash_distances_are_what_the_threshold_assumes() {
    let img = picture(7);
    let h = photo_hash(&png(&img)).unwrap();
    assert!(hamming(h, photo_hash(&jpeg(&img, 35)).unwrap()) <= 4);
    let cropped = photo_hashes(&png(&crop(&img, 5))).unwrap();
    let stored = photo_hashes(&png(&img)).unwrap();
    let best = stored.iter().flat_map(|a| cropped.iter().map(move |b| hamming(*a, *b))).min().unwrap();
    assert!(best <= PHOTO_DISTANCE_MAX, "{best}");
    let mut far = 0;
    for s in 0..50 {
        let d = hamming(h, photo_hash(&png(&picture(500 + s))).unwrap());
        far += u32::from(d > PHOTO_DISTANCE_MAX);
    }
    assert_eq!(far, 50);
}

#[test]
fn a_photo_and_text_together_rank_the_photo_case_first() {
    let (mut index, images) = index_of_photos();
    index
        .upsert(KnowledgeCase {
            id: "text-only".into(),
            question: "第9号田块叶片出现斑点，怎么办".into(),
            answer: "另一个答案".into(),
            industry: String::new(),
            crop: String::new(),
            season: None,
            region_code: String::new(),
            source: String::new(),
            photo_hashes: vec![],
        })
        .unwrap();
    let q = SearchQuery {
        text: "第9号田块叶片出现斑点，怎么办".into(),
        photo_hashes: photo_hashes(&jpeg(&images[42], 60)).unwrap(),
        ..Default::default()
    };
    let hits = index.search(&q, 5).unwrap();
    assert_eq!(hits[0].id, "photo-42", "{hits:?}");
}

#[test]
fn garbage_bytes_are_an_error_not_a_panic() {
    assert!(photo_hash(b"not an image").is_err());
    assert!(photo_hash(&[0xff, 0xd8, 0xff, 0xe0, 0, 0]).is_err());
}
