"""The Reflex user interface: states, components and pages."""
