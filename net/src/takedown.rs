//! Applies the circuit breaker's takedown documents (`yizhan_core::takedown`) at every node:
//! each document's signed takedown (and lift) is verified against the trust roots before
//! anything is recorded, so a copy altered or forged by a relaying node changes nothing.

use base64::Engine;
use yizhan_core::takedown::{DOC_TYPE, Lift, SIGNATURE_CONTEXT, Takedown, TakedownDoc};
use yizhan_identity::{NodeIdentity, Role, SignedStatement, TrustRoots};
use yizhan_store::takedown::LiftRecord;

/// Feed entries examined per round.
const ROUND_ENTRIES_MAX: u32 = 256;

/// Why a takedown document was not applied.
#[derive(Debug, thiserror::Error)]
pub enum TakedownRefused {
    #[error("document: {0}")]
    Document(String),
    #[error("signature: {0}")]
    Signature(#[from] yizhan_identity::StatementError),
    #[error("signed by {0}, which is not a hub")]
    NotAHub(String),
    #[error("{0}")]
    Rule(String),
}

fn verified(
    b64: &str,
    roots: &TrustRoots,
    now: std::time::SystemTime,
) -> Result<(Vec<u8>, NodeIdentity), TakedownRefused> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| TakedownRefused::Document("bad base64".into()))?;
    let signed = SignedStatement::from_bytes(&bytes)?;
    let (body, signer) = signed.verify(roots, SIGNATURE_CONTEXT, now)?;
    if signer.role() == Role::Kiosk {
        return Err(TakedownRefused::NotAHub(signer.node_id().to_string()));
    }
    Ok((body.to_vec(), signer))
}

/// Checks one takedown document: the takedown's signature, that it names its own document and
/// its signer, and acts within the signer's scope (a county cannot take down another county's
/// items); the lift, if any, likewise and by a hub whose scope contains the takedown's region.
/// A lift that does not verify is ignored (the takedown stays in force).
pub fn check(
    doc: &TakedownDoc,
    roots: &TrustRoots,
    now: std::time::SystemTime,
) -> Result<(Takedown, Option<LiftRecord>), TakedownRefused> {
    let (body, signer) = verified(&doc.signed_b64, roots, now)?;
    let t = Takedown::from_json(&body).map_err(TakedownRefused::Document)?;
    if t.id != doc.id {
        return Err(TakedownRefused::Rule(format!("signed for {}, found in {}", t.id, doc.id)));
    }
    if t.issuer != signer.node_id() {
        return Err(TakedownRefused::Rule(format!(
            "names {} but is signed by {}",
            t.issuer,
            signer.node_id()
        )));
    }
    if !yizhan_identity::scope_contains(signer.scope(), &t.region) {
        return Err(TakedownRefused::Rule(format!(
            "region {} outside the signer's {}",
            t.region,
            signer.scope()
        )));
    }
    if let yizhan_core::takedown::Target::Region { code } = &t.target
        && !yizhan_identity::scope_contains(&t.region, code)
        && !yizhan_identity::scope_contains(code, &t.region)
    {
        return Err(TakedownRefused::Rule(format!("region {code} outside {}", t.region)));
    }
    let lift = match &doc.lift_b64 {
        None => None,
        Some(b64) => match lift_of(b64, &t, roots, now) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(id = %t.id, error = %e, "ignored a takedown's lift");
                None
            }
        },
    };
    Ok((t, lift))
}

fn lift_of(
    b64: &str,
    t: &Takedown,
    roots: &TrustRoots,
    now: std::time::SystemTime,
) -> Result<LiftRecord, TakedownRefused> {
    let (body, signer) = verified(b64, roots, now)?;
    let l = Lift::from_json(&body).map_err(TakedownRefused::Document)?;
    if l.takedown != t.id || l.issuer != signer.node_id() {
        return Err(TakedownRefused::Rule("lift names another takedown or signer".into()));
    }
    if !yizhan_identity::scope_contains(signer.scope(), &t.region) {
        return Err(TakedownRefused::Rule(format!("lift by {} outside {}", signer.scope(), t.region)));
    }
    Ok(LiftRecord { reason: l.reason, by_name: l.by_name, at_ms: l.at_ms })
}

/// Applies every takedown document in the store, now and as they arrive by sync (or are
/// written here). One that does not verify is logged and ignored.
pub async fn follow_takedowns(store: yizhan_store::Store, roots: TrustRoots) {
    let reader = store.clone();
    store
        .follow(0, "takedowns", move |after| {
            let (reader, roots) = (reader.clone(), roots.clone());
            async move {
                reader
                    .call(move |db| {
                        let (next, docs) = db.docs_of_type_since(after, ROUND_ENTRIES_MAX, DOC_TYPE)?;
                        for (id, doc) in docs {
                            let checked = TakedownDoc::from_doc(&doc)
                                .map_err(TakedownRefused::Document)
                                .and_then(|d| check(&d, &roots, yizhan_identity::system_time()));
                            match checked {
                                Ok((t, lift)) => {
                                    tracing::info!(id = %t.id, target = t.target.name(), lifted = lift.is_some(), "takedown");
                                    db.apply_takedown(&t, lift.as_ref())?;
                                }
                                Err(e) => tracing::warn!(%id, error = %e, "ignored a takedown document"),
                            }
                        }
                        Ok(next)
                    })
                    .await
            }
        })
        .await;
}
