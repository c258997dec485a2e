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
}
