//! The connection driver, the hub's accept loop and the uplink.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quinn::{Connection, Endpoint, RecvStream, SendStream};
use rustls::pki_types::CertificateDer;
use tokio::sync::watch;
use tokio::task::JoinSet;
use yizhan_store::Store;
use yizhan_store::sync::{PeerPolicy, SyncReplica};
use yizhan_sync_proto::{Event, Session, SessionConfig, SessionError, SessionStats};

use crate::blobs::{self, Link};
use crate::status::{ChildEntry, Children, LinkState, SyncStatusHandle};
use crate::{NetConfig, NetError};

/// Turns a peer's verified certificate chain into what it may send and receive, or refuses it.
pub type PeerAuthorizer = Arc<dyn Fn(&[CertificateDer<'static>]) -> Result<PeerPolicy, String> + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOutcome {
    pub stats: SessionStats,
    /// The session reached a point where neither side lacked anything.
    pub synced: bool,
}

type Step = Box<dyn FnOnce(&mut Session, &mut SyncReplica<'_>) -> Result<(), SessionError> + Send>;

/// Runs one step of the session on the database thread (the session moves there and back).
async fn step(
    store: &Store,
    session: Session,
    policy: &Arc<PeerPolicy>,
    f: Step,
) -> Result<(Session, Result<(), SessionError>), NetError> {
    let policy = policy.clone();
    let (session, result) = store
        .call(move |db| {
            let mut session = session;
            let now_ms = db.config().clock.now_ms();
            let mut replica = SyncReplica { db, policy: &policy, now_ms };
            let result = f(&mut session, &mut replica);
            Ok((session, result))
        })
        .await?;
    Ok((session, result))
}

async fn flush(session: &mut Session, send: &mut SendStream, link: &Link) -> Result<(), NetError> {
    while let Some(frame) = session.poll_transmit() {
        link.limiter.wait(frame.len()).await;
        send.write_all(&frame).await?;
    }
    Ok(())
}

/// Drives one sync session over a bidirectional stream until the peer finishes, the session
/// idles out or fails. `changes` ticks when the local store changed. Documents only: a
/// connection's blobs move with [`serve`] and [`uplink`].
pub async fn run_session(
    store: &Store,
    config: &NetConfig,
    policy: PeerPolicy,
    send: SendStream,
    recv: RecvStream,
    changes: watch::Receiver<i64>,
    status: &SyncStatusHandle,
) -> Result<SessionOutcome, NetError> {
    let link = Link::new(store.clone(), config.clone(), policy, status.clone());
    session_on(&link, send, recv, changes, false).await
}

/// Runs everything one connection carries: the document session on the first bidirectional
/// stream (opened by the dialer), and blob transfers on further streams: this side serves the
/// streams its peer opens and, once the documents are in sync, fetches what it lacks. Ends with
/// the session; the blob tasks stop with it (a blob being received keeps its verified prefix).
async fn run_connection(
    conn: &Connection,
    dialer: bool,
    link: Arc<Link>,
    changes: watch::Receiver<i64>,
) -> Result<SessionOutcome, NetError> {
    let (send, recv) = if dialer { conn.open_bi().await? } else { conn.accept_bi().await? };
    // Documents first: QUIC sends the session's data before any blob stream's.
    let _ = send.set_priority(1);
    link.status.update(|s| {
        s.blobs_received = 0;
        s.blob_bytes_received = 0;
        s.blob_bytes_sent = 0;
        s.blob_receiving = None;
        s.blob_sending = None;
    });
    let mut tasks = JoinSet::new();
    tasks.spawn(blobs::serve_streams(conn.clone(), link.clone()));
    if link.config.blobs.fetch {
        tasks.spawn(blobs::fetch(conn.clone(), link.clone(), changes.clone()));
    }
    let outcome = session_on(&link, send, recv, changes, true).await;
    tasks.shutdown().await;
    link.status.update(|s| {
        s.blob_receiving = None;
        s.blob_sending = None;
    });
    outcome
}

/// The session loop. `serves_blobs`: this connection serves blob streams, so the hello
/// announces the blob capability.
async fn session_on(
    link: &Link,
    mut send: SendStream,
    mut recv: RecvStream,
    mut changes: watch::Receiver<i64>,
    serves_blobs: bool,
) -> Result<SessionOutcome, NetError> {
    let (store, config, policy, status) = (&link.store, &link.config, &link.policy, &link.status);
    let mut session_config = SessionConfig::new(config.node_id.clone());
    if serves_blobs {
        session_config.capabilities.push(yizhan_sync_proto::blob::CAPABILITY.to_string());
        if policy.is_parent {
            // A child wants to learn which of its blobs the parent holds (honest sync state).
            session_config.capabilities.push(yizhan_sync_proto::wire::HELD_CAPABILITY.to_string());
        }
    }
    let mut held_rx = link.held_rx.lock().ok().and_then(|mut r| r.take());
    let session = Session::new(session_config, policy.peer_id.clone());
    let (mut session, started) = step(store, session, policy, Box::new(|s, r| s.start(r))).await?;
    started?;
    changes.mark_unchanged();
    let mut buf = vec![0u8; config.read_chunk_bytes.max(1024)];
    let mut synced = false;
    loop {
        flush(&mut session, &mut send, link).await?;
        while let Some(event) = session.poll_event() {
            match event {
                Event::Synced => {
                    synced = true;
                    link.synced.send_replace(true);
                    status.update(|s| {
                        s.link = LinkState::Synced;
                        s.last_synced_at_ms = Some(store.config().clock.now_ms());
                    });
                }
                Event::Received { .. } | Event::Delivered { .. } => {
                    status.update(|s| s.link = LinkState::Syncing)
                }
                Event::RefusedByPeer(r) => {
                    tracing::warn!(peer = %policy.peer_id, refused = ?r, "peer refused documents")
                }
                Event::TooLarge { doc_id, bytes } => {
                    tracing::error!(%doc_id, bytes, "document too large to sync")
                }
                Event::PeerError { code, message } => {
                    tracing::warn!(code, %message, "peer reported an error")
                }
                Event::PeerHoldsBlobs(n) => {
                    tracing::debug!(peer = %policy.peer_id, blobs = n, "the peer told which blobs it holds")
                }
                Event::Connected(info) => {
                    link.peer.send_replace(Some(info));
                }
                Event::WentBack { peer_checkpoint, upto_seq } => tracing::warn!(
                    peer = %policy.peer_id,
                    peer_checkpoint,
                    upto_seq,
                    "this store went back (restored from a backup): the peer's checkpoint of it was void"
                ),
                Event::PeerWentBack { checkpoint, upto_seq } => tracing::warn!(
                    peer = %policy.peer_id,
                    checkpoint,
                    upto_seq,
                    "the peer's store went back (restored from a backup): its checkpoint here was void"
                ),
            }
        }
        let stats = session.stats();
        status.update(|s| {
            s.docs_sent = stats.docs_sent;
            s.docs_received = stats.docs_received;
            s.bytes_sent = stats.bytes_sent;
            s.bytes_received = stats.bytes_received;
        });
        if session.is_closed() {
            break;
        }
        tokio::select! {
            read = tokio::time::timeout(config.idle_timeout, recv.read(&mut buf)) => match read {
                Err(_) => {
                    // Blobs moving on this connection keep it open.
                    if link.activity.idle_for() < config.idle_timeout {
                        continue;
                    }
                    let _ = send.finish();
                    return Err(NetError::Idle(config.idle_timeout));
                }
                Ok(Err(e)) => return Err(e.into()),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(n))) => {
                    let data = buf[..n].to_vec();
                    let (s, result) = step(store, session, policy, Box::new(move |s, r| s.handle_bytes(&data, r))).await?;
                    session = s;
                    if let Err(e) = result {
                        // Send the error frame the session queued before giving up.
                        let _ = flush(&mut session, &mut send, link).await;
                        let _ = send.finish();
                        return Err(e.into());
                    }
                }
            },
            Some(first) = recv_held(&mut held_rx) => {
                // Blobs completed from the peer: tell it (with whatever else is queued).
                let mut hashes = vec![first];
                if let Some(rx) = held_rx.as_mut() {
                    while hashes.len() < yizhan_sync_proto::wire::HELD_HASHES_MAX
                        && let Ok(h) = rx.try_recv()
                    {
                        hashes.push(h);
                    }
                }
                let (s, result) = step(store, session, policy, Box::new(move |s, _| s.tell_held(&hashes))).await?;
                session = s;
                result?;
            }
            changed = changes.changed() => {
                if changed.is_err() {
                    break; // the node is shutting down
                }
                let (s, result) = step(store, session, policy, Box::new(|s, r| s.local_changed(r))).await?;
                session = s;
                result?;
            }
        }
    }
    let _ = send.finish();
    Ok(SessionOutcome { stats: session.stats(), synced })
}

/// The next blob completed from the peer (never, when this session has no such queue).
async fn recv_held(rx: &mut Option<tokio::sync::mpsc::Receiver<[u8; 32]>>) -> Option<[u8; 32]> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn peer_certs(conn: &Connection) -> Vec<CertificateDer<'static>> {
    conn.peer_identity()
        .and_then(|id| id.downcast::<Vec<CertificateDer<'static>>>().ok())
        .map(|b| *b)
        .unwrap_or_default()
}

/// A hub's accept loop: every authorised child gets a session on the first stream it opens.
/// Per-child status is kept in `children` (created on first contact).
pub async fn serve(
    endpoint: Endpoint,
    store: Store,
    config: NetConfig,
    authorize: PeerAuthorizer,
    changes: watch::Receiver<i64>,
    children: Children,
) {
    let permits = Arc::new(tokio::sync::Semaphore::new(config.children_max.max(1)));
    // Each child's current connection. A child that reconnects (restarted, or its link dropped
    // without a goodbye) takes over at once: its old connection is closed, which ends that
    // session and releases the partly received blobs it held, instead of both waiting for the
    // old one's idle timeout.
    let current: Arc<Mutex<HashMap<String, quinn::Connection>>> = Arc::default();
    while let Some(incoming) = endpoint.accept().await {
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            incoming.refuse();
            continue;
        };
        let (store, config, authorize, changes, children, current) = (
            store.clone(),
            config.clone(),
            authorize.clone(),
            changes.clone(),
            children.clone(),
            current.clone(),
        );
        tokio::spawn(async move {
            let _permit = permit;
            let conn = match incoming.await {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::info!(error = %e, "handshake failed");
                    return;
                }
            };
            let policy = match authorize(&peer_certs(&conn)) {
                Ok(p) => p,
                Err(why) => {
                    tracing::warn!(remote = %conn.remote_address(), %why, "refused a peer");
                    conn.close(quinn::VarInt::from_u32(403), b"not authorised");
                    return;
                }
            };
            let status = {
                let mut map = match children.lock() {
                    Ok(m) => m,
                    Err(p) => p.into_inner(),
                };
                let entry = map.entry(policy.peer_id.clone()).or_insert_with(|| ChildEntry {
                    scope: policy.send_scope.clone(),
                    status: SyncStatusHandle::new(&policy.peer_id),
                });
                entry.scope = policy.send_scope.clone();
                entry.status.clone()
            };
            status.update(|s| s.link = LinkState::Syncing);
            let peer = policy.peer_id.clone();
            let replaced = lock_map(&current).insert(peer.clone(), conn.clone());
            if let Some(old) = replaced {
                tracing::info!(%peer, "the child reconnected: closing its previous connection");
                old.close(quinn::VarInt::from_u32(CLOSE_REPLACED), b"replaced by a new connection");
            }
            let link = Arc::new(Link::new(store, config, policy, status.clone()));
            let result = run_connection(&conn, false, link, changes).await;
            match result {
                Ok(outcome) => tracing::info!(%peer, ?outcome, "session ended"),
                Err(e) => {
                    // Why the connection ended (a peer's goodbye, a replacement, a timeout): the
                    // stream errors alone say only "connection lost".
                    let closed = conn.close_reason().map(|r| r.to_string()).unwrap_or_default();
                    tracing::info!(%peer, error = %e, %closed, "session failed");
                    status.update(|s| s.link = LinkState::Offline { retry_at_ms: 0, error: e.to_string() });
                }
            }
            conn.close(quinn::VarInt::from_u32(0), b"done");
            let mut map = lock_map(&current);
            if map.get(&peer).is_some_and(|c| c.stable_id() == conn.stable_id()) {
                map.remove(&peer);
            }
        });
    }
}

/// The application close code of a connection that a newer one from the same peer replaced.
pub const CLOSE_REPLACED: u32 = 409;

fn lock_map<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Dials the parent whenever it is reachable, with capped exponential backoff, and runs a
/// session on each connection. Never returns while `changes` has a sender.
#[allow(clippy::too_many_arguments)]
pub async fn uplink(
    endpoint: Endpoint,
    parent_addr: SocketAddr,
    server_name: String,
    store: Store,
    config: NetConfig,
    policy: PeerPolicy,
    changes: watch::Receiver<i64>,
    status: SyncStatusHandle,
) {
    let mut failures: u32 = 0;
    loop {
        if changes.has_changed().is_err() {
            return;
        }
        status.update(|s| s.link = LinkState::Connecting);
        let attempt = async {
            let connecting = endpoint.connect(parent_addr, &server_name)?;
            let conn = tokio::time::timeout(config.connect_timeout, connecting)
                .await
                .map_err(|_| NetError::ConnectTimeout(config.connect_timeout))??;
            // Every connection, resumed or not: the hub's chain as it stands now.
            if let Some(check) = &config.parent_check
                && let Err(why) = (check.0)(&peer_certs(&conn))
            {
                conn.close(quinn::VarInt::from_u32(403), b"not authorised");
                return Err(NetError::Unauthorized(why));
            }
            let link = Arc::new(Link::new(store.clone(), config.clone(), policy.clone(), status.clone()));
            let outcome = run_connection(&conn, true, link, changes.clone()).await;
            conn.close(quinn::VarInt::from_u32(0), b"done");
            outcome
        };
        match attempt.await {
            Ok(outcome) => {
                failures = 0;
                tracing::info!(?outcome, "uplink session ended");
            }
            Err(NetError::Idle(_)) if status.get().link == LinkState::Synced => failures = 0,
            Err(e) => {
                failures = failures.saturating_add(1);
                let now_ms = store.config().clock.now_ms();
                let delay = backoff(&config, failures, now_ms);
                tracing::info!(error = %e, retry_in = ?delay, "uplink failed");
                let retry_at_ms = now_ms + delay.as_millis() as i64;
                status.update(|s| s.link = LinkState::Offline { retry_at_ms, error: e.to_string() });
                tokio::time::sleep(delay).await;
                continue;
            }
        }
        tokio::time::sleep(config.retry_min).await;
    }
}

/// `retry_min * 2^(failures-1)`, capped at `retry_max`, less up to a quarter of jitter so that
/// kiosks that lost the same link do not all redial at once.
/// The jitter is drawn from `now_ms`'s low digits.
fn backoff(config: &NetConfig, failures: u32, now_ms: i64) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    let base = config.retry_min.saturating_mul(1u32 << exp).min(config.retry_max);
    let jitter = (now_ms.unsigned_abs() % 1000) as f64 / 4000.0;
    base.mul_f64(1.0 - jitter)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Issue 13: a kiosk whose hub answers nothing learns it within the connect timeout and
    /// backs off, instead of showing "connecting" until QUIC's idle timeout (300 s).
    #[tokio::test]
    async fn a_dial_to_a_hub_that_answers_nothing_fails_within_the_connect_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(yizhan_store::StoreConfig::new(dir.path())).unwrap();
        // A bound UDP port that never answers.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = silent.local_addr().unwrap();
        let tls =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_protocol_versions(&[&rustls::version::TLS13])
                .unwrap()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
        let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
        let mut endpoint = Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
        endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
        let mut config = NetConfig::new("kiosk-test");
        config.connect_timeout = Duration::from_millis(300);
        config.retry_min = Duration::from_secs(60);
        let status = SyncStatusHandle::new("hub-test");
        let (_tx, changes) = watch::channel(0i64);
        let policy = PeerPolicy::parent("hub-test", "510131001001");
        let started_ms = store.config().clock.now_ms();
        let task = tokio::spawn(uplink(
            endpoint,
            addr,
            "hub-test".into(),
            store,
            config,
            policy,
            changes,
            status.clone(),
        ));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let LinkState::Offline { error, retry_at_ms } = status.get().link {
                assert!(error.contains("handshake"), "{error}");
                assert!(retry_at_ms > started_ms, "the next attempt is scheduled");
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "still {:?}", status.get().link);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        task.abort();
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let mut c = NetConfig::new("n");
        c.retry_min = Duration::from_secs(1);
        c.retry_max = Duration::from_secs(60);
        let secs = |f| backoff(&c, f, 1_700_000_000_321).as_secs_f64();
        assert!((0.75..=1.0).contains(&secs(1)));
        for now_ms in [0, 999, 1_700_000_000_999] {
            assert!((0.75..=1.0).contains(&backoff(&c, 1, now_ms).as_secs_f64()));
        }
        assert!((3.0..=4.0).contains(&secs(3)));
        assert!((45.0..=60.0).contains(&secs(30)));
    }
}
