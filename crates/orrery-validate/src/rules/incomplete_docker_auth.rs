//! `L1712 incomplete-docker-auth`: a Docker image's `auth` without both `username` and
//! `password`, or an `aws_auth` that is neither access keys nor an OIDC role.

use orrery_diagnostics::{codes, Severity};

use crate::model::walk;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::INCOMPLETE_DOCKER_AUTH,
    name: "incomplete-docker-auth",
    severity: Severity::Error,
    summary: "a Docker image's `auth` or `aws_auth` lacks a required key",
    docs: include_str!("../../docs/rules/L1712.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    walk(cx.root(), &mut |entry, n| {
        if entry.is_none_or(|e| e.key != "docker") {
            return;
        }
        for image in n.as_seq().unwrap_or(&[]) {
            let Some(map) = image.as_map() else { continue };
            if let Some(auth) = map.entry("auth") {
                if let Some(a) = auth.value.as_map() {
                    let missing: Vec<&str> = ["username", "password"]
                        .into_iter()
                        .filter(|k| !a.contains_key(k))
                        .collect();
                    if !missing.is_empty() {
                        let d = sink
                            .finding(format!("docker `auth` needs `{}`", missing.join("` and `")))
                            .at(auth.key_span, "incomplete credentials")
                            .with_help("give both `username` and `password` (the password from an environment variable: `password: $DOCKERHUB_PASSWORD`)");
                        sink.push(d);
                    }
                }
            }
            if let Some(auth) = map.entry("aws_auth") {
                let Some(a) = auth.value.as_map() else {
                    continue;
                };
                let keys =
                    a.contains_key("aws_access_key_id") || a.contains_key("aws_secret_access_key");
                let keys_complete =
                    a.contains_key("aws_access_key_id") && a.contains_key("aws_secret_access_key");
                let oidc = a.contains_key("oidc_role_arn");
                let problem = match (keys, keys_complete, oidc) {
                    (_, _, true) if keys => "`aws_auth` takes either access keys or `oidc_role_arn`, not both",
                    (_, _, true) | (true, true, false) => continue,
                    (true, false, false) => "`aws_auth` needs both `aws_access_key_id` and `aws_secret_access_key`",
                    (false, _, false) => "`aws_auth` needs `aws_access_key_id` and `aws_secret_access_key`, or `oidc_role_arn`",
                };
                let d = sink
                    .finding(problem)
                    .at(auth.key_span, "incomplete credentials")
                    .with_help("ECR images authenticate with an access key pair, or with an OIDC role (`oidc_role_arn`)");
                sink.push(d);
            }
        }
    });
}
