//! A checker for the subset of OpenAPI 3.0 schema the document uses: `$ref`, `oneOf`, `type`,
//! `nullable`, `required`, `properties`, `additionalProperties: false`, `items`, `enum`,
//! `minimum`/`maximum`, and our `format`s `u128`/`u64` (decimal strings of that width).

use serde_json::Value;

/// Whether `value` satisfies `schema` (resolving `$ref`s in `document`); the error names the
/// path of the first violation.
pub fn conforms(document: &Value, schema: &Value, value: &Value) -> Result<(), String> {
    check(document, schema, value, "$")
}

fn check(document: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .ok_or_else(|| format!("{at}: unsupported $ref {reference}"))?;
        let target = &document["components"]["schemas"][name];
        if target.is_null() {
            return Err(format!("{at}: $ref to the undefined schema {name}"));
        }
        return check(document, target, value, at);
    }
    if let Some(choices) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = choices.iter().filter(|c| check(document, c, value, at).is_ok()).count();
        return if matching == 1 {
            Ok(())
        } else {
            Err(format!("{at}: matches {matching} of the oneOf schemas, not exactly one: {value}"))
        };
    }
    if value.is_null() {
        return if schema.get("nullable") == Some(&Value::Bool(true)) {
            Ok(())
        } else {
            Err(format!("{at}: null where the schema is not nullable"))
        };
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    match schema.get("type").and_then(Value::as_str) {
        None => Ok(()),
        Some("string") => {
            let text = value.as_str().ok_or_else(|| format!("{at}: expected a string, got {value}"))?;
            match schema.get("format").and_then(Value::as_str) {
                Some("u128") => {
                    text.parse::<u128>().map(drop).map_err(|e| format!("{at}: `{text}` is not a u128: {e}"))
                }
                Some("u64") => {
                    text.parse::<u64>().map(drop).map_err(|e| format!("{at}: `{text}` is not a u64: {e}"))
                }
                _ => Ok(()),
            }
        }
        Some("integer") => {
            let number = value
                .as_u64()
                .ok_or_else(|| format!("{at}: expected a non-negative integer, got {value}"))?;
            if let Some(max) = schema.get("maximum").and_then(Value::as_u64)
                && number > max
            {
                return Err(format!("{at}: {number} is above the maximum {max}"));
            }
            if let Some(min) = schema.get("minimum").and_then(Value::as_u64)
                && number < min
            {
                return Err(format!("{at}: {number} is below the minimum {min}"));
            }
            Ok(())
        }
        Some("array") => {
            let items = value.as_array().ok_or_else(|| format!("{at}: expected an array, got {value}"))?;
            for (i, item) in items.iter().enumerate() {
                check(document, &schema["items"], item, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        Some("object") => {
            let object = value.as_object().ok_or_else(|| format!("{at}: expected an object, got {value}"))?;
            for field in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                let field =
                    field.as_str().ok_or_else(|| format!("{at}: a required entry is not a string"))?;
                if !object.contains_key(field) {
                    return Err(format!("{at}: the required field `{field}` is missing from {value}"));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
            for (field, field_value) in object {
                match properties.and_then(|p| p.get(field)) {
                    Some(field_schema) => {
                        check(document, field_schema, field_value, &format!("{at}.{field}"))?
                    }
                    None if closed => return Err(format!("{at}: `{field}` is not in the schema")),
                    None => {}
                }
            }
            Ok(())
        }
        Some(other) => Err(format!("{at}: unsupported schema type {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document() -> Value {
        json!({ "components": { "schemas": {
            "Thing": {
                "type": "object",
                "required": ["id", "n"],
                "additionalProperties": false,
                "properties": {
                    "id": { "type": "string", "format": "u128" },
                    "n": { "type": "integer", "minimum": 1, "maximum": 5 },
                    "note": { "type": "string", "nullable": true },
                    "tags": { "type": "array", "items": { "type": "string", "enum": ["a", "b"] } },
                },
            },
        } } })
    }

    #[test]
    fn the_checker_accepts_conforming_values_and_names_violations() {
        let doc = document();
        let thing = json!({ "$ref": "#/components/schemas/Thing" });
        assert_eq!(
            conforms(&doc, &thing, &json!({ "id": "5", "n": 2, "note": null, "tags": ["a"] })),
            Ok(())
        );
        for bad in [
            json!({ "id": "5" }),
            json!({ "id": 5, "n": 2 }),
            json!({ "id": "-5", "n": 2 }),
            json!({ "id": "5", "n": 6 }),
            json!({ "id": "5", "n": 0 }),
            json!({ "id": "5", "n": 2, "extra": 1 }),
            json!({ "id": "5", "n": 2, "tags": ["c"] }),
            json!({ "id": null, "n": 2 }),
        ] {
            assert!(conforms(&doc, &thing, &bad).is_err(), "{bad} should not conform");
        }
        let one_of = json!({ "oneOf": [thing, { "type": "string" }] });
        assert_eq!(conforms(&doc, &one_of, &json!("x")), Ok(()));
        assert!(conforms(&doc, &one_of, &json!(3)).is_err());
    }
}
