//! The `pouw-netops-node` command line. See `docs/deploy.md`.

use clap::{Parser, Subcommand};
use pouw_netops::auth::{PublicIdentity, RevocationList, Role};
use pouw_netops::coordinator::{Credentials, NodeRole};
use pouw_netops_node::{config, http, keys, logger, run};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "pouw-netops-node", version, about = "One pouw-netops node as a process")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a new identity key to FILE (mode 0600) and its public key to FILE.pub.
    Keygen {
        /// The key file to create (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// The cluster authority: its key and the certificates it issues.
    Authority {
        #[command(subcommand)]
        command: AuthorityCommand,
    },
    /// Checks a configuration file (errors name the field and the problem), and
    /// that its key and certificate agree and the authority signed the certificate.
    Validate {
        /// The node's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Runs the node until `leave`.
    Run {
        /// The node's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Prints a running node's `/status` (JSON).
    Status {
        #[command(flatten)]
        target: Target,
    },
    /// Prints the members a running node has admitted (JSON).
    Members {
        #[command(flatten)]
        target: Target,
    },
    /// Makes a running node leave the cluster gracefully and exit.
    Leave {
        #[command(flatten)]
        target: Target,
    },
}

/// Which running node to ask.
#[derive(clap::Args)]
struct Target {
    /// The node's HTTP address (`http` in its configuration).
    #[arg(long, default_value = "127.0.0.1:9100", conflicts_with = "config")]
    http: String,
    /// Or its configuration file, to read `http` from.
    #[arg(long)]
    config: Option<PathBuf>,
}

impl Target {
    fn address(&self) -> Result<String, keys::Error> {
        match &self.config {
            Some(path) => Ok(config::load(path).map_err(|e| format!("{}: {e}", path.display()))?.http.to_string()),
            None => Ok(self.http.clone()),
        }
    }
}

#[derive(Subcommand)]
enum AuthorityCommand {
    /// Creates the authority key (DIR/authority.key, mode 0600) and DIR/authority.pub.
    Init {
        /// Where to write them.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Issues node certificates from a TOML description into DIR/<id>.cert.
    Issue {
        /// The authority key file.
        #[arg(long)]
        key: PathBuf,
        /// The node description (`[[node]]` tables; see docs/deploy.md).
        #[arg(long)]
        nodes: PathBuf,
        /// Where to write the certificates.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn fetch(addr: &str, method: &str, path: &str) -> Result<(), keys::Error> {
    let (status, body) = http::request(addr, method, path).map_err(|e| format!("{addr}: {e}"))?;
    print!("{body}");
    if !body.ends_with('\n') {
        println!();
    }
    if status == 200 { Ok(()) } else { Err(format!("{addr}{path}: HTTP {status}").into()) }
}

fn execute(command: Command) -> Result<(), keys::Error> {
    match command {
        Command::Keygen { out } => {
            let public = keys::write_key(&out, &keys::random_seed()?)?;
            println!("{}", config::to_hex(public.as_bytes()));
        }
        Command::Authority { command: AuthorityCommand::Init { dir } } => {
            std::fs::create_dir_all(&dir)?;
            let public = keys::write_key(&dir.join("authority.key"), &keys::random_seed()?)?;
            std::fs::rename(dir.join("authority.key.pub"), dir.join("authority.pub"))?;
            println!("{}", config::to_hex(public.as_bytes()));
        }
        Command::Authority { command: AuthorityCommand::Issue { key, nodes, out } } => {
            let authority = keys::read_key(&key)?;
            let text = std::fs::read_to_string(&nodes).map_err(|e| format!("{}: {e}", nodes.display()))?;
            let base = nodes.parent().map_or_else(|| PathBuf::from("."), PathBuf::from);
            let certs = keys::issue(&authority, &text, &base, keys::unix_now())?;
            std::fs::create_dir_all(&out)?;
            for (id, bytes) in certs {
                let path = out.join(format!("{id}.cert"));
                std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                println!("{}", path.display());
            }
        }
        Command::Validate { config } => {
            let c = config::load(&config).map_err(|e| format!("{}: {e}", config.display()))?;
            // The files it names must be readable and agree with each other.
            let key = keys::read_key(&c.key)?;
            let cert = keys::read_certificate(&c.certificate)?;
            let cu = cert.certificate_unverified();
            if cu.node != c.id {
                return Err(format!("certificate: issued to `{}`, not `{}`", cu.node, c.id).into());
            }
            if cu.identity != key.public() {
                return Err("certificate: for another key than `key`".into());
            }
            let authority = PublicIdentity::from_bytes(&c.authority).map_err(|e| format!("authority: {e}"))?;
            let role = match c.role {
                NodeRole::Supervisor => Role::Supervisor,
                NodeRole::Worker => Role::Worker,
            };
            cert.verify(&authority, keys::unix_now(), Some(role), Some(&c.id), &RevocationList::empty())
                .map_err(|e| format!("certificate: {e}"))?;
            // What the core checks itself (every component's configuration).
            let supervisors: Vec<_> = c.supervisors.iter().map(|p| p.id.clone()).collect();
            let credentials = Credentials { identity: key, certificate: cert, authority, epoch: 1, unix_at_zero: 0 };
            run::Node::new_boxed(c.id.clone(), c.role, &supervisors, c.ops.clone(), 0, credentials)
                .map_err(|e| format!("configuration: {e}"))?;
            println!("{}: ok ({} {})", config.display(), c.id, c.role.as_str());
        }
        Command::Run { config } => {
            let c = config::load(&config).map_err(|e| format!("{}: {e}", config.display()))?;
            logger::init(c.log_level);
            run::run(c)?;
        }
        Command::Status { target } => fetch(&target.address()?, "GET", "/status")?,
        Command::Members { target } => fetch(&target.address()?, "GET", "/members")?,
        Command::Leave { target } => fetch(&target.address()?, "POST", "/leave")?,
    }
    Ok(())
}
