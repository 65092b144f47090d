//! Small helpers shared by commands that print JSON.

use serde::Serialize;

/// A command's JSON result: with `--output json` it becomes the `data` of the closing result
/// object of the event stream (so stdout stays one JSON object per line); otherwise it is
/// printed as one line of JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    if crate::events::json() {
        crate::events::report::set_data(serde_json::to_value(value)?);
    } else {
        println!("{}", serde_json::to_string(value)?);
    }
    Ok(())
}
