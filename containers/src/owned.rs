//! [`Owned`]: a started container and the image it runs, removed when it is
//! dropped — what every type here that runs a container ([`crate::Service`],
//! [`crate::Chromium`], [`crate::Prometheus`]) holds.

use testcontainers::{ContainerAsync, GenericImage};

/// A container this crate started, with its resolved image.
pub(crate) struct Owned {
    image: String,
    /// Always `Some`; an `Option` only so [`Drop`] can move it to a runtime.
    container: Option<ContainerAsync<GenericImage>>,
}

impl Owned {
    pub(crate) fn new(image: impl Into<String>, container: ContainerAsync<GenericImage>) -> Owned {
        Owned {
            image: image.into(),
            container: Some(container),
        }
    }

    /// The image the container runs (after resolution; see the crate docs).
    pub(crate) fn image(&self) -> &str {
        &self.image
    }

    /// The Docker container id.
    pub(crate) fn id(&self) -> &str {
        self.get().id()
    }

    pub(crate) fn get(&self) -> &ContainerAsync<GenericImage> {
        self.container
            .as_ref()
            .expect("only Drop takes the container")
    }
}

impl Drop for Owned {
    /// testcontainers removes a container from its own `Drop` with async code
    /// that needs a Tokio runtime; outside one (e.g. a harness dropping its
    /// fixtures after its runtime ended, or a synchronous test) give it a
    /// short-lived one. Inside a runtime it drops with its owner as usual.
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_ok() {
            return;
        }
        if let Some(container) = self.container.take() {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    let _entered = rt.enter();
                    drop(container);
                }
            })
            .join();
        }
    }
}
