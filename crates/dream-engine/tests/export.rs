//! Export to and import from directories, Markdown, and CLAUDE.md / AGENTS.md.

use dream_engine::memory::export::{
    SECTION_END, export_agents_file, export_dir, import_agents_file, import_dir, render_markdown,
};
use dream_store::{Store, VersionFilter};

use crate::common::{live, me, memory_store, put, temp_store};

async fn sample(t: &crate::common::TempStore) -> dream_types::MemoryStore {
    let s = memory_store(&t.store).await;
    put(
        &t.store,
        &s,
        "/lessons/tool-errors.md",
        "- `git push` on a new branch fails: use `git push -u origin <branch>`\n",
    )
    .await;
    put(
        &t.store,
        &s,
        "/lessons/preferences.md",
        "- the user prefers pnpm\n",
    )
    .await;
    put(&t.store, &s, "/facts.md", "- plan: enterprise\n").await;
    s
}

#[tokio::test]
async fn export_then_import_unchanged_writes_no_version() {
    let t = temp_store().await;
    let s = sample(&t).await;
    let dir = t.dir.path().join("memories");
    let report = export_dir(&t.store, &s.id, &dir).await.unwrap();
    assert_eq!(report.written.len(), 3);
    assert_eq!(
        std::fs::read_to_string(dir.join("lessons/preferences.md")).unwrap(),
        "- the user prefers pnpm\n"
    );
    let versions = t.store.get_memory_store(&s.id).await.unwrap().store_version;
    let back = import_dir(&t.store, &s.id, &dir, &me(), false)
        .await
        .unwrap();
    assert_eq!((back.unchanged, back.versions.len()), (3, 0));
    assert_eq!(
        t.store.get_memory_store(&s.id).await.unwrap().store_version,
        versions
    );
    let again = export_dir(&t.store, &s.id, &dir).await.unwrap();
    assert_eq!((again.written.len(), again.unchanged), (0, 3));
}

#[tokio::test]
async fn import_creates_one_version_per_changed_file_and_prunes_on_request() {
    let t = temp_store().await;
    let s = sample(&t).await;
    let dir = t.dir.path().join("memories");
    export_dir(&t.store, &s.id, &dir).await.unwrap();
    std::fs::write(dir.join("facts.md"), "- plan: team\n").unwrap();
    std::fs::write(dir.join("new.md"), "- new note\n").unwrap();
    std::fs::remove_file(dir.join("lessons/preferences.md")).unwrap();
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main").unwrap();

    let kept = import_dir(&t.store, &s.id, &dir, &me(), false)
        .await
        .unwrap();
    assert_eq!(
        (kept.created.as_slice(), kept.updated.as_slice()),
        (&["/new.md".to_owned()][..], &["/facts.md".to_owned()][..])
    );
    assert_eq!(kept.versions.len(), 2);
    assert!(
        t.store
            .find_memory(&s.id, "/lessons/preferences.md")
            .await
            .unwrap()
            .is_some()
    );
    let pruned = import_dir(&t.store, &s.id, &dir, &me(), true)
        .await
        .unwrap();
    assert_eq!(pruned.deleted, ["/lessons/preferences.md"]);
    assert_eq!(pruned.versions.len(), 1);
    assert!(
        t.store
            .find_memory(&s.id, "/.git/HEAD")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn import_rejects_bad_files_and_writes_nothing() {
    let t = temp_store().await;
    let s = sample(&t).await;
    let dir = t.dir.path().join("bad");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ok.md"), "fine").unwrap();
    std::fs::write(dir.join("latin1.md"), b"caf\xe9").unwrap();
    let err = import_dir(&t.store, &s.id, &dir, &me(), false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_utf8");
    assert!(
        err.to_string().ends_with(
            "latin1.md: not UTF-8 text (invalid byte at offset 3); memories hold UTF-8 text"
        ),
        "{err}"
    );
    std::fs::write(dir.join("latin1.md"), "x".repeat(102_401)).unwrap();
    let err = import_dir(&t.store, &s.id, &dir, &me(), false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "content_too_large");
    assert!(
        t.store
            .find_memory(&s.id, "/ok.md")
            .await
            .unwrap()
            .is_none(),
        "nothing written"
    );
}

#[tokio::test]
async fn export_into_claude_md_changes_only_the_marked_section() {
    let t = temp_store().await;
    let s = sample(&t).await;
    let file = t.dir.path().join("CLAUDE.md");
    let mine = "# My project\n\nUse `make test`.   \n\n<!-- my own comment -->\n";
    std::fs::write(&file, mine).unwrap();
    export_agents_file(&t.store, &s.id, &file, None, false)
        .await
        .unwrap();
    let first = std::fs::read_to_string(&file).unwrap();
    assert!(
        first.starts_with(mine),
        "the text before the section is untouched"
    );
    insta::assert_snapshot!(
        "claude_md_export",
        first.replace(s.id.as_str(), "memstore_ID")
    );

    // People edit around the section; the next export touches only the section.
    let edited =
        first.replacen("# My project", "# My project (renamed)", 1) + "\nFooter written later.\n";
    std::fs::write(&file, &edited).unwrap();
    put(&t.store, &s, "/facts.md", "- plan: team\n").await;
    export_agents_file(&t.store, &s.id, &file, None, false)
        .await
        .unwrap();
    let second = std::fs::read_to_string(&file).unwrap();
    let (before_a, after_a) = split_around_section(&edited);
    let (before_b, after_b) = split_around_section(&second);
    assert_eq!((before_a, after_a), (before_b, after_b));
    assert!(second.contains("- plan: team") && !second.contains("- plan: enterprise"));
}

fn split_around_section(text: &str) -> (&str, &str) {
    let start = text.find("<!-- dream:begin").unwrap();
    let end = text.find(SECTION_END).unwrap() + SECTION_END.len();
    (&text[..start], &text[end..])
}

#[tokio::test]
async fn claude_md_imports_as_one_memory_without_its_managed_section() {
    let t = temp_store().await;
    let s = sample(&t).await;
    let file = t.dir.path().join("CLAUDE.md");
    std::fs::write(&file, "# Rules\n\n- never push to main\n").unwrap();
    let first = import_agents_file(&t.store, &s.id, &file, &me())
        .await
        .unwrap();
    assert_eq!(
        (first.created.as_slice(), first.versions.len()),
        (&["/CLAUDE.md".to_owned()][..], 1)
    );
    export_agents_file(&t.store, &s.id, &file, None, false)
        .await
        .unwrap();
    let exported = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        exported.matches("never push to main").count(),
        1,
        "the imported file is not repeated in its own section"
    );
    let again = import_agents_file(&t.store, &s.id, &file, &me())
        .await
        .unwrap();
    assert!(
        again.versions.is_empty(),
        "re-importing after an export changes nothing"
    );
    assert_eq!(
        t.store
            .list_memory_versions(&s.id, &VersionFilter::default())
            .await
            .unwrap()
            .len(),
        4
    );
    let _ = live(&t.store, &s).await;
}

#[tokio::test]
async fn markdown_rendering_respects_the_budget() {
    let t = temp_store().await;
    let s = sample(&t).await;
    let memories = t.store.list_memories(&s.id, None).await.unwrap();
    let whole = render_markdown(&memories, 2, None);
    assert!(
        whole
            .text
            .starts_with("## /facts.md\n\n- plan: enterprise\n\n## /lessons/preferences.md")
    );
    let cut = render_markdown(&memories, 2, Some(150));
    assert!(cut.text.len() <= 150, "{}", cut.text);
    assert_eq!(cut.included, ["/facts.md"]);
    assert_eq!(cut.omitted.len(), 2);
}
