//! Visitor, seed and access wrappers that carry [`Tolerant`] and the key path into nested values.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::capture_key::CaptureKey;
use super::{Tolerant, Track};
use crate::config::path::Segment;

/// Visitor wrapper: passes everything through, wrapping nested deserializers, sequences and
/// maps so tolerance and path tracking reach every level.
pub(super) struct Wrap<'t, V> {
    pub(super) inner: V,
    path: Vec<Segment>,
    track: &'t Track,
}

impl<'t, V> Wrap<'t, V> {
    pub(super) fn new(inner: V, path: Vec<Segment>, track: &'t Track) -> Self {
        Wrap { inner, path, track }
    }
}

macro_rules! forward_visits {
    ($($method:ident($ty:ty);)*) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
                self.inner.$method(v)
            }
        )*
    };
}

impl<'de, 't, V: Visitor<'de>> Visitor<'de> for Wrap<'t, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visits! {
        visit_bool(bool);
        visit_i8(i8);
        visit_i16(i16);
        visit_i32(i32);
        visit_i64(i64);
        visit_i128(i128);
        visit_u8(u8);
        visit_u16(u16);
        visit_u32(u32);
        visit_u64(u64);
        visit_u128(u128);
        visit_f32(f32);
        visit_f64(f64);
        visit_char(char);
        visit_str(&str);
        visit_borrowed_str(&'de str);
        visit_string(String);
        visit_bytes(&[u8]);
        visit_borrowed_bytes(&'de [u8]);
        visit_byte_buf(Vec<u8>);
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(Tolerant {
            de,
            path: self.path,
            track: self.track,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(Tolerant {
            de,
            path: self.path,
            track: self.track,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(WrapSeq {
            seq,
            path: self.path,
            track: self.track,
            index: 0,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(WrapMap {
            map,
            path: self.path,
            track: self.track,
            key: None,
        })
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(data)
    }
}

/// Seed wrapper: deserializes its value through [`Tolerant`] at `path`.
struct Seeded<'t, S> {
    seed: S,
    path: Vec<Segment>,
    track: &'t Track,
}

impl<'de, 't, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seeded<'t, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Tolerant {
            de,
            path: self.path,
            track: self.track,
        })
    }
}

struct WrapSeq<'t, A> {
    seq: A,
    path: Vec<Segment>,
    track: &'t Track,
    index: usize,
}

impl<'de, 't, A: SeqAccess<'de>> SeqAccess<'de> for WrapSeq<'t, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let mut path = self.path.clone();
        path.push(Segment::Index(self.index));
        self.index += 1;
        let seeded = Seeded {
            seed,
            path: path.clone(),
            track: self.track,
        };
        self.seq.next_element_seed(seeded).inspect_err(|_| {
            self.track.record(&path);
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.seq.size_hint()
    }
}

struct WrapMap<'t, A> {
    map: A,
    path: Vec<Segment>,
    track: &'t Track,
    key: Option<String>,
}

impl<'de, 't, A: MapAccess<'de>> MapAccess<'de> for WrapMap<'t, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.key = None;
        let capture = CaptureKey {
            inner: seed,
            slot: &mut self.key,
        };
        let result = self.map.next_key_seed(capture);
        if result.is_err() {
            // A bad key (unknown field, duplicate) belongs to the enclosing object.
            self.track.record(&self.path);
        }
        result
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        let mut path = self.path.clone();
        path.push(Segment::Key(self.key.clone().unwrap_or_else(|| "?".into())));
        let seeded = Seeded {
            seed,
            path: path.clone(),
            track: self.track,
        };
        self.map.next_value_seed(seeded).inspect_err(|_| {
            self.track.record(&path);
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}
