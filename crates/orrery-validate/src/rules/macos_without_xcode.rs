//! `L1713 macos-without-xcode`: a `macos` executor without the required `xcode` version.

use orrery_diagnostics::{codes, Severity};
use orrery_yaml::Value;

use crate::model::definitions;
use crate::{Context, Rule, Sink};

pub(crate) const RULE: Rule = Rule {
    code: codes::MACOS_WITHOUT_XCODE,
    name: "macos-without-xcode",
    severity: Severity::Error,
    summary: "a `macos` executor has no `xcode` version",
    docs: include_str!("../../docs/rules/L1713.md"),
    check,
};

fn check(cx: &Context<'_>, sink: &mut Sink<'_>) {
    let root = cx.root();
    let holders = definitions(root, "jobs")
        .into_iter()
        .chain(definitions(root, "executors"));
    for holder in holders {
        let Some(macos) = holder.value.as_map().and_then(|m| m.entry("macos")) else {
            continue;
        };
        let has_xcode = match &macos.value.value {
            Value::Map(m) => m.contains_key("xcode"),
            // A template may supply the whole map; other shapes are the schema's business.
            _ => true,
        };
        if has_xcode && !macos.value.is_null() {
            continue;
        }
        let d = sink
            .finding("a `macos` executor needs an `xcode` version")
            .at(macos.key_span, "no Xcode version")
            .with_help("add `xcode: \"16.4.0\"` (a version CircleCI offers) under `macos`");
        sink.push(d);
    }
}
