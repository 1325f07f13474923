//! The web app in headless Chromium (Debian's `chromium`, driven over the DevTools protocol on
//! a WebSocket written here, as no client for it is packaged): the link `interlude web` prints
//! opens the app, a reflection typed into the page and saved shows in the page's timeline and
//! in the CLI's, the token leaves the address bar, and the browser reports no error.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use interlude_e2e::{RealDaemon, tools_present};
use serde_json::{Value, json};

const PASSPHRASE: &str = "correct horse battery staple";

fn ok(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A DevTools session with one page.
struct DevTools {
    socket: TcpStream,
    next_id: u64,
    /// Errors the page reported (console errors, exceptions, failed loads).
    errors: Vec<String>,
}

impl DevTools {
    fn connect(ws_url: &str) -> DevTools {
        let rest = ws_url.strip_prefix("ws://").unwrap();
        let (host, path) = rest.split_once('/').unwrap();
        let mut socket = TcpStream::connect(host).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        write!(
            socket,
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8];
            socket.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&head)
        );
        DevTools {
            socket,
            next_id: 0,
            errors: Vec::new(),
        }
    }

    fn send_frame(&mut self, text: &str) {
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n < 65536 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        // A client's frames are masked; a zero mask leaves the payload as it is.
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(payload);
        self.socket.write_all(&frame).unwrap();
    }

    fn read_message(&mut self) -> Value {
        let mut message = Vec::new();
        loop {
            let mut head = [0u8; 2];
            self.socket.read_exact(&mut head).unwrap();
            let len = match head[1] & 0x7f {
                126 => {
                    let mut n = [0u8; 2];
                    self.socket.read_exact(&mut n).unwrap();
                    u16::from_be_bytes(n) as usize
                }
                127 => {
                    let mut n = [0u8; 8];
                    self.socket.read_exact(&mut n).unwrap();
                    u64::from_be_bytes(n) as usize
                }
                n => n as usize,
            };
            let mut payload = vec![0u8; len];
            self.socket.read_exact(&mut payload).unwrap();
            message.extend_from_slice(&payload);
            if head[0] & 0x80 != 0 {
                return serde_json::from_slice(&message).unwrap_or(Value::Null);
            }
        }
    }

    /// Sends a command and returns its result, noting the page's errors on the way.
    fn command(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send_frame(&json!({ "id": id, "method": method, "params": params }).to_string());
        loop {
            let message = self.read_message();
            if message["id"] == id {
                assert!(message["error"].is_null(), "{method}: {message}");
                return message["result"].clone();
            }
            self.note(&message);
        }
    }

    fn note(&mut self, event: &Value) {
        match event["method"].as_str() {
            Some("Runtime.exceptionThrown") => self.errors.push(event["params"].to_string()),
            Some("Runtime.consoleAPICalled") if event["params"]["type"] == "error" => {
                self.errors.push(event["params"].to_string())
            }
            Some("Log.entryAdded") if event["params"]["entry"]["level"] == "error" => {
                self.errors.push(event["params"].to_string())
            }
            _ => {}
        }
    }

    fn eval(&mut self, expression: &str) -> Value {
        let result = self.command(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(
            result["exceptionDetails"].is_null(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Evaluates `condition` until it is true (the page works asynchronously); panics with
    /// `what` after a minute.
    fn until(&mut self, condition: &str, what: &str) {
        for _ in 0..1200 {
            if self.eval(condition) == json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the page never showed {what}; errors: {:?}", self.errors);
    }
}

struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts headless Chromium with remote debugging and returns its first page's WebSocket.
fn chromium(profile: &std::path::Path) -> (Browser, String) {
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--remote-debugging-port=0",
            "--window-size=1000,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let browser_ws = loop {
        let line = lines
            .next()
            .expect("chromium ended before it listened")
            .unwrap();
        if let Some(at) = line.find("ws://") {
            break line[at..].trim().to_owned();
        }
    };
    // Keep draining its stderr so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let host = browser_ws
        .strip_prefix("ws://")
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let targets = json_list(&host);
    let page = targets
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "page")
        .unwrap()["webSocketDebuggerUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    (Browser(child), page)
}

/// DevTools' target list (its HTTP server keeps the connection open: read by Content-Length).
fn json_list(host: &str) -> Value {
    let mut http = TcpStream::connect(host).unwrap();
    http.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(http, "GET /json/list HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    let mut reader = BufReader::new(http);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn a_reflection_typed_in_the_web_app_shows_in_its_timeline_and_the_clis() {
    if !tools_present(&["chromium"]) {
        eprintln!("SKIPPED: chromium is not installed; the web app was not opened in a browser");
        return;
    }
    let daemon = RealDaemon::start_with("[api]\nweb = \"127.0.0.1:0\"");
    ok(daemon.cli_with_stdin(&["init", "--passphrase-stdin"], &format!("{PASSPHRASE}\n")));
    let opened: Value =
        serde_json::from_str(&ok(daemon.cli(&["--json", "web", "--no-browser"]))).unwrap();
    let url = opened["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/#token=itk_"),
        "{url}"
    );

    let profile = tempfile::tempdir().unwrap();
    let (_browser, page) = chromium(profile.path());
    let mut tools = DevTools::connect(&page);
    tools.command("Runtime.enable", json!({}));
    tools.command("Log.enable", json!({}));
    tools.command("Page.navigate", json!({ "url": url }));
    tools.until(
        "document.readyState === 'complete' && !!document.getElementById('text') && document.getElementById('capture').hidden === false",
        "the capture screen",
    );
    assert_eq!(
        tools.eval("location.href.includes('token')"),
        json!(false),
        "the token stays in the address bar"
    );
    tools.eval(
        "document.getElementById('text').value = 'WEBAPPMARKER the lake breath helped';\
         document.getElementById('emotion').value = 'calm';\
         document.getElementById('intensity').value = '30';\
         document.getElementById('tags').value = 'evening, lake';\
         document.getElementById('bring').checked = true;\
         document.querySelector('#capture-form button[type=submit]').click(); true",
    );
    tools.until(
        "document.getElementById('saved').textContent === 'Saved.'",
        "that the reflection was saved",
    );
    tools.eval("document.querySelector('nav button[data-screen=timeline]').click(); true");
    tools.until(
        "document.getElementById('entries').textContent.includes('WEBAPPMARKER the lake breath helped')",
        "the reflection in the timeline",
    );
    let shown = tools.eval("document.getElementById('entries').textContent");
    let shown = shown.as_str().unwrap();
    assert!(
        shown.contains("calm 30") && shown.contains("#lake") && shown.contains("bring to session"),
        "{shown}"
    );
    tools.eval("document.querySelector('nav button[data-screen=helpnow]').click(); true");
    tools.until(
        "document.getElementById('help-body').textContent.includes('Crisis lines')",
        "help-now's crisis lines",
    );
    assert!(
        tools.errors.is_empty(),
        "the page reported errors: {:#?}",
        tools.errors
    );

    let timeline = ok(daemon.cli(&["--json", "timeline"]));
    assert!(
        timeline.contains("WEBAPPMARKER the lake breath helped"),
        "{timeline}"
    );
    assert!(timeline.contains("\"lake\""), "{timeline}");
    // The token is in no log.
    let token = url.split("#token=").nth(1).unwrap();
    assert!(!daemon.log().contains(token));
}
