//! Applying fixes to text (what `orrery config fix` will do with the fixes diagnostics carry).

use orrery_diagnostics::{Diagnostic, Edit, FileId};

/// Applies the edits of every fix in `diagnostics` that targets `file` and whose
/// applicability is allowed by `include_unsafe`. Overlapping edits after the first are skipped.
/// Returns the new text and how many fixes were applied.
pub fn apply_fixes(
    file: FileId,
    text: &str,
    diagnostics: &[Diagnostic],
    include_unsafe: bool,
) -> (String, usize) {
    let mut fixes: Vec<&[Edit]> = diagnostics
        .iter()
        .filter_map(|d| d.fix.as_ref())
        .filter(|f| include_unsafe || f.applicability == orrery_diagnostics::Applicability::Safe)
        .filter(|f| !f.edits.is_empty() && f.edits.iter().all(|e| e.span.file == file))
        .map(|f| f.edits.as_slice())
        .collect();
    fixes.sort_by_key(|edits| edits.iter().map(|e| e.span.start).min());
    let mut edits: Vec<&Edit> = Vec::new();
    let mut applied = 0;
    for fix in fixes {
        let clashes = fix.iter().any(|e| {
            edits
                .iter()
                .any(|o| e.span.start < o.span.end && o.span.start < e.span.end)
        });
        let in_bounds = fix.iter().all(|e| {
            text.get(e.span.start as usize..e.span.end as usize)
                .is_some()
        });
        if clashes || !in_bounds {
            continue;
        }
        edits.extend(fix);
        applied += 1;
    }
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in edits {
        out.push_str(&text[at..e.span.start as usize]);
        out.push_str(&e.replacement);
        at = e.span.end as usize;
    }
    out.push_str(&text[at..]);
    (out, applied)
}
