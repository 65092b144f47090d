//! Docker-level cases: forwarding refused, docker group, the Engine API through the tunnel.

use futures_util::StreamExt as _;
use rke::error::ErrorKind;
use rke::transport::TransportError;

use super::{Env, node_sh, one, restart_sshd};

pub(crate) async fn stream_local_forwarding_disabled(env: &Env) {
    let (name, container, address) = &env.nodes[1];
    node_sh(
        container,
        "sed -i '1i AllowStreamLocalForwarding no' /etc/ssh/sshd_config",
    );
    restart_sshd(container, address);
    let root = one(env.target(1, "root"), &env.strict()).await;
    let user = one(env.target(1, "rke"), &env.strict()).await;
    node_sh(
        container,
        "sed -i '1{/^AllowStreamLocalForwarding no$/d}' /etc/ssh/sshd_config",
    );
    restart_sshd(container, address);
    for (user, result) in [("root", root), ("rke", user)] {
        let err = result.unwrap_err();
        assert_eq!(
            err,
            TransportError::StreamLocalForbidden {
                node: format!("{name}/{user}"),
                socket: "/var/run/docker.sock".into(),
                // OpenSSH 9.2 (Debian 12) answers code 2; older releases said code 1,
                // "administratively prohibited" (the text RKE1 users know).
                reason: "connect failed".into(),
                certain: true,
            }
        );
        assert!(err.to_string().starts_with(&format!(
            "AllowStreamLocalForwarding is disabled on {name}/{user} (sshd refused the \
             direct-streamlocal channel to /var/run/docker.sock: 'connect failed'): set \
             AllowStreamLocalForwarding yes"
        )));
    }
    one(env.target(1, "rke"), &env.strict()).await.unwrap();
}

pub(crate) async fn user_not_in_docker_group(env: &Env) {
    let (name, container, _) = &env.nodes[0];
    node_sh(
        container,
        "id nodocker >/dev/null 2>&1 || useradd -m -s /bin/sh nodocker; install -d -m 700 -o nodocker -g nodocker /home/nodocker/.ssh; \
         install -m 600 -o nodocker -g nodocker /home/rke/.ssh/authorized_keys /home/nodocker/.ssh/authorized_keys",
    );
    let result = one(env.target(0, "nodocker"), &env.strict()).await;
    node_sh(container, "userdel -r nodocker 2>/dev/null || true");
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Docker);
    assert!(
        err.to_string().starts_with(&format!(
            "user nodocker is not in the docker group on {name}/nodocker (permission denied on /var/run/docker.sock; groups: nodocker)"
        )),
        "{err}"
    );
}
pub(crate) async fn docker_api_through_the_tunnel(env: &Env) {
    use bollard::auth::DockerCredentials;
    use bollard::models::ContainerCreateBody;
    use bollard::query_parameters::{
        CreateContainerOptionsBuilder, CreateImageOptionsBuilder, LogsOptionsBuilder,
        RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder, WaitContainerOptionsBuilder,
    };
    let n = one(env.target(0, "rke"), &env.strict()).await.unwrap();
    let d = n.docker();
    assert_eq!(d.ping().await.unwrap(), "OK");

    let creds = DockerCredentials {
        username: Some(env.registry_user.clone()),
        password: Some(env.registry_password.clone()),
        serveraddress: Some(env.registry.clone()),
        ..Default::default()
    };
    let mut pull = d.create_image(
        Some(
            CreateImageOptionsBuilder::default()
                .from_image(&env.busybox)
                .build(),
        ),
        None,
        Some(creds),
    );
    let mut events = 0;
    while let Some(ev) = pull.next().await {
        ev.unwrap();
        events += 1;
    }
    assert!(events > 0);
    // Without credentials the registry refuses: the error comes through the tunnel intact.
    let mut denied = d.create_image(
        Some(
            CreateImageOptionsBuilder::default()
                .from_image(&format!("{}/rke-e2e/pause:3.2", env.registry))
                .build(),
        ),
        None,
        None,
    );
    let mut refused = false;
    while let Some(ev) = denied.next().await {
        if ev.is_err() {
            refused = true;
        }
    }
    assert!(
        refused,
        "anonymous pull from the authenticated registry must fail"
    );

    let name = "rke-transport-e2e";
    let _ = d
        .remove_container(
            name,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await;
    let body = ContainerCreateBody {
        image: Some(env.busybox.clone()),
        cmd: Some(vec![
            "sh".into(),
            "-c".into(),
            "echo hello-from-rke; echo oops >&2".into(),
        ]),
        ..Default::default()
    };
    let created = d
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(name).build()),
            body,
        )
        .await
        .unwrap();
    d.start_container(name, None).await.unwrap();
    let mut wait = d.wait_container(name, Some(WaitContainerOptionsBuilder::default().build()));
    while let Some(w) = wait.next().await {
        assert_eq!(w.unwrap().status_code, 0);
    }
    let inspected = d.inspect_container(name, None).await.unwrap();
    assert_eq!(inspected.id.as_deref(), Some(created.id.as_str()));
    assert_eq!(inspected.state.and_then(|s| s.exit_code), Some(0));
    let mut logs = d.logs(
        name,
        Some(
            LogsOptionsBuilder::default()
                .stdout(true)
                .stderr(true)
                .build(),
        ),
    );
    let mut text = String::new();
    while let Some(chunk) = logs.next().await {
        text.push_str(&chunk.unwrap().to_string());
    }
    assert!(
        text.contains("hello-from-rke") && text.contains("oops"),
        "{text}"
    );
    d.remove_container(name, None).await.unwrap();
    d.remove_image(
        &env.busybox,
        Some(RemoveImageOptionsBuilder::default().build()),
        None,
    )
    .await
    .unwrap();
}

pub(crate) async fn tcp_tunnels(env: &Env) {
    use tokio::io::AsyncReadExt as _;
    let n = one(env.target(0, "rke"), &env.strict()).await.unwrap();
    // The node's own sshd, reached from the node: its banner proves the bytes flow.
    let mut s = n.open_tcp("127.0.0.1", 22).await.unwrap();
    let mut banner = [0u8; 8];
    s.read_exact(&mut banner).await.unwrap();
    assert_eq!(&banner, b"SSH-2.0-");
    // Another node, by address, from this node's point of view, via the local forwarder.
    let fwd = n.forward_local(&env.nodes[1].2, 22).await.unwrap();
    let mut c = tokio::net::TcpStream::connect(fwd.local_addr())
        .await
        .unwrap();
    c.read_exact(&mut banner).await.unwrap();
    assert_eq!(&banner, b"SSH-2.0-");
}
