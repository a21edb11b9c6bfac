//! PostgreSQL over TLS, as a database on another machine is reached: the
//! URL's `sslmode=verify-full` and `sslrootcert` make the host check the
//! server's certificate against the operator's CA and its name, a server
//! whose certificate another CA signed is refused before anything is
//! sent, and a server that accepts only TLS refuses a plain connection.
//! The server is a real PostgreSQL configured as a hardened one is
//! (`hostssl` lines, `hostnossl ... reject`); the CA is minted per test.

use seatwarden_store::Storage;
use seatwarden_tests::fixtures::{now_ms, repo_root};
use seatwarden_tests::postgres::{Cluster, clusters_dir};
use seatwarden_tests::tls::TestCa;
use sqlx::Row;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls_verifies_the_server_and_a_plain_connection_is_refused() {
    let cluster = Cluster::create(&clusters_dir().join(format!("tls-{}", std::process::id())));
    let ca = TestCa::new("Seatwarden test database CA");
    cluster.require_tls(&ca.issue(&["localhost"]));
    let url = cluster.new_database();
    let dir = repo_root()
        .join("target/test-tmp")
        .join(format!("database-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trusted = dir.join("database-ca.pem");
    std::fs::write(&trusted, &ca.pem).unwrap();
    let stranger = dir.join("other-ca.pem");
    std::fs::write(&stranger, TestCa::new("Someone else's CA").pem).unwrap();

    // Verified: the CA the operator names, and the name in the URL.
    let by_name = url.replacen("@127.0.0.1:", "@localhost:", 1);
    let verified = format!(
        "{by_name}?sslmode=verify-full&sslrootcert={}",
        trusted.display()
    );
    let storage = Storage::connect_postgres(&verified).await.unwrap();
    let tenant = storage.ensure_tenant("acme", now_ms()).await.unwrap();
    assert_eq!(storage.find_tenant("acme").await.unwrap(), Some(tenant));
    // The server's own view: every session of Seatwarden's role is
    // encrypted (asked as the superuser, over the socket-free admin URL).
    let name = url.rsplit('/').next().unwrap();
    let admin = sqlx::PgPool::connect(&cluster.admin_url(name))
        .await
        .unwrap();
    let sessions = sqlx::query(
        "SELECT COUNT(*) AS sessions, COUNT(*) FILTER (WHERE s.ssl) AS encrypted
         FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
         WHERE a.usename = 'seatwarden' AND a.datname = $1",
    )
    .bind(name)
    .fetch_one(&admin)
    .await
    .unwrap();
    let (all, encrypted): (i64, i64) = (sessions.get("sessions"), sessions.get("encrypted"));
    assert!(all > 0, "the store holds sessions open");
    assert_eq!(encrypted, all, "every session is over TLS");
    drop(storage);

    // A certificate another CA signed: refused, whatever else is right.
    let err = Storage::connect_postgres(&format!(
        "{by_name}?sslmode=verify-full&sslrootcert={}",
        stranger.display()
    ))
    .await
    .expect_err("an untrusted server certificate is refused");
    let text = format!("{:#}", anyhow::Error::new(err));
    assert!(
        text.contains("connecting to database") && text.to_lowercase().contains("certificate"),
        "says which database and that its certificate is not trusted: {text}"
    );

    // The right CA, the wrong name (the certificate names `localhost`,
    // not the address): `verify-full` checks the host too.
    let err = Storage::connect_postgres(&format!(
        "{url}?sslmode=verify-full&sslrootcert={}",
        trusted.display()
    ))
    .await
    .expect_err("a certificate for another name is refused");
    let text = format!("{:#}", anyhow::Error::new(err));
    assert!(
        text.to_lowercase().contains("certificate") || text.contains("NotValidForName"),
        "{text}"
    );

    // No TLS at all: the server refuses it.
    let err = Storage::connect_postgres(&format!("{url}?sslmode=disable"))
        .await
        .expect_err("a plain connection is refused");
    let text = format!("{:#}", anyhow::Error::new(err));
    assert!(
        text.contains("no encryption") || text.contains("pg_hba.conf"),
        "the server's reason: {text}"
    );
}
