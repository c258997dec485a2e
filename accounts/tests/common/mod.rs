//! Shared test fixtures: a store in a temporary directory, a clock the test moves, an SMS
//! sender that keeps what it was asked to send.
#![allow(clippy::unwrap_used, dead_code)]

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use yizhan_accounts::sms::{SmsError, SmsFuture, SmsSender};
use yizhan_accounts::{Accounts, AccountsConfig};
use yizhan_core::{FieldKey, NewPerson};
use yizhan_store::{Store, StoreClock, StoreConfig};

pub const T0: i64 = 1_780_000_000_000;
pub const PASSWORD: &str = "蒲江-猕猴桃-2026";
pub const PHONE: &str = "13812345678";

/// A clock that stands still until the test moves it.
#[derive(Clone)]
pub struct TestClock(pub Arc<AtomicI64>);

impl TestClock {
    pub fn new() -> TestClock {
        TestClock(Arc::new(AtomicI64::new(T0)))
    }
    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    pub fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    pub fn store_clock(&self) -> StoreClock {
        let t = self.0.clone();
        StoreClock(Arc::new(move || t.load(Ordering::SeqCst)))
    }
}

/// Keeps every message instead of sending it; fails while `fail` is set.
#[derive(Default)]
pub struct CapturingSender {
    pub sent: Mutex<Vec<(String, String)>>,
    pub fail: AtomicBool,
}

impl CapturingSender {
    pub fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
    /// The six digits of the last message.
    pub fn last_code(&self) -> String {
        let sent = self.sent.lock().unwrap();
        let (_, text) = sent.last().expect("a message was sent");
        let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
        // The text also says "5 分钟": the code is the first six digits.
        digits[..6].to_string()
    }
}

impl SmsSender for CapturingSender {
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> SmsFuture<'a> {
        Box::pin(async move {
            if self.fail.load(Ordering::SeqCst) {
                return Err(SmsError::Unreachable("test gateway down".into()));
            }
            self.sent.lock().unwrap().push((phone.to_string(), text.to_string()));
            Ok(())
        })
    }
}

pub struct Node {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub accounts: Accounts,
    pub clock: TestClock,
    pub sms: Arc<CapturingSender>,
}

pub fn field_key(byte: u8) -> FieldKey {
    FieldKey::from_bytes(&[byte; 32]).unwrap()
}

pub fn node_with(webauthn: Option<webauthn_rs::Webauthn>, key: u8) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::new();
    let mut config = StoreConfig::new(dir.path());
    config.clock = clock.store_clock();
    let store = Store::open(config).unwrap();
    let sms = Arc::new(CapturingSender::default());
    let accounts =
        Accounts::new(store.clone(), field_key(key), AccountsConfig::default(), sms.clone(), webauthn)
            .unwrap();
    Node { dir, store, accounts, clock, sms }
}

pub fn node() -> Node {
    node_with(None, 7)
}

/// An information officer of 鹤山街道's village 001 in 蒲江县.
pub fn officer(id: &str) -> NewPerson {
    NewPerson {
        id: id.into(),
        name: "李秀英".into(),
        role: "信息员".into(),
        region_code: "510131001001".into(),
        industries: vec!["fruit".into()],
        phone: PHONE.into(),
        ..NewPerson::default()
    }
}

/// Marks a person inactive (she left the service).
pub async fn deactivate(store: &Store, id: &str) {
    let doc_id = yizhan_core::Person::doc_id(id);
    store
        .call(move |db| {
            db.update_doc(&doc_id, |doc| {
                let mut p = yizhan_core::Person::from_doc(doc).unwrap();
                p.active = false;
                p.update_doc(doc)
            })
        })
        .await
        .unwrap()
        .unwrap();
}
