//! `L1715 invalid-image-digest`: a Docker image pinned by a digest that is not
//! `sha256:` followed by 64 hexadecimal digits.

use orrery_diagnostics::{codes, Severity};

use crate::model::{docker_images, is_dynamic};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::INVALID_IMAGE_DIGEST,
    name: "invalid-image-digest",
    severity: Severity::Error,
    summary: "an image digest is not `sha256:` and 64 hex digits",
    docs: include_str!("../../docs/rules/L1715.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for node in docker_images(cx.root()) {
        let Some(image) = node.as_str() else { continue };
        if is_dynamic(image) {
            continue;
        }
        let Some(at) = image.find('@') else { continue };
        let digest = &image[at + 1..];
        let valid = digest
            .strip_prefix("sha256:")
            .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
        if valid {
            continue;
        }
        let d = sink
            .finding(format!("invalid image digest `{digest}`"))
            .at(cx.sub_span(node, at + 1, image.len()), "not a sha256 digest")
            .with_help("a digest is `sha256:` followed by 64 hexadecimal digits; copy it from `docker images --digests`");
        sink.push(d);
    }
}
