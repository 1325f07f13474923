//! The catalog the daemon serves from while it runs: read at start, replaced whole when the
//! client changes their plugins. A reader takes the catalog of the moment for one call; a run
//! already started holds its own copy of its exercise, so a replaced catalog never changes it.

use std::sync::{Arc, PoisonError, RwLock};

use interlude_plugins::{Catalog, PluginPaths, Unreadable, catalog_in, read_catalog_in};

#[derive(Clone)]
pub struct InEffect {
    paths: PluginPaths,
    current: Arc<RwLock<Arc<Catalog>>>,
}

impl InEffect {
    /// Reads the catalog at start: a problem skips a plugin, it never stops the daemon.
    pub fn read_at_start(paths: PluginPaths) -> InEffect {
        let catalog = catalog_in(&paths);
        log_problems(&catalog);
        InEffect {
            paths,
            current: Arc::new(RwLock::new(Arc::new(catalog))),
        }
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        // Replacing is one assignment, so a poisoned lock still holds a whole catalog.
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Re-reads the catalog and puts it in effect. When the plugin directory or the settings
    /// cannot be read, the catalog in effect stays. Reads files: call it off the async runtime.
    pub fn reload(&self) -> Result<Arc<Catalog>, Unreadable> {
        let catalog = Arc::new(read_catalog_in(&self.paths)?);
        log_problems(&catalog);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&catalog);
        Ok(catalog)
    }
}

fn log_problems(catalog: &Catalog) {
    for problem in &catalog.problems {
        // Located messages about plugin files; no client text.
        tracing::warn!(%problem, "a plugin was skipped");
    }
}
