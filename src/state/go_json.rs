//! JSON text exactly as Go's `encoding/json` writes it, so a state file we write is byte-for-byte
//! what RKE1 would write for the same data (apart from our trailing newline):
//! `<`, `>`, `&`, U+2028 and U+2029 are escaped as `\u003c`... (Go's HTML-safe default), and
//! integral floats print without a fraction (`128`, not `128.0`).

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use std::io::{self, Write};

/// `json.MarshalIndent(v, "", "  ")`.
pub fn to_vec_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    write_with(value, GoFormatter(PrettyFormatter::with_indent(b"  ")))
}

/// `json.Marshal(v)`.
pub fn to_vec_compact<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    write_with(value, GoFormatter(CompactFormatter))
}

fn write_with<T: Serialize + ?Sized, F: Formatter>(
    value: &T,
    formatter: F,
) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(4096);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut ser)?;
    Ok(out)
}

/// Wraps serde_json's layout (pretty or compact) and changes only string and float output.
struct GoFormatter<F>(F);

fn go_escape(c: char) -> Option<&'static [u8]> {
    match c {
        '<' => Some(b"\\u003c"),
        '>' => Some(b"\\u003e"),
        '&' => Some(b"\\u0026"),
        '\u{2028}' => Some(b"\\u2028"),
        '\u{2029}' => Some(b"\\u2029"),
        _ => None,
    }
}

/// Go formats float64 with `strconv.FormatFloat(f, 'f', -1, 64)` inside [1e-6, 1e21) and as
/// `1.5e-7` / `1e+21` outside; Rust's `Display`/`LowerExp` give the same shortest digits.
fn write_go_float<W: ?Sized + Write>(writer: &mut W, v: f64) -> io::Result<()> {
    if !v.is_finite() {
        // Go refuses to encode these; serde_json's value layer already turned them into null.
        return writer.write_all(b"null");
    }
    let abs = v.abs();
    if v == 0.0 || (1e-6..1e21).contains(&abs) {
        return write!(writer, "{v}");
    }
    let text = format!("{v:e}");
    match text.split_once('e') {
        Some((mantissa, exp)) if !exp.starts_with('-') => write!(writer, "{mantissa}e+{exp}"),
        _ => writer.write_all(text.as_bytes()),
    }
}

impl<F: Formatter> Formatter for GoFormatter<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if let Some(escaped) = go_escape(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                writer.write_all(escaped)?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        write_go_float(writer, value)
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        write_go_float(writer, f64::from(value))
    }

    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }
    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }
    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_key(writer)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_layout_matches_go_marshal_indent() {
        let v = json!({"a": 1, "b": [], "c": {}, "d": [true, null], "e": {"f": "g"}});
        let text = String::from_utf8(to_vec_pretty(&v).unwrap()).unwrap();
        let go = "{\n  \"a\": 1,\n  \"b\": [],\n  \"c\": {},\n  \"d\": [\n    true,\n    null\n  ],\n  \"e\": {\n    \"f\": \"g\"\n  }\n}";
        assert_eq!(text, go);
    }

    #[test]
    fn strings_use_go_html_safe_escapes() {
        let v = json!({"k": "a<b>&c\u{2028}d\u{2029}\"\n\té"});
        let text = String::from_utf8(to_vec_compact(&v).unwrap()).unwrap();
        assert_eq!(text, r#"{"k":"a\u003cb\u003e\u0026c\u2028d\u2029\"\n\té"}"#);
        // And it still reads back to the same value.
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn floats_print_like_go() {
        let v = json!([128.0, 0.34, -4.0, 0.0, 1.5e-7, 2.5, 1e21, 123456789.0]);
        let text = String::from_utf8(to_vec_compact(&v).unwrap()).unwrap();
        assert_eq!(text, "[128,0.34,-4,0,1.5e-7,2.5,1e+21,123456789]");
    }
}
