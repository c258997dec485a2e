//! A published item (已发布): the public document a hub makes from a signed-off
//! [`crate::item::ItemDoc`], scope `51`, sent to every node, readable without sign-in. It
//! carries what the public sees (title, body, the kind's fields with their labels, blob
//! references), who owns its intellectual property and who reviewed and signed it off.
//!
//! Withdrawal (the circuit breaker) is a grow-only map of withdrawal records: a node only ever
//! adds one under a new key, never removes one, so two hubs that withdraw at once, or an edit
//! that merges with a withdrawal, can never bring the item back. It is withdrawn as soon as the
//! map holds any record, and every node hides it from that moment.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};

use crate::item::{ItemAttachment, ItemDoc, ItemError, Kind, NAME_CHARS_MAX, NOTE_CHARS_MAX};

pub const DOC_TYPE: &str = "published";
pub const SCHEMA_VERSION: u64 = 1;
/// Withdrawal records kept on one document (more are refused: one is enough).
pub const WITHDRAWALS_MAX: usize = 16;

/// Who took a published document down, and when (on her hub's clock).
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct Withdrawal {
    pub at_ms: i64,
    /// The person's id.
    pub by: String,
    pub by_name: String,
    pub note: String,
}

impl Withdrawal {
    pub fn validate(&self) -> Result<(), ItemError> {
        if self.by.chars().count() > NAME_CHARS_MAX || self.by_name.chars().count() > NAME_CHARS_MAX {
            return Err(ItemError::TooLong { field: "steps", max: NAME_CHARS_MAX });
        }
        if self.note.chars().count() > NOTE_CHARS_MAX {
            return Err(ItemError::TooLong { field: "note", max: NOTE_CHARS_MAX });
        }
        crate::text::check(&self.note, true).map_err(|_| ItemError::BadText("note"))
    }
}

/// Adds a withdrawal record under `key` to a document's `withdrawals` map, touching nothing
/// else (idempotent per key).
pub fn add_withdrawal(
    withdrawals: &mut BTreeMap<String, Withdrawal>,
    key: &str,
    w: Withdrawal,
) -> Result<(), ItemError> {
    w.validate()?;
    if withdrawals.contains_key(key) {
        return Ok(());
    }
    if withdrawals.len() >= WITHDRAWALS_MAX {
        return Err(ItemError::TooMany("steps"));
    }
    withdrawals.insert(key.to_string(), w);
    Ok(())
}

/// One of the kind's fields, with the label the kind gives it (a kiosk knows no kinds).
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct PublicField {
    #[key]
    pub key: String,
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct PublishedDoc {
    pub doc_type: String,
    pub schema: u64,
    pub id: String,
    pub item_id: String,
    pub kind: String,
    pub kind_name: String,
    pub centre: String,
    pub title: String,
    pub body: String,
    pub fields: Vec<PublicField>,
    pub attachments: BTreeMap<String, ItemAttachment>,
    /// 知识产权归属.
    pub ip_owner: String,
    pub reviewed_by: String,
    pub signed_off_by: String,
    /// On the publishing hub's clock.
    pub published_at_ms: i64,
    /// The publishing hub's node id.
    pub publisher: String,
    pub withdrawals: BTreeMap<String, Withdrawal>,
}

impl PublishedDoc {
    /// The public document's id for an item.
    pub fn id_for(item_id: &str) -> String {
        format!("pub-{item_id}")
    }

    /// The public document of a signed-off item (the fields in the kind's order, then any the
    /// kind does not name).
    pub fn of_item(item: &ItemDoc, kind: &Kind, publisher: &str, at_ms: i64) -> PublishedDoc {
        let p = item.pipeline();
        let name = |who: &Option<String>| who.as_deref().map(|w| item.name_of(w)).unwrap_or_default();
        let mut fields: Vec<PublicField> = kind
            .fields
            .iter()
            .filter_map(|f| {
                let v = item.fields.get(f.key)?;
                Some(PublicField { key: f.key.into(), label: f.label_zh.into(), value: v.clone() })
            })
            .collect();
        for (k, v) in &item.fields {
            if !kind.fields.iter().any(|f| f.key == k) {
                fields.push(PublicField { key: k.clone(), label: k.clone(), value: v.clone() });
            }
        }
        PublishedDoc {
            doc_type: DOC_TYPE.into(),
            schema: SCHEMA_VERSION,
            id: PublishedDoc::id_for(&item.id),
            item_id: item.id.clone(),
            kind: item.kind.clone(),
            kind_name: kind.name_zh.into(),
            centre: item.centre.clone(),
            title: item.title.clone(),
            body: item.body.clone(),
            fields,
            attachments: item.attachments.clone(),
            ip_owner: item.ip_owner.clone(),
            reviewed_by: name(&p.reviewed_by),
            signed_off_by: name(&p.signed_off_by),
            published_at_ms: at_ms,
            publisher: publisher.into(),
            withdrawals: BTreeMap::new(),
        }
    }

    pub fn is_withdrawn(&self) -> bool {
        !self.withdrawals.is_empty()
    }

    pub fn validate(&self) -> Result<(), ItemError> {
        if self.doc_type != DOC_TYPE {
            return Err(ItemError::Document(format!("doc_type is {:?}", self.doc_type)));
        }
        // The same bounds as the item it was made from.
        let as_item = ItemDoc {
            doc_type: crate::item::DOC_TYPE.into(),
            schema: self.schema,
            id: self.item_id.clone(),
            kind: self.kind.clone(),
            centre: self.centre.clone(),
            title: self.title.clone(),
            body: self.body.clone(),
            fields: self.fields.iter().map(|f| (f.key.clone(), f.value.clone())).collect(),
            attachments: self.attachments.clone(),
            ip_owner: self.ip_owner.clone(),
            author: String::new(),
            created_at_ms: 0,
            steps: Vec::new(),
        };
        as_item.validate()?;
        if self.fields.len() > crate::item::FIELDS_MAX || self.withdrawals.len() > WITHDRAWALS_MAX {
            return Err(ItemError::TooMany("fields"));
        }
        for text in [&self.kind_name, &self.reviewed_by, &self.signed_off_by, &self.publisher] {
            if text.chars().count() > NAME_CHARS_MAX || crate::text::check(text, false).is_err() {
                return Err(ItemError::BadText("steps"));
            }
        }
        for f in &self.fields {
            if f.label.chars().count() > NAME_CHARS_MAX || crate::text::check(&f.label, false).is_err() {
                return Err(ItemError::BadText("fields"));
            }
        }
        self.withdrawals.values().try_for_each(Withdrawal::validate)
    }

    pub fn to_doc(&self) -> Result<AutoCommit, ItemError> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| ItemError::Document(e.to_string()))?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<PublishedDoc, ItemError> {
        let p: PublishedDoc = hydrate(doc).map_err(|e| ItemError::Document(e.to_string()))?;
        p.validate()?;
        Ok(p)
    }

    /// Marks the document withdrawn (a new record under `key`; nothing else changes).
    pub fn withdraw(doc: &mut AutoCommit, key: &str, w: Withdrawal) -> Result<PublishedDoc, ItemError> {
        let mut p = PublishedDoc::from_doc(doc)?;
        add_withdrawal(&mut p.withdrawals, key, w)?;
        reconcile(doc, &p).map_err(|e| ItemError::Document(e.to_string()))?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{FieldSpec, NewItem, no_checks};
    use crate::publication::Rules;

    const KIND: Kind = Kind {
        name: "example",
        name_zh: "示例",
        rules: Rules {
            combined_sign_off: false,
            lowest_centre: crate::RegionLevel::County,
            highest_centre: crate::RegionLevel::Province,
        },
        fields: &[FieldSpec { key: "price", label_zh: "价格", required: true, multi_line: false }],
        check: no_checks,
    };

    fn published() -> PublishedDoc {
        let new = NewItem {
            kind: "example".into(),
            centre: "510131".into(),
            title: "春茶".into(),
            body: "正文".into(),
            fields: [("price".to_string(), "300 元".to_string())].into(),
            ip_owner: "协会".into(),
            author: "a".into(),
        };
        let (item, _) = ItemDoc::create(&new, "i1", 1).unwrap();
        PublishedDoc::of_item(&item, &KIND, "hub-510131", 10)
    }

    fn w(by: &str) -> Withdrawal {
        Withdrawal { at_ms: 20, by: by.into(), by_name: by.into(), note: "信息有误".into() }
    }

    #[test]
    fn carries_labels_and_round_trips() {
        let p = published();
        assert_eq!(
            p.fields,
            vec![PublicField { key: "price".into(), label: "价格".into(), value: "300 元".into() }]
        );
        assert_eq!(PublishedDoc::from_doc(&p.to_doc().unwrap()).unwrap(), p);
        assert!(PublishedDoc::from_doc(&AutoCommit::new()).is_err());
    }

    #[test]
    fn a_withdrawal_wins_against_concurrent_edits_and_withdrawals() {
        let mut a = published().to_doc().unwrap();
        let mut b = a.fork();
        let mut c = a.fork();
        // Hub A withdraws; hub B edits the title at the same time; hub C withdraws too.
        PublishedDoc::withdraw(&mut a, "w-a", w("county")).unwrap();
        let mut edited = PublishedDoc::from_doc(&b).unwrap();
        edited.title = "春茶（更正）".into();
        reconcile(&mut b, &edited).unwrap();
        PublishedDoc::withdraw(&mut c, "w-c", w("city")).unwrap();
        for order in [[0, 1, 2], [2, 1, 0], [1, 0, 2]] {
            let mut docs = [a.fork(), b.fork(), c.fork()];
            let mut merged = docs[order[0]].fork();
            merged.merge(&mut docs[order[1]]).unwrap();
            merged.merge(&mut docs[order[2]]).unwrap();
            let p = PublishedDoc::from_doc(&merged).unwrap();
            assert!(p.is_withdrawn(), "{order:?}");
            assert_eq!(p.withdrawals.len(), 2);
            assert_eq!(p.title, "春茶（更正）");
        }
        // B, having seen nothing, reconciles its whole view again: still no way back.
        let mut b2 = b.fork();
        b2.merge(&mut a).unwrap();
        reconcile(&mut b, &edited).unwrap();
        b2.merge(&mut b).unwrap();
        assert!(PublishedDoc::from_doc(&b2).unwrap().is_withdrawn());
    }
}
