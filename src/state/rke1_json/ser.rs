//! Serializer that builds a `serde_json::Value`, renaming struct fields from their YAML names to
//! RKE1's JSON names. Maps (`extra_args`, `labels`, free-form `serde_json::Value` documents) are
//! serialized through `serialize_map` and keep their keys untouched.

use super::names::json_name;
use serde::ser::{self, Serialize};
use serde_json::{Error, Map, Value};

use serde_json::value::Serializer as ValueSer;

/// The renaming serializer. Everything nested is serialized through it again.
#[derive(Clone, Copy)]
pub(super) struct RenameSer;

fn field_key(field: &'static str) -> String {
    json_name(field).into_owned()
}

impl ser::Serializer for RenameSer {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = TupleVariantSer;
    type SerializeMap = MapSer;
    type SerializeStruct = StructSer;
    type SerializeStructVariant = StructVariantSer;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        ser::Serializer::serialize_bool(ValueSer, v)
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        ser::Serializer::serialize_i8(ValueSer, v)
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        ser::Serializer::serialize_i16(ValueSer, v)
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        ser::Serializer::serialize_i32(ValueSer, v)
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        ser::Serializer::serialize_i64(ValueSer, v)
    }
    fn serialize_i128(self, v: i128) -> Result<Value, Error> {
        ser::Serializer::serialize_i128(ValueSer, v)
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        ser::Serializer::serialize_u8(ValueSer, v)
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        ser::Serializer::serialize_u16(ValueSer, v)
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        ser::Serializer::serialize_u32(ValueSer, v)
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        ser::Serializer::serialize_u64(ValueSer, v)
    }
    fn serialize_u128(self, v: u128) -> Result<Value, Error> {
        ser::Serializer::serialize_u128(ValueSer, v)
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        ser::Serializer::serialize_f32(ValueSer, v)
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        ser::Serializer::serialize_f64(ValueSer, v)
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        ser::Serializer::serialize_char(ValueSer, v)
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        ser::Serializer::serialize_str(ValueSer, v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        ser::Serializer::serialize_bytes(ValueSer, v)
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        Ok(Value::String(variant.to_string()))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        let mut map = Map::new();
        map.insert(variant.to_string(), value.serialize(self)?);
        Ok(Value::Object(map))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, Error> {
        Ok(SeqSer {
            items: Vec::with_capacity(len.unwrap_or(0)),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqSer, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<TupleVariantSer, Error> {
        Ok(TupleVariantSer {
            variant,
            items: Vec::with_capacity(len),
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapSer, Error> {
        Ok(MapSer {
            map: Map::new(),
            next_key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<StructSer, Error> {
        Ok(StructSer { map: Map::new() })
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<StructVariantSer, Error> {
        Ok(StructVariantSer {
            variant,
            map: Map::new(),
        })
    }
}

pub(super) struct SeqSer {
    items: Vec<Value>,
}

impl ser::SerializeSeq for SeqSer {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.items.push(value.serialize(RenameSer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Array(self.items))
    }
}

impl ser::SerializeTuple for SeqSer {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqSer {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, Error> {
        ser::SerializeSeq::end(self)
    }
}

pub(super) struct TupleVariantSer {
    variant: &'static str,
    items: Vec<Value>,
}

impl ser::SerializeTupleVariant for TupleVariantSer {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.items.push(value.serialize(RenameSer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        let mut map = Map::new();
        map.insert(self.variant.to_string(), Value::Array(self.items));
        Ok(Value::Object(map))
    }
}

pub(super) struct MapSer {
    map: Map<String, Value>,
    next_key: Option<String>,
}

/// JSON object keys are strings; accept the scalar keys serde_json itself accepts.
fn map_key(key: Value) -> Result<String, Error> {
    match key {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(ser::Error::custom(format!(
            "map key must be a string, got {other}"
        ))),
    }
}

impl ser::SerializeMap for MapSer {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.next_key = Some(map_key(key.serialize(RenameSer)?)?);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .next_key
            .take()
            .ok_or_else(|| <Error as ser::Error>::custom("map value without a key"))?;
        self.map.insert(key, value.serialize(RenameSer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Object(self.map))
    }
}

pub(super) struct StructSer {
    map: Map<String, Value>,
}

impl ser::SerializeStruct for StructSer {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.map.insert(field_key(key), value.serialize(RenameSer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Object(self.map))
    }
}

pub(super) struct StructVariantSer {
    variant: &'static str,
    map: Map<String, Value>,
}

impl ser::SerializeStructVariant for StructVariantSer {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.map.insert(field_key(key), value.serialize(RenameSer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        let mut outer = Map::new();
        outer.insert(self.variant.to_string(), Value::Object(self.map));
        Ok(Value::Object(outer))
    }
}
