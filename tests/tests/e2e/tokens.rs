//! Scoped tokens through the real binaries: `interlude token create|list|revoke`, and every RPC
//! the descriptors list called over the real socket with a token of every scope and with bad
//! tokens. Only the gate's own refusals count as refusals (metadata `interlude-refused-by`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use interlude_e2e::{RealDaemon, ok};
use interlude_proto::v1;
use prost::Message;
use tonic::transport::Channel;

const PASSPHRASE: &str = "correct horse battery staple";
const SCOPES: [&str; 7] = [
    "capture", "read", "edit", "practice", "prep", "plugins", "admin",
];

fn create(daemon: &RealDaemon, name: &str, scopes: &str) -> String {
    let out = ok(daemon.cli(&[
        "--json", "token", "create", "--name", name, "--scope", scopes,
    ]));
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    value["token"].as_str().unwrap().to_owned()
}

struct Rpc {
    path: String,
    client_streaming: bool,
    server_streaming: bool,
}

fn every_rpc() -> Vec<Rpc> {
    let mut rpcs = Vec::new();
    for encoded in [
        interlude_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ] {
        let set = prost_types::FileDescriptorSet::decode(encoded).unwrap();
        for file in set.file {
            for service in &file.service {
                for method in &service.method {
                    rpcs.push(Rpc {
                        path: format!("/{}.{}/{}", file.package(), service.name(), method.name()),
                        client_streaming: method.client_streaming(),
                        server_streaming: method.server_streaming(),
                    });
                }
            }
        }
    }
    rpcs
}

/// Calls `rpc` with an empty request; `Err(status)` only when the gate refused it.
async fn call(channel: &Channel, rpc: &Rpc, token: Option<&str>) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let path: http::uri::PathAndQuery = rpc.path.parse().unwrap();
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let mut request = tonic::Request::new(());
    request.set_timeout(Duration::from_secs(60));
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let answer = match (rpc.client_streaming, rpc.server_streaming) {
        (false, false) => grpc.unary(request, path, codec).await.map(drop),
        (false, true) => grpc.server_streaming(request, path, codec).await.map(drop),
        (true, _) => {
            let stream = tonic::Request::from_parts(
                request.metadata().clone(),
                Default::default(),
                tokio_stream::iter(Vec::<()>::new()),
            );
            grpc.streaming(stream, path, codec).await.map(drop)
        }
    };
    match answer {
        Err(status) if status.metadata().get("interlude-refused-by").is_some() => Err(status),
        _ => Ok(()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rpc_is_refused_to_tokens_without_its_scope_and_to_bad_tokens() {
    let daemon = RealDaemon::start();
    ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
    let tokens: Vec<(&str, String)> = SCOPES
        .iter()
        .map(|scope| (*scope, create(&daemon, &format!("only {scope}"), scope)))
        .collect();
    let all = SCOPES.join(",");
    let revoked = create(&daemon, "revoked", &all);
    ok(daemon.cli(&["token", "revoke", "revoked"]));
    let real = create(&daemon, "real", &all);
    let wrong = format!("{}_{}", real.rsplit_once('_').unwrap().0, "0".repeat(64));
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let expires_at = jiff::Timestamp::now().as_millisecond() + 1_000;
    let expiring = v1::tokens_client::TokensClient::new(channel.clone())
        .create(v1::CreateTokenRequest {
            name: "expiring".into(),
            scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
            expires_at_ms: expires_at,
        })
        .await
        .unwrap()
        .into_inner()
        .token;

    // Which scope each RPC needs, as the daemon's table says (the unit test checks the table
    // covers the descriptors); here we check the running daemon enforces it.
    let rpcs = every_rpc();
    assert!(rpcs.len() >= 60);
    let mut unexpected = Vec::new();
    let mut allowed_by_scope = std::collections::BTreeMap::<&str, usize>::new();
    for rpc in &rpcs {
        let needs = interlude_daemon::auth::scopes::needs(&rpc.path)
            .unwrap_or_else(|| panic!("{} has no scope", rpc.path));
        for (scope, token) in &tokens {
            let should = match needs {
                interlude_daemon::auth::Needs::AnyToken => true,
                interlude_daemon::auth::Needs::Scope(s) => s.name() == *scope,
            };
            let got = call(&channel, rpc, Some(token)).await;
            if got.is_ok() {
                *allowed_by_scope.entry(scope).or_default() += 1;
            }
            if should != got.is_ok() {
                unexpected.push(format!("{} with `{scope}`: {got:?}", rpc.path));
            }
        }
        for (what, token) in [("wrong", &wrong), ("revoked", &revoked)] {
            if call(&channel, rpc, Some(token)).await.is_ok() {
                unexpected.push(format!("{} allowed a {what} token", rpc.path));
            }
        }
        // The owner on the socket without a token: the CLI's full access.
        if let Err(status) = call(&channel, rpc, None).await {
            unexpected.push(format!("{} refused the owner: {status:?}", rpc.path));
        }
    }
    // Once its second is over, the expiring token works nowhere.
    while jiff::Timestamp::now().as_millisecond() <= expires_at {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for rpc in &rpcs {
        if call(&channel, rpc, Some(&expiring)).await.is_ok() {
            unexpected.push(format!("{} allowed an expired token", rpc.path));
        }
    }
    assert!(
        unexpected.is_empty(),
        "{} unexpected:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    println!(
        "{} RPCs x {} scopes + wrong, revoked, expired, owner: 0 unexpected; allowed per scope {allowed_by_scope:?}",
        rpcs.len(),
        SCOPES.len()
    );
}

#[test]
fn a_token_is_shown_once_listed_without_its_secret_and_revoked_by_name() {
    let daemon = RealDaemon::start();
    ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
    let token = create(&daemon, "tray app", "capture,read");
    assert!(token.starts_with("itk_"));
    let listed = ok(daemon.cli(&["token", "list"]));
    assert!(listed.contains("tray app  [capture,read]"), "{listed}");
    assert!(
        !listed.contains(&token[4..]),
        "the list shows the secret: {listed}"
    );
    let again = daemon.cli(&["token", "create", "--name", "tray app", "--scope", "read"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already called"));
    let bad = daemon.cli(&["token", "create", "--name", "x", "--scope", "root"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`root` is not a scope"));
    ok(daemon.cli(&["token", "revoke", "tray app"]));
    assert!(ok(daemon.cli(&["token", "list"])).contains("revoked"));
    let gone = daemon.cli(&["token", "revoke", "tray app"]);
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no live token"));
    // The secret is nowhere under the data directory or in the log.
    let secret = token.rsplit_once('_').unwrap().1;
    assert!(!daemon.log().contains(secret));
    for entry in walk(&daemon.data_dir()) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret is in {}",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
