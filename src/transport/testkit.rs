//! Test helpers: keys, certificates, an in-process SSH server standing in for a node, and a
//! fake Docker engine on a unix socket. Everything listens on loopback or temp sockets only.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use russh::keys::ssh_key::certificate::{Builder, CertType};
use russh::keys::{Algorithm, Certificate, PrivateKey, PublicKey};
use russh::server::{self, Auth, Msg, Server as _, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, UnixListener, UnixStream};

pub fn ed25519() -> PrivateKey {
    PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).unwrap()
}

/// An RSA key from `ssh-keygen` (pure-Rust RSA generation is very slow in debug builds).
pub fn rsa() -> PrivateKey {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("id_rsa");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen (openssh-client) is needed by the tests");
    assert!(status.success());
    russh::keys::load_secret_key(&path, None).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A certificate for `subject` signed by `ca`, valid from an hour ago for a day.
pub fn host_cert(
    ca: &PrivateKey,
    subject: &PublicKey,
    principals: &[&str],
    kind: CertType,
) -> Certificate {
    let mut b = Builder::new_with_random_nonce(
        &mut rand::rng(),
        subject.key_data().clone(),
        now() - 3600,
        now() + 86400,
    )
    .unwrap();
    b.cert_type(kind).unwrap().key_id("test").unwrap();
    if principals.is_empty() {
        b.all_principals_valid().unwrap();
    }
    for p in principals {
        b.valid_principal(*p).unwrap();
    }
    b.sign(ca).unwrap()
}

/// Write `key` in OpenSSH format, optionally encrypted, to `path` (0600).
pub fn write_key(path: &Path, key: &PrivateKey, passphrase: Option<&str>) {
    let key = match passphrase {
        Some(p) => key.encrypt(&mut rand::rng(), p).unwrap(),
        None => key.clone(),
    };
    let text = key
        .to_openssh(russh::keys::ssh_key::LineEnding::LF)
        .unwrap();
    std::fs::write(path, text.as_bytes()).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Knobs and observations of a [`TestSshd`].
#[derive(Default)]
pub struct SshdState {
    pub authorized: Mutex<Vec<PublicKey>>,
    pub user_ca: Mutex<Option<PublicKey>>,
    /// Refuse direct-streamlocal as sshd does with `AllowStreamLocalForwarding no`.
    pub forbid_streamlocal: AtomicBool,
    /// Answer channel opens never (a hung server).
    pub hang_channels: AtomicBool,
    pub publickey_attempts: AtomicUsize,
    pub connections: AtomicUsize,
    pub streamlocal_opens: AtomicUsize,
    pub tcpip_targets: Mutex<Vec<String>>,
    /// PATH for exec'd commands; inherited when `None`.
    pub exec_path: Mutex<Option<String>>,
}

/// An in-process SSH server: public key and certificate auth, exec via the local `sh`,
/// direct-tcpip to loopback, direct-streamlocal to local unix sockets.
pub struct TestSshd {
    pub addr: SocketAddr,
    pub host_key: PrivateKey,
    pub state: Arc<SshdState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestSshd {
    pub async fn start(host_key: PrivateKey, certificates: Vec<Certificate>) -> Self {
        let state = Arc::new(SshdState::default());
        let config = Arc::new(server::Config {
            keys: vec![host_key.clone()],
            certificates,
            auth_rejection_time: Duration::from_millis(0),
            auth_rejection_time_initial: Some(Duration::from_millis(0)),
            max_auth_attempts: 20,
            ..Default::default()
        });
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut server = ServerFactory {
            state: state.clone(),
        };
        let task = tokio::spawn(async move {
            let _ = server.run_on_socket(config, &listener).await;
        });
        Self {
            addr,
            host_key,
            state,
            task,
        }
    }

    pub fn authorize(&self, key: &PublicKey) {
        self.state.authorized.lock().unwrap().push(key.clone());
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

struct ServerFactory {
    state: Arc<SshdState>,
}

impl server::Server for ServerFactory {
    type Handler = Conn;
    fn new_client(&mut self, _: Option<SocketAddr>) -> Conn {
        self.state.connections.fetch_add(1, Ordering::SeqCst);
        Conn {
            state: self.state.clone(),
            channels: HashMap::new(),
        }
    }
}

struct Conn {
    state: Arc<SshdState>,
    channels: HashMap<ChannelId, Channel<Msg>>,
}

impl server::Handler for Conn {
    type Error = russh::Error;

    async fn auth_publickey(
        &mut self,
        _user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        self.state.publickey_attempts.fetch_add(1, Ordering::SeqCst);
        let ok = self
            .state
            .authorized
            .lock()
            .unwrap()
            .iter()
            .any(|k| k.key_data() == key.public_key.key_data());
        Ok(if ok { Auth::Accept } else { Auth::reject() })
    }

    async fn auth_openssh_certificate(
        &mut self,
        user: &str,
        cert: &Certificate,
    ) -> Result<Auth, Self::Error> {
        self.state.publickey_attempts.fetch_add(1, Ordering::SeqCst);
        let Some(ca) = self.state.user_ca.lock().unwrap().clone() else {
            return Ok(Auth::reject());
        };
        let fp = ca.fingerprint(russh::keys::HashAlg::Sha256);
        let ok = cert.cert_type() == CertType::User
            && cert.validate([&fp]).is_ok()
            && cert.valid_principals().iter().any(|p| p == user);
        Ok(if ok { Auth::Accept } else { Auth::reject() })
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: server::ChannelOpenHandle,
        _: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.state.hang_channels.load(Ordering::SeqCst) {
            std::mem::forget(reply);
            return Ok(());
        }
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        id: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let command = String::from_utf8_lossy(data).into_owned();
        let path = self.state.exec_path.lock().unwrap().clone();
        let handle = session.handle();
        session.channel_success(id)?;
        let channel = self.channels.remove(&id);
        tokio::spawn(async move {
            let mut cmd = tokio::process::Command::new("/bin/sh");
            cmd.arg("-c").arg(&command);
            if let Some(p) = path {
                cmd.env("PATH", p);
            }
            let out = match cmd.output().await {
                Ok(out) => out,
                Err(e) => {
                    let _ = handle
                        .extended_data(id, 1, bytes::Bytes::from(e.to_string()))
                        .await;
                    let _ = handle.exit_status_request(id, 127).await;
                    let _ = handle.close(id).await;
                    return;
                }
            };
            let _ = handle.data(id, bytes::Bytes::from(out.stdout)).await;
            let _ = handle
                .extended_data(id, 1, bytes::Bytes::from(out.stderr))
                .await;
            let _ = handle
                .exit_status_request(id, out.status.code().unwrap_or(255) as u32)
                .await;
            let _ = handle.eof(id).await;
            let _ = handle.close(id).await;
            drop(channel);
        });
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host: &str,
        port: u32,
        _: &str,
        _: u32,
        reply: server::ChannelOpenHandle,
        _: &mut Session,
    ) -> Result<(), Self::Error> {
        self.state
            .tcpip_targets
            .lock()
            .unwrap()
            .push(format!("{host}:{port}"));
        // Tests only ever forward to loopback.
        let target = match tokio::net::TcpStream::connect(("127.0.0.1", port as u16)).await {
            Ok(t) => t,
            Err(_) => {
                reply.reject(ChannelOpenFailure::ConnectFailed).await;
                return Ok(());
            }
        };
        reply.accept().await;
        tokio::spawn(pipe(channel, target));
        Ok(())
    }

    async fn channel_open_direct_streamlocal(
        &mut self,
        channel: Channel<Msg>,
        socket_path: &str,
        reply: server::ChannelOpenHandle,
        _: &mut Session,
    ) -> Result<(), Self::Error> {
        self.state.streamlocal_opens.fetch_add(1, Ordering::SeqCst);
        if self.state.forbid_streamlocal.load(Ordering::SeqCst) {
            reply
                .reject(ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        }
        match UnixStream::connect(socket_path).await {
            Ok(target) => {
                reply.accept().await;
                tokio::spawn(pipe(channel, target));
            }
            // What OpenSSH does when its connect() fails: the same reason as "forbidden".
            Err(_) => {
                reply
                    .reject(ChannelOpenFailure::AdministrativelyProhibited)
                    .await
            }
        }
        Ok(())
    }
}

async fn pipe<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    channel: Channel<Msg>,
    mut target: S,
) {
    let mut stream = channel.into_stream();
    let _ = tokio::io::copy_bidirectional(&mut stream, &mut target).await;
}

/// A fake Docker engine: answers `/version` (unversioned and versioned), `/vX/info` and
/// `/_ping` with the recorded answers of a real Docker 20.10; anything else is 404.
pub struct FakeDockerd {
    pub socket: PathBuf,
    pub requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDockerd {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeDockerd {
    pub fn start(dir: &Path) -> Self {
        let socket = dir.join("docker.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve_http(conn, log.clone()));
            }
        });
        Self {
            socket,
            requests,
            task,
        }
    }
}

async fn serve_http(mut conn: UnixStream, log: Arc<Mutex<Vec<String>>>) {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos + 4;
            }
            let mut chunk = [0u8; 4096];
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end);
        let request_line = head.lines().next().unwrap_or_default().to_string();
        log.lock().unwrap().push(request_line.clone());
        let path = request_line.split_whitespace().nth(1).unwrap_or("/");
        let path = path.split('?').next().unwrap_or(path);
        let unversioned = match path.strip_prefix("/v") {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => {
                rest.find('/').map(|i| &rest[i..]).unwrap_or("/")
            }
            _ => path,
        };
        let (status, body): (&str, &str) = match unversioned {
            "/version" => ("200 OK", include_str!("testdata/docker-20.10-version.json")),
            "/info" => ("200 OK", include_str!("testdata/docker-20.10-info.json")),
            "/_ping" => ("200 OK", "OK"),
            _ => ("404 Not Found", r#"{"message":"page not found"}"#),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if conn.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
