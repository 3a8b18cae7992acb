//! Picking the task of each iteration: a fixed one (`exec`), or at random by weight.

use crate::engine::Task;

/// Chooses task indexes for iterations.
#[derive(Debug, Clone)]
pub struct TaskPicker {
    /// `(task index, cumulative weight)` of tasks with a weight above 0.
    cumulative: Vec<(u32, u64)>,
    fixed: Option<u32>,
}

impl TaskPicker {
    /// A picker over `tasks`; `exec` names the one task to run, if set.
    pub fn new(tasks: &[Task], exec: Option<&str>) -> Result<Self, String> {
        if let Some(name) = exec {
            let index = tasks.iter().position(|t| t.name == name).ok_or_else(|| {
                let names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
                format!(
                    "exec names the task {name:?}, but the scenario's tasks are: {}",
                    names.join(", ")
                )
            })?;
            return Ok(Self {
                cumulative: Vec::new(),
                fixed: Some(index as u32),
            });
        }
        let mut total = 0u64;
        let cumulative: Vec<(u32, u64)> = tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.weight > 0)
            .map(|(i, t)| {
                total += u64::from(t.weight);
                (i as u32, total)
            })
            .collect();
        if cumulative.is_empty() {
            return Err("every task has weight 0: give one a weight, or name one with exec".into());
        }
        Ok(Self {
            cumulative,
            fixed: None,
        })
    }

    /// The task of the next iteration.
    pub fn pick(&self, rng: &mut fastrand::Rng) -> u32 {
        if let Some(index) = self.fixed {
            return index;
        }
        let total = self.cumulative.last().map_or(1, |&(_, c)| c);
        let ticket = rng.u64(0..total);
        let slot = self.cumulative.partition_point(|&(_, c)| c <= ticket);
        self.cumulative[slot].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(name: &str, weight: u32) -> Task {
        Task {
            name: name.into(),
            weight,
        }
    }

    #[test]
    fn picks_in_proportion_to_weights_and_never_weight_zero() {
        let picker = TaskPicker::new(&[task("a", 3), task("never", 0), task("b", 1)], None);
        let picker = picker.unwrap_or_else(|e| panic!("{e}"));
        let mut rng = fastrand::Rng::with_seed(7);
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[picker.pick(&mut rng) as usize] += 1;
        }
        assert_eq!(counts[1], 0);
        let ratio = f64::from(counts[0]) / f64::from(counts[2]);
        assert!((2.8..3.2).contains(&ratio), "ratio {ratio}");
    }

    #[test]
    fn exec_fixes_the_task_or_names_the_choices() {
        let tasks = [task("a", 1), task("b", 0)];
        let picker = TaskPicker::new(&tasks, Some("b")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(picker.pick(&mut fastrand::Rng::new()), 1);
        let err = TaskPicker::new(&tasks, Some("c")).err().unwrap_or_default();
        assert!(err.contains("tasks are: a, b"), "{err}");
        assert!(TaskPicker::new(&[task("z", 0)], None).is_err());
    }
}
