//! Cache key templates, evaluated when the step runs: `{{ .Branch }}`, `{{ .Revision }}`,
//! `{{ .BuildNum }}`, `{{ .CheckoutKey }}`, `{{ .Environment.NAME }}`, `{{ checksum "FILE" }}`,
//! `{{ epoch }}`, `{{ arch }}`.

use base64::Engine;
use sha2::{Digest, Sha256};

pub struct KeyContext<'a> {
    pub branch: &'a str,
    pub revision: &'a str,
    pub build_num: u64,
    pub environment: &'a [(String, String)],
    pub epoch: u64,
    pub arch: String,
    /// The bytes of a file named in `checksum`, relative to the working directory.
    pub read: &'a mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
}

/// `linux-amd64`, `darwin-arm64`, …: the OS and CPU architecture.
pub fn host_arch() -> String {
    let cpu = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{}-{cpu}", std::env::consts::OS)
}

/// Base64 of the SHA-256 of `bytes`, as `{{ checksum }}` prints it.
pub fn checksum(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

pub fn render_key(template: &str, ctx: &mut KeyContext<'_>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("unclosed `{{{{` in cache key `{template}`"))?;
        out.push_str(&action(after[..end].trim(), ctx, template)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn action(action: &str, ctx: &mut KeyContext<'_>, template: &str) -> Result<String, String> {
    Ok(match action {
        ".Branch" => ctx.branch.to_string(),
        ".Revision" => ctx.revision.to_string(),
        ".BuildNum" => ctx.build_num.to_string(),
        ".CheckoutKey" => String::new(),
        "epoch" => ctx.epoch.to_string(),
        "arch" => ctx.arch.clone(),
        _ => {
            if let Some(name) = action.strip_prefix(".Environment.") {
                ctx.environment
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| "<no value>".to_string())
            } else if let Some(arg) = action.strip_prefix("checksum") {
                let file = arg.trim().trim_matches('"');
                if file.is_empty() {
                    return Err(format!(
                        "`checksum` needs a file name in cache key `{template}`"
                    ));
                }
                checksum(&(ctx.read)(file)?)
            } else {
                return Err(format!(
                    "`{{{{ {action} }}}}` is not a cache key template value"
                ));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let env = vec![("GOOS".to_string(), "linux".to_string())];
        let mut read = |f: &str| {
            if f == "lock" {
                Ok(b"abc".to_vec())
            } else {
                Err(format!("no {f}"))
            }
        };
        let mut ctx = KeyContext {
            branch: "main",
            revision: "abc123",
            build_num: 7,
            environment: &env,
            epoch: 100,
            arch: "linux-amd64".into(),
            read: &mut read,
        };
        assert_eq!(
            render_key("v1-{{ .Branch }}-{{.Revision}}-{{ .Environment.GOOS }}-{{ epoch }}-{{ arch }}-{{ .BuildNum }}", &mut ctx).unwrap(),
            "v1-main-abc123-linux-100-linux-amd64-7"
        );
        assert_eq!(
            render_key("d-{{ checksum \"lock\" }}", &mut ctx).unwrap(),
            "d-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        assert!(render_key("{{ checksum \"missing\" }}", &mut ctx).is_err());
        assert!(render_key("{{ .Nope }}", &mut ctx).is_err());
        assert!(render_key("{{ .Branch", &mut ctx).is_err());
    }
}
