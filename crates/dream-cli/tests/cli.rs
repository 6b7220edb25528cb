//! Running the `dream` binary in a temporary directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one run printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A temporary working directory with its own store.
pub struct Dream {
    pub dir: tempfile::TempDir,
    seed: std::cell::Cell<u64>,
}

impl Dream {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            seed: std::cell::Cell::new(1),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("store/dream.db")
    }

    /// Runs `dream --db <tmp>/store/dream.db ARGS` with a fixed clock, a fresh id seed
    /// per run (seeds never repeat, so ids never collide), and no colours.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    /// Runs `dream ARGS` and fails the test unless it exits 0.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, 0, "dream {}: {run:?}", args.join(" "));
        run
    }

    /// Runs `dream ARGS` with `stdin` and fails the test unless it exits 0.
    pub fn ok_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let run = self.run_with_stdin(args, Some(stdin));
        assert_eq!(run.code, 0, "dream {}: {run:?}", args.join(" "));
        run
    }

    /// Returns the path of `name` in the temporary directory, as text.
    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        self.run_env(args, stdin, &[])
    }

    /// Runs like [`Dream::run_with_stdin`] with extra environment variables (`EDITOR`,
    /// `DREAM_STORE`, …), which override the fixed ones.
    pub fn run_env(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
        let seed = self.seed.get();
        self.seed.set(seed + 1);
        let mut command = Command::new(env!("CARGO_BIN_EXE_dream"));
        command
            .current_dir(self.dir.path())
            .arg("--db")
            .arg(self.db())
            .args(args)
            .env("DREAM_NOW", "2026-03-01T09:00:00Z")
            .env("DREAM_ID_SEED", seed.to_string())
            .env("NO_COLOR", "1")
            .env("DREAM_USER", "tester")
            .env_remove("DREAM_DB")
            .env_remove("DREAM_LOG")
            .env_remove("DREAM_STORE")
            .env_remove("EDITOR")
            .env_remove("VISUAL")
            .envs(env.iter().copied())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        let out = child.wait_with_output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: self.scrub(&String::from_utf8_lossy(&out.stdout)),
            stderr: self.scrub(&String::from_utf8_lossy(&out.stderr)),
        }
    }

    /// Replaces the temporary directory and the repository root with stable names.
    pub fn scrub(&self, text: &str) -> String {
        text.replace(&self.dir.path().display().to_string(), "[TMP]")
            .replace(&repo_root().display().to_string(), "[REPO]")
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn example(name: &str) -> String {
    repo_root()
        .join("examples/transcripts")
        .join(name)
        .display()
        .to_string()
}

pub fn shared_data(rel: &str) -> Option<PathBuf> {
    let path = repo_root().join("../shared/data").join(rel);
    if path.exists() {
        Some(path)
    } else {
        // CI always has ../shared: a silent skip there would hide a broken test.
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} is absent and CI=true: the real-data tests cannot run",
            path.display()
        );
        eprintln!(
            "skipped: {} is absent (CI always has ../shared)",
            path.display()
        );
        None
    }
}
