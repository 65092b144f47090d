//! The part of a failed container's log worth quoting in a health-timeout error. The last lines
//! alone are often a Go stack dump or a usage text, with the cause (an unknown flag, a
//! certificate it cannot read) further up: the excerpt leads with the error lines it finds in a
//! longer tail, then the last lines without stack-trace frames.

/// How many log lines are read to look for errors.
pub const READ_LINES: usize = 300;
/// How many error lines are quoted at most (the latest ones).
const ERROR_LINES: usize = 8;
/// How many of the last lines are quoted.
const TAIL_LINES: usize = 20;

/// The excerpt of `log` (the container's last [`READ_LINES`] lines) for an error message.
pub fn excerpt(container: &str, log: &str) -> String {
    let lines: Vec<&str> = log.lines().map(str::trim_end).collect();
    if lines.iter().all(|l| l.is_empty()) {
        return format!("{container} logged nothing");
    }
    let mut errors: Vec<&str> = Vec::new();
    for line in lines.iter().copied().filter(|l| is_error_line(l)) {
        // A restarting container logs the same failure on every start, with a new timestamp:
        // quote its latest line once.
        errors.retain(|seen| message(seen) != message(line));
        errors.push(line);
    }
    let errors = &errors[errors.len().saturating_sub(ERROR_LINES)..];
    let tail: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.is_empty() && !is_stack_frame(l))
        .collect();
    let tail = &tail[tail.len().saturating_sub(TAIL_LINES)..];
    let mut out = String::new();
    if !errors.is_empty() {
        out.push_str(&format!("errors {container} logged:\n"));
        for line in errors {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out.push_str(&format!(
        "last {} log lines of {container} (stack frames left out):\n",
        tail.len()
    ));
    for line in tail {
        out.push_str(&format!("  {line}\n"));
    }
    out.trim_end().to_string()
}

/// A line reporting an error: klog's error and fatal lines (`E1122 10:00:00.1 ...`,
/// `F1122 ...`), Go's `panic:`, and cobra's / logrus' `Error:`, `level=error`, `level=fatal`.
fn is_error_line(line: &str) -> bool {
    let klog = line.len() > 5
        && matches!(line.as_bytes()[0], b'E' | b'F')
        && line.as_bytes()[1..5].iter().all(u8::is_ascii_digit);
    klog || line.starts_with("Error:")
        || line.starts_with("panic:")
        || line.contains("level=error")
        || line.contains("level=fatal")
        || line.contains("\"level\":\"error\"")
        || line.contains("\"level\":\"fatal\"")
}

/// A log line without klog's header (`E1122 10:00:00.000001  1 file.go:12] `).
fn message(line: &str) -> &str {
    line.split_once("] ").map_or(line, |(_, message)| message)
}

/// A line of a Go stack dump: `goroutine 1 [running]:`, a frame (`pkg.Func(0xc000...)` or
/// `pkg.Func(...)`), its `\t/path/file.go:12 +0x1f` line, or `created by ...`.
fn is_stack_frame(line: &str) -> bool {
    line.starts_with("goroutine ")
        || line.starts_with('\t')
        || line.starts_with("created by ")
        || line.ends_with("(...)")
        || (line.ends_with(')') && line.contains("(0x"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBELET_BAD_FLAG: &str = "\
I1122 10:00:00.000001       1 server.go:416] Version: v1.20.2
Error: failed to parse kubelet flag: unknown flag: --no-such-flag
Usage:
  kubelet [flags]
Flags:
      --add-dir-header   If true, adds the file directory to the header
F1122 10:00:01.000002       1 server.go:198] failed to parse kubelet flag: unknown flag: --no-such-flag
goroutine 1 [running]:
k8s.io/klog/v2.stacks(0xc000010001, 0xc0001a2000, 0x71, 0xd1)
\t/build/vendor/k8s.io/klog/v2/klog.go:1026 +0xb9
k8s.io/kubernetes/cmd/kubelet/app.NewKubeletCommand.func1(...)
\t/build/cmd/kubelet/app/server.go:198 +0x1b2
created by k8s.io/klog/v2.init.0
\t/build/vendor/k8s.io/klog/v2/klog.go:416 +0xd8

goroutine 6 [chan receive]:
k8s.io/klog/v2.(*loggingT).flushDaemon(0x70c7c40)
\t/build/vendor/k8s.io/klog/v2/klog.go:1169 +0x8b
";

    #[test]
    fn the_cause_leads_and_stack_frames_are_left_out() {
        let text = excerpt("kubelet", KUBELET_BAD_FLAG);
        let (errors, tail) = text.split_once("last ").unwrap();
        assert!(errors.starts_with("errors kubelet logged:\n"), "{text}");
        assert!(
            errors.contains("Error: failed to parse kubelet flag: unknown flag: --no-such-flag")
        );
        assert!(errors.contains("F1122 10:00:01.000002"), "{text}");
        assert!(
            !errors.contains("I1122"),
            "info lines are no errors: {text}"
        );
        for frame in [
            "goroutine 1",
            "klog.go:1026",
            "flushDaemon",
            "created by",
            "(...)",
        ] {
            assert!(!tail.contains(frame), "{frame} in\n{text}");
        }
        assert!(tail.contains("--add-dir-header"), "{text}");
    }

    #[test]
    fn a_restarting_container_error_is_quoted_once_and_only_the_latest_ones() {
        let mut log = String::new();
        for start in 0..5 {
            log.push_str(&format!("I1122 10:00:0{start}.0 1 x.go:1] starting\n"));
            log.push_str(&format!(
                "E1122 10:00:0{start}.5 1 x.go:2] open /etc/kubernetes/ssl/x.pem: no such file\n"
            ));
        }
        for i in 0..20 {
            log.push_str(&format!("E1122 10:01:{i:02}.0 1 y.go:3] error {i}\n"));
        }
        let text = excerpt("kube-proxy", &log);
        let errors = text.split_once("last ").unwrap().0;
        assert_eq!(errors.lines().count(), 1 + ERROR_LINES, "{text}");
        assert!(
            errors.contains("error 19") && !errors.contains("error 11"),
            "{text}"
        );
        assert!(
            !errors.contains("no such file"),
            "older than the latest 8: {text}"
        );
        let once = excerpt("kube-proxy", &log[..log.find("E1122 10:01").unwrap()]);
        let errors = once.split_once("last ").unwrap().0;
        assert_eq!(errors.matches("no such file").count(), 1, "{once}");
        assert!(
            errors.contains("E1122 10:00:04.5"),
            "the latest one: {once}"
        );
    }

    #[test]
    fn a_quiet_log_has_no_error_section_and_an_empty_one_says_so() {
        let text = excerpt("etcd", "starting\nlistening on 2379\n");
        assert!(text.starts_with("last 2 log lines of etcd"), "{text}");
        assert_eq!(excerpt("etcd", "\n\n"), "etcd logged nothing");
    }

    #[test]
    fn logrus_and_json_error_lines_count() {
        assert!(is_error_line(r#"time="x" level=fatal msg="cannot listen""#));
        assert!(is_error_line(
            r#"{"level":"error","msg":"etcdserver: request timed out"}"#
        ));
        assert!(!is_error_line("Everything is fine"));
        assert!(!is_error_line("E12 is a short line"));
    }
}
