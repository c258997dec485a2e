//! Sign-in for every Yizhan node (kiosk, county, city and province hubs): passwords
//! (Argon2id, lockout after repeated failures), sign-in codes by SMS (短信验证码) through a
//! pluggable [`SmsSender`], passkeys (fingerprint or device, WebAuthn via webauthn-rs), and
//! sessions with expiry. [`web::router`] gives the pages and endpoints, [`SignedIn`] the
//! extractor handlers use.
//!
//! A person's secrets live in her credential document ([`yizhan_core::Credential`]), which
//! syncs down to her village's kiosk: the kiosk checks the Argon2 hash locally, so it signs its
//! officers in while offline. Everything else here (sessions, failure counts and lockouts,
//! outstanding codes, WebAuthn ceremonies) is node-local state in tables of store migration 5
//! and never syncs.
//!
//! Architecture invariant: no token, code or password is stored in clear: sessions by the
//! BLAKE3 hash of their token, codes by a keyed BLAKE3 hash (key derived from the node's
//! field key), passwords as Argon2id hashes. No log line carries any of them, nor a full phone.

mod passkey;
pub mod password;
mod session;
pub mod sms;
pub mod sms_aliyun;
mod tables;
pub mod web;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use automerge::AutoCommit;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use rand::{Rng, RngCore};
use tokio::sync::{OnceCell, Semaphore};
use webauthn_rs::Webauthn;
use yizhan_core::people::CREDENTIAL_DOC_TYPE;
use yizhan_core::sealed::NONCE_LEN;
use yizhan_core::{Actor, Credential, FieldKey, NewPerson, Person, PersonError};
use yizhan_store::{Db, Store, StoreError};

use session::{SESSION_CLIENT, plausible_id};
#[cfg(test)]
use session::{plausible_token, token_hash};

pub use passkey::passkeys;
pub use password::PasswordError;
pub use sms::{DevLogSender, HttpSmsConfig, HttpSmsSender, SmsError, SmsSender};
pub use sms_aliyun::{AliyunSmsConfig, AliyunSmsSender};
pub use web::{COOKIE_NAME, SignedIn, router};
/// The WebAuthn types callers hand over (re-exported so callers need not name webauthn-rs).
pub use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse,
};

/// Every bound of the sign-in service.
pub mod limits {
    /// Default idle lifetime of a session; each use (at most once a minute) extends it.
    pub const SESSION_TTL_MS_DEFAULT: i64 = 12 * 3600 * 1000;
    /// Default absolute lifetime of a session, however active.
    pub const SESSION_MAX_MS_DEFAULT: i64 = 7 * 24 * 3600 * 1000;
    /// A session's last use is written at most this often.
    pub const SESSION_TOUCH_INTERVAL_MS: i64 = 60 * 1000;
    /// Sessions one person may hold on a node; signing in again ends the oldest.
    pub const SESSIONS_PER_PERSON_MAX: i64 = 20;
    /// Random bytes in a session token (sent as 43 base64url characters).
    pub const TOKEN_BYTES: usize = 32;
    /// Failed passwords in a row from one client address, each within [`FAILURE_WINDOW_MS`]
    /// of the one before, that lock an id for [`LOCKOUT_MS`] for that address. A success
    /// clears the count.
    pub const FAILURES_BEFORE_LOCKOUT: i64 = 5;
    /// Failed passwords in a row from all addresses together that lock an id for everyone
    /// (the bound on guessing from many hosts).
    pub const ACCOUNT_FAILURES_BEFORE_LOCKOUT: i64 = 50;
    pub const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
    pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;
    pub const CODE_DIGITS: usize = 6;
    /// A sign-in code is valid this long ...
    pub const CODE_TTL_MS: i64 = 5 * 60 * 1000;
    /// ... for at most this many attempts.
    pub const CODE_ATTEMPTS_MAX: i64 = 5;
    /// A new code is sent at most once per this interval ...
    pub const CODE_RESEND_INTERVAL_MS: i64 = 60 * 1000;
    /// ... and at most [`CODE_SENDS_PER_WINDOW_MAX`] times per window (SMS cost money).
    pub const CODE_SEND_WINDOW_MS: i64 = 24 * 3600 * 1000;
    pub const CODE_SENDS_PER_WINDOW_MAX: i64 = 10;
    /// A WebAuthn ceremony must finish within this time.
    pub const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;
    /// Unfinished ceremonies a node keeps (authentication can be started without signing in).
    pub const CEREMONIES_MAX: i64 = 1000;
    /// Random bytes in a ceremony id.
    pub const CEREMONY_ID_BYTES: usize = 16;
}

use limits::*;

/// How a session was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Password,
    Code,
    Passkey,
}

impl Method {
    pub fn code(self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::Code => "code",
            Method::Passkey => "passkey",
        }
    }

    fn parse(s: &str) -> Method {
        match s {
            "code" => Method::Code,
            "passkey" => Method::Passkey,
            _ => Method::Password,
        }
    }
}

/// A signed-in session. `token` goes into the cookie; only its hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub token: String,
    pub person_id: String,
    pub method: Method,
    pub created_ms: i64,
    pub expires_ms: i64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("person_id", &self.person_id)
            .field("method", &self.method)
            .field("created_ms", &self.created_ms)
            .field("expires_ms", &self.expires_ms)
            .finish_non_exhaustive()
    }
}

/// Why a sign-in (or sending a code) failed. `Display` is plain English for logs;
/// [`SignInError::message_zh`] is what a person reads.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown id or wrong password: the two are never told apart.
    #[error("unknown id or wrong password")]
    BadPassword,
    #[error("too many failed passwords: locked until {until_ms}")]
    Locked { until_ms: i64 },
    #[error("the person is no longer active")]
    Inactive,
    /// Unknown id or no phone on record (told apart only in the log).
    #[error("no phone on record for sign-in codes")]
    NoPhone,
    #[error("a code was sent less than a minute ago")]
    CodeTooSoon { wait_ms: i64 },
    #[error("too many codes sent today")]
    CodeLimit,
    #[error("no sign-in code is outstanding")]
    NoCode,
    #[error("the sign-in code expired")]
    CodeExpired,
    #[error("wrong sign-in code")]
    WrongCode { attempts_left: i64 },
    #[error("too many wrong codes")]
    CodeAttempts,
    /// The phone was sealed by another node (her county hub, say) with a key this node does
    /// not hold: codes can be sent only where she was registered.
    #[error("the phone on record was sealed by another node")]
    PhoneSealedElsewhere,
    #[error("the SMS could not be sent: {0}")]
    Sms(#[from] SmsError),
    #[error("passkeys are not enabled on this node")]
    PasskeysDisabled,
    #[error("no passkey is registered for this id")]
    NoPasskey,
    #[error("the passkey ceremony is unknown or expired")]
    CeremonyExpired,
    #[error("too many passkey ceremonies in progress")]
    Busy,
    #[error("passkey verification failed: {0}")]
    Passkey(String),
    #[error("stored sign-in data is damaged: {0}")]
    Damaged(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl SignInError {
    pub fn message_zh(&self) -> String {
        match self {
            SignInError::BadPassword => "账号或密码不正确".into(),
            SignInError::Locked { .. } => {
                format!(
                    "密码连续错误次数过多，账号已锁定 {} 分钟，请稍后再试或使用短信验证码登录",
                    LOCKOUT_MS / 60_000
                )
            }
            SignInError::Inactive => "该账号已停用，请联系管理员".into(),
            SignInError::NoPhone => "如该账号已登记手机，验证码已发送，5 分钟内有效".into(),
            SignInError::CodeTooSoon { wait_ms } => {
                format!("验证码已发送，请 {} 秒后再重新获取", (wait_ms + 999) / 1000)
            }
            SignInError::CodeLimit => "今天获取验证码次数过多，请使用密码登录或联系管理员".into(),
            SignInError::NoCode => "请先获取验证码".into(),
            SignInError::CodeExpired => "验证码已过期，请重新获取".into(),
            SignInError::WrongCode { attempts_left } => {
                format!("验证码不正确，还可以再试 {attempts_left} 次")
            }
            SignInError::CodeAttempts => "验证码错误次数过多，请重新获取".into(),
            SignInError::PhoneSealedElsewhere => "本站点不能向该账号的手机发送验证码，请使用密码登录".into(),
            SignInError::Sms(_) => "短信发送失败，请稍后重试或使用密码登录".into(),
            SignInError::PasskeysDisabled => "本站点未启用指纹/通行密钥登录".into(),
            SignInError::NoPasskey => {
                "该账号尚未登记指纹或通行密钥，请先用密码登录后在“我的账号”中登记".into()
            }
            SignInError::CeremonyExpired => "操作已超时，请重新点击登录".into(),
            SignInError::Busy => "系统繁忙，请稍后再试".into(),
            SignInError::Passkey(_) => "指纹/通行密钥验证未通过".into(),
            SignInError::Damaged(_) => "账号数据已损坏，请联系管理员".into(),
            SignInError::Store(_) | SignInError::Internal(_) => "系统错误，请稍后再试".into(),
        }
    }

    /// The HTTP status that fits.
    pub fn status(&self) -> u16 {
        match self {
            SignInError::BadPassword
            | SignInError::NoCode
            | SignInError::CodeExpired
            | SignInError::WrongCode { .. }
            | SignInError::CodeAttempts
            | SignInError::NoPasskey
            | SignInError::CeremonyExpired
            | SignInError::Passkey(_) => 401,
            SignInError::Inactive => 403,
            SignInError::PhoneSealedElsewhere => 409,
            SignInError::NoPhone => 200,
            SignInError::Locked { .. } | SignInError::CodeTooSoon { .. } | SignInError::CodeLimit => 429,
            SignInError::PasskeysDisabled => 404,
            SignInError::Busy | SignInError::Sms(_) => 503,
            SignInError::Damaged(_) | SignInError::Store(_) | SignInError::Internal(_) => 500,
        }
    }
}

/// Why managing an account (password, person, passkey registration) failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("too many failed passwords: locked until {until_ms}")]
    Locked { until_ms: i64 },
    #[error("no person {0}")]
    UnknownPerson(String),
    #[error("person {0} already exists")]
    Exists(String),
    #[error("invalid person: {0}")]
    Person(#[from] PersonError),
    #[error("passkeys are not enabled on this node")]
    PasskeysDisabled,
    #[error("at most {} passkeys per person", yizhan_core::people::PASSKEYS_MAX)]
    TooManyPasskeys,
    #[error("the passkey ceremony is unknown or expired")]
    CeremonyExpired,
    #[error("too many passkey ceremonies in progress")]
    Busy,
    #[error("passkey registration failed: {0}")]
    Passkey(String),
    #[error("stored sign-in data is damaged: {0}")]
    Damaged(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AccountError {
    pub fn message_zh(&self) -> String {
        match self {
            AccountError::Password(PasswordError::TooShort) => {
                format!("密码至少 {} 个字符", password::PASSWORD_CHARS_MIN)
            }
            AccountError::Password(PasswordError::TooLong) => {
                format!("密码最多 {} 个字符", password::PASSWORD_CHARS_MAX)
            }
            AccountError::Password(PasswordError::Hash(_)) => "系统错误，请稍后再试".into(),
            AccountError::WrongPassword => "当前密码不正确".into(),
            AccountError::Locked { .. } => {
                format!("密码连续错误次数过多，已锁定 {} 分钟", LOCKOUT_MS / 60_000)
            }
            AccountError::UnknownPerson(_) => "没有这个人员".into(),
            AccountError::Exists(_) => "该编号已存在".into(),
            AccountError::Person(e) => e.message_zh(),
            AccountError::PasskeysDisabled => "本站点未启用指纹/通行密钥登录".into(),
            AccountError::TooManyPasskeys => {
                format!("每人最多登记 {} 个通行密钥", yizhan_core::people::PASSKEYS_MAX)
            }
            AccountError::CeremonyExpired => "操作已超时，请重新登记".into(),
            AccountError::Busy => "系统繁忙，请稍后再试".into(),
            AccountError::Passkey(_) => "登记未成功，请重试".into(),
            AccountError::Damaged(_) => "账号数据已损坏，请联系管理员".into(),
            AccountError::Store(_) | AccountError::Internal(_) => "系统错误，请稍后再试".into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            AccountError::Password(PasswordError::Hash(_))
            | AccountError::Damaged(_)
            | AccountError::Store(_)
            | AccountError::Internal(_) => 500,
            AccountError::WrongPassword | AccountError::CeremonyExpired => 401,
            AccountError::Locked { .. } => 429,
            AccountError::UnknownPerson(_) | AccountError::PasskeysDisabled => 404,
            AccountError::Exists(_) => 409,
            AccountError::Busy => 503,
            _ => 400,
        }
    }
}

/// Settings of the sign-in service.
#[derive(Debug, Clone)]
pub struct AccountsConfig {
    /// Idle lifetime of a session (sliding).
    pub session_ttl_ms: i64,
    /// Absolute lifetime of a session.
    pub session_max_ms: i64,
    /// Mark the session cookie `Secure` (set when the node is served over HTTPS).
    pub secure_cookie: bool,
    /// The SHA-256 fingerprint of the node's self-signed web certificate, shown on the account
    /// page for the officer to compare with what the tablet's browser shows.
    pub web_fingerprint: Option<String>,
    /// The session cookie's name. Cookies ignore ports, so nodes sharing a host name (the
    /// demo's kiosks and hubs on one machine) each need their own.
    pub cookie_name: String,
}

impl AccountsConfig {
    /// The defaults with a session cookie of this node's own (`yizhan_<node id>`), since nodes
    /// on one host (the demo's) would otherwise overwrite each other's cookie.
    pub fn for_node(node_id: &str) -> AccountsConfig {
        let id: String = node_id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        AccountsConfig { cookie_name: format!("yizhan_{id}"), ..Default::default() }
    }
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            session_ttl_ms: SESSION_TTL_MS_DEFAULT,
            session_max_ms: SESSION_MAX_MS_DEFAULT,
            secure_cookie: false,
            web_fingerprint: None,
            cookie_name: web::COOKIE_NAME.to_string(),
        }
    }
}

/// The sign-in service of one node. Cheap to clone (one shared inner part).
#[derive(Clone)]
pub struct Accounts {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    field_key: FieldKey,
    code_key: [u8; 32],
    config: AccountsConfig,
    sms: Arc<dyn SmsSender>,
    webauthn: Option<Webauthn>,
    hashing: Semaphore,
    dummy_hash: OnceCell<String>,
    password_checks: AtomicU64,
}

/// What the account page shows about a person's sign-in methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSummary {
    pub has_password: bool,
    pub has_phone: bool,
    pub passkeys: usize,
}

/// Everything a sign-in needs to know about an id, read in one store call.
struct Known {
    person: Option<Person>,
    credential: Option<Credential>,
}

impl Accounts {
    /// `field_key` is the node's key for sealed fields (it opens the phone numbers in
    /// credentials written on this node). `webauthn` is None where passkeys are not offered
    /// (see [`passkeys`] to build one).
    pub fn new(
        store: Store,
        field_key: FieldKey,
        config: AccountsConfig,
        sms: Arc<dyn SmsSender>,
        webauthn: Option<Webauthn>,
    ) -> Result<Accounts, AccountError> {
        // The code-hashing key: a deterministic secret derived from the field key. Sealing a
        // fixed label under a fixed nonce gives the same bytes on every start (codes survive a
        // restart) and cannot be computed without the key. The all-zero nonce is used for
        // nothing else, and the sealed label never leaves this function.
        let sealed = field_key
            .seal(CODE_KEY_LABEL, [0u8; NONCE_LEN])
            .map_err(|e| AccountError::Internal(format!("deriving the code key: {e}")))?;
        let code_key = blake3::derive_key("yizhan accounts sign-in code key v1", sealed.as_bytes());
        Ok(Accounts {
            inner: Arc::new(Inner {
                store,
                field_key,
                code_key,
                config,
                sms,
                webauthn,
                hashing: Semaphore::new(password::HASHES_IN_FLIGHT_MAX),
                dummy_hash: OnceCell::new(),
                password_checks: AtomicU64::new(0),
            }),
        })
    }

    pub fn config(&self) -> &AccountsConfig {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Whether passkeys are offered on this node.
    pub fn passkeys_enabled(&self) -> bool {
        self.inner.webauthn.is_some()
    }

    /// Argon2 verifications performed so far (for tests and monitoring): a refused sign-in of
    /// an unknown id costs one just like a wrong password does.
    pub fn password_checks(&self) -> u64 {
        self.inner.password_checks.load(Ordering::Relaxed)
    }

    /// The node's one clock: the store's (tests inject it in `StoreConfig::clock`).
    fn now_ms(&self) -> i64 {
        self.inner.store.config().clock.now_ms()
    }

    /// Runs slow hashing work on a blocking thread, at most [`password::HASHES_IN_FLIGHT_MAX`]
    /// at once.
    async fn hashing<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
        let _permit = self.inner.hashing.acquire().await.map_err(|e| e.to_string())?;
        tokio::task::spawn_blocking(f).await.map_err(|e| e.to_string())
    }

    async fn hash_new_password(&self, password: &str) -> Result<String, AccountError> {
        password::check_new_password(password)?;
        let pw = password.to_string();
        Ok(self.hashing(move || password::hash_password(&pw)).await.map_err(AccountError::Internal)??)
    }

    /// Verifies a password against `phc`, or against a dummy hash of the same cost when there
    /// is none (unknown id, no password set), so both take the same time.
    async fn check_password(&self, phc: Option<String>, password: &str) -> Result<bool, String> {
        let (phc, real) = match phc.filter(|h| !h.is_empty()) {
            Some(h) => (h, true),
            None => (self.dummy_hash().await?, false),
        };
        let pw = password.to_string();
        self.inner.password_checks.fetch_add(1, Ordering::Relaxed);
        let ok = self.hashing(move || password::verify_password(&phc, &pw)).await?;
        Ok(ok && real)
    }

    async fn dummy_hash(&self) -> Result<String, String> {
        let this = self.clone();
        self.inner
            .dummy_hash
            .get_or_try_init(|| async move {
                let mut pw = [0u8; 16];
                rand::rng().fill_bytes(&mut pw);
                let pw = B64URL.encode(pw);
                this.hashing(move || password::hash_password(&pw)).await?.map_err(|e| e.to_string())
            })
            .await
            .cloned()
    }

    async fn known(&self, id: &str) -> Result<Known, SignInError> {
        let id = id.to_string();
        self.inner.store.call(move |db| Ok(load_known(db, &id))).await?.map_err(SignInError::Damaged)
    }

    // ---- people and passwords ----

    /// Creates a person and her credential document (password hash, sealed phone) in one
    /// transaction. `initial_password` may be None for someone who signs in by code or passkey.
    pub async fn create_person(
        &self,
        new: &NewPerson,
        initial_password: Option<&str>,
    ) -> Result<Person, AccountError> {
        let now = self.now_ms();
        let (person, phone) = new.build(now)?;
        let password_hash = match initial_password {
            Some(pw) => self.hash_new_password(pw).await?,
            None => String::new(),
        };
        let credential = Credential {
            doc_type: CREDENTIAL_DOC_TYPE.into(),
            person_id: person.id.clone(),
            region_code: person.region_code.clone(),
            password_hash,
            phone_sealed: self.seal_phone(&phone)?,
            passkeys: Vec::new(),
            updated_at_ms: now,
        };
        let docs = vec![
            (Person::doc_id(&person.id), yizhan_core::people::DOC_TYPE, person.to_doc()?),
            (Credential::doc_id(&person.id), CREDENTIAL_DOC_TYPE, credential.to_doc()?),
        ];
        let id = person.id.clone();
        let created = self.inner.store.call(move |db| Ok(db.create_docs_with(docs, Vec::new(), &[]))).await?;
        match created {
            Ok(()) => {
                tracing::info!(person = %id, role = %person.role, "person created");
                Ok(person)
            }
            Err(StoreError::Exists(_)) => Err(AccountError::Exists(id)),
            Err(e) => Err(e.into()),
        }
    }

    fn seal_phone(&self, phone: &str) -> Result<String, AccountError> {
        if phone.is_empty() {
            return Ok(String::new());
        }
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        self.inner.field_key.seal(phone, nonce).map_err(|e| AccountError::Internal(e.to_string()))
    }

    /// Sets a person's password (at least [`password::PASSWORD_CHARS_MIN`] characters),
    /// creating her credential document if she has none. Her other sessions stay open.
    pub async fn set_password(&self, person_id: &str, password: &str) -> Result<(), AccountError> {
        let hash = self.hash_new_password(password).await?;
        self.update_credential(person_id, move |c| {
            c.password_hash = hash;
            Ok(())
        })
        .await?;
        tracing::info!(person = %person_id, "password set");
        Ok(())
    }

    /// Changes the password of the signed-in person after checking the current one (a wrong
    /// one counts towards the lockout like a failed sign-in).
    pub async fn change_password(
        &self,
        person_id: &str,
        current: &str,
        new: &str,
    ) -> Result<(), AccountError> {
        password::check_new_password(new)?;
        let now = self.now_ms();
        let id = person_id.to_string();
        let locked = self
            .inner
            .store
            .call(move |db| Ok(tables::locked_until(db.conn(), &id, SESSION_CLIENT, now)?))
            .await?;
        if let Some(until_ms) = locked {
            return Err(AccountError::Locked { until_ms });
        }
        let known = self.known(person_id).await.map_err(|e| AccountError::Damaged(e.to_string()))?;
        let phc = known.credential.map(|c| c.password_hash).filter(|h| !h.is_empty());
        if phc.is_some() {
            let ok = self.check_password(phc, current).await.map_err(AccountError::Internal)?;
            if !ok {
                let id = person_id.to_string();
                let locked = self
                    .inner
                    .store
                    .call(move |db| Ok(tables::record_failure(db.conn(), &id, SESSION_CLIENT, now)?))
                    .await?;
                tracing::warn!(person = %person_id, "password change refused: wrong current password");
                return Err(match locked {
                    Some(until_ms) => AccountError::Locked { until_ms },
                    None => AccountError::WrongPassword,
                });
            }
        }
        self.set_password(person_id, new).await
    }

    /// Sets the phone used for sign-in codes (sealed with this node's key) and the masked copy
    /// in the person's directory entry.
    pub async fn set_phone(&self, person_id: &str, phone: &str) -> Result<(), AccountError> {
        let phone = yizhan_core::people::normalise_phone(phone)?;
        let sealed = self.seal_phone(&phone)?;
        let masked = if phone.is_empty() { String::new() } else { yizhan_core::mask_phone(&phone) };
        let now = self.now_ms();
        let pid = Person::doc_id(person_id);
        let updated = self
            .inner
            .store
            .call(move |db| {
                db.update_doc(&pid, |doc| -> Result<(), PersonError> {
                    let mut p = Person::from_doc(doc)?;
                    if p.phone_masked != masked {
                        p.phone_masked = masked;
                        p.updated_at_ms = now;
                        p.update_doc(doc)?;
                    }
                    Ok(())
                })
            })
            .await;
        match updated {
            Ok(r) => r?,
            Err(StoreError::NotFound(_)) => return Err(AccountError::UnknownPerson(person_id.into())),
            Err(e) => return Err(e.into()),
        }
        self.update_credential(person_id, move |c| {
            c.phone_sealed = sealed;
            Ok(())
        })
        .await
    }

    /// Loads the credential document (creating it from the person's entry if missing), lets
    /// `f` change it and writes it back, all in one store call.
    async fn update_credential(
        &self,
        person_id: &str,
        f: impl FnOnce(&mut Credential) -> Result<(), AccountError> + Send + 'static,
    ) -> Result<(), AccountError> {
        let now = self.now_ms();
        let id = person_id.to_string();
        self.inner.store.call(move |db| Ok(update_credential(db, &id, now, f))).await?
    }

    /// Moves a person's sign-in secrets to her region after it changed, so they sync to the node
    /// that signs her in now (an officer's new village kiosk). A kiosk she left keeps the copy
    /// it holds until it is replaced. Nothing happens when she has no credential or it is in
    /// place already.
    pub async fn follow_region(&self, person_id: &str) -> Result<(), AccountError> {
        let (id, now) = (person_id.to_string(), self.now_ms());
        self.inner
            .store
            .call(move |db| {
                let Some(person) = db.person(&id)? else { return Ok(Ok(())) };
                let Some(doc) = db.load_doc(&Credential::doc_id(&id))? else { return Ok(Ok(())) };
                let held = Credential::from_doc(&doc).map(|c| c.region_code).unwrap_or_default();
                if held == person.region_code {
                    return Ok(Ok(()));
                }
                Ok(update_credential(db, &id, now, move |c| {
                    c.region_code = person.region_code;
                    Ok(())
                }))
            })
            .await?
    }

    /// What the account page shows.
    pub async fn credential_summary(&self, person_id: &str) -> Result<CredentialSummary, SignInError> {
        let known = self.known(person_id).await?;
        let c = known.credential;
        Ok(CredentialSummary {
            has_password: c.as_ref().is_some_and(|c| !c.password_hash.is_empty()),
            has_phone: c.as_ref().is_some_and(|c| !c.phone_sealed.is_empty()),
            passkeys: c.map(|c| c.passkeys.len()).unwrap_or(0),
        })
    }

    // ---- sign-in codes by SMS ----

    fn code_hash(&self, person_id: &str, code: &str) -> String {
        let mut h = blake3::Hasher::new_keyed(&self.inner.code_key);
        h.update(person_id.as_bytes());
        h.update(b"\n");
        h.update(code.as_bytes());
        h.finalize().to_hex().to_string()
    }

    /// The SMS sender this node was started with (sign-in codes and notices share it).
    pub fn sms(&self) -> Arc<dyn SmsSender> {
        self.inner.sms.clone()
    }

    /// The person's phone for notices, opened with this node's key: `None` when none is on
    /// record or it was sealed by another node. Never logged.
    pub async fn open_phone(&self, person_id: &str) -> Result<Option<String>, SignInError> {
        let known = self.known(person_id.trim()).await?;
        let Some(credential) = known.credential else { return Ok(None) };
        if credential.phone_sealed.is_empty() {
            return Ok(None);
        }
        Ok(self.inner.field_key.open(&credential.phone_sealed).ok())
    }

    /// Sends a sign-in code to the person's phone. At most one per minute and
    /// [`CODE_SENDS_PER_WINDOW_MAX`] a day; the code is valid [`CODE_TTL_MS`] for
    /// [`CODE_ATTEMPTS_MAX`] attempts. Unknown ids and people without a phone get
    /// [`SignInError::NoPhone`], which the page shows like success.
    pub async fn send_code(&self, id: &str) -> Result<(), SignInError> {
        let id = id.trim();
        if !plausible_id(id) {
            return Err(SignInError::NoPhone);
        }
        let known = self.known(id).await?;
        let (Some(person), Some(credential)) = (known.person, known.credential) else {
            tracing::info!(person = %id, "sign-in code not sent: unknown id");
            return Err(SignInError::NoPhone);
        };
        if Actor::from_person(&person).is_none() {
            return Err(SignInError::Inactive);
        }
        if credential.phone_sealed.is_empty() {
            tracing::info!(person = %id, "sign-in code not sent: no phone on record");
            return Err(SignInError::NoPhone);
        }
        let phone = self.inner.field_key.open(&credential.phone_sealed).map_err(|e| {
            tracing::warn!(person = %id, error = %e, "sign-in code not sent: the phone does not open with this node's key");
            SignInError::PhoneSealedElsewhere
        })?;
        let code = format!(
            "{:0width$}",
            rand::rng().random_range(0..10u32.pow(CODE_DIGITS as u32)),
            width = CODE_DIGITS
        );
        let now = self.now_ms();
        let hash = self.code_hash(id, &code);
        let owned = id.to_string();
        // Reserve first (the resend interval holds even while the SMS is on its way).
        let reserved = self
            .inner
            .store
            .call(move |db| {
                tables::prune_codes(db.conn(), now)?;
                let old = tables::code(db.conn(), &owned)?.unwrap_or_default();
                if old.sent_ms > 0 && now - old.sent_ms < CODE_RESEND_INTERVAL_MS {
                    return Ok(Err(SignInError::CodeTooSoon {
                        wait_ms: CODE_RESEND_INTERVAL_MS - (now - old.sent_ms),
                    }));
                }
                let (window_start_ms, window_sends) = if now - old.window_start_ms >= CODE_SEND_WINDOW_MS {
                    (now, 0)
                } else {
                    (old.window_start_ms, old.window_sends)
                };
                if window_sends >= CODE_SENDS_PER_WINDOW_MAX {
                    return Ok(Err(SignInError::CodeLimit));
                }
                let row = tables::CodeRow {
                    code_hash: hash,
                    sent_ms: now,
                    expires_ms: now + CODE_TTL_MS,
                    attempts: 0,
                    window_start_ms,
                    window_sends: window_sends + 1,
                };
                tables::put_code(db.conn(), &owned, &row)?;
                Ok(Ok(old))
            })
            .await??;
        if let Err(e) = self.inner.sms.send_code(&phone, &code, CODE_TTL_MS / 60_000).await {
            tracing::error!(person = %id, error = %e, "sending a sign-in code failed");
            // Give the reservation back so the person can try again at once.
            let owned = id.to_string();
            self.inner.store.call(move |db| Ok(tables::put_code(db.conn(), &owned, &reserved)?)).await?;
            return Err(SignInError::Sms(e));
        }
        tracing::info!(person = %id, "sign-in code sent");
        Ok(())
    }

    /// Signs in with the code last sent to the person.
    pub async fn sign_in_code(&self, id: &str, code: &str) -> Result<Session, SignInError> {
        let id = id.trim();
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if !plausible_id(id) {
            return Err(SignInError::NoCode);
        }
        let now = self.now_ms();
        let hash = self.code_hash(id, &code);
        let owned = id.to_string();
        self.inner
            .store
            .call(move |db| {
                let Some(mut row) = tables::code(db.conn(), &owned)? else {
                    return Ok(Err(SignInError::NoCode));
                };
                if row.code_hash.is_empty() {
                    return Ok(Err(SignInError::NoCode));
                }
                if row.expires_ms <= now {
                    row.code_hash.clear();
                    tables::put_code(db.conn(), &owned, &row)?;
                    return Ok(Err(SignInError::CodeExpired));
                }
                // Constant-time comparison of the two keyed hashes.
                let matches =
                    blake3::Hash::from_hex(&row.code_hash).ok() == blake3::Hash::from_hex(&hash).ok();
                if matches {
                    row.code_hash.clear();
                    tables::put_code(db.conn(), &owned, &row)?;
                    return Ok(Ok(()));
                }
                row.attempts += 1;
                let left = CODE_ATTEMPTS_MAX - row.attempts;
                if left <= 0 {
                    row.code_hash.clear();
                }
                tables::put_code(db.conn(), &owned, &row)?;
                Ok(Err(if left <= 0 {
                    SignInError::CodeAttempts
                } else {
                    SignInError::WrongCode { attempts_left: left }
                }))
            })
            .await?
            .inspect_err(|e| tracing::warn!(person = %id, error = %e, "code sign-in failed"))?;
        let known = self.known(id).await?;
        let person = known.person.ok_or(SignInError::NoCode)?;
        self.open_session(&person, Method::Code).await
    }
}

const CODE_KEY_LABEL: &str = "yizhan accounts: sign-in code hashing key";

/// Reads a person and her credential; Err names damage.
fn load_known(db: &Db, id: &str) -> Result<Known, String> {
    let load = |doc_id: String| db.load_doc(&doc_id).map_err(|e| e.to_string());
    let person = match load(Person::doc_id(id))? {
        Some(doc) => Some(Person::from_doc(&doc).map_err(|e| format!("person {id}: {e}"))?),
        None => None,
    };
    let credential = match load(Credential::doc_id(id))? {
        Some(doc) => {
            let c = Credential::from_doc(&doc).map_err(|e| format!("credential of {id}: {e}"))?;
            if c.person_id != id {
                return Err(format!("credential of {id} names {}", c.person_id));
            }
            Some(c)
        }
        None => None,
    };
    Ok(Known { person, credential })
}

fn update_credential(
    db: &mut Db,
    person_id: &str,
    now: i64,
    f: impl FnOnce(&mut Credential) -> Result<(), AccountError>,
) -> Result<(), AccountError> {
    let doc_id = Credential::doc_id(person_id);
    if db.load_doc(&doc_id)?.is_some() {
        return db.update_doc(&doc_id, |doc: &mut AutoCommit| {
            let mut c = Credential::from_doc(doc).map_err(|e| AccountError::Damaged(e.to_string()))?;
            f(&mut c)?;
            c.updated_at_ms = now;
            c.update_doc(doc).map_err(|e| AccountError::Damaged(e.to_string()))
        })?;
    }
    let Some(doc) = db.load_doc(&Person::doc_id(person_id))? else {
        return Err(AccountError::UnknownPerson(person_id.to_string()));
    };
    let person = Person::from_doc(&doc).map_err(|e| AccountError::Damaged(e.to_string()))?;
    let mut c = Credential {
        doc_type: CREDENTIAL_DOC_TYPE.into(),
        person_id: person.id.clone(),
        region_code: person.region_code.clone(),
        password_hash: String::new(),
        phone_sealed: String::new(),
        passkeys: Vec::new(),
        updated_at_ms: now,
    };
    f(&mut c)?;
    db.create_doc(&doc_id, CREDENTIAL_DOC_TYPE, &mut c.to_doc()?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shapes() {
        let mut raw = [0u8; TOKEN_BYTES];
        rand::rng().fill_bytes(&mut raw);
        let t = B64URL.encode(raw);
        assert_eq!(t.len(), 43);
        assert!(plausible_token(&t));
        assert!(!plausible_token(&t[..42]));
        assert!(!plausible_token(&format!("{}=", &t[..42])));
        assert!(!plausible_token(""));
        assert_eq!(token_hash(&t).len(), 64);
        assert!(plausible_id("li-01"));
        assert!(!plausible_id(""));
        assert!(!plausible_id(&"x".repeat(33)));
    }
}
