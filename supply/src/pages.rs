//! The module's page bodies, the same at hubs and kiosks (the node renders them in its
//! `yizhan_web::Shell`): the public list of listings with its filters, and the form a village
//! officer (at the kiosk) or centre staff (at the hub) drafts a listing with.

use maud::{Markup, html};
use yizhan_core::Industry;
use yizhan_web::fmt;

use crate::{DEMAND, Filter, Listing, OFFER};

/// The public list at `base` (`/supply`): filters by kind, industry and region, then one card
/// per listing with its price, validity and who to ask.
pub fn list(base: &str, listings: &[Listing], filter: &Filter, now_ms: i64) -> Markup {
    html! {
        section.card.market data-testid="supply-list" {
            h1 { "供销对接" }
            p.muted { "平台只负责对接供需信息，不参与买卖、不作担保、不收取任何费用。联系请通过村级驿站或运管中心。" }
            form.filters method="get" action=(base) {
                label { "类别 "
                    select name="kind" {
                        option value="" selected[filter.kind.is_empty()] { "全部" }
                        option value=(OFFER) selected[filter.kind == OFFER] { "供应" }
                        option value=(DEMAND) selected[filter.kind == DEMAND] { "求购" }
                    }
                }
                (industry_select(&filter.industry, true))
                label { "地区代码 " input type="text" name="region" value=(filter.region) inputmode="numeric" maxlength="12" placeholder="如 510131"; }
                label.check { input type="checkbox" name="expired" value="1" checked[filter.show_expired]; " 含已过期" }
                button type="submit" { "筛选" }
            }
            @if listings.is_empty() { p.muted data-testid="supply-empty" { "暂无符合条件的供求信息" } }
            ul.listings {
                @for l in listings {
                    @let expired = l.is_expired(now_ms);
                    li.listing.expired[expired] data-testid="listing" {
                        span.tag { (l.kind_zh()) }
                        @if expired { " " span.tag.expired data-testid="expired" { "已过期" } }
                        " " a href=(format!("/items/{}", l.id)) { (l.title) }
                        div.facts {
                            span { (fmt::industry_or(&l.industry, "其他")) }
                            " · " span { (l.product) }
                            @if !l.quantity.is_empty() { " · " span { (l.quantity) " " (l.unit) } }
                            " · " span.price { (l.price_zh()) }
                        }
                        div.muted {
                            (fmt::region(l.region()))
                            @if let Some(t) = l.valid_to { " · 有效期至 " (yizhan_core::holidays::format_day(t)) }
                        }
                        div.contact { "联系：" (l.contact_zh()) }
                    }
                }
            }
        }
    }
}

/// The industry `<select>` (with "全部" first when `any`).
pub fn industry_select(selected: &str, any: bool) -> Markup {
    html! {
        label { "产业 "
            select name="industry" required[!any] {
                @if any { option value="" selected[selected.is_empty()] { "全部" } }
                @else { option value="" { "请选择" } }
                @for i in Industry::ALL {
                    option value=(i.code()) selected[selected == i.code()] { (i.name_zh()) }
                }
            }
        }
    }
}

/// The drafting form, posting to `action` (already passed through `yizhan_web::action`).
/// `village`: the station's village (fixed), or `None` at a centre (a cooperative's or an
/// enterprise's listing, the village optional).
pub fn form(action: &str, village: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        section.card.market {
            h1 { "登记供求信息" }
            p.muted { "请勿填写手机号、身份证号等个人信息：买家通过驿站或运管中心联系。信息经县运管中心审核、签发后公开。" }
            @if let Some(e) = error { p.error role="alert" data-testid="form-error" { (e) } }
            form.listing-form method="post" action=(action) {
                label { "类别 "
                    select name="kind" required {
                        option value=(OFFER) { "供应（卖出农产品）" }
                        option value=(DEMAND) { "求购（买入农资或服务）" }
                    }
                }
                label { "标题 " input type="text" name="title" required maxlength="100" placeholder="如：蒲江丑柑 5000 斤待售"; }
                label { "品名或服务 " input type="text" name="product" required maxlength="50"; }
                (industry_select("", false))
                div.row {
                    label { "数量 " input type="text" name="quantity" inputmode="decimal" maxlength="14"; }
                    label { "单位 " input type="text" name="unit" maxlength="10" placeholder="斤、吨、头"; }
                }
                label { "单价（元，不填为面议） " input type="text" name="price" inputmode="decimal" maxlength="14"; }
                div.row {
                    label { "开始日期 " input type="date" name="valid_from"; }
                    label { "截止日期 " input type="date" name="valid_to" required; }
                }
                @match village {
                    Some(v) => p.muted data-testid="station-village" { "所在村：" (fmt::region(v)) "（联系人为本驿站信息员）" }
                    None => label { "所在地或单位（可不填） " input type="text" name="place" maxlength="50" placeholder="如：某某茶叶专业合作社"; }
                }
                label { "说明 " textarea name="body" required maxlength="2000" rows="4" placeholder="品质、规格、交货方式等" {} }
                label { "知识产权归属 / 信息来源 " input type="text" name="ip_owner" required maxlength="100" placeholder="如：某某村种植户（经驿站登记）"; }
                button type="submit" data-testid="listing-submit" { "提交审核" }
            }
        }
    }
}

/// The fields of a listing from a submitted form's pairs: the price typed in yuan becomes fen;
/// empty ones are left out. Errors in Chinese.
pub fn fields_of_form(
    pairs: &[(String, String)],
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let mut fields = std::collections::BTreeMap::new();
    for (k, v) in pairs {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        match k.as_str() {
            "product" | "industry" | "quantity" | "unit" | "valid_from" | "valid_to" | "place" => {
                fields.insert(k.clone(), v.to_string());
            }
            "price" => {
                let fen = fmt::yuan_to_fen(v).filter(|f| *f > 0).ok_or("单价须为金额（元，最多两位小数）")?;
                fields.insert("price_fen".into(), fen.to_string());
            }
            _ => {}
        }
    }
    Ok(fields)
}
