//! Core modules built by the Go toolchain (`GOOS=wasip1 -buildmode=c-shared`, a WASI
//! preview1 reactor), turned into components of our world in-process: the world's type
//! information is embedded, then `wit-component` wraps the module with the WASI preview1
//! reactor adapter of the same release as wasmtime. It takes 50 to 100 ms; the result is
//! cached like any compiled component.

use std::sync::OnceLock;

use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_component::{ComponentEncoder, StringEncoding, embed_component_metadata};
use wit_parser::{Resolve, SourceMap, WorldId};

use super::bindings::EXPORT;

/// The WIT package of the contract, as the host was built with it.
const WIT: [(&str, &str); 7] = [
    ("world.wit", include_str!("../../../wit/world.wit")),
    ("types.wit", include_str!("../../../wit/types.wit")),
    ("http.wit", include_str!("../../../wit/http.wit")),
    ("vu.wit", include_str!("../../../wit/vu.wit")),
    ("metrics.wit", include_str!("../../../wit/metrics.wit")),
    ("stats.wit", include_str!("../../../wit/stats.wit")),
    ("guest.wit", include_str!("../../../wit/guest.wit")),
];

/// The functions a core module must export to be taken as a scenario.
const REQUIRED_EXPORTS: [&str; 2] = ["options", "run-task"];

/// Whether a core module is meant for our world: it exports the guest interface's
/// functions under their component names (`loadwright:scenario/guest@0.2.0#run-task`).
pub(crate) fn is_scenario_module(bytes: &[u8]) -> bool {
    let mut exports = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else {
            return false;
        };
        if let wasmparser::Payload::ExportSection(section) = payload {
            for export in section.into_iter().flatten() {
                exports.push(export.name.to_owned());
            }
        }
    }
    REQUIRED_EXPORTS
        .iter()
        .all(|f| exports.iter().any(|e| *e == format!("{EXPORT}#{f}")))
}

fn contract() -> &'static Result<(Resolve, WorldId), String> {
    static CONTRACT: OnceLock<Result<(Resolve, WorldId), String>> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let mut map = SourceMap::default();
        for (name, text) in WIT {
            map.push_str(name, text);
        }
        let group = map.parse().map_err(|(_, err)| err.to_string())?;
        let mut resolve = Resolve::default();
        let package = resolve.push_group(group).map_err(|err| err.to_string())?;
        let world = resolve
            .select_world(&[package], Some("scenario"))
            .map_err(|err| err.to_string())?;
        Ok((resolve, world))
    })
}

/// The component of core module `bytes`: our world's types embedded, WASI preview1 adapted
/// to the preview2 interfaces the host provides. The error says what does not fit.
pub(crate) fn componentize(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let (resolve, world) = contract().as_ref().map_err(Clone::clone)?;
    let mut module = bytes.to_vec();
    embed_component_metadata(&mut module, resolve, *world, StringEncoding::UTF8)
        .map_err(|err| format!("{err:#}"))?;
    ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .and_then(|encoder| {
            encoder.adapter(
                WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
                WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            )
        })
        .and_then(|mut encoder| encoder.encode())
        .map_err(|err| format!("{err:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_parses_and_plain_modules_are_not_scenarios() {
        assert!(contract().is_ok(), "{:?}", contract().as_ref().err());
        assert!(!is_scenario_module(b"\0asm\x01\0\0\0"));
    }
}
