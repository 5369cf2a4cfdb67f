//! What a swarm's tasks and nodes say of each shard: done, running, waiting, lost with its node,
//! or failed. Read from plain views of the tasks and nodes, so the rules are tested without a
//! swarm.

use std::collections::BTreeMap;

use bollard::models::{Node, NodeState, Task, TaskState};

/// One task of the deployment, as far as its shard's progress goes.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    pub shard: u32,
    pub id: String,
    pub node_id: Option<String>,
    pub state: TaskState,
    pub exit_code: Option<i64>,
    /// The task's error, or its status message.
    pub message: String,
}

impl TaskView {
    pub fn from_task(shard: u32, task: &Task) -> Self {
        let status = task.status.as_ref();
        TaskView {
            shard,
            id: task.id.clone().unwrap_or_default(),
            node_id: task.node_id.clone().filter(|id| !id.is_empty()),
            state: status
                .and_then(|status| status.state)
                .unwrap_or(TaskState::NEW),
            exit_code: status
                .and_then(|status| status.container_status.as_ref())
                .and_then(|container| container.exit_code),
            message: status
                .and_then(|status| status.err.clone().or_else(|| status.message.clone()))
                .unwrap_or_default(),
        }
    }
}

/// One node of the swarm.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    pub id: String,
    pub hostname: String,
    /// The manager has found it down (missed heartbeats): lost. A node briefly unknown (a
    /// manager restarting, a leader changing) is not.
    pub down: bool,
}

impl NodeView {
    pub fn from_node(node: &Node) -> Self {
        let hostname = node
            .description
            .as_ref()
            .and_then(|description| description.hostname.clone());
        NodeView {
            id: node.id.clone().unwrap_or_default(),
            hostname: hostname.unwrap_or_else(|| node.id.clone().unwrap_or_default()),
            down: node.status.as_ref().and_then(|status| status.state) == Some(NodeState::DOWN),
        }
    }
}

/// Where one shard stands.
#[derive(Debug, Clone, PartialEq)]
pub enum ShardState {
    /// A task of it completed: its bundle is written.
    Done {
        node: String,
    },
    Running {
        node: String,
    },
    /// Not started yet: scheduling, pulling, or between attempts; `why` is what the swarm says
    /// of its task (empty before it has one).
    Waiting {
        why: String,
    },
    /// Its only live task is on a node the manager no longer hears from; the swarm will not
    /// start it again, so it must be re-run elsewhere.
    Lost {
        task: String,
        node: String,
    },
    /// Its tasks failed, `attempts` of them; whether another comes is the restart policy's.
    Failed {
        attempts: usize,
        /// The last failed task's id, and what the swarm said of it.
        task: String,
        last: String,
        /// An attempt exited 2 (invalid input): every attempt would.
        invalid_input: bool,
    },
}

/// Not ended yet: from new to running.
pub(crate) fn is_live(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::NEW
            | TaskState::ALLOCATED
            | TaskState::PENDING
            | TaskState::ASSIGNED
            | TaskState::ACCEPTED
            | TaskState::PREPARING
            | TaskState::READY
            | TaskState::STARTING
            | TaskState::RUNNING
    )
}

/// Each of shards 1..=`shards`, from the tasks of every service of the deployment. Tasks in
/// `rerun` were lost and their shards started again: they count for nothing any more.
pub fn shard_states(
    shards: u32,
    tasks: &[TaskView],
    nodes: &[NodeView],
    rerun: &[String],
) -> BTreeMap<u32, ShardState> {
    let node = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| nodes.iter().find(|n| &n.id == id))
    };
    let hostname = |id: &Option<String>| {
        node(id).map_or_else(|| id.clone().unwrap_or_default(), |n| n.hostname.clone())
    };
    (1..=shards)
        .map(|shard| {
            let tasks: Vec<&TaskView> = tasks
                .iter()
                .filter(|task| task.shard == shard && !rerun.contains(&task.id))
                .collect();
            let state = if let Some(done) = tasks.iter().find(|t| t.state == TaskState::COMPLETE) {
                ShardState::Done {
                    node: hostname(&done.node_id),
                }
            } else {
                // A live task on a node that is gone (or an orphaned one) is no longer live.
                let on_lost_node = |task: &&&TaskView| {
                    task.state == TaskState::ORPHANED
                        // A node removed from the swarm (`docker node rm --force`) is lost too.
                        || (is_live(task.state)
                            && node(&task.node_id).map_or(task.node_id.is_some(), |n| n.down))
                };
                let live: Vec<&&TaskView> = tasks
                    .iter()
                    .filter(|t| is_live(t.state) && !on_lost_node(t))
                    .collect();
                if let Some(running) = live.iter().find(|t| t.state == TaskState::RUNNING) {
                    ShardState::Running {
                        node: hostname(&running.node_id),
                    }
                } else if let Some(waiting) = live.last() {
                    ShardState::Waiting {
                        why: waiting.message.clone(),
                    }
                } else if let Some(lost) = tasks.iter().find(on_lost_node) {
                    ShardState::Lost {
                        task: lost.id.clone(),
                        node: hostname(&lost.node_id),
                    }
                } else {
                    let failed: Vec<&&TaskView> = tasks
                        .iter()
                        .filter(|t| matches!(t.state, TaskState::FAILED | TaskState::REJECTED))
                        .collect();
                    match failed.last() {
                        None => ShardState::Waiting { why: String::new() },
                        Some(last) => ShardState::Failed {
                            attempts: failed.len(),
                            task: last.id.clone(),
                            last: last.message.clone(),
                            invalid_input: failed.iter().any(|t| t.exit_code == Some(2)),
                        },
                    }
                }
            };
            (shard, state)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, ready: bool) -> NodeView {
        NodeView {
            id: id.to_owned(),
            hostname: format!("host-{id}"),
            down: !ready,
        }
    }

    fn task(shard: u32, id: &str, node: &str, state: TaskState) -> TaskView {
        TaskView {
            shard,
            id: id.to_owned(),
            node_id: Some(node.to_owned()),
            state,
            exit_code: None,
            message: String::new(),
        }
    }

    #[test]
    fn a_shard_whose_node_is_down_is_lost_until_another_task_of_it_lives() {
        let nodes = [node("a", true), node("b", false)];
        let mut tasks = vec![
            task(1, "t1", "a", TaskState::RUNNING),
            // Swarm still says "running": its node is gone.
            task(2, "t2", "b", TaskState::RUNNING),
            task(3, "t3", "a", TaskState::COMPLETE),
        ];
        let states = shard_states(3, &tasks, &nodes, &[]);
        assert_eq!(
            states[&1],
            ShardState::Running {
                node: "host-a".into()
            }
        );
        assert_eq!(
            states[&2],
            ShardState::Lost {
                task: "t2".into(),
                node: "host-b".into()
            }
        );
        assert_eq!(
            states[&3],
            ShardState::Done {
                node: "host-a".into()
            }
        );
        // Its re-run is pending, then runs, then completes.
        tasks.push(TaskView {
            node_id: None,
            ..task(2, "t2b", "", TaskState::PENDING)
        });
        assert!(matches!(
            shard_states(3, &tasks, &nodes, &[])[&2],
            ShardState::Waiting { .. }
        ));
        tasks.last_mut().unwrap().state = TaskState::COMPLETE;
        tasks.last_mut().unwrap().node_id = Some("a".into());
        assert_eq!(
            shard_states(3, &tasks, &nodes, &[])[&2],
            ShardState::Done {
                node: "host-a".into()
            }
        );
    }

    #[test]
    fn failed_attempts_are_counted_and_exit_2_is_invalid_input() {
        let nodes = [node("a", true)];
        let mut failed = task(1, "t1", "a", TaskState::FAILED);
        failed.exit_code = Some(1);
        failed.message = "task: non-zero exit (1)".into();
        let mut tasks = vec![failed.clone()];
        assert_eq!(
            shard_states(1, &tasks, &nodes, &[])[&1],
            ShardState::Failed {
                attempts: 1,
                task: "t1".into(),
                last: "task: non-zero exit (1)".into(),
                invalid_input: false
            }
        );
        // The restart policy's next attempt is live again.
        tasks.push(task(1, "t1b", "a", TaskState::STARTING));
        assert!(matches!(
            shard_states(1, &tasks, &nodes, &[])[&1],
            ShardState::Waiting { .. }
        ));
        tasks[1].state = TaskState::FAILED;
        tasks[1].exit_code = Some(2);
        let ShardState::Failed {
            attempts,
            invalid_input,
            ..
        } = &shard_states(1, &tasks, &nodes, &[])[&1]
        else {
            panic!("failed");
        };
        assert_eq!((*attempts, *invalid_input), (2, true));
        // No task yet at all: waiting, not failed.
        assert_eq!(
            shard_states(2, &tasks, &nodes, &[])[&2],
            ShardState::Waiting { why: String::new() }
        );
    }

    #[test]
    fn a_rerun_that_keeps_failing_is_a_failure_and_an_unknown_node_is_not_lost() {
        let nodes = [
            node("a", true),
            node("b", false),
            NodeView {
                id: "c".into(),
                hostname: "host-c".into(),
                down: false,
            },
        ];
        let mut locked = task(1, "r1", "a", TaskState::FAILED);
        locked.exit_code = Some(75);
        let tasks = vec![
            task(1, "t1", "b", TaskState::RUNNING),
            locked.clone(),
            TaskView {
                id: "r2".into(),
                ..locked
            },
            // On a node the manager does not know about for the moment: still live.
            task(2, "t2", "c", TaskState::RUNNING),
        ];
        let states = shard_states(2, &tasks, &nodes, &["t1".to_owned()]);
        assert!(
            matches!(states[&1], ShardState::Failed { attempts: 2, .. }),
            "{states:?}"
        );
        assert_eq!(
            states[&2],
            ShardState::Running {
                node: "host-c".into()
            }
        );
    }
}
