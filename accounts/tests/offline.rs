//! A kiosk signs its officer in while offline: her person and credential documents, created
//! at the county hub, reach the kiosk as documents (here copied with their history, as sync
//! does) and the kiosk checks the Argon2 hash locally. Lockouts and sessions stay per node.
#![allow(clippy::unwrap_used)]

mod common;

use automerge::AutoCommit;
use common::*;
use yizhan_accounts::SignInError;
use yizhan_accounts::limits::FAILURES_BEFORE_LOCKOUT;
use yizhan_core::{Credential, Person};
use yizhan_store::Store;

/// The saved documents (id, type, bytes with full history) of one person.
async fn export(store: &Store, id: &str) -> Vec<(String, String, Vec<u8>)> {
    let ids = [(Person::doc_id(id), "person"), (Credential::doc_id(id), "credential")];
    store
        .call(move |db| {
            let mut out = Vec::new();
            for (doc_id, doc_type) in ids {
                let doc = db.load_doc(&doc_id)?.unwrap();
                assert_eq!(db.doc_type(&doc_id)?.as_deref(), Some(doc_type));
                out.push((doc_id, doc_type.to_string(), doc.clone().save()));
            }
            Ok(out)
        })
        .await
        .unwrap()
}

/// Creates the documents at `store`, or merges them into the copies it holds.
async fn import(store: &Store, docs: Vec<(String, String, Vec<u8>)>) {
    store
        .call(move |db| {
            for (doc_id, doc_type, bytes) in docs {
                if db.load_doc(&doc_id)?.is_some() {
                    db.update_doc(&doc_id, |doc| doc.load_incremental(&bytes)).unwrap().unwrap();
                } else {
                    db.create_doc(&doc_id, &doc_type, &mut AutoCommit::load(&bytes).unwrap())?;
                }
            }
            Ok(())
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn an_officer_created_at_the_hub_signs_in_at_her_kiosk_offline() {
    let hub = node_with(None, 1);
    let kiosk = node_with(None, 2); // another node, another field key
    hub.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    assert!(matches!(
        kiosk.accounts.sign_in_password("li-01", PASSWORD).await,
        Err(SignInError::BadPassword)
    ));

    import(&kiosk.store, export(&hub.store, "li-01").await).await;
    drop(hub.accounts); // the hub is out of reach from here on
    drop(hub.store);

    let s = kiosk.accounts.sign_in_password("li-01", PASSWORD).await.unwrap();
    let (_, actor) = kiosk.accounts.session(&s.token).await.unwrap().unwrap();
    assert_eq!((actor.person_id.as_str(), actor.region.as_str()), ("li-01", "510131001001"));
    assert!(matches!(
        kiosk.accounts.sign_in_password("li-01", "wrong-password").await,
        Err(SignInError::BadPassword)
    ));
    // The kiosk lists her in its directory projection.
    let name: String = kiosk
        .store
        .call(|db| Ok(db.conn().query_row("SELECT name FROM people WHERE id = 'li-01'", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(name, "李秀英");
    // Her phone was sealed with the hub's key: the kiosk cannot send her a code, and says so.
    let e = kiosk.accounts.send_code("li-01").await.unwrap_err();
    assert!(matches!(e, SignInError::PhoneSealedElsewhere), "{e}");
    assert_eq!(kiosk.sms.count(), 0);
}

#[tokio::test]
async fn a_password_changed_at_the_kiosk_reaches_the_hub_and_lockouts_stay_local() {
    let hub = node_with(None, 1);
    let kiosk = node_with(None, 2);
    hub.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    import(&kiosk.store, export(&hub.store, "li-01").await).await;

    // Five failures at the kiosk lock her there, not at the hub.
    for _ in 0..FAILURES_BEFORE_LOCKOUT {
        kiosk.accounts.sign_in_password("li-01", "wrong-password").await.unwrap_err();
    }
    assert!(matches!(
        kiosk.accounts.sign_in_password("li-01", PASSWORD).await,
        Err(SignInError::Locked { .. })
    ));
    hub.accounts.sign_in_password("li-01", PASSWORD).await.unwrap();

    // Changed at the kiosk (offline), the new password works at the hub once the change arrives.
    kiosk.accounts.set_password("li-01", "new-password-1").await.unwrap();
    assert!(matches!(
        hub.accounts.sign_in_password("li-01", "new-password-1").await,
        Err(SignInError::BadPassword)
    ));
    import(&hub.store, export(&kiosk.store, "li-01").await).await;
    hub.accounts.sign_in_password("li-01", "new-password-1").await.unwrap();
    assert!(matches!(hub.accounts.sign_in_password("li-01", PASSWORD).await, Err(SignInError::BadPassword)));
}
