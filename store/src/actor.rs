//! The database thread and its async handle.

use std::thread;

use tokio::sync::{mpsc, oneshot, watch};

use crate::blobs::{BlobWriter, FinishedBlob, NewBlob};
use crate::db::Db;
use crate::{StoreConfig, StoreError};

type Command = Box<dyn FnOnce(&mut Db) + Send>;

/// How often the store looks for changes committed by another process.
const EXTERNAL_WRITE_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// A cloneable async handle to the store. The connection lives on one dedicated thread;
/// every call sends it a closure over a bounded channel and awaits the answer.
#[derive(Clone)]
pub struct Store {
    tx: mpsc::Sender<Command>,
    config: StoreConfig,
    feed: watch::Receiver<i64>,
    fetch_plan: watch::Receiver<u64>,
}

impl Store {
    /// Opens (creating and migrating as needed) the store and starts its thread.
    pub fn open(config: StoreConfig) -> Result<Store, StoreError> {
        let (tx, mut rx) = mpsc::channel::<Command>(config.queue_len.max(1));
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let (feed_tx, feed_rx) = watch::channel(0i64);
        let (plan_tx, plan_rx) = watch::channel(0u64);
        let thread_config = config.clone();
        thread::Builder::new()
            .name("yizhan-store".into())
            .spawn(move || {
                let mut db = match Db::open(thread_config) {
                    Ok(db) => {
                        let _ = ready_tx.send(Ok(()));
                        db
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let mut head = db.feed_head().unwrap_or(0);
                feed_tx.send_replace(head);
                while let Some(cmd) = rx.blocking_recv() {
                    // A bug in one operation (a panic, say in a decoder fed by the network) must
                    // not leave the node without its store: the operation's open transaction
                    // rolls back as it unwinds, its caller gets `StoreError::Panicked`, and the
                    // thread serves the next command.
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cmd(&mut db))).is_err() {
                        // A transaction the operation opened by hand (`Db::batch`) is still open.
                        if !db.conn().is_autocommit()
                            && let Err(e) = db.conn().execute_batch("ROLLBACK")
                        {
                            tracing::error!(error = %e, "cannot roll back after a panicking operation");
                        }
                        tracing::error!("a store operation panicked; its transaction was rolled back");
                    }
                    // Every path that changes a document moves the feed head: announcing it
                    // here means no write path can forget to wake the sync sessions.
                    if let Ok(now) = db.feed_head()
                        && now != head
                    {
                        head = now;
                        feed_tx.send_replace(head);
                    }
                    let plan = db.fetch_plan_epoch();
                    if plan != *plan_tx.borrow() {
                        plan_tx.send_replace(plan);
                    }
                }
            })
            .map_err(|source| StoreError::Io { path: config.dir.clone(), source })?;
        ready_rx.recv().map_err(|_| StoreError::Closed)??;
        // Another process may write the same database (a CLI command next to a running node).
        // A periodic no-op wakes the thread, whose feed check then sees those commits too. The
        // ticker holds only a weak sender, so the thread still ends when every handle is gone.
        let weak = tx.downgrade();
        let _ = thread::Builder::new().name("yizhan-store-tick".into()).spawn(move || {
            loop {
                thread::sleep(EXTERNAL_WRITE_POLL);
                let Some(tx) = weak.upgrade() else { return };
                let _ = tx.try_send(Box::new(|_db: &mut Db| {}));
            }
        });
        Ok(Store { tx, config, feed: feed_rx, fetch_plan: plan_rx })
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Watches the local feed head: it changes whenever any document changes here (recorded
    /// locally or received from a peer). Sync sessions wake on it.
    pub fn subscribe_feed(&self) -> watch::Receiver<i64> {
        self.feed.clone()
    }

    /// Watches what this node should fetch where no document changed (the lecture plan wants
    /// a lecture it did not): blob fetchers wake on it as on the feed.
    pub fn subscribe_fetch_plan(&self) -> watch::Receiver<u64> {
        self.fetch_plan.clone()
    }

    /// A writer for a blob of at most `size_max` bytes. Creating it touches only the blob
    /// directory, not the database, so it may be called from any blocking task.
    pub fn blob_writer(&self, size_max: u64) -> Result<BlobWriter, StoreError> {
        BlobWriter::new(&self.config.dir, size_max)
    }

    /// Runs `round(after)` for the life of the store: again at once while it makes progress
    /// (returns a new feed position), then each time the feed changes. The pattern of every
    /// task that reacts to documents arriving (publishing, indexing, revocation).
    pub async fn follow<F, Fut>(&self, mut after: i64, what: &str, mut round: F)
    where
        F: FnMut(i64) -> Fut,
        Fut: std::future::Future<Output = Result<i64, StoreError>>,
    {
        // Subscribed before the first round, so no change made during a round is missed.
        let mut feed = self.subscribe_feed();
        loop {
            match round(after).await {
                Ok(next) if next != after => {
                    after = next;
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, task = what, "following the feed"),
            }
            if feed.changed().await.is_err() {
                return;
            }
        }
    }

    /// [`Store::follow`] from where the last run of this follower left off: its position is
    /// kept under `key` in the node's settings and saved after every round that moved, so a
    /// restart resumes instead of walking the whole feed again. Rounds must be idempotent (a
    /// crash between a round and the save repeats it).
    pub async fn follow_persisted<F, Fut>(&self, key: &'static str, what: &str, mut round: F)
    where
        F: FnMut(i64) -> Fut,
        Fut: std::future::Future<Output = Result<i64, StoreError>>,
    {
        let start = match self.call(move |db| db.setting(key)).await {
            Ok(v) => v.and_then(|v| v.parse().ok()).unwrap_or(0),
            Err(e) => {
                tracing::warn!(error = %e, task = what, "cannot read the feed position; starting over");
                0
            }
        };
        let store = self.clone();
        self.follow(start, what, move |after| {
            let (fut, store) = (round(after), store.clone());
            async move {
                let next = fut.await?;
                if next != after {
                    store.call(move |db| db.set_setting(key, &next.to_string())).await?;
                }
                Ok(next)
            }
        })
        .await;
    }

    /// Hashes a blob and, if large, writes it durably (still invisible). Synchronous: call it
    /// from a blocking task, then record it with [`crate::Db::create_doc_with`].
    pub fn prepare_blob(&self, bytes: Vec<u8>, mime: &str) -> Result<NewBlob, StoreError> {
        NewBlob::prepare(&self.config.dir, bytes, mime, self.config.inline_blob_bytes_max)
    }

    /// Wraps a streamed blob for [`crate::Db::create_doc_with`]. Synchronous.
    pub fn prepare_finished(&self, blob: FinishedBlob, mime: &str) -> Result<NewBlob, StoreError> {
        NewBlob::from_finished(blob, mime, self.config.inline_blob_bytes_max)
    }

    /// Runs `f` on the database thread and returns its result.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply_tx, reply_rx) = oneshot::channel();
        let cmd: Command = Box::new(move |db| {
            let _ = reply_tx.send(f(db));
        });
        self.tx.send(cmd).await.map_err(|_| StoreError::Closed)?;
        // The reply is dropped unsent only when the operation panicked.
        reply_rx.await.map_err(|_| StoreError::Panicked)?
    }
}
