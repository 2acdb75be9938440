//! `L1716 image-on-self-hosted-runner`: a machine executor that names both an image and a
//! self-hosted runner class (`namespace/name`); the runner decides the machine.

use orrery_diagnostics::{codes, Severity};

use crate::model::definitions;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::IMAGE_ON_SELF_HOSTED_RUNNER,
    name: "image-on-self-hosted-runner",
    severity: Severity::Error,
    summary: "a machine image on a self-hosted runner resource class",
    docs: include_str!("../../docs/rules/L1716.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let holders = definitions(root, "jobs")
        .into_iter()
        .chain(definitions(root, "executors"));
    for holder in holders {
        let Some(image) = holder.value.get("machine").and_then(|m| m.get("image")) else {
            continue;
        };
        let Some(class) = holder.value.get("resource_class") else {
            continue;
        };
        let Some(name) = class.as_str() else { continue };
        if !name.contains('/')
            || name.contains("<<")
            || image.as_str().is_some_and(|i| i.contains("<<"))
        {
            continue;
        }
        let shown = image.as_str().unwrap_or("…");
        let d = sink
            .finding(format!(
                "machine image `{shown}` on self-hosted runner `{name}`"
            ))
            .at(image.span, "extraneous image")
            .also(class.span, "self-hosted runner class")
            .with_help("a self-hosted runner runs on its own machine: write `machine: true` and drop the image");
        sink.push(d);
    }
}
