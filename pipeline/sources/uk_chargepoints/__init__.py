"""The UK National Chargepoint Registry: every UK charge device, counted per model for a service."""
