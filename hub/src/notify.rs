//! Notices by SMS: an expert is told of an assignment, a case's officer of an answer.
//!
//! Sending never blocks nor fails the action that caused it: the hub queues the notice
//! ([`NOTICE_QUEUE_MAX`]; a full queue drops it with a log line) and one background task sends
//! them one at a time through the node's [`SmsSender`] (the sign-in codes' sender, chosen by
//! `[sms]`). Once per event: the event's id is recorded in the node-local table
//! `notices_sent` before the message goes out, so a repeated event (a retry, a merge) is not
//! sent twice — at most once, a send that fails is logged and not retried. The desk and the
//! kiosk show assignments and answers whether or not an SMS went out. The texts carry the
//! case's subject and county only: never the farmer's name or phone. No log line carries a
//! phone number.

use std::sync::Arc;

use tokio::sync::mpsc;
use yizhan_accounts::{Accounts, SmsSender};
use yizhan_core::{CaseDoc, RegionCode};
use yizhan_store::Store;

/// Notices waiting to be sent; more are dropped (logged).
pub const NOTICE_QUEUE_MAX: usize = 256;
/// A case's subject is quoted up to this many characters.
pub const NOTICE_SUBJECT_CHARS_MAX: usize = 20;

/// One message to one person, for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub event_id: String,
    pub person_id: String,
    pub text: String,
}

/// The queue of notices (cheap to clone).
#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::Sender<Notice>,
}

impl Notifier {
    /// Starts the background sender.
    pub fn start(store: Store, accounts: Accounts) -> Notifier {
        let (tx, rx) = mpsc::channel(NOTICE_QUEUE_MAX);
        tokio::spawn(run(rx, store, accounts.clone(), accounts.sms()));
        Notifier { tx }
    }

    /// Queues a notice; a full queue drops it (logged).
    pub fn enqueue(&self, notice: Notice) {
        match self.tx.try_send(notice) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(n)) => tracing::warn!(
                event = %n.event_id,
                person = %n.person_id,
                max = NOTICE_QUEUE_MAX,
                "notice queue full: SMS dropped"
            ),
            Err(mpsc::error::TrySendError::Closed(n)) => {
                tracing::warn!(event = %n.event_id, "notice sender stopped: SMS dropped")
            }
        }
    }
}

/// Records `event_id` as notified; false when it already was.
fn mark_sent(
    db: &mut yizhan_store::Db,
    event_id: &str,
    now_ms: i64,
) -> Result<bool, yizhan_store::StoreError> {
    let conn = db.conn();
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS notices_sent (event_id TEXT PRIMARY KEY, sent_ms INTEGER NOT NULL)",
    )?;
    let n = conn.execute(
        "INSERT OR IGNORE INTO notices_sent (event_id, sent_ms) VALUES (?1, ?2)",
        (event_id, now_ms),
    )?;
    Ok(n == 1)
}

async fn run(mut rx: mpsc::Receiver<Notice>, store: Store, accounts: Accounts, sms: Arc<dyn SmsSender>) {
    while let Some(n) = rx.recv().await {
        let now_ms = store.config().clock.now_ms();
        let id = n.event_id.clone();
        match store.call(move |db| mark_sent(db, &id, now_ms)).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(event = %n.event_id, "notice already sent for this event");
                continue;
            }
            Err(e) => {
                tracing::warn!(event = %n.event_id, error = %e, "notice not sent: cannot record it");
                continue;
            }
        }
        let phone = match accounts.open_phone(&n.person_id).await {
            Ok(Some(p)) => p,
            Ok(None) => {
                tracing::info!(person = %n.person_id, event = %n.event_id, "notice not sent by SMS: no phone known here");
                continue;
            }
            Err(e) => {
                tracing::warn!(person = %n.person_id, error = %e, "notice not sent: the person cannot be read");
                continue;
            }
        };
        match sms.send(&phone, &n.text).await {
            Ok(()) => tracing::info!(person = %n.person_id, event = %n.event_id, "notice sent by SMS"),
            Err(e) => {
                tracing::warn!(person = %n.person_id, event = %n.event_id, error = %e, "notice SMS failed")
            }
        }
    }
}

fn subject(case: &CaseDoc) -> String {
    let s: String = case.subject.trim().chars().take(NOTICE_SUBJECT_CHARS_MAX).collect();
    if case.subject.trim().chars().count() > NOTICE_SUBJECT_CHARS_MAX { format!("{s}…") } else { s }
}

fn county_name(case: &CaseDoc) -> String {
    RegionCode::parse(&case.region_code)
        .ok()
        .and_then(|c| c.county())
        .and_then(|c| yizhan_core::regions().get(c.as_str()).map(|r| r.name.clone()))
        .unwrap_or_default()
}

/// The text an expert gets when a case is assigned to her.
pub fn assigned_text(case: &CaseDoc) -> String {
    let county = county_name(case);
    let place = if county.is_empty() { String::new() } else { format!("（{county}）") };
    format!(
        "{}您有新的待答复案件：{}{place}，请在3小时内答复。",
        yizhan_accounts::sms::SMS_SIGNATURE,
        subject(case)
    )
}

/// The text a case's officer gets when an expert answered it.
pub fn answered_text(case: &CaseDoc) -> String {
    format!(
        "{}您上报的案件“{}”已有专家答复，请在驿站查看。",
        yizhan_accounts::sms::SMS_SIGNATURE,
        subject(case)
    )
}

/// Queues the notice of an event just written on `case_id`: the assigned expert, or the
/// case's officer after an answer. Reads the case; any failure is logged, never returned.
pub async fn event_written(hub: &crate::Hub, case_id: &str, event_id: &str) {
    let id = case_id.to_string();
    let case = match hub.store.call(move |db| db.load_doc(&id)).await {
        Ok(Some(doc)) => match CaseDoc::from_doc(&doc) {
            Ok(c) => c,
            Err(_) => return,
        },
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(case = %case_id, error = %e, "notice not queued: cannot read the case");
            return;
        }
    };
    let Some(ev) = case.events.iter().find(|e| e.id == event_id) else { return };
    let (person_id, text) = match ev.kind() {
        yizhan_core::EventKind::Assigned => (ev.target.clone(), assigned_text(&case)),
        yizhan_core::EventKind::Answered => (case.officer_id.clone(), answered_text(&case)),
        _ => return,
    };
    if person_id.is_empty() {
        return;
    }
    hub.notices.enqueue(Notice { event_id: event_id.to_string(), person_id, text });
}
