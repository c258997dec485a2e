//! The node-local sign-in tables (store migration 5): sessions, failures and lockouts, SMS
//! codes, WebAuthn ceremonies. Synchronous; run on the store's thread through `Store::call`.
//! None of this syncs: a lockout or a session belongs to the node that made it.

use rusqlite::{Connection, OptionalExtension, params};

use crate::limits::*;

// ---- sessions ----

#[derive(Debug, Clone)]
pub(crate) struct SessionRow {
    pub person_id: String,
    pub method: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub last_seen_ms: i64,
}

pub(crate) fn insert_session(
    conn: &Connection,
    token_hash: &str,
    person_id: &str,
    method: &str,
    now_ms: i64,
    expires_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM sessions WHERE expires_ms <= ?1", [now_ms])?;
    conn.execute(
        "INSERT INTO sessions (token_hash, person_id, method, created_ms, expires_ms, last_seen_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
        params![token_hash, person_id, method, now_ms, expires_ms],
    )?;
    // A person keeps at most SESSIONS_PER_PERSON_MAX sessions: the oldest go.
    conn.execute(
        "DELETE FROM sessions WHERE person_id = ?1 AND token_hash NOT IN
           (SELECT token_hash FROM sessions WHERE person_id = ?1 ORDER BY created_ms DESC, token_hash LIMIT ?2)",
        params![person_id, SESSIONS_PER_PERSON_MAX],
    )?;
    Ok(())
}

pub(crate) fn session(conn: &Connection, token_hash: &str) -> rusqlite::Result<Option<SessionRow>> {
    conn.query_row(
        "SELECT person_id, method, created_ms, expires_ms, last_seen_ms FROM sessions WHERE token_hash = ?1",
        [token_hash],
        |r| {
            Ok(SessionRow {
                person_id: r.get(0)?,
                method: r.get(1)?,
                created_ms: r.get(2)?,
                expires_ms: r.get(3)?,
                last_seen_ms: r.get(4)?,
            })
        },
    )
    .optional()
}

pub(crate) fn touch_session(
    conn: &Connection,
    token_hash: &str,
    now_ms: i64,
    expires_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE sessions SET last_seen_ms = ?2, expires_ms = ?3 WHERE token_hash = ?1",
        params![token_hash, now_ms, expires_ms],
    )?;
    Ok(())
}

pub(crate) fn delete_session(conn: &Connection, token_hash: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])? > 0)
}

pub(crate) fn delete_sessions_of(conn: &Connection, person_id: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM sessions WHERE person_id = ?1", [person_id])
}

// ---- failed passwords and lockout ----
//
// Failed passwords are counted in `signin_failures` under two keys: the id and the client
// address (`<id>\u{1f}<address>`), which locks the id for that address after
// [`FAILURES_BEFORE_LOCKOUT`], and the id alone, which counts every address and locks the id
// for everyone only after [`ACCOUNT_FAILURES_BEFORE_LOCKOUT`]: one host guessing cannot lock
// the administrator out, and the guesses of many hosts together stay bounded. Ids never hold
// control characters (`plausible_id`), so the keys cannot collide.

/// Separates the id from the client address in an address key.
const ADDRESS_SEP: char = '\u{1f}';

fn address_key(person_id: &str, client: &str) -> String {
    format!("{person_id}{ADDRESS_SEP}{client}")
}

fn row_locked_until(conn: &Connection, key: &str, now_ms: i64) -> rusqlite::Result<Option<i64>> {
    let until: Option<i64> = conn
        .query_row("SELECT locked_until_ms FROM signin_failures WHERE person_id = ?1", [key], |r| r.get(0))
        .optional()?;
    Ok(until.filter(|u| *u > now_ms))
}

/// When the id is locked out for `client` (by its own failures, or for everyone), until when.
pub(crate) fn locked_until(
    conn: &Connection,
    person_id: &str,
    client: &str,
    now_ms: i64,
) -> rusqlite::Result<Option<i64>> {
    let own = row_locked_until(conn, &address_key(person_id, client), now_ms)?;
    let all = row_locked_until(conn, person_id, now_ms)?;
    Ok(own.max(all))
}

/// Counts one failure under `key`; locks it after `limit` failures in a row, each within
/// [`FAILURE_WINDOW_MS`] of the one before. Returns the end of a lockout this started.
fn bump(conn: &Connection, key: &str, limit: i64, now_ms: i64) -> rusqlite::Result<Option<i64>> {
    let row: Option<(i64, i64)> = conn
        .query_row("SELECT failures, last_failure_ms FROM signin_failures WHERE person_id = ?1", [key], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let earlier = match row {
        Some((n, last)) if last > now_ms - FAILURE_WINDOW_MS => n,
        _ => 0,
    };
    let failures = earlier + 1;
    let (failures, locked_until) = if failures >= limit { (0, now_ms + LOCKOUT_MS) } else { (failures, 0) };
    conn.execute(
        "INSERT OR REPLACE INTO signin_failures (person_id, failures, last_failure_ms, locked_until_ms)
         VALUES (?1, ?2, ?3, ?4)",
        params![key, failures, now_ms, locked_until],
    )?;
    Ok((locked_until > 0).then_some(locked_until))
}

/// Counts a failed password for `person_id` (known or not: unknown ids lock out the same way,
/// so lockouts reveal nothing) from `client`. Returns the end of the lockout this failure
/// started for `client`, if any.
pub(crate) fn record_failure(
    conn: &Connection,
    person_id: &str,
    client: &str,
    now_ms: i64,
) -> rusqlite::Result<Option<i64>> {
    conn.execute(
        "DELETE FROM signin_failures WHERE last_failure_ms <= ?1 AND locked_until_ms <= ?2",
        params![now_ms - FAILURE_WINDOW_MS, now_ms],
    )?;
    // At most two rows per failure of the last window stay (and the lockouts): older ones go
    // above.
    let own = bump(conn, &address_key(person_id, client), FAILURES_BEFORE_LOCKOUT, now_ms)?;
    let all = bump(conn, person_id, ACCOUNT_FAILURES_BEFORE_LOCKOUT, now_ms)?;
    Ok(own.max(all))
}

/// Every id locked out at `now_ms` (for some address or for everyone), with the latest end of
/// its lockouts.
pub(crate) fn lockouts(
    conn: &Connection,
    now_ms: i64,
) -> rusqlite::Result<std::collections::HashMap<String, i64>> {
    let mut stmt =
        conn.prepare("SELECT person_id, locked_until_ms FROM signin_failures WHERE locked_until_ms > ?1")?;
    let rows = stmt.query_map([now_ms], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = std::collections::HashMap::new();
    for row in rows {
        let (key, until) = row?;
        let id = key.split(ADDRESS_SEP).next().unwrap_or_default().to_string();
        let e = out.entry(id).or_insert(until);
        *e = (*e).max(until);
    }
    Ok(out)
}

/// Forgets every failed password of the id, from every address (an administrator's unlock).
pub(crate) fn clear_failures(conn: &Connection, person_id: &str) -> rusqlite::Result<()> {
    let prefix = address_key(person_id, "");
    conn.execute(
        "DELETE FROM signin_failures WHERE person_id = ?1 OR substr(person_id, 1, length(?2)) = ?2",
        params![person_id, prefix],
    )?;
    Ok(())
}

/// After a successful sign-in: forgets the id's count across addresses and, when it is known,
/// the count of the address she signed in from. Other addresses' counts run out by themselves.
pub(crate) fn clear_after_sign_in(
    conn: &Connection,
    person_id: &str,
    client: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM signin_failures WHERE person_id = ?1", [person_id])?;
    if let Some(client) = client {
        conn.execute("DELETE FROM signin_failures WHERE person_id = ?1", [address_key(person_id, client)])?;
    }
    Ok(())
}

// ---- sign-in codes ----

#[derive(Debug, Clone, Default)]
pub(crate) struct CodeRow {
    pub code_hash: String,
    pub sent_ms: i64,
    pub expires_ms: i64,
    pub attempts: i64,
    pub window_start_ms: i64,
    pub window_sends: i64,
}

pub(crate) fn code(conn: &Connection, person_id: &str) -> rusqlite::Result<Option<CodeRow>> {
    conn.query_row(
        "SELECT code_hash, sent_ms, expires_ms, attempts, window_start_ms, window_sends
         FROM signin_codes WHERE person_id = ?1",
        [person_id],
        |r| {
            Ok(CodeRow {
                code_hash: r.get(0)?,
                sent_ms: r.get(1)?,
                expires_ms: r.get(2)?,
                attempts: r.get(3)?,
                window_start_ms: r.get(4)?,
                window_sends: r.get(5)?,
            })
        },
    )
    .optional()
}

pub(crate) fn put_code(conn: &Connection, person_id: &str, row: &CodeRow) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO signin_codes
           (person_id, code_hash, sent_ms, expires_ms, attempts, window_start_ms, window_sends)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            person_id,
            row.code_hash,
            row.sent_ms,
            row.expires_ms,
            row.attempts,
            row.window_start_ms,
            row.window_sends
        ],
    )?;
    Ok(())
}

pub(crate) fn prune_codes(conn: &Connection, now_ms: i64) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM signin_codes WHERE expires_ms <= ?1 AND window_start_ms <= ?2",
        params![now_ms, now_ms - CODE_SEND_WINDOW_MS],
    )?;
    Ok(())
}

// ---- WebAuthn ceremonies ----

pub(crate) struct CeremonyRow {
    pub kind: String,
    pub person_id: String,
    pub state: String,
}

/// Stores a ceremony; false when [`CEREMONIES_MAX`] unexpired ones are already waiting.
pub(crate) fn put_ceremony(
    conn: &Connection,
    id: &str,
    kind: &str,
    person_id: &str,
    state: &str,
    now_ms: i64,
) -> rusqlite::Result<bool> {
    conn.execute("DELETE FROM webauthn_ceremonies WHERE expires_ms <= ?1", [now_ms])?;
    let waiting: i64 = conn.query_row("SELECT COUNT(*) FROM webauthn_ceremonies", [], |r| r.get(0))?;
    if waiting >= CEREMONIES_MAX {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO webauthn_ceremonies (id, kind, person_id, state, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, kind, person_id, state, now_ms + CEREMONY_TTL_MS],
    )?;
    Ok(true)
}

/// Takes a ceremony out (each is used once); None when unknown or expired.
pub(crate) fn take_ceremony(
    conn: &Connection,
    id: &str,
    now_ms: i64,
) -> rusqlite::Result<Option<CeremonyRow>> {
    let row = conn
        .query_row(
            "DELETE FROM webauthn_ceremonies WHERE id = ?1 RETURNING kind, person_id, state, expires_ms",
            [id],
            |r| {
                Ok((
                    CeremonyRow { kind: r.get(0)?, person_id: r.get(1)?, state: r.get(2)? },
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()?;
    Ok(row.filter(|(_, expires)| *expires > now_ms).map(|(c, _)| c))
}
