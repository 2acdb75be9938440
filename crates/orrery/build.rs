//! Release builds of the binary are linked position-dependent (`-no-pie`). As a PIE, this
//! binary made the dynamic loader apply about 30,000 relocations and copy the ~190 pages they
//! touch at every start: about half the page faults, and a third of the instructions, of a
//! `config validate` of a small file (issue 15, `scripts/bench-speed.sh`). A command-line
//! tool started once per file gains more from that than from its own address being random.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    if release && linux {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
