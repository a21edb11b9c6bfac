//! A component built against `seatwarden:connector@0.3.0`, a version this
//! host does not speak. Loading it must fail with a message naming both
//! versions.

wit_bindgen::generate!({ path: "wit", world: "connector" });

struct Future;

impl exports::seatwarden::connector::connector_api::Guest for Future {
    fn describe() -> String {
        "from the future".to_string()
    }
}

export!(Future);
