//! The secret shapes against real-looking secrets and against text that
//! only resembles them.

use super::*;

/// The kinds found in `text`.
fn kinds(text: &str) -> Vec<&'static str> {
    find(text).into_iter().map(|s| s.kind).collect()
}

/// Asserts that `text` holds exactly one secret, of `kind`, whose value
/// `value` is gone from the redacted text, and that the rest of the line
/// survives.
fn redacts(text: &str, kind: &str, value: &str) {
    let (out, found) = redact(text);
    assert_eq!(
        found.iter().map(|s| s.kind).collect::<Vec<_>>(),
        [kind],
        "{text}"
    );
    assert!(!out.contains(value), "{value} survived in {out}");
    assert!(out.contains(&format!("[REDACTED: {kind}]")), "{out}");
}

#[test]
fn cloud_keys_are_found() {
    redacts(
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
        "AWS access key",
        "AKIAIOSFODNN7EXAMPLE",
    );
    redacts(
        "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS secret access key",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    redacts(
        "temporary: ASIAJEXAMPLEXEG2JICE in the session",
        "AWS access key",
        "ASIAJEXAMPLEXEG2JICE",
    );
    redacts(
        "maps key AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW used",
        "GCP API key",
        "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",
    );
    let service_account = r#"{
  "type": "service_account",
  "project_id": "billing-prod",
  "private_key_id": "3f2a9c1e0b7d4e6f8a9b0c1d2e3f4a5b6c7d8e9f",
  "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
  "client_email": "migrator@billing-prod.iam.gserviceaccount.com"
}"#;
    let (out, found) = redact(service_account);
    assert_eq!(
        found.iter().map(|s| (s.kind, s.line)).collect::<Vec<_>>(),
        [
            ("GCP service account private key id", 4),
            ("GCP service account private key", 5)
        ]
    );
    assert!(!out.contains("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), "{out}");
    assert!(!out.contains("3f2a9c1e0b7d"), "{out}");
    assert!(
        out.contains("migrator@billing-prod"),
        "the rest stays: {out}"
    );
    redacts(
        "DefaultEndpointsProtocol=https;AccountName=billing;AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy==;EndpointSuffix=core.windows.net",
        "Azure storage key",
        "Zm9vYmFyYmF6cXV4",
    );
    redacts(
        "https://billing.blob.core.windows.net/dumps?sv=2022-11-02&ss=b&sig=Q8sK2n%2FvJx4XyZa7Lm9Pq1Rs3Tu5Vw7Xy9Za1Bc3De%3D",
        "Azure shared access signature",
        "Q8sK2n%2FvJx4XyZa7Lm9",
    );
}

#[test]
fn private_keys_are_redacted_whole_and_named_by_their_first_line() {
    let text = "config follows\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7x\nZm9vYmFy\n-----END RSA PRIVATE KEY-----\nafter\n";
    let (out, found) = redact(text);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].kind, found[0].line), ("private key", 2));
    assert_eq!(out, "config follows\n[REDACTED: private key]\nafter\n");
    for header in [
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "-----BEGIN EC PRIVATE KEY-----",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----",
    ] {
        assert_eq!(
            kinds(&format!("{header}\nabc\n")),
            ["private key"],
            "{header}"
        );
    }
    // A key cut off before its END line is redacted to the end.
    let (out, _) = redact("-----BEGIN PRIVATE KEY-----\nMIIEvQ\n");
    assert_eq!(out, "[REDACTED: private key]");
}

#[test]
fn passwords_in_every_common_form() {
    for (text, value) in [
        ("password=hunter2", "hunter2"),
        ("DB_PASSWORD=s3cr3t-Pa55", "s3cr3t-Pa55"),
        ("PGPASSWORD=topsecret psql -h db", "topsecret"),
        ("host=db user=app password=Xy7!q dbname=billing", "Xy7!q"),
        ("  passwd: Tr0ub4dor&3", "Tr0ub4dor&3"),
        (
            "password: \"correct horse battery staple\"",
            "correct horse battery",
        ),
        ("\"password\": \"p@ss w0rd\",", "p@ss w0rd"),
        ("client_secret = 'abc123def456'", "abc123def456"),
        ("api_key: 9d8f7a6b5c4d3e2f", "9d8f7a6b5c4d3e2f"),
        ("https://db/login?user=ana&password=n0tsafe&x=1", "n0tsafe"),
        ("spring.datasource.password=Spr1ng!", "Spr1ng!"),
    ] {
        redacts(text, "password", value);
    }
}

#[test]
fn tokens_and_urls_with_credentials() {
    redacts(
        "curl -H 'Authorization: Bearer 9f8e7d6c5b4a3f2e1d0c' https://api",
        "bearer token",
        "9f8e7d6c5b4a3f2e1d0c",
    );
    redacts(
        "Authorization: Basic YWRtaW46aHVudGVyMg==",
        "basic auth credentials",
        "YWRtaW46aHVudGVyMg==",
    );
    redacts(
        "psql postgres://admin:S3cret!@db.internal:5432/billing",
        "URL with credentials",
        "S3cret!",
    );
    let (out, _) = redact("git clone https://ana:ghtoken123@git.example.com/x.git");
    assert!(
        out.contains("https://ana:[REDACTED: URL with credentials]@git.example.com"),
        "the user and host stay: {out}"
    );
    redacts(
        "GH_TOKEN=ghp_1234567890abcdefghijklmnopqrstuvwxyzAB",
        "GitHub token",
        "ghp_1234567890",
    );
    redacts(
        "token github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "GitHub token",
        "github_pat_11ABCDEFG",
    );
    redacts(
        "SLACK=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "Slack token",
        "xoxb-123456789012",
    );
    redacts(
        "notify https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "Slack webhook",
        "T00000000/B00000000",
    );
    redacts(
        "OPENAI_API_KEY is sk-proj-Ab12Cd34Ef56Gh78Ij90KlMn",
        "API key",
        "sk-proj-Ab12Cd34",
    );
    redacts(
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "JSON web token",
        "dozjgNryP4J3",
    );
}

#[test]
fn look_alikes_are_left_alone() {
    for text in [
        "Reset the password: ask the DBA on call",
        "password=${DB_PASSWORD}",
        "password: <from the vault>",
        "PASSWORD=$(vault read -field=pw secret/db)",
        "password: \"\"",
        "password=****",
        "secretary=Ann",
        "Bearer authentication is used by the API",
        "bearer tokens expire after an hour",
        "AKIA is how AWS access keys start",
        "https://db.internal:5432/billing",
        "ssh git@github.com:org/repo.git",
        "The Point of No Return is step 3",
        "max_tokens = 4096",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
        "task_scheduler_configuration_file",
        "password: [REDACTED: password]",
    ] {
        assert_eq!(kinds(text), Vec::<&str>::new(), "{text}");
        assert_eq!(redact(text).0, text);
    }
}

#[test]
fn lines_are_counted_and_every_secret_is_found_once() {
    let text =
        "line one\npassword=abc123\nAKIAIOSFODNN7EXAMPLE and password=AKIAIOSFODNN7EXAMPLE\n";
    let found = find(text);
    let summary: Vec<(&str, usize)> = found.iter().map(|s| (s.kind, s.line)).collect();
    assert_eq!(
        summary,
        [
            ("password", 2),
            ("AWS access key", 3),
            ("AWS access key", 3)
        ],
        "overlapping shapes give one secret each: {found:?}"
    );
    let (out, _) = redact(text);
    assert!(!out.contains("AKIA") && !out.contains("abc123"), "{out}");
    // Redacting twice changes nothing more: the marker is no secret.
    assert_eq!(redact(&out).0, out);
}

#[test]
fn multibyte_text_around_a_secret_is_kept() {
    let text = "Zugang für Ärzte: password=Grüße123 — danke\n";
    let (out, found) = redact(text);
    assert_eq!(found.len(), 1);
    assert_eq!(
        out,
        "Zugang für Ärzte: password=[REDACTED: password] — danke\n"
    );
}
