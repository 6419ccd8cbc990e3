"""Bad inputs, each refused with a message that names the culprit, or handled in a documented way."""
