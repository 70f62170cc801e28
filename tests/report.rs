//! Reports and history, driven through the binary against the fake server:
//! the prompt kept with each draft (as sent, redacted, hashed in the
//! journal and checked by `verify`), `log` as text and JSON, tokens in
//! `list`, and `report` in Markdown, HTML and JSON, each parsed, the HTML
//! also loaded in a real headless browser where one is installed.
//!
//! Two runs: a small workflow of our own (`fixtures/report/cache-swap.md`)
//! taken through a revision with feedback, an approval with a note and to
//! its end; and the seed workflow taken to a step of its plan, given
//! evidence, then aborted.

use std::path::{Path, PathBuf};

use migagent::store::sha256_hex;
use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
use scraper::{Html, Selector};
use serde_json::Value;

use crate::support::{pending, FakeServer, Sandbox, API_KEY};

const NEED: &str = "Replace the session cache cluster before the vendor drops support";
const DB_PASSWORD: &str = "Sup3r-S3cret!";
const FEEDBACK: &str = "Name the session store as a client too";
const NOTE: &str = "Good to go for the Tuesday window";

/// The model's inventory: both sections, and a script tag a page must
/// never run.
const CSW1_ANSWER: &str = "## Clients\n- checkout service\n- <script>alert(1)</script> widget\n\n## Risks\n- Cold cache after cutover: see [runbook](https://wiki.example/runbook)\n";

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

async fn ok(sandbox: &Sandbox, args: &[&str], code: i32) -> String {
    let (got, out, err) = sandbox.cmd(args).run().await;
    assert_eq!(got, code, "migagent {args:?}:\n{out}\n{err}");
    out
}

/// The cache-swap run `swap`: CSW-1 revised by ana with feedback, redrafted,
/// approved by bo with a note; CSW-2 approved; the run complete. The
/// context file holds a password that redaction keeps from the server.
async fn cache_swap_run() -> (Sandbox, FakeServer) {
    let sandbox = Sandbox::new().with_api_key();
    sandbox.write_config("[secrets]\nredact = \"always\"\n");
    let fake = FakeServer::new().answer("CSW-1", CSW1_ANSWER).start().await;
    let base = fake.base_url();
    let ctx = sandbox.write(
        "cache.env",
        &format!("# cache settings\nPGPASSWORD={DB_PASSWORD}\nnodes=3\n"),
    );
    let wf = fixture("report/cache-swap.md");
    let args = [
        "run",
        &wf,
        "--no-input",
        "--need",
        NEED,
        "--base-url",
        &base,
        "--run-id",
        "swap",
        "--context",
        ctx.to_str().unwrap(),
    ];
    ok(&sandbox, &args, 10).await;
    assert_eq!(pending(&sandbox.status("swap").await), "CSW-1");
    ok(
        &sandbox,
        &["revise", "swap", "--feedback", FEEDBACK, "--as", "ana"],
        0,
    )
    .await;
    let (code, out, err) = sandbox.resume("swap", &base).await;
    assert_eq!(code, 10, "{out}{err}");
    ok(
        &sandbox,
        &["approve", "swap", "--as", "bo", "--note", NOTE],
        0,
    )
    .await;
    let (code, out, err) = sandbox.resume("swap", &base).await;
    assert_eq!(code, 10, "{out}{err}");
    assert_eq!(pending(&sandbox.status("swap").await), "CSW-2");
    sandbox.approve("swap").await;
    let (code, out, err) = sandbox.resume("swap", &base).await;
    assert_eq!(code, 0, "the run completes:\n{out}{err}");
    (sandbox, fake)
}

/// (level, text) of every heading in a Markdown document.
fn md_headings(md: &str) -> Vec<(HeadingLevel, String)> {
    let mut out = Vec::new();
    let mut current: Option<(HeadingLevel, String)> = None;
    for event in Parser::new(md) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => current = Some((level, String::new())),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, text)) = current.as_mut() {
                    text.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => out.extend(current.take()),
            _ => {}
        }
    }
    out
}

/// The text of every list item in a Markdown document.
fn md_list_items(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut text = String::new();
    for event in Parser::new(md) {
        match event {
            Event::Start(Tag::Item) => {
                depth += 1;
                if depth == 1 {
                    text.clear();
                }
            }
            Event::Text(t) | Event::Code(t) if depth > 0 => text.push_str(&t),
            Event::End(TagEnd::Item) => {
                depth -= 1;
                if depth == 0 {
                    out.push(text.clone());
                }
            }
            _ => {}
        }
    }
    out
}

/// Checks an HTML report stands alone: no script, nothing fetched, a
/// print stylesheet; returns the parsed page.
fn assert_self_contained(html: &str) -> Html {
    let page = Html::parse_document(html);
    let all = |css: &str| Selector::parse(css).unwrap();
    assert_eq!(page.select(&all("script")).count(), 0, "no script element");
    assert_eq!(page.select(&all("link")).count(), 0, "no linked stylesheet");
    assert_eq!(page.select(&all("iframe, object, embed, img")).count(), 0);
    // In-page anchors (`#id`) are fine; anything with a scheme or a host
    // would be fetched or followed.
    let outside: Vec<String> = page
        .select(&all("[src], [href], [action], [srcset], [poster], [data]"))
        .flat_map(|e| {
            e.value()
                .attrs()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        })
        .filter(|kv| {
            let value = kv
                .split_once('=')
                .map_or("", |(_, v)| v)
                .trim()
                .to_ascii_lowercase();
            ["src=", "href=", "action=", "srcset=", "poster=", "data="]
                .iter()
                .any(|a| kv.starts_with(a))
                && !value.starts_with('#')
        })
        .collect();
    assert!(
        outside.is_empty(),
        "attributes point outside the page: {outside:?}"
    );
    for element in page.root_element().descendent_elements() {
        for (name, value) in element.value().attrs() {
            assert!(!name.starts_with("on"), "event handler {name}={value}");
        }
    }
    let style: String = page.select(&all("style")).map(|s| s.inner_html()).collect();
    assert!(
        style.contains("@media print"),
        "a print stylesheet: {style}"
    );
    assert!(!style.contains("url("), "the CSS fetches nothing: {style}");
    page
}

fn texts(page: &Html, css: &str) -> Vec<String> {
    page.select(&Selector::parse(css).unwrap())
        .map(|e| e.text().collect::<String>())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_draft_keeps_the_prompt_as_sent_without_the_secret_and_verify_checks_it() {
    let (sandbox, fake) = cache_swap_run().await;
    let dir = sandbox.run_dir("swap");
    let sent: Vec<Value> = fake.request_bodies().await;
    let drafted: Vec<Value> = sandbox
        .journal("swap")
        .into_iter()
        .filter(|e| e["event"] == "drafted")
        .collect();
    assert_eq!(drafted.len(), 3, "CSW-1 r1 and r2, CSW-2 r1");
    for (event, expected) in drafted.iter().zip([
        "drafts/CSW-1.r1.prompt.json",
        "drafts/CSW-1.r2.prompt.json",
        "drafts/CSW-2.r1.prompt.json",
    ]) {
        assert_eq!(event["prompt_path"], expected, "{event:#}");
        let bytes = std::fs::read(dir.join(expected)).unwrap();
        assert_eq!(event["prompt_sha256"], sha256_hex(&bytes), "{expected}");
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains(DB_PASSWORD), "{expected} holds the secret");
        assert!(!text.contains(API_KEY), "{expected} holds the API key");
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["schema_version"], 1);
        let body = &doc["requests"][0]["body"];
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["role"], "user");
        assert!(body["model"].is_string(), "{body:#}");
        // Exactly what the server received.
        assert!(
            sent.contains(body),
            "{expected} is not a request the server got"
        );
    }
    let first: Value =
        serde_json::from_slice(&std::fs::read(dir.join("drafts/CSW-1.r1.prompt.json")).unwrap())
            .unwrap();
    let user = first["requests"][0]["body"]["messages"][1]["content"]
        .as_str()
        .unwrap();
    assert!(user.contains(NEED), "{user}");
    assert!(user.contains("PGPASSWORD=[REDACTED: password]"), "{user}");
    let revised: Value =
        serde_json::from_slice(&std::fs::read(dir.join("drafts/CSW-1.r2.prompt.json")).unwrap())
            .unwrap();
    assert!(revised["requests"][0]["body"]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .contains(FEEDBACK));

    let (code, out, err) = sandbox.cmd(&["verify", "swap"]).run().await;
    assert_eq!(code, 0, "{out}{err}");
    let prompt = dir.join("drafts/CSW-1.r1.prompt.json");
    let text = std::fs::read_to_string(&prompt).unwrap();
    std::fs::write(&prompt, text.replace("system", "sys")).unwrap();
    let (code, out, err) = sandbox.cmd(&["verify", "swap"]).run().await;
    assert_eq!(code, 12, "{out}{err}");
    assert!(
        out.contains("drafts/CSW-1.r1.prompt.json (prompt sent of [CSW-1] revision 1"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_and_list_show_the_history_and_the_tokens() {
    let (sandbox, _fake) = cache_swap_run().await;
    let journal = sandbox.journal("swap");
    // The fake server reports 100 prompt and 50 completion tokens a request.
    let requests = journal
        .iter()
        .filter(|e| {
            ["drafted", "repair_requested", "panel_finding"].contains(&e["event"].as_str().unwrap())
        })
        .count() as u64;
    assert_eq!(requests, 3);
    let tokens = requests * 150;

    let out = ok(&sandbox, &["log", "swap", "--json"], 0).await;
    let log: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        log.as_object().unwrap().keys().next().unwrap(),
        "schema_version"
    );
    assert_eq!(log["schema_version"], 1);
    assert_eq!(log["run_id"], "swap");
    let events = log["events"].as_array().unwrap();
    assert_eq!(events.len(), journal.len());
    for (i, (entry, line)) in events.iter().zip(&journal).enumerate() {
        assert_eq!(entry["line"], i as u64 + 1);
        assert_eq!(entry["event"], line["event"]);
        assert_eq!(entry["at"], line["at"]);
        assert!(!entry["summary"].as_str().unwrap().is_empty(), "{entry:#}");
    }
    let revised = events.iter().find(|e| e["event"] == "revised").unwrap();
    assert_eq!(revised["by"], "ana");
    assert_eq!(revised["artifact"], "CSW-1");
    assert!(revised["summary"].as_str().unwrap().contains(FEEDBACK));
    let approved: Vec<&Value> = events.iter().filter(|e| e["event"] == "approved").collect();
    assert_eq!(approved[0]["by"], "bo");
    assert_eq!(approved[1]["by"], "tester");
    let drafted = events.iter().find(|e| e["event"] == "drafted").unwrap();
    assert_eq!(drafted["usage"]["prompt_tokens"], 100);
    assert_eq!(drafted["usage"]["completion_tokens"], 50);
    assert_eq!(log["total_usage"]["prompt_tokens"], requests * 100);

    let text = ok(&sandbox, &["log", "swap"], 0).await;
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].trim_start().starts_with("1  "), "{text}");
    assert!(lines[0].contains("run_started"), "{text}");
    let approval = lines
        .iter()
        .find(|l| l.contains("approved") && l.contains("[CSW-1] r2"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        approval.contains(NOTE) && approval.contains("(bo)"),
        "{approval}"
    );
    assert!(
        text.contains(&format!(
            "Model usage: {tokens} tokens (300 in, 150 out), 3 requests"
        )),
        "{text}"
    );

    let list = ok(&sandbox, &["list"], 0).await;
    let row = list.lines().find(|l| l.starts_with("swap ")).unwrap();
    assert!(row.contains(&format!("{tokens} tokens")), "{list}");
    let list: Value = serde_json::from_str(&ok(&sandbox, &["list", "--json"], 0).await).unwrap();
    assert_eq!(list["runs"][0]["run_id"], "swap");
    assert_eq!(list["runs"][0]["tokens"], tokens);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_in_three_formats_parses_and_says_who_decided_what() {
    let (sandbox, _fake) = cache_swap_run().await;

    // JSON.
    let out = ok(&sandbox, &["report", "swap", "--format", "json"], 0).await;
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report.as_object().unwrap().keys().next().unwrap(),
        "schema_version"
    );
    assert_eq!(report["run_id"], "swap");
    assert_eq!(report["status"], "complete");
    assert_eq!(report["workflow"]["name"], "Cache Swap");
    assert_eq!(report["request"][0]["text"], NEED);
    let ids: Vec<&str> = report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["CSW-1", "CSW-2"]);
    let csw1 = &report["artifacts"][0];
    assert_eq!(csw1["approved_by"], "bo");
    assert_eq!(csw1["note"], NOTE);
    assert_eq!(csw1["revision"], 2);
    assert_eq!(csw1["markdown"], sandbox.artifact("swap", "CSW-1"));
    let decisions: Vec<(String, String, String)> = report["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["action"].as_str().unwrap().to_string(),
                d["by"].as_str().unwrap().to_string(),
                d["note"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("revise".into(), "ana".into(), FEEDBACK.into()),
            ("proceed".into(), "bo".into(), NOTE.into()),
            ("proceed".into(), "tester".into(), String::new()),
        ]
    );
    let revisions = report["revisions"].as_array().unwrap();
    assert_eq!(revisions.len(), 3);
    assert_eq!(revisions[1]["artifact"], "CSW-1");
    assert_eq!(revisions[1]["revision"], 2);
    assert_eq!(revisions[1]["feedback"], FEEDBACK);
    assert_eq!(revisions[1]["prompt_path"], "drafts/CSW-1.r2.prompt.json");
    assert_eq!(report["usage"][0]["requests"], 2);
    assert_eq!(report["usage"][1]["requests"], 1);
    assert_eq!(report["usage"][0]["prompt_tokens"], 200);
    assert_eq!(report["total_usage"]["completion_tokens"], 150);
    assert_eq!(report["evidence"].as_array().unwrap().len(), 0);

    // Markdown (the default).
    let md = ok(&sandbox, &["report", "swap"], 0).await;
    let headings = md_headings(&md);
    let h = |level: HeadingLevel, text: &str| headings.contains(&(level, text.to_string()));
    assert!(h(HeadingLevel::H1, "Run report: swap"), "{headings:?}");
    for section in [
        "Request",
        "Approved artifacts",
        "Decisions",
        "Revisions and feedback",
        "Evidence",
        "Tokens and time",
    ] {
        assert!(h(HeadingLevel::H2, section), "{section}: {headings:?}");
    }
    assert!(
        h(HeadingLevel::H3, "[CSW-1] Client Inventory"),
        "{headings:?}"
    );
    assert!(h(HeadingLevel::H3, "[CSW-2] Cutover Note"), "{headings:?}");
    // The artifact's own sections sit below its heading.
    assert!(h(HeadingLevel::H5, "Clients"), "{headings:?}");
    let items = md_list_items(&md);
    assert!(
        items
            .iter()
            .any(|i| i.contains("(revise) on [CSW-1] revision 1 by ana") && i.contains(FEEDBACK)),
        "{items:#?}"
    );
    assert!(
        items
            .iter()
            .any(|i| i.contains("(proceed) on [CSW-1] revision 2 by bo") && i.contains(NOTE)),
        "{items:#?}"
    );
    assert!(md.contains("| **Total** | 3 | 300 | 150 |"), "{md}");

    // HTML.
    let html = ok(&sandbox, &["report", "swap", "--format", "html"], 0).await;
    let page = assert_self_contained(&html);
    let h3 = texts(&page, "section.artifact h3");
    assert_eq!(h3, ["[CSW-1] Client Inventory", "[CSW-2] Cutover Note"]);
    let by = texts(&page, "table.decisions td.by");
    assert_eq!(by, ["ana", "bo", "tester"]);
    let artifact_text = texts(&page, "#artifact-CSW-1").concat();
    assert!(
        artifact_text.contains("<script>alert(1)</script> widget"),
        "the model's script tag is shown as text: {artifact_text}"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        artifact_text.contains("runbook <https://wiki.example/runbook>"),
        "{artifact_text}"
    );
    let rows = texts(&page, "table.usage tr.total td");
    assert_eq!(rows, ["Total", "3", "300", "150", rows[4].as_str()]);

    // -o writes the same document, and never into the run.
    std::fs::create_dir(sandbox.path().join("out")).unwrap();
    let (code, _, err) = sandbox
        .cmd(&["report", "swap", "--format", "html", "-o", "out/swap.html"])
        .run()
        .await;
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(sandbox.path().join("out/swap.html")).unwrap();
    assert_eq!(written, html);
    let run_json = sandbox.run_dir("swap").join("run.json");
    let before = std::fs::read(&run_json).unwrap();
    let (code, _, err) = sandbox
        .cmd(&["report", "swap", "-o", run_json.to_str().unwrap()])
        .run()
        .await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("inside the run's folder"), "{err}");
    assert_eq!(std::fs::read(&run_json).unwrap(), before);
    let (code, _, _) = sandbox
        .cmd(&["report", "swap", "--format", "json", "-o", "out/swap.json"])
        .run()
        .await;
    assert_eq!(code, 0);
    let from_file: Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.path().join("out/swap.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(from_file, report);
}

/// A browser on this machine: Debian's chromium, or one on PATH.
fn browser() -> Option<PathBuf> {
    let fixed = PathBuf::from("/usr/bin/chromium");
    if fixed.is_file() {
        return Some(fixed);
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_browser_renders_the_html_report_offline() {
    let Some(chromium) = browser() else {
        println!("skipped: no chromium, chromium-browser or google-chrome installed");
        return;
    };
    let (sandbox, _fake) = cache_swap_run().await;
    let (code, _, err) = sandbox
        .cmd(&["report", "swap", "--format", "html", "-o", "swap.html"])
        .run()
        .await;
    assert_eq!(code, 0, "{err}");
    let file = sandbox.path().join("swap.html");
    let profile = tempfile::tempdir().unwrap();
    // A page that ran a script calling alert() would hold the browser open
    // for ever: a limit turns that into a failure. A guard against a hang,
    // not a measure of speed.
    let output = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--dump-dom")
            .arg(format!("file://{}", file.display()))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the browser");
        let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                bytes
            })
        };
        let stdout = drain(Box::new(child.stdout.take().unwrap()));
        let stderr = drain(Box::new(child.stderr.take().unwrap()));
        let limit = std::time::Instant::now() + std::time::Duration::from_secs(300);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the browser") {
                break status;
            }
            if std::time::Instant::now() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the browser did not finish loading the report: a script (an alert?) holds it"
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        std::process::Output {
            status,
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        }
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the browser failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let page = Html::parse_document(&dom);
    let h3 = texts(&page, "section.artifact h3");
    assert_eq!(
        h3,
        ["[CSW-1] Client Inventory", "[CSW-2] Cutover Note"],
        "{dom}"
    );
    assert_eq!(texts(&page, "h1"), ["Run report: swap"]);
    // The page ran nothing: the script text is still text.
    assert_eq!(page.select(&Selector::parse("script").unwrap()).count(), 0);
    assert!(texts(&page, "#artifact-CSW-1")
        .concat()
        .contains("<script>alert(1)</script>"));
}

/// A plan of two steps for the seed workflow, put to its gate by a person.
const PLAN: &str = r#"## Pre-Migration Checklist
- [ ] A fresh base backup exists

## Steps

### Step 1: Freeze writes
- **Action:** Put billing in maintenance mode
- **Pre-condition:** No batch is running
- **Verification:** A test write is refused
- **Rollback:** Leave maintenance mode
- **Duration estimate:** 5 minutes

### Step 2: Copy the data
- **Action:** Dump and restore
- **Pre-condition:** Writes are frozen
- **Verification:** Row counts match
- **Rollback:** Re-point writers to the old primary
- **Duration estimate:** 40 minutes

## Point of No Return
None — fully reversible

## Monitoring Plan
- Replication lag

## Communication Plan
- **Before:** notify the billing team
- **During:** update #ops
- **After:** confirm to finance
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_seed_run_reports_its_evidence_and_the_abort() {
    let sandbox = Sandbox::new().with_api_key();
    let fake = FakeServer::new().start().await;
    let base = fake.base_url();
    let run = "seed";
    let (code, out, err) = sandbox
        .start_run("Move billing from PostgreSQL 12 to 16", &base, run)
        .await;
    assert_eq!(code, 10, "{out}{err}");
    sandbox.approve(run).await;
    for id in ["MIG-2", "MIG-3"] {
        let (code, out, err) = sandbox.resume(run, &base).await;
        assert_eq!(code, 10, "{id}: {out}{err}");
        assert_eq!(pending(&sandbox.status(run).await), id);
        if id == "MIG-2" {
            sandbox.approve(run).await;
        }
    }
    let plan = sandbox.write("plan.md", PLAN);
    ok(
        &sandbox,
        &["edit", run, "--file", plan.to_str().unwrap()],
        0,
    )
    .await;
    sandbox.approve(run).await;
    let (code, out, err) = sandbox.resume(run, &base).await;
    assert_eq!(code, 10, "step 1 awaits evidence: {out}{err}");
    sandbox
        .note(run, "maintenance mode on at 09:12; test write refused")
        .await;
    let (code, out, err) = sandbox.resume(run, &base).await;
    assert_eq!(code, 10, "MIG-4.1 is drafted: {out}{err}");
    assert_eq!(pending(&sandbox.status(run).await), "MIG-4.1");
    ok(
        &sandbox,
        &[
            "abort",
            run,
            "--reason",
            "change window closed",
            "--as",
            "dee",
        ],
        11,
    )
    .await;

    let report: Value =
        serde_json::from_str(&ok(&sandbox, &["report", run, "--format", "json"], 0).await).unwrap();
    assert_eq!(report["status"], "aborted");
    let ids: Vec<&str> = report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["MIG-1", "MIG-2", "MIG-3"]);
    assert_eq!(
        report["artifacts"][2]["markdown"],
        sandbox.artifact(run, "MIG-3")
    );
    let evidence = &report["evidence"][0];
    assert_eq!(evidence["artifact"], "MIG-4.1");
    assert_eq!(evidence["kind"], "note");
    assert_eq!(evidence["by"], "tester");
    assert!(evidence["excerpt"]
        .as_str()
        .unwrap()
        .contains("test write refused"));
    let decisions = report["decisions"].as_array().unwrap();
    let edit = decisions.iter().find(|d| d["action"] == "edit").unwrap();
    assert_eq!(edit["artifact"], "MIG-3");
    assert_eq!(edit["by"], "tester");
    let last = decisions.last().unwrap();
    assert_eq!(last["action"], "abort", "{decisions:#?}");
    assert_eq!(last["by"], "dee");
    assert_eq!(last["note"], "change window closed");
    let revisions = report["revisions"].as_array().unwrap();
    let person = revisions.iter().find(|r| r["source"] == "person").unwrap();
    assert_eq!(person["artifact"], "MIG-3");
    assert_eq!(person["revision"], 2);
    let phase4 = report["usage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"].as_str().unwrap().starts_with("Phase 4"))
        .unwrap();
    assert_eq!(phase4["requests"], 1, "{phase4:#}");

    let md = ok(&sandbox, &["report", run, "--format", "md"], 0).await;
    let headings: Vec<String> = md_headings(&md).into_iter().map(|(_, t)| t).collect();
    for id in [
        "[MIG-1] ",
        "[MIG-2] ",
        "[MIG-3] ",
        "[MIG-4.1] note-1 (note)",
    ] {
        assert!(
            headings.iter().any(|h| h.starts_with(id)),
            "{id}: {headings:#?}"
        );
    }
    assert!(
        !headings.iter().any(|h| h.starts_with("[MIG-4.1] Step")),
        "MIG-4.1 was not approved"
    );
    let items = md_list_items(&md);
    assert!(
        items
            .iter()
            .any(|i| i.contains("by dee") && i.contains("change window closed")),
        "{items:#?}"
    );

    let html = ok(&sandbox, &["report", run, "--format", "html"], 0).await;
    let page = assert_self_contained(&html);
    assert_eq!(texts(&page, "section.artifact h3").len(), 3);
    assert!(texts(&page, "pre").concat().contains("test write refused"));
}
