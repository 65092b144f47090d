//! `rke completion` and `rke man` from the built binary: every visible subcommand and every
//! flag of the clap tree (walked, not listed here) appears in the bash completion script, in
//! the block that completes its own command, and in its own manual page.

use crate::common::*;
use clap::CommandFactory;

/// One command of the tree: its path of names (`["etcd", "snapshot-save"]`) and definition.
struct Node {
    path: Vec<String>,
    cmd: clap::Command,
}

/// Every visible command below the root (the root too), global flags propagated.
fn tree() -> Vec<Node> {
    let mut root = rke::cli::Cli::command().disable_help_subcommand(true);
    root.build();
    let mut out = Vec::new();
    let mut stack = vec![Node {
        path: Vec::new(),
        cmd: root,
    }];
    while let Some(node) = stack.pop() {
        for sub in node.cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let mut path = node.path.clone();
            path.push(sub.get_name().to_string());
            stack.push(Node {
                path,
                cmd: sub.clone(),
            });
        }
        out.push(node);
    }
    out
}

/// The flags of a command as typed: `--long` and `-s` of every visible argument.
fn flags(cmd: &clap::Command) -> Vec<String> {
    let mut out = Vec::new();
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        if let Some(long) = arg.get_long() {
            out.push(format!("--{long}"));
        }
        if let Some(short) = arg.get_short() {
            out.push(format!("-{short}"));
        }
    }
    out
}

fn visible_subcommands(cmd: &clap::Command) -> Vec<String> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

/// The words bash offers for the command at `path`: the `opts="..."` of its case block,
/// labelled with the path's words (hyphens included) joined by clap_complete's `__subcmd__`.
fn bash_words(script: &str, path: &[String]) -> Vec<String> {
    const SEP: &str = "__subcmd__";
    let label: String = std::iter::once("rke".to_string())
        .chain(path.iter().map(|p| p.replace('-', SEP)))
        .collect::<Vec<_>>()
        .join(SEP);
    let mut lines = script.lines().map(str::trim);
    lines
        .by_ref()
        .find(|l| *l == format!("{label})"))
        .unwrap_or_else(|| panic!("no completion block {label}) for {path:?}"));
    let opts = lines
        .next()
        .and_then(|l| l.strip_prefix("opts=\""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or_else(|| panic!("block {label}) has no opts line"));
    opts.split_whitespace().map(str::to_string).collect()
}

#[test]
fn bash_completion_offers_every_subcommand_and_flag_of_each_command() {
    let out = rke().args(["completion", "bash"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let script = String::from_utf8(out.stdout).unwrap();
    let nodes = tree();
    assert!(nodes.len() > 15, "the tree has {} commands", nodes.len());
    for node in &nodes {
        let words = bash_words(&script, &node.path);
        for want in flags(&node.cmd)
            .into_iter()
            .chain(visible_subcommands(&node.cmd))
        {
            assert!(
                words.contains(&want),
                "bash completion of `rke {}` lacks {want}: {words:?}",
                node.path.join(" ")
            );
        }
    }
}

#[test]
fn other_shells_get_scripts_naming_every_subcommand() {
    for shell in ["zsh", "fish", "powershell"] {
        let out = rke().args(["completion", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr_of(&out));
        let script = String::from_utf8(out.stdout).unwrap();
        for node in tree() {
            for name in node.path {
                assert!(script.contains(&name), "{shell} script lacks {name}");
            }
        }
    }
    let out = rke().args(["completion", "tcsh"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "an unknown shell is a usage error"
    );
}

/// How roff writes a flag: hyphens escaped (`\-\-dry\-run`).
fn roff(flag: &str) -> String {
    flag.replace('-', "\\-")
}

#[test]
fn man_writes_a_page_per_command_listing_its_flags_and_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let out = rke()
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let nodes = tree();
    let mut expected: Vec<String> = Vec::new();
    for node in &nodes {
        let name = std::iter::once("rke".to_string())
            .chain(node.path.iter().cloned())
            .collect::<Vec<_>>()
            .join("-");
        let file = format!("{name}.1");
        let page = std::fs::read_to_string(dir.path().join(&file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(page.starts_with(".ie"), "{file} is not roff");
        assert!(page.contains(&roff(&name)), "{file} does not name {name}");
        for flag in flags(&node.cmd) {
            assert!(page.contains(&roff(&flag)), "{file} lacks {flag}");
        }
        for sub in visible_subcommands(&node.cmd) {
            assert!(page.contains(&roff(&sub)), "{file} lacks subcommand {sub}");
        }
        expected.push(file);
    }
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    expected.sort();
    assert_eq!(written, expected, "one page per visible command, no other");
}
