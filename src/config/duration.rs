//! Go durations (`12h`, `1h30m`, `500ms`), as `services.etcd.creation`/`retention` hold them.
//!
//! RKE1 hands these strings to rke-tools, which reads them with Go's `time.ParseDuration`, so
//! this is a port of that function: validation and the snapshot agent both read them here and
//! cannot disagree on what a duration is.

use std::time::Duration;

/// Nanoseconds per unit, as Go's `unitMap`. Both micro signs are accepted: U+00B5 (micro sign)
/// and U+03BC (Greek small letter mu).
const UNITS: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Go's `time.ParseDuration`: an optional sign, then one or more `<number><unit>` where the
/// number may have a fraction (`1.5h`, `.5s`); a lone `0` needs no unit. Returns signed
/// nanoseconds (Go's `time.Duration`); out of its range is an error, as in Go. No white space
/// is allowed.
pub fn parse_go(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not a duration such as 12h or 30m");
    const LIMIT: u64 = 1 << 63;
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        if !rest.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
            return Err(bad());
        }
        let (whole, after) = leading_int(rest).ok_or_else(bad)?;
        let pre = after.len() != rest.len();
        rest = after;
        let (mut fraction, mut scale, mut post) = (0, 1.0, false);
        if let Some(after_dot) = rest.strip_prefix('.') {
            let (f, s, after) = leading_fraction(after_dot);
            (fraction, scale, post) = (f, s, after.len() != after_dot.len());
            rest = after;
        }
        if !pre && !post {
            return Err(bad());
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (unit, after) = rest.split_at(unit_len);
        rest = after;
        let (_, per_unit) = UNITS.iter().find(|(u, _)| *u == unit).ok_or_else(bad)?;
        if whole > LIMIT / per_unit {
            return Err(bad());
        }
        let mut value = whole * per_unit;
        if fraction > 0 {
            // A float, as in Go, so that fractions of hours stay exact to the nanosecond.
            value += (fraction as f64 * (*per_unit as f64 / scale)) as u64;
            if value > LIMIT {
                return Err(bad());
            }
        }
        total = total
            .checked_add(value)
            .filter(|t| *t <= LIMIT)
            .ok_or_else(bad)?;
    }
    if negative {
        // -(1 << 63) is i64::MIN, which Go allows too.
        Ok((total as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(total).map_err(|_| bad())
    }
}

/// A period that cannot be negative (a snapshot interval, a retention), with surrounding
/// white space forgiven as `cluster.yml` values always were.
pub fn parse_period(text: &str) -> Result<Duration, String> {
    let nanos = parse_go(text.trim())?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| format!("{text:?} is negative; a period must be 0 or longer"))
}

/// Go's `leadingInt`: the leading digits as a number, `None` past 1 << 63.
fn leading_int(s: &str) -> Option<(u64, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let mut x: u64 = 0;
    for digit in s[..end].bytes() {
        x = x
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))
            .filter(|x| *x <= 1 << 63)?;
    }
    Some((x, &s[end..]))
}

/// Go's `leadingFraction`: the digits after the point and 10^(how many were used); digits past
/// what fits are read but ignored.
fn leading_fraction(s: &str) -> (u64, f64, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (mut x, mut scale, mut overflow) = (0u64, 1.0f64, false);
    for digit in s[..end].bytes() {
        if overflow {
            continue;
        }
        match x
            .checked_mul(10)
            .and_then(|x| x.checked_add(u64::from(digit - b'0')))
        {
            Some(y) if x <= (i64::MAX as u64) / 10 && y <= 1 << 63 => {
                x = y;
                scale *= 10.0;
            }
            _ => overflow = true,
        }
    }
    (x, scale, &s[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;

    #[test]
    fn reads_what_go_reads() {
        for (text, nanos) in [
            // "0" needs no unit, with or without a sign (the two old parsers disagreed).
            ("0", 0),
            ("+0", 0),
            ("-0", 0),
            ("0s", 0),
            ("12h", 12 * 3600 * SECOND),
            ("1h30m", 5400 * SECOND),
            ("1.5h", 5400 * SECOND),
            ("2m3s", 123 * SECOND),
            ("500ms", SECOND / 2),
            (".5s", SECOND / 2),
            ("5.s", 5 * SECOND),
            ("-1.5h", -5400 * SECOND),
            ("+10s", 10 * SECOND),
            ("1ns", 1),
            ("3us", 3_000),
            // Both micro signs (only one of them was known to validation).
            ("3\u{b5}s", 3_000),
            ("3\u{3bc}s", 3_000),
            ("1h1m1s1ms1us1ns", 3_661_001_001_001),
            ("9223372036854775807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("0.100000000000000000000h", 360 * SECOND),
        ] {
            assert_eq!(parse_go(text), Ok(nanos), "{text}");
        }
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in [
            "",
            "-",
            "+",
            "12",
            "1h30",
            "h",
            ".",
            ".s",
            "-.s",
            "12 h",
            " 12h",
            "1d",
            "1hm",
            "1.2.3s",
            "1x",
            "--1s",
            "9223372036854775808ns",
            "9223372036854775807ns1ns",
            "3000000h",
        ] {
            assert!(parse_go(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn periods_are_not_negative_and_forgive_spaces() {
        assert_eq!(parse_period(" 90s "), Ok(Duration::from_secs(90)));
        assert_eq!(parse_period("0"), Ok(Duration::ZERO));
        assert_eq!(parse_period("1.5h"), Ok(Duration::from_secs(5400)));
        let err = parse_period("-1h").unwrap_err();
        assert!(err.contains("negative"), "{err}");
        let err = parse_period("3 days").unwrap_err();
        assert!(err.contains("is not a duration such as 12h"), "{err}");
    }
}
