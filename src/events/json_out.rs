//! The JSON stream's writer. In JSON mode stdout must carry nothing but JSON lines, so at
//! start-up the real stdout is kept for the stream and file descriptor 1 is pointed at stderr:
//! anything else a command prints (tables, notices) lands in the log instead of breaking a
//! consumer's line-by-line parse.

use std::fs::File;
use std::io::Write;
use std::os::fd::FromRawFd;
use std::sync::Mutex;

static STREAM: Mutex<Option<File>> = Mutex::new(None);

/// Take over stdout for the JSON stream. Called once, before any thread prints.
pub fn capture_stdout() -> std::io::Result<()> {
    let _ = std::io::stdout().flush();
    // SAFETY: plain descriptor calls on 1 and 2; the duplicate is owned by the File below.
    let stream = unsafe {
        let fd = libc::dup(1);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        File::from_raw_fd(fd)
    };
    *STREAM.lock().unwrap_or_else(|e| e.into_inner()) = Some(stream);
    Ok(())
}

/// Write one line to the JSON stream (the real stdout), or to stdout when not captured.
pub fn write_line(line: &str) {
    let mut guard = STREAM.lock().unwrap_or_else(|e| e.into_inner());
    let result = match guard.as_mut() {
        Some(f) => writeln!(f, "{line}").and_then(|()| f.flush()),
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{line}").and_then(|()| out.flush())
        }
    };
    // A reader that went away (`| head`) is not an error worth more than dropping the line.
    drop(result);
}
