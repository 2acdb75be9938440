//! Arbitrary bytes → (if UTF-8) the `<< >>` template parser and renderer, and the expression
//! parser and evaluator (with an empty environment), including their error renderers.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use orrery_expr::expr::{self, Value};
use orrery_expr::template::{self, parse_tag_body, parse_template};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };

    match parse_template(input) {
        Ok(t) => {
            let _ = t.is_plain();
            let _ = t.whole_tag();
            for truth in [true, false] {
                let _ = t.render::<()>(
                    &mut |body, offset, len| {
                        let _ = parse_tag_body(body);
                        let _ = template::tag_body_offset(input, offset);
                        Ok(format!("<{len}>"))
                    },
                    &mut |_, _, _| Ok(truth),
                );
            }
        }
        Err(e) => {
            let _ = e.render(input);
        }
    }

    let env: HashMap<String, Value> = HashMap::new();
    match expr::parse(input) {
        Ok(e) => {
            let _ = e.as_identifier();
            let _ = e.references();
            match e.eval(&env) {
                Ok(v) => {
                    let _ = expr::render_text(&v);
                }
                Err(err) => {
                    let _ = err.render(input);
                }
            }
        }
        Err(err) => {
            let _ = err.render(input);
        }
    }
});
