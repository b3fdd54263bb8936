//! Keys and certificates on disk: `keygen`, `authority init`, `authority issue`.
//!
//! A key file holds the 32-byte Ed25519 seed as 64 hex digits and a newline,
//! mode 0600; its public key is written beside it as `NAME.pub` (64 hex
//! digits). A certificate file holds the authority-signed certificate in the
//! core's binary encoding (`SignedCertificate::encode`).

use crate::config::{hex32, to_hex};
use pouw_netops::auth::{Certificate, IdentityKey, PublicIdentity, Role, SignedCertificate};
use pouw_netops::mesh::{Endpoint, WgKey};
use pouw_netops::{NodeId, TaskType};
use serde::Deserialize;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// An error with a message for the operator.
pub type Error = Box<dyn std::error::Error>;

/// 32 bytes from the operating system's random source.
pub fn random_seed() -> Result<[u8; 32], Error> {
    let mut seed = [0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(seed)
}

/// Writes a secret key file (refusing to overwrite one) and its `.pub` beside it.
pub fn write_key(path: &Path, seed: &[u8; 32]) -> Result<PublicIdentity, Error> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| format!("{}: {e} (keys are never overwritten)", path.display()))?;
    f.write_all(format!("{}\n", to_hex(seed)).as_bytes())?;
    f.sync_all()?;
    let public = IdentityKey::from_seed(seed).public();
    let pub_path = pub_path(path);
    fs::write(&pub_path, format!("{}\n", to_hex(public.as_bytes())))
        .map_err(|e| format!("{}: {e}", pub_path.display()))?;
    Ok(public)
}

/// `KEY.pub` for `KEY`.
pub fn pub_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".pub");
    PathBuf::from(s)
}

/// Reads a secret key file.
pub fn read_key(path: &Path) -> Result<IdentityKey, Error> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let seed = hex32(&text).ok_or_else(|| format!("{}: not a key file (64 hex digits)", path.display()))?;
    Ok(IdentityKey::from_seed(&seed))
}

/// Reads a public key: 64 hex digits, or a file holding them.
pub fn read_public(text_or_path: &str, base: &Path) -> Result<PublicIdentity, Error> {
    let bytes = match hex32(text_or_path) {
        Some(b) => b,
        None => {
            let p = base.join(text_or_path);
            let text = fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            hex32(&text).ok_or_else(|| format!("{}: not a public key (64 hex digits)", p.display()))?
        }
    };
    Ok(PublicIdentity::from_bytes(&bytes).map_err(|e| format!("not a usable public key: {e}"))?)
}

/// Reads and decodes a certificate file (not verified).
pub fn read_certificate(path: &Path) -> Result<SignedCertificate, Error> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(SignedCertificate::decode(&bytes).map_err(|e| format!("{}: {e}", path.display()))?)
}

/// The encoded bytes of a signed certificate.
pub fn encode_certificate(c: &SignedCertificate) -> Result<Vec<u8>, Error> {
    let mut buf = vec![0u8; c.encoded_len()];
    let n = c.encode(&mut buf).map_err(|e| format!("{e}"))?;
    buf.truncate(n);
    Ok(buf)
}

/// One node in an issue description.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// The node id.
    pub id: String,
    /// `supervisor` or `worker`.
    pub role: String,
    /// Its public identity key: 64 hex digits or a `.pub` file.
    pub public_key: String,
    /// Increase it to rotate a key: a higher serial replaces a lower one (default 1).
    #[serde(default = "one")]
    pub serial: u64,
    /// Task slots (workers; default 0).
    #[serde(default)]
    pub slots: u16,
    /// Pools the worker may work in.
    #[serde(default)]
    pub pools: Vec<String>,
    /// Mesh endpoints, `host:port` (at most 4).
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// WireGuard public key, 44 characters of base64 (default: a placeholder, not usable by WireGuard).
    #[serde(default)]
    pub wg_key: Option<String>,
}

const fn one() -> u64 {
    1
}

const fn year() -> u64 {
    365
}

/// An issue description (`authority issue --nodes FILE`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueSpec {
    /// Days the certificates are valid from now (default 365).
    #[serde(default = "year")]
    pub valid_days: u64,
    /// The nodes.
    #[serde(rename = "node", default)]
    pub nodes: Vec<NodeSpec>,
}

/// Builds and signs every node's certificate; `now` is UNIX seconds. Returns
/// `(node id, encoded certificate)` pairs; nothing is written on any error.
pub fn issue(authority: &IdentityKey, spec_text: &str, base: &Path, now: u64) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let spec: IssueSpec = toml::from_str(spec_text).map_err(|e| format!("node description: {e}"))?;
    if spec.nodes.is_empty() {
        return Err("node description: no [[node]]".into());
    }
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, n) in spec.nodes.iter().enumerate() {
        let at = |field: &str| format!("node[{i}].{field}");
        let node = NodeId::new(&n.id).map_err(|e| format!("{}: `{}`: {e}", at("id"), n.id))?;
        if out.iter().any(|(id, _)| *id == n.id) {
            return Err(format!("{}: `{}` is listed twice", at("id"), n.id).into());
        }
        let role = match n.role.as_str() {
            "supervisor" => Role::Supervisor,
            "worker" => Role::Worker,
            other => return Err(format!("{}: `{other}` is not `supervisor` or `worker`", at("role")).into()),
        };
        let identity = read_public(&n.public_key, base).map_err(|e| format!("{}: {e}", at("public_key")))?;
        let mut endpoints = heapless::Vec::new();
        for e in &n.endpoints {
            let ep = Endpoint::parse(e).map_err(|x| format!("{}: `{e}`: {x}", at("endpoints")))?;
            endpoints.push(ep).map_err(|_| format!("{}: at most 4", at("endpoints")))?;
        }
        let mut pools = heapless::Vec::new();
        for p in &n.pools {
            let t = TaskType::new(p).map_err(|x| format!("{}: `{p}`: {x}", at("pools")))?;
            pools.push(t).map_err(|_| format!("{}: too many pools", at("pools")))?;
        }
        let wg_key = match &n.wg_key {
            Some(k) => WgKey::from_base64(k).map_err(|x| format!("{}: {x}", at("wg_key")))?,
            None => WgKey::placeholder(&node),
        };
        let cert = Certificate {
            node,
            role,
            identity,
            wg_key,
            endpoints,
            slots: n.slots,
            pools,
            serial: n.serial,
            // A minute of slack for clocks a little behind the authority's.
            not_before: now.saturating_sub(60),
            not_after: now.saturating_add(spec.valid_days.saturating_mul(86_400)),
        };
        let signed = SignedCertificate::issue(authority, cert).map_err(|e| format!("node[{i}] ({}): {e}", n.id))?;
        out.push((n.id.clone(), encode_certificate(&signed)?));
    }
    Ok(out)
}

/// UNIX seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pouw_netops::auth::RevocationList;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pn-keys-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_key_file_round_trips_and_is_never_overwritten() {
        let d = tmpdir("key");
        let seed = random_seed().unwrap();
        let public = write_key(&d.join("n.key"), &seed).unwrap();
        assert_eq!(read_key(&d.join("n.key")).unwrap().public(), public);
        assert_eq!(read_public("n.key.pub", &d).unwrap(), public);
        assert!(write_key(&d.join("n.key"), &seed).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(d.join("n.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn issued_certificates_verify_under_the_authority_only() {
        let d = tmpdir("issue");
        let authority = IdentityKey::from_seed(&[7; 32]);
        let node = IdentityKey::from_seed(&[9; 32]);
        let spec = format!(
            "valid_days = 10\n[[node]]\nid = \"w-1\"\nrole = \"worker\"\npublic_key = \"{}\"\nslots = 2\npools = [\"train\"]\nendpoints = [\"10.1.0.5:51820\"]\n",
            to_hex(node.public().as_bytes())
        );
        let certs = issue(&authority, &spec, &d, 2_000_000_000).unwrap();
        assert_eq!(certs.len(), 1);
        let signed = SignedCertificate::decode(&certs[0].1).unwrap();
        let c = signed.verify(&authority.public(), 2_000_000_000, None, None, &RevocationList::empty()).unwrap();
        assert_eq!(c.node.as_str(), "w-1");
        assert_eq!(c.slots, 2);
        assert_eq!(c.identity, node.public());
        assert_eq!(c.not_after, 2_000_000_000 + 10 * 86_400);
        let other = IdentityKey::from_seed(&[8; 32]);
        assert!(signed.verify(&other.public(), 2_000_000_000, None, None, &RevocationList::empty()).is_err());
    }

    #[test]
    fn a_bad_description_names_the_node_and_field() {
        let d = tmpdir("bad");
        let a = IdentityKey::from_seed(&[7; 32]);
        let pk = to_hex(IdentityKey::from_seed(&[1; 32]).public().as_bytes());
        let e =
            issue(&a, &format!("[[node]]\nid = \"x\"\nrole = \"boss\"\npublic_key = \"{pk}\"\n"), &d, 0).unwrap_err();
        assert!(e.to_string().contains("node[0].role"), "{e}");
        let e = issue(&a, "[[node]]\nid = \"x\"\nrole = \"worker\"\npublic_key = \"nope\"\n", &d, 0).unwrap_err();
        assert!(e.to_string().contains("node[0].public_key"), "{e}");
        let e =
            issue(&a, &format!("[[node]]\nid = \"x\"\nrole = \"worker\"\npublic_key = \"{pk}\"\ncolor = 1\n"), &d, 0)
                .unwrap_err();
        assert!(e.to_string().contains("color"), "{e}");
    }
}
