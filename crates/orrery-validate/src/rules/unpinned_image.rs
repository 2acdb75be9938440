//! `L1102 unpinned-image`: a Docker image without a tag or digest, or tagged `latest`.

use orrery_diagnostics::{codes, Severity};

use crate::model::{docker_images, is_dynamic};
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::UNPINNED_IMAGE,
    name: "unpinned-image",
    severity: Severity::Warning,
    summary: "a Docker image has no tag, or the `latest` tag",
    docs: include_str!("../../docs/rules/L1102.md"),
    check,
};

/// The tag of an image reference (`None` without one), and whether it has a digest.
pub(crate) fn tag_of(image: &str) -> (Option<&str>, bool) {
    let (name, digest) = match image.split_once('@') {
        Some((name, _)) => (name, true),
        None => (image, false),
    };
    // A `:` before the last `/` belongs to a registry port.
    let last = name.rfind('/').map_or(0, |i| i + 1);
    (name[last..].split_once(':').map(|(_, tag)| tag), digest)
}

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    for node in docker_images(cx.root()) {
        let Some(image) = node.as_str() else { continue };
        if is_dynamic(image) || image.trim().is_empty() {
            continue;
        }
        let (message, label) = match tag_of(image) {
            (_, true) => continue,
            (None, false) => (
                format!("image `{image}` has no tag, so it means `latest`"),
                "no tag",
            ),
            (Some("latest"), false) => (format!("image `{image}` is not pinned"), "`latest` tag"),
            (Some(_), false) => continue,
        };
        let d = sink.finding(message).at(node.span, label).with_help(
            "pin a version tag or a digest (`@sha256:…`), so every build runs the same image",
        );
        sink.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::tag_of;

    #[test]
    fn tags_ports_and_digests() {
        assert_eq!(tag_of("cimg/base"), (None, false));
        assert_eq!(tag_of("cimg/base:2024.01"), (Some("2024.01"), false));
        assert_eq!(tag_of("localhost:5000/img"), (None, false));
        assert_eq!(tag_of("localhost:5000/img:1"), (Some("1"), false));
        assert_eq!(tag_of("img@sha256:abc"), (None, true));
    }
}
