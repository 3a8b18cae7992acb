//! Compiled components on disk, keyed by content hash and engine compatibility, so a
//! scenario is compiled once and later loads only map the artifact.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use wasmtime::component::Component;

use super::Engine;
use super::component::LoadError;
use super::componentize::componentize;

impl Engine {
    /// Where the compiled form of the component with `hash` is cached, if caching is on.
    fn artifact_path(&self, hash: &str) -> Option<PathBuf> {
        let dir = self.inner.options.cache_dir.as_ref()?;
        let mut hasher = DefaultHasher::new();
        self.inner
            .wasmtime
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        Some(dir.join(format!("{hash}-{:016x}.cwasm", hasher.finish())))
    }

    /// Compiles `bytes` (SHA-256 `hash`), or maps the cached compilation.
    pub(crate) fn compile(
        &self,
        bytes: &[u8],
        hash: &str,
        core_module: bool,
    ) -> Result<Component, LoadError> {
        let engine = &self.inner.wasmtime;
        let invalid =
            |err: wasmtime::Error| LoadError::Invalid(format!("{:#}", anyhow::Error::from(err)));
        // A core module becomes a component only when it is compiled, not on a cache hit.
        let component_bytes = || -> Result<std::borrow::Cow<'_, [u8]>, LoadError> {
            if core_module {
                componentize(bytes)
                    .map(Into::into)
                    .map_err(LoadError::Componentize)
            } else {
                Ok(bytes.into())
            }
        };
        let Some(path) = self.artifact_path(hash) else {
            return Component::new(engine, &*component_bytes()?).map_err(invalid);
        };
        if path.exists() {
            // SAFETY: the file was written by `precompile_component` of an engine with the same
            // compatibility hash (it is in the name), in a directory this process owns.
            #[allow(unsafe_code)]
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok(component),
                Err(err) => tracing::warn!("ignoring unusable cached artifact {path:?}: {err}"),
            }
        }
        let artifact = engine
            .precompile_component(&component_bytes()?)
            .map_err(invalid)?;
        let stored = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                // Write then rename, so a concurrent load never maps a half-written file.
                let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                std::fs::write(&tmp, &artifact)?;
                std::fs::rename(&tmp, &path)
            });
        if let Err(err) = stored {
            tracing::warn!("cannot cache the compiled scenario in {path:?}: {err}");
        }
        // SAFETY: `artifact` was just produced by this engine's `precompile_component`.
        #[allow(unsafe_code)]
        unsafe { Component::deserialize(engine, &artifact) }.map_err(invalid)
    }
}
