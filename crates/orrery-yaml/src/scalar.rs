//! YAML 1.1 plain-scalar typing, matching SnakeYAML/PyYAML's implicit resolvers.

use num_bigint::BigInt;

use crate::Value;

/// Types an unquoted scalar: booleans, null, integers (decimal, octal, hex, binary,
/// sexagesimal, `_` separators), floats (a `.` is required), else a string.
pub fn resolve_plain(text: &str) -> Value {
    resolve_non_string(text).unwrap_or_else(|| Value::Str(text.to_string()))
}

/// [`resolve_plain`] taking the text by value, so a string (most scalars) is not copied.
pub(crate) fn resolve_plain_owned(text: std::borrow::Cow<'_, str>) -> Value {
    resolve_non_string(&text).unwrap_or_else(|| Value::Str(text.into_owned()))
}

/// Whether the plain scalar `text` reads as a string (what [`resolve_plain`] gives is a
/// [`Value::Str`]); nothing is allocated unless the text starts like a number.
pub fn plain_is_string(text: &str) -> bool {
    resolve_non_string(text).is_none()
}

/// The value of a plain scalar that YAML 1.1 does not read as a string.
fn resolve_non_string(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Some(Value::Bool(true))
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Some(Value::Bool(false))
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(Value::Float(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(Value::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(Value::Float(f64::NAN)),
        _ => {}
    }
    // Past its sign, an integer starts with a digit (or `_`, in a sexagesimal one) and a float
    // with a digit or `.`: any other text is a string, without the work below.
    if !matches!(
        split_sign(text).1.as_bytes().first(),
        Some(b'0'..=b'9' | b'.' | b'_')
    ) {
        return None;
    }
    resolve_int(text).or_else(|| resolve_float(text).map(Value::Float))
}

fn split_sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

fn resolve_int(text: &str) -> Option<Value> {
    let (negative, body) = split_sign(text);
    if body.is_empty() {
        return None;
    }
    let digits_with =
        |s: &str, ok: fn(u8) -> bool| !s.is_empty() && s.bytes().all(|b| ok(b) || b == b'_');
    let (radix, digits) = if let Some(rest) = body.strip_prefix("0b") {
        if !digits_with(rest, |b| b == b'0' || b == b'1') {
            return None;
        }
        (2, rest)
    } else if let Some(rest) = body.strip_prefix("0x") {
        if !digits_with(rest, |b| b.is_ascii_hexdigit()) {
            return None;
        }
        (16, rest)
    } else if body == "0" {
        (10, body)
    } else if let Some(rest) = body.strip_prefix('0') {
        if !digits_with(rest, |b| (b'0'..=b'7').contains(&b)) {
            return None;
        }
        (8, rest)
    } else if body.as_bytes()[0].is_ascii_digit() && digits_with(body, |b| b.is_ascii_digit()) {
        (10, body)
    } else if body.contains(':') {
        return resolve_sexagesimal(negative, body);
    } else {
        return None;
    };
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() {
        return None;
    }
    let magnitude = BigInt::parse_bytes(clean.as_bytes(), radix)?;
    Some(Value::integer(if negative {
        -magnitude
    } else {
        magnitude
    }))
}

fn resolve_sexagesimal(negative: bool, body: &str) -> Option<Value> {
    let mut parts = body.split(':');
    let first = parts.next()?;
    if first.is_empty()
        || first.starts_with('0')
        || !first.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let mut value: BigInt = first.replace('_', "").parse().ok()?;
    for part in parts {
        if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u8 = part.parse().ok()?;
        if n > 59 {
            return None;
        }
        value = value * 60u8 + n;
    }
    Some(Value::integer(if negative { -value } else { value }))
}

fn resolve_float(text: &str) -> Option<f64> {
    let (negative, body) = split_sign(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let dot = mantissa.find('.')?;
    let (int_part, frac_part) = (&mantissa[..dot], &mantissa[dot + 1..]);
    let int_ok = int_part.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && (int_part.is_empty() || int_part.as_bytes()[0].is_ascii_digit());
    let frac_ok = frac_part.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if !int_ok || !frac_ok || (int_part.is_empty() && frac_part.is_empty()) {
        return None;
    }
    if let Some(exp) = exponent {
        let (_, digits) = split_sign(exp);
        if !exp.starts_with(['+', '-'])
            || digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
    }
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let clean = if clean.ends_with('.') {
        format!("{clean}0")
    } else {
        clean
    };
    let clean = clean.replace(".e", ".0e").replace(".E", ".0E");
    let f: f64 = clean.parse().ok()?;
    Some(if negative { -f } else { f })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_typing() {
        assert_eq!(resolve_plain("on"), Value::Bool(true));
        assert_eq!(resolve_plain("No"), Value::Bool(false));
        assert_eq!(resolve_plain("y"), Value::Str("y".into()));
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("42"), Value::Int(42));
        assert_eq!(resolve_plain("-1_000"), Value::Int(-1000));
        assert_eq!(resolve_plain("010"), Value::Int(8));
        assert_eq!(resolve_plain("0x1F"), Value::Int(31));
        assert_eq!(resolve_plain("0b101"), Value::Int(5));
        assert_eq!(resolve_plain("1:30"), Value::Int(90));
        assert_eq!(resolve_plain("2.1"), Value::Float(2.1));
        assert_eq!(resolve_plain("1."), Value::Float(1.0));
        assert_eq!(resolve_plain("1.5e+3"), Value::Float(1500.0));
        assert_eq!(resolve_plain("1e3"), Value::Str("1e3".into()));
        assert_eq!(resolve_plain("12.14.0"), Value::Str("12.14.0".into()));
        assert_eq!(resolve_plain("089"), Value::Str("089".into()));
        assert_eq!(resolve_plain("latest"), Value::Str("latest".into()));
    }

    #[test]
    fn integers_past_64_bits_stay_integers() {
        let big = |digits: &str| Value::BigInt(digits.parse().unwrap());
        assert_eq!(resolve_plain("9223372036854775807"), Value::Int(i64::MAX));
        assert_eq!(resolve_plain("-9223372036854775808"), Value::Int(i64::MIN));
        assert_eq!(
            resolve_plain("9223372036854775808"),
            big("9223372036854775808")
        );
        assert_eq!(
            resolve_plain("12345678901234567890123456789"),
            big("12345678901234567890123456789")
        );
        assert_eq!(
            resolve_plain("-1_000_000_000_000_000_000_000"),
            big("-1000000000000000000000")
        );
        assert_eq!(
            resolve_plain("0x1_0000_0000_0000_0000"),
            big("18446744073709551616")
        );
        assert_eq!(
            resolve_plain("0777777777777777777777777"),
            big("4722366482869645213695")
        );
        assert_eq!(
            resolve_plain("999999999999999999:59"),
            big("59999999999999999999")
        );
        assert_eq!(resolve_plain("1e30"), Value::Str("1e30".into()));
        assert_eq!(resolve_plain("1.0e+30"), Value::Float(1e30));
        assert_eq!(
            resolve_plain("12345678901234567890123456789").type_name(),
            "integer"
        );
    }
}
