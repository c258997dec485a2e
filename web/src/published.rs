//! A published item (`yizhan_core::published::PublishedDoc`) as the public reads it, without
//! sign-in, at every hub and kiosk: title, the kind, the centre, body, the kind's fields as a
//! table with the labels the document carries, who owns its intellectual property and who
//! reviewed and signed it off. The same markup at every node kind.

use maud::{Markup, html};
use yizhan_core::published::PublishedDoc;

use crate::fmt;

/// A field as people read it, by the kinds' shared conventions: an `industry` holds a 10+3
/// industry's code (shown by its name), a key ending in `_fen` an amount in fen (shown in 元,
/// its label without the unit); anything else as written.
fn shown(f: &yizhan_core::published::PublicField) -> (String, String) {
    if f.key == "industry" {
        let name = fmt::industry_or(&f.value, "");
        return (f.label.clone(), if name.is_empty() { f.value.clone() } else { name.to_string() });
    }
    if f.key.ends_with("_fen")
        && let Ok(fen) = f.value.trim().parse::<i64>()
    {
        return (f.label.replace("（分）", ""), fmt::money(fen));
    }
    (f.label.clone(), f.value.clone())
}

/// The item's page body.
pub fn item(p: &PublishedDoc) -> Markup {
    html! {
        article.card.public-item data-testid="public-item" {
            p.muted { (p.kind_name) " · " (fmt::region(&p.centre)) " · 发布于 " (fmt::time_short(p.published_at_ms)) }
            h1 { (p.title) }
            @if !p.fields.is_empty() {
                dl data-testid="public-fields" {
                    @for f in &p.fields { @let (label, value) = shown(f); dt { (label) } dd { (value) } }
                }
            }
            div.body { (p.body) }
            @let photos: Vec<_> = p.attachments.values().filter(|a| a.kind == "photo" && a.role == "display").collect();
            @if !photos.is_empty() {
                div.photos data-testid="public-photos" {
                    @for a in photos {
                        @let original = p.attachments.values().find(|o| o.group == a.group && o.role == "original").unwrap_or(a);
                        a href=(format!("/items/{}/photos/{}", p.id, original.hash)) {
                            img src=(format!("/items/{}/photos/{}", p.id, a.hash)) alt=(a.name) loading="lazy";
                        }
                    }
                }
            }
            p.owner data-testid="public-owner" {
                "知识产权归属：" b { (p.ip_owner) }
                br;
                "审核：" (p.reviewed_by) " · 签发：" (p.signed_off_by)
            }
            p { a.button href=(pdf_href(&p.id)) data-testid="public-pdf" download { "下载 PDF（带水印）" } }
        }
    }
}

/// One line of a list of published items: (id, title, kind's name, centre, published at).
pub fn list(rows: &[(String, String, String, String, i64)]) -> Markup {
    html! {
        @if rows.is_empty() { p.muted { "暂无已发布的信息" } }
        @else {
            ul.public-list data-testid="public-list" {
                @for (id, title, kind_name, centre, at) in rows {
                    li {
                        a href=(format!("/items/{id}")) { (title) }
                        " " span.muted { (kind_name) " · " (fmt::region(centre)) " · " (fmt::time_short(*at)) }
                    }
                }
            }
        }
    }
}

/// The platform's name, as every PDF's watermark names it.
pub const PLATFORM_ZH: &str = "四川乡村振兴科技在线";

/// The link to an item's PDF.
pub fn pdf_href(id: &str) -> String {
    format!("/items/{id}/pdf")
}

/// The hashes of the photos the PDF embeds: each photo's display copy (the original when it
/// has none), in the document's order.
pub fn pdf_photos(p: &PublishedDoc) -> Vec<String> {
    let mut groups: Vec<&str> = Vec::new();
    for a in p.attachments.values().filter(|a| a.kind == "photo") {
        if !groups.contains(&a.group.as_str()) {
            groups.push(&a.group);
        }
    }
    groups
        .into_iter()
        .filter_map(|g| {
            let of = |role: &str| p.attachments.values().find(|a| a.group == g && a.role == role);
            of("display").or_else(|| of("original")).map(|a| a.hash.clone())
        })
        .take(yizhan_pdf::PHOTOS_MAX)
        .collect()
}

/// What the PDF of `p` shows, and its watermark.
pub fn pdf_sheet(p: &PublishedDoc, photos: Vec<Vec<u8>>) -> (yizhan_pdf::Sheet, yizhan_pdf::Watermark) {
    let sheet = yizhan_pdf::Sheet {
        title: p.title.clone(),
        facts: format!(
            "{} · {} · 发布于 {}",
            p.kind_name,
            fmt::region(&p.centre),
            fmt::date(p.published_at_ms)
        ),
        fields: p.fields.iter().map(|f| (f.label.clone(), f.value.clone())).collect(),
        body: p.body.clone(),
        photos: photos.into_iter().map(|bytes| yizhan_pdf::Photo { bytes, caption: String::new() }).collect(),
        closing: vec![format!("审核：{} · 签发：{}", p.reviewed_by, p.signed_off_by)],
    };
    let watermark = yizhan_pdf::Watermark {
        platform: PLATFORM_ZH.into(),
        ip_owner: p.ip_owner.clone(),
        published: fmt::date(p.published_at_ms),
    };
    (sheet, watermark)
}

/// The CJK font, loaded at the first PDF asked for and kept (about 19 MiB).
fn font() -> Result<&'static yizhan_pdf::CjkFont, &'static str> {
    static FONT: std::sync::OnceLock<Result<yizhan_pdf::CjkFont, String>> = std::sync::OnceLock::new();
    FONT.get_or_init(|| {
        yizhan_pdf::CjkFont::system()
            .inspect_err(|e| tracing::error!(error = %e, "no font for PDFs"))
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| e.as_str())
}

/// The watermarked, non-editable PDF of `p` (with the photos' bytes), as a download; rendered
/// off the async threads. An error is its status and a Chinese message, for the node's error
/// page.
pub async fn pdf(
    p: &PublishedDoc,
    photos: Vec<Vec<u8>>,
) -> Result<axum::response::Response, (axum::http::StatusCode, &'static str)> {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let (sheet, watermark) = pdf_sheet(p, photos);
    let rendered = tokio::task::spawn_blocking(move || {
        let font = font().map_err(|_| {
            (StatusCode::SERVICE_UNAVAILABLE, "本机缺少中文字体（fonts-noto-cjk），暂时无法生成 PDF")
        })?;
        yizhan_pdf::render(font, &sheet, &watermark).map_err(|e| {
            tracing::error!(error = %e, "PDF not rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "生成 PDF 失败")
        })
    })
    .await;
    match rendered {
        Ok(Ok(r)) => Ok({
            let name = format!(
                "{}.pdf",
                p.title.chars().filter(|c| !c.is_control() && !"/\\\"".contains(*c)).collect::<String>()
            );
            (
                [
                    (header::CONTENT_TYPE, "application/pdf".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"item.pdf\"; filename*=UTF-8''{}", percent(&name)),
                    ),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
                r.bytes,
            )
                .into_response()
        }),
        Ok(Err(e)) => Err(e),
        Err(e) => {
            tracing::error!(error = %e, "PDF task failed");
            Err((StatusCode::INTERNAL_SERVER_ERROR, "生成 PDF 失败"))
        }
    }
}

/// RFC 5987 percent-encoding of a file name.
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
#[cfg(test)]
mod tests {
    use super::*;
    use yizhan_core::published::PublicField;

    fn check(key: &str, label: &str, value: &str, expected: (&str, &str)) {
        let f = PublicField { key: key.into(), label: label.into(), value: value.into() };
        let (l, v) = shown(&f);
        assert_eq!((l.as_str(), v.as_str()), expected, "{key}={value}");
    }

    #[test]
    fn fields_are_shown_by_the_shared_conventions() {
        check("industry", "产业", "tea", ("产业", "川茶"));
        check("industry", "产业", "durian", ("产业", "durian"));
        check("reward_fen", "悬赏金额（分）", "2000000", ("悬赏金额", "¥20000.00 元"));
        check("price_fen", "单价（分）", "三块", ("单价（分）", "三块"));
        check("price", "参考价格", "每斤 12 元", ("参考价格", "每斤 12 元"));
    }
}
