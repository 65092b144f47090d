//! Which sink reports a run: chosen once at start-up from the flags and the environment.

/// How events reach the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--output json`: one JSON object per line on stdout, ending with the result object.
    Json,
    /// A terminal: a live line per node and a plane summary on stderr, logs above them.
    Progress,
    /// Log lines on stderr, command output on stdout (CI logs, pipes, `--no-progress`).
    Plain,
}

/// What the choice depends on, gathered by [`Inputs::detect`] (tests pass their own).
#[derive(Debug, Clone, Copy)]
pub struct Inputs {
    pub json: bool,
    pub no_progress: bool,
    pub stdout_tty: bool,
    pub stderr_tty: bool,
    /// The `CI` environment variable is set (to anything non-empty).
    pub ci: bool,
}

impl Inputs {
    pub fn detect(json: bool, no_progress: bool) -> Inputs {
        use std::io::IsTerminal;
        Inputs {
            json,
            no_progress,
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
            ci: std::env::var_os("CI").is_some_and(|v| !v.is_empty()),
        }
    }
}

/// JSON when asked; live progress only when a person is watching a terminal (both streams,
/// so `rke up | tee log` stays plain) and no CI is detected; plain text otherwise.
pub fn choose(i: Inputs) -> Mode {
    if i.json {
        Mode::Json
    } else if i.no_progress || i.ci || !i.stdout_tty || !i.stderr_tty {
        Mode::Plain
    } else {
        Mode::Progress
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TERMINAL: Inputs = Inputs {
        json: false,
        no_progress: false,
        stdout_tty: true,
        stderr_tty: true,
        ci: false,
    };

    #[test]
    fn a_terminal_gets_progress() {
        assert_eq!(choose(TERMINAL), Mode::Progress);
    }

    #[test]
    fn ci_no_progress_and_pipes_get_plain_text() {
        assert_eq!(
            choose(Inputs {
                ci: true,
                ..TERMINAL
            }),
            Mode::Plain
        );
        assert_eq!(
            choose(Inputs {
                no_progress: true,
                ..TERMINAL
            }),
            Mode::Plain
        );
        assert_eq!(
            choose(Inputs {
                stdout_tty: false,
                ..TERMINAL
            }),
            Mode::Plain
        );
        assert_eq!(
            choose(Inputs {
                stderr_tty: false,
                ..TERMINAL
            }),
            Mode::Plain
        );
    }

    #[test]
    fn json_wins_everywhere() {
        for ci in [false, true] {
            for tty in [false, true] {
                let i = Inputs {
                    json: true,
                    no_progress: false,
                    stdout_tty: tty,
                    stderr_tty: tty,
                    ci,
                };
                assert_eq!(choose(i), Mode::Json);
            }
        }
    }
}
