//! `L1403 restore-key-never-saved`: a `restore_cache` key that no `save_cache` key of the
//! config can produce, so the restore always misses.
//!
//! `restore_cache` matches each key as a prefix of the stored keys (CONFIG-SPEC §7.6.2). Keys
//! are compared as patterns: `{{ … }}` (run-time templates), `<< … >>` (compile-time templates)
//! and `$VAR` stand for any text. A restore key is reported when no save key can start with
//! it. Caches may also come from elsewhere, so the rule stays silent when it cannot see every
//! save: a config without any `save_cache`, a setup config (`setup: true`, whose continuation
//! shares the project's caches), a config importing registry orbs that was not compiled (orb
//! commands save caches), and restore keys that start with a template.

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::{Node, Value};

use crate::model::{cache_keys, section, CacheStep};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::RESTORE_KEY_NEVER_SAVED,
    name: "restore-key-never-saved",
    severity: Severity::Warning,
    summary: "a `restore_cache` key that no `save_cache` key of the config can produce",
    docs: include_str!("../../docs/rules/L1403.md"),
    check,
};

/// One element of a key pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Char(char),
    /// Any text: a template or an environment variable.
    Any,
}

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    if root.get("setup").and_then(Node::as_bool) == Some(true) {
        return;
    }
    let compiled = cx.input.compiled.and_then(|c| c.config.as_ref());
    let registry_orbs = section(root, "orbs")
        .iter()
        .any(|e| matches!(e.value.value, Value::Str(_)));
    if registry_orbs && compiled.is_none() {
        return;
    }
    let source_keys = cache_keys(root);
    let mut saves: Vec<&Node> = source_keys
        .iter()
        .filter(|(step, _)| *step == CacheStep::Save)
        .map(|(_, k)| *k)
        .collect();
    if let Some(compiled) = compiled {
        saves.extend(
            cache_keys(compiled)
                .into_iter()
                .filter(|(step, _)| *step == CacheStep::Save)
                .map(|(_, k)| k),
        );
    }
    if saves.is_empty() {
        return;
    }
    let save_patterns: Vec<Vec<Token>> = saves
        .iter()
        .filter_map(|k| k.as_str())
        .map(tokens)
        .collect();
    for (step, key) in &source_keys {
        if *step != CacheStep::Restore {
            continue;
        }
        let Some(text) = key.as_str() else { continue };
        let mut restore = tokens(text);
        if restore.first().is_none_or(|t| *t == Token::Any) {
            continue;
        }
        // A restore key matches any stored key it is a prefix of.
        restore.push(Token::Any);
        if save_patterns.iter().any(|s| intersects(&restore, s)) {
            continue;
        }
        let mut d = sink
            .finding(format!(
                "no `save_cache` of this config saves a key starting with `{}`",
                static_prefix(text)
            ))
            .at(key.span, "never matches");
        for save in saves
            .iter()
            .filter(|s| s.span.file == key.span.file)
            .take(3)
        {
            d = d.also(save.span, "a key that is saved");
        }
        sink.push(d.with_help(
            "`restore_cache` looks for saved keys that start with this key; make it a prefix of a `save_cache` key (templates such as `{{ checksum \"…\" }}` match anything)",
        ));
    }
}

/// The text before the first template or variable.
fn static_prefix(text: &str) -> String {
    tokens(text)
        .into_iter()
        .map_while(|t| match t {
            Token::Char(c) => Some(c),
            Token::Any => None,
        })
        .collect()
}

/// A cache key as a pattern.
fn tokens(key: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = key;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("\\<<") {
            out.extend([Token::Char('<'), Token::Char('<')]);
            rest = after;
        } else if let Some(after) = rest.strip_prefix("{{") {
            rest = after.find("}}").map_or("", |end| &after[end + 2..]);
            out.push(Token::Any);
        } else if let Some(after) = rest.strip_prefix("<<") {
            rest = after.find(">>").map_or("", |end| &after[end + 2..]);
            out.push(Token::Any);
        } else if let Some(after) = rest.strip_prefix('$') {
            rest = match after.strip_prefix('{') {
                Some(braced) => braced.find('}').map_or("", |end| &braced[end + 1..]),
                None => after.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_'),
            };
            out.push(Token::Any);
        } else {
            out.push(Token::Char(c));
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Whether some text matches both patterns (`Any` matches any run of characters).
fn intersects(a: &[Token], b: &[Token]) -> bool {
    // reach[i][j]: a[..i] and b[..j] can match the same text.
    let mut reach = vec![vec![false; b.len() + 1]; a.len() + 1];
    reach[0][0] = true;
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            if !reach[i][j] {
                continue;
            }
            let (x, y) = (a.get(i), b.get(j));
            if x == Some(&Token::Any) {
                // The wildcard ends here, or swallows b's next token.
                reach[i + 1][j] = true;
                if j < b.len() {
                    reach[i][j + 1] = true;
                }
            }
            if y == Some(&Token::Any) {
                reach[i][j + 1] = true;
                if i < a.len() {
                    reach[i + 1][j] = true;
                }
            }
            if let (Some(Token::Char(p)), Some(Token::Char(q))) = (x, y) {
                if p == q {
                    reach[i + 1][j + 1] = true;
                }
            }
        }
    }
    reach[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restores(restore: &str, save: &str) -> bool {
        let mut r = tokens(restore);
        r.push(Token::Any);
        intersects(&r, &tokens(save))
    }

    #[test]
    fn restore_keys_are_prefixes_of_save_patterns() {
        assert!(restores("v1-deps-", "v1-deps-{{ checksum \"go.sum\" }}"));
        assert!(restores(
            "v1-deps-{{ checksum \"go.sum\" }}",
            "v1-deps-{{ checksum \"go.sum\" }}"
        ));
        assert!(restores(
            "v1-deps-{{ .Branch }}-x",
            "v1-deps-{{ .Branch }}-{{ epoch }}"
        ));
        assert!(restores(
            "v1-<< parameters.v >>-deps",
            "v1-node-deps-{{ epoch }}"
        ));
        assert!(restores("v1-$CACHE_VERSION-x", "v1-3-x"));
        assert!(!restores("v2-deps-", "v1-deps-{{ checksum \"go.sum\" }}"));
        assert!(restores("v1-deps-go", "v1-deps-{{ arch }}"));
        assert!(!restores("v1-gems-", "v1-deps-{{ arch }}"));
        assert!(restores("v1-deps-lock-", "v1-deps-{{ .Branch }}-x"));
        assert!(!restores("v1-deps-x", "v1-deps"));
        assert!(restores("v1-deps-lock-x", "v1-deps-{{ .Branch }}-x"));
        assert_eq!(static_prefix("v1-{{ .Branch }}"), "v1-");
    }
}
