//! The circuit breaker's takedowns (安全熔断): a signed public document per takedown that every
//! node applies when it arrives, so an item taken down at the province is hidden at every hub
//! and kiosk after their next sync, also at a kiosk that was offline when it was issued.
//!
//! A takedown names a [`Target`] (one published item, an account's published items, a whole
//! module by kind prefix, or a region's items by region code), the region it acts within (the
//! issuing person's region: a county's staff act on their county's items only), a reason, who
//! issued it and when. It is signed by the issuing hub's TLS identity key
//! (`yizhan_identity::SignedStatement`, context [`SIGNATURE_CONTEXT`]); a lift is a second
//! signed statement on the same document. The signature is verified where the document is
//! applied, against the trust roots (`yizhan_net::follow_takedowns`): a document that does
//! not verify, names a region outside its signer's scope, or a lift by a node that does not
//! contain the takedown's region, is ignored. This module only carries and parses the bytes.
//!
//! What a takedown hides: the published items matching its target whose owning centre lies
//! within its region (`store::takedown`, checked again on every read, so items arriving after
//! the takedown are hidden too).

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};
use serde::{Deserialize, Serialize};

use crate::item::{NAME_CHARS_MAX, NOTE_CHARS_MAX};

pub const DOC_TYPE: &str = "takedown";
/// What the issuing hub's key signs before a takedown's or a lift's JSON body.
pub const SIGNATURE_CONTEXT: &[u8] = b"yizhan takedown v1\0";
/// A signed statement in a document, base64, at most (`yizhan_identity::STATEMENT_BYTES_MAX`
/// bytes, base64 grows by a third).
pub const SIGNED_B64_MAX: usize = 64 * 1024 * 4 / 3 + 4;
/// Published items an account takedown lists at most (resolved when it is issued).
pub const ACCOUNT_ITEMS_MAX: usize = 2_000;
/// A target's text (an id, a kind prefix, a region code) at most.
pub const TARGET_CHARS_MAX: usize = 100;

/// What a takedown hides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Target {
    /// One published item, by its public document's id (`pub-…`).
    Item { id: String },
    /// An account's published items: its person id and the public ids of the items it had
    /// submitted that were published when the takedown was issued (its later submissions wait
    /// for review while the account is taken down).
    Account { person: String, items: Vec<String> },
    /// Every item of a module, by kind prefix (`yizhan_web::Module` code and a dot: `supply.`),
    /// or of one kind (`supply.offer`).
    Module { prefix: String },
    /// Every item owned by a centre within this region code (`core::region`).
    Region { code: String },
}

impl Target {
    /// The short code stored and shown (`item`, `account`, `module`, `region`).
    pub fn code(&self) -> &'static str {
        match self {
            Target::Item { .. } => "item",
            Target::Account { .. } => "account",
            Target::Module { .. } => "module",
            Target::Region { .. } => "region",
        }
    }

    /// What it names (the item's id, the person, the prefix, the region code).
    pub fn name(&self) -> &str {
        match self {
            Target::Item { id } => id,
            Target::Account { person, .. } => person,
            Target::Module { prefix } => prefix,
            Target::Region { code } => code,
        }
    }

    pub fn name_zh(&self) -> &'static str {
        match self {
            Target::Item { .. } => "单条信息",
            Target::Account { .. } => "账号的信息",
            Target::Module { .. } => "整个模块",
            Target::Region { .. } => "整个地区",
        }
    }

    fn validate(&self) -> Result<(), String> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars().count() <= TARGET_CHARS_MAX
                && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match self {
            Target::Item { id } if ok(id) => Ok(()),
            Target::Account { person, items } if ok(person) && items.len() <= ACCOUNT_ITEMS_MAX => {
                if items.iter().all(|i| ok(i)) { Ok(()) } else { Err("bad item id".into()) }
            }
            Target::Module { prefix } if ok(prefix) => Ok(()),
            Target::Region { code } if crate::RegionCode::parse(code).is_ok() => Ok(()),
            _ => Err(format!("bad {} target", self.code())),
        }
    }
}

/// The signed body of a takedown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Takedown {
    /// The document's id (`takedown-…`): a signature is valid only in its own document.
    pub id: String,
    pub target: Target,
    /// The region it acts within: the issuing person's region, within the signer's scope.
    pub region: String,
    pub reason: String,
    /// The person who issued it, and her name.
    pub by: String,
    pub by_name: String,
    /// On the issuing hub's clock.
    pub at_ms: i64,
    /// The signing hub's node id.
    pub issuer: String,
}

/// The signed body of a lift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lift {
    pub takedown: String,
    pub reason: String,
    pub by: String,
    pub by_name: String,
    pub at_ms: i64,
    pub issuer: String,
}

fn check_text(what: &str, s: &str, max: usize, multi_line: bool) -> Result<(), String> {
    if s.chars().count() > max || crate::text::check(s, multi_line).is_err() {
        return Err(format!("bad {what}"));
    }
    Ok(())
}

impl Takedown {
    pub fn validate(&self) -> Result<(), String> {
        if !self.id.starts_with("takedown-") || self.id.len() > TARGET_CHARS_MAX {
            return Err("bad takedown id".into());
        }
        self.target.validate()?;
        crate::RegionCode::parse(&self.region).map_err(|e| e.to_string())?;
        if self.reason.trim().is_empty() {
            return Err("a takedown needs a reason".into());
        }
        check_text("reason", &self.reason, NOTE_CHARS_MAX, true)?;
        check_text("by", &self.by, NAME_CHARS_MAX, false)?;
        check_text("by_name", &self.by_name, NAME_CHARS_MAX, false)?;
        check_text("issuer", &self.issuer, NAME_CHARS_MAX, false)
    }

    /// Parses and checks a signed body.
    pub fn from_json(body: &[u8]) -> Result<Takedown, String> {
        let t: Takedown = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        t.validate()?;
        Ok(t)
    }

    pub fn to_json(&self) -> Result<Vec<u8>, String> {
        self.validate()?;
        serde_json::to_vec(self).map_err(|e| e.to_string())
    }
}

impl Lift {
    pub fn validate(&self) -> Result<(), String> {
        if self.reason.trim().is_empty() {
            return Err("a lift needs a reason".into());
        }
        check_text("reason", &self.reason, NOTE_CHARS_MAX, true)?;
        check_text("by", &self.by, NAME_CHARS_MAX, false)?;
        check_text("by_name", &self.by_name, NAME_CHARS_MAX, false)?;
        check_text("issuer", &self.issuer, NAME_CHARS_MAX, false)
    }

    pub fn from_json(body: &[u8]) -> Result<Lift, String> {
        let l: Lift = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        l.validate()?;
        Ok(l)
    }

    pub fn to_json(&self) -> Result<Vec<u8>, String> {
        self.validate()?;
        serde_json::to_vec(self).map_err(|e| e.to_string())
    }
}

/// The public document: the signed takedown and, once lifted, the signed lift (base64 of
/// `yizhan_identity::SignedStatement` bytes). Written by the issuing hub; the lift by a hub
/// whose scope contains the takedown's region.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct TakedownDoc {
    pub doc_type: String,
    pub id: String,
    pub signed_b64: String,
    pub lift_b64: Option<String>,
}

impl TakedownDoc {
    pub fn validate(&self) -> Result<(), String> {
        if self.doc_type != DOC_TYPE {
            return Err(format!("doc_type is {:?}", self.doc_type));
        }
        if !self.id.starts_with("takedown-") || self.id.len() > TARGET_CHARS_MAX {
            return Err("bad takedown id".into());
        }
        if self.signed_b64.is_empty()
            || self.signed_b64.len() > SIGNED_B64_MAX
            || self.lift_b64.as_ref().is_some_and(|l| l.len() > SIGNED_B64_MAX)
        {
            return Err("signed statement size".into());
        }
        Ok(())
    }

    pub fn to_doc(&self) -> Result<AutoCommit, String> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| e.to_string())?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<TakedownDoc, String> {
        let t: TakedownDoc = hydrate(doc).map_err(|e| e.to_string())?;
        t.validate()?;
        Ok(t)
    }

    /// Adds the signed lift to an existing document.
    pub fn lift(doc: &mut AutoCommit, lift_b64: String) -> Result<(), String> {
        let mut t = TakedownDoc::from_doc(doc)?;
        t.lift_b64 = Some(lift_b64);
        t.validate()?;
        reconcile(doc, &t).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn takedown(target: Target) -> Takedown {
        Takedown {
            id: "takedown-1".into(),
            target,
            region: "510131".into(),
            reason: "含违禁词示例".into(),
            by: "staff".into(),
            by_name: "张三".into(),
            at_ms: 1,
            issuer: "hub-510131".into(),
        }
    }

    #[test]
    fn bodies_round_trip_and_bad_ones_are_refused() {
        for target in [
            Target::Item { id: "pub-item-1".into() },
            Target::Account { person: "p1".into(), items: vec!["pub-a".into()] },
            Target::Module { prefix: "supply.".into() },
            Target::Region { code: "510131".into() },
        ] {
            let t = takedown(target);
            assert_eq!(Takedown::from_json(&t.to_json().unwrap()).unwrap(), t);
        }
        assert!(takedown(Target::Region { code: "99".into() }).to_json().is_err());
        assert!(takedown(Target::Item { id: "../x".into() }).to_json().is_err());
        let mut t = takedown(Target::Item { id: "pub-1".into() });
        t.reason = " ".into();
        assert!(t.to_json().is_err());
        assert!(Takedown::from_json(b"{}").is_err());
    }

    #[test]
    fn documents_round_trip() {
        let d = TakedownDoc {
            doc_type: DOC_TYPE.into(),
            id: "takedown-1".into(),
            signed_b64: "AA==".into(),
            lift_b64: None,
        };
        let mut doc = d.to_doc().unwrap();
        assert_eq!(TakedownDoc::from_doc(&doc).unwrap(), d);
        TakedownDoc::lift(&mut doc, "AQ==".into()).unwrap();
        assert_eq!(TakedownDoc::from_doc(&doc).unwrap().lift_b64.as_deref(), Some("AQ=="));
    }
}
