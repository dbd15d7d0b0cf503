//! openapi.yaml from the code: writes into the committed document the parts that are
//! generated from the functions' types and handlers (`ApiDoc` in each function's
//! lib.rs: the response schemas of every function, and the operations of the routes
//! annotated with `#[utoipa::path]` so far), leaving the rest as written.
//!
//! `make openapi` (this binary) rewrites the file; the unit test below, run by
//! `make test`, fails when the committed file is not what the code generates.

use std::{fs, path::PathBuf, process::ExitCode};

use utoipa::OpenApi;
use yaml_serde::{Mapping, Value};

type Error = Box<dyn std::error::Error>;

/// Every function's generated parts, merged.
fn generated() -> utoipa::openapi::OpenApi {
    let mut document = shared::response::ApiDoc::openapi();
    for part in [
        accounts::ApiDoc::openapi(),
        admin::ApiDoc::openapi(),
        auth::ApiDoc::openapi(),
        comments::ApiDoc::openapi(),
        health::ApiDoc::openapi(),
        posts::ApiDoc::openapi(),
        profiles::ApiDoc::openapi(),
        reports::ApiDoc::openapi(),
    ] {
        document.merge(part);
    }
    document
}

/// A path item's key that is an operation, not `parameters`, `summary` or the like.
fn is_method(key: &str) -> bool {
    matches!(
        key,
        "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace"
    )
}

fn document_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml")
}

/// A named schema's own text where it is inlined (utoipa inlines a generic's argument:
/// `Page<Post>`'s items) becomes a reference to it. Only schemas with properties or an
/// enum are named this way, so a plain `{type: string}` stays as it is.
fn refer_to_named(value: &mut Value, named: &[(String, Value)]) {
    if let Some((name, _)) = named.iter().find(|(_, schema)| schema == value) {
        let mut reference = Mapping::new();
        reference.insert(
            Value::String("$ref".into()),
            Value::String(format!("#/components/schemas/{name}")),
        );
        *value = Value::Mapping(reference);
        return;
    }
    match value {
        Value::Mapping(mapping) => {
            for (_, child) in mapping.iter_mut() {
                refer_to_named(child, named);
            }
        }
        Value::Sequence(items) => {
            for child in items {
                refer_to_named(child, named);
            }
        }
        _ => {}
    }
}

/// The document `written` with the generated parts in place of what it has for them.
fn regenerate(written: &str) -> Result<String, Error> {
    let mut document: Value = yaml_serde::from_str(written)?;
    let generated = generated();
    let mut schemas = Vec::new();
    for (name, schema) in generated
        .components
        .map(|components| components.schemas)
        .unwrap_or_default()
    {
        schemas.push((name, yaml_serde::to_value(schema)?));
    }
    let named: Vec<(String, Value)> = schemas
        .iter()
        .filter(|(_, schema)| schema.get("properties").is_some() || schema.get("enum").is_some())
        .cloned()
        .collect();
    let target = document
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(Value::as_mapping_mut)
        .ok_or("openapi.yaml has no components.schemas mapping")?;
    for (name, mut schema) in schemas {
        // Within a schema, only what is nested in it (never the schema itself).
        if let Value::Mapping(mapping) = &mut schema {
            for (_, child) in mapping.iter_mut() {
                refer_to_named(child, &named);
            }
        }
        target.insert(Value::String(name), schema);
    }
    let paths = document
        .get_mut("paths")
        .and_then(Value::as_mapping_mut)
        .ok_or("openapi.yaml has no paths mapping")?;
    for (path, item) in generated.paths.paths {
        let mut item = yaml_serde::to_value(item)?;
        refer_to_named(&mut item, &named);
        let Value::Mapping(operations) = item else {
            return Err(format!("{path}: a path item that is not a mapping").into());
        };
        let written = paths
            .entry(Value::String(path.clone()))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        let written = written
            .as_mapping_mut()
            .ok_or_else(|| format!("{path}: a path item that is not a mapping"))?;
        let generated: Vec<Value> = operations.keys().cloned().collect();
        for (method, operation) in operations {
            written.insert(method, operation);
        }
        // Parameters written for the whole path are the generated operations' own now.
        let every_operation_generated = written
            .keys()
            .filter(|key| key.as_str().is_some_and(is_method))
            .all(|key| generated.contains(key));
        if every_operation_generated {
            written.remove("parameters");
        }
    }
    let mut text = yaml_serde::to_string(&document)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

fn main() -> ExitCode {
    let path = document_path();
    let result = fs::read_to_string(&path)
        .map_err(Error::from)
        .and_then(|written| regenerate(&written).map(|text| (written, text)))
        .and_then(|(written, text)| {
            if written == text {
                println!("{} is current", path.display());
                Ok(())
            } else {
                fs::write(&path, text)?;
                println!("{} rewritten from the code", path.display());
                Ok(())
            }
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("openapi: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_document_is_what_the_code_generates() {
        let written = fs::read_to_string(document_path()).unwrap_or_default();
        let regenerated = regenerate(&written).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            written == regenerated,
            "openapi.yaml differs from what the code generates: run `make openapi` and commit it"
        );
    }

    #[test]
    fn a_generated_schema_edited_by_hand_is_put_back() {
        let written = fs::read_to_string(document_path()).unwrap_or_default();
        let mut document: Value = yaml_serde::from_str(&written).unwrap_or_else(|e| panic!("{e}"));
        let post = document
            .get_mut("components")
            .and_then(|c| c.get_mut("schemas"))
            .and_then(|s| s.get_mut("Post"))
            .unwrap_or_else(|| panic!("openapi.yaml has no Post schema"));
        *post = Value::String("edited by hand".into());
        let edited = yaml_serde::to_string(&document).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(edited, written);
        assert_eq!(regenerate(&edited).ok(), Some(written));
    }

    /// A schema nothing refers to is one the code no longer generates (a renamed or
    /// inlined type): the generator writes schemas but never deletes, so this catches
    /// what it leaves behind.
    #[test]
    fn every_schema_is_referred_to() {
        let written = fs::read_to_string(document_path()).unwrap_or_default();
        let document: Value = yaml_serde::from_str(&written).unwrap_or_else(|e| panic!("{e}"));
        let names = document
            .get("components")
            .and_then(|c| c.get("schemas"))
            .and_then(Value::as_mapping)
            .map(|schemas| schemas.keys().filter_map(Value::as_str).collect::<Vec<_>>())
            .unwrap_or_default();
        assert!(!names.is_empty(), "openapi.yaml has no schemas");
        let unused: Vec<&str> = names
            .into_iter()
            .filter(|name| !written.contains(&format!("#/components/schemas/{name}'")))
            .collect();
        assert!(unused.is_empty(), "schemas nothing refers to: {unused:?}");
    }
}
