//! Configuration of the nodes: every option of `yizhan kiosk` and `yizhan hub` can come from a
//! flag, an environment variable (`YIZHAN_LISTEN`, ...) or a TOML file given with `--config`
//! (or `YIZHAN_CONFIG`), in that order of precedence, before the built-in default. Run by hand
//! with none of them, a node uses the platform data directory and loopback addresses; the
//! packages' systemd units pass `/etc/yizhan/kiosk.toml` or `/etc/yizhan/hub.toml`.
//!
//! Enrolment writes the county hub's address into the kiosk's data directory (`uplink.toml`),
//! so an enrolled kiosk syncs without `--hub` at every start.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// A configuration file larger than this is not a configuration file.
const CONFIG_BYTES_MAX: u64 = 64 * 1024;
/// The file enrolment writes into a kiosk's data directory.
pub const UPLINK_FILE: &str = "uplink.toml";

/// `/etc/yizhan/kiosk.toml`: the kiosk's options (all optional).
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KioskFile {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub region: Option<String>,
    pub key_file: Option<PathBuf>,
    pub hub: Option<String>,
    pub hub_id: Option<String>,
    /// 特派员讲堂: the storage budget for pre-fetched lectures, in GB (default 20).
    pub lecture_budget_gb: Option<u64>,
    /// `[sms]`: how sign-in codes and notices are sent.
    pub sms: Option<SmsFile>,
    /// `[web]`: HTTPS for the station's tablets.
    pub web: Option<WebFile>,
}

/// `[web]` of kiosk.toml: `tls = "auto" | "off" | "county" | "local"` and the `names` (host
/// names and IP addresses) browsers reach the kiosk by.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebFile {
    pub tls: Option<String>,
    pub names: Option<Vec<String>>,
}

/// The `[web]` options as flags and environment variables (over the file's).
#[derive(clap::Args, Default, Clone)]
pub struct WebArgs {
    /// HTTPS for the UI: auto (off on loopback; beyond it, county when the county issued a web
    /// certificate (pki/web.pem), else local), off, county, local (self-signed; its fingerprint
    /// is printed at start and shown on 我的账号) [default: auto].
    #[arg(long = "web-tls", env = "YIZHAN_WEB_TLS")]
    pub tls: Option<String>,
    /// Host names and IP addresses browsers reach the kiosk by, comma-separated (the first host
    /// name is the passkeys' relying party) [default: the listen address, or localhost].
    #[arg(long = "web-names", env = "YIZHAN_WEB_NAMES", value_delimiter = ',')]
    pub names: Option<Vec<String>>,
}

/// Which certificate, if any, the UI is served with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebTls {
    Off,
    /// Issued by the county hub's CA (`pki/web.pem`, `pki/web.key`).
    County,
    /// Self-signed, made at first start (`pki/web-local.pem`, `pki/web-local.key`).
    Local,
}

/// The web options after merging flags, file and defaults. `county_available`: whether the
/// county issued a web certificate (decides `auto` beyond loopback).
pub fn web_options(
    args: &WebArgs,
    file: Option<&WebFile>,
    listen: SocketAddr,
    county_available: bool,
) -> anyhow::Result<(WebTls, Vec<String>)> {
    let f = file.cloned().unwrap_or_default();
    let mode = args.tls.clone().or(f.tls).unwrap_or_else(|| "auto".into());
    let mode = match mode.as_str() {
        "auto" if listen.ip().is_loopback() => WebTls::Off,
        "auto" if county_available => WebTls::County,
        "auto" => WebTls::Local,
        "off" => WebTls::Off,
        "county" => WebTls::County,
        "local" => WebTls::Local,
        other => bail!("web TLS {other:?} is not one of auto, off, county, local"),
    };
    let names: Vec<String> = args
        .names
        .clone()
        .or(f.names)
        .unwrap_or_default()
        .into_iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    let names = if !names.is_empty() {
        names
    } else if listen.ip().is_unspecified() {
        vec!["localhost".into()]
    } else {
        vec![listen.ip().to_string()]
    };
    if mode != WebTls::Off {
        yizhan_identity::web::validate_web_names(&names).context("[web] names")?;
    }
    Ok((mode, names))
}

/// `/etc/yizhan/hub.toml`: the hub's options (all optional).
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HubFile {
    pub data_dir: Option<PathBuf>,
    pub http: Option<String>,
    pub sync: Option<String>,
    pub parent: Option<String>,
    pub parent_id: Option<String>,
    /// `[sms]`: how sign-in codes and notices are sent.
    pub sms: Option<SmsFile>,
}

/// `[sms]` of kiosk.toml / hub.toml: `provider = "log" | "http" | "aliyun"` and its fields.
/// `Debug` leaves the token and the secret out.
#[derive(Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmsFile {
    pub provider: Option<String>,
    /// The HTTP gateway's URL (`http`), or Aliyun's endpoint (`aliyun`, default Aliyun's own).
    pub url: Option<String>,
    /// The HTTP gateway's bearer token.
    pub token: Option<String>,
    pub access_key_id: Option<String>,
    pub access_key_secret: Option<String>,
    pub sign_name: Option<String>,
    pub code_template: Option<String>,
    pub notice_template: Option<String>,
    pub region_id: Option<String>,
}

impl std::fmt::Debug for SmsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsFile")
            .field("provider", &self.provider)
            .field("url", &self.url)
            .field("access_key_id", &self.access_key_id)
            .field("sign_name", &self.sign_name)
            .finish_non_exhaustive()
    }
}

/// The `[sms]` options as flags and environment variables (over the file's).
#[derive(clap::Args, Default, Clone)]
pub struct SmsArgs {
    /// How SMS are sent: log (development: written to the log, not sent), http (a gateway
    /// taking JSON), aliyun (Aliyun SMS) [default: log].
    #[arg(long = "sms-provider", env = "YIZHAN_SMS_PROVIDER")]
    pub provider: Option<String>,
    /// The gateway URL (http) or Aliyun's endpoint (aliyun).
    #[arg(long = "sms-url", env = "YIZHAN_SMS_URL")]
    pub url: Option<String>,
    /// The gateway's bearer token (http).
    #[arg(long = "sms-token", env = "YIZHAN_SMS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Aliyun AccessKey id.
    #[arg(long = "sms-access-key-id", env = "YIZHAN_SMS_ACCESS_KEY_ID")]
    pub access_key_id: Option<String>,
    /// Aliyun AccessKey secret (prefer the environment or the file: flags show in `ps`).
    #[arg(long = "sms-access-key-secret", env = "YIZHAN_SMS_ACCESS_KEY_SECRET", hide_env_values = true)]
    pub access_key_secret: Option<String>,
    /// Aliyun sign name (签名).
    #[arg(long = "sms-sign-name", env = "YIZHAN_SMS_SIGN_NAME")]
    pub sign_name: Option<String>,
    /// Aliyun template for sign-in codes (variable ${code}).
    #[arg(long = "sms-code-template", env = "YIZHAN_SMS_CODE_TEMPLATE")]
    pub code_template: Option<String>,
    /// Aliyun template for notices (variable ${content}).
    #[arg(long = "sms-notice-template", env = "YIZHAN_SMS_NOTICE_TEMPLATE")]
    pub notice_template: Option<String>,
    /// Aliyun region [default: cn-hangzhou].
    #[arg(long = "sms-region-id", env = "YIZHAN_SMS_REGION_ID")]
    pub region_id: Option<String>,
}

/// The SMS sender the options choose; a provider missing a field is refused here, at start.
pub fn sms_sender(
    args: &SmsArgs,
    file: Option<&SmsFile>,
) -> anyhow::Result<std::sync::Arc<dyn yizhan_accounts::SmsSender>> {
    let f = file.cloned().unwrap_or_default();
    let given = |v: &String| !v.trim().is_empty();
    let pick = |a: &Option<String>, b: Option<String>| a.clone().filter(given).or(b.filter(given));
    let need = |v: Option<String>, name: &str, provider: &str| {
        v.with_context(|| {
            format!(
                "SMS provider {provider} needs {name} ([sms] {name} in the configuration, or --sms-{})",
                name.replace('_', "-")
            )
        })
    };
    let provider = pick(&args.provider, f.provider).unwrap_or_else(|| "log".into());
    match provider.as_str() {
        "log" => Ok(std::sync::Arc::new(yizhan_accounts::DevLogSender)),
        "http" => {
            let url = need(pick(&args.url, f.url), "url", "http")?;
            let token = need(pick(&args.token, f.token), "token", "http")?;
            let sender = yizhan_accounts::HttpSmsSender::new(yizhan_accounts::HttpSmsConfig::new(url, token))
                .context("SMS provider http")?;
            Ok(std::sync::Arc::new(sender))
        }
        "aliyun" => {
            let mut c = yizhan_accounts::AliyunSmsConfig::new(
                need(pick(&args.access_key_id, f.access_key_id), "access_key_id", "aliyun")?,
                need(pick(&args.access_key_secret, f.access_key_secret), "access_key_secret", "aliyun")?,
                need(pick(&args.sign_name, f.sign_name), "sign_name", "aliyun")?,
                need(pick(&args.code_template, f.code_template), "code_template", "aliyun")?,
                need(pick(&args.notice_template, f.notice_template), "notice_template", "aliyun")?,
            );
            if let Some(url) = pick(&args.url, f.url) {
                c.endpoint = url;
            }
            if let Some(region) = pick(&args.region_id, f.region_id) {
                c.region_id = region;
            }
            let sender = yizhan_accounts::AliyunSmsSender::new(c).context("SMS provider aliyun")?;
            Ok(std::sync::Arc::new(sender))
        }
        other => bail!("SMS provider {other:?} is not one of log, http, aliyun"),
    }
}

/// The county hub a kiosk syncs with, as enrolment recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UplinkFile {
    /// `host:port` of the hub's sync endpoint (UDP).
    pub hub: String,
    pub hub_id: String,
}

/// Reads a configuration file; no file given is the empty configuration.
pub fn load<T: for<'de> Deserialize<'de> + Default>(path: Option<&Path>) -> anyhow::Result<T> {
    let Some(path) = path else { return Ok(T::default()) };
    read_toml(path)
}

fn read_toml<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<T> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read configuration {}", path.display()))?;
    if meta.len() > CONFIG_BYTES_MAX {
        bail!("configuration {} is larger than {CONFIG_BYTES_MAX} bytes", path.display());
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("configuration {} is not valid", path.display()))
}

/// The hub address enrolment recorded in a kiosk's data directory, if any.
pub fn load_uplink(data_dir: &Path) -> anyhow::Result<Option<UplinkFile>> {
    let path = data_dir.join(UPLINK_FILE);
    if !path.exists() {
        return Ok(None);
    }
    read_toml(&path).map(Some)
}

/// Records the county hub's address in a kiosk's data directory (written atomically).
pub fn save_uplink(data_dir: &Path, uplink: &UplinkFile) -> anyhow::Result<()> {
    let text = format!(
        "# Written by `yizhan enrol`: the county hub this kiosk syncs with.\n{}",
        toml::to_string(uplink).context("encoding the hub address")?
    );
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join(UPLINK_FILE);
    let tmp = data_dir.join(format!("{UPLINK_FILE}.tmp"));
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
}

/// Resolves `host:port` (a name or an address) to the first socket address it names.
pub fn resolve(what: &str, value: &str) -> anyhow::Result<SocketAddr> {
    value
        .to_socket_addrs()
        .with_context(|| format!("{what} {value:?} is not host:port"))?
        .next()
        .with_context(|| format!("{what} {value:?} names no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_parse_refuse_unknown_keys_and_uplinks_round_trip() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("kiosk.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:8080\"\nregion = \"510131001001\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let k: KioskFile = load(Some(&path)).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(k.listen.as_deref(), Some("0.0.0.0:8080"));
        assert_eq!(k.hub, None);
        std::fs::write(&path, "listn = \"0.0.0.0:8080\"\n").unwrap_or_else(|e| panic!("{e}"));
        let err = format!(
            "{:#}",
            load::<KioskFile>(Some(&path)).err().unwrap_or_else(|| panic!("accepted a typo"))
        );
        assert!(err.contains("listn"), "{err}");
        assert!(load::<HubFile>(Some(&dir.path().join("missing.toml"))).is_err());
        assert_eq!(load::<HubFile>(None).unwrap_or_else(|e| panic!("{e}")), HubFile::default());

        let up = UplinkFile { hub: "192.168.1.10:7443".into(), hub_id: "hub-510131".into() };
        save_uplink(dir.path(), &up).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(load_uplink(dir.path()).unwrap_or_else(|e| panic!("{e:#}")), Some(up));
        assert_eq!(resolve("hub", "127.0.0.1:7443").unwrap_or_else(|e| panic!("{e}")).port(), 7443);
        assert!(resolve("hub", "nonsense").is_err());
    }

    #[test]
    fn sms_providers_are_chosen_by_file_then_flags_and_misconfiguration_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("hub.toml");
        std::fs::write(
            &path,
            "[sms]\nprovider = \"aliyun\"\naccess_key_id = \"LTAIx\"\naccess_key_secret = \"s3cret\"\n\
             sign_name = \"驿站\"\ncode_template = \"SMS_1\"\nnotice_template = \"SMS_2\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let h: HubFile = load(Some(&path)).unwrap_or_else(|e| panic!("{e:#}"));
        let sms = h.sms.clone().unwrap_or_else(|| panic!("no [sms]"));
        assert_eq!(sms.provider.as_deref(), Some("aliyun"));
        assert!(!format!("{h:?}").contains("s3cret"));
        assert!(format!("{:?}", sms_sender(&SmsArgs::default(), h.sms.as_ref()).map(|_| ())).contains("Ok"));
        // The default is the development sender; a flag overrides the file.
        assert!(sms_sender(&SmsArgs::default(), None).is_ok());
        let args = SmsArgs { provider: Some("http".into()), ..Default::default() };
        let err =
            format!("{:#}", sms_sender(&args, h.sms.as_ref()).err().unwrap_or_else(|| panic!("no url")));
        assert!(err.contains("url"), "{err}");
        let args = SmsArgs {
            access_key_secret: Some(String::new()),
            sign_name: Some("x".into()),
            ..Default::default()
        };
        assert!(sms_sender(&args, h.sms.as_ref()).is_ok(), "an empty flag falls back to the file");
        let mut missing = sms.clone();
        missing.notice_template = None;
        let err = format!(
            "{:#}",
            sms_sender(&SmsArgs::default(), Some(&missing)).err().unwrap_or_else(|| panic!("accepted"))
        );
        assert!(err.contains("notice_template"), "{err}");
        let bogus = SmsArgs { provider: Some("smtp".into()), ..Default::default() };
        assert!(sms_sender(&bogus, None).is_err());
        std::fs::write(&path, "[sms]\nprovder = \"log\"\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(load::<HubFile>(Some(&path)).is_err(), "a typo in [sms] is refused");
    }

    #[test]
    fn web_tls_is_off_on_loopback_and_on_beyond_it_unless_turned_off() {
        let lo: SocketAddr = "127.0.0.1:8080".parse().unwrap_or_else(|e| panic!("{e}"));
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap_or_else(|e| panic!("{e}"));
        let none = WebArgs::default();
        let ok = |r: anyhow::Result<(WebTls, Vec<String>)>| r.unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(ok(web_options(&none, None, lo, true)).0, WebTls::Off);
        assert_eq!(ok(web_options(&none, None, any, true)), (WebTls::County, vec!["localhost".to_string()]));
        assert_eq!(ok(web_options(&none, None, any, false)).0, WebTls::Local);
        let file = WebFile { tls: Some("off".into()), names: Some(vec!["zhan.local".into()]) };
        assert_eq!(ok(web_options(&none, Some(&file), any, true)).0, WebTls::Off);
        let args = WebArgs { tls: Some("local".into()), names: Some(vec!["192.168.1.10".into()]) };
        assert_eq!(
            ok(web_options(&args, Some(&file), any, true)),
            (WebTls::Local, vec!["192.168.1.10".to_string()])
        );
        let bogus = WebArgs { tls: Some("on".into()), ..Default::default() };
        assert!(web_options(&bogus, None, any, true).is_err());
        let bad_name = WebArgs { names: Some(vec!["not a host".into()]), ..Default::default() };
        assert!(web_options(&bad_name, None, any, true).is_err());
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("kiosk.toml");
        std::fs::write(&path, "[web]\ntls = \"county\"\nnames = [\"zhan.local\"]\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let k: KioskFile = load(Some(&path)).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            k.web,
            Some(WebFile { tls: Some("county".into()), names: Some(vec!["zhan.local".into()]) })
        );
    }
}
