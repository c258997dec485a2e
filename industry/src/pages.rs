//! The module's public page bodies (no sign-in, the same markup at hubs and kiosks): the list
//! of records with its filters (kind or database, industry, region) and search, and one
//! record's page: its fields, text, photos, IP owner (知识产权归属), who reviewed and signed it
//! off, and 相关信息. Nodes wrap them in their shell (`yizhan_web::Shell`).

use maud::{Markup, html};
use yizhan_core::{Industry, regions};
use yizhan_web::fmt;

use crate::catalogue::{Filter, Record, Related};
use crate::kinds;

/// The list's path at every node.
pub const LIST_PATH: &str = "/industry";

/// A record's page path.
pub fn record_href(public_id: &str) -> String {
    format!("{LIST_PATH}/{public_id}")
}

fn kind_zh(kind: &str) -> &'static str {
    kinds::kind(kind).map_or("产业信息", |k| k.name_zh)
}

/// A field's value as people read it: regions and industries by name.
pub fn field_value(key: &str, value: &str) -> String {
    match key {
        kinds::F_REGION => kinds::region(value).map_or(value.to_string(), |r| {
            let name = fmt::region(r.as_str());
            if name.is_empty() { value.to_string() } else { name }
        }),
        kinds::F_INDUSTRY => kinds::industry(value).map_or(value.to_string(), |i| i.name_zh().to_string()),
        kinds::F_DATABASE => kinds::database(value).map_or(value.to_string(), |(_, zh)| zh.to_string()),
        _ => value.to_string(),
    }
}

/// The list page's body: filters, how many match, the records.
pub fn list(filter: &Filter, total: usize, shown: &[std::sync::Arc<Record>]) -> Markup {
    let sel = |a: &str, b: &str| a == b;
    let cities = regions().children("51");
    html! {
        section.card.industry data-testid="industry" {
            h1 { "产业信息" }
            p.muted { "宏观产业资讯与地方特色产业，四个关联数据库：产业现状、龙头企业、技术依托单位、发展趋势。经审核签发后公开。" }
            form.filters method="get" action=(LIST_PATH) data-testid="industry-filters" {
                label { "搜索 " input type="search" name="q" value=(filter.q) maxlength=(crate::catalogue::QUERY_CHARS_MAX) placeholder="如 猕猴桃、藏茶、合作社"; }
                label { "类别 "
                    select name="kind" {
                        option value="" { "全部" }
                        @for k in kinds::kinds() {
                            @let short = k.name.strip_prefix(kinds::KIND_PREFIX).unwrap_or(k.name);
                            option value=(short) selected[sel(&filter.kind, short)] { (k.name_zh) }
                        }
                    }
                }
                label { "数据库 "
                    select name="db" {
                        option value="" { "全部" }
                        @for (code, zh) in kinds::DATABASES { option value=(code) selected[sel(&filter.db, code)] { (zh) } }
                    }
                }
                label { "产业 "
                    select name="industry" {
                        option value="" { "全部" }
                        @for i in Industry::ALL { option value=(i.code()) selected[sel(&filter.industry, i.code())] { (i.name_zh()) } }
                    }
                }
                label { "地区 "
                    select name="region" {
                        option value="" { "全省" }
                        @for c in &cities {
                            option value=(c.code) selected[sel(&filter.region, &c.code)] { (c.name) }
                        }
                        @if !filter.region.is_empty() && !cities.iter().any(|c| c.code == filter.region) {
                            option value=(filter.region) selected { (fmt::region(&filter.region)) }
                        }
                    }
                }
                button.primary type="submit" { "筛选" }
            }
            p.muted data-testid="industry-count" { "共 " (total) " 条" @if total > shown.len() { "，显示最新的 " (shown.len()) " 条" } }
            @if shown.is_empty() { p.muted data-testid="industry-empty" { "暂无符合条件的产业信息" } }
            @else {
                ul.industry-list data-testid="industry-list" {
                    @for r in shown {
                        li data-id=(r.doc.id) {
                            a href=(record_href(&r.doc.id)) { b { (r.doc.title) } }
                            br;
                            span.muted {
                                (kind_zh(&r.doc.kind)) " · " (field_value(kinds::F_DATABASE, r.field(kinds::F_DATABASE)))
                                " · " (field_value(kinds::F_INDUSTRY, r.field(kinds::F_INDUSTRY)))
                                " · " (field_value(kinds::F_REGION, r.field(kinds::F_REGION)))
                                " · " (r.field(kinds::F_DATE))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One record's page body, with 相关信息.
pub fn record(r: &Record, related: &[Related]) -> Markup {
    let p = &r.doc;
    let e = &r.entities;
    html! {
        article.card.public-item.industry-record data-testid="industry-record" {
            p.muted {
                a href=(LIST_PATH) { "产业信息" } " · " (kind_zh(&p.kind)) " · "
                (field_value(kinds::F_DATABASE, r.field(kinds::F_DATABASE))) " · 发布于 " (fmt::time_short(p.published_at_ms))
            }
            h1 { (p.title) }
            dl data-testid="industry-fields" {
                @for f in &p.fields {
                    dt { (f.label) } dd { (field_value(&f.key, &f.value)) }
                }
            }
            div.body { (p.body) }
            @let photos: Vec<_> = p.attachments.values().filter(|a| a.kind == "photo" && a.role == "display").collect();
            @if !photos.is_empty() {
                div.photos data-testid="industry-photos" {
                    @for a in photos {
                        @let original = p.attachments.values().find(|o| o.group == a.group && o.role == "original").unwrap_or(a);
                        a href=(format!("/items/{}/photos/{}", p.id, original.hash)) {
                            img src=(format!("/items/{}/photos/{}", p.id, a.hash)) alt=(a.name) loading="lazy";
                        }
                    }
                }
            }
            p.owner data-testid="industry-owner" {
                "知识产权归属：" b data-testid="ip-owner" { (p.ip_owner) }
                br;
                "发布单位：" (fmt::region(&p.centre)) "运管中心 · 审核：" (p.reviewed_by) " · 签发：" (p.signed_off_by)
            }
            p { a.button href=(yizhan_web::published::pdf_href(&p.id)) data-testid="public-pdf" download { "下载 PDF（带水印）" } }
            @let tags = entity_tags(e);
            @if !tags.is_empty() {
                p.entities data-testid="industry-entities" {
                    "智能解析：" @for (class, t) in &tags { span class=(format!("tag {class}")) { (t) } " " }
                }
            }
        }
        section.card.related data-testid="related" {
            h2 { "相关信息" }
            @if related.is_empty() { p.muted { "暂无相关信息" } }
            @else {
                ul.industry-list {
                    @for rel in related {
                        li data-id=(rel.record.doc.id) {
                            a href=(record_href(&rel.record.doc.id)) { (rel.record.doc.title) }
                            br;
                            span.muted {
                                (kind_zh(&rel.record.doc.kind)) " · 共同："
                                (rel.shared.iter().map(|s| s.name_zh()).collect::<Vec<_>>().join("、"))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The extracted entities as labelled tags.
fn entity_tags(e: &crate::entities::Entities) -> Vec<(&'static str, String)> {
    let mut tags = Vec::new();
    for code in &e.regions {
        if let Some(r) = regions().get(code) {
            tags.push(("region", r.name.clone()));
        }
    }
    for code in &e.industries {
        if let Some(i) = Industry::from_code(code) {
            tags.push(("industry", i.name_zh().to_string()));
        }
    }
    tags.extend(e.crops.iter().map(|c| ("crop", c.clone())));
    tags.extend(e.enterprises.iter().map(|c| ("enterprise", c.clone())));
    tags.extend(e.institutions.iter().map(|c| ("institution", c.clone())));
    tags
}
