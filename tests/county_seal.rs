//! The farmer's phone reaches the county centre, which opens it to phone back, and no further:
//! a province hub, a county hub and real kiosks (the kiosk application with its HTTP API,
//! field key and feed followers) over real QUIC with real certificates on loopback.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use yizhan_core::SealKeyDoc;
use yizhan_core::private::CasePrivate;
use yizhan_identity::Authority;
use yizhan_store::Store;
use yizhan_test_support::{Kiosk, eventually, start_hub, tls};

const PHONE: &str = "13812345678";
const LATE_PHONE: &str = "13900001111";

/// Everything logged by any test in this binary, to check that no number is ever logged.
static LOGS: std::sync::LazyLock<Arc<Mutex<Vec<u8>>>> = std::sync::LazyLock::new(|| {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let sink = buf.clone();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,quinn=info,quinn_proto=info,rustls=info,h2=info,hyper=info,hyper_util=info,reqwest=info",
        ))
        .with_writer(move || LogSink(sink.clone()))
        .try_init();
    buf
});

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Records a case with the farmer's phone through the kiosk's JSON API; returns its id.
async fn post_case(kiosk: &Kiosk, phone: &str) -> String {
    let form = reqwest::multipart::Form::new()
        .text("industry", "pig")
        .text("subject", "生猪")
        .text("description", "不吃食，发烧")
        .text("region_code", kiosk.state.config.scope.as_str().to_string())
        .text("farmer_name", "王大爷")
        .text("farmer_phone", phone.to_string())
        .text("officer", "李信息员");
    let res = reqwest::Client::builder()
        .default_headers(yizhan_web::client_headers())
        .build()
        .unwrap()
        .post(format!("{}/api/cases", kiosk.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    res.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

async fn private_part(store: &Store, case_id: &str) -> Option<(CasePrivate, usize)> {
    let id = CasePrivate::id_for(case_id);
    let doc = store.call(move |db| db.load_doc(&id)).await.unwrap()?;
    let changes = doc.clone().get_changes(&[]).len();
    Some((CasePrivate::from_doc(&doc).unwrap(), changes))
}

/// Every file under `dir`, recursively (the SQLite database, its WAL, blobs, keys).
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if path.is_file() {
            out.push(path);
        }
    }
    out
}

fn assert_nowhere_in(dir: &Path, needles: &[&str]) {
    for path in files(dir) {
        let bytes = std::fs::read(&path).unwrap();
        for needle in needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} holds {needle:?}",
                path.display()
            );
        }
    }
}

/// Every change of every document in `store`, decoded (values in clear, not deflated).
async fn all_history(store: &Store) -> String {
    store
        .call(|db| {
            let mut text = String::new();
            for entry in db.changes_since(0, 100_000)? {
                if let Some(mut doc) = db.load_doc(&entry.doc_id)? {
                    for change in doc.get_changes(&[]) {
                        text.push_str(&format!("{:?}\n", change.decode()));
                    }
                }
            }
            Ok(text)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_county_opens_the_phone_its_kiosks_seal_to_it_and_the_province_never_holds_it() {
    std::sync::LazyLock::force(&LOGS);
    let now = SystemTime::now();
    let province_ca = Authority::init("province", "51", now).unwrap();
    let county_ca = province_ca.create_child_hub("hub-510131", "510131", now).unwrap();
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let province_tls = tls(province_ca.own_credentials(now).unwrap(), &province_ca);
    let county_tls = tls(county_ca.own_credentials(now).unwrap(), &province_ca);
    let province = start_hub(dirs[0].path(), &province_tls, None).await;
    let county = start_hub(dirs[1].path(), &county_tls, Some((&province, "province"))).await;

    // The county hub made its key on its first start (0600, beside the store) and published
    // the public half; the province made none.
    let key_file = dirs[1].path().join(yizhan_hub::sealing::KEY_FILE);
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(&key_file).unwrap();
        assert_eq!(meta.len(), 32);
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    assert!(!dirs[0].path().join(yizhan_hub::sealing::KEY_FILE).exists());
    let key_id = county.county_key().unwrap().public_key().key_id();
    let published = county.store.call(|db| db.load_doc("seal-key:510131")).await.unwrap().unwrap();
    assert_eq!(SealKeyDoc::from_doc(&published).unwrap().current().unwrap().0, key_id);
    assert!(province.county_key().is_err());

    // A kiosk links to the county, receives the key, then records a case with a phone.
    let kiosk = Kiosk::start(dirs[2].path(), &county_ca, &province_ca, "kiosk-a", "510131001001").await;
    kiosk.link(&county);
    eventually("the kiosk receives the county key", || async {
        kiosk.state.store.call(|db| db.load_doc("seal-key:510131")).await.unwrap().is_some()
    })
    .await;
    let case_id = post_case(&kiosk, PHONE).await;
    // Sealed to the county when the case was recorded: the private part is one change.
    let (private, changes) = private_part(&kiosk.state.store, &case_id).await.unwrap();
    assert!(private.sealed_for_county(&key_id), "record_case did not seal to the county");
    assert_eq!(changes, 1, "sealed afterwards, not when recorded");
    let sealed_county = private.farmer_phone_county.clone();
    let sealed_field = private.farmer_phone_sealed.clone();
    // The kiosk itself cannot open what it sealed to the county.
    assert!(kiosk.state.key.open(&sealed_county).is_err());

    eventually("the county opens the phone", || async {
        county.open_phone(&case_id).await.as_deref() == Some(PHONE)
    })
    .await;
    // The county's page lists the case masked.
    let rows = county.store.call(|db| db.list_cases(&Default::default())).await.unwrap();
    assert_eq!(rows[0].phone_masked, "138****5678");

    // A kiosk that recorded while it had never reached its hub (so without the key) seals the
    // phone once the key arrives, and the county opens it then.
    let late = Kiosk::start(dirs[3].path(), &county_ca, &province_ca, "kiosk-b", "510131002001").await;
    let late_id = post_case(&late, LATE_PHONE).await;
    let (before, _) = private_part(&late.state.store, &late_id).await.unwrap();
    assert_eq!(before.farmer_phone_county, "", "sealed without any key?");
    late.link(&county);
    eventually("the late kiosk's phone opens at the county", || async {
        county.open_phone(&late_id).await.as_deref() == Some(LATE_PHONE)
    })
    .await;
    let (after, _) = private_part(&late.state.store, &late_id).await.unwrap();
    assert!(after.sealed_for_county(&key_id));
    let late_sealed = after.farmer_phone_county.clone();
    // Each kiosk holds only its own village's cases; nothing of one reached the other.
    assert!(private_part(&late.state.store, &case_id).await.is_none());

    // Both cases reach the province, their private parts never do: neither the phone nor any
    // sealed form of it is in any of the province's files, nor its county key.
    eventually("both cases reach the province", || async {
        let (a, b) = (case_id.clone(), late_id.clone());
        province
            .store
            .call(move |db| Ok(db.load_doc(&a)?.is_some() && db.load_doc(&b)?.is_some()))
            .await
            .unwrap()
    })
    .await;
    // Give the county time to (wrongly) send anything more before looking.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(province.open_phone(&case_id).await.is_none());
    let pid = CasePrivate::id_for(&case_id);
    assert!(province.store.call(move |db| db.load_doc(&pid)).await.unwrap().is_none());
    assert!(province.store.call(|db| db.load_doc("seal-key:510131")).await.unwrap().is_none());
    assert_nowhere_in(dirs[0].path(), &[PHONE, LATE_PHONE, &sealed_county, &sealed_field, &late_sealed]);
    // Automerge deflates larger columns, so the files alone could hide a sealed value: every
    // change of every document the province holds, decoded, carries none of them either.
    let history = all_history(&province.store).await;
    assert!(history.contains("510131001001"), "the decoding shows the documents' values");
    for needle in [PHONE, LATE_PHONE, sealed_county.as_str(), sealed_field.as_str(), late_sealed.as_str()] {
        assert!(!history.contains(needle), "the province holds {needle:?}");
    }
    // (The same search finds them at the county, which holds them.)
    let county_history = all_history(&county.store).await;
    assert!(county_history.contains(&sealed_county) && county_history.contains(&late_sealed));

    // A restarted county hub keeps its key: the document is unchanged and phones still open.
    let heads = published.clone().get_heads();
    let key_bytes = std::fs::read(&key_file).unwrap();
    let same =
        yizhan_hub::sealing::publish_county_key(&county.store, "510131", dirs[1].path()).await.unwrap();
    assert_eq!(same, key_id);
    assert_eq!(std::fs::read(&key_file).unwrap(), key_bytes);
    let again = county.store.call(|db| db.load_doc("seal-key:510131")).await.unwrap().unwrap();
    assert_eq!(again.clone().get_heads(), heads);

    // Nothing logged carries a number or a sealed value.
    let logs = String::from_utf8_lossy(&LOGS.lock().unwrap()).to_string();
    assert!(logs.contains("published the county sealing key"), "the log capture works");
    for needle in [PHONE, LATE_PHONE, sealed_county.as_str(), &sealed_county[3..40], late_sealed.as_str()] {
        assert!(!logs.contains(needle), "the logs hold {needle:?}");
    }
}
