//! Every limit of the crate in one place, with the reason for its value.

use std::time::Duration;

/// Node ids become a DNS label (`<node_id>.yizhan.invalid`), and a DNS label holds at most 63 bytes.
pub const MAX_NODE_ID_LEN: usize = 63;

/// Our certificates are about 600-900 bytes; 16 KiB leaves room for anything legitimate and stops
/// a peer from making us parse megabytes.
pub const MAX_CERT_DER_BYTES: usize = 16 * 1024;

/// Certificates a peer may present: leaf + city, county and town hub CAs (+ the root, which we
/// drop). Longer chains cannot be valid under the path-length constraints we issue.
pub const MAX_CHAIN_CERTS: usize = 5;

/// Hub CA levels below the root: city, county, town. The root's pathLenConstraint.
pub const MAX_INTERMEDIATES: usize = 3;

/// Trust roots accepted at once (one province root, plus its successor during a key rollover).
pub const MAX_TRUST_ROOTS: usize = 4;

/// PEM files we read: a chain of 5 certificates is about 5 KiB of PEM; 256 KiB is generous.
pub const MAX_PEM_FILE_BYTES: u64 = 256 * 1024;

/// A CSR is about 400 bytes; 16 KiB bounds what an enrolling client can make the hub parse.
pub const MAX_CSR_BYTES: usize = 16 * 1024;

/// Validity of the province root. The root's key rarely moves (it is the province's trust), so
/// its certificate outlives many hub generations.
pub const ROOT_VALIDITY: Duration = Duration::from_secs(30 * 365 * 86_400);

/// Validity of a hub's intermediate CA certificate, clamped to the issuer's `notAfter`.
pub const HUB_CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 86_400);

/// Validity of TLS leaf certificates (kiosks, hubs, the province node), clamped to the issuer's
/// `notAfter`. Kiosks can stay offline for months, so a short lifetime would strand them; a hub
/// renews its own leaf at will because it holds its CA key.
pub const LEAF_VALIDITY: Duration = Duration::from_secs(3 * 365 * 86_400);

/// `notBefore` is set this far before `now`: kiosk clocks are often wrong by hours (see DESIGN.md),
/// and a certificate that is "not yet valid" on a slightly slow clock would be refused.
pub const NOT_BEFORE_BACKDATE: Duration = Duration::from_secs(86_400);

/// Random serial numbers: 16 bytes (RFC 5280 allows up to 20; CA/B forum asks for >= 64 bits).
pub const SERIAL_BYTES: usize = 16;

/// Enrolment codes: characters of the code (without the display dash). 10 characters of a
/// 32-symbol alphabet give 50 bits: with at most `DEFAULT_MAX_FAILED_ATTEMPTS` guesses per
/// lockout window, an online guess succeeds with probability about 2^-46 per window.
pub const ENROLMENT_CODE_CHARS: usize = 10;

/// Input longer than this cannot be a code, even with dashes and spaces; reject without work.
pub const MAX_ENROLMENT_CODE_INPUT: usize = 64;

/// Default lifetime of an enrolment code.
pub const DEFAULT_CODE_TTL: Duration = Duration::from_secs(24 * 3600);

/// No code lives longer than this, whatever the operator asks: a forgotten code is a standing
/// invitation.
pub const DEFAULT_MAX_CODE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Codes outstanding at once per hub: a county has a few hundred villages, enrolled in batches.
pub const DEFAULT_MAX_OUTSTANDING_CODES: usize = 200;

/// Wrong codes tolerated per window from one address before that address is locked out.
pub const DEFAULT_MAX_FAILED_ATTEMPTS: u32 = 10;

/// Wrong codes tolerated per window from all addresses together before redemption locks for
/// everyone: bounds guessing spread over many addresses. A code is 10 of 32 symbols (50 bits)
/// and at most 200 are outstanding, so even 200 guesses every 15 minutes for a code's longest
/// life (7 days, 134,400 guesses) find one with a chance of about 2 in 100 million.
pub const DEFAULT_MAX_FAILED_ATTEMPTS_ALL: u32 = 200;

/// Addresses whose wrong codes are remembered at once (the oldest are forgotten beyond it).
pub const ENROL_ADDRESSES_TRACKED_MAX: usize = 1024;

/// The window in which wrong codes are counted, and how long the lock lasts.
pub const DEFAULT_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
pub const DEFAULT_LOCKOUT: Duration = Duration::from_secs(15 * 60);

/// A right code with a bad request (malformed CSR, wrong scope) this many times is burned: the
/// code has probably leaked to someone who is probing it.
pub const DEFAULT_MAX_FAILURES_PER_CODE: u32 = 5;

/// Used codes are remembered until they expire (so a second use says "already used", not "wrong
/// code"), bounded separately from outstanding codes.
pub const MAX_USED_CODE_TOMBSTONES: usize = 1_000;

/// A signed revocation list as bytes: 50,000 entries of ~40 bytes of JSON is 2 MiB, base64
/// makes it ~2.7 MiB; 4 MiB bounds what a peer can make us parse.
pub const MAX_REVOCATION_LIST_BYTES: usize = 4 * 1024 * 1024;

/// Entries in one revocation list: every kiosk of a province (~50,000 villages) revoked at once.
pub const MAX_REVOKED_ENTRIES: usize = 50_000;

/// Revocation lists held at once (one per issuing CA: the root plus every hub CA of a province,
/// 21 cities + 183 counties + towns).
pub const MAX_REVOCATION_LISTS: usize = 4_096;
