//! A temporary PostgreSQL server on loopback, for tests.
//!
//! `initdb` into a fresh temporary directory, `pg_ctl start` on `127.0.0.1` and a free port,
//! `createdb videocall`; `Drop` stops the server (`pg_ctl stop -m immediate`) and deletes the
//! directory. PostgreSQL refuses to run as root, so under root the server runs as the `postgres`
//! system user, which then owns the directory. Durability is off (`fsync`, synchronous commit):
//! the data dies with the test anyway. A test killed with SIGKILL leaves its server running.

use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::chown;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// The database the URL names.
const DATABASE: &str = "videocall";
/// The superuser `initdb` creates (trust authentication, loopback only).
const SUPERUSER: &str = "postgres";
/// Starting on a port another process took between our probe and the server's bind fails;
/// try a few ports before giving up.
const PORT_ATTEMPTS: usize = 5;

/// A running PostgreSQL server in a temporary directory, stopped and deleted on drop.
#[derive(Debug)]
pub struct Postgres {
    dir: TempDir,
    bin: PathBuf,
    /// The uid and gid the server runs as when this process is root.
    run_as: Option<(u32, u32)>,
    port: u16,
    url: String,
}

impl Postgres {
    /// Initialises and starts a server, blocking until it accepts connections (well under two
    /// seconds). Needs PostgreSQL's binaries under `/usr/lib/postgresql/*/bin` or on `PATH`.
    pub fn start() -> io::Result<Postgres> {
        let bin = bin_dir()?;
        let run_as = if running_as_root()? { Some(system_user(SUPERUSER)?) } else { None };
        let dir = tempfile::Builder::new().prefix("videocall-pg-").tempdir()?;
        if let Some((uid, gid)) = run_as {
            chown(dir.path(), Some(uid), Some(gid))?;
        }
        let mut server = Postgres { dir, bin, run_as, port: 0, url: String::new() };
        server.initdb()?;
        server.start_on_free_port()?;
        server.createdb()?;
        server.url = format!("postgres://{SUPERUSER}@127.0.0.1:{}/{DATABASE}", server.port);
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:<port>/videocall`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temporary directory holding the cluster (`data`) and its log (`log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn initdb(&self) -> io::Result<()> {
        let mut initdb = self.command("initdb");
        initdb.arg("-D").arg(self.data()).args(["-U", SUPERUSER, "-A", "trust", "-E", "UTF8"]);
        initdb.args(["--locale=C", "--no-sync", "--no-instructions"]);
        run(&mut initdb)?;
        // Later lines win; `start_on_free_port` appends the port.
        let settings = format!(
            "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
             max_connections = 50\nlc_messages = 'C'\n",
            self.dir.path().display()
        );
        append(&self.data().join("postgresql.conf"), &settings)
    }

    fn start_on_free_port(&mut self) -> io::Result<()> {
        let mut last = io::Error::other("no attempt");
        for _ in 0..PORT_ATTEMPTS {
            self.port = free_port()?;
            append(&self.data().join("postgresql.conf"), &format!("port = {}\n", self.port))?;
            let mut start = self.command("pg_ctl");
            start.arg("start").arg("-D").arg(self.data()).args(["-w", "-t", "10", "-l"]);
            start.arg(self.dir.path().join("log"));
            match run(&mut start) {
                Ok(()) => return Ok(()),
                Err(err) => last = self.with_log(err),
            }
        }
        Err(last)
    }

    fn createdb(&self) -> io::Result<()> {
        let mut createdb = self.command("createdb");
        createdb.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", SUPERUSER, DATABASE]);
        run(&mut createdb)
    }

    /// A PostgreSQL program, run as the server's user in the server's directory.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.current_dir(self.dir.path()).env("LC_ALL", "C");
        for var in ["PGDATA", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGOPTIONS"] {
            command.env_remove(var);
        }
        if let Some((uid, gid)) = self.run_as {
            // std drops the supplementary groups too when it changes the uid.
            command.uid(uid).gid(gid);
        }
        command
    }

    /// `err` with the server log's tail, which says why the server did not start.
    fn with_log(&self, err: io::Error) -> io::Error {
        let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        io::Error::new(err.kind(), format!("{err}; server log: {}", tail.join(" | ")))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.port == 0 {
            return; // Never started.
        }
        let mut stop = self.command("pg_ctl");
        stop.arg("stop").arg("-D").arg(self.data()).args(["-m", "immediate", "-w"]);
        // Nothing to do about a failure here; the directory goes either way.
        let _ = stop.output();
    }
}

/// Runs `command`, turning a non-zero exit into an error carrying its stderr.
fn run(command: &mut Command) -> io::Result<()> {
    let Output { status, stderr, .. } = command.output()?;
    if status.success() {
        return Ok(());
    }
    let program = command.get_program().to_string_lossy().into_owned();
    let stderr = String::from_utf8_lossy(&stderr);
    Err(io::Error::other(format!("{program} failed ({status}): {}", stderr.trim())))
}

fn append(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new().append(true).open(path)?.write_all(text.as_bytes())
}

/// A loopback port free right now (the server binds it moments later).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// The newest `/usr/lib/postgresql/<version>/bin` (Debian's layout), else the directory on
/// `PATH` holding `initdb`.
fn bin_dir() -> io::Result<PathBuf> {
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version);
    if let Some((_, bin)) = newest {
        return Ok(bin);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).find(|dir| dir.join("initdb").is_file()).ok_or_else(|| {
        io::Error::new(
            ErrorKind::NotFound,
            "PostgreSQL not found (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH): \
             install it with scripts/deps.sh test",
        )
    })
}

/// Whether this process's effective uid is 0 (from `/proc/self/status`).
fn running_as_root() -> io::Result<bool> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1));
    Ok(effective == Some("0"))
}

/// The uid and gid of the system user `name`, from `/etc/passwd`.
fn system_user(name: &str) -> io::Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    passwd
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            if fields.next()? != name {
                return None;
            }
            let mut ids = fields.skip(1).map(str::parse::<u32>);
            Some((ids.next()?.ok()?, ids.next()?.ok()?))
        })
        .ok_or_else(|| {
            io::Error::new(
                ErrorKind::NotFound,
                format!("running as root, but there is no `{name}` user to run PostgreSQL as"),
            )
        })
}
