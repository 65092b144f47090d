//! Running commands on a node over an SSH session channel.
//!
//! SSH carries a single command string that the remote login shell parses, so arguments are
//! quoted here; callers pass an argv.

use std::borrow::Cow;

use russh::ChannelMsg;

use std::time::Duration;

use super::error::{TimeoutStage, TransportError};
use super::session::SshSession;

/// What a remote command produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOutput {
    /// Exit status; `None` when the command was killed by a signal or the server sent none.
    pub status: Option<u32>,
    /// Signal name when the command was killed (e.g. `KILL`).
    pub signal: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Quote one argument for a POSIX shell. Plain words pass unchanged; anything else is wrapped
/// in single quotes, with embedded single quotes written as `'\''`.
pub fn shell_quote(arg: &str) -> Cow<'_, str> {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b));
    if plain {
        Cow::Borrowed(arg)
    } else {
        Cow::Owned(format!("'{}'", arg.replace('\'', r"'\''")))
    }
}

/// Join an argv into one shell command line.
pub fn command_line<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| shell_quote(a.as_ref()).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// How long a remote command may run: rke runs only short probes and scripts this way, and a
/// machine that stops running them while its SSH connection still answers keepalives must
/// not hold the run.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(120);

/// Run `command` (already a shell command line) and collect its output, within
/// [`COMMAND_DEADLINE`].
pub(crate) async fn run(session: &SshSession, command: &str) -> Result<ExecOutput, TransportError> {
    run_within(session, command, COMMAND_DEADLINE).await
}

/// [`run`] with another deadline.
pub(crate) async fn run_within(
    session: &SshSession,
    command: &str,
    deadline: Duration,
) -> Result<ExecOutput, TransportError> {
    tokio::time::timeout(deadline, run_unbounded(session, command))
        .await
        .unwrap_or_else(|_| {
            Err(TransportError::Timeout {
                node: session.name.clone(),
                addr: session.addr.clone(),
                secs: deadline.as_secs().max(1),
                stage: TimeoutStage::Command,
            })
        })
}

async fn run_unbounded(session: &SshSession, command: &str) -> Result<ExecOutput, TransportError> {
    crate::events::writes::note_ssh_command();
    let mut channel = session.session_channel().await?;
    channel
        .exec(true, command)
        .await
        .map_err(|e| TransportError::Ssh {
            node: session.name.clone(),
            context: "exec".into(),
            reason: e.to_string(),
        })?;
    let mut out = ExecOutput::default();
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => out.stdout.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => out.stderr.extend_from_slice(&data),
            // Output may still follow the exit status; keep reading until the channel closes.
            ChannelMsg::ExitStatus { exit_status } => out.status = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                out.signal = Some(format!("{signal_name:?}"))
            }
            ChannelMsg::Failure => {
                return Err(TransportError::Ssh {
                    node: session.name.clone(),
                    context: "exec".into(),
                    reason: "the server refused to run the command".into(),
                });
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("docker"), "docker");
        assert_eq!(shell_quote("/var/run/docker.sock"), "/var/run/docker.sock");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(command_line(&["echo", "a;b", "c"]), "echo 'a;b' c");
    }

    #[test]
    fn quoted_arguments_survive_a_real_shell() {
        let nasty = [
            "plain",
            "two words",
            "it's",
            "$HOME",
            "`id`",
            "a\nb",
            "*",
            "\\",
            "\"q\"",
            "",
        ];
        let mut argv = vec!["printf", "%s\\0"];
        argv.extend(nasty);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(command_line(&argv))
            .output()
            .unwrap();
        let got: Vec<&[u8]> = out.stdout.split(|&b| b == 0).collect();
        let want: Vec<&[u8]> = nasty
            .iter()
            .map(|s| s.as_bytes())
            .chain([&b""[..]])
            .collect();
        assert_eq!(got, want);
    }
}
