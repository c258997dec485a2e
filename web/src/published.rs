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
