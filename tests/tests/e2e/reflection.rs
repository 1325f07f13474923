//! Tools work without the proto files: gRPC server reflection describes every service and the
//! standard health service answers, on the real binary's socket.

#![allow(clippy::unwrap_used)]

use interlude_e2e::RealDaemon;
use prost::Message;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

async fn ask(channel: tonic::transport::Channel, request: MessageRequest) -> MessageResponse {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    responses
        .message()
        .await
        .unwrap()
        .unwrap()
        .message_response
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_and_describes_every_service() {
    let daemon = RealDaemon::start();
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let MessageResponse::ListServicesResponse(list) =
        ask(channel.clone(), MessageRequest::ListServices(String::new())).await
    else {
        panic!("expected a list of services");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "interlude.v1.Daemon",
        "interlude.v1.Timeline",
        "interlude.v1.Sessions",
        "interlude.v1.Vocabulary",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }

    let MessageResponse::FileDescriptorResponse(files) = ask(
        channel,
        MessageRequest::FileContainingSymbol("interlude.v1.Timeline".into()),
    )
    .await
    else {
        panic!("expected file descriptors");
    };
    let methods: Vec<String> = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap())
        .flat_map(|file| file.service)
        .filter(|service| service.name() == "Timeline")
        .flat_map(|service| service.method.into_iter().map(|m| m.name().to_string()))
        .collect();
    assert!(
        methods.contains(&"AddReflection".to_string())
            && methods.contains(&"ListReflections".to_string()),
        "{methods:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standard_health_service_reports_serving() {
    let daemon = RealDaemon::start();
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let mut health = HealthClient::new(channel);
    for service in ["", "interlude.v1.Daemon"] {
        let request = tonic_health::pb::HealthCheckRequest {
            service: service.into(),
        };
        let status = health.check(request).await.unwrap().into_inner().status();
        assert_eq!(status, ServingStatus::Serving, "service {service:?}");
    }
}
