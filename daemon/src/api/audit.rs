//! `interlude.v1.Audit`: the audit trail, read and checked.

use std::sync::Arc;

use interlude_proto::v1::audit_server::Audit as AuditApi;
use interlude_proto::v1::{self};
use tonic::{Request, Response, Status};

use crate::store::Store;
use crate::vault::Vault;

pub struct AuditService {
    pub store: Store,
    pub vault: Arc<Vault>,
}

#[tonic::async_trait]
impl AuditApi for AuditService {
    async fn list(
        &self,
        request: Request<v1::ListAuditRequest>,
    ) -> Result<Response<v1::ListAuditResponse>, Status> {
        let since = request.into_inner().since_ms;
        let store = self.store.clone();
        let vault = self.vault.clone();
        let verified =
            tokio::task::spawn_blocking(move || crate::audit::verify(&store, &vault, since))
                .await
                .map_err(|e| Status::internal(format!("reading the audit trail failed: {e}")))??;
        Ok(Response::new(v1::ListAuditResponse {
            entries: verified
                .entries
                .into_iter()
                .map(|(seq, e)| v1::AuditEntry {
                    seq,
                    at_ms: e.at,
                    caller: e.caller,
                    action: e.action,
                    record: e.record,
                    outcome: e.outcome,
                })
                .collect(),
            first_problem: verified.first_problem.unwrap_or_default(),
            unchained: verified.unchained as u32,
        }))
    }
}
