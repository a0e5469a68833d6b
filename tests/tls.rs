//! wss:// on both runtimes: every client × server pair over real TLS on loopback with a CA made
//! at run time, and the three failures a user must be able to tell apart (an unknown CA, a
//! certificate for another name, a plain server on a wss:// URL), each on both runtimes.

use std::time::Duration;

use mcp_ws_driver::core::mcp::{ContentBlock, Implementation};
use mcp_ws_driver::dial::DialError;
use mcp_ws_driver::{
    AuthCheck, ClientConfig, ClientTls, ConnectError, ServerConfig, ServerTls, StaticToken,
    TlsFailure,
};
use mcp_ws_smol::Smol;
use mcp_ws_tests::pki::TestPki;
use mcp_ws_tests::{Rt, TestServer, block_on, server_config, within};
use mcp_ws_tokio::Tokio;
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(10);

fn tls_config(pki: &TestPki) -> ServerConfig {
    let mut config = server_config();
    config.tls = Some(
        ServerTls::from_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()).expect("server TLS"),
    );
    config
}

fn client(pki: &TestPki) -> ClientConfig {
    let tls = ClientTls::only_ca_pem(pki.ca_pem.as_bytes()).expect("CA");
    ClientConfig::new(Implementation::new("tls-client", "0.0.1")).reconnect(None).tls(tls)
}

/// Connects on `rt` and returns the result of `add(2, 3)` as text, or the connect error.
fn add_over(rt: Rt, url: &str, config: ClientConfig) -> Result<String, ConnectError> {
    let url = url.to_string();
    block_on(rt, async move {
        let connected = match rt {
            Rt::Tokio => within(&Tokio::new(), LIMIT, mcp_ws_tokio::connect(&url, config)).await,
            Rt::Smol => within(&Smol::new(), LIMIT, mcp_ws_smol::connect(&url, config)).await,
        };
        let client = connected.expect("connect finished in time")?;
        let result = client.call_tool("add", json!({"a": 2, "b": 3})).await.expect("add");
        client.close().await;
        match result.content.as_slice() {
            [ContentBlock::Text(text)] => Ok(text.text.clone()),
            other => Ok(format!("{other:?}")),
        }
    })
}

fn tls_failure(result: Result<String, ConnectError>) -> TlsFailure {
    match result {
        Err(ConnectError::Dial(DialError::Tls(failure))) => failure,
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

const RUNTIMES: [Rt; 2] = [Rt::Tokio, Rt::Smol];

#[test]
fn every_runtime_pair_speaks_mcp_over_wss() {
    let pki = TestPki::loopback();
    for server_rt in RUNTIMES {
        let server = TestServer::start(server_rt, tls_config(&pki));
        assert!(server.url.starts_with("wss://127.0.0.1:"), "{}", server.url);
        for client_rt in RUNTIMES {
            let text = add_over(client_rt, &server.url, client(&pki))
                .unwrap_or_else(|e| panic!("{client_rt:?} → {server_rt:?}: {e}"));
            assert_eq!(text, "5", "{client_rt:?} → {server_rt:?}");
            // SNI and the name check also work for a DNS name.
            let by_name = server.url.replace("127.0.0.1", "localhost");
            assert_eq!(add_over(client_rt, &by_name, client(&pki)).expect("by name"), "5");
        }
        server.shutdown();
    }
}

#[test]
fn a_certificate_from_an_unknown_ca_is_named_as_such() {
    let pki = TestPki::loopback();
    let stranger = TestPki::loopback();
    for rt in RUNTIMES {
        let server = TestServer::start(rt, tls_config(&pki));
        let failure = tls_failure(add_over(rt, &server.url, client(&stranger)));
        assert_eq!(failure, TlsFailure::UnknownCa, "{rt:?}");
        assert!(failure.to_string().contains("unknown certificate authority"));
        // The default roots (public CAs only) do not trust a private CA either.
        let public_only = ClientConfig::new(Implementation::new("c", "0")).reconnect(None);
        assert_eq!(tls_failure(add_over(rt, &server.url, public_only)), TlsFailure::UnknownCa);
        server.shutdown();
    }
}

#[test]
fn a_certificate_for_another_name_is_a_name_mismatch() {
    let pki = TestPki::new(&["mcp.example.com"]);
    for rt in RUNTIMES {
        let server = TestServer::start(rt, tls_config(&pki));
        let failure = tls_failure(add_over(rt, &server.url, client(&pki)));
        assert_eq!(failure, TlsFailure::NameMismatch { host: "127.0.0.1".into() }, "{rt:?}");
        assert!(failure.to_string().contains("not valid for the name 127.0.0.1"), "{failure}");
        server.shutdown();
    }
}

#[test]
fn a_plain_server_on_a_wss_url_is_reported_as_not_speaking_tls() {
    let pki = TestPki::loopback();
    for rt in RUNTIMES {
        let server = TestServer::start(rt, server_config());
        let url = server.url.replace("ws://", "wss://");
        let failure = tls_failure(add_over(rt, &url, client(&pki)));
        assert_eq!(failure, TlsFailure::NotTls, "{rt:?}");
        assert!(failure.to_string().contains("did not speak TLS"), "{failure}");
        server.shutdown();
    }
}

#[test]
fn a_token_over_wss_gets_in_and_a_missing_one_gets_a_401_with_the_reason() {
    let pki = TestPki::loopback();
    let mut config = tls_config(&pki);
    config.auth = Some(AuthCheck::new(StaticToken::new("tls-s3cr3t")));
    for rt in RUNTIMES {
        let server = TestServer::start(rt, config.clone());
        let with = client(&pki).bearer_token("tls-s3cr3t");
        assert_eq!(add_over(rt, &server.url, with).expect("with the token"), "5");
        let error = add_over(rt, &server.url, client(&pki)).expect_err("without the token");
        match &error {
            ConnectError::Dial(DialError::Status { status: 401, reason, .. }) => {
                assert!(reason.contains("needs a bearer token"), "{reason}");
            }
            other => panic!("expected a 401, got {other:?}"),
        }
        assert!(error.to_string().contains("HTTP 401 Unauthorized"), "{error}");
        server.shutdown();
    }
}

#[test]
fn a_ws_url_to_a_tls_server_gets_a_plain_400_saying_to_use_wss() {
    let pki = TestPki::loopback();
    for rt in RUNTIMES {
        let server = TestServer::start(rt, tls_config(&pki));
        let url = server.url.replace("wss://", "ws://");
        match add_over(rt, &url, client(&pki)) {
            Err(ConnectError::Dial(DialError::Status { status: 400, reason, .. })) => {
                assert!(reason.contains("connect with wss://"), "{reason}");
            }
            other => panic!("{rt:?}: expected a 400, got {other:?}"),
        }
        server.shutdown();
    }
}

#[test]
fn a_reloaded_certificate_serves_new_connections_without_a_restart() {
    let old = TestPki::loopback();
    let files = old.files();
    let tls = ServerTls::from_pem_files(&files.cert, &files.key).expect("from files");
    let mut config = server_config();
    config.tls = Some(tls.clone());
    let server = TestServer::start(Rt::Tokio, config);
    assert_eq!(add_over(Rt::Tokio, &server.url, client(&old)).expect("old identity"), "5");
    let renewed = TestPki::loopback();
    std::fs::write(&files.cert, &renewed.cert_pem).expect("write cert");
    std::fs::write(&files.key, &renewed.key_pem).expect("write key");
    // Still the old one until reloaded.
    assert_eq!(add_over(Rt::Tokio, &server.url, client(&old)).expect("before reload"), "5");
    tls.reload().expect("reload");
    assert_eq!(add_over(Rt::Smol, &server.url, client(&renewed)).expect("new identity"), "5");
    assert_eq!(tls_failure(add_over(Rt::Tokio, &server.url, client(&old))), TlsFailure::UnknownCa);
    // A broken file keeps the identity in use.
    std::fs::write(&files.key, "not a key").expect("write");
    assert!(tls.reload().is_err());
    assert_eq!(add_over(Rt::Tokio, &server.url, client(&renewed)).expect("kept"), "5");
    server.shutdown();
}
