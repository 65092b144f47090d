//! `rke completion SHELL` and `rke man`: shell completion scripts and manual pages generated
//! from the same clap definitions that parse the command line, so they cannot drift from it.
//! They are produced by the binary itself rather than at build time: a packager runs
//! `rke completion bash > /usr/share/bash-completion/completions/rke` and
//! `rke man --dir /usr/share/man/man1`, and the pages always match the installed binary.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell;

use super::Cli;
use crate::events::report;

/// The shells `rke completion` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

impl CompletionShell {
    fn generator(self) -> Shell {
        match self {
            CompletionShell::Bash => Shell::Bash,
            CompletionShell::Zsh => Shell::Zsh,
            CompletionShell::Fish => Shell::Fish,
            CompletionShell::Powershell => Shell::PowerShell,
        }
    }
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write the pages to (created if missing): `rke.1` and one page per
    /// subcommand (`rke-up.1`, `rke-etcd-snapshot-save.1`, ...).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

/// The completion script for `shell`, for every command and flag of [`Cli`].
pub fn completion_script(shell: CompletionShell) -> String {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell.generator(), &mut cmd, "rke", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Every manual page (file name, roff text): `rke.1` and one per visible subcommand, named
/// after its path (`rke-etcd-snapshot-save.1`).
pub fn man_pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Building fills in each subcommand's full name (`rke-etcd-snapshot-save`) and the
    // global flags it inherits.
    cmd.build();
    let mut pages = Vec::new();
    collect_pages(cmd, &mut pages)?;
    Ok(pages)
}

fn collect_pages(cmd: clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> anyhow::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect_pages(sub.clone(), pages)?;
    }
    let man = clap_mangen::Man::new(cmd);
    let mut text = Vec::new();
    man.render(&mut text).context("rendering a manual page")?;
    pages.push((man.get_filename(), text));
    Ok(())
}

pub fn run_completion(args: &CompletionArgs) -> anyhow::Result<i32> {
    print!("{}", completion_script(args.shell));
    Ok(0)
}

pub fn run_man(args: &ManArgs) -> anyhow::Result<i32> {
    let written = write_pages(&args.dir)?;
    for path in &written {
        println!("{}", path.display());
    }
    report::set_data(serde_json::json!({ "pages": written }));
    Ok(0)
}

fn write_pages(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, text) in man_pages()? {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_named_after_the_command_path() {
        let pages = man_pages().unwrap();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        for want in [
            "rke.1",
            "rke-up.1",
            "rke-etcd-snapshot-save.1",
            "rke-cert-rotate.1",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    }

    #[test]
    fn every_shell_gets_a_script_naming_rke() {
        for shell in CompletionShell::value_variants() {
            let script = completion_script(*shell);
            assert!(script.contains("rke"), "{shell:?}");
            assert!(script.contains("snapshot-save"), "{shell:?}");
        }
    }
}
