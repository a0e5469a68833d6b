//! The README's server and client examples run as written: the built example binaries, the
//! client against the server on a free loopback port.

use std::time::Duration;

use tokio::process::Command;

mod support;

use support::{example, start_readme_server};

#[tokio::test]
async fn the_readme_client_gets_five_from_the_readme_server() {
    let mut server = start_readme_server().await;
    let url = server.url.clone();
    let client =
        Command::new(example("readme_client")).env("MCP_WS_URL", &url).kill_on_drop(true).output();
    let output = tokio::time::timeout(Duration::from_secs(20), client)
        .await
        .expect("the client finishes within 20 s")
        .expect("run the client example");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "5\n");
    server.process.kill().await.expect("stop the server");
}
