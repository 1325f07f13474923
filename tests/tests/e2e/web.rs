//! The loopback gRPC-Web listener, spoken to as a browser would (HTTP/1.1 over a real TCP
//! socket to the real daemon): a rebinding `Host`, an unlisted origin, no token and a token
//! without the scope are refused; a good token works, and what it writes the CLI reads.
#![allow(clippy::unwrap_used)]

use interlude_e2e::{RealDaemon, ok};
use interlude_proto::v1;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSPHRASE: &str = "correct horse battery staple";
const LISTED: &str = "http://localhost:5173";

struct Web {
    daemon: RealDaemon,
    port: u16,
}

impl Web {
    async fn start() -> Web {
        let daemon = RealDaemon::start_with(&format!(
            "[api]\nweb = \"127.0.0.1:0\"\nweb_origins = [\"{LISTED}\"]"
        ));
        ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
        let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
        let status = v1::daemon_client::DaemonClient::new(channel)
            .status(v1::StatusRequest {})
            .await
            .unwrap()
            .into_inner();
        let port = status.web.rsplit_once(':').unwrap().1.parse().unwrap();
        Web { daemon, port }
    }

    fn token(&self, name: &str, scopes: &str) -> String {
        let out = ok(self.daemon.cli(&[
            "--json", "token", "create", "--name", name, "--scope", scopes,
        ]));
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// What came back: the HTTP status, the raw head, and the gRPC status (from the headers or the
/// gRPC-Web trailer frame).
#[derive(Debug)]
struct Answer {
    http: u16,
    head: String,
    grpc: Option<i32>,
    raw: Vec<u8>,
}

struct Call<'a> {
    method: &'a str,
    path: &'a str,
    host: String,
    origin: Option<&'a str>,
    token: Option<&'a str>,
    message: Vec<u8>,
}

impl<'a> Call<'a> {
    fn new(web: &Web, path: &'a str, message: impl Message) -> Call<'a> {
        Call {
            method: "POST",
            path,
            host: format!("127.0.0.1:{}", web.port),
            origin: None,
            token: None,
            message: message.encode_to_vec(),
        }
    }

    async fn send(self, port: u16) -> Answer {
        let mut body = vec![0u8];
        body.extend_from_slice(&(self.message.len() as u32).to_be_bytes());
        body.extend_from_slice(&self.message);
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.method,
            self.path,
            self.host,
            if self.method == "POST" { body.len() } else { 0 }
        );
        if let Some(origin) = self.origin {
            head += &format!("Origin: {origin}\r\n");
        }
        if self.method == "OPTIONS" {
            head += "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, content-type, x-grpc-web\r\n";
        }
        if let Some(token) = self.token {
            head += &format!("Authorization: Bearer {token}\r\n");
        }
        head += "\r\n";
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        if self.method == "POST" {
            stream.write_all(&body).await.unwrap();
        }
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, _) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let http = head.split(' ').nth(1).unwrap().parse().unwrap();
        let lower = text.to_ascii_lowercase();
        let grpc = lower.find("grpc-status:").map(|at| {
            lower[at + 12..]
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap()
        });
        Answer {
            http,
            head: head.to_owned(),
            grpc,
            raw,
        }
    }
}

const LIST: &str = "/interlude.v1.Timeline/ListReflections";
const ADD: &str = "/interlude.v1.Timeline/AddReflection";

#[tokio::test(flavor = "multi_thread")]
async fn a_good_token_from_the_apps_own_origin_reads_and_writes() {
    let web = Web::start().await;
    let token = web.token("web", "capture,read");
    let mut add = Call::new(
        &web,
        ADD,
        interlude_e2e::note("WEBMARKER written in the browser"),
    );
    add.token = Some(&token);
    let own = format!("http://127.0.0.1:{}", web.port);
    add.origin = Some(&own);
    let added = add.send(web.port).await;
    assert_eq!((added.http, added.grpc), (200, Some(0)), "{added:?}");
    assert!(
        added
            .head
            .to_ascii_lowercase()
            .contains(&format!("access-control-allow-origin: {own}"))
    );
    let mut list = Call::new(&web, LIST, v1::ListReflectionsRequest::default());
    list.token = Some(&token);
    let listed = list.send(web.port).await;
    assert_eq!(listed.grpc, Some(0), "{listed:?}");
    assert!(String::from_utf8_lossy(&listed.raw).contains("WEBMARKER"));
    assert!(ok(web.daemon.cli(&["timeline"])).contains("WEBMARKER written in the browser"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listed_origin_gets_its_preflight_and_an_unlisted_one_is_refused() {
    let web = Web::start().await;
    let token = web.token("web", "read");
    let mut preflight = Call::new(&web, LIST, v1::ListReflectionsRequest::default());
    preflight.method = "OPTIONS";
    preflight.origin = Some(LISTED);
    let answer = preflight.send(web.port).await;
    assert_eq!(answer.http, 204, "{answer:?}");
    assert!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("access-control-allow-headers: authorization")
    );

    for method in ["OPTIONS", "POST"] {
        let mut call = Call::new(&web, LIST, v1::ListReflectionsRequest::default());
        call.method = method;
        call.origin = Some("http://evil.example");
        call.token = Some(&token);
        let answer = call.send(web.port).await;
        assert_eq!(
            answer.http, 403,
            "{method} from an unlisted origin: {answer:?}"
        );
        assert!(
            !answer
                .head
                .to_ascii_lowercase()
                .contains("access-control-allow-origin")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebinding_host_no_token_and_a_capture_token_reading_are_refused() {
    let web = Web::start().await;
    let read = web.token("reader", "read");
    let capture = web.token("tray", "capture");

    let mut rebinding = Call::new(&web, LIST, v1::ListReflectionsRequest::default());
    rebinding.host = format!("attacker.example:{}", web.port);
    rebinding.token = Some(&read);
    let answer = rebinding.send(web.port).await;
    assert_eq!((answer.http, answer.grpc), (403, Some(7)), "{answer:?}");

    let none = Call::new(&web, LIST, v1::ListReflectionsRequest::default());
    let answer = none.send(web.port).await;
    assert_eq!(answer.grpc, Some(16), "no token: {answer:?}");

    // Even the owner's calls that need no token on the socket need one here.
    let info = Call::new(&web, "/interlude.v1.Daemon/Info", v1::InfoRequest {});
    assert_eq!(info.send(web.port).await.grpc, Some(16));

    let mut reading = Call::new(&web, LIST, v1::ListReflectionsRequest::default());
    reading.token = Some(&capture);
    let answer = reading.send(web.port).await;
    assert_eq!(answer.grpc, Some(7), "a capture token reading: {answer:?}");

    let mut good = Call::new(&web, LIST, v1::ListReflectionsRequest::default());
    good.token = Some(&read);
    assert_eq!(good.send(web.port).await.grpc, Some(0));
}

#[tokio::test]
async fn a_web_address_that_is_not_loopback_is_a_config_error() {
    for address in ["0.0.0.0:7777", "192.168.1.10:7777", "localhost:7777"] {
        let root = tempfile::tempdir().unwrap();
        let mut config = interlude_e2e::test_config(root.path());
        config.api.web = Some(address.to_owned());
        let refused = interlude_daemon::Daemon::start(config).await.err().unwrap();
        assert!(
            refused.to_string().contains("api.web"),
            "{address}: {refused}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_listener_is_off_by_default() {
    let daemon = RealDaemon::start();
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let status = v1::daemon_client::DaemonClient::new(channel)
        .status(v1::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.web, "");
    assert!(!daemon.log().contains("serving gRPC-Web"));
}

/// The daemon's web address from Status (empty when the listener is off).
async fn web_address(daemon: &RealDaemon) -> String {
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    v1::daemon_client::DaemonClient::new(channel)
        .status(v1::StatusRequest {})
        .await
        .unwrap()
        .into_inner()
        .web
}

#[tokio::test(flavor = "multi_thread")]
async fn interlude_web_turns_the_listener_on_keeps_it_in_the_config_and_it_is_on_after_a_restart() {
    let mut daemon = RealDaemon::start();
    ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
    let config = daemon.root.path().join("config.toml");
    let before = std::fs::read_to_string(&config).unwrap();
    assert_eq!(web_address(&daemon).await, "");

    let said = ok(daemon.cli(&["web", "--no-browser"]));
    assert!(
        said.contains("Turned the web app's listener on at http://127.0.0.1:")
            && said.contains(&format!("kept on in {}", config.display())),
        "{said}"
    );
    let address = web_address(&daemon).await;
    let port: u16 = address.rsplit_once(':').unwrap().1.parse().unwrap();
    // The app is served there, to a browser's request, without a restart.
    let page = Call {
        method: "GET",
        path: "/",
        host: format!("127.0.0.1:{port}"),
        origin: None,
        token: None,
        message: Vec::new(),
    }
    .send(port)
    .await;
    assert_eq!(page.http, 200, "{}", page.head);
    assert!(String::from_utf8_lossy(&page.raw).contains("<title>Interlude</title>"));
    // Everything the client wrote in the config is still there, with the line added.
    let after = std::fs::read_to_string(&config).unwrap();
    assert!(after.starts_with(&before), "{after}");
    assert!(
        after.contains(&format!("[api]\nweb = \"127.0.0.1:{port}\"")),
        "{after}"
    );

    // Already on: the same listener, nothing written again.
    let again: serde_json::Value =
        serde_json::from_str(&ok(daemon.cli(&["--json", "web", "--no-browser"]))).unwrap();
    assert_eq!(again["turned_on"], false);
    assert!(
        again["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{address}/#token=")),
        "{again}"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), after);

    daemon.stop();
    daemon.launch();
    assert_eq!(
        web_address(&daemon).await,
        address,
        "on again after a restart"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn opening_the_web_listener_on_an_address_that_is_not_loopback_is_refused_and_nothing_is_written()
 {
    let daemon = RealDaemon::start();
    ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
    let channel = interlude_proto::connect(&daemon.socket()).await.unwrap();
    let mut client = v1::daemon_client::DaemonClient::new(channel);
    let refused = client
        .open_web(v1::OpenWebRequest {
            address: "0.0.0.0:0".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused.message().contains("not a loopback address"),
        "{refused:?}"
    );
    assert_eq!(web_address(&daemon).await, "");
    let config = std::fs::read_to_string(daemon.root.path().join("config.toml")).unwrap();
    assert!(!config.contains("[api]"), "{config}");
}
