//! People (人员): information officers, experts (科技特派员), operations staff and
//! administrators, one automerge document each, and their sign-in credentials in a separate
//! private document.
//!
//! A person's scope is her region: an officer's village or town (so the directory entry and
//! the credential sync down to that village's kiosk, which can then sign her in offline), an
//! expert's or a staff member's county, city or province (the level of the centre she serves).
//! The credential document ([`Credential`]) holds the password hash, the phone for sign-in
//! codes (sealed) and the passkeys; it is a private type, so like a case's private part it
//! never travels from a hub to its parent.

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};
use serde::Serialize;

use crate::industry::Industry;
use crate::region::{RegionCode, RegionLevel};

pub const DOC_TYPE: &str = "person";
pub const CREDENTIAL_DOC_TYPE: &str = "credential";
pub const SCHEMA_VERSION: u64 = 1;
pub const NAME_CHARS_MAX: usize = 32;
/// Specialities (专长) per expert, each at most [`SPECIALITY_CHARS_MAX`] characters.
pub const SPECIALITIES_MAX: usize = 16;
pub const SPECIALITY_CHARS_MAX: usize = 24;
/// Passkeys per person (a phone and a kiosk reader, say).
pub const PASSKEYS_MAX: usize = 8;
/// A stored passkey (webauthn-rs `Passkey` as JSON) is at most this long.
pub const PASSKEY_CHARS_MAX: usize = 4096;

/// What a person does in the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 信息员: records cases at a village station, closes and rates them.
    Officer,
    /// 科技特派员: answers the cases assigned to her.
    Expert,
    /// 运管中心工作人员: triage, dispatch and follow-up at a county, city or province centre.
    Staff,
    /// 管理员: manages people and settings of her region, and may do what staff do.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Officer, Role::Expert, Role::Staff, Role::Admin];

    pub fn code(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Expert => "expert",
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Accepts the code or the Chinese name (as spreadsheets are written).
    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim();
        Role::from_code(s).or_else(|| Role::ALL.into_iter().find(|r| r.name_zh() == s)).or(match s {
            "科技特派员" | "特派员" => Some(Role::Expert),
            // Older spreadsheets and templates name the centre 运营中心.
            "运营人员" | "工作人员" | "运营中心人员" | "运管人员" => Some(Role::Staff),
            _ => None,
        })
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Role::Officer => "信息员",
            Role::Expert => "专家",
            Role::Staff => "运管中心人员",
            Role::Admin => "管理员",
        }
    }
}

/// Whether an expert takes new cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Available,
    Busy,
    Away,
}

impl Availability {
    pub const ALL: [Availability; 3] = [Availability::Available, Availability::Busy, Availability::Away];

    pub fn code(self) -> &'static str {
        match self {
            Availability::Available => "available",
            Availability::Busy => "busy",
            Availability::Away => "away",
        }
    }

    pub fn from_code(code: &str) -> Option<Availability> {
        Availability::ALL.into_iter().find(|a| a.code() == code)
    }

    pub fn parse(s: &str) -> Option<Availability> {
        let s = s.trim();
        if s.is_empty() {
            return Some(Availability::Available);
        }
        Availability::from_code(s).or_else(|| Availability::ALL.into_iter().find(|a| a.name_zh() == s))
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Availability::Available => "可接单",
            Availability::Busy => "忙碌",
            Availability::Away => "外出",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PersonError {
    #[error("field {0} is required")]
    Required(&'static str),
    #[error("field {0} is too long")]
    TooLong(&'static str),
    #[error("unknown role {0:?}")]
    Role(String),
    #[error("unknown industry {0:?}")]
    Industry(String),
    #[error("unknown availability {0:?}")]
    Availability(String),
    #[error("invalid region: {0}")]
    Region(#[from] crate::region::RegionError),
    #[error("{role} must have a region at {expected}")]
    RegionLevel { role: &'static str, expected: &'static str },
    #[error("an expert needs at least one industry")]
    NoIndustry,
    #[error("too many {0}")]
    TooMany(&'static str),
    #[error("the id may hold only letters, digits, '-', '_' and '.'")]
    IdChars,
    #[error("field {0} holds a control or bidirectional override character")]
    BadChars(&'static str),
    #[error("phone number must be 7 to 15 digits")]
    Phone,
    #[error("document is not a person or is damaged: {0}")]
    Document(String),
}

impl PersonError {
    pub fn message_zh(&self) -> String {
        match self {
            PersonError::Required(f) => format!("请填写{}", field_zh(f)),
            PersonError::TooLong(f) => format!("{}太长", field_zh(f)),
            PersonError::Role(r) => format!("未知的角色“{r}”（应为 信息员/专家/运管中心人员/管理员）"),
            PersonError::Industry(i) => format!("未知的产业“{i}”"),
            PersonError::Availability(a) => format!("未知的状态“{a}”（应为 可接单/忙碌/外出）"),
            PersonError::Region(_) => "地区代码无效".into(),
            PersonError::RegionLevel { role, expected } => format!("{role}的地区应为{expected}"),
            PersonError::NoIndustry => "专家至少要有一个产业".into(),
            PersonError::TooMany(f) => format!("{}过多", field_zh(f)),
            PersonError::IdChars => "编号只能包含字母、数字和 - _ .".into(),
            PersonError::BadChars(f) => format!("{}含有不允许的控制字符或文字方向控制字符", field_zh(f)),
            PersonError::Phone => "手机号码应为 7 到 15 位数字".into(),
            PersonError::Document(_) => "人员数据已损坏".into(),
        }
    }
}

fn field_zh(f: &str) -> &'static str {
    match f {
        "name" => "姓名",
        "id" => "编号",
        "specialities" | "speciality" => "专长",
        "industries" => "产业",
        "phone" => "手机号码",
        "passkeys" => "通行密钥",
        "title" => "职称",
        _ => "必填项",
    }
}

/// A directory entry. Never holds a phone number in clear (see [`Credential`]).
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize)]
pub struct Person {
    pub doc_type: String,
    pub schema: u64,
    /// Stable identifier (the import's 编号, or generated), also the sign-in name.
    pub id: String,
    pub name: String,
    pub role: String,
    pub region_code: String,
    /// Industry codes ([`Industry::code`]); an expert's fields, an officer's village's.
    pub industries: Vec<String>,
    /// Free specialities (专长), e.g. "柑橘病害", "生猪疫病".
    pub specialities: Vec<String>,
    pub availability: String,
    /// Job title (职称), shown to staff choosing an expert.
    pub title: String,
    /// `138****5678`, for lists.
    pub phone_masked: String,
    /// False once the person left the service: she can no longer sign in or be assigned.
    pub active: bool,
    pub updated_at_ms: i64,
}

/// What an administrator enters (or an import row holds) for one person.
#[derive(Debug, Clone, Default)]
pub struct NewPerson {
    pub id: String,
    pub name: String,
    pub role: String,
    pub region_code: String,
    pub industries: Vec<String>,
    pub specialities: Vec<String>,
    pub availability: String,
    pub title: String,
    pub phone: String,
}

fn check(field: &'static str, v: &str, max: usize, required: bool) -> Result<(), PersonError> {
    if required && v.trim().is_empty() {
        return Err(PersonError::Required(field));
    }
    if v.chars().count() > max {
        return Err(PersonError::TooLong(field));
    }
    // Names, titles and specialities are single lines.
    crate::text::check(v, false).map_err(|_| PersonError::BadChars(field))
}

/// Normalises a phone number: digits only, 7 to 15 of them; empty stays empty.
pub fn normalise_phone(phone: &str) -> Result<String, PersonError> {
    let p: String = phone.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if !p.is_empty() && (!(7..=15).contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(PersonError::Phone);
    }
    Ok(p)
}

impl NewPerson {
    /// Validates and builds the directory entry; returns it with the normalised phone.
    pub fn build(&self, at_ms: i64) -> Result<(Person, String), PersonError> {
        check("id", &self.id, NAME_CHARS_MAX, true)?;
        if !self.id.trim().chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
            return Err(PersonError::IdChars);
        }
        check("name", &self.name, NAME_CHARS_MAX, true)?;
        let role = Role::parse(&self.role).ok_or_else(|| PersonError::Role(self.role.clone()))?;
        let region = RegionCode::parse(self.region_code.trim())?;
        let level = region.level();
        match role {
            Role::Officer if level < RegionLevel::Town => {
                return Err(PersonError::RegionLevel { role: "信息员", expected: "乡镇或村" });
            }
            Role::Expert | Role::Staff | Role::Admin if level > RegionLevel::County => {
                return Err(PersonError::RegionLevel {
                    role: role.name_zh(), expected: "省、市州或县市区"
                });
            }
            _ => {}
        }
        let mut industries = Vec::new();
        for i in &self.industries {
            let i = i.trim();
            if i.is_empty() {
                continue;
            }
            let ind = Industry::from_code(i)
                .or_else(|| Industry::ALL.into_iter().find(|x| x.name_zh() == i))
                .ok_or_else(|| PersonError::Industry(i.to_string()))?;
            if !industries.contains(&ind.code().to_string()) {
                industries.push(ind.code().to_string());
            }
        }
        if role == Role::Expert && industries.is_empty() {
            return Err(PersonError::NoIndustry);
        }
        let mut specialities: Vec<String> = Vec::new();
        for s in &self.specialities {
            let s = s.trim();
            if s.is_empty() || specialities.iter().any(|x| x == s) {
                continue;
            }
            check("speciality", s, SPECIALITY_CHARS_MAX, false)?;
            specialities.push(s.to_string());
        }
        if specialities.len() > SPECIALITIES_MAX {
            return Err(PersonError::TooMany("specialities"));
        }
        let availability = Availability::parse(&self.availability)
            .ok_or_else(|| PersonError::Availability(self.availability.clone()))?;
        check("title", &self.title, NAME_CHARS_MAX, false)?;
        let phone = normalise_phone(&self.phone)?;
        let person = Person {
            doc_type: DOC_TYPE.into(),
            schema: SCHEMA_VERSION,
            id: self.id.trim().into(),
            name: self.name.trim().into(),
            role: role.code().into(),
            region_code: region.as_str().into(),
            industries,
            specialities,
            availability: availability.code().into(),
            title: self.title.trim().into(),
            phone_masked: if phone.is_empty() { String::new() } else { crate::sealed::mask_phone(&phone) },
            active: true,
            updated_at_ms: at_ms,
        };
        Ok((person, phone))
    }
}

impl Person {
    pub fn role(&self) -> Option<Role> {
        Role::from_code(&self.role)
    }

    pub fn region(&self) -> Option<RegionCode> {
        RegionCode::parse(&self.region_code).ok()
    }

    /// An expert's level (province, city or county) is her region's level.
    pub fn level(&self) -> Option<RegionLevel> {
        self.region().map(|r| r.level())
    }

    pub fn availability(&self) -> Availability {
        Availability::from_code(&self.availability).unwrap_or(Availability::Available)
    }

    /// The document's id in the store (people share the id space with cases).
    pub fn doc_id(id: &str) -> String {
        format!("person:{id}")
    }

    pub fn to_doc(&self) -> Result<AutoCommit, PersonError> {
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| PersonError::Document(e.to_string()))?;
        Ok(doc)
    }

    /// Writes a changed entry into its document (an update merges with concurrent ones field
    /// by field).
    pub fn update_doc(&self, doc: &mut AutoCommit) -> Result<(), PersonError> {
        reconcile(doc, self).map_err(|e| PersonError::Document(e.to_string()))
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<Person, PersonError> {
        let p: Person = hydrate(doc).map_err(|e| PersonError::Document(e.to_string()))?;
        if p.doc_type != DOC_TYPE {
            return Err(PersonError::Document(format!("doc_type is {:?}", p.doc_type)));
        }
        p.role().ok_or_else(|| PersonError::Role(p.role.clone()))?;
        RegionCode::parse(&p.region_code)?;
        check("name", &p.name, NAME_CHARS_MAX, true)?;
        check("id", &p.id, NAME_CHARS_MAX, true)?;
        if p.specialities.len() > SPECIALITIES_MAX || p.industries.len() > Industry::ALL.len() {
            return Err(PersonError::TooMany("specialities"));
        }
        Ok(p)
    }
}

/// A person's sign-in secrets. Syncs like a case's private part: down to the nodes in her
/// scope (her village's kiosk signs an officer in offline), from a kiosk to its county hub
/// (a password changed at the kiosk), never from a hub to its parent.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct Credential {
    pub doc_type: String,
    pub person_id: String,
    /// Same as the person's, so the credential has the person's scope.
    pub region_code: String,
    /// Argon2id PHC string; empty when no password is set.
    pub password_hash: String,
    /// The phone for sign-in codes, sealed with the field key of the node that wrote it.
    pub phone_sealed: String,
    /// Registered passkeys (webauthn-rs `Passkey` serialised as JSON).
    pub passkeys: Vec<String>,
    pub updated_at_ms: i64,
}

impl Credential {
    pub fn doc_id(person_id: &str) -> String {
        format!("person:{person_id}.credential")
    }

    pub fn to_doc(&self) -> Result<AutoCommit, PersonError> {
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| PersonError::Document(e.to_string()))?;
        Ok(doc)
    }

    pub fn update_doc(&self, doc: &mut AutoCommit) -> Result<(), PersonError> {
        reconcile(doc, self).map_err(|e| PersonError::Document(e.to_string()))
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<Credential, PersonError> {
        let c: Credential = hydrate(doc).map_err(|e| PersonError::Document(e.to_string()))?;
        if c.doc_type != CREDENTIAL_DOC_TYPE {
            return Err(PersonError::Document(format!("doc_type is {:?}", c.doc_type)));
        }
        RegionCode::parse(&c.region_code)?;
        if c.passkeys.len() > PASSKEYS_MAX {
            return Err(PersonError::TooMany("passkeys"));
        }
        if c.passkeys.iter().any(|p| p.len() > PASSKEY_CHARS_MAX) || c.password_hash.len() > 512 {
            return Err(PersonError::TooLong("passkeys"));
        }
        Ok(c)
    }
}
