//! A serde `Deserializer` adapter that gives the strict YAML deserializer two things RKE1 users
//! rely on or need:
//!
//! - **yaml.v2's null tolerance.** RKE1 reads `labels:` (YAML null) as an empty map, `user:` as an
//!   empty string, and so on. serde-saphyr rejects null for non-`Option` targets, so wherever the
//!   target asks for a concrete value and the document holds null, this adapter hands the visitor
//!   the zero value instead (`""`, `0`, `false`, empty list, empty map/struct).
//! - **Where an error happened.** It records the key path (`services.kube-api`) of the first
//!   error, which the location-only errors of the YAML layer do not carry.
//!
//! Errors themselves are the inner deserializer's, so their line/column survive untouched.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

mod capture_key;
mod wrap;

use wrap::Wrap;

use super::path::Segment;

/// Remembers the path of the first (innermost) error. Outer layers see the same error pass
/// through and leave the recorded path alone.
#[derive(Debug, Default)]
pub(crate) struct Track {
    first_error: RefCell<Option<Vec<Segment>>>,
}

impl Track {
    fn record(&self, path: &[Segment]) {
        let mut slot = self.first_error.borrow_mut();
        if slot.is_none() {
            *slot = Some(path.to_vec());
        }
    }

    /// The path recorded for the error, if any was seen.
    pub(crate) fn error_path(&self) -> Option<Vec<Segment>> {
        self.first_error.borrow().clone()
    }
}

/// The adapter. Build with [`Tolerant::new`] around the YAML deserializer.
pub(crate) struct Tolerant<'t, D> {
    de: D,
    path: Vec<Segment>,
    track: &'t Track,
}

impl<'t, D> Tolerant<'t, D> {
    pub(crate) fn new(de: D, track: &'t Track) -> Self {
        Tolerant {
            de,
            path: Vec::new(),
            track,
        }
    }
}

/// The concrete request a target made, replayed once the value is known not to be null.
#[derive(Clone, Copy)]
enum Request {
    Bool,
    I8,
    I16,
    I32,
    I64,
    I128,
    U8,
    U16,
    U32,
    U64,
    U128,
    F32,
    F64,
    Char,
    Str,
    String,
    Bytes,
    ByteBuf,
    Seq,
    Map,
    Struct(&'static str, &'static [&'static str]),
}

impl Request {
    /// Hand `visitor` the zero value of this request, as yaml.v2 does for null.
    fn zero<'de, V: Visitor<'de>, E: de::Error>(self, visitor: V) -> Result<V::Value, E> {
        match self {
            Request::Bool => visitor.visit_bool(false),
            Request::I8 | Request::I16 | Request::I32 | Request::I64 | Request::I128 => {
                visitor.visit_i64(0)
            }
            Request::U8 | Request::U16 | Request::U32 | Request::U64 | Request::U128 => {
                visitor.visit_u64(0)
            }
            Request::F32 | Request::F64 => visitor.visit_f64(0.0),
            Request::Char => visitor.visit_char('\0'),
            Request::Str | Request::String => visitor.visit_str(""),
            Request::Bytes | Request::ByteBuf => visitor.visit_bytes(&[]),
            Request::Seq => visitor.visit_seq(Empty(PhantomData)),
            Request::Map | Request::Struct(..) => visitor.visit_map(Empty(PhantomData)),
        }
    }

    /// Make this request on `de`, with the visitor wrapped so nested values stay tolerant.
    fn replay<'de, 't, D: Deserializer<'de>, V: Visitor<'de>>(
        self,
        de: D,
        visitor: Wrap<'t, V>,
    ) -> Result<V::Value, D::Error> {
        match self {
            Request::Bool => de.deserialize_bool(visitor),
            Request::I8 => de.deserialize_i8(visitor),
            Request::I16 => de.deserialize_i16(visitor),
            Request::I32 => de.deserialize_i32(visitor),
            Request::I64 => de.deserialize_i64(visitor),
            Request::I128 => de.deserialize_i128(visitor),
            Request::U8 => de.deserialize_u8(visitor),
            Request::U16 => de.deserialize_u16(visitor),
            Request::U32 => de.deserialize_u32(visitor),
            Request::U64 => de.deserialize_u64(visitor),
            Request::U128 => de.deserialize_u128(visitor),
            Request::F32 => de.deserialize_f32(visitor),
            Request::F64 => de.deserialize_f64(visitor),
            Request::Char => de.deserialize_char(visitor),
            Request::Str => de.deserialize_str(visitor),
            Request::String => de.deserialize_string(visitor),
            Request::Bytes => de.deserialize_bytes(visitor),
            Request::ByteBuf => de.deserialize_byte_buf(visitor),
            Request::Seq => de.deserialize_seq(visitor),
            Request::Map => de.deserialize_map(visitor),
            Request::Struct(name, fields) => de.deserialize_struct(name, fields, visitor),
        }
    }
}

impl<'t, D> Tolerant<'t, D> {
    /// Probe for null with `deserialize_option`; see [`NullOr`].
    fn tolerate<'de, V: Visitor<'de>>(
        self,
        request: Request,
        visitor: V,
    ) -> Result<V::Value, D::Error>
    where
        D: Deserializer<'de>,
    {
        self.de.deserialize_option(NullOr {
            request,
            visitor: Wrap::new(visitor, self.path, self.track),
        })
    }
}

macro_rules! tolerate {
    ($($method:ident => $request:ident;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
                self.tolerate(Request::$request, visitor)
            }
        )*
    };
}

impl<'de, 't, D: Deserializer<'de>> Deserializer<'de> for Tolerant<'t, D> {
    type Error = D::Error;

    tolerate! {
        deserialize_bool => Bool;
        deserialize_i8 => I8;
        deserialize_i16 => I16;
        deserialize_i32 => I32;
        deserialize_i64 => I64;
        deserialize_i128 => I128;
        deserialize_u8 => U8;
        deserialize_u16 => U16;
        deserialize_u32 => U32;
        deserialize_u64 => U64;
        deserialize_u128 => U128;
        deserialize_f32 => F32;
        deserialize_f64 => F64;
        deserialize_char => Char;
        deserialize_str => Str;
        deserialize_string => String;
        deserialize_bytes => Bytes;
        deserialize_byte_buf => ByteBuf;
        deserialize_seq => Seq;
        deserialize_map => Map;
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.tolerate(Request::Struct(name, fields), visitor)
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_any(Wrap::new(visitor, self.path, self.track))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_option(Wrap::new(visitor, self.path, self.track))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_unit(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_newtype_struct(name, Wrap::new(visitor, self.path, self.track))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_tuple(len, Wrap::new(visitor, self.path, self.track))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_tuple_struct(name, len, Wrap::new(visitor, self.path, self.track))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_identifier(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_ignored_any(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

/// Visitor for the `deserialize_option` probe: null becomes the request's zero value; anything
/// else replays the original request on the (unwrapped) inner deserializer.
struct NullOr<'t, V> {
    request: Request,
    visitor: Wrap<'t, V>,
}

impl<'de, 't, V: Visitor<'de>> Visitor<'de> for NullOr<'t, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.inner.expecting(f)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.request.zero(self.visitor.inner)
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.request.zero(self.visitor.inner)
    }

    fn visit_some<D2: Deserializer<'de>>(self, de: D2) -> Result<V::Value, D2::Error> {
        self.request.replay(de, self.visitor)
    }
}

/// An always-empty sequence or map, handed to visitors in place of null.
struct Empty<E>(PhantomData<E>);

impl<'de, E: de::Error> SeqAccess<'de> for Empty<E> {
    type Error = E;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, _: T) -> Result<Option<T::Value>, E> {
        Ok(None)
    }
}

impl<'de, E: de::Error> MapAccess<'de> for Empty<E> {
    type Error = E;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, _: K) -> Result<Option<K::Value>, E> {
        Ok(None)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, _: V) -> Result<V::Value, E> {
        Err(E::custom("value requested from an empty map"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use crate::config::path::dotted;

    use super::*;

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Inner {
        name: String,
        count: u32,
        ratio: f64,
        on: bool,
        tags: Vec<String>,
        opts: BTreeMap<String, String>,
        maybe: Option<bool>,
    }

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Outer {
        items: Vec<Inner>,
        by_name: BTreeMap<String, Inner>,
        single: Inner,
    }

    fn run<T: for<'de> Deserialize<'de>>(text: &str) -> (Result<T, String>, Option<String>) {
        let track = Track::default();
        let result = serde_saphyr::with_deserializer_from_str(text, |de| {
            T::deserialize(Tolerant::new(de, &track))
        });
        let path = track.error_path().map(|p| dotted(&p));
        (result.map_err(|e| e.to_string()), path)
    }

    #[test]
    fn null_becomes_zero_for_every_kind() {
        let text = "single:\n  name:\n  count: ~\n  ratio: null\n  on:\n  tags:\n  opts:\n  maybe:\nitems:\n  -\nby_name:\n  a:\n";
        let (value, path) = run::<Outer>(text);
        let value = value.unwrap();
        assert_eq!(path, None);
        assert_eq!(value.single, Inner::default());
        assert_eq!(value.items, vec![Inner::default()]);
        assert_eq!(value.by_name["a"], Inner::default());
    }

    #[test]
    fn values_pass_through_unchanged() {
        let text = "single: {name: n, count: 3, ratio: 0.5, on: true, tags: [a, 1], opts: {k: v}, maybe: false}\n";
        let (value, _) = run::<Outer>(text);
        let single = value.unwrap().single;
        assert_eq!(single.name, "n");
        assert_eq!(single.count, 3);
        assert_eq!(single.ratio, 0.5);
        assert!(single.on);
        assert_eq!(single.tags, vec!["a", "1"]);
        assert_eq!(single.opts["k"], "v");
        assert_eq!(single.maybe, Some(false));
    }

    #[test]
    fn error_path_names_the_innermost_object_or_value() {
        let (value, path) = run::<Outer>("items:\n  - name: a\n  - nmae: b\n");
        assert!(value.unwrap_err().contains("unknown field `nmae`"));
        assert_eq!(path.as_deref(), Some("items[1]"));

        let (value, path) = run::<Outer>("by_name:\n  web:\n    count: many\n");
        assert!(value.is_err());
        assert_eq!(path.as_deref(), Some("by_name.web.count"));

        let (value, path) = run::<Outer>("bogus: 1\n");
        assert!(value.is_err());
        assert_eq!(path.as_deref(), Some(""));
    }
}
