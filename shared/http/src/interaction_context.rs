//! The interaction id of the request being served, as a value and as a task-local: below
//! both the [`interaction_id`](crate::interaction::interaction_id) middleware that sets it and
//! the error bodies that quote it.

use uuid::Uuid;

/// The interaction id of the current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InteractionId(pub Uuid);

impl std::fmt::Display for InteractionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

tokio::task_local! {
    pub(crate) static CURRENT: InteractionId;
}

/// The interaction id of the request being served on this task, if any.
pub fn current() -> Option<InteractionId> {
    CURRENT.try_with(|id| *id).ok()
}
