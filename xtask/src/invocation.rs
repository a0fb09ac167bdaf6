//! One external command as data: its exact argv, its time bound, and the secret it reads on
//! stdin. Plans are made of these; a dry run prints them and a real run hands the very same
//! values to the one executor (`crate::exec`), so what is shown is what runs.

use std::fmt;

/// How long `timeout` lets a bounded command run after SIGTERM before it sends SIGKILL.
pub const KILL_AFTER_SECS: u64 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub program: String,
    pub args: Vec<String>,
    /// Seconds before coreutils' `timeout` stops the command and its children; `None` for
    /// local commands that cannot hang on the network.
    pub timeout_secs: Option<u64>,
    /// The environment variable whose value the command reads on stdin (a password given
    /// with `--password-stdin`): a secret never travels in argv.
    pub stdin_from: Option<&'static str>,
    /// Variables set for the command, printed before it as `NAME=value`.
    pub env: Vec<(String, String)>,
}

impl Invocation {
    pub fn new(program: &str, args: impl IntoIterator<Item = impl Into<String>>) -> Invocation {
        Invocation {
            program: program.to_string(),
            args: args.into_iter().map(Into::into).collect(),
            timeout_secs: None,
            stdin_from: None,
            env: Vec::new(),
        }
    }

    /// Sets `name` to `value` in the command's environment.
    pub fn env(mut self, name: &str, value: &str) -> Invocation {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Bounds the command: it runs as `timeout --kill-after=5 SECS program args…`.
    pub fn timeout(mut self, secs: u64) -> Invocation {
        self.timeout_secs = Some(secs);
        self
    }

    /// Feeds the value of the environment variable `var` to the command's stdin.
    pub fn stdin_from(mut self, var: &'static str) -> Invocation {
        self.stdin_from = Some(var);
        self
    }

    /// The argv that runs, `timeout` included: the executor runs exactly this, and
    /// [`Display`](fmt::Display) prints exactly this.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = Vec::with_capacity(self.args.len() + 4);
        if let Some(secs) = self.timeout_secs {
            argv.extend([
                "timeout".to_string(),
                format!("--kill-after={KILL_AFTER_SECS}"),
                secs.to_string(),
            ]);
        }
        argv.push(self.program.clone());
        argv.extend(self.args.iter().cloned());
        argv
    }
}

impl fmt::Display for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env = self
            .env
            .iter()
            .map(|(name, value)| format!("{name}={}", shell_word(value)));
        let words: Vec<String> = env
            .chain(self.argv().iter().map(|w| shell_word(w)))
            .collect();
        f.write_str(&words.join(" "))?;
        if let Some(var) = self.stdin_from {
            write!(f, " <<<\"${var}\"")?;
        }
        Ok(())
    }
}

/// Quotes a word for a POSIX shell when it needs it, so a printed command can be pasted.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    // `<digest>` stands for a value the run learns; it is shown as the placeholder it is.
    if plain || word.ends_with("@<digest>") {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(cmd: Invocation, shown: &str) {
        assert_eq!(cmd.to_string(), shown);
    }

    #[test]
    fn commands_print_as_they_run() {
        check(
            Invocation::new("helm", ["lint", "--strict", "c"]),
            "helm lint --strict c",
        );
        check(
            Invocation::new("helm", ["template", "a b", "it's", "x@<digest>"]),
            r"helm template 'a b' 'it'\''s' x@<digest>",
        );
        check(
            Invocation::new("git", ["push", "origin", "refs/tags/v1:refs/tags/v1"]).timeout(60),
            "timeout --kill-after=5 60 git push origin refs/tags/v1:refs/tags/v1",
        );
        check(
            Invocation::new("helm", ["registry", "login", "h", "--password-stdin"])
                .stdin_from("RELEASE_REGISTRY_PASSWORD"),
            r#"helm registry login h --password-stdin <<<"$RELEASE_REGISTRY_PASSWORD""#,
        );
        check(Invocation::new("git", ["tag", "-m", ""]), "git tag -m ''");
        check(
            Invocation::new("cargo", ["build"])
                .env("V", "v1.2.3")
                .env("C", "a b"),
            "V=v1.2.3 C='a b' cargo build",
        );
    }

    #[test]
    fn argv_is_what_display_prints() {
        let cmd = Invocation::new("git", ["fetch", "origin"]).timeout(7);
        assert_eq!(
            cmd.argv(),
            ["timeout", "--kill-after=5", "7", "git", "fetch", "origin"]
        );
    }
}
