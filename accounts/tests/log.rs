//! The development SMS sender writes the masked phone and the code to the log, and no log
//! line of a sign-in carries the phone number or the password (checked at TRACE). A test
//! binary of its own: tracing caches per call site whether anyone listens, so another test
//! running on another thread without a subscriber could silence these lines.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use yizhan_accounts::sms::DevLogSender;
use yizhan_accounts::{Accounts, AccountsConfig};

/// A log writer the test can read.
#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_development_sender_logs_the_masked_phone_and_the_code_never_the_number() {
    let buf = LogBuf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The current-thread runtime runs everything below on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let store = yizhan_store::Store::open(yizhan_store::StoreConfig::new(dir.path())).unwrap();
    let accounts =
        Accounts::new(store, field_key(7), AccountsConfig::default(), Arc::new(DevLogSender), None).unwrap();
    accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    accounts.send_code("li-01").await.unwrap();
    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let line = log.lines().find(|l| l.contains("development sender")).expect("the code is logged");
    assert!(line.contains("INFO"), "{line}");
    assert!(line.contains("138****5678"), "{line}");
    let code: String = line.split("验证码是 ").nth(1).unwrap().chars().take(6).collect();
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{line}");
    accounts.sign_in_code("li-01", &code).await.unwrap();
    accounts.sign_in_password("li-01", "wrong-password").await.unwrap_err();
    accounts.sign_in_password("li-01", PASSWORD).await.unwrap();

    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(!log.contains(PHONE), "no log line carries the phone number");
    assert!(!log.contains(PASSWORD), "nor the password");
    assert!(log.contains("signed in"));
}
