//! A publishable item (发布条目): the one document shape that every type published through the
//! pipeline shares (industry information, lectures, achievements, bounties, listings). It holds
//! the item's kind, the centre that owns it, title, body, the kind's structured fields, blob
//! references, who owns its intellectual property (知识产权归属) and its pipeline steps as
//! append-only events (who, role, when on the hub's clock, a note).
//!
//! The stage is derived from the steps only (`crate::publication::derive`). A kind is a
//! [`Kind`]: its Chinese name, its pipeline [`Rules`], its fields and its own automatic checks;
//! the node that serves a module registers its kinds (nothing here knows them), so a new module
//! is one [`Kind`] plus its pages. Published, an item becomes a public document
//! (`crate::published::PublishedDoc`).

use std::collections::BTreeMap;

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};

use crate::publication::{self, Pipeline, Rules, Step, StepKind};
use crate::region::{RegionCode, RegionLevel};
use crate::text;

pub const DOC_TYPE: &str = "pub_item";
pub const SCHEMA_VERSION: u64 = 1;
/// Bounds, in characters (counts for the lists).
pub const TITLE_CHARS_MAX: usize = 100;
pub const BODY_CHARS_MAX: usize = 20_000;
pub const FIELDS_MAX: usize = 32;
pub const FIELD_KEY_CHARS_MAX: usize = 32;
pub const FIELD_VALUE_CHARS_MAX: usize = 2_000;
pub const ATTACHMENTS_MAX: usize = 32;
pub const STEPS_MAX: usize = 200;
pub const NOTE_CHARS_MAX: usize = 500;
/// Names: the IP owner, a step's actor, a kind.
pub const NAME_CHARS_MAX: usize = 100;
/// Digits in a row (separators allowed between them) that the checks take for a personal
/// number: a mobile number has 11, an ID card 18, a bank card 16 to 19.
pub const PERSONAL_NUMBER_DIGITS_MIN: usize = 11;

/// One step on the pipeline, as stored (the kind as its code, so a node running older code
/// keeps kinds it does not know).
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct ItemStep {
    #[key]
    pub id: String,
    /// On the clock of the hub that recorded it.
    pub at_ms: i64,
    /// The person's id, or `system:<node>` for the system's steps.
    pub actor: String,
    pub actor_name: String,
    /// The actor's role code (`staff`, `admin`...) or `system`.
    pub role: String,
    /// A [`StepKind`] code.
    pub kind: String,
    pub note: String,
}

/// A blob the item references (a photo and its copies), by its BLAKE3 hash.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct ItemAttachment {
    pub hash: String,
    /// The original's hash, shared by its copies.
    pub group: String,
    /// `photo`.
    pub kind: String,
    /// `original`, `display` or `thumb` (as a case's attachments).
    pub role: String,
    pub name: String,
    pub mime: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct ItemDoc {
    pub doc_type: String,
    pub schema: u64,
    pub id: String,
    /// The [`Kind`]'s name.
    pub kind: String,
    /// The region code of the centre that owns it (and signs it off), or of the village station
    /// that drafted it (signed off by its county): its sync scope.
    pub centre: String,
    pub title: String,
    pub body: String,
    /// The kind's structured fields, by key.
    pub fields: BTreeMap<String, String>,
    /// By [`ItemAttachment::key`] (a small photo's copies are the original itself: one hash
    /// under several roles), so the same photo added twice merges into one.
    pub attachments: BTreeMap<String, ItemAttachment>,
    /// Who owns its intellectual property (知识产权归属).
    pub ip_owner: String,
    /// The author's person id.
    pub author: String,
    pub created_at_ms: i64,
    pub steps: Vec<ItemStep>,
}

/// What an author gives for a new item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewItem {
    pub kind: String,
    pub centre: String,
    pub title: String,
    pub body: String,
    pub fields: BTreeMap<String, String>,
    pub ip_owner: String,
    pub author: String,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ItemError {
    #[error("{0} is required")]
    Required(&'static str),
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{0} holds a control or bidirectional character")]
    BadText(&'static str),
    #[error("too many {0}")]
    TooMany(&'static str),
    #[error("the owner {0:?} is not a county, city or province centre or a village station")]
    NotACentre(String),
    #[error("unknown step {0:?}")]
    Step(String),
    #[error("document is not a publishable item or is damaged: {0}")]
    Document(String),
}

impl ItemError {
    pub fn message_zh(&self) -> String {
        let field = |f: &str| match f {
            "title" => "标题",
            "body" => "正文",
            "kind" => "类别",
            "ip_owner" => "知识产权归属",
            "note" => "意见",
            "fields" => "字段",
            "field key" => "字段名",
            "field value" => "字段内容",
            "attachments" => "附件",
            "steps" => "流程记录",
            _ => "内容",
        };
        match self {
            ItemError::Required(f) => format!("请填写{}", field(f)),
            ItemError::TooLong { field: f, max } => format!("{}不能超过 {max} 字", field(f)),
            ItemError::BadText(f) => format!("{}含有不允许的控制字符", field(f)),
            ItemError::TooMany(f) => format!("{}过多", field(f)),
            ItemError::NotACentre(_) => "所属中心必须是县、市或省级运管中心".into(),
            ItemError::Step(_) => "未知的操作".into(),
            ItemError::Document(_) => "条目已损坏".into(),
        }
    }
}

fn check_text(field: &'static str, value: &str, max: usize, multi_line: bool) -> Result<(), ItemError> {
    if value.chars().count() > max {
        return Err(ItemError::TooLong { field, max });
    }
    text::check(value, multi_line).map_err(|_| ItemError::BadText(field))
}

impl ItemDoc {
    /// A new draft: no steps yet.
    pub fn create(new: &NewItem, id: &str, at_ms: i64) -> Result<(ItemDoc, AutoCommit), ItemError> {
        let item = ItemDoc {
            doc_type: DOC_TYPE.into(),
            schema: SCHEMA_VERSION,
            id: id.into(),
            kind: new.kind.trim().into(),
            centre: new.centre.clone(),
            title: new.title.trim().into(),
            body: new.body.trim().into(),
            fields: new.fields.iter().map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect(),
            attachments: BTreeMap::new(),
            ip_owner: new.ip_owner.trim().into(),
            author: new.author.clone(),
            created_at_ms: at_ms,
            steps: Vec::new(),
        };
        if item.title.is_empty() {
            return Err(ItemError::Required("title"));
        }
        let doc = item.to_doc()?;
        Ok((item, doc))
    }

    /// The structure every node checks, whatever the kind (a kind's own rules are its
    /// automatic checks): bounds, text hygiene, a centre's region.
    pub fn validate(&self) -> Result<(), ItemError> {
        if self.doc_type != DOC_TYPE {
            return Err(ItemError::Document(format!("doc_type is {:?}", self.doc_type)));
        }
        if self.id.is_empty() || self.kind.is_empty() {
            return Err(ItemError::Required(if self.id.is_empty() { "id" } else { "kind" }));
        }
        let centre =
            RegionCode::parse(&self.centre).map_err(|_| ItemError::NotACentre(self.centre.clone()))?;
        // A centre owns its items; a village station's draft (a farmer's listing recorded by
        // the officer) is owned by its village and reviewed and signed off by its county.
        if centre.level() == RegionLevel::Town {
            return Err(ItemError::NotACentre(self.centre.clone()));
        }
        check_text("kind", &self.kind, NAME_CHARS_MAX, false)?;
        check_text("title", &self.title, TITLE_CHARS_MAX, false)?;
        check_text("body", &self.body, BODY_CHARS_MAX, true)?;
        check_text("ip_owner", &self.ip_owner, NAME_CHARS_MAX, false)?;
        if self.fields.len() > FIELDS_MAX {
            return Err(ItemError::TooMany("fields"));
        }
        for (k, v) in &self.fields {
            check_text("field key", k, FIELD_KEY_CHARS_MAX, false)?;
            check_text("field value", v, FIELD_VALUE_CHARS_MAX, true)?;
        }
        if self.attachments.len() > ATTACHMENTS_MAX {
            return Err(ItemError::TooMany("attachments"));
        }
        for a in self.attachments.values() {
            for text in [&a.name, &a.group, &a.kind, &a.role, &a.mime] {
                check_text("attachments", text, NAME_CHARS_MAX, false)?;
            }
        }
        if self.steps.len() > STEPS_MAX {
            return Err(ItemError::TooMany("steps"));
        }
        for s in &self.steps {
            check_text("note", &s.note, NOTE_CHARS_MAX, true)?;
            check_text("steps", &s.actor_name, NAME_CHARS_MAX, false)?;
        }
        Ok(())
    }

    pub fn to_doc(&self) -> Result<AutoCommit, ItemError> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| ItemError::Document(e.to_string()))?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<ItemDoc, ItemError> {
        let item: ItemDoc = hydrate(doc).map_err(|e| ItemError::Document(e.to_string()))?;
        item.validate()?;
        Ok(item)
    }

    /// Appends a step (idempotent by id). Its time is at least one more than every step
    /// already held, so it never sorts before what it answers.
    pub fn append_step(doc: &mut AutoCommit, step: ItemStep) -> Result<ItemDoc, ItemError> {
        let mut item = ItemDoc::from_doc(doc)?;
        if item.steps.iter().any(|s| s.id == step.id) {
            return Ok(item);
        }
        if item.steps.len() >= STEPS_MAX {
            return Err(ItemError::TooMany("steps"));
        }
        StepKind::parse(&step.kind).ok_or_else(|| ItemError::Step(step.kind.clone()))?;
        check_text("note", &step.note, NOTE_CHARS_MAX, true)?;
        let mut step = step;
        if let Some(last) = item.steps.iter().map(|s| s.at_ms).max() {
            step.at_ms = step.at_ms.max(last.saturating_add(1));
        }
        item.steps.push(step);
        reconcile(doc, &item).map_err(|e| ItemError::Document(e.to_string()))?;
        Ok(item)
    }

    /// Replaces what the author wrote (title, body, fields, IP owner), leaving the steps: the
    /// service allows it only on a draft or after failed checks.
    pub fn edit(doc: &mut AutoCommit, content: &NewItem) -> Result<ItemDoc, ItemError> {
        let mut item = ItemDoc::from_doc(doc)?;
        item.title = content.title.trim().into();
        item.body = content.body.trim().into();
        item.fields =
            content.fields.iter().map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
        item.ip_owner = content.ip_owner.trim().into();
        if item.title.is_empty() {
            return Err(ItemError::Required("title"));
        }
        item.validate()?;
        reconcile(doc, &item).map_err(|e| ItemError::Document(e.to_string()))?;
        Ok(item)
    }

    /// Adds attachments (idempotent per [`ItemAttachment::key`]), at most [`ATTACHMENTS_MAX`].
    pub fn add_attachments(
        doc: &mut AutoCommit,
        attachments: Vec<ItemAttachment>,
    ) -> Result<ItemDoc, ItemError> {
        let mut item = ItemDoc::from_doc(doc)?;
        for a in attachments {
            let key = a.key();
            if !item.attachments.contains_key(&key) && item.attachments.len() >= ATTACHMENTS_MAX {
                return Err(ItemError::TooMany("attachments"));
            }
            item.attachments.insert(key, a);
        }
        item.validate()?;
        reconcile(doc, &item).map_err(|e| ItemError::Document(e.to_string()))?;
        Ok(item)
    }

    /// The steps as the pipeline reads them (kinds this build does not know left out).
    pub fn pipeline_steps(&self) -> Vec<Step> {
        self.steps
            .iter()
            .filter_map(|s| {
                Some(Step {
                    id: s.id.clone(),
                    at_ms: s.at_ms,
                    actor: s.actor.clone(),
                    kind: StepKind::parse(&s.kind)?,
                })
            })
            .collect()
    }

    pub fn pipeline(&self) -> Pipeline {
        publication::derive(&self.pipeline_steps())
    }

    /// The steps in the pipeline's order (the timeline).
    pub fn ordered_steps(&self) -> Vec<&ItemStep> {
        let mut steps: Vec<&ItemStep> = self.steps.iter().collect();
        steps.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
        steps
    }

    /// The name recorded with a step `person` took, or her id.
    pub fn name_of(&self, person: &str) -> String {
        self.steps
            .iter()
            .find(|s| s.actor == person && !s.actor_name.is_empty())
            .map_or_else(|| person.to_string(), |s| s.actor_name.clone())
    }
}

impl ItemAttachment {
    /// `group/role`, as a case's attachments.
    pub fn key(&self) -> String {
        format!("{}/{}", self.group, self.role)
    }
}

/// One structured field of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub key: &'static str,
    pub label_zh: &'static str,
    pub required: bool,
    pub multi_line: bool,
}

/// A kind of publishable item: registered by the node that serves its module.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub name: &'static str,
    pub name_zh: &'static str,
    pub rules: Rules,
    /// Its fields, in the order pages show them.
    pub fields: &'static [FieldSpec],
    /// The kind's own automatic checks, beyond the ones every kind gets ([`automatic_checks`]);
    /// each problem as a Chinese sentence.
    pub check: fn(&ItemDoc) -> Vec<String>,
}

/// For kinds without checks of their own.
pub fn no_checks(_: &ItemDoc) -> Vec<String> {
    Vec::new()
}

impl Kind {
    /// The field's label, or its key for a field the kind does not name.
    pub fn label<'a>(&self, key: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.fields.iter().find(|f| f.key == key).map_or(key, |f| f.label_zh)
    }
}

/// The automatic checks (the pipeline's `checked` step): title and body present, the IP owner
/// named, the kind's required fields filled and no field it does not know, clean text, no
/// personal number (phone, ID card, bank card) anywhere, then the kind's own checks. Returns
/// the problems, in Chinese; none means passed.
pub fn automatic_checks(kind: &Kind, item: &ItemDoc) -> Vec<String> {
    let mut problems = Vec::new();
    if item.kind != kind.name {
        problems.push(format!("类别不符：{}", item.kind));
    }
    if item.validate().is_err() {
        problems.push("内容不符合格式要求".into());
    }
    if item.title.trim().is_empty() {
        problems.push("缺少标题".into());
    }
    if item.body.trim().is_empty() {
        problems.push("缺少正文".into());
    }
    if item.ip_owner.trim().is_empty() {
        problems.push("缺少知识产权归属".into());
    }
    for f in kind.fields {
        let value = item.fields.get(f.key).map_or("", |v| v.trim());
        if f.required && value.is_empty() {
            problems.push(format!("缺少必填字段：{}", f.label_zh));
        }
        if !f.multi_line && value.contains('\n') {
            problems.push(format!("字段“{}”只能填一行", f.label_zh));
        }
    }
    for key in item.fields.keys() {
        if !kind.fields.iter().any(|f| f.key == key) {
            problems.push(format!("未知字段：{key}"));
        }
    }
    let texts = [
        ("", "标题", item.title.as_str()),
        ("", "正文", item.body.as_str()),
        ("", "知识产权归属", &item.ip_owner),
    ]
    .into_iter()
    .chain(item.fields.iter().map(|(k, v)| (k.as_str(), kind.label(k), v.as_str())));
    for (key, label, value) in texts {
        if key == ORGANISATION_PHONE_FIELD {
            if !value.trim().is_empty() && !is_organisation_phone(value.trim()) {
                problems
                    .push(format!("{label}须为单位座机（如 028-85001234）或 400/800 电话，不能填个人手机号"));
            }
        } else if has_personal_number(value) {
            problems.push(format!("{label}中含有疑似个人号码（手机号、身份证号或银行卡号），请删除"));
        }
    }
    problems.extend((kind.check)(item));
    problems
}

/// The one field key whose value may be a telephone number: an organisation's (a platform's,
/// a centre's) landline or 400/800 line, never a mobile. Every other text is checked with
/// [`has_personal_number`].
pub const ORGANISATION_PHONE_FIELD: &str = "org_phone";

/// An organisation's telephone: a landline with its area code (0 + 2 or 3 digits, then 7 or 8
/// digits; a hyphen or space between them) or a 400/800 number (10 digits), and nothing else.
/// A mobile number (11 digits from 1) is not one.
pub fn is_organisation_phone(text: &str) -> bool {
    let digits: String = text.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || text.contains("--") {
        return false;
    }
    if digits.starts_with("400") || digits.starts_with("800") {
        return digits.len() == 10;
    }
    // A mobile with a trunk 0 in front (013812345678) is still a mobile; Beijing's 010 is not.
    let mobile_behind_zero =
        digits.len() == 12 && digits[1..].starts_with('1') && !digits[1..].starts_with("10");
    digits.starts_with('0')
        && !digits.starts_with("00")
        && (10..=12).contains(&digits.len())
        && !mobile_behind_zero
}

/// Whether `text` holds a run of at least [`PERSONAL_NUMBER_DIGITS_MIN`] digits (ASCII or
/// full-width; single spaces or hyphens between digits, and an ID card's final X, count as
/// part of the run): a phone, ID-card or bank-card number.
pub fn has_personal_number(text: &str) -> bool {
    let mut digits = 0;
    let mut after_separator = false;
    for c in text.chars() {
        let digit =
            c.is_ascii_digit() || ('０'..='９').contains(&c) || (digits >= 17 && matches!(c, 'X' | 'x'));
        if digit {
            digits += 1;
            after_separator = false;
            if digits >= PERSONAL_NUMBER_DIGITS_MIN {
                return true;
            }
        } else if matches!(c, ' ' | '-') && digits > 0 && !after_separator {
            after_separator = true;
        } else {
            digits = 0;
            after_separator = false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RegionLevel;

    const EXAMPLE: Kind = Kind {
        name: "example",
        name_zh: "示例",
        rules: Rules {
            combined_sign_off: false,
            lowest_centre: RegionLevel::County,
            highest_centre: RegionLevel::Province,
        },
        fields: &[
            FieldSpec { key: "price", label_zh: "价格", required: true, multi_line: false },
            FieldSpec { key: "notes", label_zh: "说明", required: false, multi_line: true },
        ],
        check: |item| {
            if item.title.contains("保证") { vec!["不得承诺保证".into()] } else { Vec::new() }
        },
    };

    fn new_item() -> NewItem {
        NewItem {
            kind: "example".into(),
            centre: "510131".into(),
            title: "春茶上市".into(),
            body: "明前茶开始采摘。".into(),
            fields: [("price".to_string(), "每斤 300 元".to_string())].into(),
            ip_owner: "某县茶叶协会".into(),
            author: "staff-1".into(),
        }
    }

    fn step(id: &str, at_ms: i64, actor: &str, kind: StepKind) -> ItemStep {
        ItemStep {
            id: id.into(),
            at_ms,
            actor: actor.into(),
            actor_name: actor.into(),
            role: "staff".into(),
            kind: kind.code().into(),
            note: String::new(),
        }
    }

    #[test]
    fn checks_find_what_is_missing_or_personal() {
        let (item, _) = ItemDoc::create(&new_item(), "i1", 1).unwrap();
        assert_eq!(automatic_checks(&EXAMPLE, &item), Vec::<String>::new());
        let check = |f: &dyn Fn(&mut ItemDoc), expected: &str| {
            let mut it = item.clone();
            f(&mut it);
            let problems = automatic_checks(&EXAMPLE, &it);
            assert!(problems.iter().any(|p| p.contains(expected)), "{expected}: {problems:?}");
        };
        check(&|i| i.body.clear(), "缺少正文");
        check(&|i| i.ip_owner.clear(), "知识产权归属");
        check(&|i| drop(i.fields.remove("price")), "价格");
        check(&|i| drop(i.fields.insert("colour".into(), "绿".into())), "未知字段");
        check(&|i| i.body = "联系 138 1234 5678".into(), "正文中含有疑似个人号码");
        check(&|i| drop(i.fields.insert("notes".into(), "身份证51010419900101123X".into())), "说明中含有");
        check(&|i| i.title = "保证增产".into(), "不得承诺保证");
        check(&|i| drop(i.fields.insert("price".into(), "一\n二".into())), "只能填一行");
    }

    #[test]
    fn organisation_phones() {
        for (text, expected) in [
            ("028-85001234", true),
            ("0833 2345678", true),
            ("08162345678", true),
            ("400-123-4567", true),
            ("13812345678", false),
            ("138-1234-5678", false),
            ("85001234", false),
            ("028-8500", false),
            ("0028-85001234", false),
            ("013812345678", false),
            ("010-12345678", true),
            ("028--85001234", false),
            ("电话 028-85001234", false),
            ("", false),
        ] {
            assert_eq!(is_organisation_phone(text), expected, "{text}");
        }
    }

    #[test]
    fn personal_numbers() {
        for (text, expected) in [
            ("13812345678", true),
            ("１３８１２３４５６７８", true),
            ("电话 138-1234-5678", true),
            ("6222 0212 3456 7890", true),
            ("2026年12月7日 亩产 1200 斤", false),
            ("编号 1234567890", false),
            ("1 3 8 1 2 3 4 5 6 7 8", true),
            ("12  3456789012", false),
        ] {
            assert_eq!(has_personal_number(text), expected, "{text}");
        }
    }

    #[test]
    fn bad_input_is_refused() {
        let mut n = new_item();
        n.centre = "510131001".into();
        assert!(matches!(ItemDoc::create(&n, "i", 1), Err(ItemError::NotACentre(_))));
        n.centre = "510131001001".into();
        assert!(ItemDoc::create(&n, "i", 1).is_ok(), "a village station's draft");
        let mut n = new_item();
        n.title = "x".repeat(TITLE_CHARS_MAX + 1);
        assert!(matches!(ItemDoc::create(&n, "i", 1), Err(ItemError::TooLong { .. })));
        let mut n = new_item();
        n.body = "a\u{202E}b".into();
        assert_eq!(ItemDoc::create(&n, "i", 1).unwrap_err(), ItemError::BadText("body"));
        assert!(ItemDoc::from_doc(&AutoCommit::new()).is_err());
    }

    #[test]
    fn steps_are_appended_after_what_is_held_and_merge() {
        let (_, mut doc) = ItemDoc::create(&new_item(), "i1", 1).unwrap();
        ItemDoc::append_step(&mut doc, step("s1", 100, "staff-1", StepKind::Submit)).unwrap();
        // A step stamped earlier (a wrong clock) still sorts after.
        let item = ItemDoc::append_step(&mut doc, step("s2", 50, "system", StepKind::ChecksPassed)).unwrap();
        assert_eq!(item.steps[1].at_ms, 101);
        assert_eq!(item.pipeline().stage, publication::Stage::Checked);
        // Two hubs review concurrently; after the merge both steps are kept, one applies.
        let mut other = doc.fork();
        ItemDoc::append_step(&mut doc, step("r-a", 200, "a", StepKind::Review)).unwrap();
        ItemDoc::append_step(&mut other, step("r-b", 201, "b", StepKind::Review)).unwrap();
        doc.merge(&mut other).unwrap();
        let merged = ItemDoc::from_doc(&doc).unwrap();
        assert_eq!(merged.steps.len(), 4);
        let p = merged.pipeline();
        assert_eq!(
            (p.stage, p.reviewed_by.as_deref(), p.ignored.clone()),
            (publication::Stage::Reviewed, Some("a"), vec!["r-b".to_string()])
        );
        assert!(ItemDoc::append_step(&mut doc, step("x", 1, "a", StepKind::Submit)).is_ok());
        let mut bad = step("y", 1, "a", StepKind::Submit);
        bad.kind = "approve".into();
        assert_eq!(ItemDoc::append_step(&mut doc, bad).unwrap_err(), ItemError::Step("approve".into()));
    }
}
