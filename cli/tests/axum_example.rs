//! CI runs the axum example against `mcp-ws call`: the example's application (the same code
//! as `cargo run -p mcp-ws --features axum --example axum`) on a free loopback port, called by
//! the binary with and without the token its middleware wants.

use std::process::Command;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_mcp-ws");

#[path = "../../mcp-ws/examples/axum.rs"]
mod axum_example;

#[test]
fn mcp_ws_call_gets_five_from_the_axum_example_and_is_refused_without_its_token() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("ws://{}/mcp", listener.local_addr().unwrap());
    let app = axum_example::app("s3cret".into())
        .into_make_service_with_connect_info::<mcp_ws::axum::Addrs>();
    let served = runtime.spawn(async move { axum::serve(listener, app).await });

    let call = |extra: &[&str]| {
        Command::new(BINARY)
            .args(["call", &url, "add", r#"{"a": 2, "b": 3}"#, "--timeout", "20"])
            .args(extra)
            .env_remove("MCP_WS_AUTH_TOKEN")
            .output()
            .expect("run mcp-ws call")
    };
    let ok = call(&["--auth-token", "s3cret"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "5");

    let refused = call(&[]);
    assert!(!refused.status.success(), "no token must fail");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("401") || stderr.contains("token needed"), "{stderr}");

    served.abort();
    runtime.shutdown_timeout(Duration::from_secs(5));
}
