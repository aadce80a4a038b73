//! Embeds the shop's product pictures (`assets/pictures` at the workspace root: the published
//! assets that the catalog's `picture_uri` names), so the gateway serves them from its own
//! binary, wherever it is installed: writes `$OUT_DIR/pictures.rs`, a sorted table of
//! `(file name, bytes)`.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("../../assets/pictures");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".svg"))
        .collect();
    names.sort();
    let mut table =
        String::from("/// Every product picture: file name and SVG bytes, sorted by name.\n");
    table.push_str("pub static PICTURES: &[(&str, &[u8])] = &[\n");
    for name in &names {
        let path = dir.join(name);
        let path = path.canonicalize().unwrap_or(path);
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            table,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    table.push_str("];\n");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out).join("pictures.rs"), table).expect("cannot write pictures.rs");
}
