//! The page bodies of 农村双创平台, the same at hubs and kiosks: the map page (`/innovation`:
//! filters, the map drawn by `assets/web/innovation.js` from the JSON the page names, and the
//! same platforms as a table, so the page says everything without its script), the centre's
//! registration form, and the 基地选择的参考 section beside a record (the nearest platforms
//! serving its industry, with the distance).

use maud::{Markup, html};
use yizhan_core::Industry;
use yizhan_core::region;

use crate::platform::{LEVELS, NEAREST_MAX, PLATFORM_TYPES, Platform, PlatformFilter};

/// The map page's public path, and its JSON's.
pub const PAGE_PATH: &str = "/innovation";
pub const API_PATH: &str = "/api/innovation";
/// Platforms read for the map at most (the store's list bound).
pub const PLATFORMS_MAX: u32 = 500;

/// The filter as a query string (`type=...&level=...`), empty fields left out.
pub fn query_string(f: &PlatformFilter) -> String {
    let pairs =
        [("type", &f.platform_type), ("level", &f.level), ("industry", &f.industry), ("city", &f.city)];
    let mut out = String::new();
    for (k, v) in pairs {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        // Codes only (letters, digits, underscores): anything else is dropped, not escaped.
        out.extend(v.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_'));
    }
    out
}

/// `/innovation`: filters, the map (drawn by the script from `data-api`), the table.
/// `maps_path`: where the Sichuan map file is served (`yizhan_web::assets::MAPS_PATH`).
pub fn page(filter: &PlatformFilter, platforms: &[Platform], maps_path: &str, staff: bool) -> Markup {
    let qs = query_string(filter);
    let api = if qs.is_empty() { API_PATH.to_string() } else { format!("{API_PATH}?{qs}") };
    let cities = region::regions().children("51");
    html! {
        section.card.innovation data-testid="innovation" {
            h1 { "农村双创平台" }
            p.muted { "星创天地、众创空间、科技企业孵化器、农业科技园区：由各级运管中心登记，经两人审核签发后公开。" }
            @if staff { p { a.button href=(format!("{PAGE_PATH}/new")) data-testid="new-platform" { "＋ 登记双创平台" } } }
            form.filters method="get" action=(PAGE_PATH) data-testid="innovation-filters" {
                label { "类型 "
                    select name="type" data-testid="filter-type" {
                        option value="" selected[filter.platform_type.is_empty()] { "全部" }
                        @for (c, n) in PLATFORM_TYPES { option value=(c) selected[filter.platform_type == *c] { (n) } }
                    }
                }
                label { "级别 "
                    select name="level" data-testid="filter-level" {
                        option value="" selected[filter.level.is_empty()] { "全部" }
                        @for (c, n) in LEVELS { option value=(c) selected[filter.level == *c] { (n) } }
                    }
                }
                label { "产业 "
                    select name="industry" data-testid="filter-industry" {
                        option value="" selected[filter.industry.is_empty()] { "全部" }
                        @for i in Industry::ALL { option value=(i.code()) selected[filter.industry == i.code()] { (i.name_zh()) } }
                    }
                }
                label { "市（州） "
                    select name="city" data-testid="filter-city" {
                        option value="" selected[filter.city.is_empty()] { "全省" }
                        @for c in &cities { option value=(c.code) selected[filter.city == c.code] { (c.name) } }
                    }
                }
                button type="submit" data-testid="filter-submit" { "筛选" }
            }
            p { "共 " b data-testid="platform-count" { (platforms.len()) } " 个平台" }
            div.innovation-map #innovation-map data-api=(api) data-map=(format!("{maps_path}/sichuan.json")) data-testid="innovation-map" {}
            @if platforms.is_empty() { p.muted { "暂无符合条件的平台" } }
            div.table-scroll {
                table.platforms data-testid="platform-table" {
                    thead { tr { th { "名称" } th { "类型" } th { "级别" } th { "地区" } th { "服务产业" } th { "运营单位" } } }
                    tbody {
                        @for p in platforms {
                            tr data-testid="platform" data-id=(p.id) {
                                td { a href=(format!("/items/{}", p.id)) { (p.name) } }
                                td { (p.type_zh) }
                                td { (p.level_zh) }
                                td { (p.region_name) }
                                td { (p.industries_zh.join("、")) }
                                td { (p.operator) @if !p.org_phone.is_empty() { br; span.muted { (p.org_phone) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The centre's registration form, posting to `action` (already passed through
/// `yizhan_web::action`); `problem`: why the last attempt was refused.
pub fn form(action: &str, problem: Option<&str>) -> Markup {
    html! {
        section.card.innovation {
            h1 { "登记农村双创平台" }
            p.muted { "保存为草稿后可在条目页添加照片，再提交审核；经本中心另两人审核、签发后公开。联系电话只填单位座机，不填个人手机号。" }
            @if let Some(p) = problem { p.error role="alert" data-testid="form-error" { (p) } }
            form.listing-form method="post" action=(action) data-testid="platform-form" {
                label { "平台名称 " input type="text" name="title" required maxlength="100"; }
                label { "平台类型 "
                    select name="platform_type" required {
                        option value="" { "请选择" }
                        @for (c, n) in PLATFORM_TYPES { option value=(c) { (n) } }
                    }
                }
                label { "级别 "
                    select name="level" required {
                        option value="" { "请选择" }
                        @for (c, n) in LEVELS { option value=(c) { (n) } }
                    }
                }
                label { "所在地区代码（县或乡镇） " input type="text" name="region" required inputmode="numeric" maxlength="12"; }
                label { "经度（东经，度） " input type="text" name="longitude" required inputmode="decimal" maxlength="12" placeholder="103.52"; }
                label { "纬度（北纬，度） " input type="text" name="latitude" required inputmode="decimal" maxlength="12" placeholder="30.20"; }
                fieldset.industries {
                    legend { "服务产业（可多选）" }
                    @for i in Industry::ALL {
                        label.check { input type="checkbox" name="industries" value=(i.code()); " " (i.name_zh()) }
                    }
                }
                label { "运营单位 " input type="text" name="operator" required maxlength="100"; }
                label { "单位电话（座机，可不填） " input type="tel" name="org_phone" maxlength="20"; }
                label { "简介 " textarea name="body" required maxlength="2000" rows="4" {} }
                label { "知识产权归属（信息提供单位） " input type="text" name="ip_owner" required maxlength="100"; }
                button type="submit" { "保存草稿" }
            }
        }
    }
}

/// The fields of a submitted registration form (industries from the checkboxes joined by
/// commas); keys the kind does not name are ignored.
pub fn fields_of_form(pairs: &[(String, String)]) -> std::collections::BTreeMap<String, String> {
    let mut fields = std::collections::BTreeMap::new();
    for f in crate::platform::PLATFORM_FIELDS {
        let values: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| k == f.key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect();
        if !values.is_empty() {
            fields.insert(f.key.to_string(), values.join(","));
        }
    }
    fields
}

/// 基地选择的参考: the nearest platforms serving the record's industry, or nothing when none.
pub fn nearest_section(industry: &str, nearest: &[(&Platform, f64)]) -> Markup {
    let name = Industry::from_code(industry).map_or("该产业", |i| i.name_zh());
    html! {
        section.card.nearest-platforms data-testid="nearest-platforms" {
            h2 { "基地选择的参考：附近的双创平台" }
            @if nearest.is_empty() {
                p.muted { "暂无服务" (name) "的已公开双创平台。" a href=(PAGE_PATH) { "查看双创平台地图" } }
            } @else {
                p.muted { "服务" (name) "、距离最近的 " (NEAREST_MAX) " 个平台（直线距离；记录无坐标时按所在县或市的中心计算）。" }
                ol.nearest {
                    @for (p, km) in nearest {
                        li data-testid="nearest" data-id=(p.id) {
                            a href=(format!("/items/{}", p.id)) { (p.name) }
                            " " span.tag { (p.type_zh) } " " span.tag { (p.level_zh) }
                            " " span.muted { (p.region_name) } " · "
                            b data-testid="distance" { (format!("{km:.0}")) " 公里" }
                        }
                    }
                }
            }
        }
    }
}

/// The 基地选择的参考 section for a record of `industry` in `region` (its centre point), or
/// nothing when the record names no industry or lies nowhere (a province-wide record).
pub fn suggestion(platforms: &[Platform], region: &str, industry: &str) -> Option<Markup> {
    let industry = industry.trim();
    Industry::from_code(industry)?;
    let from = crate::platform::locate(region.trim(), None)?;
    Some(nearest_section(industry, &crate::platform::nearest(platforms, industry, from)))
}
