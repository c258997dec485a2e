//! `yizhan demo`: a province hub, a county hub and two village kiosks on this machine, with
//! certificates made on the fly, so a newcomer can record a case and watch it travel.

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Context;
use yizhan_identity::{Authority, NodeIdentity, Role, TrustRoots};

use crate::localhost;
use crate::nodes::{pki_dir, start_hub, start_kiosk};

const PROVINCE: &str = "province";
const COUNTY: &str = "hub-510131";
const COUNTY_SCOPE: &str = "510131"; // 蒲江县
const KIOSKS: [(&str, &str); 2] =
    [("kiosk-510131001001", "510131001001"), ("kiosk-510131002001", "510131002001")];

/// Every demo account's password (printed by `yizhan demo`).
pub const DEMO_PASSWORD: &str = "yizhan2026";

type DemoPerson = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// (id, name, role, region, industries, specialities)
const COUNTY_PEOPLE: [DemoPerson; 8] = [
    ("admin", "蒲江县管理员", "admin", COUNTY_SCOPE, &[], &[]),
    ("staff", "张敏", "staff", COUNTY_SCOPE, &[], &[]),
    ("expert-fruit", "李果", "expert", COUNTY_SCOPE, &["fruit"], &["柑橘病害", "猕猴桃栽培", "果树修剪"]),
    ("expert-tea", "王春茶", "expert", COUNTY_SCOPE, &["tea"], &["茶树病虫害", "茶叶加工"]),
    ("expert-veg", "陈蔬", "expert", COUNTY_SCOPE, &["vegetable", "grain_oil"], &["蔬菜病害", "水稻病虫害"]),
    ("expert-pig", "赵兽医", "expert", COUNTY_SCOPE, &["pig", "cattle_sheep"], &["生猪疫病", "母猪繁育"]),
    ("officer-1", "刘信息员", "officer", KIOSKS[0].1, &[], &[]),
    ("officer-2", "周信息员", "officer", KIOSKS[1].1, &[], &[]),
];

const PROVINCE_PEOPLE: [DemoPerson; 3] = [
    ("province-admin", "省管理员", "admin", "51", &[], &[]),
    ("province-staff", "黄运营", "staff", "51", &[], &[]),
    ("expert-province", "吴教授", "expert", "51", &["fruit", "vegetable", "tea"], &["果树病害", "植物病理"]),
];

/// Creates the demo's people on a hub (once; later starts find them).
async fn seed_people(hub: &yizhan_hub::Hub, people: &[DemoPerson]) -> anyhow::Result<()> {
    for (id, name, role, region, industries, specialities) in people {
        let np = yizhan_core::NewPerson {
            id: (*id).into(),
            name: (*name).into(),
            role: (*role).into(),
            region_code: (*region).into(),
            industries: industries.iter().map(|s| s.to_string()).collect(),
            specialities: specialities.iter().map(|s| s.to_string()).collect(),
            title: if *role == "expert" { "高级农艺师".into() } else { String::new() },
            ..Default::default()
        };
        match hub.accounts.create_person(&np, Some(DEMO_PASSWORD)).await {
            Ok(_) | Err(yizhan_accounts::AccountError::Exists(_)) => {}
            Err(e) => anyhow::bail!("creating demo person {id}: {e}"),
        }
    }
    Ok(())
}

/// Loads the CA kept in `dir/pki`, or makes it with `make` on first run.
fn authority(
    dir: &std::path::Path,
    make: impl FnOnce() -> anyhow::Result<Authority>,
) -> anyhow::Result<Authority> {
    let pki = pki_dir(dir);
    if pki.join("ca.key").exists() {
        return Authority::load(&pki, SystemTime::now())
            .with_context(|| format!("loading {}", pki.display()));
    }
    let a = make()?;
    a.save(&pki)?;
    Ok(a)
}

pub async fn run(base: PathBuf, port: u16) -> anyhow::Result<()> {
    let now = SystemTime::now();
    let province_dir = base.join("province");
    let county_dir = base.join("county-510131");
    let province_ca = authority(&province_dir, || Ok(Authority::init(PROVINCE, "51", now)?))?;
    authority(&county_dir, || Ok(province_ca.create_child_hub(COUNTY, COUNTY_SCOPE, now)?))?;
    let county_ca = Authority::load(&pki_dir(&county_dir), now)?;

    let province = start_hub(province_dir, localhost(port + 3), localhost(0), None).await?;
    let county = start_hub(
        county_dir,
        localhost(port + 2),
        localhost(0),
        Some((province.sync_addr, PROVINCE.to_string())),
    )
    .await?;

    seed_people(&county, &COUNTY_PEOPLE).await?;
    seed_people(&province, &PROVINCE_PEOPLE).await?;

    let mut kiosk_urls = Vec::new();
    for (i, (node_id, village)) in KIOSKS.iter().enumerate() {
        let dir = base.join(node_id);
        let pki = pki_dir(&dir);
        let roots: TrustRoots = county_ca.roots().clone();
        let creds = match yizhan_identity::NodeCredentials::load(&pki) {
            Ok(creds) => creds,
            Err(_) => {
                let creds =
                    county_ca.issue_credentials(&NodeIdentity::new(node_id, Role::Kiosk, village)?, now)?;
                creds.save(&pki)?;
                roots.save(&pki)?;
                creds
            }
        };
        let tls = yizhan_net::NodeTls {
            creds: std::sync::Arc::new(creds),
            revocation: std::sync::Arc::new(yizhan_identity::RevocationState::new(roots.clone())),
            roots,
            clock: yizhan_identity::system_clock(),
        };
        let uplink = Some((county.sync_addr, COUNTY.to_string(), tls));
        let (state, listener) =
            start_kiosk(dir, localhost(port + i as u16), village, None, i == 0, uplink).await?;
        kiosk_urls.push((node_id.to_string(), village.to_string(), listener.local_addr()?));
        tokio::spawn(async move {
            if let Err(e) = yizhan_kiosk::serve(state, listener).await {
                tracing::error!(error = %e, "kiosk stopped");
            }
        });
    }

    println!("驿站 demo running (data in {}):", base.display());
    for (id, village, addr) in &kiosk_urls {
        println!("  kiosk {id} ({}): http://{addr}/", yizhan_core::regions().path_name(village));
    }
    println!("  county hub {COUNTY} (蒲江县): http://{}/", county.http_addr);
    println!("  province hub {PROVINCE}: http://{}/", province.http_addr);
    println!(
        "  demo accounts (password {DEMO_PASSWORD}), sign in at /desk on the hubs and /signin on the kiosks:"
    );
    for (id, name, role, region, ..) in COUNTY_PEOPLE.iter().chain(PROVINCE_PEOPLE.iter()) {
        println!("    {id:<16} {name} ({role}, {})", yizhan_core::regions().path_name(region));
    }
    println!(
        "Record a case on a kiosk, then watch it arrive on the county and province pages. Ctrl-C stops."
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
