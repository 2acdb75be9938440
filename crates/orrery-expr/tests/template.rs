//! Table tests for the `<< >>` template parser (CONFIG-SPEC 2.4, 2.5).

use std::collections::HashMap;

use orrery_expr::template::{
    is_tag_name, parse_tag_body, parse_template, tag_body_offset, Segment, TagBody, Template,
};

fn text(s: &str) -> Segment {
    Segment::Text(s.to_string())
}

fn tag(body: &str, offset: usize, len: usize) -> Segment {
    Segment::Tag {
        body: body.to_string(),
        offset,
        len,
    }
}

fn ok(input: &str) -> Template {
    parse_template(input).unwrap_or_else(|e| panic!("{input:?}: {e:?}"))
}

/// Renders with tags replaced by `[body]` and sections decided by `vars`.
fn render(input: &str, vars: &[(&str, bool)]) -> String {
    let vars: HashMap<&str, bool> = vars.iter().copied().collect();
    ok(input)
        .render::<String>(
            &mut |body, _, _| Ok(format!("[{body}]")),
            &mut |name, _, _| vars.get(name).copied().ok_or(format!("no {name}")),
        )
        .unwrap()
}

#[test]
fn plain_text_and_tags() {
    assert_eq!(ok("").segments, vec![]);
    assert_eq!(ok("no tags").segments, vec![text("no tags")]);
    assert!(ok("no tags").is_plain());
    assert_eq!(
        ok("echo << parameters.to >>!").segments,
        vec![text("echo "), tag("parameters.to", 5, 19), text("!")]
    );
    // Whitespace inside a tag is insignificant.
    assert_eq!(
        ok("<<parameters.to>>").segments,
        vec![tag("parameters.to", 0, 17)]
    );
    assert_eq!(
        ok("<<  parameters.to\t>>").segments,
        vec![tag("parameters.to", 0, 20)]
    );
    assert_eq!(
        ok("<< matrix.os >>-<< matrix.version >>").segments,
        vec![
            tag("matrix.os", 0, 15),
            text("-"),
            tag("matrix.version", 16, 20)
        ]
    );
    // A tag body ends at the first `>>`.
    assert_eq!(
        ok("<<include(x)>> y").segments,
        vec![tag("include(x)", 0, 14), text(" y")]
    );
    assert_eq!(
        ok("<< a == \"x\" >>").segments,
        vec![tag("a == \"x\"", 0, 14)]
    );
}

#[test]
fn escapes() {
    // `\<<` is a literal `<<`.
    let t = ok("cat \\<<EOF");
    assert_eq!(t.segments, vec![text("cat <<EOF")]);
    assert!(t.is_plain());
    // `\\<<` is a `\` followed by a real tag.
    assert_eq!(
        ok("C:\\\\<< parameters.dir >>").segments,
        vec![text("C:\\"), tag("parameters.dir", 4, 20)]
    );
    // A backslash not followed by `<<` is text.
    assert_eq!(ok("a\\b \\n \\").segments, vec![text("a\\b \\n \\")]);
    // A lone `>>` is text.
    assert_eq!(
        ok("echo x >> log.txt").segments,
        vec![text("echo x >> log.txt")]
    );
    assert_eq!(
        ok("echo << a >> >> log").segments,
        vec![text("echo "), tag("a", 5, 7), text(" >> log")]
    );
    // Escaped heredoc with a tag after it.
    assert_eq!(
        ok("cat \\<<EOF > << p >>").segments,
        vec![text("cat <<EOF > "), tag("p", 13, 7)]
    );
}

#[test]
fn whole_tag_detection() {
    assert_eq!(
        ok("<< parameters.p >>").whole_tag(),
        Some(("parameters.p", 0, 18))
    );
    assert_eq!(
        ok("<<parameters.count>>").whole_tag(),
        Some(("parameters.count", 0, 20))
    );
    assert_eq!(
        ok("<< pipeline.git.branch == \"main\" and 10 or 1 >>").whole_tag(),
        Some(("pipeline.git.branch == \"main\" and 10 or 1", 0, 47))
    );
    for input in [
        " << a >>",
        "<< a >> ",
        "<< a >>\n",
        "<< a >> << b >>",
        "x-<< a >>",
        "<<# a >>x<</ a >>",
        "plain",
        "",
        "\\\\<< a >>",
    ] {
        assert_eq!(ok(input).whole_tag(), None, "{input:?}");
    }
    assert!(!ok("<< a >>").is_plain());
    assert!(!ok("<<# a >>x<</ a >>").is_plain());
}

#[test]
fn inline_sections() {
    let input = "$(( 0 <<# parameters.x >> + 1 <</ parameters.x >> ))";
    assert_eq!(
        ok(input).segments,
        vec![
            text("$(( 0 "),
            Segment::Section {
                name: "parameters.x".to_string(),
                inverted: false,
                offset: 6,
                len: 19,
                body: vec![text(" + 1 ")],
            },
            text(" ))"),
        ]
    );
    assert_eq!(render(input, &[("parameters.x", true)]), "$(( 0  + 1  ))");
    assert_eq!(render(input, &[("parameters.x", false)]), "$(( 0  ))");
    // Inverted, compact close tag.
    let input = "a<<^ p >>b<</p>>c";
    assert_eq!(render(input, &[("p", true)]), "ac");
    assert_eq!(render(input, &[("p", false)]), "abc");
    // Tags inside sections.
    let input = "x <<# p >>--to=<< parameters.to >><</ p >>";
    assert_eq!(render(input, &[("p", true)]), "x --to=[parameters.to]");
    assert_eq!(render(input, &[("p", false)]), "x ");
}

#[test]
fn standalone_sections() {
    let input = "a\n  <<# p >>\n  b\n  <</ p >>\nc\n";
    assert_eq!(
        ok(input).segments,
        vec![
            text("a\n"),
            Segment::Section {
                name: "p".to_string(),
                inverted: false,
                offset: 4,
                len: 8,
                body: vec![text("  b\n")],
            },
            text("c\n"),
        ]
    );
    assert_eq!(render(input, &[("p", true)]), "a\n  b\nc\n");
    assert_eq!(render(input, &[("p", false)]), "a\nc\n");
    // At start and end of input, CRLF line endings, tabs.
    let input = "<<^ p >>\r\nno\r\n\t<</ p >>";
    assert_eq!(render(input, &[("p", false)]), "no\r\n");
    assert_eq!(render(input, &[("p", true)]), "");
    // Not standalone when other text shares the line.
    let input = "x <<# p >>\ny\n<</ p >> z";
    assert_eq!(render(input, &[("p", true)]), "x \ny\n z");
    assert_eq!(render(input, &[("p", false)]), "x  z");
}

#[test]
fn nested_sections() {
    let input = "\
run:
  <<# a >>
  A
  <<^ b >>
  not-B << x >>
  <</ b >>
  <</ a >>
end";
    assert_eq!(
        render(input, &[("a", true), ("b", false)]),
        "run:\n  A\n  not-B [x]\nend"
    );
    assert_eq!(render(input, &[("a", true), ("b", true)]), "run:\n  A\nend");
    assert_eq!(render(input, &[("a", false), ("b", false)]), "run:\nend");
    // Same name nested: the inner close matches the inner open.
    let input = "<<# a >>1<<# a >>2<</ a >>3<</ a >>";
    assert_eq!(render(input, &[("a", true)]), "123");
    assert_eq!(render(input, &[("a", false)]), "");
}

#[test]
fn render_errors_propagate() {
    let t = ok("x << bad >> y");
    let r = t.render::<String>(
        &mut |b, o, l| Err(format!("{b}@{o}+{l}")),
        &mut |_, _, _| Ok(true),
    );
    assert_eq!(r, Err("bad@2+9".to_string()));
    let t = ok("<<# flag >>x<</ flag >>");
    let r = t.render::<String>(&mut |_, _, _| Ok(String::new()), &mut |n, o, l| {
        Err(format!("{n}@{o}+{l}"))
    });
    assert_eq!(r, Err("flag@0+11".to_string()));
}

/// (input, message, offset, len)
const ERRORS: &[(&str, &str, usize, usize)] = &[
    (
        "cat <<EOF > file",
        "Unclosed '<<' tag ('<<' must be escaped as '\\<<' in config v2.1+)",
        4,
        2,
    ),
    (
        "echo << parameters.name",
        "Unclosed '<<' tag ('<<' must be escaped as '\\<<' in config v2.1+)",
        5,
        2,
    ),
    (
        "<< a << b >>",
        "Unclosed '<<' tag ('<<' must be escaped as '\\<<' in config v2.1+)",
        0,
        2,
    ),
    ("echo <<", "Expected expression after '<<'", 5, 2),
    ("echo <<>>", "Expected expression after '<<'", 5, 2),
    ("echo << >>", "Expected expression", 7, 1),
    ("<<  \t >>", "Expected expression", 2, 4),
    (
        "<<# parameters.debug >>set -x",
        "Unclosed section, expected '<</'",
        0,
        3,
    ),
    (
        "<<# a >>x<</ a >><</ b >>",
        "Expected section end tag to match start tag",
        17,
        3,
    ),
    (
        "<<# a >>x<</ b >>",
        "Expected section end tag to match start tag",
        9,
        3,
    ),
    (
        "<</ a >>",
        "Expected section end tag to match start tag",
        0,
        3,
    ),
    (
        "<<# not valid >>x<</ not valid >>",
        "Expected valid identifier",
        3,
        11,
    ),
    ("<<^ a:b c >>x", "Expected valid identifier", 3, 7),
    ("<<#>>x<</>>", "Expected identifier", 3, 2),
    ("<<# a x<</ a >>", "Expected valid identifier", 3, 4),
    (
        "<<# a >>x<</ a",
        "Unclosed '<<' tag ('<<' must be escaped as '\\<<' in config v2.1+)",
        9,
        3,
    ),
];

#[test]
fn error_messages_and_offsets() {
    for &(input, message, offset, len) in ERRORS {
        let err = parse_template(input).expect_err(input);
        assert_eq!(
            (err.message.as_str(), err.offset, err.len),
            (message, offset, len),
            "{input:?}"
        );
    }
}

#[test]
fn expression_length_limit() {
    let body = "a".repeat(2049);
    let input = format!("<< {body} >>");
    let err = parse_template(&input).unwrap_err();
    assert_eq!(
        err.message,
        "Expressions must be less than 2048 characters, this one is 2051"
    );
    assert_eq!((err.offset, err.len), (2, 2051));
    // 2048 characters (multi-byte) are fine.
    let input = format!("<<{}>>", "é".repeat(2048));
    assert!(parse_template(&input).is_ok());
}

#[test]
fn section_names() {
    for good in [
        "a",
        "parameters.flag",
        "x-y_z",
        "pipeline.parameters.url:with:colons",
        "a..",
    ] {
        assert!(is_tag_name(good), "{good}");
    }
    for bad in ["", ".a", "a.", "a b", "a:b", "not valid", "é"] {
        assert!(!is_tag_name(bad), "{bad}");
    }
}

#[test]
fn tag_bodies() {
    assert!(
        matches!(parse_tag_body("parameters.x"), Ok(TagBody::Expr(e)) if e.as_identifier() == Some("parameters.x"))
    );
    assert!(matches!(
        parse_tag_body("pipeline.parameters.url:with:colons"),
        Ok(TagBody::Name(n)) if n == "pipeline.parameters.url:with:colons"
    ));
    let err = parse_tag_body("a & b").unwrap_err();
    assert_eq!(
        (err.message.as_str(), err.offset),
        ("Unexpected character '&'", 2)
    );
    let err = parse_tag_body("a and and b").unwrap_err();
    assert_eq!(err.message, "Expected expression, found \"and\"");
    let input = "x <<   a & b >>";
    assert_eq!(tag_body_offset(input, 2), 7);
}
