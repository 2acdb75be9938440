use orrery_diagnostics::{codes, FileId};
use orrery_yaml::{parse, Limits, Node, Value};

fn doc(text: &str) -> (Option<Node>, Vec<&'static str>) {
    let parsed = parse(FileId(0), text, Limits::default());
    (
        parsed.root,
        parsed.diagnostics.iter().map(|d| d.code).collect(),
    )
}

fn keys(node: &Node) -> Vec<&str> {
    node.as_map().unwrap().keys().collect()
}

#[test]
fn spans_point_at_the_scalar() {
    let text = "a:\n  b: héllo\n  c: [1, two]\n";
    let (root, diags) = doc(text);
    assert!(diags.is_empty());
    let b = root.as_ref().unwrap().get("a").unwrap().get("b").unwrap();
    assert_eq!(&text[b.span.start as usize..b.span.end as usize], "héllo");
    let c = root
        .as_ref()
        .unwrap()
        .get("a")
        .unwrap()
        .get("c")
        .unwrap()
        .as_seq()
        .unwrap();
    assert_eq!(c[0].value, Value::Int(1));
    assert_eq!(
        &text[c[1].span.start as usize..c[1].span.end as usize],
        "two"
    );
}

#[test]
fn merge_keys_follow_snakeyaml_order() {
    let text = "base: &base\n  docker: d\n  working_directory: w\nbuild:\n  <<: *base\n  steps: s\n  working_directory: mine\n";
    let (root, _) = doc(text);
    let build = root.unwrap().get("build").unwrap().clone();
    assert_eq!(keys(&build), ["docker", "working_directory", "steps"]);
    assert_eq!(
        build.get("working_directory").unwrap().as_str(),
        Some("mine")
    );
}

#[test]
fn merge_list_earlier_source_wins() {
    let text = "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n";
    let (root, _) = doc(text);
    let c = root.unwrap().get("c").unwrap().clone();
    assert_eq!(c.get("x").unwrap().value, Value::Int(1));
    assert_eq!(c.get("y").unwrap().value, Value::Int(2));
}

#[test]
fn quoted_merge_key_is_an_ordinary_key() {
    let (root, _) = doc("\"<<\": 1\n");
    assert_eq!(keys(root.as_ref().unwrap()), ["<<"]);
}

#[test]
fn duplicate_keys_last_wins_with_warning() {
    let (root, diags) = doc("version: 2\njobs: {}\nversion: 2.1\n");
    let root = root.unwrap();
    assert_eq!(keys(&root), ["jobs", "version"]);
    assert_eq!(root.get("version").unwrap().value, Value::Float(2.1));
    assert_eq!(diags, [codes::YAML_DUPLICATE_KEY]);
}

#[test]
fn yaml_1_1_booleans_and_quoting() {
    let (root, _) = doc("a: on\nb: 'on'\nc: !!str 12\nd: 0755\n");
    let root = root.unwrap();
    assert_eq!(root.get("a").unwrap().value, Value::Bool(true));
    assert_eq!(root.get("b").unwrap().value, Value::Str("on".into()));
    assert_eq!(root.get("c").unwrap().value, Value::Str("12".into()));
    assert_eq!(root.get("d").unwrap().value, Value::Int(493));
}

#[test]
fn syntax_error_is_a_diagnostic_with_position() {
    let parsed = parse(FileId(0), "a: [1, 2\nb: c\n", Limits::default());
    assert!(parsed.root.is_none());
    assert_eq!(parsed.diagnostics[0].code, codes::YAML_SYNTAX);
}

#[test]
fn alias_bomb_is_refused_quickly() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = i - 1;
        text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    let started = std::time::Instant::now();
    let parsed = parse(FileId(0), &text, Limits::default());
    assert!(parsed.root.is_none());
    assert_eq!(parsed.diagnostics[0].code, codes::YAML_LIMIT);
    // A generous bound: the point is that expansion stops early, not how fast the machine is.
    assert!(started.elapsed().as_secs() < 5);
}

#[test]
fn deep_nesting_is_refused() {
    let text = "[".repeat(5000);
    let parsed = parse(FileId(0), &text, Limits::default());
    assert!(parsed.root.is_none());
    assert!(!parsed.diagnostics.is_empty());
}
