//! Small helpers shared by commands that print JSON.

use serde::Serialize;

/// Print one value as a single line of JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}
