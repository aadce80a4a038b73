//! Compiles every `.proto` file under `proto/` into Rust clients and servers.
//!
//! protox parses the files in pure Rust, so no machine needs a system `protoc`. The
//! descriptor set (with source info, so comments reach `grpcurl describe`) is also written
//! to `OUT_DIR` and embedded by `src/lib.rs` for server reflection and tools.

use std::error::Error;
use std::path::{Path, PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn Error>> {
    let root = Path::new("proto");
    let mut files = Vec::new();
    collect_protos(root, &mut files)?;
    files.sort();

    let descriptors = protox::Compiler::new([root])?
        .include_imports(true)
        .include_source_info(true)
        .open_files(&files)?
        .file_descriptor_set();

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("bazaar_descriptor.binpb"),
        descriptors.encode_to_vec(),
    )?;

    write_message_limits(&descriptors, &out_dir.join("message_limits.rs"))?;
    write_list_requests(&descriptors, &out_dir.join("list_requests.rs"))?;

    tonic_prost_build::configure()
        .emit_rerun_if_changed(false)
        .compile_fds(descriptors)?;

    println!("cargo:rerun-if-changed=proto");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    Ok(())
}

/// Writes an implementation of `MessageLimits` (see `src/lib.rs`) for the generated server of
/// every service of the contract, so that whoever serves one can bound its messages without
/// naming its type.
fn write_message_limits(
    descriptors: &prost_types::FileDescriptorSet,
    path: &Path,
) -> Result<(), Box<dyn Error>> {
    let mut code = String::new();
    for file in &descriptors.file {
        let package = file.package();
        let Some(module) = package
            .strip_prefix("bazaar.")
            .map(|rest| rest.replace('.', "::"))
        else {
            continue;
        };
        for service in &file.service {
            let name = service.name();
            let server_module = format!("{}_server", snake_case(name));
            code.push_str(&format!(
                "impl<T: crate::{module}::{server_module}::{name}> crate::MessageLimits\n    \
                 for crate::{module}::{server_module}::{name}Server<T>\n{{\n    \
                 fn limit_messages(self, max_bytes: usize) -> Self {{\n        \
                 self.max_decoding_message_size(max_bytes)\n            \
                 .max_encoding_message_size(max_bytes)\n    }}\n}}\n"
            ));
        }
    }
    std::fs::write(path, code)?;
    Ok(())
}

/// Writes an implementation of `ListRequest` (see `src/lib.rs`) for every request message
/// of the contract with the standard `int32 page_size` and `string page_token` fields, so
/// that the chassis reads the page of any list call the same way.
fn write_list_requests(
    descriptors: &prost_types::FileDescriptorSet,
    path: &Path,
) -> Result<(), Box<dyn Error>> {
    use prost_types::field_descriptor_proto::Type;

    let mut code = String::new();
    for file in &descriptors.file {
        let Some(module) = file.package().strip_prefix("bazaar.").map(|rest| {
            rest.split('.')
                .map(|part| if part == "type" { "r#type" } else { part })
                .collect::<Vec<_>>()
                .join("::")
        }) else {
            continue;
        };
        for message in &file.message_type {
            let has = |name: &str, kind: Type| {
                message
                    .field
                    .iter()
                    .any(|field| field.name() == name && field.r#type() == kind)
            };
            if !(has("page_size", Type::Int32) && has("page_token", Type::String)) {
                continue;
            }
            let name = message.name();
            code.push_str(&format!(
                "impl crate::ListRequest for crate::{module}::{name} {{\n    \
                 fn page_size(&self) -> i32 {{\n        self.page_size\n    }}\n\n    \
                 fn page_token(&self) -> &str {{\n        &self.page_token\n    }}\n}}\n"
            ));
        }
    }
    std::fs::write(path, code)?;
    Ok(())
}

/// `CatalogService` -> `catalog_service`, as the generated module names are spelled.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            out.push(path);
        }
    }
    Ok(())
}
