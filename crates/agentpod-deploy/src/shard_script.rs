//! The shell script an orchestrator's task runs for one shard, the same on every orchestrator:
//! which shard it is (from the orchestrator's index), its run (resumed when an earlier attempt of
//! the same shard left a store on the shared results volume), one attempt at a time, then its part
//! as a bundle for `agentpod merge`.

/// Where the shards write their stores and bundles inside each task.
pub const RESULTS_PATH: &str = "/results";

/// How a task learns which shard it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ShardIndex {
    /// Kubernetes' Indexed Job: `JOB_COMPLETION_INDEX`, from 0.
    KubernetesCompletionIndex,
    /// A Swarm replicated job: `AGENTPOD_SHARD` when the task was started for one shard (a shard
    /// re-run after its node was lost), else the task's slot from `AGENTPOD_TASK_SLOT`, from 0.
    SwarmTaskSlot,
}

/// The script of one shard's task.
#[derive(Debug, Clone)]
pub struct ShardScript<'a> {
    pub index: ShardIndex,
    /// Relative to the image's working directory.
    pub spec_path: &'a str,
    pub shards: u32,
    pub group: Option<&'a str>,
    /// Further arguments for `agentpod run`.
    pub run_arguments: &'a [String],
}

impl ShardScript<'_> {
    pub fn render(&self) -> String {
        let shards = self.shards;
        let mut run = vec![
            "run".to_owned(),
            self.spec_path.to_owned(),
            "--runtime".to_owned(),
            "local".to_owned(),
        ];
        if let Some(group) = self.group {
            run.extend(["--group".to_owned(), group.to_owned()]);
        }
        run.extend(self.run_arguments.iter().cloned());
        let mut resume = vec!["run".to_owned(), "--resume".to_owned(), "latest".to_owned()];
        resume.extend(resume_arguments(self.run_arguments));
        let which_shard = match self.index {
            ShardIndex::KubernetesCompletionIndex => "shard=$((JOB_COMPLETION_INDEX + 1))\n",
            // Swarm's templates render slot 0 as the node's id (25 lowercase letters and
            // digits), never as a number.
            ShardIndex::SwarmTaskSlot => {
                "if [ -n \"${AGENTPOD_SHARD:-}\" ]; then\n  \
                   shard=$AGENTPOD_SHARD\n\
                 else\n  \
                   case \"${AGENTPOD_TASK_SLOT:-}\" in\n    \
                     *[!0-9a-z]*|'') echo \"no shard: AGENTPOD_TASK_SLOT is '${AGENTPOD_TASK_SLOT:-}'\" >&2; exit 2 ;;\n    \
                     *[!0-9]*) slot=0 ;;\n    \
                     *) slot=$AGENTPOD_TASK_SLOT ;;\n  \
                   esac\n  \
                   shard=$((slot + 1))\n\
                 fi\n"
            }
        };
        format!(
            "set -eu\n\
             {which_shard}\
             # A Kubernetes Job's parts go under its uid: a claim a later Job reuses never mixes\n\
             # them with this one's.\n\
             results=\"{RESULTS_PATH}${{AGENTPOD_JOB_UID:+/$AGENTPOD_JOB_UID}}\"\n\
             mkdir -p \"$results\"\n\
             part=\"$results/shard-$shard-of-{shards}\"\n\
             # A deployment that marked its results directory checks that this is it (shared\n\
             # storage, mounted at the same path on every node).\n\
             if [ -n \"${{AGENTPOD_DEPLOYMENT:-}}\" ] && [ \"$(cat {RESULTS_PATH}/{DEPLOYMENT_MARK} 2>/dev/null)\" != \"$AGENTPOD_DEPLOYMENT\" ]; then\n  \
               echo \"shard $shard/{shards}: {RESULTS_PATH} is not the deployment's results directory (is it shared storage, at the same path on every node?)\" >&2\n  \
               exit 2\n\
             fi\n\
             # An earlier attempt finished it.\n\
             [ ! -e \"$part.bundle.json\" ] || exit 0\n\
             # One attempt of a shard at a time: a lost attempt that still runs keeps its lock (a\n\
             # dead one's lock may outlive it a while on shared storage: an NFS lease).\n\
             # (agentpod and everything it starts, the agent included, run without the lock's fd.)\n\
             exec 9>\"$part.lock\"\n\
             if ! flock -w {LOCK_WAIT_SECONDS} 9; then\n  \
               echo \"shard $shard/{shards}: another attempt still holds $part.lock\" >&2\n  \
               exit 75\n\
             fi\n\
             runs='[]'\n\
             if [ -e \"$part.db\" ]; then\n  \
               # A store that cannot be read now is not an empty one: this attempt fails, the next\n  \
               # tries again.\n  \
               runs=$(agentpod --store \"$part.db\" runs --json 9>&-) || {{ echo \"shard $shard/{shards}: cannot read $part.db\" >&2; exit 1; }}\n\
             fi\n\
             status=0\n\
             if [ \"$runs\" != '[]' ]; then\n  \
               # An earlier attempt's run: finish what it owes, its output shown as it comes.\n  \
               ( agentpod --store \"$part.db\" {resume} 9>&- 2>&1 1>&3 3>&-; echo $? >\"$part.resume.status\" ) 3>&1 | tee \"$part.resume.log\" >&2\n  \
               status=$(cat \"$part.resume.status\")\n  \
               # It owed nothing: it ended before its bundle was written.\n  \
               if [ \"$status\" = 2 ] && grep -q 'has no issue left to do' \"$part.resume.log\"; then status=0; fi\n\
             else\n  \
               # No run in it (an attempt that died before its run began): start afresh.\n  \
               rm -f \"$part.db\" \"$part.db-wal\" \"$part.db-shm\"\n  \
               agentpod --store \"$part.db\" {run} --shard \"$shard/{shards}\" 9>&- || status=$?\n\
             fi\n\
             # A run that ended (failed issues included, its gate not met, or its cost budget\n\
             # spent) is a complete part; an interrupted one is resumed by the next attempt.\n\
             case $status in 0|4|5) ;; *) exit $status ;; esac\n\
             agentpod --store \"$part.db\" export latest --bundle \"$part.bundle.json.tmp\" 9>&-\n\
             mv \"$part.bundle.json.tmp\" \"$part.bundle.json\"\n",
            run = quoted(&run),
            resume = quoted(&resume),
        )
    }
}

/// How long an attempt waits for the shard's lock: longer than an NFSv4 lease (90 s), which may
/// keep a dead attempt's lock a while.
const LOCK_WAIT_SECONDS: u32 = 180;

/// The file a deployment writes into its results directory, holding `AGENTPOD_DEPLOYMENT`.
pub const DEPLOYMENT_MARK: &str = ".agentpod-deployment";

/// The run arguments a resumed shard is given again: all but those a resumed run keeps from its
/// start (its sample, seed, trials and group), which `run --resume` refuses.
fn resume_arguments(run_arguments: &[String]) -> Vec<String> {
    const KEPT_FROM_THE_START: &[&str] = &["--sample", "--seed", "--trials", "--group"];
    let mut kept = Vec::new();
    let mut words = run_arguments.iter();
    while let Some(word) = words.next() {
        if KEPT_FROM_THE_START.contains(&word.as_str()) {
            words.next();
        } else if !KEPT_FROM_THE_START
            .iter()
            .any(|flag| word.starts_with(&format!("{flag}=")))
        {
            kept.push(word.clone());
        }
    }
    kept
}

/// The bundle shard `shard` of `shards` leaves in the results directory.
pub fn bundle_file_name(shard: u32, shards: u32) -> String {
    format!("shard-{shard}-of-{shards}.bundle.json")
}

/// Shell words, each single-quoted, for the task's `sh -c` script.
fn quoted(words: &[String]) -> String {
    words
        .iter()
        .map(|word| format!("'{}'", word.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(index: ShardIndex, run_arguments: &[String]) -> String {
        ShardScript {
            index,
            spec_path: "pods/support-triage.yaml",
            shards: 6,
            group: Some("g-1"),
            run_arguments,
        }
        .render()
    }

    #[test]
    fn a_resumed_shard_gets_the_arguments_a_resume_takes() {
        let words = |text: &str| text.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            resume_arguments(&words(
                "--sample 600 --agent-command my-agent --seed=3 --trials 2 --pods 4"
            )),
            words("--agent-command my-agent --pods 4")
        );
        let script = script(ShardIndex::SwarmTaskSlot, &words("--sample 600 --pods 4"));
        assert!(
            script.contains("'run' '--resume' 'latest' '--pods' '4' 9>&-"),
            "{script}"
        );
    }

    #[test]
    fn a_quote_in_an_argument_stays_one_word() {
        let script = script(
            ShardIndex::KubernetesCompletionIndex,
            &["it's; rm -rf /".to_owned()],
        );
        assert!(script.contains("'it'\\''s; rm -rf /'"), "{script}");
    }

    /// The Swarm script run by `sh` for each way a task learns its shard.
    #[test]
    fn a_swarm_task_finds_its_shard_from_its_slot_or_its_assignment() {
        let script = script(ShardIndex::SwarmTaskSlot, &[]);
        let which = script.split("part=").next().expect("the shard's lines");
        for (env, want) in [
            (vec![("AGENTPOD_TASK_SLOT", "3")], "4"),
            // Slot 0, as Swarm renders it: the node's id.
            (
                vec![("AGENTPOD_TASK_SLOT", "r6m9ae0lw2zg2f8tp098f0dxf")],
                "1",
            ),
            (
                vec![("AGENTPOD_TASK_SLOT", "2"), ("AGENTPOD_SHARD", "5")],
                "5",
            ),
        ] {
            let output = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{which}echo $shard"))
                .env_remove("AGENTPOD_SHARD")
                .envs(env.iter().copied())
                .output()
                .expect("sh runs");
            assert_eq!(
                String::from_utf8_lossy(&output.stdout).trim(),
                want,
                "{env:?}"
            );
        }
    }
}
