//! HTTPS behind a private CA, made in the test: without `--cacert` the run
//! stops with the certificate sentence (exit 3), not "unreachable"; with the
//! CA, by `--cacert` or through the platform's trust store (`SSL_CERT_FILE`,
//! which the native roots read as curl does), it gets past TLS to the server.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;

/// A CA (its PEM) and a server certificate for 127.0.0.1 it signed.
fn private_ca() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca_cert, &ca_key)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    (ca_cert.pem(), server.der().clone(), key)
}

/// Serves HTTPS on 127.0.0.1:0 from a thread of its own: `/health` 200, the
/// rest 404 (enough to show a connection got through TLS).
fn serve_https(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> SocketAddr {
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to serve.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(|req| async move {
                        let status = if req.uri().path() == "/health" {
                            200
                        } else {
                            404
                        };
                        let mut resp = hyper::Response::new(axum::body::Body::from("{}"));
                        *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        Ok::<_, std::convert::Infallible>(resp)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
    });
    addr
}

/// `gonogo run` against `addr` with `args`, none of gonogo's variables set
/// but `env`, the report in `dir`.
fn run(addr: SocketAddr, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gonogo"));
    for setting in gonogo_harness::config::SETTINGS {
        for name in setting.env {
            cmd.env_remove(name);
        }
    }
    cmd.env_remove("GONOGO_CONFIG")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .current_dir(dir)
        .args([
            "run",
            "--target",
            &format!("https://{addr}"),
            "--latency-samples",
            "1",
        ])
        .arg("--report-dir")
        .arg(dir.join("out"))
        .args(args)
        .envs(env.iter().copied());
    cmd.output().expect("the gonogo binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

#[test]
fn a_private_ca_is_a_certificate_sentence_until_the_ca_is_given() {
    let (ca_pem, cert, key) = private_ca();
    let addr = serve_https(cert, key);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();

    let refused = run(addr, dir.path(), &[], &[]);
    assert_eq!(
        (refused.status.code(), stderr(&refused)),
        (
            Some(3),
            format!("gonogo: the target https://{addr}'s TLS certificate is not trusted (UnknownIssuer): pass --cacert FILE with the CA that signed it")
        )
    );

    // Past TLS, the tiny server fails the suites: any verdict but exit 3 will do.
    let with_flag = run(addr, dir.path(), &["--cacert", "ca.pem"], &[]);
    assert_ne!(with_flag.status.code(), Some(3), "{}", stderr(&with_flag));
    assert!(dir.path().join("out/go-no-go.json").exists());

    let ca = ca.to_str().unwrap();
    let system_store = run(addr, dir.path(), &[], &[("SSL_CERT_FILE", ca)]);
    assert_ne!(
        system_store.status.code(),
        Some(3),
        "{}",
        stderr(&system_store)
    );
}

#[test]
fn a_cacert_that_is_not_pem_exits_3_with_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), "not a certificate").unwrap();
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let out = run(addr, dir.path(), &["--cacert", "ca.pem"], &[]);
    assert_eq!(
        (out.status.code(), stderr(&out)),
        (
            Some(3),
            "gonogo: the CA file ca.pem cannot be used (it holds no PEM certificate); pass a PEM file of the CA certificate to --cacert".to_string()
        )
    );
}
