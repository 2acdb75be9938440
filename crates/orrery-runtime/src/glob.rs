//! Glob patterns as `circleci tests glob` and `persist_to_workspace` read them: `*` and `?`
//! within one path segment, `[abc]`/`[!a-z]`, `{a,b}` alternatives and `**` across directories.

use std::fs;
use std::path::{Path, PathBuf};

use regex::Regex;

/// The regular expression a glob pattern stands for (whole-path match).
pub fn to_regex(pattern: &str) -> Option<Regex> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut re = String::from("^");
    let mut i = 0;
    let mut braces = 0usize;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                if chars.get(i + 2) == Some(&'/') {
                    re.push_str("(?:.*/)?");
                    i += 3;
                } else {
                    re.push_str(".*");
                    i += 2;
                }
                continue;
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                let end = chars[i + 1..].iter().position(|&c| c == ']')? + i + 1;
                let mut class: String = chars[i + 1..end].iter().collect();
                if let Some(rest) = class.strip_prefix('!') {
                    class = format!("^{rest}");
                }
                re.push('[');
                re.push_str(&class.replace('\\', "\\\\"));
                re.push(']');
                i = end;
            }
            '{' => {
                braces += 1;
                re.push_str("(?:");
            }
            '}' if braces > 0 => {
                braces -= 1;
                re.push(')');
            }
            ',' if braces > 0 => re.push('|'),
            '\\' if i + 1 < chars.len() => {
                i += 1;
                re.push_str(&regex::escape(&chars[i].to_string()));
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    if braces > 0 {
        return None;
    }
    re.push('$');
    Regex::new(&re).ok()
}

/// Paths under `base` (relative to it, sorted) whose relative path matches `pattern`. Files and
/// directories both match; symlinked directories are not descended.
pub fn glob(base: &Path, pattern: &str) -> Vec<PathBuf> {
    let pattern = pattern.trim_start_matches("./");
    let Some(re) = to_regex(pattern) else {
        return Vec::new();
    };
    let depth = if pattern.contains("**") {
        usize::MAX
    } else {
        pattern.split('/').count()
    };
    let mut out = Vec::new();
    walk(base, Path::new(""), depth, &re, &mut out);
    out.sort();
    out
}

fn walk(base: &Path, rel: &Path, depth: usize, re: &Regex, out: &mut Vec<PathBuf>) {
    if depth == 0 {
        return;
    }
    let Ok(entries) = fs::read_dir(base.join(rel)) else {
        return;
    };
    for e in entries.flatten() {
        let r = rel.join(e.file_name());
        if let Some(s) = r.to_str() {
            if re.is_match(s) {
                out.push(r.clone());
            }
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            walk(base, &r, depth - 1, re, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let m = |p: &str, s: &str| to_regex(p).unwrap().is_match(s);
        assert!(m("tests/*.py", "tests/a.py"));
        assert!(!m("tests/*.py", "tests/x/a.py"));
        assert!(m("tests/**/*.py", "tests/x/y/a.py"));
        assert!(m("tests/**/*.py", "tests/a.py"));
        assert!(m("src/{a,b}?.rs", "src/b1.rs"));
        assert!(m("[!x]*", "abc"));
        assert!(!m("[!x]*", "xbc"));
        assert!(to_regex("{a,b").is_none());
    }
}
