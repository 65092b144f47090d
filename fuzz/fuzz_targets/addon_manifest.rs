//! Addon manifests (`addons` and `addons_include`): YAML documents to Kubernetes objects.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rke::addons::manifest::{ObjectRef, parse_documents};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(objects) = parse_documents("user-addon", "fuzz", text) {
        for object in &objects {
            let _ = ObjectRef::of(object);
        }
    }
});
