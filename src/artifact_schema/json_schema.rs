//! Shape → JSON Schema: the schema sent as `response_format`, so that a
//! server's grammar walks a model through every section in order.

use serde_json::{Map, Value};

use super::shape::{Field, Item, Kind, Object};
use super::Bounds;

/// The schema of `root`'s shape; `bounded` adds the size keywords
/// (`maxLength`, `minItems`, `maxItems`) taken from `bounds`.
pub(super) fn json_schema(root: &Object, bounds: &Bounds, bounded: bool) -> Value {
    SchemaWriter { bounds, bounded }.object_schema_of(root)
}

/// Writes schemas with one set of bounds, with or without size keywords.
struct SchemaWriter<'b> {
    bounds: &'b Bounds,
    bounded: bool,
}

impl SchemaWriter<'_> {
    fn schema_of(&self, f: &Field) -> Value {
        let mut s = self.kind_schema(&f.kind);
        if let (Value::Object(m), false) = (&mut s, f.description.is_empty()) {
            m.insert(
                "description".to_string(),
                Value::String(f.description.clone()),
            );
        }
        s
    }

    fn kind_schema(&self, kind: &Kind) -> Value {
        let b = self.bounds;
        let bounded = self.bounded;
        let string = |max: usize| {
            let mut m = Map::new();
            m.insert("type".to_string(), "string".into());
            if bounded {
                m.insert("maxLength".to_string(), max.into());
            }
            Value::Object(m)
        };
        let array = |items: Value, max: usize| {
            let mut m = Map::new();
            m.insert("type".to_string(), "array".into());
            m.insert("items".to_string(), items);
            if bounded {
                m.insert("minItems".to_string(), 1.into());
                m.insert("maxItems".to_string(), max.into());
            }
            Value::Object(m)
        };
        match kind {
            Kind::Text { inline } => string(if *inline { b.max_item } else { b.max_text }),
            Kind::Enum(values) => enum_schema(values),
            Kind::EnumDetail { values, detail } => {
                let mut d = string(b.max_item);
                if let Value::Object(m) = &mut d {
                    m.insert(
                        "description".to_string(),
                        format!("{detail} (may be empty)").into(),
                    );
                }
                object_schema(vec![
                    ("value".to_string(), enum_schema(values)),
                    (detail.clone(), d),
                ])
            }
            Kind::List(l) => {
                let items = match &l.item {
                    Item::Single(f) => self.schema_of(f),
                    Item::Joined(j) => object_schema(
                        j.fields
                            .iter()
                            .map(|f| (f.key.clone(), self.schema_of(f)))
                            .collect(),
                    ),
                };
                array(items, b.max_items)
            }
            Kind::Object(o) => self.object_schema_of(o),
            Kind::Steps(s) => array(self.object_schema_of(&s.item), b.max_steps),
        }
    }

    fn object_schema_of(&self, o: &Object) -> Value {
        object_schema(
            o.members()
                .into_iter()
                .map(|(f, _)| (f.key.clone(), self.schema_of(f)))
                .collect(),
        )
    }
}

fn enum_schema(values: &[String]) -> Value {
    let mut m = Map::new();
    m.insert("type".to_string(), "string".into());
    m.insert(
        "enum".to_string(),
        Value::Array(values.iter().map(|v| Value::String(v.clone())).collect()),
    );
    Value::Object(m)
}

fn object_schema(props: Vec<(String, Value)>) -> Value {
    let mut m = Map::new();
    m.insert("type".to_string(), "object".into());
    m.insert(
        "required".to_string(),
        Value::Array(
            props
                .iter()
                .map(|(k, _)| Value::String(k.clone()))
                .collect(),
        ),
    );
    m.insert(
        "properties".to_string(),
        Value::Object(props.into_iter().collect()),
    );
    m.insert("additionalProperties".to_string(), false.into());
    Value::Object(m)
}

/// The enum fields of a JSON Schema, as dotted paths with their values.
pub(super) fn enum_paths(schema: &Value, path: &str, out: &mut Vec<(String, Vec<String>)>) {
    if let Some(values) = schema["enum"].as_array() {
        out.push((
            path.to_string(),
            values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ));
    }
    if let Some(props) = schema["properties"].as_object() {
        for (k, v) in props {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            enum_paths(v, &p, out);
        }
    }
    if schema["items"].is_object() {
        enum_paths(&schema["items"], &format!("{path}[]"), out);
    }
}
