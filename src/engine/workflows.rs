//! The workflow versions this binary can run: the current file plus every
//! version the store remembers (cases finish on the version they opened on).

use std::collections::HashMap;
use std::sync::Arc;

use crate::store::{Store, StoreError};
use crate::workflow::{Workflow, WorkflowError, WorkflowRef};

/// The workflow built into the binary, used when the config names no file.
pub const EMBEDDED: &str = include_str!("../../workflows/support.toml");

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Invalid(#[from] WorkflowError),
    #[error(
        "workflow {0} differs from the {0} that open cases already run on: bump `version` in the file"
    )]
    ChangedWithoutBump(WorkflowRef),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Workflows {
    current: Arc<Workflow>,
    known: HashMap<WorkflowRef, Arc<Workflow>>,
}

impl Workflows {
    /// Validates `current`, checks it against the version the store
    /// remembers under the same number, remembers it, and loads every older
    /// version the store holds.
    pub async fn load(store: &Store, current: Workflow) -> Result<Workflows, RegistryError> {
        let current_ref = current.reference();
        match store.workflow_source(&current.name, current.version)? {
            Some(stored) => {
                let same = Workflow::parse(&stored).is_ok_and(|w| w.same_definition(&current));
                if !same {
                    return Err(RegistryError::ChangedWithoutBump(current_ref));
                }
            }
            None => {
                store
                    .put_workflow(
                        current.name.clone(),
                        current.version,
                        current.source.clone(),
                    )
                    .await?;
            }
        }
        let mut known = HashMap::new();
        for source in store.workflow_sources()? {
            match Workflow::parse(&source) {
                Ok(wf) => {
                    known.insert(wf.reference(), Arc::new(wf));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a remembered workflow no longer validates; its cases show as stuck")
                }
            }
        }
        let current = Arc::new(current);
        known.insert(current_ref, current.clone());
        Ok(Workflows { current, known })
    }

    pub fn current(&self) -> &Arc<Workflow> {
        &self.current
    }

    pub fn get(&self, r: &WorkflowRef) -> Option<Arc<Workflow>> {
        self.known.get(r).cloned()
    }
}
