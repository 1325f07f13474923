//! `interlude.v1.Plugins`: putting the plugins on disk in effect while the daemon runs.

use interlude_proto::v1;
use interlude_proto::v1::plugins_server::Plugins as PluginsApi;
use tonic::{Request, Response, Status};

use crate::checkins::{self, CheckIns};
use crate::plugins::InEffect;
use interlude_plugins::Catalog;

pub struct PluginsService {
    pub plugins: InEffect,
    pub checkins: CheckIns,
    /// One reload at a time, so the check-ins never keep an older catalog's schedules than the
    /// one practice serves from.
    pub reloading: tokio::sync::Mutex<()>,
}

#[tonic::async_trait]
impl PluginsApi for PluginsService {
    async fn reload(
        &self,
        _: Request<v1::ReloadPluginsRequest>,
    ) -> Result<Response<v1::ReloadPluginsResponse>, Status> {
        let _one_at_a_time = self.reloading.lock().await;
        let plugins = self.plugins.clone();
        let catalog = tokio::task::spawn_blocking(move || plugins.reload())
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| {
                tracing::warn!(error = %e, "could not reload the plugins; the ones in effect stay");
                Status::failed_precondition(format!(
                    "{e}; the plugins in effect are unchanged until this is fixed or the daemon restarts"
                ))
            })?;
        self.checkins
            .set_plugin_sources(checkins::from_catalog(&catalog))
            .await;
        tracing::info!(
            in_effect = catalog.plugins.len(),
            disabled = catalog.disabled.len(),
            problems = catalog.problems.len(),
            "plugins reloaded"
        );
        Ok(Response::new(response(&catalog)))
    }
}

fn response(catalog: &Catalog) -> v1::ReloadPluginsResponse {
    v1::ReloadPluginsResponse {
        plugins: catalog
            .plugins
            .iter()
            .map(|entry| v1::PluginInEffect {
                id: entry.id().to_owned(),
                version: entry.plugin.meta.version.get_ref().clone(),
            })
            .collect(),
        disabled: catalog.disabled.clone(),
        problems: catalog.problems.len() as u32,
    }
}
