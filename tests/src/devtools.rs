//! Headless Chromium (Debian's `chromium`) driven over the DevTools protocol, on a WebSocket
//! written here as no client for it is packaged: the web app's end-to-end tests and its
//! benchmark (first load, round trips from the page) use it.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::bin_dir;

/// A DevTools session with one page.
pub struct DevTools {
    socket: TcpStream,
    next_id: u64,
    /// Errors the page reported (console errors, exceptions, failed loads).
    pub errors: Vec<String>,
}

impl DevTools {
    pub fn connect(ws_url: &str) -> DevTools {
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

    pub fn send_frame(&mut self, text: &str) {
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

    pub fn read_message(&mut self) -> Value {
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
    pub fn command(&mut self, method: &str, params: Value) -> Value {
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

    pub fn note(&mut self, event: &Value) {
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

    pub fn eval(&mut self, expression: &str) -> Value {
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
    pub fn until(&mut self, condition: &str, what: &str) {
        for _ in 0..1200 {
            if self.eval(condition) == json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the page never showed {what}; errors: {:?}", self.errors);
    }

    pub fn click(&mut self, selector: &str) {
        let found = self.eval(&format!(
            "(() => {{ const e = document.querySelector({selector:?}); if (!e) return false; e.click(); return true; }})()"
        ));
        assert_eq!(found, json!(true), "nothing to click at {selector}");
    }

    /// Clicks the button whose text contains `words`.
    pub fn click_button(&mut self, words: &str) {
        let found = self.eval(&format!(
            "(() => {{ const b = [...document.querySelectorAll('button')].find((b) => !b.closest('[hidden]') && b.textContent.includes({words:?})); if (!b) return false; b.click(); return true; }})()"
        ));
        assert_eq!(found, json!(true), "no button says {words:?}");
    }

    /// Types `words` into the field at `selector` as a keyboard does (focus, then text input).
    pub fn type_into(&mut self, selector: &str, words: &str) {
        self.eval(&format!(
            "document.querySelector({selector:?}).focus(); true"
        ));
        self.command("Input.insertText", json!({ "text": words }));
    }

    /// Presses a key (`Enter`, `Tab`) on whatever has the focus.
    pub fn press(&mut self, key: &str, code: u32) {
        let text = if key == "Enter" { "\r" } else { "" };
        for kind in ["keyDown", "keyUp"] {
            self.command(
                "Input.dispatchKeyEvent",
                json!({ "type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code, "text": if kind == "keyDown" { text } else { "" } }),
            );
        }
    }

    pub fn text_of(&mut self, selector: &str) -> String {
        self.eval(&format!(
            "(document.querySelector({selector:?}) || {{ textContent: '' }}).textContent"
        ))
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Every visible control has a name a screen reader reads: a label, or a button's words.
    pub fn assert_every_control_is_labelled(&mut self, screen: &str) {
        let unlabelled = self.eval(
            "[...document.querySelectorAll('input, textarea, select, button')]\
               .filter((c) => !c.closest('[hidden]'))\
               .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label') && !(c.tagName === 'BUTTON' && c.textContent.trim()))\
               .map((c) => c.outerHTML)",
        );
        assert_eq!(unlabelled, json!([]), "unlabelled controls on {screen}");
    }

    /// A PNG of the page as it is, kept in `target/web-app-screens/NAME.png`.
    pub fn screenshot(&mut self, name: &str) {
        let shot = self.command(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true }),
        );
        let dir = bin_dir().parent().unwrap().join("web-app-screens");
        std::fs::create_dir_all(&dir).unwrap();
        let png = base64_decode(shot["data"].as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    pub fn assert_no_errors(&self) {
        assert!(
            self.errors.is_empty(),
            "the page reported errors: {:#?}",
            self.errors
        );
    }
}

/// Standard base64 (DevTools' screenshots); no crate in the workspace offers it.
pub fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut bits, mut held) = (0u32, 0u32);
    for c in text.bytes().filter(|c| *c != b'=') {
        let value = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        bits = (bits << 6) | value;
        held += 6;
        if held >= 8 {
            held -= 8;
            out.push((bits >> held) as u8);
            bits &= (1 << held) - 1;
        }
    }
    out
}

pub struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts headless Chromium with remote debugging and returns its first page's WebSocket.
pub fn chromium(profile: &std::path::Path) -> (Browser, String) {
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
