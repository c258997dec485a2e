//! The synchronous store: what the database thread runs. Usable directly in tests and tools.

use std::fs;
use std::path::{Path, PathBuf};

use automerge::AutoCommit;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::blobs::{self, BlobBody, BlobInfo, BlobWriter, FinishedBlob, Hash, NewBlob};
use crate::{StoreConfig, StoreError, io_err, migrations, projection};

/// Upper bound on one listing page.
pub const LIST_LIMIT_MAX: u32 = 500;

pub struct Db {
    pub(crate) conn: Connection,
    config: StoreConfig,
    /// This process's hold on the data directory, released when the store closes; `None` for a
    /// maintenance command working beside a running node ([`Db::open_alongside`]).
    _lock: Option<crate::lock::DirLock>,
    /// Sync sessions of this process (their order, and each peer's session of record).
    pub(crate) sessions: crate::sync::Sessions,
    /// Moves whenever what this node should fetch changes for a reason other than a document
    /// (the lecture plan): blob fetchers idle on the feed would not see it otherwise.
    pub(crate) fetch_plan_epoch: u64,
}

/// One row of the case projection, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseRow {
    pub id: String,
    pub region_code: String,
    pub village_name: String,
    pub industry: String,
    pub subject: String,
    pub description: String,
    pub farmer_name: String,
    pub phone_masked: String,
    pub officer: String,
    pub status: String,
    pub expert: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub photo_count: i64,
    pub video_count: i64,
    pub thumb_hash: String,
    /// True while the case has changes its parent hub has not acknowledged.
    pub unsynced: bool,
    /// True when the parent hub holds the case whole: its documents and the copies the county
    /// needs (`held::case_at_parent`). Filled by [`Db::list_cases`] only.
    pub at_parent: bool,
}

#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Option<String>,
    pub industry: Option<String>,
    /// Matched as a substring of subject, description, village, farmer name or officer.
    pub text: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedEntry {
    pub seq: i64,
    pub doc_id: String,
    pub doc_type: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Pending,
    Running,
    Done,
    Failed,
}

impl JobState {
    fn code(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }
    fn parse(s: &str) -> JobState {
        match s {
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            _ => JobState::Pending,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub doc_id: String,
    pub blob_hash: String,
    pub state: JobState,
    pub progress: f64,
    pub error: String,
    pub attempts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    pub docs: i64,
    pub cases: i64,
    pub unsynced_docs: i64,
    pub blobs: i64,
    pub blob_bytes: i64,
    pub jobs_pending: i64,
}

/// "Not yet synced" counts what the parent hub (any peer marked `is_parent`) has not applied.
pub(crate) const UNSYNCED_SINCE: &str = "(SELECT COALESCE(MIN(sent_seq), 0) FROM peers WHERE is_parent = 1)";
/// Documents the parent refused stay "not synced" whatever the checkpoint says.
/// Not counted as "not yet synced": public documents (knowledge, revocation lists) come from
/// above and never wait to go up; a case's private part travels with its case.
pub(crate) const REFUSED_BY_PARENT: &str =
    "(SELECT doc_id FROM peer_refusals WHERE peer_id IN (SELECT peer_id FROM peers WHERE is_parent = 1))";

impl Db {
    pub fn open(config: StoreConfig) -> Result<Db, StoreError> {
        fs::create_dir_all(&config.dir).map_err(io_err(&config.dir))?;
        // Before anything is touched: a second process on this directory stops here.
        let lock = crate::lock::DirLock::acquire(&config.dir)?;
        let tmp = blobs::tmp_dir(&config.dir);
        fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
        // Temporary blob files belong to writes that never finished: nothing references them.
        for entry in fs::read_dir(&tmp).map_err(io_err(&tmp))?.flatten() {
            let _ = fs::remove_file(entry.path());
        }
        let path = config.dir.join("yizhan.sqlite3");
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a kiosk loses power; an acknowledged case must survive that, not just a crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let from_version = migrations::run(&mut conn)?;
        // Jobs that were running when the process stopped start again.
        conn.execute("UPDATE jobs SET state = 'pending' WHERE state = 'running'", [])?;
        // Every open is a new incarnation of the store: a backup restored and opened never
        // shares one with the history it lost (see `sync::open_incarnation`).
        crate::sync::open_incarnation(&mut conn)?;
        let mut db =
            Db { conn, config, _lock: Some(lock), sessions: Default::default(), fetch_plan_epoch: 0 };
        // A migration that adds a projection table fills it from the documents already held.
        if from_version > 0 && migrations::REBUILD_PROJECTIONS_AFTER.iter().any(|v| from_version < *v) {
            let n = db.rebuild_projections()?;
            tracing::info!(documents = n, "rebuilt projections after upgrading the schema");
        }
        let removed = db.remove_orphan_blob_files()?;
        if removed > 0 {
            tracing::info!(files = removed, "removed blob files of writes that never committed");
        }
        Ok(db)
    }

    /// Opens the database of a data directory that a running node may hold, for a maintenance
    /// command that writes through SQLite's own locking (a revocation list on a live province
    /// hub, say): no directory lock, no migration (the schema must be this build's), no clean-up
    /// of `blobs/tmp/` or orphan files (those belong to the node's writes in flight).
    pub fn open_alongside(config: StoreConfig) -> Result<Db, StoreError> {
        let path = config.dir.join("yizhan.sqlite3");
        if !path.exists() {
            return Err(StoreError::Io {
                path,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no database: start the node once first",
                ),
            });
        }
        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = migrations::known_version();
        if version > known {
            return Err(StoreError::TooNew { found: version, known });
        }
        if version < known {
            return Err(StoreError::Io {
                path,
                source: std::io::Error::other(
                    "the database needs upgrading: start the node once with this build",
                ),
            });
        }
        Ok(Db { conn, config, _lock: None, sessions: Default::default(), fetch_plan_epoch: 0 })
    }

    /// Deletes blob files that no row names: bytes made durable by a write whose transaction
    /// never committed (the process died in between). Only safe at open, before any write.
    fn remove_orphan_blob_files(&self) -> Result<usize, StoreError> {
        let root = self.config.dir.join("blobs");
        let mut removed = 0;
        let Ok(fanout) = fs::read_dir(&root) else { return Ok(0) };
        for dir in fanout.flatten() {
            let name = dir.file_name();
            let Some(name) = name.to_str() else { continue };
            // Only the two-hex-digit fan-out folders hold finished blobs.
            if name.len() != 2 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            for file in fs::read_dir(dir.path()).map_err(io_err(dir.path()))?.flatten() {
                let Some(hash) = file.file_name().to_str().and_then(Hash::parse) else { continue };
                let known: bool = self.conn.query_row(
                    "SELECT EXISTS(SELECT 1 FROM blobs WHERE hash = ?1)",
                    [hash.as_str()],
                    |r| r.get(0),
                )?;
                if !known && fs::remove_file(file.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    pub fn dir(&self) -> &Path {
        &self.config.dir
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The connection, for a crate that keeps node-local tables of its own in this database
    /// (the accounts crate: sessions, lockouts, codes). Documents are written only through the
    /// methods above, which keep the feed and the projections in step.
    pub fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    // ---- documents ----

    /// Stores a new document, records it in the feed and projects it, in one transaction.
    pub fn create_doc(&mut self, id: &str, doc_type: &str, doc: &mut AutoCommit) -> Result<i64, StoreError> {
        self.create_doc_with(id, doc_type, doc, Vec::new(), &[])
    }

    /// Creates several documents (a case and its private part) with their blobs and jobs in one
    /// transaction. The jobs belong to the first document.
    pub fn create_docs_with(
        &mut self,
        docs: Vec<(String, &str, AutoCommit)>,
        blobs: Vec<NewBlob>,
        jobs: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        // A savepoint: its own transaction, or a part of a caller's batch (`Db::batch`).
        let tx = self.conn.savepoint()?;
        for blob in blobs {
            insert_blob(&tx, blob)?;
        }
        if let Some((first, ..)) = docs.first() {
            for (kind, hash) in jobs {
                tx.execute(
                    "INSERT OR IGNORE INTO jobs (kind, doc_id, blob_hash, state) VALUES (?1, ?2, ?3, 'pending')",
                    params![kind, first, hash],
                )?;
            }
        }
        // The case first: a private part's projection updates the case's row.
        for (id, doc_type, mut doc) in docs {
            insert_new_doc(
                &tx,
                &id,
                doc_type,
                &mut doc,
                self.config.clock.now_ms(),
                self.config.stats_rollups,
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Creates a document together with the blobs it references and the jobs it needs, in
    /// one transaction: either all of it is stored and visible, or none of it.
    pub fn create_doc_with(
        &mut self,
        id: &str,
        doc_type: &str,
        doc: &mut AutoCommit,
        blobs: Vec<NewBlob>,
        jobs: &[(&str, &str)],
    ) -> Result<i64, StoreError> {
        // A savepoint: its own transaction, or a part of a caller's batch (`Db::batch`).
        let tx = self.conn.savepoint()?;
        for blob in blobs {
            insert_blob(&tx, blob)?;
        }
        for (kind, hash) in jobs {
            tx.execute(
                "INSERT OR IGNORE INTO jobs (kind, doc_id, blob_hash, state) VALUES (?1, ?2, ?3, 'pending')",
                params![kind, id, hash],
            )?;
        }
        let seq =
            insert_new_doc(&tx, id, doc_type, doc, self.config.clock.now_ms(), self.config.stats_rollups)?;
        tx.commit()?;
        Ok(seq)
    }

    pub fn load_doc(&self, id: &str) -> Result<Option<AutoCommit>, StoreError> {
        load_doc(&self.conn, id).map(|d| d.map(|(doc, _)| doc))
    }

    pub fn doc_type(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.conn.query_row("SELECT doc_type FROM docs WHERE id = ?1", [id], |r| r.get(0)).optional()?)
    }

    /// Loads a document, lets `f` change it and, when `f` succeeds and changed anything,
    /// stores the change, advances the feed and re-projects, all in one transaction. When
    /// `f` fails nothing is written.
    pub fn update_doc<T, E>(
        &mut self,
        id: &str,
        f: impl FnOnce(&mut AutoCommit) -> Result<T, E>,
    ) -> Result<Result<T, E>, StoreError> {
        self.update_doc_with(id, Vec::new(), f)
    }

    /// Like [`Db::update_doc`], also recording `blobs` (which the change references) in the
    /// same transaction. When `f` fails, neither the change nor the blobs are recorded.
    pub fn update_doc_with<T, E>(
        &mut self,
        id: &str,
        blobs: Vec<NewBlob>,
        f: impl FnOnce(&mut AutoCommit) -> Result<T, E>,
    ) -> Result<Result<T, E>, StoreError> {
        self.update_doc_with_jobs(id, blobs, &[], f)
    }

    /// Like [`Db::update_doc_with`], also queueing `jobs` (kind, blob hash) for the document
    /// in the same transaction.
    pub fn update_doc_with_jobs<T, E>(
        &mut self,
        id: &str,
        blobs: Vec<NewBlob>,
        jobs: &[(&str, &str)],
        f: impl FnOnce(&mut AutoCommit) -> Result<T, E>,
    ) -> Result<Result<T, E>, StoreError> {
        // A savepoint: its own transaction, or a part of a caller's batch (`Db::batch`).
        let tx = self.conn.savepoint()?;
        let (mut doc, doc_type) = load_doc(&tx, id)?.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        // AutoCommit::load leaves its save cursor empty, so save_incremental() would return the
        // whole history: save what comes after the loaded heads instead.
        let loaded_heads = doc.get_heads();
        let out = match f(&mut doc) {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        for blob in blobs {
            insert_blob(&tx, blob)?;
        }
        for (kind, hash) in jobs {
            tx.execute(
                "INSERT OR IGNORE INTO jobs (kind, doc_id, blob_hash, state) VALUES (?1, ?2, ?3, 'pending')",
                params![kind, id, hash],
            )?;
        }
        if doc.get_heads() != loaded_heads {
            let change = doc.save_after(&loaded_heads);
            let count: u32 = tx.query_row(
                "UPDATE docs SET change_count = change_count + 1 WHERE id = ?1 RETURNING change_count",
                [id],
                |r| r.get(0),
            )?;
            if count >= self.config.compact_after_changes {
                tx.execute("DELETE FROM doc_changes WHERE doc_id = ?1", [id])?;
                tx.execute(
                    "UPDATE docs SET snapshot = ?2, change_count = 0 WHERE id = ?1",
                    params![id, doc.save()],
                )?;
            } else {
                tx.execute(
                    "INSERT INTO doc_changes (doc_id, n, data) VALUES (?1, ?2, ?3)",
                    params![id, count, change],
                )?;
            }
            touch_feed(&tx, id, &doc_type)?;
            let scope = projection::project(
                &tx,
                &doc_type,
                id,
                &doc,
                self.config.clock.now_ms(),
                self.config.stats_rollups,
            )?;
            tx.execute("UPDATE docs SET scope = ?2 WHERE id = ?1", params![id, scope])?;
        }
        tx.commit()?;
        Ok(Ok(out))
    }

    /// Runs `f` as one transaction: every write inside commits together, or none does when it
    /// fails. Writes that open their own transaction (`update_doc`, `set_case_clocks`) become
    /// savepoints within it, so a round over many documents commits (and syncs to disk) once.
    pub fn batch<T>(&mut self, f: impl FnOnce(&mut Db) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.conn.execute_batch("SAVEPOINT batch")?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("RELEASE batch")?;
                Ok(v)
            }
            Err(e) => {
                if let Err(rollback) = self.conn.execute_batch("ROLLBACK TO batch; RELEASE batch") {
                    tracing::error!(error = %rollback, "cannot roll back a failed batch");
                }
                Err(e)
            }
        }
    }

    /// A node-local setting (a follower's checkpoint, say).
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
            params![key, value],
        )?;
        Ok(())
    }

    /// Re-creates every projection table from the documents.
    pub fn rebuild_projections(&mut self) -> Result<u64, StoreError> {
        let tx = self.conn.transaction()?;
        projection::clear(&tx)?;
        let ids: Vec<String> = {
            let mut stmt = tx.prepare("SELECT id FROM docs ORDER BY id")?;
            stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        let mut n = 0;
        let now_ms = self.config.clock.now_ms();
        for id in ids {
            if let Some((doc, doc_type)) = load_doc(&tx, &id)? {
                let scope =
                    projection::project(&tx, &doc_type, &id, &doc, now_ms, self.config.stats_rollups)?;
                tx.execute("UPDATE docs SET scope = ?2 WHERE id = ?1", params![id, scope])?;
                n += 1;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// The documents of `doc_type` among the feed entries after `after` (at most `limit`
    /// entries examined), with the feed position reached.
    pub fn docs_of_type_since(
        &self,
        after: i64,
        limit: u32,
        doc_type: &str,
    ) -> Result<(i64, Vec<(String, AutoCommit)>), StoreError> {
        let mut next = after;
        let mut docs = Vec::new();
        for e in self.changes_since(after, limit)? {
            next = next.max(e.seq);
            if e.doc_type == doc_type
                && let Some(doc) = self.load_doc(&e.doc_id)?
            {
                docs.push((e.doc_id, doc));
            }
        }
        Ok((next, docs))
    }

    /// The sequence number of the latest local change (0 when none).
    /// Moves when what this node should fetch changes without a document changing (see
    /// [`crate::Store::subscribe_fetch_plan`]).
    pub fn fetch_plan_epoch(&self) -> u64 {
        self.fetch_plan_epoch
    }

    pub fn feed_head(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM feed", [], |r| r.get(0))?)
    }

    /// Documents changed locally after `seq`, oldest first, at most `limit`.
    pub fn changes_since(&self, seq: i64, limit: u32) -> Result<Vec<FeedEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, doc_id, doc_type FROM feed WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt
            .query_map(params![seq, limit], |r| {
                Ok(FeedEntry { seq: r.get(0)?, doc_id: r.get(1)?, doc_type: r.get(2)? })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// True when the document has a change its parent hub has not acknowledged.
    pub fn doc_unsynced(&self, id: &str) -> Result<bool, StoreError> {
        let sql = format!(
            "SELECT EXISTS(SELECT 1 FROM feed WHERE doc_id = ?1 AND (seq > {UNSYNCED_SINCE} OR doc_id IN {REFUSED_BY_PARENT}))"
        );
        Ok(self.conn.query_row(&sql, [id], |r| r.get(0))?)
    }

    /// Documents within `scope` changed here past what `peer` has applied: its backlog.
    pub fn backlog_docs(&self, peer: &str, scope: &str) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM feed f JOIN docs d ON d.id = f.doc_id
             WHERE substr(d.scope, 1, length(?2)) = ?2
               AND f.seq > COALESCE((SELECT sent_seq FROM peers WHERE peer_id = ?1), 0)",
            params![peer, scope],
            |r| r.get(0),
        )?)
    }

    /// When `peer` was last heard from, if ever.
    pub fn peer_last_contact_ms(&self, peer: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT last_contact_ms FROM peers WHERE peer_id = ?1", [peer], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// How far `peer` has applied this node's feed (as it last told us).
    pub fn peer_sent_seq(&self, peer: &str) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT sent_seq FROM peers WHERE peer_id = ?1", [peer], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// Records that `peer` has applied this node's feed up to `seq` (never moves back).
    pub fn set_peer_sent_seq(
        &mut self,
        peer: &str,
        is_parent: bool,
        seq: i64,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        set_peer_sent_seq(&self.conn, peer, is_parent, seq, at_ms)
    }

    // ---- blobs ----

    /// Starts streaming a blob of at most `size_max` bytes. Write and finish it on a blocking
    /// thread (see [`crate::Store::blob_writer`]), then record it with [`Db::record_blob`].
    pub fn blob_writer(&self, size_max: u64) -> Result<BlobWriter, StoreError> {
        BlobWriter::new(&self.config.dir, size_max)
    }

    /// Stores a blob (inline when small). Large ones are written on this thread: prefer
    /// [`NewBlob::prepare`] on a blocking task and [`Db::create_doc_with`] on hot paths.
    pub fn put_blob_bytes(&mut self, bytes: &[u8], mime: &str) -> Result<BlobInfo, StoreError> {
        let blob =
            NewBlob::prepare(&self.config.dir, bytes.to_vec(), mime, self.config.inline_blob_bytes_max)?;
        self.record_new_blob(blob)
    }

    /// Makes a finished (streamed) blob visible. Small blobs move into the database.
    pub fn record_blob(&mut self, blob: FinishedBlob, mime: &str) -> Result<BlobInfo, StoreError> {
        let blob = NewBlob::from_finished(blob, mime, self.config.inline_blob_bytes_max)?;
        self.record_new_blob(blob)
    }

    pub fn record_new_blob(&mut self, blob: NewBlob) -> Result<BlobInfo, StoreError> {
        let tx = self.conn.transaction()?;
        let info = insert_blob(&tx, blob)?;
        tx.commit()?;
        Ok(info)
    }

    /// Which of `hashes` this node holds complete.
    pub fn blobs_held<'a>(
        &self,
        hashes: impl IntoIterator<Item = &'a str>,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT 1 FROM blobs WHERE hash = ?1")?;
        let mut held = std::collections::HashSet::new();
        for h in hashes {
            if stmt.exists([h])? {
                held.insert(h.to_string());
            }
        }
        Ok(held)
    }

    pub fn blob(&self, hash: &Hash) -> Result<Option<(BlobInfo, BlobBody)>, StoreError> {
        let row = self
            .conn
            .query_row("SELECT size, mime, inline_data FROM blobs WHERE hash = ?1", [hash.as_str()], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<Vec<u8>>>(2)?))
            })
            .optional()?;
        Ok(row.map(|(size, mime, data)| {
            let info = BlobInfo { hash: hash.clone(), size: size as u64, mime };
            let body = match data {
                Some(bytes) => BlobBody::Inline(bytes),
                None => BlobBody::File(blobs::blob_path(&self.config.dir, hash)),
            };
            (info, body)
        }))
    }

    /// Re-reads a blob and checks its bytes against its hash.
    pub fn verify_blob(&self, hash: &Hash) -> Result<(), StoreError> {
        match self.blob(hash)? {
            None => Err(StoreError::NotFound(hash.to_string())),
            Some((_, BlobBody::Inline(bytes))) if Hash::of(&bytes) == *hash => Ok(()),
            Some((_, BlobBody::Inline(_))) => {
                Err(StoreError::BlobCorrupt { hash: hash.to_string(), detail: "inline bytes differ".into() })
            }
            Some((_, BlobBody::File(path))) => blobs::verify_file(&path, hash),
        }
    }

    pub fn blob_hashes(&self) -> Result<Vec<Hash>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT hash FROM blobs ORDER BY hash")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.filter_map(|h| h.ok().and_then(|h| Hash::parse(&h))).collect())
    }

    // ---- projections ----

    pub fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>, StoreError> {
        let (where_sql, args) = case_where(filter);
        let limit = filter.limit.clamp(1, LIST_LIMIT_MAX);
        let sql = format!(
            "SELECT c.id, region_code, village_name, industry, subject, description, farmer_name, phone_masked,
                    officer, status, expert, created_at_ms, updated_at_ms, photo_count, video_count, thumb_hash,
                    (f.seq > {UNSYNCED_SINCE} OR c.id IN {REFUSED_BY_PARENT})
             FROM cases c LEFT JOIN feed f ON f.doc_id = c.id {where_sql}
             ORDER BY created_at_ms DESC, c.id LIMIT {limit} OFFSET {}",
            filter.offset
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows: Vec<CaseRow> =
            stmt.query_map(rusqlite::params_from_iter(args.iter()), case_row)?.collect::<Result<_, _>>()?;
        for row in &mut rows {
            row.at_parent = self.case_at_parent(&row.id)?;
        }
        Ok(rows)
    }

    pub fn count_cases(&self, filter: &CaseFilter) -> Result<i64, StoreError> {
        let (where_sql, args) = case_where(filter);
        let sql = format!("SELECT COUNT(*) FROM cases c {where_sql}");
        Ok(self.conn.query_row(&sql, rusqlite::params_from_iter(args.iter()), |r| r.get(0))?)
    }

    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let q = |sql: &str| -> Result<i64, StoreError> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        Ok(StoreStats {
            docs: q("SELECT COUNT(*) FROM docs")?,
            cases: q("SELECT COUNT(*) FROM cases")?,
            unsynced_docs: q(&format!(
                "SELECT COUNT(*) FROM feed WHERE doc_type NOT IN {}
                   AND (seq > {UNSYNCED_SINCE} OR doc_id IN {REFUSED_BY_PARENT})",
                projection::not_counted_types_sql()
            ))?,
            blobs: q("SELECT COUNT(*) FROM blobs")?,
            blob_bytes: q("SELECT COALESCE(SUM(size), 0) FROM blobs")?,
            jobs_pending: q("SELECT COUNT(*) FROM jobs WHERE state IN ('pending', 'running')")?,
        })
    }

    // ---- background jobs ----

    /// Queues a job once; queuing the same (kind, doc, blob) again is a no-op.
    pub fn enqueue_job(&mut self, kind: &str, doc_id: &str, blob_hash: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO jobs (kind, doc_id, blob_hash, state) VALUES (?1, ?2, ?3, 'pending')",
            params![kind, doc_id, blob_hash],
        )?;
        Ok(())
    }

    /// Claims the oldest pending job.
    pub fn claim_job(&mut self) -> Result<Option<Job>, StoreError> {
        let sql = "UPDATE jobs SET state = 'running', attempts = attempts + 1
                   WHERE id = (SELECT id FROM jobs WHERE state = 'pending' ORDER BY id LIMIT 1)
                   RETURNING id, kind, doc_id, blob_hash, state, progress, error, attempts";
        Ok(self.conn.query_row(sql, [], job_row).optional()?)
    }

    pub fn set_job_progress(&mut self, id: i64, progress: f64) -> Result<(), StoreError> {
        self.conn.execute("UPDATE jobs SET progress = ?2 WHERE id = ?1", params![id, progress])?;
        Ok(())
    }

    /// Ends a job: done, failed for good, or back to pending to retry.
    pub fn finish_job(&mut self, id: i64, state: JobState, error: &str) -> Result<(), StoreError> {
        let progress = if state == JobState::Done { 1.0 } else { 0.0 };
        self.conn.execute(
            "UPDATE jobs SET state = ?2, error = ?3, progress = ?4 WHERE id = ?1",
            params![id, state.code(), error, progress],
        )?;
        Ok(())
    }

    pub fn jobs_for_doc(&self, doc_id: &str) -> Result<Vec<Job>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, kind, doc_id, blob_hash, state, progress, error, attempts FROM jobs WHERE doc_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([doc_id], job_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Runs SQLite's own consistency check (used by tests and `yizhan check`).
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    pub fn database_path(&self) -> PathBuf {
        self.config.dir.join("yizhan.sqlite3")
    }

    // ---- blob sync ----

    /// Blobs referenced by documents whose scope starts with `scope` that this node does not
    /// hold, most wanted first: thumbnails, then display copies and posters, then video
    /// proxies, then originals (photos before videos), then any other role, then lecture files
    /// (on a node with a lecture plan, only those it wants: `lectures.rs`); smaller first
    /// within a rank. A partially received blob is missing until it is recorded. `roles` limits
    /// the roles fetched (empty: every role); a blob referenced in several roles ranks by its
    /// most wanted one. At most `limit` (capped at [`LIST_LIMIT_MAX`]) blobs, each as
    /// `(info, kind, role)` with the size and type the referencing document declares.
    pub fn missing_blobs(
        &self,
        scope: &str,
        roles: &[&str],
        limit: u32,
    ) -> Result<Vec<(BlobInfo, String, String)>, StoreError> {
        let limit = limit.min(LIST_LIMIT_MAX);
        let public = projection::public_types_sql();
        let lectures = crate::lectures::LECTURE_FILTER_SQL;
        let sql = format!(
            "SELECT b.hash, MIN({}) AS blob_rank, b.bytes, b.mime, b.kind, b.role
             FROM doc_blobs b JOIN docs d ON d.id = b.doc_id
             WHERE (substr(d.scope, 1, length(?1)) = ?1 OR d.doc_type IN {public}) {}
               AND NOT EXISTS (SELECT 1 FROM blobs WHERE blobs.hash = b.hash)
               AND {lectures}
             GROUP BY b.hash
             ORDER BY blob_rank, b.bytes, b.hash
             LIMIT {limit}",
            Self::BLOB_RANK,
            Self::blob_role_clause(roles)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let args = std::iter::once(scope).chain(roles.iter().copied());
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (hash, bytes, mime, kind, role) = row?;
            let Some(hash) = Hash::parse(&hash) else { continue };
            out.push((BlobInfo { hash, size: bytes.max(0) as u64, mime }, kind, role));
        }
        Ok(out)
    }

    /// How many blobs [`Db::missing_blobs`] would list without a limit, and their bytes (as
    /// the referencing documents declare them).
    pub fn missing_blob_totals(&self, scope: &str, roles: &[&str]) -> Result<(u64, u64), StoreError> {
        let public = projection::public_types_sql();
        let lectures = crate::lectures::LECTURE_FILTER_SQL;
        let sql = format!(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM (
                SELECT b.hash, MAX(b.bytes) AS bytes
                FROM doc_blobs b JOIN docs d ON d.id = b.doc_id
                WHERE (substr(d.scope, 1, length(?1)) = ?1 OR d.doc_type IN {public}) {}
                  AND NOT EXISTS (SELECT 1 FROM blobs WHERE blobs.hash = b.hash)
                  AND {lectures}
                GROUP BY b.hash)",
            Self::blob_role_clause(roles)
        );
        let args = std::iter::once(scope).chain(roles.iter().copied());
        let (n, bytes): (i64, i64) =
            self.conn.query_row(&sql, rusqlite::params_from_iter(args), |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok((n.max(0) as u64, bytes.max(0) as u64))
    }

    /// Whether a peer that receives documents whose scope starts with `send_scope` may receive
    /// blob `hash`: some document within that scope, or a public document (which every node
    /// receives), references it.
    pub fn blob_allowed(&self, hash: &Hash, send_scope: &str) -> Result<bool, StoreError> {
        let public = projection::public_types_sql();
        Ok(self.conn.query_row(
            &format!(
                "SELECT EXISTS(SELECT 1 FROM doc_blobs b JOIN docs d ON d.id = b.doc_id
                               WHERE b.hash = ?1 AND (substr(d.scope, 1, length(?2)) = ?2 OR d.doc_type IN {public}))"
            ),
            params![hash.as_str(), send_scope],
            |r| r.get(0),
        )?)
    }

    /// A blob's bytes for a peer whose send scope is `send_scope`: `None` both when this node
    /// does not hold it and when the peer may not have it, so a peer cannot tell the two apart.
    pub fn blob_for_peer(&self, hash: &Hash, send_scope: &str) -> Result<Option<BlobBody>, StoreError> {
        if !self.blob_allowed(hash, send_scope)? {
            return Ok(None);
        }
        Ok(self.blob(hash)?.map(|(_, body)| body))
    }

    /// The fetch rank of a `doc_blobs` row `b` (lower first).
    pub(crate) const BLOB_RANK: &str = "CASE
        WHEN b.kind = 'lecture' THEN 9
        WHEN b.role = 'thumb' THEN 0
        WHEN b.role IN ('display', 'poster') THEN 1
        WHEN b.role = 'proxy' THEN 2
        WHEN b.role = 'original' AND b.kind = 'photo' THEN 3
        WHEN b.role = 'original' THEN 4
        ELSE 5 END";

    /// `AND b.role IN (?2, ?3, ..)` for a non-empty role list (the scope is `?1`).
    fn blob_role_clause(roles: &[&str]) -> String {
        if roles.is_empty() {
            return String::new();
        }
        let marks: Vec<String> = (0..roles.len()).map(|i| format!("?{}", i + 2)).collect();
        format!("AND b.role IN ({})", marks.join(", "))
    }
}

fn insert_new_doc(
    tx: &Connection,
    id: &str,
    doc_type: &str,
    doc: &mut AutoCommit,
    now_ms: i64,
    rollups: bool,
) -> Result<i64, StoreError> {
    let exists: bool = tx.query_row("SELECT EXISTS(SELECT 1 FROM docs WHERE id = ?1)", [id], |r| r.get(0))?;
    if exists {
        return Err(StoreError::Exists(id.to_string()));
    }
    tx.execute(
        "INSERT INTO docs (id, doc_type, snapshot) VALUES (?1, ?2, ?3)",
        params![id, doc_type, doc.save()],
    )?;
    let seq = touch_feed(tx, id, doc_type)?;
    let scope = projection::project(tx, doc_type, id, doc, now_ms, rollups)?;
    tx.execute("UPDATE docs SET scope = ?2 WHERE id = ?1", params![id, scope])?;
    Ok(seq)
}

pub(crate) fn set_peer_sent_seq(
    conn: &Connection,
    peer: &str,
    is_parent: bool,
    seq: i64,
    at_ms: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO peers (peer_id, sent_seq, last_contact_ms, is_parent) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(peer_id) DO UPDATE SET sent_seq = max(sent_seq, ?2), last_contact_ms = ?3, is_parent = ?4",
        params![peer, seq, at_ms, is_parent],
    )?;
    Ok(())
}

/// Like [`set_peer_sent_seq`], replacing what was recorded even with less (a peer's hello).
pub(crate) fn replace_peer_sent_seq(
    conn: &Connection,
    peer: &str,
    is_parent: bool,
    seq: i64,
    at_ms: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO peers (peer_id, sent_seq, last_contact_ms, is_parent) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(peer_id) DO UPDATE SET sent_seq = ?2, last_contact_ms = ?3, is_parent = ?4",
        params![peer, seq, at_ms, is_parent],
    )?;
    Ok(())
}

pub(crate) fn insert_blob(tx: &Connection, blob: NewBlob) -> Result<BlobInfo, StoreError> {
    match blob {
        NewBlob::Inline { info, bytes } => {
            tx.execute(
                "INSERT OR IGNORE INTO blobs (hash, size, mime, inline_data) VALUES (?1, ?2, ?3, ?4)",
                params![info.hash.as_str(), info.size as i64, info.mime, bytes],
            )?;
            Ok(info)
        }
        NewBlob::File { info, blob: _ } => {
            tx.execute(
                "INSERT OR IGNORE INTO blobs (hash, size, mime, inline_data) VALUES (?1, ?2, ?3, NULL)",
                params![info.hash.as_str(), info.size as i64, info.mime],
            )?;
            Ok(info)
        }
    }
}

pub(crate) fn touch_feed(tx: &Connection, id: &str, doc_type: &str) -> Result<i64, StoreError> {
    // One row per document: replacing it moves the document past every peer's checkpoint.
    tx.execute("DELETE FROM feed WHERE doc_id = ?1", [id])?;
    tx.execute("INSERT INTO feed (doc_id, doc_type) VALUES (?1, ?2)", params![id, doc_type])?;
    let seq = tx.last_insert_rowid();
    tx.execute("UPDATE docs SET updated_seq = ?2 WHERE id = ?1", params![id, seq])?;
    Ok(seq)
}

pub(crate) fn load_doc(conn: &Connection, id: &str) -> Result<Option<(AutoCommit, String)>, StoreError> {
    let row = conn
        .query_row("SELECT snapshot, doc_type FROM docs WHERE id = ?1", [id], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    let Some((snapshot, doc_type)) = row else { return Ok(None) };
    let corrupt = |e: yizhan_core::untrusted::LoadError| StoreError::Corrupt {
        id: id.to_string(),
        detail: e.to_string(),
    };
    let mut doc = yizhan_core::untrusted::load(&snapshot).map_err(corrupt)?;
    let mut stmt = conn.prepare_cached("SELECT data FROM doc_changes WHERE doc_id = ?1 ORDER BY n")?;
    let changes = stmt.query_map([id], |r| r.get::<_, Vec<u8>>(0))?;
    for change in changes {
        yizhan_core::untrusted::load_incremental(&mut doc, &change?).map_err(corrupt)?;
    }
    Ok(Some((doc, doc_type)))
}

fn case_where(filter: &CaseFilter) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    if let Some(s) = filter.status.as_ref().filter(|s| !s.is_empty()) {
        args.push(s.clone());
        clauses.push(format!("status = ?{}", args.len()));
    }
    if let Some(i) = filter.industry.as_ref().filter(|s| !s.is_empty()) {
        args.push(i.clone());
        clauses.push(format!("industry = ?{}", args.len()));
    }
    if let Some(t) = filter.text.as_ref().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        // LIKE wildcards in the user's text are matched literally.
        let escaped = t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        args.push(format!("%{escaped}%"));
        let n = args.len();
        clauses.push(format!(
            "(subject LIKE ?{n} ESCAPE '\\' OR description LIKE ?{n} ESCAPE '\\' OR village_name LIKE ?{n} ESCAPE '\\'
              OR farmer_name LIKE ?{n} ESCAPE '\\' OR officer LIKE ?{n} ESCAPE '\\')"
        ));
    }
    let sql = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    (sql, args)
}

pub(crate) fn case_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CaseRow> {
    Ok(CaseRow {
        id: r.get(0)?,
        region_code: r.get(1)?,
        village_name: r.get(2)?,
        industry: r.get(3)?,
        subject: r.get(4)?,
        description: r.get(5)?,
        farmer_name: r.get(6)?,
        phone_masked: r.get(7)?,
        officer: r.get(8)?,
        status: r.get(9)?,
        expert: r.get(10)?,
        created_at_ms: r.get(11)?,
        updated_at_ms: r.get(12)?,
        photo_count: r.get(13)?,
        video_count: r.get(14)?,
        thumb_hash: r.get(15)?,
        unsynced: r.get::<_, Option<bool>>(16)?.unwrap_or(true),
        at_parent: false,
    })
}

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        kind: r.get(1)?,
        doc_id: r.get(2)?,
        blob_hash: r.get(3)?,
        state: JobState::parse(&r.get::<_, String>(4)?),
        progress: r.get(5)?,
        error: r.get(6)?,
        attempts: r.get(7)?,
    })
}
