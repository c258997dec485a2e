//! Numbered, append-only schema migrations. Never edit a released migration: add one.

use rusqlite::Connection;

use crate::StoreError;

pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: documents, change feed, blobs, jobs, peers, case projection.
    r#"
    CREATE TABLE docs (
        id TEXT PRIMARY KEY,
        doc_type TEXT NOT NULL,
        snapshot BLOB NOT NULL,
        change_count INTEGER NOT NULL DEFAULT 0,
        updated_seq INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE TABLE doc_changes (
        doc_id TEXT NOT NULL REFERENCES docs(id) ON DELETE CASCADE,
        n INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (doc_id, n)
    ) STRICT;
    -- One row per document: its latest local change. Sync sends what lies past a peer's checkpoint.
    CREATE TABLE feed (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL UNIQUE,
        doc_type TEXT NOT NULL
    ) STRICT;
    CREATE TABLE peers (
        peer_id TEXT PRIMARY KEY,
        sent_seq INTEGER NOT NULL DEFAULT 0,
        last_contact_ms INTEGER
    ) STRICT;
    CREATE TABLE blobs (
        hash TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mime TEXT NOT NULL,
        inline_data BLOB
    ) STRICT;
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        blob_hash TEXT NOT NULL,
        state TEXT NOT NULL,
        progress REAL NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0,
        UNIQUE (kind, doc_id, blob_hash)
    ) STRICT;
    CREATE TABLE cases (
        id TEXT PRIMARY KEY,
        region_code TEXT NOT NULL,
        village_name TEXT NOT NULL,
        industry TEXT NOT NULL,
        subject TEXT NOT NULL,
        description TEXT NOT NULL,
        farmer_name TEXT NOT NULL,
        phone_masked TEXT NOT NULL,
        officer TEXT NOT NULL,
        status TEXT NOT NULL,
        expert TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        photo_count INTEGER NOT NULL,
        video_count INTEGER NOT NULL,
        thumb_hash TEXT NOT NULL
    ) STRICT;
    CREATE INDEX cases_by_created ON cases(created_at_ms DESC);
    CREATE INDEX cases_by_status ON cases(status, created_at_ms DESC);
    "#,
    // 2: sync. The region a document belongs to (derived from its content at every write),
    // what each peer has applied of our feed and we of theirs, and the heads each peer holds.
    r#"
    ALTER TABLE docs ADD COLUMN scope TEXT NOT NULL DEFAULT '';
    UPDATE docs SET scope = COALESCE((SELECT region_code FROM cases WHERE cases.id = docs.id), '');
    CREATE INDEX docs_by_scope ON docs(scope);
    ALTER TABLE peers ADD COLUMN recv_seq INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE peers ADD COLUMN is_parent INTEGER NOT NULL DEFAULT 0;
    UPDATE peers SET is_parent = 1 WHERE peer_id = 'parent';
    -- Documents a peer refused (outside its scope, invalid): not synced, and shown as such.
    CREATE TABLE peer_refusals (
        peer_id TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        code INTEGER NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (peer_id, doc_id)
    ) STRICT, WITHOUT ROWID;
    -- The masked phone of each case whose private part this node holds.
    CREATE TABLE case_private (
        case_id TEXT PRIMARY KEY,
        phone_masked TEXT NOT NULL
    ) STRICT;
    CREATE TABLE peer_docs (
        peer_id TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        heads BLOB NOT NULL,
        PRIMARY KEY (peer_id, doc_id)
    ) STRICT, WITHOUT ROWID;
    -- Blobs each document references (a case's attachments), maintained by the projections:
    -- which blobs a node fetches (referenced within a scope, not held) and which it may serve to
    -- a peer (referenced by a document within the peer's scope).
    CREATE TABLE doc_blobs (
        doc_id TEXT NOT NULL,
        hash TEXT NOT NULL,
        kind TEXT NOT NULL,
        role TEXT NOT NULL,
        mime TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (doc_id, hash, role)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX doc_blobs_by_hash ON doc_blobs(hash);
    "#,
    // 3: restored stores (docs/PROTOCOL.md, "Restored stores"). The store's incarnations, one
    // drawn at each open, with the first feed sequence each could allocate (history written
    // before this migration counts as incarnation 0); the peer's incarnation and feed head each
    // checkpoint was recorded under, its incarnation when it was recorded to hold our feed, and
    // when shared heads were recorded; refusals this node issued, until the peer recorded them in
    // its current incarnation.
    r#"
    CREATE TABLE incarnations (
        n INTEGER PRIMARY KEY,
        id INTEGER NOT NULL UNIQUE,
        first_seq INTEGER NOT NULL
    ) STRICT;
    INSERT INTO incarnations (n, id, first_seq) VALUES (0, 0, 1);
    ALTER TABLE peers ADD COLUMN recv_incarnation INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE peers ADD COLUMN recv_head INTEGER NOT NULL DEFAULT 0;
    UPDATE peers SET recv_head = recv_seq;
    ALTER TABLE peers ADD COLUMN sent_incarnation INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE peer_docs ADD COLUMN incarnation INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE refusals_issued (
        peer_id TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        code INTEGER NOT NULL,
        detail TEXT NOT NULL,
        told_incarnation INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (peer_id, doc_id)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 4: the expert service. People (directory projection), when this node first saw each
    // event on its own clock (service clocks run on the hub's time), the clocks it measures,
    // and the case columns triage and statistics need.
    r#"
    ALTER TABLE cases ADD COLUMN centre TEXT NOT NULL DEFAULT '';
    ALTER TABLE cases ADD COLUMN rating INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE cases ADD COLUMN followup_valid INTEGER NOT NULL DEFAULT -1;
    ALTER TABLE cases ADD COLUMN followup_category TEXT NOT NULL DEFAULT '';
    ALTER TABLE cases ADD COLUMN travel_cost_fen INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE cases ADD COLUMN breaches INTEGER NOT NULL DEFAULT 0;
    -- The centre's review for publication as knowledge: -1 not yet, 0 withheld, 1 approved.
    ALTER TABLE cases ADD COLUMN knowledge INTEGER NOT NULL DEFAULT -1;
    CREATE INDEX cases_by_centre ON cases(status, centre);
    -- Covers `expert_records` (the ranking's loads, ratings and breaches): no table lookups.
    CREATE INDEX cases_by_expert ON cases(expert, status, rating, breaches);
    CREATE TABLE people (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        region_code TEXT NOT NULL,
        -- Industry codes and specialities, each wrapped in spaces (' fruit tea ') for LIKE.
        industries TEXT NOT NULL,
        specialities TEXT NOT NULL,
        availability TEXT NOT NULL,
        title TEXT NOT NULL,
        phone_masked TEXT NOT NULL,
        active INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX people_by_role_region ON people(role, region_code);
    -- Observations, not projections: never cleared by a rebuild.
    CREATE TABLE event_seen (
        case_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        seen_ms INTEGER NOT NULL,
        PRIMARY KEY (case_id, event_id)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE case_clocks (
        case_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        start_event TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        due_ms INTEGER NOT NULL,
        stopped_ms INTEGER,
        -- 1 once this node recorded the breach of this run of the clock.
        breached INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (case_id, kind)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX case_clocks_running ON case_clocks(kind, stopped_ms, due_ms);
    -- This node's settings (a centre's service policy), as JSON values.
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;
    "#,
    // 5: sign-in (the accounts crate). This node's own state, never synced and not projections:
    // sessions (only a hash of each token), failed password attempts and lockouts, sign-in
    // codes sent by SMS (only a keyed hash of each code) and WebAuthn ceremonies in progress.
    r#"
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        method TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX sessions_by_person ON sessions(person_id, created_ms);
    CREATE INDEX sessions_by_expiry ON sessions(expires_ms);
    CREATE TABLE signin_failures (
        person_id TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_failure_ms INTEGER NOT NULL,
        locked_until_ms INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE signin_codes (
        person_id TEXT PRIMARY KEY,
        -- '' when no code is outstanding (used, or refused too often).
        code_hash TEXT NOT NULL,
        sent_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        window_start_ms INTEGER NOT NULL,
        window_sends INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE webauthn_ceremonies (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        person_id TEXT NOT NULL,
        state TEXT NOT NULL,
        expires_ms INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX webauthn_ceremonies_by_expiry ON webauthn_ceremonies(expires_ms);
    "#,
    // 6: the audit trail of access to sensitive data on this node (exports, numbers in clear).
    r#"
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        person_id TEXT NOT NULL,
        region TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
    ) STRICT;
    "#,
    // 7: statistics rollups (`core::stats`, kept by `store::stats` in the projection's
    // transaction). `stats_case` holds each case's last contribution (what to subtract when it
    // changes); `stats_rollup` its counters summed per dimension ('' totals, 'industry',
    // 'expert_level', 'category', 'kiosk'), region (every level from the province down to the
    // case's own code), month recorded (YYYYMM, UTC+8) and key. Projections: rebuildable.
    r#"
    CREATE TABLE stats_case (
        case_id TEXT PRIMARY KEY,
        month INTEGER NOT NULL,
        region TEXT NOT NULL,
        industry TEXT NOT NULL,
        expert_level TEXT NOT NULL,
        category TEXT NOT NULL,
        kiosk TEXT NOT NULL,
        counts TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE stats_rollup (
        dim TEXT NOT NULL,
        level INTEGER NOT NULL,
        region TEXT NOT NULL,
        month INTEGER NOT NULL,
        key TEXT NOT NULL,
        cases INTEGER NOT NULL DEFAULT 0,
        solved_by_similar INTEGER NOT NULL DEFAULT 0,
        escalated INTEGER NOT NULL DEFAULT 0,
        escalated_up INTEGER NOT NULL DEFAULT 0,
        triaged INTEGER NOT NULL DEFAULT 0,
        triaged_in_time INTEGER NOT NULL DEFAULT 0,
        answered INTEGER NOT NULL DEFAULT 0,
        responded INTEGER NOT NULL DEFAULT 0,
        responded_in_time INTEGER NOT NULL DEFAULT 0,
        onsite_visits INTEGER NOT NULL DEFAULT 0,
        travel_cost_fen INTEGER NOT NULL DEFAULT 0,
        closed INTEGER NOT NULL DEFAULT 0,
        rated INTEGER NOT NULL DEFAULT 0,
        rating_sum INTEGER NOT NULL DEFAULT 0,
        followed_up INTEGER NOT NULL DEFAULT 0,
        followed_up_in_time INTEGER NOT NULL DEFAULT 0,
        valid INTEGER NOT NULL DEFAULT 0,
        breaches INTEGER NOT NULL DEFAULT 0,
        breach_triage INTEGER NOT NULL DEFAULT 0,
        breach_response INTEGER NOT NULL DEFAULT 0,
        breach_followup INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (dim, level, region, month, key)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 8: the publication pipeline (projections, `store/src/publication.rs`): one row per
    // pipeline item of every kind (knowledge's solved cases too), and the published documents
    // this node holds, withdrawn ones marked.
    r#"
    CREATE TABLE publications (
        doc_id TEXT PRIMARY KEY,
        doc_type TEXT NOT NULL,
        kind TEXT NOT NULL,
        centre TEXT NOT NULL,
        stage TEXT NOT NULL,
        title TEXT NOT NULL,
        reviewed_by TEXT NOT NULL,
        last_actor TEXT NOT NULL,
        last_at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX publications_by_stage ON publications(stage, centre, last_at_ms);
    CREATE TABLE public_items (
        id TEXT PRIMARY KEY,
        item_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        kind_name TEXT NOT NULL,
        centre TEXT NOT NULL,
        title TEXT NOT NULL,
        ip_owner TEXT NOT NULL,
        published_at_ms INTEGER NOT NULL,
        withdrawn INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX public_items_by_time ON public_items(withdrawn, published_at_ms);
    "#,
    // 9: which blobs this node's parent hub holds, complete and verified, as the hub told it
    // (`Held` messages, docs/PROTOCOL.md): a case shows "已到县中心" only once the county
    // holds its documents and the copies it needs (`held.rs`).
    r#"
    CREATE TABLE peer_blobs (
        peer_id TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (peer_id, hash)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX peer_blobs_by_hash ON peer_blobs(hash);
    "#,
    // 10 (dashboard: 激励保障): the rollups per expert and per officer (dimensions 'expert' and
    // 'officer', key the person id, at the province, city and county levels only), for the
    // annual performance of people; `stats_case` records whom a case counted for. The
    // projections are rebuilt once, so existing cases count.
    r#"
    ALTER TABLE stats_case ADD COLUMN expert TEXT NOT NULL DEFAULT '';
    ALTER TABLE stats_case ADD COLUMN officer TEXT NOT NULL DEFAULT '';
    "#,
    // 11 (成果转化): the claims on the bounty board this node holds, by bounty (`claims.rs`).
    r#"
    CREATE TABLE bounty_claims (
        id TEXT PRIMARY KEY,
        bounty TEXT NOT NULL,
        region_code TEXT NOT NULL,
        expert TEXT NOT NULL,
        claimed_at_ms INTEGER NOT NULL,
        picked INTEGER NOT NULL,
        done INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX bounty_claims_by_bounty ON bounty_claims(bounty, claimed_at_ms);
    "#,
    // 12 (安全熔断, `takedown.rs`): the takedowns this node has verified and applies (node-local:
    // written by `yizhan_net::follow_takedowns` after checking each signature, never synced),
    // the published items an account takedown lists, and who submitted each pipeline item (an
    // account's items are found by it).
    r#"
    CREATE TABLE takedowns (
        id TEXT PRIMARY KEY,
        target_kind TEXT NOT NULL,
        target TEXT NOT NULL,
        region TEXT NOT NULL,
        reason TEXT NOT NULL,
        by_name TEXT NOT NULL,
        issuer TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        lifted INTEGER NOT NULL,
        lift_reason TEXT NOT NULL,
        lifted_by_name TEXT NOT NULL,
        lifted_at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE takedown_items (
        takedown TEXT NOT NULL,
        item TEXT NOT NULL,
        PRIMARY KEY (takedown, item)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX takedown_items_by_item ON takedown_items(item);
    ALTER TABLE publications ADD COLUMN author TEXT NOT NULL DEFAULT '';
    CREATE TABLE submissions (
        person TEXT NOT NULL,
        at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX submissions_by_person ON submissions(person, at_ms);
    "#,
    // 13 (特派员讲堂): a kiosk's pre-fetch plan of lectures, node-local (`lectures.rs`): which
    // published lectures it wants and when each was last watched here (the store's clock).
    r#"
    CREATE TABLE lecture_plan (
        doc_id TEXT PRIMARY KEY,
        wanted INTEGER NOT NULL,
        last_watched_ms INTEGER
    ) STRICT;
    "#,
    // 14 (特派员讲堂 views, `lectures.rs`): the `lecture_views` documents' counts, one row per
    // document and lecture (a document's rows are replaced when it changes: rebuildable).
    r#"
    CREATE TABLE lecture_views (
        doc_id TEXT NOT NULL,
        lecture TEXT NOT NULL,
        region_code TEXT NOT NULL,
        month INTEGER NOT NULL,
        views INTEGER NOT NULL,
        PRIMARY KEY (doc_id, lecture)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX lecture_views_by_region ON lecture_views(region_code, month);
    CREATE INDEX lecture_views_by_lecture ON lecture_views(lecture);
    "#,
    // 15 (管理中心 targets): since when this node knows each person: the earliest `updated_at_ms`
    // of their directory entry it has projected. An observation, never cleared by a rebuild (as
    // `event_seen`): the rate at which experts, officers and centres are added.
    r#"
    CREATE TABLE people_since (
        id TEXT PRIMARY KEY,
        since_ms INTEGER NOT NULL
    ) STRICT;
    INSERT OR IGNORE INTO people_since (id, since_ms) SELECT id, updated_at_ms FROM people;
    "#,
];

/// The first version whose new projection tables must be filled from existing documents.
pub(crate) const REBUILD_PROJECTIONS_AFTER: &[i64] = &[2, 4, 7, 8, 10, 11, 12, 14];

/// The schema version this build writes.
pub(crate) fn known_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Applies pending migrations; returns the version the database was at before.
pub(crate) fn run(conn: &mut Connection) -> Result<i64, StoreError> {
    // One immediate transaction (the write lock taken before the version is read), under the
    // data directory's lock: two processes can never both see version 0 and both create tables.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(StoreError::TooNew { found: current, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tracing::info!(version = i + 1, "applied migration");
    }
    tx.commit()?;
    Ok(current)
}
