//! The checked-in C header is what cbindgen makes of the source now.
//!
//! `cargo test -p xenmem-capi --test header` regenerates it (to `XENMEM_HEADER_OUT` if set,
//! for a diff by a script) and fails if `include/xenmem.h` differs; `XENMEM_BLESS=1` rewrites
//! `include/xenmem.h` instead.

use std::path::Path;

fn generate() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not read the crate");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen writes UTF-8")
}

#[test]
fn header_is_up_to_date() {
    let fresh = generate();
    if let Some(out) = std::env::var_os("XENMEM_HEADER_OUT") {
        std::fs::write(&out, &fresh).expect("XENMEM_HEADER_OUT is writable");
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/xenmem.h");
    if std::env::var_os("XENMEM_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("include/xenmem.h is writable");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == fresh,
        "include/xenmem.h is stale: regenerate it with `XENMEM_BLESS=1 cargo test -p xenmem-capi --test header`"
    );
}
