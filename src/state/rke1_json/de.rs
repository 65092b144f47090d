//! Deserializer over a `serde_json::Value` in RKE1's JSON naming, feeding types whose serde names
//! are the YAML names. Struct fields are matched through their JSON name; JSON keys that match no
//! field are skipped and recorded as warnings (a newer RKE1 may have written them). Go writes
//! `null` for nil slices, maps and pointers, so `null` reads as empty/default for those.

use super::names::json_name;
use super::path::JsonPath;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde_json::{Error, Map, Value};
use std::cell::RefCell;

/// State shared by every level of one deserialization.
#[derive(Default)]
pub(super) struct Ctx {
    /// Skipped keys (JSON names) and their values, in document order.
    pub unknown: RefCell<Vec<(JsonPath, Value)>>,
    /// Path of the innermost value that failed, for the error message.
    pub error_path: RefCell<Option<String>>,
}

impl Ctx {
    fn note_error(&self, path: &JsonPath) {
        let mut slot = self.error_path.borrow_mut();
        if slot.is_none() {
            *slot = Some(path.to_string());
        }
    }
}

fn key_path(parent: &JsonPath, key: &str) -> JsonPath {
    parent.key(key)
}

/// A value to deserialize, where it sits in the document, and the shared context.
pub(super) struct De<'de, 'c> {
    value: &'de Value,
    path: JsonPath,
    ctx: &'c Ctx,
}

impl<'de, 'c> De<'de, 'c> {
    pub(super) fn root(value: &'de Value, ctx: &'c Ctx) -> Self {
        De {
            value,
            path: JsonPath::default(),
            ctx,
        }
    }

    fn child(&self, value: &'de Value, path: JsonPath) -> De<'de, 'c> {
        De {
            value,
            path,
            ctx: self.ctx,
        }
    }
}

/// Scalars behave exactly as with serde_json's own `&Value` deserializer.
macro_rules! delegate_to_value {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                de::Deserializer::$method(self.value, visitor)
            }
        )*
    };
}

impl<'de, 'c> de::Deserializer<'de> for De<'de, 'c> {
    type Error = Error;

    /// Used by free-form targets such as `serde_json::Value`: objects become plain maps and
    /// their keys are NOT renamed.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(items) => visitor.visit_seq(Seq::new(items, self.path, self.ctx)),
            Value::Object(map) => visitor.visit_map(PlainMap::new(map, self.path, self.ctx)),
            scalar => de::Deserializer::deserialize_any(scalar, visitor),
        }
    }

    delegate_to_value! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_identifier
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_unit(self.value, visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_seq(Seq::new(&[], self.path, self.ctx)),
            Value::Array(items) => visitor.visit_seq(Seq::new(items, self.path, self.ctx)),
            other => de::Deserializer::deserialize_seq(other, visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_map(StructMap::empty(self.ctx)),
            Value::Object(map) => visitor.visit_map(PlainMap::new(map, self.path, self.ctx)),
            other => de::Deserializer::deserialize_map(other, visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_map(StructMap::empty(self.ctx)),
            Value::Object(map) => {
                let json_names: Vec<_> = fields.iter().map(|f| json_name(f)).collect();
                let entries: Vec<Entry<'de>> = map
                    .iter()
                    .map(|(key, value)| Entry {
                        field: json_names
                            .iter()
                            .position(|n| n == key.as_str())
                            .map(|i| fields[i]),
                        value,
                        path: key_path(&self.path, key),
                    })
                    .collect();
                visitor.visit_map(StructMap {
                    entries: entries.into_iter(),
                    pending: None,
                    ctx: self.ctx,
                })
            }
            Value::Array(items) => visitor.visit_seq(Seq::new(items, self.path, self.ctx)),
            other => de::Deserializer::deserialize_struct(other, name, fields, visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::String(variant) => visitor.visit_enum(variant.as_str().into_deserializer()),
            Value::Object(map) if map.len() == 1 => {
                let (variant, value) = map.iter().next().expect("one entry");
                let path = key_path(&self.path, variant);
                visitor.visit_enum(Enum {
                    variant,
                    content: self.child(value, path),
                })
            }
            other => de::Deserializer::deserialize_enum(other, name, variants, visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

/// Deserialize `seed` from `value`, remembering `path` if it fails first.
fn seed_at<'de, S: DeserializeSeed<'de>>(
    seed: S,
    value: &'de Value,
    path: JsonPath,
    ctx: &Ctx,
) -> Result<S::Value, Error> {
    let de = De {
        value,
        path: path.clone(),
        ctx,
    };
    seed.deserialize(de).inspect_err(|_| ctx.note_error(&path))
}

struct Seq<'de, 'c> {
    items: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    len: usize,
    path: JsonPath,
    ctx: &'c Ctx,
}

impl<'de, 'c> Seq<'de, 'c> {
    fn new(items: &'de [Value], path: JsonPath, ctx: &'c Ctx) -> Self {
        Seq {
            items: items.iter().enumerate(),
            len: items.len(),
            path,
            ctx,
        }
    }
}

impl<'de> de::SeqAccess<'de> for Seq<'de, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            None => Ok(None),
            Some((i, value)) => {
                let path = self.path.index(i, self.len);
                seed_at(seed, value, path, self.ctx).map(Some)
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// A JSON object read as a map: keys verbatim.
struct PlainMap<'de, 'c> {
    entries: serde_json::map::Iter<'de>,
    pending: Option<(&'de Value, JsonPath)>,
    path: JsonPath,
    ctx: &'c Ctx,
}

impl<'de, 'c> PlainMap<'de, 'c> {
    fn new(map: &'de Map<String, Value>, path: JsonPath, ctx: &'c Ctx) -> Self {
        PlainMap {
            entries: map.iter(),
            pending: None,
            path,
            ctx,
        }
    }
}

impl<'de> de::MapAccess<'de> for PlainMap<'de, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            None => Ok(None),
            Some((key, value)) => {
                self.pending = Some((value, key_path(&self.path, key)));
                seed.deserialize(BorrowedStrDeserializer::new(key.as_str()))
                    .map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (value, path) = self
            .pending
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("map value requested before its key"))?;
        seed_at(seed, value, path, self.ctx)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// One key of a JSON object read as a struct, resolved to its YAML field name (None: unknown).
struct Entry<'de> {
    field: Option<&'static str>,
    value: &'de Value,
    path: JsonPath,
}

/// A JSON object read as a struct. Unknown keys are skipped (and recorded) as they are reached,
/// so warnings come out in document order.
struct StructMap<'de, 'c> {
    entries: std::vec::IntoIter<Entry<'de>>,
    pending: Option<(&'de Value, JsonPath)>,
    ctx: &'c Ctx,
}

impl<'c> StructMap<'_, 'c> {
    /// What `null` reads as for a struct or map: no entries, so every field takes its default.
    fn empty(ctx: &'c Ctx) -> Self {
        StructMap {
            entries: Vec::new().into_iter(),
            pending: None,
            ctx,
        }
    }
}

impl<'de> de::MapAccess<'de> for StructMap<'de, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        for entry in self.entries.by_ref() {
            match entry.field {
                Some(field) => {
                    self.pending = Some((entry.value, entry.path));
                    return seed
                        .deserialize(BorrowedStrDeserializer::new(field))
                        .map(Some);
                }
                None => self
                    .ctx
                    .unknown
                    .borrow_mut()
                    .push((entry.path, entry.value.clone())),
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (value, path) = self
            .pending
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("field value requested before its name"))?;
        seed_at(seed, value, path, self.ctx)
    }
}

/// An externally tagged enum written as `{"Variant": content}`.
struct Enum<'de, 'c> {
    variant: &'de str,
    content: De<'de, 'c>,
}

impl<'de, 'c> de::EnumAccess<'de> for Enum<'de, 'c> {
    type Error = Error;
    type Variant = De<'de, 'c>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), Error> {
        let variant = seed.deserialize(BorrowedStrDeserializer::<Error>::new(self.variant))?;
        Ok((variant, self.content))
    }
}

impl<'de> de::VariantAccess<'de> for De<'de, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}
