//! Enrolment of new kiosks at a hub: the county operator issues a one-time code; the kiosk
//! posts the code with its certificate request and receives its certificate chain and the
//! province's trust roots.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use yizhan_identity::{Authority, EnrolmentCode, EnrolmentCodes, EnrolmentLimits};

use crate::Hub;

/// A hub's certificate authority and its outstanding codes, persisted as JSON.
pub struct Enroller {
    pub authority: Authority,
    codes: Mutex<EnrolmentCodes>,
    codes_path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum EnrolSetupError {
    #[error("enrolment codes file {path}: {detail}")]
    Codes { path: PathBuf, detail: String },
    #[error("{0}")]
    Enrol(#[from] yizhan_identity::EnrolError),
}

impl Enroller {
    /// Loads (or starts) the code store kept at `codes_path`.
    pub fn open(authority: Authority, codes_path: PathBuf) -> Result<Enroller, EnrolSetupError> {
        let err = |detail: String| EnrolSetupError::Codes { path: codes_path.clone(), detail };
        let codes = match std::fs::read(&codes_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                EnrolmentCodes::new(authority.identity().scope(), EnrolmentLimits::default())?
            }
            Err(e) => return Err(err(e.to_string())),
        };
        Ok(Enroller { authority, codes: Mutex::new(codes), codes_path })
    }

    /// The codes file is the source of truth: `yizhan enrol-code` writes it while the hub runs.
    fn reload(&self, codes: &mut EnrolmentCodes) -> Result<(), String> {
        match std::fs::read(&self.codes_path) {
            Ok(bytes) => {
                *codes = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn save(&self, codes: &EnrolmentCodes) -> Result<(), String> {
        let bytes = serde_json::to_vec(codes).map_err(|e| e.to_string())?;
        let tmp = self.codes_path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &self.codes_path).map_err(|e| e.to_string())
    }

    /// Issues a one-time code for a kiosk in `scope` (valid for `ttl`).
    pub fn issue(&self, scope: &str, node_id: Option<&str>, ttl: Duration) -> Result<EnrolmentCode, String> {
        let mut codes = self.codes.lock().map_err(|_| "code store poisoned".to_string())?;
        self.reload(&mut codes)?;
        let code =
            codes.issue(scope, node_id, yizhan_identity::system_time(), ttl).map_err(|e| e.to_string())?;
        self.save(&codes)?;
        Ok(code)
    }

    fn redeem(&self, code: &str, csr_der: &[u8], from: &str) -> Result<EnrolResponse, (StatusCode, String)> {
        let mut codes =
            self.codes.lock().map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "poisoned".to_string()))?;
        if let Err(e) = self.reload(&mut codes) {
            tracing::error!(error = %e, "cannot read enrolment codes");
            return Err((StatusCode::INTERNAL_SERVER_ERROR, "cannot read enrolment state".into()));
        }
        let result = codes.redeem_from(&self.authority, code, csr_der, from, yizhan_identity::system_time());
        // Failed attempts count too (they lock the store), so save either way.
        if let Err(e) = self.save(&codes) {
            tracing::error!(error = %e, "cannot save enrolment codes");
            return Err((StatusCode::INTERNAL_SERVER_ERROR, "cannot save enrolment state".into()));
        }
        let chain = result.map_err(|e| (StatusCode::FORBIDDEN, e.to_string()))?;
        Ok(EnrolResponse {
            chain_der_b64: chain.iter().map(|c| B64.encode(c.as_ref())).collect(),
            roots_pem: self.authority.roots().to_pem(),
            hub_id: String::new(),
            sync_port: 0,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub code: String,
    /// The DER certificate signing request, base64.
    pub csr_der_b64: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EnrolResponse {
    /// The new certificate chain (leaf first), each DER base64.
    pub chain_der_b64: Vec<String>,
    pub roots_pem: String,
    /// The hub's node id and the UDP port of its sync endpoint, which the kiosk records so that
    /// it syncs without being told the hub at every start (absent from older hubs).
    #[serde(default)]
    pub hub_id: String,
    #[serde(default)]
    pub sync_port: u16,
}

/// Largest enrolment request body accepted: a CSR is well under 2 KB.
pub const ENROL_REQUEST_BYTES_MAX: usize = 16 * 1024;

pub(crate) async fn enrol(
    State(hub): State<Hub>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    Json(req): Json<EnrolRequest>,
) -> Result<Json<EnrolResponse>, (StatusCode, String)> {
    let Some(enroller) = hub.enroller.clone() else {
        return Err((StatusCode::NOT_FOUND, "this hub does not enrol kiosks".into()));
    };
    let csr = B64
        .decode(req.csr_der_b64.as_bytes())
        .map_err(|_| (StatusCode::BAD_REQUEST, "csr is not base64".into()))?;
    let code = req.code;
    // Wrong codes are counted per address (the IP: a client's ports change), so one host on the
    // network cannot lock every kiosk out of enrolling.
    let from = peer.ip().to_string();
    let result = tokio::task::spawn_blocking(move || enroller.redeem(&code, &csr, &from))
        .await
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    match &result {
        Ok(_) => tracing::info!("enrolled a kiosk"),
        Err((_, why)) => tracing::warn!(%why, from = %peer.ip(), "enrolment refused"),
    }
    result.map(|mut answer| {
        answer.hub_id = hub.config.node_id.clone();
        answer.sync_port = hub.sync_addr.port();
        Json(answer)
    })
}
