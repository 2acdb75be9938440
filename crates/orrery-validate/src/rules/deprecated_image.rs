//! `L1101 deprecated-image`: a legacy `circleci/*` convenience image; the maintained images
//! are `cimg/*`.

use orrery_diagnostics::{codes, Applicability, Fix, Severity};

use crate::model::{docker_images, is_dynamic};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::DEPRECATED_IMAGE,
    name: "deprecated-image",
    severity: Severity::Warning,
    summary: "a Docker image is a deprecated legacy `circleci/*` convenience image",
    docs: include_str!("../../docs/rules/L1101.md"),
    check,
};

/// Legacy `circleci/NAME` images and their `cimg/` successor, if one exists.
const LEGACY: &[(&str, Option<&str>)] = &[
    ("android", Some("android")),
    ("buildpack-deps", Some("base")),
    ("clojure", Some("clojure")),
    ("dynamodb", None),
    ("elixir", Some("elixir")),
    ("golang", Some("go")),
    ("jruby", None),
    ("mariadb", Some("mariadb")),
    ("mongo", None),
    ("mysql", Some("mysql")),
    ("node", Some("node")),
    ("openjdk", Some("openjdk")),
    ("php", Some("php")),
    ("postgres", Some("postgres")),
    ("python", Some("python")),
    ("redis", Some("redis")),
    ("ruby", Some("ruby")),
    ("rust", Some("rust")),
];

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for node in docker_images(cx.root()) {
        let Some(image) = node.as_str() else { continue };
        if is_dynamic(image) {
            continue;
        }
        let Some(rest) = image.strip_prefix("circleci/") else {
            continue;
        };
        let name_len = rest.find([':', '@']).unwrap_or(rest.len());
        let name = &rest[..name_len];
        let Some((_, successor)) = LEGACY.iter().find(|(legacy, _)| *legacy == name) else {
            continue;
        };
        let mut d = sink
            .finding(format!(
                "`circleci/{name}` is a deprecated legacy convenience image"
            ))
            .at(node.span, "deprecated image");
        match successor {
            Some(new) => {
                let old = format!("circleci/{name}");
                let span = cx.sub_span(node, 0, old.len());
                d = d.with_help(format!(
                    "use `cimg/{new}`; its tags differ (full versions such as `cimg/{new}:<major>.<minor>`), so check that the tag exists"
                ));
                if span.len() == old.len() {
                    d = d.with_fix(
                        Fix::replace(format!("use `cimg/{new}`"), span, format!("cimg/{new}"))
                            .with_applicability(Applicability::Unsafe),
                    );
                }
            }
            None => {
                d = d.with_help(format!(
                    "there is no `cimg/{name}`; use the upstream image (e.g. `{name}`) instead"
                ));
            }
        }
        sink.push(d);
    }
}
