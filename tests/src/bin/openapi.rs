//! openapi.yaml from the code: the document's frame (`shared::openapi::Frame`) and
//! every function's operations (`ApiDoc` in each function's lib.rs: `#[utoipa::path]`
//! on the handlers, with the request, response and error types they name).
//!
//! `make openapi` (this binary) writes the file; the unit tests below, run by
//! `make test`, fail when the committed file is not what the code generates.

use std::{fs, path::PathBuf, process::ExitCode};

use utoipa::OpenApi;
use yaml_serde::{Mapping, Value};

type Error = Box<dyn std::error::Error>;

/// The frame and every function's operations, merged.
fn generated() -> utoipa::openapi::OpenApi {
    let mut document = shared::openapi::Frame::openapi();
    for part in [
        health::ApiDoc::openapi(),
        auth::ApiDoc::openapi(),
        accounts::ApiDoc::openapi(),
        profiles::ApiDoc::openapi(),
        posts::ApiDoc::openapi(),
        comments::ApiDoc::openapi(),
        reports::ApiDoc::openapi(),
        admin::ApiDoc::openapi(),
    ] {
        document.merge(part);
    }
    document
}

fn document_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml")
}

/// A named schema's own text where it is inlined (utoipa inlines a generic's argument:
/// `Page<Post>`'s items) becomes a reference to it. Only schemas with properties, an
/// enum or a composition are named this way, so a plain `{type: string}` stays as it is.
fn refer_to_named(value: &mut Value, named: &[(Value, Value)]) {
    if let Some((name, _)) = named.iter().find(|(_, schema)| schema == value) {
        let mut reference = Mapping::new();
        reference.insert(
            Value::String("$ref".into()),
            Value::String(format!(
                "#/components/schemas/{}",
                name.as_str().unwrap_or_default()
            )),
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

/// The document as openapi.yaml holds it.
fn document() -> Result<String, Error> {
    let mut document = yaml_serde::to_value(generated())?;
    let named: Vec<(Value, Value)> = document
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(Value::as_mapping)
        .map(|schemas| {
            schemas
                .iter()
                .filter(|(_, schema)| {
                    ["properties", "enum", "allOf", "oneOf"]
                        .iter()
                        .any(|key| schema.get(*key).is_some())
                })
                .map(|(name, schema)| (name.clone(), schema.clone()))
                .collect()
        })
        .unwrap_or_default();
    if let Value::Mapping(top) = &mut document {
        for (key, part) in top.iter_mut() {
            if key.as_str() == Some("components") {
                // Within a named schema, only what is nested in it (never itself).
                for schema in part
                    .get_mut("schemas")
                    .and_then(Value::as_mapping_mut)
                    .into_iter()
                    .flat_map(|schemas| schemas.values_mut())
                {
                    if let Value::Mapping(fields) = schema {
                        for (_, child) in fields.iter_mut() {
                            refer_to_named(child, &named);
                        }
                    }
                }
            } else {
                refer_to_named(part, &named);
            }
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
    let result = document().and_then(|text| {
        if fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            println!("{} is current", path.display());
        } else {
            fs::write(&path, text)?;
            println!("{} written from the code", path.display());
        }
        Ok(())
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
        let generated = document().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            written == generated,
            "openapi.yaml differs from what the code generates: run `make openapi` and commit it"
        );
    }

    /// The route table at the top of each function's lib.rs (`| \`GET /api/posts\` |`)
    /// lists the same operations as the document: a route added, removed or renamed on
    /// one side only fails here.
    #[test]
    fn the_route_tables_and_the_document_list_the_same_operations() {
        let functions = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions");
        let mut tables = std::collections::BTreeSet::new();
        for entry in fs::read_dir(&functions).unwrap_or_else(|e| panic!("{e}")) {
            let lib = entry
                .map(|e| e.path().join("src/lib.rs"))
                .unwrap_or_default();
            for line in fs::read_to_string(&lib).unwrap_or_default().lines() {
                let Some(route) = line
                    .strip_prefix("//! | `")
                    .and_then(|rest| rest.split('`').next())
                else {
                    continue;
                };
                if let Some((method, path)) = route.split_once(' ') {
                    let path = path.split('?').next().unwrap_or(path);
                    tables.insert((method.to_lowercase(), path.to_owned()));
                }
            }
        }
        let document = serde_json::to_value(&generated().paths).unwrap_or_default();
        let documented: std::collections::BTreeSet<(String, String)> = document
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(path, item)| {
                item.as_object()
                    .into_iter()
                    .flatten()
                    .map(move |(method, _)| (method.clone(), path.clone()))
            })
            .collect();
        assert!(documented.len() > 50, "{documented:?}");
        assert_eq!(tables, documented);
    }

    /// A schema nothing refers to is a type no operation uses any more.
    #[test]
    fn every_schema_is_referred_to() {
        let written = document().unwrap_or_else(|e| panic!("{e}"));
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

    /// The bounds the document states for text fields (utoipa takes them as literals)
    /// are the ones the domain types enforce: a limit changed on one side only fails
    /// here.
    #[test]
    fn the_documented_limits_are_the_enforced_ones() {
        use shared::domain::content::{
            COMMENT_BODY_CHARS, NOTE_CHARS, POST_BODY_CHARS, PROFILE_NAME_CHARS, TITLE_CHARS,
        };
        let document = serde_json::to_value(generated()).unwrap_or_default();
        let schemas = &document["components"]["schemas"];
        let chars = |schema: &str, field: &str| {
            let field = &schemas[schema]["properties"][field];
            (field["minLength"].as_u64(), field["maxLength"].as_u64())
        };
        let range = |r: std::ops::RangeInclusive<usize>| {
            let bound = |n: usize| u64::try_from(n).ok();
            (bound(*r.start()), bound(*r.end()))
        };
        for schema in ["ContentInput", "ContentPatch"] {
            assert_eq!(chars(schema, "title"), range(TITLE_CHARS), "{schema}.title");
            assert_eq!(
                chars(schema, "body"),
                range(POST_BODY_CHARS),
                "{schema}.body"
            );
        }
        assert_eq!(chars("CommentInput", "body"), range(COMMENT_BODY_CHARS));
        for schema in ["CreateProfile", "UpdateProfile"] {
            assert_eq!(
                chars(schema, "name"),
                range(PROFILE_NAME_CHARS),
                "{schema}.name"
            );
        }
        let note_max = u64::try_from(*NOTE_CHARS.end()).ok();
        assert_eq!(chars("CreateReport", "details").1, note_max);
        assert_eq!(chars("UpdateReport", "resolutionNote").1, note_max);
        assert_eq!(
            schemas["CreatePost"]["properties"]["coAuthors"]["maxItems"].as_u64(),
            u64::try_from(posts::request::MAX_CO_AUTHORS).ok()
        );
        let search = document["paths"]["/api/posts"]["get"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|parameter| parameter["name"] == "q")
            .map(|parameter| parameter["schema"]["maxLength"].as_u64());
        assert_eq!(
            search,
            Some(u64::try_from(posts::handlers::MAX_SEARCH_CHARS).ok())
        );
    }
}
