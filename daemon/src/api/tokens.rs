//! `interlude.v1.Tokens`: make, list and revoke access tokens.

use interlude_proto::v1::tokens_server::Tokens as TokensApi;
use interlude_proto::v1::{self};
use tonic::{Request, Response, Status};

use crate::auth::tokens::{TokenError, TokenRecord, Tokens};

pub struct TokensService {
    pub tokens: Tokens,
}

#[tonic::async_trait]
impl TokensApi for TokensService {
    async fn create(
        &self,
        request: Request<v1::CreateTokenRequest>,
    ) -> Result<Response<v1::CreateTokenResponse>, Status> {
        let request = request.into_inner();
        let (token, record) = self
            .tokens
            .create(&request.name, &request.scopes, request.expires_at_ms)
            .await
            .map_err(status)?;
        tracing::info!("made a token");
        Ok(Response::new(v1::CreateTokenResponse {
            token,
            info: Some(info(record)),
        }))
    }

    async fn list(
        &self,
        _: Request<v1::ListTokensRequest>,
    ) -> Result<Response<v1::ListTokensResponse>, Status> {
        let tokens = self.tokens.list().map_err(status)?;
        Ok(Response::new(v1::ListTokensResponse {
            tokens: tokens.into_iter().map(info).collect(),
        }))
    }

    async fn revoke(
        &self,
        request: Request<v1::RevokeTokenRequest>,
    ) -> Result<Response<v1::RevokeTokenResponse>, Status> {
        let record = self
            .tokens
            .revoke(&request.into_inner().name)
            .await
            .map_err(status)?;
        tracing::info!("revoked a token");
        Ok(Response::new(v1::RevokeTokenResponse {
            info: Some(info(record)),
        }))
    }
}

fn info(record: TokenRecord) -> v1::TokenInfo {
    v1::TokenInfo {
        name: record.name,
        scopes: record.scopes.into_iter().collect(),
        created_at_ms: record.created_at,
        expires_at_ms: record.expires_at,
        revoked_at_ms: record.revoked_at,
    }
}

fn status(err: TokenError) -> Status {
    let message = err.to_string();
    match err {
        TokenError::BadName
        | TokenError::NoScope
        | TokenError::UnknownScope(_)
        | TokenError::ExpiredAlready => Status::invalid_argument(message),
        TokenError::NameTaken(_) => Status::already_exists(message),
        TokenError::NoSuchName(_) => Status::not_found(message),
        TokenError::Damaged(_) => Status::data_loss(message),
        TokenError::Store(e) => crate::error::Error::Store(e).into(),
        TokenError::Random(_) => Status::internal(message),
    }
}
