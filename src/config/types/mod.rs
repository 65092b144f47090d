//! Typed `cluster.yml` schema, key for key as RKE1's yaml.v2 sees it.
//!
//! Naming: each Rust struct is the Go struct's name in UpperCamelCase with acronyms lowered
//! (`RKEConfigNode` → `RkeConfigNode`, `KubeAPIService` → `KubeApiService`); the root
//! `RancherKubernetesEngineConfig` is [`RkeConfig`] and `RKESystemImages` is [`SystemImages`].
//! Each field is the snake_case Go field name, renamed to the YAML key where they differ.
//!
//! Every struct rejects unknown keys. Parse through [`crate::config::parse_str`], which also
//! accepts YAML null wherever RKE1 did (it reads null as the zero value).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Expands Go's `BaseService` (embedded with `,inline`) into a service struct. serde's `flatten`
/// would defeat `deny_unknown_fields` and lose error locations, so the fields are spelled out.
macro_rules! base_service {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident { $($body:tt)* }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            /// Ignored by RKE1 for Kubernetes components (it uses `system_images.kubernetes`).
            #[serde(skip_serializing_if = "crate::config::types::is_default")]
            pub image: String,
            /// Flags that override RKE's defaults, `name: value` (without `--`).
            #[serde(skip_serializing_if = "crate::config::types::is_default")]
            pub extra_args: ::std::collections::BTreeMap<String, String>,
            /// Flags given several times, `name: [value, ...]`.
            #[serde(skip_serializing_if = "crate::config::types::is_default")]
            pub extra_args_array: ::std::collections::BTreeMap<String, Vec<String>>,
            /// Extra bind mounts, `host:container[:options]`.
            #[serde(skip_serializing_if = "crate::config::types::is_default")]
            pub extra_binds: Vec<String>,
            /// Extra environment, `NAME=value`.
            #[serde(skip_serializing_if = "crate::config::types::is_default")]
            pub extra_env: Vec<String>,
            /// `extra_args` for Windows nodes.
            #[serde(rename = "win_extra_args", skip_serializing_if = "crate::config::types::is_default")]
            pub windows_extra_args: ::std::collections::BTreeMap<String, String>,
            /// `extra_args_array` for Windows nodes.
            #[serde(rename = "win_extra_args_array", skip_serializing_if = "crate::config::types::is_default")]
            pub windows_extra_args_array: ::std::collections::BTreeMap<String, Vec<String>>,
            /// `extra_binds` for Windows nodes.
            #[serde(rename = "win_extra_binds", skip_serializing_if = "crate::config::types::is_default")]
            pub windows_extra_binds: Vec<String>,
            /// `extra_env` for Windows nodes.
            #[serde(rename = "win_extra_env", skip_serializing_if = "crate::config::types::is_default")]
            pub windows_extra_env: Vec<String>,
            $($body)*
        }
    };
}

mod aci;
mod addons;
mod cloud;
mod cluster;
mod network;
mod node;
mod services;
mod system_images;

pub use aci::*;
pub use addons::*;
pub use cloud::*;
pub use cluster::*;
pub use network::*;
pub use node::*;
pub use services::*;
pub use system_images::*;

/// `skip_serializing_if` helper: leave zero values out, like Go's `omitempty`.
pub(crate) fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Kubernetes `intstr.IntOrString`: `1` or `"25%"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IntOrString {
    Int(i64),
    String(String),
}

impl Default for IntOrString {
    fn default() -> Self {
        IntOrString::Int(0)
    }
}

impl std::fmt::Display for IntOrString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IntOrString::Int(n) => write!(f, "{n}"),
            IntOrString::String(s) => f.write_str(s),
        }
    }
}

impl Serialize for IntOrString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrString::Int(n) => serializer.serialize_i64(*n),
            IntOrString::String(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntOrStringVisitor;
        impl serde::de::Visitor<'_> for IntOrStringVisitor {
            type Value = IntOrString;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer or a string such as \"25%\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<IntOrString, E> {
                Ok(IntOrString::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<IntOrString, E> {
                i64::try_from(v)
                    .map(IntOrString::Int)
                    .map_err(|_| E::custom("integer out of range"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IntOrString, E> {
                Ok(IntOrString::String(v.to_string()))
            }
        }
        deserializer.deserialize_any(IntOrStringVisitor)
    }
}
