//! `NodeIdentity`: who a node is (node id, role, region scope), and how it is written into and read
//! back from a certificate.

use std::fmt;

use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::X509Certificate;

use crate::error::IdentityError;
use crate::limits::{MAX_CERT_DER_BYTES, MAX_NODE_ID_LEN};

/// Prefix of the SAN URI that carries a node's identity: `yizhan://node/<role>/<scope>/<node_id>`.
pub const IDENTITY_URI_PREFIX: &str = "yizhan://node/";

/// Suffix of the DNS name in server certificates: `<node_id>.yizhan.invalid`. `.invalid` is reserved
/// (RFC 2606), so the name can never collide with, or be issued for, a real host.
pub const SERVER_NAME_SUFFIX: &str = ".yizhan.invalid";

/// What a node is in the hierarchy. A city or county hub is a `Hub` whose scope is a city or
/// county code; the province hub is the only `Province` and holds the root CA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Province,
    Hub,
    Kiosk,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Province => "province",
            Role::Hub => "hub",
            Role::Kiosk => "kiosk",
        }
    }

    pub fn parse(s: &str) -> Result<Self, IdentityError> {
        match s {
            "province" => Ok(Role::Province),
            "hub" => Ok(Role::Hub),
            "kiosk" => Ok(Role::Kiosk),
            other => Err(IdentityError::UnknownRole(shown(other))),
        }
    }

    /// Whether a node of this role may have a scope with `digits` digits. The province is the
    /// 2-digit root; hubs sit at city, county or town level (a village has kiosks, not hubs);
    /// kiosks sit below a hub (normally a 12-digit village).
    fn allows_scope(self, scope: &str) -> bool {
        use yizhan_core::RegionLevel::{City, County, Province, Town, Village};
        match (self, yizhan_core::RegionLevel::of(scope)) {
            (_, None) => false,
            (Role::Province, Some(level)) => level == Province,
            (Role::Hub, Some(level)) => matches!(level, City | County | Town),
            (Role::Kiosk, Some(level)) => matches!(level, County | Town | Village),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A node's identity as carried by its certificate. Construct with [`NodeIdentity::new`], which
/// validates every field, so a value of this type is always well-formed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawIdentity", into = "RawIdentity")]
pub struct NodeIdentity {
    node_id: String,
    role: Role,
    scope: String,
}

#[derive(Serialize, Deserialize)]
struct RawIdentity {
    node_id: String,
    role: Role,
    scope: String,
}

impl TryFrom<RawIdentity> for NodeIdentity {
    type Error = IdentityError;
    fn try_from(raw: RawIdentity) -> Result<Self, IdentityError> {
        NodeIdentity::new(&raw.node_id, raw.role, &raw.scope)
    }
}

impl From<NodeIdentity> for RawIdentity {
    fn from(id: NodeIdentity) -> Self {
        RawIdentity { node_id: id.node_id, role: id.role, scope: id.scope }
    }
}

impl NodeIdentity {
    pub fn new(node_id: &str, role: Role, scope: &str) -> Result<Self, IdentityError> {
        validate_node_id(node_id)?;
        validate_scope(scope)?;
        if !role.allows_scope(scope) {
            return Err(IdentityError::RoleScopeMismatch { role, scope: scope.to_owned() });
        }
        Ok(NodeIdentity { node_id: node_id.to_owned(), role, scope: scope.to_owned() })
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The region code this node is responsible for.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The SAN URI that carries this identity.
    pub fn to_uri(&self) -> String {
        format!("{IDENTITY_URI_PREFIX}{}/{}/{}", self.role, self.scope, self.node_id)
    }

    /// Parses `yizhan://node/<role>/<scope>/<node_id>`.
    pub fn from_uri(uri: &str) -> Result<Self, IdentityError> {
        let rest = uri.strip_prefix(IDENTITY_URI_PREFIX).ok_or(IdentityError::MalformedUri)?;
        let mut parts = rest.split('/');
        let (Some(role), Some(scope), Some(node_id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(IdentityError::MalformedUri);
        };
        NodeIdentity::new(node_id, Role::parse(role)?, scope)
    }

    /// The DNS name a server certificate of this node carries and a client dials.
    pub fn server_name(&self) -> String {
        server_name_for(&self.node_id)
    }

    /// Whether `code` (a region code or scope) lies within this node's scope (prefix rule).
    pub fn scope_contains(&self, code: &str) -> bool {
        scope_contains(&self.scope, code)
    }

    /// Whether `child` may be a direct or indirect child of this node: its scope lies strictly
    /// within ours. This is the rule a hub applies to the clients it accepts, and that a kiosk or
    /// hub applies to the parent it dials (the other way round).
    pub fn is_ancestor_of(&self, child: &NodeIdentity) -> bool {
        scope_strictly_contains(&self.scope, &child.scope)
    }

    /// Parses the identity of a DER certificate (no signature or validity check: use the verifiers
    /// for that).
    pub fn from_certificate(der: &CertificateDer<'_>) -> Result<Self, IdentityError> {
        let cert = parse_certificate(der)?;
        identity_of(&cert)
    }
}

impl fmt::Display for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.role, self.node_id, self.scope)
    }
}

/// The identity of the peer's end-entity certificate, for the connection driver. Call it on
/// `peer_certificates()` of an established connection: the handshake has already verified the
/// chain, its identity rules and revocation.
pub fn peer_identity(chain: &[CertificateDer<'_>]) -> Result<NodeIdentity, IdentityError> {
    let leaf = chain.first().ok_or(IdentityError::EmptyChain)?;
    NodeIdentity::from_certificate(leaf)
}

/// The DNS name for a node id: `<node_id>.yizhan.invalid`.
pub fn server_name_for(node_id: &str) -> String {
    format!("{node_id}{SERVER_NAME_SUFFIX}")
}

/// Node ids are DNS labels (they become `<node_id>.yizhan.invalid`), so: 1 to 63 characters of
/// `a-z`, `0-9` and `-`, not starting or ending with `-`.
pub fn validate_node_id(node_id: &str) -> Result<(), IdentityError> {
    let ok = !node_id.is_empty()
        && node_id.len() <= MAX_NODE_ID_LEN
        && node_id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !node_id.starts_with('-')
        && !node_id.ends_with('-');
    if ok { Ok(()) } else { Err(IdentityError::InvalidNodeId(shown(node_id))) }
}

/// A region code: 2, 4, 6, 9 or 12 ASCII digits.
pub fn validate_scope(scope: &str) -> Result<(), IdentityError> {
    if yizhan_core::RegionLevel::of(scope).is_some() {
        Ok(())
    } else {
        Err(IdentityError::InvalidScope(shown(scope)))
    }
}

/// A scope contains a code when the code starts with it.
pub fn scope_contains(scope: &str, code: &str) -> bool {
    code.starts_with(scope)
}

/// `code` lies within `scope` and is a lower level than it.
pub fn scope_strictly_contains(scope: &str, code: &str) -> bool {
    yizhan_core::region::strictly_within(code, scope)
}

/// Input from the network can be anything: never put more than a short prefix of it into an error.
pub(crate) fn shown(s: &str) -> String {
    const MAX_SHOWN_CHARS: usize = 72;
    if s.chars().count() <= MAX_SHOWN_CHARS {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(MAX_SHOWN_CHARS).collect();
        t.push('…');
        t
    }
}

pub(crate) fn parse_certificate<'a>(der: &'a [u8]) -> Result<X509Certificate<'a>, IdentityError> {
    if der.len() > MAX_CERT_DER_BYTES {
        return Err(IdentityError::CertificateTooLarge { len: der.len(), max: MAX_CERT_DER_BYTES });
    }
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], cert)) => Ok(cert),
        _ => Err(IdentityError::MalformedCertificate),
    }
}

/// The identity a parsed certificate carries: exactly one `yizhan://node/...` SAN URI, and a
/// subject CN equal to its node id (so that tools that only show the CN show the right node).
pub(crate) fn identity_of(cert: &X509Certificate<'_>) -> Result<NodeIdentity, IdentityError> {
    let san = cert.subject_alternative_name().map_err(|_| IdentityError::MalformedCertificate)?;
    let mut found: Option<NodeIdentity> = None;
    if let Some(san) = san {
        for name in &san.value.general_names {
            if let GeneralName::URI(uri) = name
                && uri.starts_with(IDENTITY_URI_PREFIX)
            {
                if found.is_some() {
                    return Err(IdentityError::MultipleIdentities);
                }
                found = Some(NodeIdentity::from_uri(uri)?);
            }
        }
    }
    let identity = found.ok_or(IdentityError::MissingIdentity)?;
    let mut cns = cert.subject().iter_common_name();
    let cn = cns.next().and_then(|cn| cn.as_str().ok());
    if cn != Some(identity.node_id()) || cns.next().is_some() {
        return Err(IdentityError::CommonNameMismatch);
    }
    Ok(identity)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn node_ids() {
        for ok in ["a", "kiosk-510131001001", "0", &"a".repeat(63)] {
            assert!(validate_node_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", "村", &"a".repeat(64), "a b"] {
            assert!(validate_node_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes() {
        for ok in ["51", "5101", "510131", "510131001", "510131001001"] {
            assert!(validate_scope(ok).is_ok(), "{ok}");
        }
        for bad in ["", "5", "511", "51013", "5101310010011", "51a1", "５１"] {
            assert!(validate_scope(bad).is_err(), "{bad}");
        }
        assert!(scope_contains("510131", "510131001001"));
        assert!(scope_contains("510131", "510131"));
        assert!(!scope_strictly_contains("510131", "510131"));
        assert!(!scope_contains("510131", "510132001001"));
    }

    #[test]
    fn roles_and_scope_lengths() {
        assert!(NodeIdentity::new("p", Role::Province, "51").is_ok());
        assert!(NodeIdentity::new("p", Role::Province, "5101").is_err());
        assert!(NodeIdentity::new("h", Role::Hub, "51").is_err());
        assert!(NodeIdentity::new("h", Role::Hub, "510131001001").is_err());
        assert!(NodeIdentity::new("k", Role::Kiosk, "51").is_err());
        assert!(NodeIdentity::new("k", Role::Kiosk, "510131001001").is_ok());
    }

    #[test]
    fn uri_round_trip_and_rejects() {
        let id = NodeIdentity::new("kiosk-1", Role::Kiosk, "510131001001").unwrap();
        assert_eq!(id.to_uri(), "yizhan://node/kiosk/510131001001/kiosk-1");
        assert_eq!(NodeIdentity::from_uri(&id.to_uri()).unwrap(), id);
        for bad in [
            "yizhan://node/kiosk/510131001001",
            "yizhan://node/kiosk/510131001001/k/extra",
            "yizhan://node/king/510131001001/k",
            "yizhan://node/kiosk/51013100100x/k",
            "https://node/kiosk/510131001001/k",
            "yizhan://node/kiosk/510131001001/K",
        ] {
            assert!(NodeIdentity::from_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serde_validates() {
        let bad = r#"{"node_id":"A","role":"kiosk","scope":"510131001001"}"#;
        assert!(serde_json::from_str::<NodeIdentity>(bad).is_err());
        let good = r#"{"node_id":"a","role":"kiosk","scope":"510131001001"}"#;
        assert_eq!(serde_json::from_str::<NodeIdentity>(good).unwrap().node_id(), "a");
    }

    #[test]
    fn shown_truncates() {
        assert_eq!(shown(&"x".repeat(1000)).chars().count(), 73);
    }
}
